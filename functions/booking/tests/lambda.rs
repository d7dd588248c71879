//! The booking bootstrap as Lambda runs it: the real binary, a loopback
//! Lambda Runtime API handing it API Gateway HTTP API events, DynamoDB Local
//! behind it.

use frontdesk_tests::content::ContentHandle;
use frontdesk_tests::lambda::{self, GatewayAnswer, HttpEvent};
use frontdesk_tests::{booking_with, nth_booking, valid_form, Backend, DynamoTables, TestApp};
use serde_json::Value;

struct Bootstrap(lambda::Bootstrap);

impl Bootstrap {
    async fn start(tables: &DynamoTables, vars: &[(&str, &str)]) -> Self {
        let content = ContentHandle::published(Backend::DynamoDb).await;
        let secret = frontdesk_tests::secrets::match_key_secret().await;
        let mut all = vec![
            ("BOOKINGS_TABLE", tables.bookings.as_str()),
            ("GUARDS_TABLE", tables.guards.as_str()),
            ("MARKETING_TABLE", tables.marketing.as_str()),
            ("CONTENT_TABLE", content.table().expect("a DynamoDB table")),
            ("MATCH_KEY_SECRET", secret.as_str()),
        ];
        all.extend_from_slice(vars);
        Self(lambda::Bootstrap::start(env!("CARGO_BIN_EXE_booking"), "booking", &all).await)
    }

    /// Invokes the function with a JSON body, keyed by the invocation's
    /// id as a page's script keys it, and returns its answer.
    async fn invoke(&mut self, id: &str, body: &Value, source_ip: &str) -> Value {
        let event = HttpEvent {
            method: "POST",
            path: "/v1/bookings",
            query: "",
            headers: &[
                ("content-type", "application/json"),
                ("idempotency-key", id),
                ("origin", frontdesk_tests::SITE_ORIGIN),
            ],
            body: Some((&body.to_string(), false)),
            source_ip,
        };
        self.0.invoke(id, event.json(id)).await
    }

    /// Invokes the function with an HTTP API event and returns its answer.
    async fn invoke_raw(
        &mut self,
        id: &str,
        content_type: &str,
        body: &str,
        base64: bool,
        source_ip: &str,
    ) -> Value {
        let event = HttpEvent {
            method: "POST",
            path: "/v1/bookings",
            query: "",
            headers: &[
                ("content-type", content_type),
                ("accept", "text/html"),
                ("origin", frontdesk_tests::SITE_ORIGIN),
            ],
            body: Some((body, base64)),
            source_ip,
        };
        self.0.invoke(id, event.json(id)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_the_store_could_not_take_is_a_503_and_a_metric_line_for_its_alarm() {
    let tables = DynamoTables::create().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut lambda = Bootstrap::start(
        &tables,
        &[
            ("AWS_ENDPOINT_URL_DYNAMODB", &nowhere),
            ("STORE_TIMEOUT_MS", "500"),
        ],
    )
    .await;
    let answer = lambda.invoke("req-1", &nth_booking(3), "203.0.113.9").await;
    assert_eq!(answer["statusCode"], 503, "{answer}");
    let line = lambda
        .0
        .printed(|l| l.contains("BookingsNotStored"))
        .expect("a metric line for the 503");
    let metric: Value = serde_json::from_str(&line).expect("one JSON object");
    assert_eq!(metric["BookingsNotStored"], 1);
    // Refused at once ("unavailable"), or ended by the SDK's deadline while
    // it retried ("unconfirmed": it cannot tell a refusal from a lost answer).
    let outcome = metric["Outcome"].as_str().unwrap_or_default().to_owned();
    assert!(
        ["unavailable", "unconfirmed"].contains(&outcome.as_str()),
        "{metric}"
    );
    assert_eq!(
        metric["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "frontdesk"
    );
    assert_eq!(tables.count().await, 0);
}

/// The bootstrap run to its end with `vars` and no Runtime API: what it printed.
fn refused_start(vars: &[(&str, &str)]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_booking"))
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env_remove("MATCH_KEY_SECRET")
        .envs(vars.iter().copied())
        .output()
        .expect("the bootstrap runs");
    assert!(!output.status.success(), "it must not start");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_does_not_start_without_its_match_keys_secret_named() {
    let printed = refused_start(&[]);
    assert!(printed.contains("MATCH_KEY_SECRET"), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_match_key_not_yet_readable_is_a_503_for_its_alarm_until_it_is_read() {
    let tables = DynamoTables::create().await;
    let secret = format!("frontdesk-test-late-key-{}", frontdesk_tests::fresh_key());
    let mut lambda = Bootstrap::start(&tables, &[("MATCH_KEY_SECRET", &secret)]).await;
    // It starts (the key is read in the background), and a malformed
    // request is answered without it.
    let answer = lambda
        .invoke_raw("req-0", "application/json", "{", false, "203.0.113.7")
        .await;
    assert_eq!(answer["statusCode"], 400, "{answer}");
    // A booking cannot be tagged without the key: not taken, and said so.
    let answer = lambda.invoke("req-1", &nth_booking(5), "203.0.113.7").await;
    assert_eq!(answer["statusCode"], 503, "{answer}");
    let why = lambda
        .0
        .printed(|l| l.contains("could not be read"))
        .expect("the reason logged");
    assert!(why.contains(&secret), "names the secret: {why}");
    let line = lambda
        .0
        .printed(|l| l.contains("BookingsNotStored"))
        .expect("a metric line for the 503");
    let metric: Value = serde_json::from_str(&line).expect("one JSON object");
    assert_eq!(metric["Outcome"], "unavailable", "{metric}");
    assert_eq!(tables.count().await, 0);
    // Once the secret can be read, the next booking reads it and is taken.
    frontdesk_tests::secrets::create_match_key_secret(&secret).await;
    let answer = lambda.invoke("req-2", &nth_booking(5), "203.0.113.7").await;
    assert_eq!(answer["statusCode"], 201, "{answer}");
    assert_eq!(tables.count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_from_a_foreign_page_is_refused_with_a_metric_line_of_its_kind_only() {
    let tables = DynamoTables::create().await;
    let mut lambda = Bootstrap::start(&tables, &[]).await;
    let body = nth_booking(8);
    let event = HttpEvent {
        method: "POST",
        path: "/v1/bookings",
        query: "",
        headers: &[
            ("content-type", "application/json"),
            ("origin", "https://evil.example"),
        ],
        body: Some((&body.to_string(), false)),
        source_ip: "203.0.113.77",
    };
    let answer = lambda
        .0
        .invoke("req-foreign", event.json("req-foreign"))
        .await;
    assert_eq!(answer["statusCode"], 403, "{answer}");
    let line = lambda
        .0
        .printed(|l| l.contains("BookingsRefused"))
        .expect("a metric line for the refusal");
    let metric: Value = serde_json::from_str(&line).expect("one JSON object");
    assert_eq!(metric["Kind"], "foreign_origin");
    assert_eq!(metric["BookingsRefused"], 1);
    for value in [
        "evil.example",
        "203.0.113.77",
        body["email"].as_str().unwrap(),
    ] {
        assert!(!line.contains(value), "{line} holds {value}");
    }
    assert_eq!(tables.count().await, 0);
}

/// A booking from the clinic's page with `extra` headers, from `source_ip`.
async fn book_with(
    lambda: &mut Bootstrap,
    id: &str,
    n: usize,
    extra: &[(&str, &str)],
    source_ip: &str,
) -> u64 {
    let body = nth_booking(n).to_string();
    let event = HttpEvent {
        method: "POST",
        path: "/v1/bookings",
        query: "",
        headers: &[
            &[
                ("content-type", "application/json"),
                ("idempotency-key", id),
                ("origin", frontdesk_tests::SITE_ORIGIN),
            ],
            extra,
        ]
        .concat(),
        body: Some((&body, false)),
        source_ip,
    };
    let answer = lambda.0.invoke(id, event.json(id)).await;
    answer["statusCode"].as_u64().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_forwarded_for_is_never_its_address_unless_a_cdn_header_is_configured() {
    // No CDN: X-Forwarded-For is the client's to write, so it changes nothing.
    let tables = DynamoTables::create().await;
    let mut direct = Bootstrap::start(&tables, &[("RATE_LIMIT_PER_HOUR", "1")]).await;
    let spoof = |ip| [("x-forwarded-for", ip)];
    assert_eq!(
        book_with(
            &mut direct,
            "d-1",
            1,
            &spoof("198.51.100.1"),
            "203.0.113.50"
        )
        .await,
        201
    );
    assert_eq!(
        book_with(
            &mut direct,
            "d-2",
            2,
            &spoof("198.51.100.2"),
            "203.0.113.50"
        )
        .await,
        429
    );

    // Behind CloudFront: every request comes from its address, the
    // configured header names the viewer, and the CDN's secret says the
    // request came through it.
    let tables = DynamoTables::create().await;
    let secret = "cdn-secret-for-the-tests-0123456789";
    let mut behind = Bootstrap::start(
        &tables,
        &[
            ("RATE_LIMIT_PER_HOUR", "1"),
            ("CLIENT_ADDRESS_HEADER", "CloudFront-Viewer-Address"),
            ("CDN_SECRET", secret),
        ],
    )
    .await;
    let viewer = |ip| {
        [
            ("cloudfront-viewer-address", ip),
            ("x-frontdesk-cdn-secret", secret),
        ]
    };
    let edge = "130.176.0.1";
    assert_eq!(
        book_with(&mut behind, "c-1", 1, &viewer("198.51.100.1:40001"), edge).await,
        201
    );
    assert_eq!(
        book_with(&mut behind, "c-2", 2, &viewer("198.51.100.2:40002"), edge).await,
        201
    );
    assert_eq!(
        book_with(&mut behind, "c-3", 3, &viewer("198.51.100.1:40003"), edge).await,
        429
    );
    // Around the CDN, a viewer header of one's own choosing is not read:
    // without the secret, or with a wrong one, there is no address.
    for headers in [
        vec![("cloudfront-viewer-address", "198.51.100.9:1")],
        vec![
            ("cloudfront-viewer-address", "198.51.100.9:1"),
            (
                "x-frontdesk-cdn-secret",
                "a-guess-of-the-cdn-secret-0123456",
            ),
        ],
        vec![],
    ] {
        assert_eq!(
            book_with(&mut behind, "c-4", 4, &headers, edge).await,
            400,
            "{headers:?}"
        );
    }
    assert_eq!(tables.count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_stores_a_booking_and_limits_by_api_gateway_source_ip() {
    let tables = DynamoTables::create().await;
    let mut lambda = Bootstrap::start(&tables, &[("RATE_LIMIT_PER_HOUR", "1")]).await;

    let created = lambda.invoke("req-1", &nth_booking(1), "203.0.113.5").await;
    assert_eq!(created["statusCode"], 201, "{created}");
    let body: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    let reference = body["reference"].as_str().unwrap();
    assert!(tables.item(reference).await.is_some(), "stored in DynamoDB");

    // The same address again is over its limit: the source came from the event.
    let limited = lambda.invoke("req-2", &nth_booking(2), "203.0.113.5").await;
    assert_eq!(limited["statusCode"], 429, "{limited}");
    assert!(
        limited["headers"]["retry-after"].as_str().is_some(),
        "{limited}"
    );
    assert_eq!(
        limited["headers"]["content-type"],
        "application/problem+json"
    );
    let other = lambda
        .invoke("req-3", &nth_booking(3), "198.51.100.20")
        .await;
    assert_eq!(other["statusCode"], 201, "{other}");
    assert_eq!(tables.count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_form_through_api_gateway_is_redirected_to_the_thank_you_page() {
    use base64::Engine;
    let tables = DynamoTables::create().await;
    let mut lambda = Bootstrap::start(
        &tables,
        &[("THANK_YOU_URL", "https://www.clinic.example/thank-you")],
    )
    .await;
    // API Gateway hands form bodies over base64-encoded. The page's key
    // comes as a hidden field.
    let form = format!(
        "{}&idempotency_key=page-key-1",
        frontdesk_tests::valid_form()
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(form);
    let answer = lambda
        .invoke_raw(
            "req-form",
            "application/x-www-form-urlencoded",
            &encoded,
            true,
            "203.0.113.9",
        )
        .await;
    assert_eq!(answer["statusCode"], 303, "{answer}");
    let location = answer["headers"]["location"].as_str().unwrap();
    let reference = location
        .strip_prefix("https://www.clinic.example/thank-you?reference=")
        .expect(location);
    assert!(tables.item(reference).await.is_some());
}

/// What differs between two stores' answers by data and not by code: the
/// reference an answer carries (in its body or its `Location`) and when the
/// booking was received, and how long until a rate window ends.
fn varying(answer: &GatewayAnswer) -> Vec<(String, &'static str)> {
    let body = serde_json::from_str::<Value>(&answer.body).unwrap_or_default();
    let from_location = answer
        .headers
        .get("location")
        .and_then(|l| l.split_once("reference=").map(|(_, r)| r.to_owned()));
    let reference = body["reference"]
        .as_str()
        .map(str::to_owned)
        .or(from_location);
    let received = body["received_at"].as_str().map(str::to_owned);
    // Seconds to the end of the rate window: the clock's, not the code's.
    let retry = answer.headers.get("retry-after").cloned();
    [
        (reference, "<reference>"),
        (received, "<received at>"),
        (retry, "<seconds>"),
    ]
    .into_iter()
    .filter_map(|(value, label)| value.map(|v| (v, label)))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_answers_every_kind_of_request_as_its_router_does_in_process() {
    use base64::Engine;
    let vars = [
        ("RATE_LIMIT_PER_HOUR", "3"),
        ("ALLOWED_ORIGINS", "https://www.clinic.example"),
        ("THANK_YOU_URL", "https://www.clinic.example/thank-you"),
        ("FORM_URL", "https://www.clinic.example/book"),
    ];
    let lambda_tables = DynamoTables::create().await;
    let mut lambda = Bootstrap::start(&lambda_tables, &vars).await;
    let app = TestApp::with_env(Backend::DynamoDb, &vars).await;

    let json = nth_booking(1).to_string();
    let changed = nth_booking(2).to_string();
    let invalid = booking_with("email", Value::from("not an email")).to_string();
    let form = base64::engine::general_purpose::STANDARD.encode(valid_form());
    let bad_form =
        base64::engine::general_purpose::STANDARD.encode("first_name=&email=nope&website=");
    let origin = ("origin", "https://www.clinic.example");
    let json_type = ("content-type", "application/json");
    let form_type = ("content-type", "application/x-www-form-urlencoded");
    let keyed = [json_type, ("idempotency-key", "parity-key-1"), origin];
    let from_site = [json_type, origin];
    let plain_json = [json_type, origin];
    let html_form = [form_type, ("accept", "text/html"), origin];
    let text = [("content-type", "text/plain"), origin];
    let foreign = [json_type, ("origin", "https://evil.example")];
    let preflight = [
        origin,
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "content-type,idempotency-key",
        ),
    ];
    let limited: Vec<String> = (3..=6).map(|n| nth_booking(n).to_string()).collect();
    let mut cases: Vec<(&str, HttpEvent)> = vec![
        ("created", post(&keyed, Some((&json, false)), "203.0.113.1")),
        (
            "replayed",
            post(&keyed, Some((&json, false)), "203.0.113.2"),
        ),
        (
            "key reused",
            post(&keyed, Some((&changed, false)), "203.0.113.3"),
        ),
        (
            "invalid",
            post(&from_site, Some((&invalid, false)), "203.0.113.4"),
        ),
        (
            "malformed",
            post(
                &plain_json,
                Some(("{\"first_name\":", false)),
                "203.0.113.4",
            ),
        ),
        ("form", post(&html_form, Some((&form, true)), "203.0.113.5")),
        (
            "bad form",
            post(&html_form, Some((&bad_form, true)), "203.0.113.5"),
        ),
        ("no body", post(&plain_json, None, "203.0.113.6")),
        (
            "unsupported type",
            post(&text, Some(("hello", false)), "203.0.113.6"),
        ),
        (
            "query string",
            HttpEvent {
                query: "utm_source=leaflet&x=1",
                ..post(&plain_json, Some((&changed, false)), "203.0.113.7")
            },
        ),
        (
            "wrong method",
            HttpEvent {
                method: "GET",
                ..post(&[], None, "203.0.113.8")
            },
        ),
        (
            "preflight",
            HttpEvent {
                method: "OPTIONS",
                ..post(&preflight, None, "203.0.113.8")
            },
        ),
        (
            "unknown path",
            HttpEvent {
                path: "/v1/nothing-here",
                ..post(&plain_json, None, "203.0.113.8")
            },
        ),
        (
            "foreign page",
            post(&foreign, Some((&changed, false)), "203.0.113.9"),
        ),
    ];
    // One address past its hourly limit of three.
    for body in &limited {
        cases.push((
            "one source",
            post(&plain_json, Some((body, false)), "198.51.100.9"),
        ));
    }
    let mut statuses = Vec::new();
    for (n, (label, event)) in cases.into_iter().enumerate() {
        let id = format!("parity-{n}");
        let through_lambda =
            GatewayAnswer::from_lambda(&lambda.0.invoke(&id, event.json(&id)).await);
        let source = event.source_ip.parse().expect("an address");
        let in_process = GatewayAnswer::from_router(&app.send_from(event.request(), source).await);
        let (a, b) = (varying(&through_lambda), varying(&in_process));
        statuses.push(through_lambda.status);
        assert_eq!(
            through_lambda.masked(&a),
            in_process.masked(&b),
            "{label}: the bootstrap (left) and the router (right) differ"
        );
    }
    // Every kind of answer was compared, not one kind many times.
    assert_eq!(
        statuses,
        [
            201, 201, 409, 422, 400, 303, 303, 400, 415, 202, 405, 200, 404, 403, 202, 202, 202,
            429
        ]
    );
    assert_eq!(lambda_tables.count().await, app.store.count().await);
}

/// A `POST /v1/bookings` event.
fn post<'a>(
    headers: &'a [(&'a str, &'a str)],
    body: Option<(&'a str, bool)>,
    source_ip: &'a str,
) -> HttpEvent<'a> {
    HttpEvent {
        method: "POST",
        path: "/v1/bookings",
        query: "",
        headers,
        body,
        source_ip,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_checks_a_turnstile_token_with_siteverify() {
    use frontdesk_tests::siteverify::{self, Mode, Siteverify};
    let verifier = Siteverify::start(Mode::Answering).await;
    let tables = DynamoTables::create().await;
    let mut lambda = Bootstrap::start(&tables, &verifier.env()).await;
    let field = frontdesk_shared::turnstile::TOKEN_FIELD;

    let passed = booking_with(field, siteverify::passing_token(1).into());
    let created = lambda.invoke("t-1", &passed, "203.0.113.5").await;
    assert_eq!(created["statusCode"], 201, "{created}");
    let rejected = booking_with(field, siteverify::REJECTED_TOKEN.into());
    let refused = lambda.invoke("t-2", &rejected, "203.0.113.6").await;
    assert_eq!(refused["statusCode"], 403, "{refused}");
    assert_eq!(verifier.requests().len(), 2);
    assert_eq!(tables.count().await, 1);
}
