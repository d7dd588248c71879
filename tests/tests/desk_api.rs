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
    a_hostile_message_comes_back_as_the_text_it_was,
    signing_out_ends_the_session,
    an_erased_request_says_when_and_why_and_nothing_else,
);

/// Every route of the desk's API, as a method and an example path.
const ROUTES: [(&str, &str); 7] = [
    ("GET", "/v1/desk/inbox"),
    ("GET", "/v1/desk/requests/CCL-AAAA-2222"),
    ("POST", "/v1/desk/requests/CCL-AAAA-2222/moves"),
    ("GET", "/v1/desk/requests/CCL-AAAA-2222/audit"),
    ("GET", "/v1/desk/audit"),
    ("POST", "/v1/desk/sign-in"),
    ("POST", "/v1/desk/sign-out"),
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

    let page = desk
        .call(
            "GET",
            &format!("/v1/desk/requests/{reference}"),
            Some(&token),
            None,
        )
        .await;
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
    let request = desk
        .call(
            "GET",
            &format!("/v1/desk/requests/{reference}"),
            Some(&token),
            None,
        )
        .await
        .json();
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
            json!({"version": 1, "from": "contacted", "to": "booked", "appointment": {"date": "2027-03-28", "time": "01:30", "place": "Parkside"}}),
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
    let request = desk
        .call(
            "GET",
            &format!("/v1/desk/requests/{reference}"),
            Some(&token),
            None,
        )
        .await
        .json();
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

async fn a_hostile_message_comes_back_as_the_text_it_was(backend: Backend) {
    let mut desk = Desk::spawn(backend).await;
    let hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    let reference = desk
        .book(&booking_with("message", json!(hostile)), "hostile-0001")
        .await;
    let token = desk.sign_in().await;
    let answer = desk
        .call(
            "GET",
            &format!("/v1/desk/requests/{reference}"),
            Some(&token),
            None,
        )
        .await;
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
    let claims: std::collections::HashMap<String, String> = claims
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let state = frontdesk_desk::AppState::new(
        app.store.desk(&app.clock),
        std::sync::Arc::new(frontdesk_shared::content::cache::Fixed(
            std::sync::Arc::new(frontdesk_shared::desk::Consultants::default()),
        )),
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
    let get = |router: Router, path: String| async move {
        let response = router
            .oneshot(Request::get(&path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, body)
    };
    for path in [
        format!("/v1/desk/requests/{reference}/audit"),
        "/v1/desk/audit".to_owned(),
    ] {
        let (status, body) = get(with_claims(&app, &staff), path.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(personal(&body), None, "{path}");
    }
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
    let answer = desk
        .call(
            "GET",
            &format!("/v1/desk/requests/{reference}"),
            Some(&token),
            None,
        )
        .await;
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
