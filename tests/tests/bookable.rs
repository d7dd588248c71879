//! What a booking may name comes from the published content, through the
//! content cache the booking function holds, against DynamoDB Local and
//! the embedded store: a condition is bookable once its page is pushed, and
//! no longer once it is taken down; a consent wording is taken while it is
//! the one the form shows, and for a day after a new one replaces it.

use axum::Router;
use frontdesk_booking::{router, AppState};
use frontdesk_shared::booking::intake::Intake;
use frontdesk_shared::booking::Bookable;
use frontdesk_shared::content::cache::ContentCache;
use frontdesk_shared::content::ContentStore;
use frontdesk_shared::store::dynamodb::DynamoContentStore;
use frontdesk_tests::content::{content_copy, fixture, ContentHandle};
use frontdesk_tests::{
    booking_with, call, for_each_backend, json_request, test_config, valid_booking, Backend,
    StoreHandle, TestClock, CLIENT,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

for_each_backend!(
    a_condition_is_bookable_exactly_while_it_is_published,
    a_booking_keeps_the_consent_wording_it_names_and_an_unpublished_one_is_refused,
    the_replaced_wording_is_taken_for_a_day_after_a_new_one_is_pushed,
);

/// The booking router over `store`, taking as bookable the conditions
/// `content` publishes, read through a cache that keeps them for `ttl`.
fn booking_over(store: &StoreHandle, content: Arc<dyn ContentStore>, ttl: Duration) -> Router {
    booking_at(store, content, ttl, &TestClock::new())
}

/// `booking_over`, with the clock the test moves.
fn booking_at(
    store: &StoreHandle,
    content: Arc<dyn ContentStore>,
    ttl: Duration,
    clock: &TestClock,
) -> Router {
    let bookable = ContentCache::new(content, ttl, clock.clock(), Bookable::of);
    let intake = Intake::new(
        store.port(),
        Arc::new(test_config(&[])),
        clock.clock(),
        Arc::new(bookable),
        frontdesk_tests::held_match_key(),
    );
    router(AppState::new(intake))
}

async fn a_condition_is_bookable_exactly_while_it_is_published(backend: Backend) {
    let content = ContentHandle::create(backend).await;
    let folder = content_copy();
    let page = folder.path().join("conditions/fixture-condition.md");
    std::fs::copy(
        fixture("content-condition").join("fixture-condition.md"),
        &page,
    )
    .expect("the condition fixture");
    content.push(folder.path()).await;

    let store = StoreHandle::create(backend).await;
    // Read for every request, so a push is seen at once.
    let app = booking_over(&store, content.port(), Duration::ZERO);
    let book = |specialty: &str| json_request(&booking_with("specialty", json!(specialty)));

    let published = call(&app, book("fixture-condition"), CLIENT.into()).await;
    assert_eq!(
        published.status,
        202,
        "{}",
        String::from_utf8_lossy(&published.body)
    );

    std::fs::remove_file(&page).expect("the page taken down");
    content.push(folder.path()).await;
    let withdrawn = call(&app, book("fixture-condition"), CLIENT.into()).await;
    assert_eq!(withdrawn.status, 422);
    assert_eq!(withdrawn.error_fields(), ["specialty"]);
    let still = call(&app, book("neuroendocrine-tumours"), CLIENT.into()).await;
    assert_eq!(still.status, 202);
    assert_eq!(store.count().await, 2);
}

#[tokio::test]
async fn without_the_content_nothing_is_stored() {
    let closed = format!("http://127.0.0.1:{}", frontdesk_tests::free_port());
    let client = frontdesk_tests::dynamodb_client_at(closed, Duration::from_millis(500)).await;
    let content = DynamoContentStore::new(client, "frontdesk-content");
    let store = StoreHandle::create(Backend::Embedded).await;
    let app = booking_over(&store, Arc::new(content), Duration::from_secs(60));
    // Every booking names a consent wording, so even a patient who is not
    // sure which condition cannot book until the content can be read.
    for body in [
        booking_with("message", json!("Hello")),
        booking_with("specialty", json!("not_sure")),
    ] {
        let answer = call(&app, json_request(&body), CLIENT.into()).await;
        assert_eq!(answer.status, 503);
        assert_eq!(answer.json()["type"], "urn:frontdesk:problem:unavailable");
        assert!(answer.header("retry-after").is_some());
    }
    assert_eq!(store.count().await, 0);
}

#[tokio::test]
async fn without_a_published_consent_wording_nothing_is_stored() {
    let content = ContentHandle::create(Backend::Embedded).await;
    let folder = content_copy();
    std::fs::remove_dir_all(folder.path().join("consent")).unwrap();
    let loaded = frontdesk_shared::content::source::load(folder.path()).unwrap_err();
    assert!(loaded.iter().any(|d| d.message.contains("consent wording")));
    // A store filled before wordings were content: its conditions alone.
    let mut old = frontdesk_cli::content::check(&frontdesk_tests::content::shipped_content())
        .expect("shipped content");
    old.consent.clear();
    frontdesk_shared::content::push(content.port().as_ref(), &old, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let store = StoreHandle::create(Backend::Embedded).await;
    let app = booking_over(&store, content.port(), Duration::ZERO);
    let answer = call(&app, json_request(&valid_booking()), CLIENT.into()).await;
    assert_eq!(answer.status, 503);
    assert_eq!(store.count().await, 0);
}

async fn a_booking_keeps_the_consent_wording_it_names_and_an_unpublished_one_is_refused(
    backend: Backend,
) {
    let content = ContentHandle::published(backend).await;
    let store = StoreHandle::create(backend).await;
    let app = booking_over(&store, content.port(), Duration::ZERO);

    let unpublished = call(
        &app,
        json_request(&booking_with("consent_version", json!("2026-01"))),
        CLIENT.into(),
    )
    .await;
    assert_eq!(unpublished.status, 422);
    assert_eq!(unpublished.error_fields(), ["consent_version"]);
    assert!(unpublished.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("reload the page"));
    assert_eq!(store.count().await, 0, "nothing stored");

    let reference = stored(&app, valid_booking()).await;
    let shipped = frontdesk_cli::content::check(&frontdesk_tests::content::shipped_content())
        .expect("shipped content");
    let wording = shipped.current_consent().expect("a wording");
    let record = store.record(&reference).await.expect("stored");
    assert_eq!(record.consent_version, wording.version.as_str());
    assert_eq!(
        record.consent_wording.as_deref(),
        Some(wording.sha256.as_str())
    );
    // The hash is of the three labels as the form shows them.
    use sha2::Digest;
    let labels = format!(
        "{}\n{}\n{}\n",
        wording.contact, wording.marketing_email, wording.marketing_sms
    );
    assert_eq!(
        wording.sha256,
        hex::encode(sha2::Sha256::digest(labels.as_bytes()))
    );
}

async fn the_replaced_wording_is_taken_for_a_day_after_a_new_one_is_pushed(backend: Backend) {
    let content = ContentHandle::create(backend).await;
    let folder = content_copy();
    let clock = TestClock::new();
    content
        .push_at(folder.path(), clock.now() - time::Duration::days(30))
        .await;
    std::fs::write(
        folder.path().join("consent/2099-01.md"),
        "---\nversion: 2099-01\nintroduced: 2099-01-01\n\
         contact: Fixture contact wording, new.\nmarketing_email: Fixture emails.\n\
         marketing_sms: Fixture texts.\n---\n",
    )
    .unwrap();
    content.push_at(folder.path(), clock.now()).await;
    let store = StoreHandle::create(backend).await;
    let app = booking_at(&store, content.port(), Duration::ZERO, &clock);
    let body = |version: &str, n: u32| {
        let mut body = booking_with("consent_version", json!(version));
        body["email"] = json!(format!("fixture.grace+{n}@example.com"));
        body
    };

    let mut references = vec![stored(&app, body("2099-01", 1)).await];
    clock.advance(time::Duration::hours(23));
    // A page opened before the push still books.
    references.push(stored(&app, body("2026-11", 2)).await);
    clock.advance(time::Duration::hours(1));
    let too_late = call(&app, json_request(&body("2026-11", 3)), CLIENT.into()).await;
    assert_eq!(too_late.status, 422);
    assert_eq!(too_late.error_fields(), ["consent_version"]);
    references.push(stored(&app, body("2099-01", 4)).await);

    let mut kept = Vec::new();
    for reference in &references {
        let record = store.record(reference).await.expect("stored");
        kept.push((record.consent_version, record.consent_wording));
    }
    kept.sort();
    let held = frontdesk_cli::content::check(folder.path()).unwrap();
    let hash = |v: &str| {
        held.consent
            .iter()
            .find(|w| w.version.as_str() == v)
            .map(|w| w.sha256.clone())
    };
    assert_eq!(
        kept,
        [
            ("2026-11".to_owned(), hash("2026-11")),
            ("2099-01".to_owned(), hash("2099-01")),
            ("2099-01".to_owned(), hash("2099-01")),
        ]
    );
    assert_ne!(hash("2026-11"), hash("2099-01"));
}

/// Books `body` with a key of its own: the reference it was stored under.
async fn stored(app: &Router, mut body: serde_json::Value) -> String {
    body["idempotency_key"] = json!(frontdesk_tests::fresh_key());
    let answer = call(app, json_request(&body), CLIENT.into()).await;
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()["reference"]
        .as_str()
        .expect("a reference")
        .to_owned()
}
