//! The booking API under the load, through `frontdesk serve`'s
//! application over DynamoDB Local: 2,000 requests, 50 at once, 10% resent
//! with the same key, 5% invalid, 5% from one source past its limit. Then
//! the notifier over the table's real stream: one staff and one patient
//! email per stored booking, no more. And the same with faults: DynamoDB
//! Local killed mid-load, the SES emulator killed mid-notification.

use frontdesk_shared::notify::{Notice, Notifier};
use frontdesk_tests::load::{self, Kind, Plan};
use frontdesk_tests::notifier::{deliver_as_lambda, notifier_over, ses_mailer, STAFF_INBOX};
use frontdesk_tests::proxy::CountingProxy;
use frontdesk_tests::ses::{emails, SendEmailRequest, SesEmulator};
use frontdesk_tests::stream::StreamReader;
use frontdesk_tests::{DynamoTables, StoreHandle};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

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

/// Tables whose store waits up to 30 s a call (the served API's request
/// waits as long): these tests count what is stored and sent, not how
/// fast, and on a machine busy with other work DynamoDB Local can take
/// longer than the usual bounds (3 s a request, 5 s a call), which answer
/// 503, correctly, where the test means to see the store's decision.
async fn patient_tables() -> DynamoTables {
    DynamoTables::create_at(
        &frontdesk_tests::dynamodb_endpoint(),
        Duration::from_secs(30),
    )
    .await
}

/// The load tests take turns: each is the machine's whole load.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_bookings_at_fifty_at_once_store_exactly_the_valid_unique_ones_and_email_each_once(
) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let tables = patient_tables().await;
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
    let notifier = load_notifier(&store, &endpoint).await;
    let deliveries = deliver_as_lambda(&notifier, &event.records, Duration::ZERO).await;
    assert_eq!(deliveries.redeliveries, 0, "{deliveries:?}");
    let sent: Vec<(Vec<String>, String)> = emails(&endpoint, "")
        .await
        .into_iter()
        .map(|email| (email.to, email.subject))
        .collect();
    assert_one_staff_and_one_patient_email_each(&sent, &references);
}

/// The notifier as the template configures it, over `store` and the SES
/// endpoint `ses`.
/// The notifier's bound on one send, retries included.
const MAIL_TIMEOUT: Duration = Duration::from_millis(5000);

async fn load_notifier(store: &StoreHandle, ses: &str) -> Notifier {
    notifier_over(
        store,
        Arc::new(ses_mailer(ses).await),
        &[
            ("STAFF_INBOX_ROUTES", ""),
            ("MAIL_TIMEOUT_MS", &MAIL_TIMEOUT.as_millis().to_string()),
        ],
        frontdesk_shared::time_source::Clock::system(),
    )
}

/// Asserts that `sent` (each email's recipients and subject) is exactly
/// one email to staff and one to the patient for each of `references`.
fn assert_one_staff_and_one_patient_email_each(
    sent: &[(Vec<String>, String)],
    references: &BTreeSet<String>,
) {
    let mut per_booking: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (to, subject) in sent {
        let reference = references
            .iter()
            .find(|r| subject.contains(r.as_str()))
            .unwrap_or_else(|| panic!("an email for no stored booking: {subject}"));
        per_booking
            .entry(reference)
            .or_default()
            .extend(to.iter().map(String::as_str));
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
async fn the_ses_emulator_killed_mid_notification_sends_every_email_exactly_once_after_it_returns()
{
    let _turn = ONE_AT_A_TIME.lock().await;
    let tables = patient_tables().await;
    let mut stream = StreamReader::open(&tables.inspect, &tables.bookings).await;
    let plan = Plan {
        total: 600,
        ..Plan::standard()
    };
    let endpoint = load::serve_over_dynamodb(&tables, &plan).await;
    let report = load::run(&endpoint, &plan).await;
    let (store, references) = assert_stored_exactly(&report, &plan, &tables).await;
    let event = stream.next_inserts(plan.expected_stored()).await;

    // The notifier sends through a proxy that records what SES accepted:
    // the emulator's own store is lost when it is killed.
    let mut ses = SesEmulator::start().await;
    let proxy = CountingProxy::start(&ses.endpoint()).await;
    let notifier = load_notifier(&store, &proxy.endpoint()).await;
    let lambda = tokio::spawn(async move {
        deliver_as_lambda(&notifier, &event.records, Duration::from_millis(500)).await
    });

    // Killed with a third of the emails sent and sends in flight; back a
    // second later on the same port.
    while proxy.succeeded() < 2 * references.len() / 3 {
        assert!(
            !lambda.is_finished(),
            "the notifier finished before the kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ses.stop();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let resumed = std::time::Instant::now();
    ses.resume().await;
    let deliveries = lambda.await.expect("the stream was delivered");

    let calls = proxy.take();
    let refused = calls.iter().filter(|c| !c.succeeded()).count();
    assert!(refused > 0, "the outage was felt");
    assert!(deliveries.redeliveries > 0, "{deliveries:?}");
    // A send SES took after the notifier had given up on it (its attempt
    // timeout, with the restarted emulator slow to answer) is sent again:
    // the one duplicate SES allows, since it has no idempotency key. Which
    // sends the notifier took is in its ledger: each email's SES message id
    // as it marked the email sent. A send whose message id is not there is
    // one it gave up on, and must repeat an email it did send.
    let mut recorded = BTreeSet::new();
    for reference in &references {
        for notice in Notice::ALL {
            let state = store.notice(reference, notice).await;
            assert!(state.sent_at.is_some(), "{reference} {notice}: {state:?}");
            recorded.insert(state.message_id.expect("the message id of a sent email"));
        }
    }
    let message_id = |c: &frontdesk_tests::proxy::Call| {
        serde_json::from_slice::<serde_json::Value>(&c.answer)
            .ok()
            .and_then(|v| v["MessageId"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let email = |c: &frontdesk_tests::proxy::Call| {
        let request = SendEmailRequest::parse(&c.body).expect("a SendEmail request");
        (request.to, request.subject)
    };
    let (taken, given_up): (Vec<_>, Vec<_>) = calls
        .iter()
        .filter(|c| c.succeeded())
        .partition(|c| recorded.contains(&message_id(c)));
    let abandoned = given_up.len();
    let sent: Vec<(Vec<String>, String)> = taken.iter().map(|c| email(c)).collect();
    for call in &given_up {
        assert!(
            sent.contains(&email(call)),
            "a send given up on that was never sent again: {:?}",
            email(call)
        );
    }
    assert_one_staff_and_one_patient_email_each(&sent, &references);

    // Every email is marked sent, and the emulator since its restart holds
    // exactly the ones accepted after it.
    let since_restart = calls
        .iter()
        .filter(|c| c.succeeded() && c.at >= resumed)
        .count();
    assert!(since_restart > 0, "sending went on after the restart");
    println!(
        "SES outage: {refused} sends refused, {} of {} deliveries again, {since_restart} of {} emails sent after the restart, {abandoned} taken after the notifier gave up",
        deliveries.redeliveries,
        deliveries.invocations,
        sent.len()
    );
    assert_eq!(emails(&ses.endpoint(), "").await.len(), since_restart);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_local_killed_and_restarted_mid_load_loses_and_duplicates_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    use frontdesk_tests::dynamodb_local::DynamoDbLocal;
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
