//! The desk bootstrap as Lambda runs it: the real binary, a loopback Lambda
//! Runtime API handing it API Gateway HTTP API events with the JWT
//! authorizer's claims as API Gateway passes them, DynamoDB Local behind it.

use frontdesk_tests::lambda::{Bootstrap, HttpEvent};
use frontdesk_tests::{valid_booking, Backend, StoreHandle, TestApp};
use serde_json::Value;

const CLIENT: &str = "deskclient123";

/// An ID token's claims for `email` in `groups` (`[admin staff]`).
fn claims<'a>(email: &'a str, groups: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("sub", "5f1c2e0a-0000-4000-8000-000000000001"),
        ("email", email),
        ("cognito:groups", groups),
        ("token_use", "id"),
        ("email_verified", "true"),
        ("aud", CLIENT),
        (
            "iss",
            "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Fixture",
        ),
    ]
}

async fn bootstrap(app: &TestApp) -> Bootstrap {
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    // The template gives both desk functions the same settings: the rights
    // function's tables and the match key's secret, read when first needed.
    let secret = frontdesk_tests::secrets::match_key_secret().await;
    Bootstrap::start(
        env!("CARGO_BIN_EXE_desk"),
        "desk",
        &[
            ("BOOKINGS_TABLE", tables.bookings.as_str()),
            ("AUDIT_TABLE", tables.audit.as_str()),
            ("GUARDS_TABLE", tables.guards.as_str()),
            ("MARKETING_TABLE", tables.marketing.as_str()),
            ("MATCH_KEY_SECRET", secret.as_str()),
            ("DESK_CLIENT_ID", CLIENT),
            (
                "DESK_SIGN_IN_URL",
                "https://desk-fixture.auth.eu-west-2.amazoncognito.com",
            ),
        ],
    )
    .await
}

fn event(method: &str, path: &str, body: Option<&str>) -> HttpEvent<'static> {
    let (method, path, body) = (
        Box::leak(method.to_owned().into_boxed_str()),
        Box::leak(path.to_owned().into_boxed_str()),
        body.map(|b| &*Box::leak(b.to_owned().into_boxed_str())),
    );
    HttpEvent {
        method,
        path,
        query: "",
        headers: &[("content-type", "application/json")],
        body: body.map(|b| (b, false)),
        source_ip: "192.0.2.10",
    }
}

fn body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_in_lambda_knows_callers_only_by_the_authorizers_claims() {
    let app = TestApp::spawn(Backend::DynamoDb).await;
    let booked = app
        .post_json_with_key(&valid_booking(), "lambda-desk-1")
        .await;
    let reference = booked.json()["reference"].as_str().unwrap().to_owned();
    let mut lambda = bootstrap(&app).await;
    let request = format!("/v1/desk/requests/{reference}");
    let routes = [
        ("GET", "/v1/desk/inbox".to_owned()),
        ("GET", request.clone()),
        ("POST", format!("{request}/moves")),
        ("GET", format!("{request}/audit")),
        ("GET", "/v1/desk/audit".to_owned()),
        ("POST", "/v1/desk/sign-in".to_owned()),
        ("POST", "/v1/desk/sign-out".to_owned()),
    ];
    let move_body = r#"{"version":0,"from":"new","to":"contacted"}"#;
    let mut n = 0;
    let mut next_id = || {
        n += 1;
        format!("req-{n}")
    };

    // No claims (as if a route had no authorizer), and claims of a token
    // that is not the desk's: 401, and nothing personal in the answer.
    let foreign = [
        ("sub", "x"),
        ("email", "x@example.com"),
        ("token_use", "access"),
        ("aud", CLIENT),
    ];
    for (method, path) in &routes {
        let body_text = (*method == "POST").then_some(move_body);
        for answer in [
            lambda
                .invoke(&next_id(), event(method, path, body_text).json(&next_id()))
                .await,
            lambda
                .invoke(
                    &next_id(),
                    event(method, path, body_text).json_with_claims(&next_id(), &foreign),
                )
                .await,
        ] {
            assert_eq!(answer["statusCode"], 401, "{method} {path}: {answer}");
            let text = answer["body"].as_str().unwrap_or_default();
            assert!(
                !text.contains("Fixture") && !text.contains("fixture.patient"),
                "{text}"
            );
            assert_eq!(answer["headers"]["cache-control"], "no-store");
        }
    }
    // Signed in but in no desk group: 403.
    let outsider = claims("temp@clinic.example", "[]");
    let answer = lambda
        .invoke(
            &next_id(),
            event("GET", "/v1/desk/inbox", None).json_with_claims(&next_id(), &outsider),
        )
        .await;
    assert_eq!(answer["statusCode"], 403, "{answer}");

    // Staff: the inbox and the request, not the audit trail.
    let staff = claims("nurse@clinic.example", "[staff]");
    let inbox = lambda
        .invoke(
            &next_id(),
            event("GET", "/v1/desk/inbox", None).json_with_claims(&next_id(), &staff),
        )
        .await;
    assert_eq!(inbox["statusCode"], 200, "{inbox}");
    assert_eq!(body(&inbox)["rows"][0]["reference"], reference.as_str());
    let page = lambda
        .invoke(
            &next_id(),
            event("GET", &request, None).json_with_claims(&next_id(), &staff),
        )
        .await;
    assert_eq!(page["statusCode"], 200, "{page}");
    for admin_only in [format!("{request}/audit"), "/v1/desk/audit".to_owned()] {
        let answer = lambda
            .invoke(
                &next_id(),
                event("GET", &admin_only, None).json_with_claims(&next_id(), &staff),
            )
            .await;
        assert_eq!(answer["statusCode"], 403, "{admin_only}: {answer}");
        let text = answer["body"].as_str().unwrap_or_default();
        assert!(
            !text.contains("Fixture") && !text.contains("nurse@"),
            "{text}"
        );
    }

    // An admin (`[admin staff]`, as API Gateway flattens the array) sees
    // who looked: the staff member, by subject and email.
    let admin = claims("lead@clinic.example", "[admin staff]");
    let trail = lambda
        .invoke(
            &next_id(),
            event("GET", &format!("{request}/audit"), None).json_with_claims(&next_id(), &admin),
        )
        .await;
    assert_eq!(trail["statusCode"], 200, "{trail}");
    let entries = body(&trail)["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["by"], "nurse@clinic.example");
    assert_eq!(entries[0]["action"], "viewed");

    // A person's data: staff are refused; an admin finds the booking under
    // the match key the function reads from its secret on this first search.
    let person = r#"{"email":"fixture.patient@example.com"}"#;
    let refused = lambda
        .invoke(
            &next_id(),
            event("POST", "/v1/desk/subjects/find", Some(person))
                .json_with_claims(&next_id(), &staff),
        )
        .await;
    assert_eq!(refused["statusCode"], 403, "{refused}");
    let found = lambda
        .invoke(
            &next_id(),
            event("POST", "/v1/desk/subjects/find", Some(person))
                .json_with_claims(&next_id(), &admin),
        )
        .await;
    assert_eq!(found["statusCode"], 200, "{found}");
    assert_eq!(body(&found)["bookings"][0]["reference"], reference.as_str());
}
