//! The `BookingStore` contract: every adapter passes the same suite.

use frontdesk_shared::booking::{Booking, Fingerprint, IdempotencyKey, Reference};
use frontdesk_shared::store::{Allowance, InsertOutcome, NewBooking, SourceKey};
use frontdesk_tests::{
    booking_at, booking_with, for_each_backend, match_key, nth_booking, valid_booking, Backend,
    StoreHandle, TestClock,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

for_each_backend!(
    a_booking_reads_back_field_for_field,
    a_taken_reference_is_reported,
    a_key_replays_its_first_booking_and_refuses_another_body,
    a_keys_replay_is_answered_even_over_the_rate_limit,
    a_keyless_duplicate_stores_nothing_but_is_charged_as_a_new_request,
    a_spent_allowance_is_refused_whether_or_not_the_body_was_seen,
    a_new_key_with_the_same_details_is_a_new_request_linked_to_the_first,
    the_staggered_windows_hold_across_an_hours_edge,
    an_address_past_its_acknowledgements_is_stored_with_its_acknowledgement_withheld,
    the_hourly_ceiling_counts_to_its_limit_and_starts_again_each_hour,
    expired_guards_no_longer_hold,
    an_unknown_reference_is_none,
    a_persons_bookings_are_found_by_their_email_or_phone_and_nobody_elses,
);

fn new(
    booking: Booking,
    key: Option<&str>,
    rate: Option<Allowance>,
    now: OffsetDateTime,
) -> NewBooking {
    let match_key = match_key();
    NewBooking {
        fingerprint: Fingerprint::of(&booking.details, &match_key),
        subject: frontdesk_shared::booking::SubjectTags::of(&booking.details, &match_key),
        booking,
        idempotency: key.map(|k| IdempotencyKey::parse(k).unwrap().tag(&match_key)),
        rate,
        now,
        repeat_of: None,
        acknowledgements: None,
    }
}

fn source(addr: &str) -> SourceKey {
    SourceKey::of(addr.parse().unwrap(), &match_key())
}

async fn a_booking_reads_back_field_for_field(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let now = TestClock::new().now();
    let full = booking_at(&valid_booking(), now);
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
    let minimal = booking_at(&minimal_body, now);
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
    let first = booking_at(&nth_booking(1), now);
    let mut second = booking_at(&nth_booking(2), now);
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
    let third = booking_at(&nth_booking(3), now);
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
    let first = booking_at(&valid_booking(), clock.now());
    let (reference, received_at) = (first.reference.clone(), first.received_at);
    store
        .port()
        .insert(new(first, Some("k1"), None, clock.now()))
        .await
        .unwrap();
    clock.advance(Duration::minutes(5));
    let retry = booking_at(&valid_booking(), clock.now());
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
    let other = booking_at(
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

async fn a_keys_replay_is_answered_even_over_the_rate_limit(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let now = TestClock::new().now();
    let charge = Allowance::requests(source("192.0.2.1"), now, 1);
    let first = booking_at(&nth_booking(1), now);
    let reference = first.reference.clone();
    store
        .port()
        .insert(new(first, Some("k1"), Some(charge.clone()), now))
        .await
        .unwrap();
    let again = booking_at(&nth_booking(1), now);
    assert!(matches!(
        store.port().insert(new(again, Some("k1"), Some(charge.clone()), now)).await.unwrap(),
        InsertOutcome::Replay { reference: r, .. } if r == reference
    ));
    assert_eq!(store.count().await, 1);
}

async fn a_keyless_duplicate_stores_nothing_but_is_charged_as_a_new_request(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let now = TestClock::new().now();
    let charge = Allowance::requests(source("192.0.2.1"), now, 2);
    let first = booking_at(&nth_booking(1), now);
    assert_eq!(
        store
            .port()
            .insert(new(first, None, Some(charge.clone()), now))
            .await
            .unwrap(),
        InsertOutcome::Stored
    );
    let again = booking_at(&nth_booking(1), now);
    assert_eq!(
        store
            .port()
            .insert(new(again, None, Some(charge.clone()), now))
            .await
            .unwrap(),
        InsertOutcome::Duplicate
    );
    assert_eq!(store.count().await, 1);
    // Both used the allowance of two: a third request, new or not, is refused.
    for n in [1, 2] {
        let next = booking_at(&nth_booking(n), now);
        assert!(
            matches!(
                store
                    .port()
                    .insert(new(next, None, Some(charge.clone()), now))
                    .await
                    .unwrap(),
                InsertOutcome::RateLimited { .. }
            ),
            "booking {n}"
        );
    }
    assert_eq!(store.count().await, 1);
}

async fn a_spent_allowance_is_refused_whether_or_not_the_body_was_seen(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let now = TestClock::new().now();
    // Someone else's booking, from another address.
    let theirs = booking_at(&nth_booking(1), now);
    store
        .port()
        .insert(new(
            theirs,
            None,
            Some(Allowance::requests(source("198.51.100.7"), now, 1)),
            now,
        ))
        .await
        .unwrap();
    let charge = Allowance::requests(source("192.0.2.1"), now, 1);
    let mine = booking_at(&nth_booking(2), now);
    store
        .port()
        .insert(new(mine, None, Some(charge.clone()), now))
        .await
        .unwrap();
    for (n, key) in [
        (1, None),
        (1, Some("fresh")),
        (3, None),
        (3, Some("fresh-2")),
    ] {
        let probe = booking_at(&nth_booking(n), now);
        assert_eq!(
            store
                .port()
                .insert(new(probe, key, Some(charge.clone()), now))
                .await
                .unwrap(),
            InsertOutcome::RateLimited {
                until: charge.retry_at([true, true])
            },
            "booking {n} with key {key:?}"
        );
    }
    assert_eq!(store.count().await, 2);
}

async fn a_new_key_with_the_same_details_is_a_new_request_linked_to_the_first(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let first = booking_at(&valid_booking(), clock.now());
    let first_reference = first.reference.clone();
    store
        .port()
        .insert(new(first, Some("page-1"), None, clock.now()))
        .await
        .unwrap();
    clock.advance(Duration::minutes(10));
    let second = booking_at(&valid_booking(), clock.now());
    let second_reference = second.reference.clone();
    assert_eq!(
        store
            .port()
            .insert(new(second, Some("page-2"), None, clock.now()))
            .await
            .unwrap(),
        InsertOutcome::Stored
    );
    assert_eq!(store.count().await, 2);
    let staff = frontdesk_shared::desk::Staff {
        subject: "fixture-staff".into(),
        email: frontdesk_shared::booking::Email::parse("staff@clinic.example").unwrap(),
    };
    let desk = store.desk(&clock);
    let seen = desk.open(&second_reference, &staff).await.unwrap().unwrap();
    assert_eq!(seen.repeat_of, Some(first_reference.clone()));
    let seen = desk.open(&first_reference, &staff).await.unwrap().unwrap();
    assert_eq!(seen.repeat_of, None);
    // A third key: linked to the first too, whose fingerprint still holds.
    let third = booking_at(&valid_booking(), clock.now());
    let third_reference = third.reference.clone();
    store
        .port()
        .insert(new(third, Some("page-3"), None, clock.now()))
        .await
        .unwrap();
    let seen = desk.open(&third_reference, &staff).await.unwrap().unwrap();
    assert_eq!(seen.repeat_of, Some(first_reference));
    // Each key still replays its own.
    let retry = booking_at(&valid_booking(), clock.now());
    assert!(matches!(
        store.port().insert(new(retry, Some("page-2"), None, clock.now())).await.unwrap(),
        InsertOutcome::Replay { reference, .. } if reference == second_reference
    ));
}

async fn the_staggered_windows_hold_across_an_hours_edge(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let hour = OffsetDateTime::from_unix_timestamp(
        clock.now().unix_timestamp().div_euclid(3600) * 3600 + 3600,
    )
    .unwrap();
    let ann = source("192.0.2.1");
    let mut n = 0;
    let mut try_at = |at: OffsetDateTime| {
        n += 1;
        let store = store.clone();
        let ann = ann.clone();
        async move {
            let b = booking_at(&nth_booking(n), at);
            store
                .port()
                .insert(new(b, None, Some(Allowance::requests(ann, at, 1)), at))
                .await
                .unwrap()
        }
    };
    // A minute before the hour: accepted.
    assert_eq!(
        try_at(hour - Duration::minutes(1)).await,
        InsertOutcome::Stored
    );
    // A minute after: a new window of the first grid, but the staggered one
    // (open since half past) is spent until half past.
    assert_eq!(
        try_at(hour + Duration::minutes(1)).await,
        InsertOutcome::RateLimited {
            until: hour + Duration::minutes(30)
        }
    );
    // Half past: the staggered grid opens a new window, the first grid's is still empty.
    assert_eq!(
        try_at(hour + Duration::minutes(30)).await,
        InsertOutcome::Stored
    );
}

async fn expired_guards_no_longer_hold(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let source = source("192.0.2.1");
    let first = booking_at(&valid_booking(), clock.now());
    let charge = Allowance::requests(source.clone(), clock.now(), 1);
    store
        .port()
        .insert(new(first, Some("k1"), Some(charge), clock.now()))
        .await
        .unwrap();
    clock.advance(Duration::hours(24) + Duration::seconds(1));
    let later = booking_at(&booking_with("message", json!("A day later.")), clock.now());
    let charge = Allowance::requests(source, clock.now(), 1);
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

async fn an_address_past_its_acknowledgements_is_stored_with_its_acknowledgement_withheld(
    backend: Backend,
) {
    use frontdesk_shared::booking::{Acknowledgement, Withheld};
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let mut withheld = Vec::new();
    for n in 0..5 {
        let mut body = nth_booking(n);
        body["email"] = json!("one.address@example.com");
        let b = booking_at(&body, clock.now());
        let reference = b.reference.clone();
        let mut entry = new(b, Some(&format!("key-{n}")), None, clock.now());
        entry.acknowledgements = Some(frontdesk_shared::store::Allowance::acknowledgements(
            "one.address@example.com",
            &match_key(),
            clock.now(),
        ));
        assert_eq!(
            store.port().insert(entry).await.unwrap(),
            InsertOutcome::Stored,
            "booking {n} is stored"
        );
        let stored = store.port().get(&reference).await.unwrap().unwrap();
        withheld.push(stored.acknowledgement != Acknowledgement::Owed);
        if n >= 3 {
            assert_eq!(
                stored.acknowledgement,
                Acknowledgement::Withheld(Withheld::AddressCap)
            );
        }
        clock.advance(Duration::hours(1));
    }
    assert_eq!(withheld, [false, false, false, true, true]);
    // A day after the first three, the address is acknowledged again.
    clock.advance(Duration::hours(44));
    let mut body = nth_booking(9);
    body["email"] = json!("one.address@example.com");
    let b = booking_at(&body, clock.now());
    let reference = b.reference.clone();
    let mut entry = new(b, Some("key-later"), None, clock.now());
    entry.acknowledgements = Some(frontdesk_shared::store::Allowance::acknowledgements(
        "one.address@example.com",
        &match_key(),
        clock.now(),
    ));
    store.port().insert(entry).await.unwrap();
    assert_eq!(
        store
            .port()
            .get(&reference)
            .await
            .unwrap()
            .unwrap()
            .acknowledgement,
        Acknowledgement::Owed
    );
}

async fn the_hourly_ceiling_counts_to_its_limit_and_starts_again_each_hour(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let counter = store.acknowledgements();
    let hour = OffsetDateTime::from_unix_timestamp(1_800_000_000 / 3600 * 3600).unwrap();
    let counted: Vec<bool> = {
        let mut counted = Vec::new();
        for minute in [0, 10, 20, 59] {
            counted.push(
                counter
                    .count(hour + Duration::minutes(minute), 3)
                    .await
                    .unwrap(),
            );
        }
        counted
    };
    assert_eq!(counted, [true, true, true, false]);
    assert!(counter.count(hour + Duration::hours(1), 3).await.unwrap());
}

async fn a_persons_bookings_are_found_by_their_email_or_phone_and_nobody_elses(backend: Backend) {
    use frontdesk_shared::booking::{Email, SubjectTag, UkPhone};
    let store = StoreHandle::create(backend).await;
    let now = TestClock::new().now();
    let key = match_key();
    let person = |email: &str, phone: &str, last_name: &str| {
        let mut body = valid_booking();
        body["email"] = json!(email);
        body["phone"] = json!(phone);
        body["last_name"] = json!(last_name);
        body
    };
    // Ann twice (the second in capitals, a minute later), Bea once with
    // Ann's surname, and one of Ann's past its retention.
    let first = booking_at(&person("ann@example.com", "07700 900111", "Smith"), now);
    let second = booking_at(
        &person("ANN@Example.com", "07700 900111", "Smith-Jones"),
        now + Duration::minutes(1),
    );
    let bea = booking_at(&person("bea@example.com", "07700 900222", "Smith"), now);
    let mut gone = booking_at(
        &person("ann@example.com", "07700 900111", "Smith"),
        now - Duration::days(400),
    );
    gone.expires_at = now - Duration::days(35);
    for (b, at) in [
        (&gone, now - Duration::days(400)),
        (&first, now),
        (&second, now + Duration::minutes(1)),
        (&bea, now),
    ] {
        let outcome = store
            .port()
            .insert(new(b.clone(), None, None, at))
            .await
            .unwrap();
        assert_eq!(outcome, InsertOutcome::Stored);
    }
    let index = store.subjects();
    let by_email = index
        .bookings_of(
            &SubjectTag::email(&Email::parse("Ann@EXAMPLE.com").unwrap(), &key),
            now + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        by_email,
        [first.reference.clone(), second.reference.clone()],
        "oldest first, the expired one left out"
    );
    let by_phone = index
        .bookings_of(
            &SubjectTag::phone(&UkPhone::parse("07700 900111").unwrap(), &key),
            now + Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(by_phone, by_email);
    let nobody = index
        .bookings_of(
            &SubjectTag::email(&Email::parse("cat@example.com").unwrap(), &key),
            now,
        )
        .await
        .unwrap();
    assert!(nobody.is_empty());
    // A tag made under another key finds nothing: the store holds no value
    // that can be matched without the clinic's key.
    let other_key = frontdesk_shared::match_key::MatchKey::new(1, &"k".repeat(32)).unwrap();
    let guessed = index
        .bookings_of(
            &SubjectTag::email(&Email::parse("ann@example.com").unwrap(), &other_key),
            now,
        )
        .await
        .unwrap();
    assert!(guessed.is_empty());
}
