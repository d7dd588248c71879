//! The marketing register, against DynamoDB Local and the embedded store:
//! a booking's opt-ins to the clinic's news are registered with it, per
//! channel, with the consent wording they were given under; they outlive
//! the booking's retention until withdrawn; a withdrawal leaves no address,
//! is on the audit trail, and is not undone by the public form; a booking
//! not acknowledged opts no one in; and, in DynamoDB, an opt-in the
//! register missed is registered from its booking, never one withdrawn.

use aws_sdk_dynamodb::types::AttributeValue;
use frontdesk_shared::booking::{Acknowledgement, Email, SubjectTags, Withheld};
use frontdesk_shared::desk::{AuditAction, Staff};
use frontdesk_shared::rights::marketing::{key, withdraw};
use frontdesk_shared::rights::{Channel, SubjectQuery};
use frontdesk_shared::store::InsertOutcome;
use frontdesk_tests::{
    booking_at, for_each_backend, match_key, plain_insert, valid_booking, Backend, DynamoTables,
    StoreHandle, TestClock,
};
use serde_json::json;
use time::Duration;

for_each_backend!(
    an_opt_in_outlives_its_booking_until_it_is_withdrawn,
    a_persons_opt_ins_through_their_bookings_are_only_those_their_bookings_gave,
);

fn admin() -> Staff {
    Staff {
        subject: "frontdesk-cli".into(),
        email: Email::parse("admin@clinic.example").unwrap(),
    }
}

async fn an_opt_in_outlives_its_booking_until_it_is_withdrawn(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let now = clock.now();
    let mut body = valid_booking();
    body["email"] = json!("ola.news@example.com");
    body["phone"] = json!("07700 900555");
    body["marketing_email"] = json!(true);
    body["marketing_sms"] = json!(true);
    let booking = booking_at(&body, now);
    let reference = booking.reference.clone();
    let tags = SubjectTags::of(&booking.details, &match_key());
    let wording = booking.details.consent_wording.clone().expect("a wording");
    assert_eq!(
        store.port().insert(plain_insert(booking)).await.unwrap(),
        InsertOutcome::Stored
    );
    // A later booking without the boxes ticked withdraws nothing.
    let mut unticked = body.clone();
    unticked["marketing_email"] = json!(false);
    unticked["marketing_sms"] = json!(false);
    unticked["message"] = json!("A second question");
    let later = booking_at(&unticked, now + Duration::hours(1));
    store.port().insert(plain_insert(later)).await.unwrap();

    let register = store.marketing();
    let keys = [
        key(Channel::Email, tags.email.as_str()),
        key(Channel::Sms, tags.phone.as_str()),
    ];
    let held = register.opt_ins(&keys).await.unwrap();
    assert_eq!(held.len(), 2, "{held:?}");
    assert_eq!(held[0].channel, Channel::Email);
    assert_eq!(held[0].address, "ola.news@example.com");
    assert_eq!(held[1].channel, Channel::Sms);
    assert_eq!(held[1].address, "+447700900555");
    for opt_in in &held {
        assert_eq!(opt_in.reference, reference);
        assert_eq!(opt_in.version, "2026-11");
        assert_eq!(opt_in.wording.as_deref(), Some(wording.as_str()));
        assert_eq!(opt_in.given_at, now);
    }

    // The bookings' retention ends: the register keeps the opt-ins.
    store.end_retention(now + Duration::days(400)).await;
    assert_eq!(store.count().await, 0, "the bookings are gone");
    assert_eq!(register.opt_ins(&keys).await.unwrap(), held);

    // Withdrawn by email only: the text messages stay, and the trail says so.
    let desk = store.desk(&clock);
    let query = SubjectQuery::parse(Some("Ola.News@example.com"), Some("07700900555")).unwrap();
    let withdraw_email = |at| {
        let (register, desk, query) = (register.clone(), desk.clone(), query.clone());
        async move {
            withdraw(
                register.as_ref(),
                desk.as_ref(),
                &match_key(),
                &query,
                &[Channel::Email],
                &admin(),
                at,
            )
            .await
            .unwrap()
        }
    };
    let done = withdraw_email(now + Duration::days(400)).await;
    assert_eq!(done.removed, held[..1]);
    assert_eq!(register.opt_ins(&keys).await.unwrap(), held[1..]);
    let trail = desk.of_request(&reference, None, 10).await.unwrap().entries;
    assert!(
        trail
            .iter()
            .any(|e| e.action == AuditAction::MarketingWithdrawn && e.by == admin()),
        "{trail:?}"
    );
    // Withdrawing again finds nothing to withdraw.
    let again = withdraw_email(now + Duration::days(401)).await;
    assert!(again.removed.is_empty());
    if let StoreHandle::Dynamo(tables) = &store {
        let items = format!("{:?}", tables.all_items(&tables.marketing).await);
        assert!(!items.contains("ola.news@example.com"), "{items}");
        assert!(items.contains("withdrawn_at"), "the marker stays: {items}");
    }

    // The form is open to anyone: a booking with the box ticked does not
    // undo the withdrawal, and one whose acknowledgement is withheld
    // (its address flooded, or the human check not done) opts no one in.
    let anew = booking_at(&body, now + Duration::days(402));
    let anew_reference = anew.reference.clone();
    store.port().insert(plain_insert(anew)).await.unwrap();
    assert!(register.opt_ins(&keys[..1]).await.unwrap().is_empty());
    // The text messages, still opted in, take the latest opt-in.
    let sms = register.opt_ins(&keys[1..]).await.unwrap();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].reference, anew_reference);
    let mut stranger = body.clone();
    stranger["email"] = json!("a.stranger@example.com");
    let mut aimed = booking_at(&stranger, now + Duration::days(402));
    aimed.acknowledgement = Acknowledgement::Withheld(Withheld::Unverified);
    let stranger_key = key(
        Channel::Email,
        SubjectTags::of(&aimed.details, &match_key()).email.as_str(),
    );
    store.port().insert(plain_insert(aimed)).await.unwrap();
    assert!(register.opt_ins(&[stranger_key]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_in_the_register_missed_is_registered_from_its_booking_but_never_a_withdrawn_one() {
    let tables = DynamoTables::create().await;
    let clock = TestClock::new();
    let now = clock.now();
    let key = match_key();

    // Stored by a store whose register put fails (no table): the booking
    // keeps the opt-in.
    let blind = frontdesk_shared::store::dynamodb::DynamoBookingStore::new(
        tables.client.clone(),
        &tables.bookings,
        &tables.guards,
    );
    let mut missed = valid_booking();
    missed["email"] = json!("missed.news@example.com");
    missed["marketing_email"] = json!(true);
    let missed = booking_at(&missed, now);
    let missed_reference = missed.reference.clone();
    let missed_tags = SubjectTags::of(&missed.details, &key);
    use frontdesk_shared::store::BookingStore;
    assert_eq!(
        blind.insert(plain_insert(missed)).await.unwrap(),
        InsertOutcome::Stored
    );

    // Registered, then withdrawn.
    let store = tables.store_on(tables.client.clone());
    let mut gone = valid_booking();
    gone["email"] = json!("withdrawn.news@example.com");
    gone["phone"] = json!("07700 900666");
    gone["marketing_email"] = json!(true);
    let gone = booking_at(&gone, now);
    let gone_tags = SubjectTags::of(&gone.details, &key);
    store.insert(plain_insert(gone)).await.unwrap();
    let register: &dyn frontdesk_shared::rights::MarketingRegister = &store;
    let gone_key =
        frontdesk_shared::rights::marketing::key(Channel::Email, gone_tags.email.as_str());
    assert!(register.withdraw(&gone_key, now).await.unwrap().is_some());

    let missed_key =
        frontdesk_shared::rights::marketing::key(Channel::Email, missed_tags.email.as_str());
    assert!(register
        .opt_ins(std::slice::from_ref(&missed_key))
        .await
        .unwrap()
        .is_empty());

    let registered = store.register_missing(&key, now).await.unwrap();
    assert_eq!(registered, 1, "the missed one only");
    let found = register.opt_ins(&[missed_key]).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reference, missed_reference);
    assert!(register.opt_ins(&[gone_key]).await.unwrap().is_empty());
    // Run again, it finds nothing more to do.
    assert_eq!(store.register_missing(&key, now).await.unwrap(), 0);
    let items = tables.all_items(&tables.marketing).await;
    assert!(items
        .iter()
        .all(|item| !matches!(item.get("address"), Some(AttributeValue::S(a)) if a.starts_with("withdrawn"))));
}

async fn a_persons_opt_ins_through_their_bookings_are_only_those_their_bookings_gave(
    backend: Backend,
) {
    let store = StoreHandle::create(backend).await;
    let now = TestClock::new().now();
    // Ann ticks news by text on her booking; later someone else in her
    // household books from the same phone and ticks it too.
    let mut ann = valid_booking();
    ann["email"] = json!("ann.household@example.com");
    ann["phone"] = json!("07700 900444");
    ann["marketing_email"] = json!(false);
    ann["marketing_sms"] = json!(true);
    let ann = booking_at(&ann, now);
    let mut ben = valid_booking();
    ben["first_name"] = json!("Ben");
    ben["email"] = json!("ben.household@example.com");
    ben["phone"] = json!("07700 900444");
    ben["marketing_email"] = json!(false);
    ben["marketing_sms"] = json!(true);
    let ben = booking_at(&ben, now + Duration::hours(1));
    for booking in [ann.clone(), ben.clone()] {
        store.port().insert(plain_insert(booking)).await.unwrap();
    }
    let register = store.marketing();
    let query = SubjectQuery::parse(Some("ann.household@example.com"), None).unwrap();
    // Found by her email, through her booking: the phone's opt-in is Ben's
    // now, so it is not hers to see or erase.
    let found = frontdesk_shared::rights::marketing::opt_ins_of_person(
        register.as_ref(),
        &query,
        &match_key(),
        &[&ann],
    )
    .await
    .unwrap();
    assert!(found.is_empty(), "{found:?}");
    // Ben's own search finds it.
    let query = SubjectQuery::parse(Some("ben.household@example.com"), None).unwrap();
    let found = frontdesk_shared::rights::marketing::opt_ins_of_person(
        register.as_ref(),
        &query,
        &match_key(),
        &[&ben],
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].reference, ben.reference);
}
