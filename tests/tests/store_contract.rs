//! The `BookingStore` contract: every adapter passes the same suite.

use frontdesk_shared::booking::request::ParseContext;
use frontdesk_shared::booking::{
    Booking, BookingRequest, Fingerprint, IdempotencyKey, Reference, Slug,
};
use frontdesk_shared::store::{InsertOutcome, NewBooking, RateCharge, SourceKey};
use frontdesk_tests::{
    booking_with, for_each_backend, nth_booking, valid_booking, Backend, StoreHandle, TestClock,
};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

for_each_backend!(
    a_booking_reads_back_field_for_field,
    a_taken_reference_is_reported,
    a_key_replays_its_first_booking_and_refuses_another_body,
    a_replay_is_answered_even_over_the_rate_limit,
    expired_guards_no_longer_hold,
    an_unknown_reference_is_none,
);

fn booking(body: &Value, at: OffsetDateTime) -> Booking {
    let specialties = vec![Slug::parse("neuroendocrine-tumours").unwrap()];
    let request = BookingRequest::from_json(body.to_string().as_bytes()).expect("decodes");
    let details = request
        .parse(&ParseContext {
            specialties: &specialties,
            today: at.date(),
        })
        .expect("valid");
    Booking {
        reference: Reference::generate().unwrap(),
        received_at: at,
        details,
        expires_at: at + Duration::days(365),
    }
}

fn new(
    booking: Booking,
    key: Option<&str>,
    rate: Option<RateCharge>,
    now: OffsetDateTime,
) -> NewBooking {
    NewBooking {
        fingerprint: Fingerprint::of(&booking.details),
        booking,
        idempotency_key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
        rate,
        now,
    }
}

async fn a_booking_reads_back_field_for_field(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let now = TestClock::new().now();
    let full = booking(&valid_booking(), now);
    let mut minimal_body = valid_booking();
    for field in [
        "consultant",
        "insurer",
        "policy_number",
        "preferred_times",
        "message",
        "gp_referral",
        "marketing_email",
    ] {
        minimal_body.as_object_mut().unwrap().remove(field);
    }
    minimal_body["payment"] = json!("self_pay");
    let minimal = booking(&minimal_body, now);
    for b in [full, minimal] {
        let outcome = store
            .port()
            .insert(new(b.clone(), None, None, now))
            .await
            .unwrap();
        assert_eq!(outcome, InsertOutcome::Stored);
        assert_eq!(store.port().get(&b.reference).await.unwrap(), Some(b));
    }
    assert_eq!(store.count().await, 2);
}

async fn a_taken_reference_is_reported(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let now = TestClock::new().now();
    let first = booking(&nth_booking(1), now);
    let mut second = booking(&nth_booking(2), now);
    second.reference = first.reference.clone();
    assert_eq!(
        store
            .port()
            .insert(new(first, None, None, now))
            .await
            .unwrap(),
        InsertOutcome::Stored
    );
    assert_eq!(
        store
            .port()
            .insert(new(second, Some("other-key"), None, now))
            .await
            .unwrap(),
        InsertOutcome::ReferenceTaken
    );
    assert_eq!(store.count().await, 1);
    // Nothing of the refused insert was kept: its key is still free.
    let third = booking(&nth_booking(3), now);
    assert_eq!(
        store
            .port()
            .insert(new(third, Some("other-key"), None, now))
            .await
            .unwrap(),
        InsertOutcome::Stored
    );
}

async fn a_key_replays_its_first_booking_and_refuses_another_body(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let first = booking(&valid_booking(), clock.now());
    let (reference, received_at) = (first.reference.clone(), first.received_at);
    store
        .port()
        .insert(new(first, Some("k1"), None, clock.now()))
        .await
        .unwrap();
    clock.advance(Duration::minutes(5));
    let retry = booking(&valid_booking(), clock.now());
    assert_eq!(
        store
            .port()
            .insert(new(retry, Some("k1"), None, clock.now()))
            .await
            .unwrap(),
        InsertOutcome::Replay {
            reference,
            received_at
        }
    );
    let other = booking(
        &booking_with("message", json!("Another question.")),
        clock.now(),
    );
    assert_eq!(
        store
            .port()
            .insert(new(other, Some("k1"), None, clock.now()))
            .await
            .unwrap(),
        InsertOutcome::KeyReused
    );
    assert_eq!(store.count().await, 1);
}

async fn a_replay_is_answered_even_over_the_rate_limit(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let now = TestClock::new().now();
    let source = SourceKey::of("192.0.2.1".parse().unwrap());
    let charge = RateCharge::at(source, now, 1);
    let first = booking(&nth_booking(1), now);
    let reference = first.reference.clone();
    store
        .port()
        .insert(new(first, None, Some(charge.clone()), now))
        .await
        .unwrap();
    let again = booking(&nth_booking(1), now);
    assert!(matches!(
        store.port().insert(new(again, None, Some(charge.clone()), now)).await.unwrap(),
        InsertOutcome::Replay { reference: r, .. } if r == reference
    ));
    let another = booking(&nth_booking(2), now);
    assert_eq!(
        store
            .port()
            .insert(new(another, None, Some(charge.clone()), now))
            .await
            .unwrap(),
        InsertOutcome::RateLimited {
            until: charge.window_end()
        }
    );
    assert_eq!(store.count().await, 1);
}

async fn expired_guards_no_longer_hold(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let source = SourceKey::of("192.0.2.1".parse().unwrap());
    let first = booking(&valid_booking(), clock.now());
    let charge = RateCharge::at(source.clone(), clock.now(), 1);
    store
        .port()
        .insert(new(first, Some("k1"), Some(charge), clock.now()))
        .await
        .unwrap();
    clock.advance(Duration::hours(24) + Duration::seconds(1));
    let later = booking(&booking_with("message", json!("A day later.")), clock.now());
    let charge = RateCharge::at(source, clock.now(), 1);
    assert_eq!(
        store
            .port()
            .insert(new(later, Some("k1"), Some(charge), clock.now()))
            .await
            .unwrap(),
        InsertOutcome::Stored
    );
    assert_eq!(store.count().await, 2);
}

async fn an_unknown_reference_is_none(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    assert_eq!(
        store
            .port()
            .get(&Reference::generate().unwrap())
            .await
            .unwrap(),
        None
    );
}
