//! The local server's booking path is cancel-safe where a write has
//! happened: a request whose handler is dropped (its client gone) right
//! after DynamoDB committed the booking, before the answer came back, still
//! gets both emails, because the insert runs on a task of its own and the
//! announcer sends from the store.

use frontdesk_booking::ClientAddr;
use frontdesk_cli::notify::{Announcer, NotifyingStore};
use frontdesk_shared::notify::{Notice, Notifier};
use frontdesk_shared::time_source::Clock;
use frontdesk_tests::notifier::{notifier_config, outbox_mailer};
use frontdesk_tests::proxy::HoldingProxy;
use frontdesk_tests::{dynamodb_client_at, dynamodb_endpoint, nth_booking, DynamoTables, CLIENT};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_dropped_right_after_its_booking_was_stored_still_sends_both_emails() {
    let tables = DynamoTables::create().await;
    let holding = HoldingProxy::start(&dynamodb_endpoint(), "TransactWriteItems").await;
    let client = dynamodb_client_at(holding.endpoint(), Duration::from_secs(10)).await;
    let store = tables.store_on(client);
    let mailer = outbox_mailer("cancelled");
    let notifier = Notifier::new(
        Arc::new(store.notices()),
        Arc::new(mailer.clone()),
        Arc::new(notifier_config(&[])),
        Clock::system(),
        frontdesk_tests::notifier::shipped_clinic(),
    );
    let config = frontdesk_tests::test_config(&[
        ("BOOKINGS_TABLE", tables.bookings.as_str()),
        ("GUARDS_TABLE", tables.guards.as_str()),
    ]);
    let content =
        frontdesk_tests::content::ContentHandle::published(frontdesk_tests::Backend::Embedded)
            .await;
    let app = frontdesk_cli::serve::app(
        Arc::new(NotifyingStore::new(
            Arc::new(store),
            Announcer::start(notifier),
        )),
        config,
        content.port(),
        &frontdesk_shared::ContentConfig::from_lookup(|_| None).expect("content defaults"),
        None,
        None,
        frontdesk_tests::match_key(),
    );

    let body = nth_booking(77);
    frontdesk_tests::logs::submitted_json(&body);
    let mut request = frontdesk_tests::json_request(&body);
    request.extensions_mut().insert(ClientAddr(CLIENT.into()));
    // The handler's future is dropped the moment the booking is committed,
    // as hyper drops it when the client hangs up.
    tokio::select! {
        answered = app.oneshot(request) => panic!("answered while the transaction was held: {answered:?}"),
        () = holding.applied() => {}
    }
    holding.release();

    // Stored once, and both emails arrive.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let reference = loop {
        let out = tables
            .inspect
            .scan()
            .table_name(&tables.bookings)
            .consistent_read(true)
            .send()
            .await
            .expect("scan");
        let items = out.items.unwrap_or_default();
        assert!(items.len() <= 1, "one booking");
        if let Some(item) = items.first() {
            break item["reference"].as_s().expect("a reference").clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the booking was stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let handle = frontdesk_tests::StoreHandle::Dynamo(tables.clone());
    loop {
        let mut sent = 0;
        for notice in Notice::ALL {
            sent += usize::from(handle.notice(&reference, notice).await.sent_at.is_some());
        }
        if sent == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "both emails of {reference} were sent ({sent} of 2)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(frontdesk_tests::outbox::files(mailer.dir()).len(), 2);
    let _ = std::fs::remove_dir_all(mailer.dir());
}
