//! The staff desk's API and pages as `frontdesk serve` runs them: behind
//! the one-time sign-in link, over SQLite and DynamoDB Local. Who may call
//! each route, what it refuses, and the headers of every answer.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use frontdesk_desk::local::LocalSignIn;
use frontdesk_shared::DeskConfig;
use frontdesk_tests::{
    booking_with, for_each_backend, valid_booking, Backend, TestApp, TestResponse,
};
use serde_json::{json, Value};
use std::net::SocketAddr;
use tower::ServiceExt;

for_each_backend!(
    every_desk_route_refuses_a_caller_not_signed_in,
    the_sign_in_link_works_once_and_from_loopback_only,
    a_signed_in_person_finds_opens_and_moves_a_request,
    of_two_staff_moving_a_request_at_once_one_wins_and_the_other_sees_it,
    a_move_with_bad_fields_is_refused_field_by_field_and_changes_nothing,
    a_time_the_clocks_skip_or_repeat_or_that_has_passed_is_refused_or_asked_about,
    a_hostile_message_comes_back_as_the_text_it_was,
    signing_out_ends_the_session,
    an_erased_request_says_when_and_why_and_nothing_else,
    an_admin_finds_exports_and_erases_a_person_from_the_desk,
    an_erasure_is_refused_unconfirmed_or_stale_and_changes_nothing,
    a_search_with_bad_fields_is_refused_field_by_field,
    opt_ins_that_outlive_their_booking_are_exported_and_erased_on_the_trail,
    an_erasure_that_stops_part_way_says_what_it_did_and_what_is_left,
    withdrawn_markers_go_with_an_erasure_but_not_while_a_booking_that_ticked_remains,
);

/// Every route of the desk's API, as a method and an example path.
const ROUTES: [(&str, &str); 10] = [
    ("GET", "/v1/desk/inbox"),
    ("GET", "/v1/desk/requests/CCL-AAAA-2222"),
    ("POST", "/v1/desk/requests/CCL-AAAA-2222/moves"),
    ("GET", "/v1/desk/requests/CCL-AAAA-2222/audit"),
    ("GET", "/v1/desk/audit"),
    ("POST", "/v1/desk/sign-in"),
    ("POST", "/v1/desk/sign-out"),
    ("POST", "/v1/desk/subjects/find"),
    ("POST", "/v1/desk/subjects/export"),
    ("POST", "/v1/desk/subjects/erase"),
];

/// The routes of a person's data rights, admins' only.
const RIGHTS_ROUTES: [&str; 3] = [
    "/v1/desk/subjects/find",
    "/v1/desk/subjects/export",
    "/v1/desk/subjects/erase",
];

struct Desk {
    app: TestApp,
    router: Router,
    secret: Option<String>,
}

impl Desk {
    async fn spawn(backend: Backend) -> Self {
        let app = TestApp::spawn(backend).await;
        let (sign_in, secret) = LocalSignIn::new().unwrap();
        // The content publishes one consultant an appointment may be with.
        let consultants = frontdesk_shared::content::cache::Fixed(std::sync::Arc::new(
            frontdesk_shared::desk::Consultants::new(vec![frontdesk_shared::booking::Slug::parse(
                "jane-doe",
            )
            .unwrap()]),
        ));
        let router = frontdesk_cli::serve::desk(
            app.store.desk(&app.clock),
            std::sync::Arc::new(consultants),
            app.store.rights(),
            DeskConfig::from_lookup(|_| None).unwrap(),
            app.clock.clock(),
            &sign_in,
        );
        Self {
            app,
            router,
            secret: Some(secret),
        }
    }

    async fn send(&self, request: Request<Body>, from: [u8; 4]) -> TestResponse {
        let mut request = request;
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((from, 40_000))));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Posts `secret` to the exchange route from `from`.
    async fn exchange(&self, secret: &str, from: [u8; 4]) -> TestResponse {
        self.send(
            Request::post("/v1/desk/local-session")
                .header("content-type", "application/json")
                .body(Body::from(json!({ "secret": secret }).to_string()))
                .unwrap(),
            from,
        )
        .await
    }

    /// Exchanges the link's secret for a session, as the sign-in page does.
    async fn sign_in(&mut self) -> String {
        let secret = self.secret.take().expect("the link is used once");
        let answer = self.exchange(&secret, [127, 0, 0, 1]).await;
        assert_eq!(answer.status, StatusCode::OK);
        let token = answer.json()["token"].as_str().unwrap().to_owned();
        let signed_in = self
            .call("POST", "/v1/desk/sign-in", Some(&token), None)
            .await;
        assert_eq!(signed_in.status, StatusCode::OK);
        token
    }

    /// Calls the desk a second after the last call, so the trail's order is its order.
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        self.app.clock.advance(time::Duration::seconds(1));
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap(), [127, 0, 0, 1]).await
    }

    /// Posts `body` to the data-rights route `action` (find, export,
    /// erase) as the session `token`.
    async fn rights(&self, action: &str, token: &str, body: Value) -> TestResponse {
        let path = format!("/v1/desk/subjects/{action}");
        self.call("POST", &path, Some(token), Some(body)).await
    }

    /// Opens the request `reference`'s page as the session `token`.
    async fn page(&self, reference: &str, token: &str) -> TestResponse {
        let path = format!("/v1/desk/requests/{reference}");
        self.call("GET", &path, Some(token), None).await
    }

    /// Books `body` through the public API and answers its reference.
    async fn book(&self, body: &Value, key: &str) -> String {
        let answer = self.app.post_json_with_key(body, key).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
        answer.json()["reference"].as_str().unwrap().to_owned()
    }
}

/// What a desk answer must carry, whatever it says.
fn assert_secure(answer: &TestResponse, what: &str) {
    assert_eq!(answer.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(
        answer.header("referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    let policy = answer.header("content-security-policy").unwrap_or_default();
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "{what}: {policy}"
    );
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
        "{what}: {policy}"
    );
    assert_eq!(
        answer.header("access-control-allow-origin"),
        None,
        "{what}: no CORS"
    );
}

/// Whether a body holds any of the fixture patient's details.
fn personal(body: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(body);
    [
        "Fixture",
        "Patient",
        "fixture.patient",
        "07700",
        "1970",
        "neuroendocrine",
    ]
    .into_iter()
    .find(|detail| text.contains(detail))
}

async fn every_desk_route_refuses_a_caller_not_signed_in(backend: Backend) {
    let desk = Desk::spawn(backend).await;
    let reference = desk.book(&valid_booking(), "refuse-0001").await;
    for (method, path) in ROUTES {
        let path = path.replace("CCL-AAAA-2222", &reference);
        for token in [None, Some("not-a-session")] {
            let body =
                (method == "POST").then(|| json!({"version": 0, "from": "new", "to": "contacted"}));
            let answer = desk.call(method, &path, token, body).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {token:?}"
            );
            assert_eq!(
                answer.json()["type"],
                "urn:frontdesk:problem:unauthenticated"
            );
            assert_eq!(personal(&answer.body), None, "{method} {path}");
            assert_secure(&answer, &path);
        }
    }
    for page in [
        "/desk",
        "/desk/requests/CCL-AAAA-2222",
        "/desk/audit",
        "/desk/people",
        "/desk/sign-in",
        "/desk/signed-out",
        "/desk/desk.js",
        "/desk/desk.css",
        "/desk/nothing-here",
        "/v1/desk/nothing-here",
    ] {
        let answer = desk.call("GET", page, None, None).await;
        assert_secure(&answer, page);
        assert_eq!(personal(&answer.body), None, "{page}");
    }
    // Nothing was changed by any of it.
    let seen = desk.app.booking(&reference).await.unwrap();
    assert_eq!(seen.reference.as_str(), reference);
}

async fn the_sign_in_link_works_once_and_from_loopback_only(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let secret = desk.secret.clone().unwrap();
    let remote = desk.exchange(&secret, [192, 0, 2, 10]).await;
    assert_eq!(
        remote.status,
        StatusCode::FORBIDDEN,
        "not from another machine"
    );
    let token = desk.sign_in().await;
    assert!(!token.contains(&secret));
    let again = desk.exchange(&secret, [127, 0, 0, 1]).await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "the link works once"
    );
    assert_secure(&again, "local-session");
    let inbox = desk.call("GET", "/v1/desk/inbox", Some(&token), None).await;
    assert_eq!(inbox.status, StatusCode::OK);
}

async fn a_signed_in_person_finds_opens_and_moves_a_request(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let reference = desk.book(&valid_booking(), "find-0001").await;
    let token = desk.sign_in().await;

    let inbox = desk
        .call(
            "GET",
            "/v1/desk/inbox?state=new&specialty=neuroendocrine-tumours",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(inbox.status, StatusCode::OK);
    let rows = inbox.json()["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["reference"], reference.as_str());
    assert!(
        rows[0]["received"]["london"]
            .as_str()
            .unwrap()
            .ends_with("GMT")
            || rows[0]["received"]["london"]
                .as_str()
                .unwrap()
                .ends_with("BST")
    );
    assert_eq!(
        personal(&inbox.body).filter(|d| *d != "neuroendocrine"),
        None,
        "the inbox lists no patient"
    );

    let page = desk.page(&reference, &token).await;
    assert_eq!(page.status, StatusCode::OK);
    let request = page.json();
    assert_eq!(request["state"], "new");
    assert_eq!(
        request["consent"]["wording_version"],
        valid_booking()["consent_version"]
    );
    let answers = request["answers"].to_string();
    assert!(
        answers.contains("07700 900123"),
        "the phone as people write it: {answers}"
    );

    let moved = desk
        .call(
            "POST",
            &format!("/v1/desk/requests/{reference}/moves"),
            Some(&token),
            Some(json!({
                "version": 0, "from": "new", "to": "contacted", "note": "Rang, left a message"
            })),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    assert_eq!(moved.json(), json!({"state": "contacted", "version": 1}));
    let booked = desk
        .call(
            "POST",
            &format!("/v1/desk/requests/{reference}/moves"),
            Some(&token),
            Some(json!({
                "version": 1, "from": "contacted", "to": "booked",
                "appointment": {"date": "2027-07-01", "time": "10:30", "place": "Parkside Hospital", "consultant": "jane-doe"}
            })),
        )
        .await;
    assert_eq!(booked.status, StatusCode::OK, "{:?}", booked.body);
    let request = desk.page(&reference, &token).await.json();
    assert_eq!(request["state"], "booked");
    let history = request["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["note"], "Rang, left a message");
    assert_eq!(
        history[1]["appointment"]["at"]["at"], "2027-07-01T09:30:00.000Z",
        "10:30 BST is 09:30 UTC"
    );
    assert_eq!(
        history[1]["appointment"]["at"]["london"],
        "Thursday 1 July 2027, 10:30 BST"
    );

    let trail = desk
        .call("GET", "/v1/desk/audit", Some(&token), None)
        .await
        .json();
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["viewed", "changed", "changed", "viewed", "signed_in"]
    );
    assert_eq!(
        personal(trail.to_string().as_bytes()),
        None,
        "the trail names no patient"
    );
}

async fn of_two_staff_moving_a_request_at_once_one_wins_and_the_other_sees_it(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let reference = desk.book(&valid_booking(), "race-0001").await;
    let token = desk.sign_in().await;
    let path = format!("/v1/desk/requests/{reference}/moves");
    let contacted = json!({"version": 0, "from": "new", "to": "contacted", "note": "first"});
    let declined_too_soon =
        json!({"version": 0, "from": "new", "to": "contacted", "note": "second"});
    let (one, two) = tokio::join!(
        desk.call("POST", &path, Some(&token), Some(contacted)),
        desk.call("POST", &path, Some(&token), Some(declined_too_soon)),
    );
    let mut statuses = [one.status, two.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let lost = if one.status == StatusCode::CONFLICT {
        one
    } else {
        two
    };
    let lost = lost.json();
    assert_eq!(
        (lost["state"].clone(), lost["version"].clone()),
        (json!("contacted"), json!(1))
    );
    assert!(lost["detail"].as_str().unwrap().contains("Contacted"));
    let trail = desk
        .call(
            "GET",
            &format!("/v1/desk/requests/{reference}/audit"),
            Some(&token),
            None,
        )
        .await
        .json();
    let changes = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "changed")
        .count();
    assert_eq!(changes, 1, "the trail holds the one that won");
}

async fn a_move_with_bad_fields_is_refused_field_by_field_and_changes_nothing(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let reference = desk.book(&valid_booking(), "bad-0001").await;
    let token = desk.sign_in().await;
    let path = format!("/v1/desk/requests/{reference}/moves");
    let contacted = desk
        .call(
            "POST",
            &path,
            Some(&token),
            Some(json!({"version": 0, "from": "new", "to": "contacted"})),
        )
        .await;
    assert_eq!(contacted.status, StatusCode::OK);
    for (body, field) in [
        (
            json!({"version": 1, "from": "contacted", "to": "booked"}),
            "appointment",
        ),
        (
            json!({"version": 1, "from": "contacted", "to": "booked", "appointment": {"date": "2027-07-01", "time": "25:30", "place": "Parkside"}}),
            "appointment.time",
        ),
        (
            json!({"version": 1, "from": "contacted", "to": "booked", "appointment": {"date": "1 July", "time": "10:30", "place": "Parkside"}}),
            "appointment.date",
        ),
        (
            json!({"version": 1, "from": "contacted", "to": "booked", "appointment": {"date": "2027-07-01", "time": "10:30", "place": ""}}),
            "appointment.place",
        ),
        (
            json!({"version": 1, "from": "contacted", "to": "closed"}),
            "to",
        ),
        (
            json!({"version": 1, "from": "contacted", "to": "new"}),
            "to",
        ),
        (
            json!({"version": 1, "from": "contacted", "to": "declined", "note": "x".repeat(2001)}),
            "note",
        ),
        (
            json!({"version": 1, "from": "somewhere", "to": "declined"}),
            "from",
        ),
    ] {
        let answer = desk
            .call("POST", &path, Some(&token), Some(body.clone()))
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let fields: Vec<String> = answer.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect();
        assert!(fields.contains(&field.to_owned()), "{body}: {fields:?}");
    }
    for malformed in ["not json", "{\"version\": \"one\"}", "[]"] {
        let answer = desk
            .send(
                Request::post(&path)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(Body::from(malformed))
                    .unwrap(),
                [127, 0, 0, 1],
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{malformed}");
    }
    let unknown = desk
        .call(
            "POST",
            "/v1/desk/requests/CCL-AAAA-2222/moves",
            Some(&token),
            Some(json!({"version": 0, "from": "new", "to": "contacted"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let request = desk.page(&reference, &token).await.json();
    assert_eq!(
        (request["state"].clone(), request["version"].clone()),
        (json!("contacted"), json!(1)),
        "nothing changed"
    );
    for bad in [
        "state=open",
        "limit=0",
        "limit=101",
        "after=forged",
        "specialty=Not%20A%20Slug",
    ] {
        let answer = desk
            .call("GET", &format!("/v1/desk/inbox?{bad}"), Some(&token), None)
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// The last Sunday of `month` next year, when London's clocks change.
fn last_sunday(month: time::Month) -> time::Date {
    let year = time::OffsetDateTime::now_utc().year() + 1;
    let mut day = time::Date::from_calendar_date(year, month, 1)
        .unwrap()
        .replace_day(time::util::days_in_month(month, year))
        .unwrap();
    while day.weekday() != time::Weekday::Sunday {
        day = day.previous_day().unwrap();
    }
    day
}

async fn a_time_the_clocks_skip_or_repeat_or_that_has_passed_is_refused_or_asked_about(
    backend: Backend,
) {
    let mut desk = Desk::spawn(backend).await;
    let token = desk.sign_in().await;
    let spring = last_sunday(time::Month::March).to_string();
    let autumn = last_sunday(time::Month::October).to_string();
    // Each case on a request of its own, contacted, then booked as asked.
    let mut cases = Vec::new();
    for (n, (appointment, field, says)) in [
        (
            json!({"date": spring, "time": "01:30", "place": "Parkside"}),
            Some("appointment.time"),
            "clocks go forward",
        ),
        (
            json!({"date": autumn, "time": "01:30", "place": "Parkside"}),
            Some("appointment.zone"),
            "BST",
        ),
        (
            json!({"date": autumn, "time": "01:30", "place": "Parkside", "zone": "EST"}),
            Some("appointment.zone"),
            "Choose BST or GMT",
        ),
        (
            json!({"date": "2020-07-01", "time": "10:30", "place": "Parkside"}),
            Some("appointment.date"),
            "has passed",
        ),
        (
            json!({"date": autumn, "time": "01:30", "place": "Parkside", "zone": "BST"}),
            None,
            "T00:30:00.000Z",
        ),
        (
            json!({"date": autumn, "time": "01:30", "place": "Parkside", "zone": "GMT"}),
            None,
            "T01:30:00.000Z",
        ),
        (
            // Outside the repeated hour, the zone named must be London's.
            json!({"date": autumn, "time": "10:30", "place": "Parkside", "zone": "GMT"}),
            None,
            "T10:30:00.000Z",
        ),
        (
            json!({"date": autumn, "time": "10:30", "place": "Parkside", "zone": "BST"}),
            Some("appointment.zone"),
            "London is on GMT, not BST",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let reference = desk.book(&valid_booking(), &format!("clocks-{n:04}")).await;
        let path = format!("/v1/desk/requests/{reference}/moves");
        let contacted = desk
            .call(
                "POST",
                &path,
                Some(&token),
                Some(json!({"version": 0, "from": "new", "to": "contacted"})),
            )
            .await;
        assert_eq!(contacted.status, StatusCode::OK);
        let body =
            json!({"version": 1, "from": "contacted", "to": "booked", "appointment": appointment});
        let answer = desk
            .call("POST", &path, Some(&token), Some(body.clone()))
            .await;
        cases.push((reference, body, answer, field, says));
    }
    for (reference, body, answer, field, says) in cases {
        let request = desk.page(&reference, &token).await.json();
        match field {
            Some(field) => {
                assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
                let errors = answer.json()["errors"].clone();
                let error = errors
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["field"] == field)
                    .unwrap_or_else(|| panic!("{body}: {errors}"))
                    .clone();
                assert!(
                    error["message"].as_str().unwrap().contains(says),
                    "{body}: {error}"
                );
                assert_eq!(
                    (request["state"].clone(), request["version"].clone()),
                    (json!("contacted"), json!(1)),
                    "nothing changed: {body}"
                );
            }
            None => {
                assert_eq!(answer.status, StatusCode::OK, "{body}: {:?}", answer.body);
                let at = request["history"][1]["appointment"]["at"]["at"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                assert_eq!(at, format!("{autumn}{says}"), "{body}");
            }
        }
    }
}

async fn a_hostile_message_comes_back_as_the_text_it_was(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    let reference = desk
        .book(&booking_with("message", json!(hostile)), "hostile-0001")
        .await;
    let token = desk.sign_in().await;
    let answer = desk.page(&reference, &token).await;
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(
        answer.json()["message"],
        hostile,
        "as typed, for the page to set as text"
    );
}

async fn signing_out_ends_the_session(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let token = desk.sign_in().await;
    let out = desk
        .call("POST", "/v1/desk/sign-out", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_secure(&out, "sign-out");
    let after = desk.call("GET", "/v1/desk/inbox", Some(&token), None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

/// The desk's router with the caller an ID token's claims make, as the
/// Lambda edge reads them (`Caller::from_claims`), in-process.
fn with_claims(app: &TestApp, claims: &[(&str, &str)]) -> Router {
    with_claims_and(app, claims, app.store.rights())
}

/// [`with_claims`], with what a person's data rights use given.
fn with_claims_and(
    app: &TestApp,
    claims: &[(&str, &str)],
    rights: frontdesk_desk::Rights,
) -> Router {
    let claims: std::collections::HashMap<String, String> = claims
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let state = frontdesk_desk::AppState::new(
        app.store.desk(&app.clock),
        std::sync::Arc::new(frontdesk_shared::content::cache::Fixed(
            std::sync::Arc::new(frontdesk_shared::desk::Consultants::default()),
        )),
        rights,
        app.clock.clock(),
        DeskConfig::from_lookup(|_| None).unwrap(),
    );
    frontdesk_desk::router(state).layer(axum::middleware::from_fn(
        move |mut request: axum::extract::Request, next: axum::middleware::Next| {
            let caller = frontdesk_desk::Caller::from_claims(&claims, Some("client1"));
            request.extensions_mut().insert(caller);
            next.run(request)
        },
    ))
}

#[tokio::test]
async fn staff_are_refused_the_audit_trail_and_outsiders_everything() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let answer = app
        .post_json_with_key(&valid_booking(), "claims-0001")
        .await;
    let reference = answer.json()["reference"].as_str().unwrap().to_owned();
    let staff = [
        ("token_use", "id"),
        ("email_verified", "true"),
        ("aud", "client1"),
        ("sub", "0a1b"),
        ("email", "nurse@clinic.example"),
        ("cognito:groups", "[staff]"),
    ];
    let mut outsider = staff;
    outsider[5] = ("cognito:groups", "[]");
    let get = |router: Router, path: String| {
        send_to(router, Request::get(&path).body(Body::empty()).unwrap())
    };
    for path in [
        format!("/v1/desk/requests/{reference}/audit"),
        "/v1/desk/audit".to_owned(),
    ] {
        let (status, body) = get(with_claims(&app, &staff), path.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(personal(&body), None, "{path}");
    }
    // A person's data is an admin's to find, export or erase; a refused
    // search is not even recorded.
    let erase = json!({
        "email": "fixture.patient@example.com",
        "references": [reference],
        "confirm": "fixture.patient@example.com",
        "reason": "asked by the patient",
    });
    for path in RIGHTS_ROUTES {
        let body = if path.ends_with("erase") {
            erase.clone()
        } else {
            json!({ "email": "fixture.patient@example.com" })
        };
        let (status, body) = post_to(with_claims(&app, &staff), path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(personal(&body), None, "{path}");
    }
    assert_eq!(app.store.count().await, 1, "nothing erased");
    let (status, _) = get(
        with_claims(&app, &staff),
        format!("/v1/desk/requests/{reference}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = get(
        with_claims(&app, &outsider),
        format!("/v1/desk/requests/{reference}"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "in no desk group");
    assert_eq!(personal(&body), None);
}

async fn an_erased_request_says_when_and_why_and_nothing_else(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let reference = desk.book(&valid_booking(), "erased-0001").await;
    let token = desk.sign_in().await;
    let admin = frontdesk_shared::desk::Staff {
        subject: "frontdesk-cli".into(),
        email: frontdesk_shared::booking::Email::parse("lead@clinic.example").unwrap(),
    };
    let reason =
        frontdesk_shared::desk::Reason::parse("erasure requested by the data subject").unwrap();
    let erased = frontdesk_shared::rights::Eraser::erase(
        desk.app.store.desk(&desk.app.clock).as_ref(),
        &frontdesk_shared::booking::Reference::parse(&reference).unwrap(),
        &[],
        &admin,
        &reason,
    )
    .await
    .unwrap();
    assert!(erased.is_some());
    let answer = desk.page(&reference, &token).await;
    assert_eq!(answer.status, StatusCode::GONE);
    assert_secure(&answer, "an erased request");
    let problem = answer.json();
    assert_eq!(problem["type"], "urn:frontdesk:problem:erased");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("erased on") && detail.contains("erasure requested by the data subject"),
        "{detail}"
    );
    assert_eq!(personal(&answer.body), None);
    // A reference that never existed is still a 404.
    let never = desk
        .call("GET", "/v1/desk/requests/CCL-AAAA-2222", Some(&token), None)
        .await;
    assert_eq!(never.status, StatusCode::NOT_FOUND);
}

/// The actions the whole desk's trail holds, newest first.
async fn trail_actions(desk: &Desk, token: &str) -> Vec<(String, Option<String>)> {
    let trail = desk.call("GET", "/v1/desk/audit", Some(token), None).await;
    assert_eq!(trail.status, StatusCode::OK);
    trail.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["reference"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The references an admin's search shows, in its order.
fn shown(found: &TestResponse) -> Vec<String> {
    found.json()["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["reference"].as_str().unwrap().to_owned())
        .collect()
}

async fn an_admin_finds_exports_and_erases_a_person_from_the_desk(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    // Two bookings of one person (the second for their partner), and a
    // third person who shares the patient's name but nothing else.
    let first = desk.book(&valid_booking(), "rights-0001").await;
    let mut for_partner = booking_with("booking_for", json!("someone_else"));
    for_partner["first_name"] = json!("Partner");
    for_partner["date_of_birth"] = json!("1968-01-02");
    let second = desk.book(&for_partner, "rights-0002").await;
    let mut namesake = booking_with("email", json!("namesake@example.org"));
    namesake["phone"] = json!("020 7946 0000");
    let other = desk.book(&namesake, "rights-0003").await;
    let token = desk.sign_in().await;
    let moved = desk
        .call(
            "POST",
            &format!("/v1/desk/requests/{first}/moves"),
            Some(&token),
            Some(json!({"version": 0, "from": "new", "to": "contacted", "note": "Rang back"})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK);

    let person = json!({ "email": "Fixture.Patient@example.com" });
    let found = desk.rights("find", &token, person.clone()).await;
    assert_eq!(found.status, StatusCode::OK, "{:?}", found.body);
    assert_secure(&found, "find");
    let mut references = shown(&found);
    references.sort();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(
        references, expected,
        "the person's two bookings, not the namesake's"
    );
    let listed = found.json();
    assert_eq!(listed["confirm_with"], "email");
    assert!(listed["bookings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["reference"] == second.as_str() && b["for_someone_else"] == true));
    assert_eq!(
        listed["opt_ins"][0]["channel"], "email",
        "the news by email they ticked"
    );
    assert!(
        !found.body.windows(8).any(|w| w == b"Fixture "),
        "a search lists references, not names"
    );

    let exported = desk.rights("export", &token, person.clone()).await;
    assert_eq!(exported.status, StatusCode::OK, "{:?}", exported.body);
    assert_secure(&exported, "export");
    let answer = exported.json();
    assert_eq!(answer["bookings"], 2);
    assert!(answer["file"]
        .as_str()
        .unwrap()
        .starts_with("subject-export-"));
    let document: Value = serde_json::from_str(answer["json"].as_str().unwrap()).unwrap();
    assert_eq!(document["format"], "frontdesk/subject-export/1");
    let bookings = document["bookings"].as_array().unwrap();
    assert_eq!(bookings.len(), 2);
    let roles: Vec<(&str, &str)> = bookings
        .iter()
        .map(|b| {
            (
                b["reference"].as_str().unwrap(),
                b["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        roles.contains(&(first.as_str(), "booker_and_patient")),
        "{roles:?}"
    );
    assert!(roles.contains(&(second.as_str(), "booker")), "{roles:?}");
    let html = answer["html"].as_str().unwrap();
    for part in [answer["json"].as_str().unwrap(), html] {
        assert!(!part.contains(&other), "nothing of the namesake's booking");
        assert!(!part.contains("namesake@example.org"));
    }
    assert!(html.contains(&first) && html.contains("Rang back"));

    let erased = desk
        .rights(
            "erase",
            &token,
            json!({
                "email": "fixture.patient@example.com",
                "references": references,
                "confirm": " FIXTURE.PATIENT@example.com ",
                "reason": "Erasure requested by the patient in writing",
            }),
        )
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    assert_secure(&erased, "erase");
    let report = erased.json();
    let mut gone: Vec<String> = report["erased"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    gone.sort();
    assert_eq!(gone, expected);
    assert_eq!(report["stopped"], Value::Null);
    assert_eq!(report["still_held"], json!([]));
    assert_eq!(report["opt_ins_removed"], 1);
    let not_erased = report["not_erased"].to_string();
    assert!(not_erased.contains("mailboxes"), "{not_erased}");
    assert!(not_erased.contains("for someone else"), "{not_erased}");
    assert_eq!(
        not_erased.contains("Point-in-time recovery"),
        backend == Backend::DynamoDb,
        "backups are DynamoDB's: {not_erased}"
    );

    // Staff who look a reference up see the tombstone; the namesake's
    // booking is untouched; a new search finds nothing.
    for reference in [&first, &second] {
        let page = desk.page(reference, &token).await;
        assert_eq!(page.status, StatusCode::GONE, "{reference}");
        assert!(page.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Erasure requested by the patient in writing"));
    }
    assert!(desk.app.booking(&other).await.is_some());
    let again = desk.rights("find", &token, person).await;
    assert_eq!(shown(&again), Vec::<String>::new());
    assert_eq!(again.json()["opt_ins"], json!([]));

    let actions = trail_actions(&desk, &token).await;
    for reference in [&first, &second] {
        for action in ["exported", "erased"] {
            assert!(
                actions.contains(&(action.to_owned(), Some(reference.clone()))),
                "{action} {reference}: {actions:?}"
            );
        }
    }
    let searches = actions
        .iter()
        .filter(|(a, r)| a == "searched" && r.is_none())
        .count();
    // The search, the export's, the erasure's, and the search after it.
    assert_eq!(
        searches, 4,
        "each search on the trail, naming no one: {actions:?}"
    );
    let trail = desk.call("GET", "/v1/desk/audit", Some(&token), None).await;
    assert!(
        !String::from_utf8_lossy(&trail.body).contains("fixture.patient"),
        "the trail never holds what was searched for"
    );
}

async fn an_erasure_is_refused_unconfirmed_or_stale_and_changes_nothing(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let first = desk.book(&valid_booking(), "stale-0001").await;
    let token = desk.sign_in().await;
    let person = json!({ "phone": "+44 7700 900123" });
    let found = desk.rights("find", &token, person).await;
    assert_eq!(found.json()["confirm_with"], "phone");
    assert_eq!(shown(&found), vec![first.clone()]);
    let erase = |references: Vec<String>, confirm: &str| {
        json!({
            "phone": "+44 7700 900123",
            "references": references,
            "confirm": confirm,
            "reason": "Erasure requested by the patient",
        })
    };

    // The confirmation must be the number searched, however written.
    for wrong in ["", "07700 900124", "fixture.patient@example.com", "erase"] {
        let refused = desk
            .rights("erase", &token, erase(vec![first.clone()], wrong))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{wrong:?}"
        );
        assert_eq!(refused.error_fields(), ["confirm"], "{wrong:?}");
        assert_eq!(personal(&refused.body), None);
    }
    // A booking arrived after the search: what was shown is not what
    // would go, so nothing goes.
    let mut later = booking_with("email", json!("fixture.patient+later@example.com"));
    later["message"] = json!("A second question.");
    let second = desk.book(&later, "stale-0002").await;
    let stale = desk
        .rights("erase", &token, erase(vec![first.clone()], "07700 900123"))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(
        stale.json()["type"],
        "urn:frontdesk:problem:changed-meanwhile"
    );
    assert_eq!(personal(&stale.body), None);
    // Nor does a reference that is not the person's.
    let foreign = desk
        .rights(
            "erase",
            &token,
            erase(
                vec![first.clone(), second.clone(), "CCL-AAAA-2222".into()],
                "07700 900123",
            ),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::CONFLICT);
    for reference in [&first, &second] {
        assert!(
            desk.app.booking(reference).await.is_some(),
            "{reference} kept"
        );
    }
    assert!(!trail_actions(&desk, &token)
        .await
        .iter()
        .any(|(a, _)| a == "erased"));
    // Shown both, confirmed: both go.
    let done = desk
        .rights(
            "erase",
            &token,
            erase(vec![second.clone(), first.clone()], "+447700900123"),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.json()["erased"].as_array().unwrap().len(), 2);
    assert_eq!(desk.app.store.count().await, 0);
}

async fn a_search_with_bad_fields_is_refused_field_by_field(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let reference = desk.book(&valid_booking(), "badsearch-0001").await;
    let token = desk.sign_in().await;
    for path in RIGHTS_ROUTES {
        for (body, fields) in [
            (json!({}), vec!["email"]),
            (json!({"email": " ", "phone": ""}), vec!["email"]),
            (json!({"email": "not-an-address"}), vec!["email"]),
            (json!({"phone": "12345"}), vec!["phone"]),
            (
                json!({"email": "a@b", "phone": "999"}),
                vec!["email", "phone"],
            ),
        ] {
            let mut body = body;
            if path.ends_with("erase") {
                body["references"] = json!([reference]);
                body["confirm"] = json!("x");
                body["reason"] = json!("asked");
            }
            let answer = desk
                .call("POST", path, Some(&token), Some(body.clone()))
                .await;
            assert_eq!(
                answer.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {body}"
            );
            assert_eq!(answer.error_fields(), fields, "{path} {body}");
            assert_secure(&answer, path);
        }
        let malformed = desk
            .call(
                "POST",
                path,
                Some(&token),
                Some(json!({"email": "fixture.patient@example.com", "extra": 1})),
            )
            .await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST, "{path}");
        let get = desk.call("GET", path, Some(&token), None).await;
        assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
    let erase = |references: Value, reason: &str| {
        json!({
            "email": "fixture.patient@example.com",
            "references": references,
            "confirm": "fixture.patient@example.com",
            "reason": reason,
        })
    };
    let without = |field: &str| {
        let mut body = erase(json!([reference]), "asked");
        body.as_object_mut().unwrap().remove(field);
        (body, field.to_owned())
    };
    for (body, field) in [
        (
            erase(json!(["not a reference"]), "asked"),
            "references".to_owned(),
        ),
        (erase(json!([reference]), ""), "reason".to_owned()),
        without("references"),
        without("reason"),
        without("confirm"),
    ] {
        let answer = desk.rights("erase", &token, body.clone()).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer.error_fields(), [field], "{body}");
    }
    assert!(
        desk.app.booking(&reference).await.is_some(),
        "nothing erased"
    );
}

/// Sends `request` to `router` in-process: the answer's status and body.
async fn send_to(router: Router, request: Request<Body>) -> (StatusCode, axum::body::Bytes) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body)
}

/// Posts `body` as JSON to `path` of `router`: the answer's status and body.
async fn post_to(router: Router, path: &str, body: Value) -> (StatusCode, axum::body::Bytes) {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send_to(router, request).await
}

/// An ID token's claims of an admin, as the authorizer passes them.
const ADMIN: [(&str, &str); 6] = [
    ("token_use", "id"),
    ("email_verified", "true"),
    ("aud", "client1"),
    ("sub", "9f8e"),
    ("email", "lead@clinic.example"),
    ("cognito:groups", "[admin staff]"),
];

#[tokio::test]
async fn in_lambda_the_key_comes_from_its_secret_when_an_admin_first_searches() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let reference = app
        .post_json_with_key(&valid_booking(), "secret-0001")
        .await
        .json()["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let sdk = frontdesk_shared::aws::load(std::time::Duration::from_secs(10)).await;
    let person = json!({"email": "fixture.patient@example.com"});
    let find = |router: Router| post_to(router, "/v1/desk/subjects/find", person.clone());
    // The template's secret, as moto holds it: the booking's tag is found.
    let mut rights = app.store.rights();
    rights.key = std::sync::Arc::new(frontdesk_shared::match_key::MatchKeyOnce::from_secret(
        sdk.clone(),
        frontdesk_tests::secrets::match_key_secret().await,
    ));
    let (status, body) = find(with_claims_and(&app, &ADMIN, rights)).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    let found: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(found["bookings"][0]["reference"], reference.as_str());
    // A secret that cannot be read: a 503 that says nothing of anyone.
    let mut rights = app.store.rights();
    rights.key = std::sync::Arc::new(frontdesk_shared::match_key::MatchKeyOnce::from_secret(
        sdk,
        "frontdesk-no-such-secret".into(),
    ));
    let (status, body) = find(with_claims_and(&app, &ADMIN, rights)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(personal(&body), None);

    // The consent wordings unreadable: the export is whole, and says the
    // words are missing rather than leaving them out unsaid.
    let mut rights = app.store.rights();
    rights.wordings = std::sync::Arc::new(frontdesk_shared::content::cache::Fixed(
        std::sync::Arc::new(Vec::new()),
    ));
    let (status, body) = post_to(
        with_claims_and(&app, &ADMIN, rights),
        "/v1/desk/subjects/export",
        person,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    let document: Value = serde_json::from_str(answer["json"].as_str().unwrap()).unwrap();
    assert_eq!(document["bookings"][0]["reference"], reference.as_str());
    assert!(
        document["not_included"]
            .to_string()
            .contains("could not be read just now"),
        "{}",
        document["not_included"]
    );
}

async fn opt_ins_that_outlive_their_booking_are_exported_and_erased_on_the_trail(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let mut body = booking_with("marketing_sms", json!(true));
    body["email"] = json!("long.news@example.com");
    body["phone"] = json!("07700 900444");
    let reference = desk.book(&body, "optins-0001").await;
    let token = desk.sign_in().await;
    // Text messages withdrawn: a marker stays, with no number in it.
    let query = frontdesk_shared::rights::SubjectQuery::parse(
        Some("long.news@example.com"),
        Some("07700 900444"),
    )
    .unwrap();
    let admin = frontdesk_shared::desk::Staff {
        subject: "frontdesk-cli".into(),
        email: frontdesk_shared::booking::Email::parse("lead@clinic.example").unwrap(),
    };
    let withdrawn = frontdesk_shared::rights::marketing::withdraw(
        desk.app.store.marketing().as_ref(),
        desk.app.store.desk(&desk.app.clock).as_ref(),
        &frontdesk_tests::match_key(),
        &query,
        &[frontdesk_shared::rights::Channel::Sms],
        &admin,
        desk.app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(withdrawn.removed.len(), 1);
    // The booking's retention ends; its opt-in to news by email does not.
    desk.app
        .store
        .end_retention(desk.app.clock.now() + time::Duration::days(400))
        .await;
    assert!(desk.app.booking(&reference).await.is_none());
    let person = json!({"email": "long.news@example.com", "phone": "07700 900444"});
    let found = desk.rights("find", &token, person.clone()).await.json();
    assert_eq!(found["bookings"], json!([]));
    assert_eq!(found["opt_ins"].as_array().unwrap().len(), 1);

    // Exported: the opt-in, and its export on the trail under its booking.
    let exported = desk.rights("export", &token, person.clone()).await;
    assert_eq!(exported.status, StatusCode::OK);
    let document: Value = serde_json::from_str(exported.json()["json"].as_str().unwrap()).unwrap();
    assert_eq!(document["bookings"], json!([]));
    assert_eq!(document["marketing"][0]["address"], "long.news@example.com");
    let actions = trail_actions(&desk, &token).await;
    assert!(
        actions.contains(&("exported".to_owned(), Some(reference.clone()))),
        "{actions:?}"
    );

    // Erased: the opt-in and the withdrawn marker, on the trail.
    let erased = desk
        .rights(
            "erase",
            &token,
            json!({
                "email": "long.news@example.com",
                "phone": "07700 900444",
                "references": [],
                "confirm": "long.news@example.com",
                "reason": "Erasure requested by the person",
            }),
        )
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    assert_eq!(erased.json()["opt_ins_removed"], 1);
    let actions = trail_actions(&desk, &token).await;
    assert!(
        actions.contains(&("marketing_erased".to_owned(), Some(reference.clone()))),
        "{actions:?}"
    );
    if let frontdesk_tests::StoreHandle::Dynamo(tables) = &desk.app.store {
        assert_eq!(
            tables.all_items(&tables.marketing).await.len(),
            0,
            "no entry, and no marker, is left"
        );
    }
    // With the marker gone, the form may opt the number in again: a
    // withdrawal kept would have refused it.
    let mut again = body.clone();
    again["message"] = json!("Booking again after the erasure.");
    desk.book(&again, "optins-0002").await;
    let found = desk.rights("find", &token, person).await.json();
    let channels: Vec<&str> = found["opt_ins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["email", "sms"], "{found}");
}

async fn an_erasure_that_stops_part_way_says_what_it_did_and_what_is_left(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let first = desk.book(&valid_booking(), "partway-0001").await;
    desk.app.clock.advance(time::Duration::minutes(5));
    let mut later = booking_with("message", json!("A later question."));
    later["preferred_times"] = json!("Evenings");
    let second = desk.book(&later, "partway-0002").await;
    // The notifier is sending the later booking's acknowledgement just now.
    let ledger = desk.app.store.ledger();
    let claimed = |reference: &str| frontdesk_shared::booking::Reference::parse(reference).unwrap();
    ledger
        .claim(
            &claimed(&second),
            frontdesk_shared::notify::Notice::Patient,
            &frontdesk_shared::notify::ClaimToken::new(),
            desk.app.clock.now(),
            desk.app.clock.now() + time::Duration::minutes(10),
        )
        .await
        .unwrap();
    let token = desk.sign_in().await;
    let person = json!({ "email": "fixture.patient@example.com" });
    let found = desk.rights("find", &token, person).await;
    assert_eq!(
        shown(&found),
        vec![first.clone(), second.clone()],
        "oldest first"
    );
    let erase = json!({
        "email": "fixture.patient@example.com",
        "references": [first, second],
        "confirm": "fixture.patient@example.com",
        "reason": "Erasure requested by the patient",
    });
    let partly = desk.rights("erase", &token, erase).await;
    assert_eq!(partly.status, StatusCode::OK, "{:?}", partly.body);
    let report = partly.json();
    assert_eq!(report["erased"], json!([first]), "what it did, reported");
    assert_eq!(report["stopped"]["at"], second.as_str());
    assert_eq!(report["stopped"]["left"], 1);
    assert!(report["stopped"]["detail"]
        .as_str()
        .unwrap()
        .contains("search again"));
    assert_eq!(report["still_held"], json!([second]));
    assert_eq!(personal(&partly.body), None);
    assert!(desk.app.booking(&second).await.is_some(), "left whole");
    // Searched again once the email is sent, the rest is erased.
    ledger
        .mark_sent(
            &claimed(&second),
            frontdesk_shared::notify::Notice::Patient,
            "m-1",
            desk.app.clock.now(),
        )
        .await
        .unwrap();
    let rest = desk
        .rights(
            "erase",
            &token,
            json!({
                "email": "fixture.patient@example.com",
                "references": [second],
                "confirm": "fixture.patient@example.com",
                "reason": "Erasure requested by the patient",
            }),
        )
        .await;
    assert_eq!(rest.status, StatusCode::OK, "{:?}", rest.body);
    assert_eq!(rest.json()["erased"], json!([second]));
    assert_eq!(rest.json()["still_held"], json!([]));
    assert_eq!(desk.app.store.count().await, 0);
}

async fn withdrawn_markers_go_with_an_erasure_but_not_while_a_booking_that_ticked_remains(
    backend: Backend,
) {
    let mut desk = Desk::spawn(backend).await;
    let token = desk.sign_in().await;
    let ticked = |email: &str, phone: &str, message: &str| {
        let mut body = booking_with("marketing_sms", json!(true));
        body["email"] = json!(email);
        body["phone"] = json!(phone);
        body["message"] = json!(message);
        body
    };
    // Withdraws both channels of the person `email` and `phone` name.
    let withdraw_both = |email: &'static str, phone: &'static str| {
        let (register, store) = (
            desk.app.store.marketing(),
            desk.app.store.desk(&desk.app.clock),
        );
        let now = desk.app.clock.now();
        async move {
            let query =
                frontdesk_shared::rights::SubjectQuery::parse(Some(email), Some(phone)).unwrap();
            let admin = frontdesk_shared::desk::Staff {
                subject: "frontdesk-cli".into(),
                email: frontdesk_shared::booking::Email::parse("lead@clinic.example").unwrap(),
            };
            let done = frontdesk_shared::rights::marketing::withdraw(
                register.as_ref(),
                store.as_ref(),
                &frontdesk_tests::match_key(),
                &query,
                &frontdesk_shared::rights::Channel::ALL,
                &admin,
                now,
            )
            .await
            .unwrap();
            assert_eq!(done.removed.len(), 2);
        }
    };
    let erase_by_email = |email: &str, references: Vec<String>| {
        json!({
            "email": email,
            "references": references,
            "confirm": email,
            "reason": "Erasure requested by the person",
        })
    };

    // Erased by the email alone: the marker under the email goes whole,
    // and the one under the phone, which came with the erased booking.
    let first = desk
        .book(
            &ticked("mara@example.com", "07700 900661", "One"),
            "markers-0001",
        )
        .await;
    withdraw_both("mara@example.com", "07700 900661").await;
    let done = desk
        .rights(
            "erase",
            &token,
            erase_by_email("mara@example.com", vec![first]),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.body);
    assert_eq!(done.json()["stopped"], Value::Null);
    desk.book(
        &ticked("mara@example.com", "07700 900661", "Two"),
        "markers-0002",
    )
    .await;
    assert_eq!(
        live_opt_ins(&desk, &token, "mara@example.com", "07700 900661").await,
        ["email", "sms"],
        "no marker is left to refuse the form's boxes"
    );

    // Stopped at a later booking that ticked the boxes: the markers stay,
    // or repairing the register from that booking would undo them.
    let earlier = desk
        .book(
            &ticked("nell@example.com", "07700 900662", "One"),
            "markers-0003",
        )
        .await;
    withdraw_both("nell@example.com", "07700 900662").await;
    desk.app.clock.advance(time::Duration::minutes(5));
    let later = desk
        .book(
            &ticked("nell@example.com", "07700 900662", "Two"),
            "markers-0004",
        )
        .await;
    desk.app
        .store
        .ledger()
        .claim(
            &frontdesk_shared::booking::Reference::parse(&later).unwrap(),
            frontdesk_shared::notify::Notice::Patient,
            &frontdesk_shared::notify::ClaimToken::new(),
            desk.app.clock.now(),
            desk.app.clock.now() + time::Duration::minutes(10),
        )
        .await
        .unwrap();
    let stopped = desk
        .rights(
            "erase",
            &token,
            erase_by_email("nell@example.com", vec![earlier, later.clone()]),
        )
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{:?}", stopped.body);
    assert_eq!(stopped.json()["stopped"]["at"], later.as_str());
    desk.book(
        &ticked("nell@example.com", "07700 900662", "Three"),
        "markers-0005",
    )
    .await;
    assert_eq!(
        live_opt_ins(&desk, &token, "nell@example.com", "07700 900662").await,
        Vec::<String>::new(),
        "both withdrawals still hold"
    );
}

/// The channels of the live opt-ins a search by both identifiers finds.
async fn live_opt_ins(desk: &Desk, token: &str, email: &str, phone: &str) -> Vec<String> {
    let person = json!({ "email": email, "phone": phone });
    let found = desk.rights("find", token, person).await.json();
    let mut channels: Vec<String> = found["opt_ins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["channel"].as_str().unwrap().to_owned())
        .collect();
    channels.sort();
    channels
}
