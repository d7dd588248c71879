//! Hostile input, generated: arbitrary JSON and form bodies and headers
//! through the booking API never get a 5xx, never store a booking unless
//! the answer is 201, and never panic; the form decoder agrees with the
//! JSON decoder on every text, and a problem+json answer carries exactly
//! the problem it was made from.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use frontdesk_shared::booking::request::FIELDS;
use frontdesk_shared::booking::BookingRequest;
use frontdesk_shared::problem::Problem;
use frontdesk_shared::FieldError;
use frontdesk_tests::{valid_booking, Backend, TestApp, TestResponse};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// One app for every case (a fresh one per case would be slow), on a
/// runtime of its own: each case checks what it stored by counting.
fn app() -> &'static (tokio::runtime::Runtime, TestApp) {
    static APP: OnceLock<(tokio::runtime::Runtime, TestApp)> = OnceLock::new();
    APP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let app = runtime.block_on(TestApp::with_env(
            Backend::Embedded,
            &[("RATE_LIMIT_PER_HOUR", "0")],
        ));
        (runtime, app)
    })
}

/// Whether a body fills the honeypot: a bot's request, answered as if
/// stored so the bot learns nothing, and never stored.
fn honeypot(content_type: &str, body: &[u8]) -> bool {
    let media = frontdesk_shared::booking::MediaType::from_content_type(content_type);
    media
        .and_then(|media| BookingRequest::decode(media, body).ok())
        .is_some_and(|request| request.honeypot_filled())
}

/// Sends a booking request; asserts no 5xx, that a booking was stored
/// exactly when the answer accepts it with a reference (201, or a form's 303
/// to the thank-you page) and is no replay and no bot's, and at most one
/// when it accepts it without a key (202, or a 303 without a reference).
fn send_checked(content_type: &str, headers: &[(String, String)], body: Vec<u8>) -> TestResponse {
    let trap = honeypot(content_type, &body);
    let request = post(content_type, headers, body);
    let (runtime, app) = app();
    // One request at a time, so the count is this request's alone.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    runtime.block_on(async {
        let before = app.store.count().await;
        let answer = app.send_from(request, frontdesk_tests::CLIENT.into()).await;
        let after = app.store.count().await;
        assert!(
            !answer.status.is_server_error(),
            "{}: {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        let stored = after - before;
        // Accepted with a reference: 201, or a plain form's 303 to the
        // thank-you page with `reference=`; a replay of its key stores nothing new.
        let keyed = answer.status == StatusCode::CREATED
            || (answer.status == StatusCode::SEE_OTHER
                && answer
                    .header("location")
                    .is_some_and(|l| l.starts_with("/thank-you?reference=")));
        // Accepted without a key: answered alike whether new or a duplicate.
        let keyless = answer.status == StatusCode::ACCEPTED
            || (answer.status == StatusCode::SEE_OTHER
                && answer.header("location") == Some("/thank-you"));
        if trap || !(keyed || keyless) {
            assert_eq!(stored, 0, "{} stored something", answer.status);
        } else if keyed && answer.header("idempotent-replayed").is_none() {
            assert_eq!(stored, 1, "an accepted booking is stored once");
        } else {
            assert!(stored <= 1, "{} stored {stored}", answer.status);
        }
        answer
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid booking with some fields replaced by arbitrary values, some
/// removed, and maybe a field that is not the form's.
fn mangled_booking() -> impl Strategy<Value = Value> {
    let field = prop::sample::select(FIELDS.to_vec());
    (
        prop::collection::vec((field.clone(), json_value()), 0..4),
        prop::collection::vec(field, 0..3),
        prop::option::of(("[a-z_]{1,12}", json_value())),
    )
        .prop_map(|(replaced, removed, extra)| {
            let mut body = valid_booking();
            let object = body.as_object_mut().expect("an object");
            for (name, value) in replaced {
                object.insert(name.to_owned(), value);
            }
            for name in removed {
                object.remove(name);
            }
            if let Some((name, value)) = extra {
                object.insert(name, value);
            }
            body
        })
}

fn post(content_type: &str, headers: &[(String, String)], body: Vec<u8>) -> Request<Body> {
    let mut request = Request::post("/v1/bookings");
    if !content_type.is_empty() {
        request = request.header("content-type", content_type);
    }
    // From the clinic's page, as the form is, unless the headers say otherwise.
    if !headers.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("origin") || name.eq_ignore_ascii_case("referer")
    }) {
        request = request.header("origin", frontdesk_tests::SITE_ORIGIN);
    }
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request.body(Body::from(body)).expect("a request")
}

/// Form-urlencodes `pairs` the strict way (every reserved byte escaped).
fn form(pairs: &[(String, String)]) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_gets_a_5xx_or_stores_an_invalid_booking(body in json_value()) {
        send_checked("application/json", &[], body.to_string().into_bytes());
    }

    #[test]
    fn a_mangled_booking_is_stored_only_when_answered_201(body in mangled_booking()) {
        let answer = send_checked("application/json", &[], body.to_string().into_bytes());
        if answer.status == StatusCode::UNPROCESSABLE_ENTITY {
            prop_assert!(!answer.error_fields().is_empty(), "a 422 names its fields");
        }
    }

    #[test]
    fn arbitrary_bytes_and_form_bodies_never_get_a_5xx(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        text in "[a-z_=&%+0-9A-F.@ -]{0,300}",
    ) {
        send_checked("application/x-www-form-urlencoded", &[], bytes.clone());
        send_checked("application/json", &[], bytes);
        send_checked("application/x-www-form-urlencoded", &[], text.into_bytes());
    }

    #[test]
    fn arbitrary_headers_never_get_a_5xx(
        content_type in prop_oneof![
            Just(String::new()),
            Just("application/json".to_owned()),
            Just("application/x-www-form-urlencoded; charset=utf-8".to_owned()),
            "[ -~]{0,60}",
        ],
        headers in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "idempotency-key", "accept", "origin", "content-length",
                    "content-encoding", "x-forwarded-for", "if-none-match",
                ]),
                "[ -~]{0,80}",
            ),
            0..4,
        ),
        body in mangled_booking(),
    ) {
        let headers: Vec<(String, String)> = headers
            .into_iter()
            .filter(|(name, _)| *name != "content-length")
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        send_checked(&content_type, &headers, body.to_string().into_bytes());
    }

    #[test]
    fn the_form_decoder_reads_what_the_json_decoder_reads(
        values in prop::collection::btree_map(prop::sample::select(FIELDS.to_vec()), ".{0,40}", 0..8),
    ) {
        let pairs: Vec<(String, String)> =
            values.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        let json: Map<String, Value> =
            values.iter().map(|(k, v)| ((*k).to_owned(), Value::from(v.as_str()))).collect();
        let from_form = BookingRequest::from_form(form(&pairs).as_bytes()).expect("a form");
        let from_json =
            BookingRequest::from_json(Value::Object(json).to_string().as_bytes()).expect("JSON");
        prop_assert_eq!(from_form, from_json);
    }

    #[test]
    fn a_problem_answer_carries_exactly_its_problem(
        status in prop::sample::select(vec![400u16, 404, 405, 409, 413, 415, 422, 429, 503]),
        detail in ".{0,80}",
        errors in prop::collection::vec(("[a-z_]{1,16}", ".{0,80}"), 0..5),
        retry_after in prop::option::of(1u64..100_000),
    ) {
        let mut problem = Problem::new(
            StatusCode::from_u16(status).expect("a status"),
            "urn:frontdesk:problem:test",
            "A test problem",
            detail.clone(),
        );
        problem.errors = errors
            .iter()
            .map(|(field, message)| FieldError { field: field.clone(), message: message.clone() })
            .collect();
        problem.retry_after = retry_after;
        let response = problem.clone().into_response();
        prop_assert_eq!(response.status().as_u16(), status);
        prop_assert_eq!(
            response.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let retry = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.parse::<u64>().expect("seconds"));
        prop_assert_eq!(retry, retry_after);
        let (runtime, _) = app();
        let body = runtime
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .expect("a body");
        let decoded: Value = serde_json::from_slice(&body).expect("JSON");
        prop_assert_eq!(&decoded["type"], "urn:frontdesk:problem:test");
        prop_assert_eq!(&decoded["title"], "A test problem");
        prop_assert_eq!(&decoded["status"], status);
        prop_assert_eq!(&decoded["detail"], detail.as_str());
        let decoded_errors: Vec<(String, String)> = decoded["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        (
                            e["field"].as_str().expect("a field").to_owned(),
                            e["message"].as_str().expect("a message").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        prop_assert_eq!(decoded_errors, errors);
    }
}
