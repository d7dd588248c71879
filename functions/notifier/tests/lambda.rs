//! The notifier bootstrap as Lambda runs it: the real binary, a loopback
//! Lambda Runtime API handing it DynamoDB stream events read from DynamoDB
//! Local's stream, and an SES v2 emulator that the test stops and starts.

use aws_lambda_events::event::dynamodb::Event;
use frontdesk_tests::content::ContentHandle;
use frontdesk_tests::lambda::Bootstrap;
use frontdesk_tests::notifier::{DESK_URL, MAIL_FROM, STAFF_INBOX};
use frontdesk_tests::ses::{emails, SesEmulator};
use frontdesk_tests::stream::StreamReader;
use frontdesk_tests::{nth_booking, Backend, StoreHandle, TestApp};
use serde_json::Value;

/// The notifier bootstrap on `tables` (the bookings, and the guards its
/// hourly ceiling counts in), sending through the SES endpoint `ses`, with
/// `vars` besides.
async fn notifier_bootstrap(
    tables: &frontdesk_tests::DynamoTables,
    ses: &str,
    vars: &[(&str, &str)],
) -> Bootstrap {
    let content = ContentHandle::published(Backend::DynamoDb).await;
    let mut all = vec![
        ("BOOKINGS_TABLE", tables.bookings.as_str()),
        ("GUARDS_TABLE", tables.guards.as_str()),
        ("CONTENT_TABLE", content.table().expect("a DynamoDB table")),
        ("MAIL_FROM", MAIL_FROM),
        ("STAFF_INBOX", STAFF_INBOX),
        ("DESK_URL", DESK_URL),
        ("AWS_ENDPOINT_URL_SESV2", ses),
        ("MAIL_TIMEOUT_MS", "1000"),
    ];
    all.extend_from_slice(vars);
    Bootstrap::start(env!("CARGO_BIN_EXE_notifier"), "notifier", &all).await
}

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
    let mut lambda = notifier_bootstrap(tables, &endpoint, &[]).await;

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

/// A batch as the stream delivers it: each new booking's INSERT, then a
/// MODIFY of the first (the kind a sent mark causes) and an INSERT whose
/// image is no booking: the first's, with its phone number stored as a
/// number, so that reading it fails on a value that is personal data. Each
/// has a sequence number of its own.
fn batch(inserts: &Event) -> Value {
    let mut records = inserts.records.clone();
    let mut modify = records[0].clone();
    modify.event_name = "MODIFY".into();
    let mut broken = records[0].clone();
    let mut image: std::collections::HashMap<String, serde_dynamo::AttributeValue> =
        broken.change.new_image.clone().into();
    let Some(serde_dynamo::AttributeValue::S(phone)) = image.get("phone").cloned() else {
        panic!("a stored phone number: {image:?}");
    };
    image.insert(
        "phone".into(),
        serde_dynamo::AttributeValue::N(phone.trim_start_matches('+').to_owned()),
    );
    broken.change.new_image = serde_dynamo::Item::from(image);
    for (record, suffix) in [(&mut modify, "1"), (&mut broken, "2")] {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        record.change.sequence_number = Some(format!("{sequence}{suffix}"));
        record.event_id = format!("{}-{suffix}", record.event_id);
    }
    records.extend([modify, broken]);
    let mut event = Event::default();
    event.records = records;
    serde_json::to_value(&event).expect("an event")
}

/// Where in its batch each reported record is.
fn failed_positions(batch: &Value, answer: &Value) -> Vec<usize> {
    let sequence: Vec<&str> = batch["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            r["dynamodb"]["SequenceNumber"]
                .as_str()
                .expect("a sequence number")
        })
        .collect();
    failures(answer)
        .iter()
        .map(|f| {
            sequence
                .iter()
                .position(|s| s == f)
                .expect("a record of the batch")
        })
        .collect()
}

/// A booking's emails with what is its own (reference, patient address)
/// masked, so two bookings' emails compare.
async fn masked_emails(
    endpoint: &str,
    reference: &str,
    patient: &str,
) -> Vec<(Vec<String>, String, String)> {
    let mut emails: Vec<_> = emails(endpoint, reference)
        .await
        .into_iter()
        .map(|email| {
            let mask = |text: &str| {
                text.replace(reference, "<reference>")
                    .replace(patient, "<patient>")
            };
            let to = email.to.iter().map(|to| mask(to)).collect();
            (to, mask(&email.subject), mask(&email.text))
        })
        .collect();
    emails.sort();
    emails
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_answers_a_batch_as_the_handler_does_in_process_and_shares_its_ledger() {
    use frontdesk_tests::notifier::{notifier_over, ses_mailer};
    let app = TestApp::spawn(Backend::DynamoDb).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let mut stream = StreamReader::open(&tables.inspect, &tables.bookings).await;
    let mut bookings = Vec::new();
    for n in 1..=4 {
        let body = nth_booking(n);
        let answer = app.post_json(&body).await;
        assert_eq!(answer.status, 201);
        let reference = answer.json()["reference"].as_str().unwrap().to_owned();
        bookings.push((reference, body["email"].as_str().unwrap().to_owned()));
    }
    let mut first = stream.next_inserts(4).await;
    let mut second = first.clone();
    second.records = first.records.split_off(2);
    let (a, b) = (batch(&first), batch(&second));

    let ses = SesEmulator::start().await;
    let endpoint = ses.endpoint();
    let content = ContentHandle::published(Backend::DynamoDb).await;
    let vars = [
        ("BOOKINGS_TABLE", tables.bookings.as_str()),
        ("GUARDS_TABLE", tables.guards.as_str()),
        ("CONTENT_TABLE", content.table().expect("a DynamoDB table")),
        ("MAIL_FROM", MAIL_FROM),
        ("STAFF_INBOX", STAFF_INBOX),
        ("STAFF_INBOX_ROUTES", ""),
        ("DESK_URL", DESK_URL),
        ("AWS_ENDPOINT_URL_SESV2", endpoint.as_str()),
    ];
    let mut lambda = Bootstrap::start(env!("CARGO_BIN_EXE_notifier"), "notifier", &vars).await;
    let notifier = notifier_over(
        &app.store,
        std::sync::Arc::new(ses_mailer(&endpoint).await),
        &vars,
        frontdesk_shared::time_source::Clock::system(),
    );
    let in_process = async |batch: &Value| {
        let event: Event = serde_json::from_value(batch.clone()).expect("an event");
        let answer = frontdesk_notifier::handle(&notifier, event)
            .await
            .expect("handled");
        serde_json::to_value(answer).expect("an answer")
    };

    // Each batch's broken record (the fourth) is reported; the rest are done.
    let by_lambda = lambda.invoke("batch-a", a.clone()).await;
    let by_handler = in_process(&b).await;
    assert_eq!(failed_positions(&a, &by_lambda), [3], "{by_lambda}");
    assert_eq!(failed_positions(&b, &by_handler), [3], "{by_handler}");
    let sent_by_lambda = masked_emails(&endpoint, &bookings[0].0, &bookings[0].1).await;
    assert_eq!(sent_by_lambda.len(), 2, "a staff and a patient email");
    for (reference, patient) in &bookings {
        assert_eq!(
            masked_emails(&endpoint, reference, patient).await,
            sent_by_lambda
        );
    }

    // Each delivers the other's batch again: the ledger they share says
    // every email is sent, so nothing more goes out.
    let by_lambda = lambda.invoke("batch-b", b.clone()).await;
    let by_handler = in_process(&a).await;
    assert_eq!(failed_positions(&b, &by_lambda), [3], "{by_lambda}");
    assert_eq!(failed_positions(&a, &by_handler), [3], "{by_handler}");
    for (reference, _) in &bookings {
        assert_eq!(emails(&endpoint, reference).await.len(), 2, "{reference}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedules_sweep_sends_what_older_bookings_owe_once_and_leaves_new_ones_to_the_stream()
{
    let app = TestApp::spawn(Backend::DynamoDb).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let mut references = Vec::new();
    for n in 51..=52 {
        let answer = app.post_json(&nth_booking(n)).await;
        assert_eq!(answer.status, 201);
        references.push(answer.json()["reference"].as_str().unwrap().to_owned());
    }
    // The first was stored twenty minutes ago and its stream record lost;
    // the second a minute ago (the function's clock is the system's).
    let (old, new) = (&references[0], &references[1]);
    let now = time::OffsetDateTime::now_utc();
    for (reference, ago) in [(old, 20), (new, 1)] {
        let at = frontdesk_shared::booking::record::rfc3339(now - time::Duration::minutes(ago));
        app.store
            .overwrite(reference, |record| record["received_at"] = at.into())
            .await;
    }

    let ses = SesEmulator::start().await;
    let endpoint = ses.endpoint();
    let mut lambda = notifier_bootstrap(tables, &endpoint, &[]).await;
    // EventBridge Scheduler's input, as the template sets it.
    let input: Value = serde_json::from_str(SWEEP_INPUT).unwrap();
    let answer = lambda.invoke("sweep-1", input.clone()).await;
    assert_eq!(
        (&answer["bookings"], &answer["sent"], &answer["held"]),
        (&Value::from(1), &Value::from(2), &Value::from(0)),
        "{answer}"
    );
    assert_eq!(emails(&endpoint, old).await.len(), 2);
    assert!(
        emails(&endpoint, new).await.is_empty(),
        "left to the stream"
    );

    // The next run finds nothing more to send.
    let answer = lambda.invoke("sweep-2", input).await;
    assert_eq!(
        (&answer["bookings"], &answer["sent"]),
        (&Value::from(0), &Value::from(0))
    );
    assert_eq!(emails(&endpoint, old).await.len(), 2);
}

/// The schedule's input in `infra/template.yaml`.
const SWEEP_INPUT: &str = r#"{"sweep":{}}"#;

#[test]
fn the_template_schedules_the_sweep_with_the_input_the_function_reads() {
    let template: serde_norway::Value =
        serde_norway::from_str(frontdesk_cli::tables::TEMPLATE).unwrap();
    let schedule = &template["Resources"]["OwedEmailSweepSchedule"]["Properties"];
    assert_eq!(
        schedule["ScheduleExpression"].as_str(),
        Some("rate(5 minutes)")
    );
    let input: Value = serde_json::from_str(schedule["Target"]["Input"].as_str().unwrap()).unwrap();
    assert_eq!(input, serde_json::from_str::<Value>(SWEEP_INPUT).unwrap());
    assert!(matches!(
        serde_json::from_value::<frontdesk_notifier::Invocation>(input),
        Ok(frontdesk_notifier::Invocation::Sweep { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_email_bounced_or_late_alarms_and_goes_to_the_fallback_inbox_once() {
    use frontdesk_shared::booking::Reference;
    use frontdesk_shared::notify::{ClaimToken, Delivery, Notice};
    let app = TestApp::spawn(Backend::DynamoDb).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let ledger = app.store.ledger();
    let now = time::OffsetDateTime::now_utc();
    // Four bookings whose emails were sent; SES then reported the staff
    // email bounced, left it undelivered for twenty minutes, delivered it,
    // and (the last) left it undelivered for five minutes only.
    let mut references = Vec::new();
    for (n, sent_ago, delivery) in [
        (61, 1, Some(Delivery::Bounced)),
        (62, 20, Some(Delivery::Sent)),
        (63, 1, Some(Delivery::Delivered)),
        (64, 5, None),
    ] {
        let answer = app.post_json(&nth_booking(n)).await;
        assert_eq!(answer.status, 201);
        let reference = Reference::parse(answer.json()["reference"].as_str().unwrap()).unwrap();
        let sent_at = now - time::Duration::minutes(sent_ago);
        for notice in Notice::ALL {
            let id = format!("{reference}-{notice}");
            ledger
                .claim(
                    &reference,
                    notice,
                    &ClaimToken::new(),
                    sent_at,
                    now + time::Duration::minutes(2),
                )
                .await
                .unwrap();
            ledger
                .mark_sent(&reference, notice, &id, sent_at)
                .await
                .unwrap();
            if let (Notice::Staff, Some(delivery)) = (notice, delivery) {
                ledger
                    .record_delivery(&reference, notice, &id, delivery, None, sent_at)
                    .await
                    .unwrap();
            }
        }
        references.push(reference);
    }
    let fallback = "fallback.desk@clinic-other.example";

    let ses = SesEmulator::start().await;
    let endpoint = ses.endpoint();
    let mut lambda =
        notifier_bootstrap(tables, &endpoint, &[("STAFF_FALLBACK_INBOX", fallback)]).await;
    let input: Value = serde_json::from_str(SWEEP_INPUT).unwrap();
    let answer = lambda.invoke("check-1", input.clone()).await;
    let check = &answer["staff_delivery"];
    assert_eq!(
        (&check["undelivered"], &check["fallback_sent"]),
        (&Value::from(2), &Value::from(2)),
        "{answer}"
    );
    let mut whys = Vec::new();
    for _ in 0..2 {
        let line = lambda
            .printed(|l| l.contains("StaffEmailUndelivered"))
            .expect("a metric line per undelivered staff email");
        let metric: Value = serde_json::from_str(&line).unwrap();
        whys.push(metric["Why"].as_str().unwrap().to_owned());
    }
    whys.sort();
    assert_eq!(whys, ["bounced", "late"]);
    let [bounced, late, delivered, recent] = <[Reference; 4]>::try_from(references).unwrap();
    for (reference, expected) in [(&bounced, 1), (&late, 1), (&delivered, 0), (&recent, 0)] {
        let sent = emails(&endpoint, &format!("{reference} (not delivered")).await;
        assert_eq!(sent.len(), expected, "{reference}: {sent:?}");
        if expected == 1 {
            assert_eq!(sent[0].to, [fallback]);
        }
    }
    // Once: the next run finds nothing.
    let answer = lambda.invoke("check-2", input.clone()).await;
    assert_eq!(answer["staff_delivery"]["undelivered"], 0, "{answer}");
    assert_eq!(
        emails(&endpoint, &format!("{bounced} (not delivered"))
            .await
            .len(),
        1
    );
    drop(lambda);

    // Without a fallback inbox the alarm still fires, once.
    ledger
        .record_delivery(
            &delivered,
            Notice::Staff,
            &format!("{delivered}-staff"),
            Delivery::Complained,
            Some("abuse"),
            now,
        )
        .await
        .unwrap();
    let mut lambda = notifier_bootstrap(tables, &endpoint, &[]).await;
    let answer = lambda.invoke("check-3", input.clone()).await;
    let check = &answer["staff_delivery"];
    assert_eq!(
        (&check["undelivered"], &check["no_fallback"]),
        (&Value::from(1), &Value::from(1)),
        "{answer}"
    );
    let line = lambda
        .printed(|l| l.contains("StaffEmailUndelivered"))
        .unwrap();
    assert!(line.contains("\"Why\":\"complained\""), "{line}");
    let answer = lambda.invoke("check-4", input).await;
    assert_eq!(answer["staff_delivery"]["undelivered"], 0, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_paused_holds_the_emails_in_a_scheduled_sweep_and_the_next_sends_them_once() {
    use frontdesk_shared::notify::Notice;
    use frontdesk_tests::ses::{Fault, FaultProxy, SENDING_PAUSED};
    let app = TestApp::spawn(Backend::DynamoDb).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB app")
    };
    let answer = app.post_json(&nth_booking(71)).await;
    assert_eq!(answer.status, 201);
    let reference = answer.json()["reference"].as_str().unwrap().to_owned();
    // Its stream record went to the failure queue twenty minutes ago.
    let at = frontdesk_shared::booking::record::rfc3339(
        time::OffsetDateTime::now_utc() - time::Duration::minutes(20),
    );
    app.store
        .overwrite(&reference, |record| record["received_at"] = at.into())
        .await;
    let ses = SesEmulator::start().await;
    let endpoint = ses.endpoint();
    // The account is paused for the first run's two sends.
    let paused = FaultProxy::start(endpoint.clone(), Fault::First(2), SENDING_PAUSED).await;
    let proxy = paused.endpoint();
    let mut lambda = notifier_bootstrap(tables, &proxy, &[]).await;
    let input: Value = serde_json::from_str(SWEEP_INPUT).unwrap();
    let first = lambda.invoke("paused", input.clone()).await;
    assert_eq!(
        (&first["held"], &first["sent"]),
        (&Value::from(2), &Value::from(0)),
        "{first}"
    );
    assert!(
        lambda.printed(|l| l.contains("EmailsHeld")).is_some(),
        "the held alarm's line"
    );
    for notice in Notice::ALL {
        let state = app.store.notice(&reference, notice).await;
        assert_eq!(state.held.as_deref(), Some("SendingPausedException"));
        assert_eq!(
            (state.failed, state.sent_at),
            (None, None),
            "never given up"
        );
    }
    let second = lambda.invoke("resumed", input).await;
    assert_eq!(
        (&second["held"], &second["sent"]),
        (&Value::from(0), &Value::from(2)),
        "{second}"
    );
    assert_eq!(
        emails(&endpoint, &reference).await.len(),
        2,
        "each email once"
    );
    for notice in Notice::ALL {
        let state = app.store.notice(&reference, notice).await;
        assert!(state.sent_at.is_some());
        assert_eq!((state.failed, state.held), (None, None));
    }
}
