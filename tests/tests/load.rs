//! The booking API under the load, through `frontdesk serve`'s
//! application over DynamoDB Local: 2,000 requests, 50 at once, 10% resent
//! with the same key, 5% invalid, 5% from one source past its limit. Then
//! the notifier over the table's real stream: one staff and one patient
//! email per stored booking, no more.

use aws_lambda_events::event::dynamodb::Event;
use frontdesk_tests::load::{self, Kind, Plan};
use frontdesk_tests::notifier::{notifier_over, ses_mailer, STAFF_INBOX};
use frontdesk_tests::ses::{emails, SesEmulator};
use frontdesk_tests::stream::StreamReader;
use frontdesk_tests::{DynamoTables, StoreHandle};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Asserts that the table holds exactly the bookings answered 201, each
/// once, and as many as the plan lets through; returns the store and them.
async fn assert_stored_exactly(
    report: &load::Report,
    plan: &Plan,
    tables: &DynamoTables,
) -> (StoreHandle, BTreeSet<String>) {
    let references = report.references();
    let mut owners: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for answer in report.answers.iter().filter(|a| a.status == 201) {
        if let Some(reference) = answer.reference.as_deref() {
            owners
                .entry(reference)
                .or_default()
                .insert(answer.planned.booking);
        }
    }
    owners.retain(|_, bookings| bookings.len() > 1);
    assert!(
        owners.is_empty(),
        "one reference answered for several bookings: {owners:?}"
    );
    assert_eq!(
        references.len(),
        plan.expected_stored(),
        "{:?}",
        report.by_kind()
    );
    assert_eq!(tables.count().await as usize, plan.expected_stored());
    let store = StoreHandle::Dynamo(tables.clone());
    for reference in &references {
        assert!(
            store.record(reference).await.is_some(),
            "{reference} is stored"
        );
    }
    (store, references)
}

/// The load tests take turns: each is the machine's whole load.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_bookings_at_fifty_at_once_store_exactly_the_valid_unique_ones_and_email_each_once(
) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let tables = DynamoTables::create().await;
    let mut stream = StreamReader::open(&tables.inspect, &tables.bookings).await;
    let plan = Plan::standard();
    let endpoint = load::serve_over_dynamodb(&tables, &plan).await;

    let report = load::run(&endpoint, &plan).await;
    println!("{}", report.markdown(&plan));

    // No 5xx; every kind answered as it should be.
    let by_kind = report.by_kind();
    let expected: BTreeMap<(Kind, u16), usize> = [
        ((Kind::New, 201), 1600),
        ((Kind::Resent, 201), 200),
        ((Kind::Invalid, 422), 100),
        ((Kind::Limited, 201), 50),
        ((Kind::Limited, 429), 50),
    ]
    .into();
    assert_eq!(by_kind, expected, "{:?}", report.statuses());

    // A resend and its original answer one reference, and exactly one of
    // the two is marked as a replay: the resend, unless it overtook its
    // original in flight.
    let mut pairs: BTreeMap<usize, Vec<(&str, bool)>> = BTreeMap::new();
    for answer in report
        .answers
        .iter()
        .filter(|a| matches!(a.planned.kind, Kind::New | Kind::Resent))
    {
        pairs.entry(answer.planned.booking).or_default().push((
            answer.reference.as_deref().expect("a reference"),
            answer.replayed,
        ));
    }
    for (booking, answers) in &pairs {
        let references: BTreeSet<&str> = answers.iter().map(|(r, _)| *r).collect();
        assert_eq!(references.len(), 1, "booking {booking}: {answers:?}");
        let replays = answers.iter().filter(|(_, replayed)| *replayed).count();
        assert_eq!(replays, answers.len() - 1, "booking {booking}: {answers:?}");
    }

    // Stored: exactly the valid unique ones, each answered 201.
    let (store, references) = assert_stored_exactly(&report, &plan, &tables).await;

    // The notifier over the real stream, in the template's batches of ten
    // and with its mail timeout.
    let event = stream.next_inserts(plan.expected_stored()).await;
    let ses = SesEmulator::start().await;
    let endpoint = ses.endpoint();
    let notifier = notifier_over(
        &store,
        Arc::new(ses_mailer(&endpoint).await),
        &[("STAFF_INBOX_ROUTES", ""), ("MAIL_TIMEOUT_MS", "5000")],
        frontdesk_shared::time_source::Clock::system(),
    );
    for batch in event.records.chunks(10) {
        let mut event = Event::default();
        event.records = batch.to_vec();
        let answer = frontdesk_notifier::handle(&notifier, event)
            .await
            .expect("handled");
        assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    }
    let sent = emails(&endpoint, "").await;
    let mut per_booking: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for email in &sent {
        let reference = references
            .iter()
            .find(|r| email.subject.contains(r.as_str()))
            .unwrap_or_else(|| panic!("an email for no stored booking: {}", email.subject));
        per_booking
            .entry(reference)
            .or_default()
            .extend(email.to.iter().map(String::as_str));
    }
    assert_eq!(sent.len(), 2 * references.len());
    let emailed: BTreeSet<&str> = per_booking.keys().copied().collect();
    assert_eq!(emailed, references.iter().map(String::as_str).collect());
    for (reference, to) in per_booking {
        assert_eq!(to.len(), 2, "{reference}: {to:?}");
        assert_eq!(
            to.iter().filter(|to| **to == STAFF_INBOX).count(),
            1,
            "{reference}: {to:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_local_killed_and_restarted_mid_load_loses_and_duplicates_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    use frontdesk_tests::dynamodb_local::DynamoDbLocal;
    use std::time::Duration;

    let mut local = DynamoDbLocal::start().await;
    let tables = DynamoTables::create_at(&local.endpoint(), Duration::from_secs(1)).await;
    let plan = Plan {
        retry_unavailable: true,
        ..Plan::standard()
    };
    let endpoint = load::serve_over_dynamodb(&tables, &plan).await;
    let run = tokio::spawn(async move { load::run(&endpoint, &plan).await });

    // DynamoDB Local is killed with requests in flight, and comes back on
    // the same port and data.
    tokio::time::sleep(Duration::from_secs(3)).await;
    local.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    local.resume().await;
    let report = run.await.expect("the load ran");
    println!("{}", report.markdown(&plan));

    // Every answer was 201, a replay, a refusal for cause, or 503 (then retried).
    let seen: BTreeSet<u16> = report
        .answers
        .iter()
        .flat_map(|a| a.statuses.clone())
        .collect();
    assert!(seen.contains(&503), "the outage was felt: {seen:?}");
    assert!(seen.is_subset(&[201, 422, 429, 503].into()), "{seen:?}");
    let by_kind = report.by_kind();
    assert_eq!(by_kind[&(Kind::New, 201)], 1600, "{by_kind:?}");
    assert_eq!(by_kind[&(Kind::Resent, 201)], 200, "{by_kind:?}");
    assert_eq!(by_kind[&(Kind::Invalid, 422)], 100, "{by_kind:?}");
    assert_eq!(by_kind[&(Kind::Limited, 201)], 50, "{by_kind:?}");
    assert_eq!(by_kind[&(Kind::Limited, 429)], 50, "{by_kind:?}");

    // None lost, none twice: a resend and its original share one reference,
    // and the table holds exactly the references answered.
    let mut by_booking: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    for answer in report.answers.iter().filter(|a| a.status == 201) {
        by_booking
            .entry(answer.planned.booking)
            .or_default()
            .insert(answer.reference.as_deref().expect("a reference"));
    }
    assert!(
        by_booking.values().all(|refs| refs.len() == 1),
        "{by_booking:?}"
    );
    assert_stored_exactly(&report, &plan, &tables).await;
}
