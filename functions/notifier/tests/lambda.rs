//! The notifier bootstrap as Lambda runs it: the real binary, a loopback
//! Lambda Runtime API handing it DynamoDB stream events read from DynamoDB
//! Local's stream, and an SES v2 emulator that the test stops and starts.

use aws_lambda_events::event::dynamodb::Event;
use frontdesk_tests::lambda::Bootstrap;
use frontdesk_tests::notifier::{MAIL_FROM, STAFF_INBOX};
use frontdesk_tests::ses::{emails, SesEmulator};
use frontdesk_tests::stream::StreamReader;
use frontdesk_tests::{nth_booking, Backend, StoreHandle, TestApp};
use serde_json::Value;

/// The sequence numbers the function asks Lambda to deliver again.
fn failures(answer: &Value) -> Vec<String> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("a partial batch response: {answer}"))
        .iter()
        .map(|f| {
            f["itemIdentifier"]
                .as_str()
                .expect("a sequence number")
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_sends_each_new_bookings_emails_once_and_reports_what_to_retry() {
    let app = TestApp::spawn(Backend::DynamoDb).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let mut stream = StreamReader::open(&tables.inspect, &tables.bookings).await;
    let mut references = Vec::new();
    for n in 1..=2 {
        let answer = app.post_json(&nth_booking(n)).await;
        assert_eq!(answer.status, 201);
        references.push(answer.json()["reference"].as_str().unwrap().to_owned());
    }
    let event: Event = stream.next_inserts(2).await;
    let sequence: Vec<String> = event
        .records
        .iter()
        .map(|r| r.change.sequence_number.clone().expect("a sequence number"))
        .collect();
    let event = serde_json::to_value(&event).expect("an event");

    let mut ses = SesEmulator::start().await;
    let endpoint = ses.endpoint();
    let mut lambda = Bootstrap::start(
        env!("CARGO_BIN_EXE_notifier"),
        "notifier",
        &[
            ("BOOKINGS_TABLE", tables.bookings.as_str()),
            ("MAIL_FROM", MAIL_FROM),
            ("STAFF_INBOX", STAFF_INBOX),
            ("AWS_ENDPOINT_URL_SESV2", endpoint.as_str()),
            ("MAIL_TIMEOUT_MS", "1000"),
        ],
    )
    .await;

    // SES is down: both records go back to Lambda, nothing is marked sent.
    ses.stop();
    let answer = lambda.invoke("outage", event.clone()).await;
    assert_eq!(failures(&answer), sequence);
    for reference in &references {
        let item = tables.item(reference).await.expect("the booking");
        assert!(!item.contains_key("staff_email_sent_at"), "{item:?}");
    }

    // Lambda delivers the batch again once SES is back: two emails each.
    ses.resume().await;
    let answer = lambda.invoke("retry", event.clone()).await;
    assert!(failures(&answer).is_empty(), "{answer}");
    for reference in &references {
        let sent = emails(&endpoint, reference).await;
        assert_eq!(sent.len(), 2, "{reference}: {sent:?}");
        assert!(sent.iter().all(|email| email.from.contains(MAIL_FROM)));
        let item = tables.item(reference).await.expect("the booking");
        assert!(
            item.contains_key("staff_email_sent_at") && item.contains_key("patient_email_sent_at")
        );
    }

    // A third delivery sends nothing more.
    let answer = lambda.invoke("again", event).await;
    assert!(failures(&answer).is_empty(), "{answer}");
    for reference in &references {
        assert_eq!(emails(&endpoint, reference).await.len(), 2);
    }
}
