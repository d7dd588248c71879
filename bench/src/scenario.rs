//! What each bootstrap is handed: its settings, its events (cold starts
//! first, as a booking or stream record is only new once), what a good
//! answer looks like, and the proxy that counts its DynamoDB requests.

use aws_lambda_events::event::dynamodb::Event;
use frontdesk_tests::content::ContentHandle;
use frontdesk_tests::lambda::HttpEvent;
use frontdesk_tests::proxy::CountingProxy;
use frontdesk_tests::ses::ses_endpoint;
use frontdesk_tests::stream::StreamReader;
use frontdesk_tests::{
    booking_with, dynamodb_endpoint, nth_booking, Backend, DynamoTables, StoreHandle, TestApp,
};
use serde_json::Value;

/// One bootstrap's run.
pub struct Scenario {
    /// The scenario's name in the report.
    pub name: &'static str,
    /// The binary's name under the bootstraps folder.
    pub binary: &'static str,
    /// Its environment, beyond the Runtime API's.
    pub vars: Vec<(&'static str, String)>,
    /// One event per invocation.
    pub events: Vec<Value>,
    /// Events it must refuse (422) without a DynamoDB request.
    pub rejected: Vec<Value>,
    /// Whether an answer is the one expected.
    pub check: fn(&Value) -> bool,
    /// The services it calls, by name (`DynamoDB`, `SES`), each through a
    /// proxy that counts and times its requests.
    pub services: Vec<(&'static str, CountingProxy)>,
}

/// An HTTP API event with a JSON body (or none).
pub fn http_event(id: usize, method: &str, path: &str, body: Option<&str>) -> Value {
    let headers: &[(&str, &str)] = &[("content-type", "application/json")];
    HttpEvent {
        method,
        path,
        query: "",
        headers,
        body: body.map(|b| (b, false)),
        source_ip: "192.0.2.10",
    }
    .json(&format!("bench-{id}"))
}

/// The bare bootstrap: any request, a constant answer.
pub fn baseline(count: usize) -> Scenario {
    Scenario {
        name: "baseline",
        binary: "baseline",
        vars: Vec::new(),
        events: (0..count)
            .map(|n| http_event(n, "GET", "/", None))
            .collect(),
        rejected: Vec::new(),
        check: |answer| answer["statusCode"] == 200,
        services: Vec::new(),
    }
}

/// A booking as the site's script sends it: JSON with a key of its own.
fn booking_event(id: usize, body: &str) -> Value {
    let key = format!("bench-key-{id}");
    HttpEvent {
        method: "POST",
        path: "/v1/bookings",
        query: "",
        headers: &[
            ("content-type", "application/json"),
            ("idempotency-key", &key),
            ("origin", frontdesk_tests::SITE_ORIGIN),
        ],
        body: Some((body, false)),
        source_ip: "192.0.2.10",
    }
    .json(&format!("bench-{id}"))
}

/// Distinct valid bookings, each accepted once.
pub async fn booking(count: usize) -> Scenario {
    let tables = DynamoTables::create().await;
    // The bookable specialties are the published conditions: one read of
    // the content table on the first booking of a container.
    let content = ContentHandle::published(Backend::DynamoDb).await;
    let proxy = CountingProxy::start(&dynamodb_endpoint()).await;
    // The match key, read in the background from the start, from Secrets
    // Manager (moto here) through a proxy of its own: the first booking
    // waits for it, and the time the bootstrap spent working while it was
    // out (its init, the event's parse) is not counted as waiting.
    let secret = frontdesk_tests::secrets::match_key_secret().await;
    let secrets = CountingProxy::start(
        &std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER")
            .expect("scripts/bench starts moto for Secrets Manager"),
    )
    .await;
    Scenario {
        name: "booking",
        binary: "booking",
        vars: vec![
            ("BOOKINGS_TABLE", tables.bookings.clone()),
            ("GUARDS_TABLE", tables.guards.clone()),
            ("MARKETING_TABLE", tables.marketing.clone()),
            (
                "CONTENT_TABLE",
                content.table().expect("a DynamoDB table").to_owned(),
            ),
            ("RATE_LIMIT_PER_HOUR", "0".into()),
            ("MATCH_KEY_SECRET", secret),
            ("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint()),
        ],
        events: (0..count)
            .map(|n| booking_event(n, &nth_booking(n).to_string()))
            .collect(),
        rejected: (0..20)
            .map(|n| {
                let body = booking_with("email", Value::from("not an email")).to_string();
                booking_event(count + n, &body)
            })
            .collect(),
        check: |answer| answer["statusCode"] == 201,
        services: vec![("DynamoDB", proxy), ("Secrets Manager", secrets)],
    }
}

/// The neuroendocrine tumours page, over and over.
pub async fn content(count: usize) -> Scenario {
    let store = ContentHandle::published(Backend::DynamoDb).await;
    let table = store.table().expect("a DynamoDB content table");
    let proxy = CountingProxy::start(&dynamodb_endpoint()).await;
    Scenario {
        name: "content",
        binary: "content",
        vars: vec![
            ("CONTENT_TABLE", table.to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()),
        ],
        events: (0..count)
            .map(|n| http_event(n, "GET", "/v1/conditions/neuroendocrine-tumours", None))
            .collect(),
        rejected: Vec::new(),
        check: |answer| answer["statusCode"] == 200,
        services: vec![("DynamoDB", proxy)],
    }
}

/// Real bookings, stored by the booking code and read back from the
/// table's stream: one INSERT record per invocation, as Lambda would.
pub async fn notifier(count: usize) -> Scenario {
    let app = TestApp::with_env(Backend::DynamoDb, &[("RATE_LIMIT_PER_HOUR", "0")]).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let mut stream = StreamReader::open(&tables.inspect, &tables.bookings).await;
    for n in 0..count {
        let answer = app.post_json(&nth_booking(n)).await;
        assert_eq!(answer.status, 201, "booking {n}: {:?}", answer.body);
    }
    let records = stream.next_inserts(count).await.records;
    let events = records
        .into_iter()
        .map(|record| {
            let mut event = Event::default();
            event.records = vec![record];
            serde_json::to_value(&event).expect("an event")
        })
        .collect();
    // The clinic's name and phone: one read of the content table on the
    // first notification of a container.
    let content = ContentHandle::published(Backend::DynamoDb).await;
    let proxy = CountingProxy::start(&dynamodb_endpoint()).await;
    let ses = CountingProxy::start(&ses_endpoint()).await;
    Scenario {
        name: "notifier",
        binary: "notifier",
        vars: vec![
            ("BOOKINGS_TABLE", tables.bookings.clone()),
            ("GUARDS_TABLE", tables.guards.clone()),
            ("MARKETING_TABLE", tables.marketing.clone()),
            (
                "CONTENT_TABLE",
                content.table().expect("a DynamoDB table").to_owned(),
            ),
            ("MAIL_FROM", "frontdesk@clinic.example".into()),
            ("STAFF_INBOX", "staff@clinic.example".into()),
            ("DESK_URL", "https://desk.clinic.example".into()),
            // Every acknowledgement sent, each counted under the ceiling:
            // the default of 100 an hour would withhold the later ones.
            ("ACKNOWLEDGEMENTS_PER_HOUR", "100000".into()),
            ("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()),
            ("AWS_ENDPOINT_URL_SESV2", ses.endpoint()),
        ],
        events,
        rejected: Vec::new(),
        check: |answer| {
            answer["batchItemFailures"]
                .as_array()
                .is_some_and(|failures| failures.is_empty())
        },
        services: vec![("DynamoDB", proxy), ("SES", ses)],
    }
}

/// Bookings whose staff email was sent, and one SES `Delivery` event for
/// each, as EventBridge delivers them: every event is applied once.
pub async fn mail_events(count: usize) -> Scenario {
    use frontdesk_shared::booking::Reference;
    use frontdesk_shared::notify::{ClaimToken, Notice};
    let app = TestApp::with_env(Backend::DynamoDb, &[("RATE_LIMIT_PER_HOUR", "0")]).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let ledger = app.store.ledger();
    let now = app.clock.now();
    let mut events = Vec::with_capacity(count);
    for n in 0..count {
        let answer = app.post_json(&nth_booking(n)).await;
        assert_eq!(answer.status, 201, "booking {n}: {:?}", answer.body);
        let reference = answer.json()["reference"]
            .as_str()
            .expect("a reference")
            .to_owned();
        let parsed = Reference::parse(&reference).expect("a reference");
        let id = format!("0100018c-bench-{n}");
        ledger
            .claim(
                &parsed,
                Notice::Staff,
                &ClaimToken::new(),
                now,
                now + time::Duration::minutes(2),
            )
            .await
            .expect("a claim");
        ledger
            .mark_sent(&parsed, Notice::Staff, &id, now)
            .await
            .expect("a sent mark");
        events.push(frontdesk_tests::ses::ses_event(
            "Delivery",
            &id,
            &reference,
            "staff",
            "fixture.bench@example.com",
        ));
    }
    let proxy = CountingProxy::start(&dynamodb_endpoint()).await;
    Scenario {
        name: "mail-events",
        binary: "mail-events",
        vars: vec![
            ("BOOKINGS_TABLE", tables.bookings.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()),
        ],
        events,
        rejected: Vec::new(),
        // The function answers null on success.
        check: |answer| answer.is_null(),
        services: vec![("DynamoDB", proxy)],
    }
}

/// An ID token's claims as the desk's JWT authorizer passes them.
const DESK_CLAIMS: [(&str, &str); 6] = [
    ("sub", "5f1c2e0a-bench"),
    ("email", "nurse@clinic.example"),
    ("cognito:groups", "[staff]"),
    ("token_use", "id"),
    ("email_verified", "true"),
    ("aud", "benchclient"),
];

/// Sixty requests in the desk's inbox, and the desk's settings over them.
async fn desk_tables() -> (TestApp, Vec<String>, Vec<(&'static str, String)>) {
    let app = TestApp::with_env(Backend::DynamoDb, &[("RATE_LIMIT_PER_HOUR", "0")]).await;
    let mut references = Vec::new();
    for n in 0..60 {
        let answer = app.post_json(&nth_booking(10_000 + n)).await;
        assert_eq!(answer.status, 201, "booking {n}: {:?}", answer.body);
        references.push(
            answer.json()["reference"]
                .as_str()
                .expect("a reference")
                .to_owned(),
        );
    }
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let vars = vec![
        ("BOOKINGS_TABLE", tables.bookings.clone()),
        ("AUDIT_TABLE", tables.audit.clone()),
        ("DESK_CLIENT_ID", "benchclient".into()),
        (
            "DESK_SIGN_IN_URL",
            "https://desk-bench.auth.eu-west-2.amazoncognito.com".into(),
        ),
        // Read only when an admin searches for a person, which no event
        // here does: the secret need not exist.
        ("MATCH_KEY_SECRET", "frontdesk-bench-match-key".into()),
    ];
    (app, references, vars)
}

fn desk_event(id: usize, path: &str, query: &str) -> Value {
    HttpEvent {
        method: "GET",
        path,
        query,
        headers: &[("accept", "application/json")],
        body: None,
        source_ip: "192.0.2.10",
    }
    .json_with_claims(&format!("bench-{id}"), &DESK_CLAIMS)
}

/// Request pages opened by a signed-in member of staff: each audited
/// (one `PutItem`) and read (one `GetItem`).
pub async fn desk(count: usize) -> Scenario {
    let (_app, references, mut vars) = desk_tables().await;
    let proxy = CountingProxy::start(&dynamodb_endpoint()).await;
    vars.push(("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()));
    Scenario {
        name: "desk",
        binary: "desk",
        vars,
        events: (0..count)
            .map(|n| {
                let path = format!("/v1/desk/requests/{}", references[n % references.len()]);
                desk_event(n, &path, "")
            })
            .collect(),
        rejected: Vec::new(),
        check: |answer| answer["statusCode"] == 200,
        services: vec![("DynamoDB", proxy)],
    }
}

/// Inbox pages of 50 new requests: one `Query` of the inbox index each.
pub async fn desk_inbox(count: usize) -> Scenario {
    let (_app, _, mut vars) = desk_tables().await;
    let proxy = CountingProxy::start(&dynamodb_endpoint()).await;
    vars.push(("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()));
    Scenario {
        name: "desk-inbox",
        binary: "desk",
        vars,
        events: (0..count)
            .map(|n| desk_event(n, "/v1/desk/inbox", "state=new&limit=50"))
            .collect(),
        rejected: Vec::new(),
        check: |answer| {
            answer["statusCode"] == 200
                && serde_json::from_str::<Value>(answer["body"].as_str().unwrap_or(""))
                    .is_ok_and(|page| page["rows"].as_array().is_some_and(|rows| rows.len() == 50))
        },
        services: vec![("DynamoDB", proxy)],
    }
}
