//! The mail-events bootstrap as Lambda runs it: the real binary, a loopback
//! Lambda Runtime API handing it SES's events as EventBridge delivers them
//! (the shapes of SES's documentation), DynamoDB Local behind it through a
//! proxy that counts its requests.

use frontdesk_shared::booking::Reference;
use frontdesk_shared::notify::{ClaimToken, Notice};
use frontdesk_tests::lambda::Bootstrap;
use frontdesk_tests::proxy::CountingProxy;
use frontdesk_tests::ses::ses_event;
use frontdesk_tests::{dynamodb_endpoint, nth_booking, Backend, StoreHandle, TestApp};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ses_event_moves_its_emails_state_forward_once_with_one_update() {
    let app = TestApp::spawn(Backend::DynamoDb).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let booking = nth_booking(81);
    let answer = app.post_json(&booking).await;
    assert_eq!(answer.status, 201);
    let reference = answer.json()["reference"].as_str().unwrap().to_owned();
    let to = booking["email"].as_str().unwrap().to_owned();
    let ledger = app.store.ledger();
    let parsed = Reference::parse(&reference).unwrap();
    let now = app.clock.now();
    let mark_sent = |notice, id: &'static str| {
        let (ledger, parsed) = (ledger.clone(), parsed.clone());
        async move {
            ledger
                .claim(
                    &parsed,
                    notice,
                    &ClaimToken::new(),
                    now,
                    now + time::Duration::minutes(2),
                )
                .await
                .unwrap();
            ledger.mark_sent(&parsed, notice, id, now).await.unwrap();
        }
    };
    mark_sent(Notice::Staff, "0100018c-staff").await;

    let proxy = CountingProxy::start(&dynamodb_endpoint()).await;
    let endpoint = proxy.endpoint();
    let mut lambda = Bootstrap::start(
        env!("CARGO_BIN_EXE_mail-events"),
        "mail-events",
        &[
            ("BOOKINGS_TABLE", tables.bookings.as_str()),
            ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
        ],
    )
    .await;
    let state = |notice| {
        let store = app.store.clone();
        let reference = reference.clone();
        async move { store.notice(&reference, notice).await }
    };

    // In order, replayed, and out of order: the state only moves forward,
    // and each event costs one UpdateItem.
    for (n, (event_type, expected)) in [
        ("Send", "sent"),
        ("DeliveryDelay", "delayed"),
        ("Delivery", "delivered"),
        ("Delivery", "delivered"),
        ("DeliveryDelay", "delivered"),
        ("Send", "delivered"),
        ("Bounce", "bounced"),
        ("Complaint", "bounced"),
        ("Delivery", "bounced"),
    ]
    .into_iter()
    .enumerate()
    {
        proxy.take();
        let event = ses_event(event_type, "0100018c-staff", &reference, "staff", &to);
        lambda.invoke(&format!("staff-{n}"), event).await;
        assert_eq!(
            state(Notice::Staff).await.delivery.as_deref(),
            Some(expected),
            "after {event_type}"
        );
        let calls: Vec<String> = proxy.take().into_iter().map(|c| c.operation).collect();
        assert!(
            calls.first().map(String::as_str) == Some("UpdateItem") && calls.len() <= 2,
            "{event_type}: {calls:?}"
        );
        if expected == "sent" || (event_type == "Delivery" && n == 2) || event_type == "Bounce" {
            assert_eq!(calls, ["UpdateItem"], "an applied event is one UpdateItem");
        }
    }
    let staff = state(Notice::Staff).await;
    assert_eq!(staff.delivery_detail.as_deref(), Some("Permanent/General"));
    assert_eq!(
        staff.delivery_at.as_deref(),
        Some("2026-12-01T10:15:02.456Z")
    );

    // An event ahead of its sent mark is an error (Lambda tries it again),
    // and is applied once the mark exists.
    let early = ses_event("Delivery", "0100018c-patient", &reference, "patient", &to);
    assert!(lambda.invoke_either("early", early.clone()).await.is_err());
    assert_eq!(state(Notice::Patient).await.delivery, None);
    mark_sent(Notice::Patient, "0100018c-patient").await;
    lambda.invoke("early-again", early).await;
    assert_eq!(
        state(Notice::Patient).await.delivery.as_deref(),
        Some("delivered")
    );

    // Another message's event (a superseded send) changes nothing.
    let other = ses_event("Bounce", "0100018c-other", &reference, "patient", &to);
    lambda.invoke("other", other).await;
    assert_eq!(
        state(Notice::Patient).await.delivery.as_deref(),
        Some("delivered")
    );

    // Events frontdesk does not record, and mail without its tags, are ignored.
    lambda
        .invoke(
            "open",
            ses_event("Open", "0100018c-patient", &reference, "patient", &to),
        )
        .await;
    let mut untagged = ses_event("Bounce", "0100018c-patient", &reference, "patient", &to);
    untagged["detail"]["mail"]["tags"] = json!({ "ses:configuration-set": ["frontdesk-test"] });
    lambda.invoke("untagged", untagged).await;
    assert_eq!(
        state(Notice::Patient).await.delivery.as_deref(),
        Some("delivered")
    );

    // The fallback notice is tagged and recorded like the others; SES's
    // Reject (a virus found after it accepted the email) ends it.
    mark_sent(Notice::StaffFallback, "0100018c-fallback").await;
    let reject = ses_event("Reject", "0100018c-fallback", &reference, "fallback", &to);
    lambda.invoke("fallback-reject", reject).await;
    let fallback = state(Notice::StaffFallback).await;
    assert_eq!(fallback.delivery.as_deref(), Some("rejected"));
    assert_eq!(fallback.delivery_detail.as_deref(), Some("Bad content"));

    // Malformed events are errors for the failure queue, and change nothing.
    for (n, malformed) in [
        json!({ "detail": { "eventType": "Bounce" } }),
        json!({ "detail-type": "Email Bounced", "detail": "not an object" }),
        json!([1, 2, 3]),
        {
            let mut bad_time = ses_event("Bounce", "0100018c-patient", &reference, "patient", &to);
            bad_time["detail"]["bounce"]["timestamp"] = json!("yesterday");
            bad_time
        },
    ]
    .into_iter()
    .enumerate()
    {
        let error = lambda
            .invoke_either(&format!("malformed-{n}"), malformed)
            .await;
        assert!(error.is_err(), "{error:?}");
    }
    let patient = state(Notice::Patient).await;
    assert_eq!(patient.delivery.as_deref(), Some("delivered"));
    assert_eq!(patient.delivery_detail, None);
}

#[test]
fn the_template_routes_ses_events_from_both_configuration_sets_to_the_function() {
    let template: serde_norway::Value =
        serde_norway::from_str(frontdesk_cli::tables::TEMPLATE).unwrap();
    let resources = &template["Resources"];
    let target = |value: &serde_norway::Value| match value {
        serde_norway::Value::Tagged(tagged) => tagged.value.as_str().unwrap_or_default().to_owned(),
        other => format!("{other:?}"),
    };
    let mut destination_sets = Vec::new();
    for id in ["MailEventsDestination", "StaffMailEventsDestination"] {
        let properties = &resources[id]["Properties"];
        destination_sets.push(target(&properties["ConfigurationSetName"]));
        let destination = &properties["EventDestination"];
        let mut types: Vec<&str> = destination["MatchingEventTypes"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|t| t.as_str())
            .collect();
        types.sort_unstable();
        assert_eq!(
            types,
            [
                "BOUNCE",
                "COMPLAINT",
                "DELIVERY",
                "DELIVERY_DELAY",
                "REJECT",
                "SEND"
            ],
            "{id}"
        );
        assert!(!destination["EventBridgeDestination"]["EventBusArn"].is_null());
    }
    destination_sets.sort();
    assert_eq!(
        destination_sets,
        ["MailConfigurationSet", "StaffMailConfigurationSet"]
    );
    let rule = &resources["MailEventsFunction"]["Properties"]["Events"]["SesEvents"];
    assert_eq!(rule["Type"].as_str(), Some("EventBridgeRule"));
    let pattern = &rule["Properties"]["Pattern"];
    assert_eq!(pattern["source"][0].as_str(), Some("aws.ses"));
    let mut sets: Vec<String> = pattern["detail"]["mail"]["tags"]["ses:configuration-set"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(target)
        .collect();
    sets.sort();
    assert_eq!(sets, destination_sets, "the rule takes both sets' events");

    // The patient set keeps suppression; the staff set suppresses nothing
    // (an empty list, not a missing one, which means the account's list).
    let suppressed = |id: &str| -> Option<Vec<String>> {
        resources[id]["Properties"]["SuppressionOptions"]["SuppressedReasons"]
            .as_sequence()
            .map(|reasons| {
                reasons
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
    };
    assert_eq!(
        suppressed("MailConfigurationSet").unwrap(),
        ["BOUNCE", "COMPLAINT"]
    );
    assert_eq!(suppressed("StaffMailConfigurationSet"), Some(Vec::new()));
    // The identity's default stays the patient set.
    assert_eq!(
        target(
            &resources["MailIdentity"]["Properties"]["ConfigurationSetAttributes"]
                ["ConfigurationSetName"]
        ),
        "MailConfigurationSet"
    );
}
