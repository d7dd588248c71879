//! The notifier end to end: a booking posted to the real booking API over
//! DynamoDB Local, its record read from the table's stream through the
//! DynamoDB Streams API, handed to the handler, and the emails looked up in
//! the SES v2 emulator.

use aws_lambda_events::event::dynamodb::Event;
use frontdesk_notifier::handle;
use frontdesk_shared::notify::{Notice, Notifier};
use frontdesk_tests::notifier::{
    notifier_over, ses_mailer, DESK_URL, MAIL_FROM, NET_INBOX, STAFF_INBOX,
};
use frontdesk_tests::ses::{
    emails, rejecting_proxy, ses_endpoint, Fault, FaultProxy, SesEmulator, StoredEmail,
    SENDING_PAUSED,
};
use frontdesk_tests::stream::StreamReader;
use frontdesk_tests::{booking_with, nth_booking, valid_booking, Backend, StoreHandle, TestApp};
use serde_json::{json, Value};
use std::sync::Arc;

const PATIENT: &str = "fixture.patient@example.com";

struct Setup {
    app: TestApp,
    stream: StreamReader,
}

impl Setup {
    async fn new() -> Self {
        let app = TestApp::spawn(Backend::DynamoDb).await;
        let StoreHandle::Dynamo(tables) = &app.store else {
            unreachable!("a DynamoDB app")
        };
        let stream = StreamReader::open(&tables.inspect, &tables.bookings).await;
        Self { app, stream }
    }

    /// Posts a booking and returns its reference.
    async fn book(&self, body: &Value) -> String {
        let answer = self.app.post_json(body).await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        answer.json()["reference"]
            .as_str()
            .expect("a reference")
            .to_owned()
    }

    async fn notifier(&self, endpoint: &str) -> Notifier {
        self.notifier_with(endpoint, &[]).await
    }

    async fn notifier_with(&self, endpoint: &str, vars: &[(&str, &str)]) -> Notifier {
        notifier_over(
            &self.app.store,
            Arc::new(ses_mailer(endpoint).await),
            vars,
            self.app.clock.clock(),
        )
    }

    async fn item(
        &self,
        reference: &str,
    ) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        let StoreHandle::Dynamo(tables) = &self.app.store else {
            unreachable!()
        };
        tables.item(reference).await.expect("the booking")
    }
}

fn failures(response: &aws_lambda_events::event::streams::DynamoDbEventResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().expect("a sequence number"))
        .collect()
}

fn sequence_numbers(event: &Event) -> Vec<String> {
    event
        .records
        .iter()
        .map(|r| r.change.sequence_number.clone().expect("a sequence number"))
        .collect()
}

fn split(found: &[StoredEmail]) -> (&StoredEmail, &StoredEmail) {
    assert_eq!(
        found.len(),
        2,
        "one staff and one patient email: {found:#?}"
    );
    let staff = found
        .iter()
        .find(|e| e.subject.starts_with("New appointment request"))
        .expect("a staff email");
    let patient = found
        .iter()
        .find(|e| e.subject.starts_with("Your appointment request"))
        .expect("a patient email");
    (staff, patient)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_staff_email_is_a_summary_routed_by_specialty() {
    let mut setup = Setup::new().await;
    let reference = setup.book(&valid_booking()).await;
    let event = setup.stream.next_event(1).await;
    let endpoint = ses_endpoint();
    let response = handle(&setup.notifier(&endpoint).await, event)
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    let found = emails(&endpoint, &reference).await;
    let (staff, _) = split(&found);
    assert_eq!(staff.to, [NET_INBOX], "routing by specialty stays");
    assert_eq!(staff.reply_to, [NET_INBOX], "never the patient");
    assert!(staff
        .text
        .contains(&format!("{DESK_URL}/desk/requests/{reference}")));
    for detail in [
        "Fixture",
        "07700",
        "1970",
        "Neuroendocrine",
        "neuroendocrine",
        "FX-123456",
        PATIENT,
    ] {
        let all = format!(
            "{}{}{}{:?}{:?}",
            staff.subject, staff.text, staff.html, staff.to, staff.from
        );
        assert!(!all.contains(detail), "the summary holds {detail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_booking_sends_one_staff_and_one_patient_email() {
    let mut setup = Setup::new().await;
    let reference = setup.book(&valid_booking()).await;
    let event = setup.stream.next_event(1).await;
    assert_eq!(event.records[0].event_name, "INSERT");

    // For a clinic without the desk: the staff email holds every answer.
    let endpoint = ses_endpoint();
    let notifier = setup
        .notifier_with(&endpoint, &[("STAFF_EMAIL", "full")])
        .await;
    let response = handle(&notifier, event).await.unwrap();
    assert!(failures(&response).is_empty());

    let found = emails(&endpoint, &reference).await;
    let (staff, patient) = split(&found);
    assert_eq!(staff.to, [NET_INBOX], "routed by specialty");
    assert_eq!(staff.reply_to, [PATIENT]);
    assert_eq!(
        staff.subject,
        format!("New appointment request {reference}")
    );
    assert!(staff.from.contains(MAIL_FROM));
    for detail in [
        "07700 900123",
        "31 March 1970",
        "Neuroendocrine tumours",
        "Fixture message",
        "FX-123456",
    ] {
        assert!(staff.text.contains(detail), "staff text lacks {detail}");
        assert!(staff.html.contains(detail), "staff HTML lacks {detail}");
    }

    assert_eq!(patient.to, [PATIENT]);
    assert_eq!(patient.reply_to, [STAFF_INBOX]);
    assert_eq!(
        patient.subject,
        format!("Your appointment request {reference}")
    );
    assert!(patient.text.contains(&reference) && patient.text.contains("020 8247 3351"));
    for body in [&patient.text, &patient.html, &patient.subject] {
        let lower = body.to_lowercase();
        for secret in [
            "neuroendocrine",
            "tumour",
            "fixture message",
            "1970",
            "31 march",
            "fx-123456",
            "insur",
        ] {
            assert!(
                !lower.contains(secret),
                "the patient's email shows {secret:?}"
            );
        }
    }
    let staff_state = setup.app.store.notice(&reference, Notice::Staff).await;
    assert!(staff_state.sent_at.is_some() && staff_state.claimed_until.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_delivered_three_times_sends_each_email_once() {
    let mut setup = Setup::new().await;
    let first = setup.book(&nth_booking(1)).await;
    let second = setup
        .book(&booking_with("specialty", json!("not_sure")))
        .await;
    let event = setup.stream.next_event(2).await;
    let endpoint = ses_endpoint();
    let notifier = setup.notifier(&endpoint).await;

    for _ in 0..3 {
        let response = handle(&notifier, event.clone()).await.unwrap();
        assert!(failures(&response).is_empty());
    }
    // Two deliveries at once as well: the claims keep them apart.
    let (a, b) = tokio::join!(
        handle(&notifier, event.clone()),
        handle(&notifier, event.clone())
    );
    a.unwrap();
    b.unwrap();

    for reference in [&first, &second] {
        split(&emails(&endpoint, reference).await);
    }
    let found = emails(&endpoint, &second).await;
    let (staff, _) = split(&found);
    assert_eq!(
        staff.to,
        [STAFF_INBOX],
        "not sure goes to the default inbox"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ses_outage_retries_exactly_the_affected_records_and_loses_nothing() {
    let mut setup = Setup::new().await;
    let mut ses = SesEmulator::start().await;
    let notifier = setup.notifier(&ses.endpoint()).await;

    // One booking notified before the outage, in the same batch as two after it.
    let before = setup.book(&nth_booking(1)).await;
    handle(&notifier, setup.stream.next_event(1).await)
        .await
        .unwrap();
    ses.stop();
    let during = [
        setup.book(&nth_booking(2)).await,
        setup.book(&nth_booking(3)).await,
    ];
    let untouched = [setup.item(&during[0]).await, setup.item(&during[1]).await];

    let StoreHandle::Dynamo(tables) = &setup.app.store else {
        unreachable!()
    };
    let mut replay = StreamReader::open(&tables.inspect, &tables.bookings).await;
    let event = replay.next_inserts(3).await;
    let sequence = sequence_numbers(&event);
    let response = handle(&notifier, event.clone()).await.unwrap();
    assert_eq!(
        failures(&response),
        sequence[1..],
        "exactly the records of the outage"
    );
    assert_eq!(
        setup.item(&during[0]).await,
        untouched[0],
        "booking untouched"
    );
    assert_eq!(
        setup.item(&during[1]).await,
        untouched[1],
        "booking untouched"
    );

    ses.resume().await;
    // Lambda redelivers from the first reported record.
    let mut retry = event.clone();
    retry.records.remove(0);
    let response = handle(&notifier, retry.clone()).await.unwrap();
    assert!(failures(&response).is_empty());
    handle(&notifier, retry).await.unwrap();
    for reference in &during {
        split(&emails(&ses.endpoint(), reference).await);
    }
    assert!(
        emails(&ses.endpoint(), &before).await.is_empty(),
        "not sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_on_the_patient_address_is_recorded_and_not_retried() {
    let mut setup = Setup::new().await;
    let rejected = "fixture.rejected@example.com";
    let reference = setup.book(&booking_with("email", json!(rejected))).await;
    let endpoint = ses_endpoint();
    let proxy = rejecting_proxy(endpoint.clone(), &[rejected]).await;
    // The full staff email, which replies to the patient.
    let notifier = setup
        .notifier_with(&proxy, &[("STAFF_EMAIL", "full")])
        .await;

    let event = setup.stream.next_event(1).await;
    let response = handle(&notifier, event.clone()).await.unwrap();
    assert!(
        failures(&response).is_empty(),
        "a permanent error is not retried"
    );
    let state = setup.app.store.notice(&reference, Notice::Patient).await;
    assert_eq!(state.failed.as_deref(), Some("MessageRejected"));
    assert!(state.failed_at.is_some() && state.sent_at.is_none());

    let found = emails(&endpoint, &reference).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].subject.starts_with("New appointment request"));
    assert_eq!(found[0].reply_to, [rejected]);

    // Delivered again, nothing more is tried.
    let response = handle(&notifier, event).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(emails(&endpoint, &reference).await.len(), 1);
}

/// Both emails of a booking are sent once, neither ever marked failed, and no hold is left.
async fn sent_once_never_failed(setup: &Setup, endpoint: &str, reference: &str) {
    split(&emails(endpoint, reference).await);
    for notice in Notice::ALL {
        let state = setup.app.store.notice(reference, notice).await;
        assert!(state.sent_at.is_some(), "{notice}: {state:?}");
        assert_eq!((state.failed, state.held), (None, None), "{notice}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_paused_holds_the_emails_through_stream_retries_until_it_works() {
    let mut setup = Setup::new().await;
    let reference = setup.book(&nth_booking(41)).await;
    let endpoint = ses_endpoint();
    // Paused for the first two deliveries' sends (both emails each time).
    let paused = FaultProxy::start(endpoint.clone(), Fault::First(4), SENDING_PAUSED).await;
    let notifier = setup.notifier(&paused.endpoint()).await;
    let event = setup.stream.next_event(1).await;

    for delivery in 1..=2 {
        let response = handle(&notifier, event.clone()).await.unwrap();
        assert_eq!(
            failures(&response),
            sequence_numbers(&event),
            "delivery {delivery}: a held booking's record is retried"
        );
        for notice in Notice::ALL {
            let state = setup.app.store.notice(&reference, notice).await;
            assert_eq!(state.held.as_deref(), Some("SendingPausedException"));
            assert_eq!(
                (state.failed, state.sent_at),
                (None, None),
                "never given up"
            );
        }
    }
    assert_eq!(paused.refused(), 4);
    assert!(emails(&endpoint, &reference).await.is_empty());

    // The account works again: the next delivery sends each email once.
    let response = handle(&notifier, event.clone()).await.unwrap();
    assert!(failures(&response).is_empty());
    handle(&notifier, event).await.unwrap();
    sent_once_never_failed(&setup, &endpoint, &reference).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_held_past_the_stream_retries_are_sent_once_by_the_sweep() {
    let mut setup = Setup::new().await;
    let reference = setup.book(&nth_booking(42)).await;
    let endpoint = ses_endpoint();
    // Paused through every delivery Lambda makes (the first and ten retries);
    // then the record is in the failure queue, and only a sweep is left.
    let paused = FaultProxy::start(endpoint.clone(), Fault::First(22), SENDING_PAUSED).await;
    let notifier = setup.notifier(&paused.endpoint()).await;
    let event = setup.stream.next_event(1).await;
    for _ in 0..11 {
        let response = handle(&notifier, event.clone()).await.unwrap();
        assert_eq!(failures(&response).len(), 1);
    }
    assert_eq!(paused.refused(), 22);

    setup.app.clock.advance(time::Duration::minutes(20));
    let sweep = |notifier: Notifier| async move {
        notifier
            .sweep(
                frontdesk_shared::notify::sweep::SWEEP_AFTER,
                None,
                |_, _| {},
            )
            .await
            .unwrap()
    };
    let done = sweep(notifier.clone()).await;
    assert_eq!((done.bookings, done.sent, done.held), (1, 2, 0), "{done:?}");
    sent_once_never_failed(&setup, &endpoint, &reference).await;
    // A second sweep finds nothing owed.
    let again = sweep(notifier).await;
    assert_eq!((again.bookings, again.sent), (0, 0));
    assert_eq!(emails(&endpoint, &reference).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_in_the_form_is_escaped_in_html_and_intact_in_text() {
    let mut setup = Setup::new().await;
    let message = "<script>alert(\"hi\")</script> Tom & Jerry's \"quote\"";
    let reference = setup.book(&booking_with("message", json!(message))).await;
    let endpoint = ses_endpoint();
    // The full staff email, which shows the message.
    handle(
        &setup
            .notifier_with(&endpoint, &[("STAFF_EMAIL", "full")])
            .await,
        setup.stream.next_event(1).await,
    )
    .await
    .unwrap();
    let found = emails(&endpoint, &reference).await;
    let (staff, _) = split(&found);
    assert!(staff.text.contains(message), "text part as typed");
    assert!(!staff.html.contains("<script>"));
    assert!(!staff.html.contains(" & ") && !staff.html.contains("\"quote\""));
    let decoded = staff
        .html
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&");
    assert!(
        decoded.contains(message),
        "escaped, not altered: {}",
        staff.html
    );
    assert!(!staff.html.contains("Jerry's \"quote\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_other_than_inserts_are_skipped() {
    let mut setup = Setup::new().await;
    let reference = setup.book(&nth_booking(7)).await;
    let endpoint = ses_endpoint();
    let notifier = setup.notifier(&endpoint).await;
    handle(&notifier, setup.stream.next_event(1).await)
        .await
        .unwrap();
    // Both claims, then both sent marks: two MODIFY records of the same
    // item, one per write.
    let modifies = setup.stream.next_event(2).await;
    assert!(modifies.records.iter().all(|r| r.event_name == "MODIFY"));
    let response = handle(&notifier, modifies).await.unwrap();
    assert!(failures(&response).is_empty());
    assert_eq!(emails(&endpoint, &reference).await.len(), 2);
}
