//! The specialties a booking may name are the conditions the content
//! publishes: a condition is bookable once its page is pushed, and no
//! longer once it is taken down, through the content cache the booking
//! function holds, against DynamoDB Local and the embedded store.

use axum::Router;
use frontdesk_booking::{router, AppState};
use frontdesk_shared::booking::intake::Intake;
use frontdesk_shared::booking::Bookable;
use frontdesk_shared::content::cache::ContentCache;
use frontdesk_shared::content::ContentStore;
use frontdesk_shared::store::dynamodb::DynamoContentStore;
use frontdesk_tests::content::{content_copy, fixture, ContentHandle};
use frontdesk_tests::{
    booking_with, call, for_each_backend, json_request, test_config, Backend, StoreHandle,
    TestClock, CLIENT,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

for_each_backend!(a_condition_is_bookable_exactly_while_it_is_published);

/// The booking router over `store`, taking as bookable the conditions
/// `content` publishes, read through a cache that keeps them for `ttl`.
fn booking_over(store: &StoreHandle, content: Arc<dyn ContentStore>, ttl: Duration) -> Router {
    let clock = TestClock::new();
    let bookable = ContentCache::new(content, ttl, clock.clock(), Bookable::of);
    let intake = Intake::new(
        store.port(),
        Arc::new(test_config(&[])),
        clock.clock(),
        Arc::new(bookable),
        frontdesk_tests::match_key(),
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
async fn without_the_content_only_a_booking_naming_no_condition_is_stored() {
    let closed = format!("http://127.0.0.1:{}", frontdesk_tests::free_port());
    let client = frontdesk_tests::dynamodb_client_at(closed, Duration::from_millis(500)).await;
    let content = DynamoContentStore::new(client, "frontdesk-content");
    let store = StoreHandle::create(Backend::Embedded).await;
    let app = booking_over(&store, Arc::new(content), Duration::from_secs(60));
    let answer = call(
        &app,
        json_request(&booking_with("message", json!("Hello"))),
        CLIENT.into(),
    )
    .await;
    assert_eq!(answer.status, 503);
    // A patient who is not sure which condition needs no list to book.
    let unsure = call(
        &app,
        json_request(&booking_with("specialty", json!("not_sure"))),
        CLIENT.into(),
    )
    .await;
    assert_eq!(
        unsure.status,
        202,
        "{}",
        String::from_utf8_lossy(&unsure.body)
    );
    assert_eq!(answer.json()["type"], "urn:frontdesk:problem:unavailable");
    assert!(answer.header("retry-after").is_some());
    assert_eq!(
        store.count().await,
        1,
        "only the one that named no condition"
    );
}
