//! `docs/DATA-PROTECTION.md` names every attribute frontdesk stores: a
//! booking goes through every path that writes (its guards, both emails,
//! a delivery report, a hold and a failure, a repeat, a withheld
//! acknowledgement, the desk's moves with a note and an appointment, the
//! hourly ceiling), and every attribute then found in DynamoDB Local, and
//! every column and stored JSON key in SQLite, must be in the document.

use aws_sdk_dynamodb::types::AttributeValue;
use frontdesk_shared::booking::{
    Acknowledgement, Booking, Email, Fingerprint, IdempotencyKey, Reference, Slug, SubjectTags,
    Withheld,
};
use frontdesk_shared::desk::{Appointment, Move, Note, Place, RequestState, Staff, Step};
use frontdesk_shared::notify::{ClaimToken, Delivery, Notice};
use frontdesk_shared::store::{Allowance, InsertOutcome, NewBooking, SourceKey};
use frontdesk_tests::{
    booking_at, for_each_backend, match_key, valid_booking, Backend, StoreHandle, TestClock,
};
use std::collections::{BTreeSet, HashMap};
use time::{Duration, OffsetDateTime};

for_each_backend!(every_stored_attribute_is_in_the_data_protection_document);

const DOCUMENT: &str = include_str!("../../docs/DATA-PROTECTION.md");

/// The names the document gives in code spans.
fn documented() -> BTreeSet<String> {
    DOCUMENT
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|span| span.split(", "))
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Whether the document names `stored`: itself, or an email's attribute
/// by its pattern (`<kind>_email_sent_at` for `patient_email_sent_at`).
fn is_documented(stored: &str, names: &BTreeSet<String>) -> bool {
    if names.contains(stored) {
        return true;
    }
    // An email's attributes are named by their kind (`staff`,
    // `confirmation-2`): the document names them once, as `<kind>`.
    stored
        .split_once("_email_")
        .filter(|(kind, _)| Notice::parse(kind).is_some())
        .is_some_and(|(_, field)| names.contains(&format!("<kind>_email_{field}")))
}

/// Everything one insert can write: a key, both rate counters and both
/// acknowledgement counters.
fn new(booking: Booking, key: &str, at: OffsetDateTime) -> NewBooking {
    let match_key = match_key();
    NewBooking {
        fingerprint: Fingerprint::of(&booking.details, &match_key),
        subject: SubjectTags::of(&booking.details, &match_key),
        idempotency: Some(IdempotencyKey::parse(key).unwrap().tag(&match_key)),
        rate: Some(Allowance::requests(
            SourceKey::of("192.0.2.10".parse().unwrap(), &match_key),
            at,
            10,
        )),
        acknowledgements: Some(Allowance::acknowledgements(
            booking.details.email.as_str(),
            &match_key,
            at,
        )),
        booking,
        now: at,
        repeat_of: None,
    }
}

/// Every attribute name in `items`, and the keys of the maps inside them.
fn names_in(items: &[HashMap<String, AttributeValue>], names: &mut BTreeSet<String>) {
    fn inner(value: &AttributeValue, names: &mut BTreeSet<String>) {
        match value {
            AttributeValue::M(map) => {
                for (key, value) in map {
                    names.insert(key.clone());
                    inner(value, names);
                }
            }
            AttributeValue::L(list) => list.iter().for_each(|v| inner(v, names)),
            _ => {}
        }
    }
    for item in items {
        for (key, value) in item {
            names.insert(key.clone());
            inner(value, names);
        }
    }
}

async fn stored_names(store: &StoreHandle) -> BTreeSet<String> {
    match store {
        StoreHandle::Embedded(embedded) => embedded.stored_names().await.unwrap(),
        StoreHandle::Dynamo(tables) => {
            let mut names = BTreeSet::new();
            for table in [
                &tables.bookings,
                &tables.guards,
                &tables.audit,
                &tables.marketing,
            ] {
                names_in(&tables.all_items(table).await, &mut names);
            }
            names
        }
    }
}

async fn every_stored_attribute_is_in_the_data_protection_document(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let now = clock.now();
    let port = store.port();

    // A booking for someone else, with every optional answer, and its repeat
    // with a key of its own (linked to it).
    let mut body = valid_booking();
    body["booking_for"] = serde_json::json!("someone_else");
    body["marketing_sms"] = serde_json::json!(true);
    let first = booking_at(&body, now);
    assert_eq!(
        port.insert(new(first.clone(), "data-protection-1", now))
            .await
            .unwrap(),
        InsertOutcome::Stored
    );
    let repeat = booking_at(&body, now + Duration::minutes(1));
    assert_eq!(
        port.insert(new(
            repeat.clone(),
            "data-protection-2",
            now + Duration::minutes(1)
        ))
        .await
        .unwrap(),
        InsertOutcome::Stored
    );
    // One whose acknowledgement is withheld.
    body["email"] = serde_json::json!("someone.else@example.com");
    let mut withheld = booking_at(&body, now);
    withheld.acknowledgement = Acknowledgement::Withheld(Withheld::Unverified);
    let mut unverified = new(withheld.clone(), "data-protection-3", now);
    unverified.acknowledgements = None;
    assert_eq!(
        port.insert(unverified).await.unwrap(),
        InsertOutcome::Stored
    );

    // Every state an email's record can hold: claimed, sent and reported
    // bounced, held, failed.
    let ledger = store.ledger();
    let claim = |reference: Reference, notice: Notice| {
        let ledger = ledger.clone();
        async move {
            let token = ClaimToken::new();
            ledger
                .claim(&reference, notice, &token, now, now + Duration::minutes(2))
                .await
                .unwrap();
            token
        }
    };
    claim(first.reference.clone(), Notice::Staff).await;
    claim(first.reference.clone(), Notice::Patient).await;
    ledger
        .mark_sent(&first.reference, Notice::Patient, "m-1", now)
        .await
        .unwrap();
    ledger
        .record_delivery(
            &first.reference,
            Notice::Patient,
            "m-1",
            Delivery::Bounced,
            Some("550 5.1.1 mailbox unavailable"),
            now,
        )
        .await
        .unwrap();
    let held = claim(repeat.reference.clone(), Notice::StaffFallback).await;
    ledger
        .hold(
            &repeat.reference,
            Notice::StaffFallback,
            &held,
            "AccountSuspended",
            now,
        )
        .await
        .unwrap();
    ledger
        .mark_failed(
            &withheld.reference,
            Notice::Patient,
            "withheld:unverified",
            now,
        )
        .await
        .unwrap();

    // The desk: contacted with a note, then booked, each on the trail.
    let desk = store.desk(&clock);
    let nurse = Staff {
        subject: "7d1c2e0a-nurse".into(),
        email: Email::parse("nurse@clinic.example").unwrap(),
    };
    let contacted = Step::new(
        now,
        nurse.clone(),
        RequestState::New,
        Move::Contacted,
        Some(Note::parse("Rang, left a message").unwrap()),
    )
    .unwrap();
    desk.change(&first.reference, 0, &contacted).await.unwrap();
    let booked = Step::new(
        now + Duration::minutes(5),
        nurse.clone(),
        RequestState::Contacted,
        Move::Booked(Appointment {
            at: now + Duration::days(7),
            place: Place::parse("Parkside Hospital").unwrap(),
            consultant: Some(Slug::parse("fixture-consultant").unwrap()),
        }),
        None,
    )
    .unwrap();
    desk.change(&first.reference, 1, &booked).await.unwrap();
    desk.open(&first.reference, &nurse).await.unwrap();
    // The booking's confirmation, claimed and sent.
    claim(first.reference.clone(), Notice::Confirmation(0)).await;
    ledger
        .mark_sent(&first.reference, Notice::Confirmation(0), "m-2", now)
        .await
        .unwrap();

    // An erasure's entry, with its reason, in the place of the booking it erased.
    body["email"] = serde_json::json!("erased@example.com");
    let gone = booking_at(&body, now);
    assert_eq!(
        port.insert(new(gone.clone(), "data-protection-4", now))
            .await
            .unwrap(),
        InsertOutcome::Stored
    );
    let erased = frontdesk_shared::rights::Eraser::erase(
        desk.as_ref(),
        &gone.reference,
        &[],
        &nurse,
        &frontdesk_shared::desk::Reason::parse("erasure requested by the data subject").unwrap(),
    )
    .await
    .unwrap();
    assert!(erased.is_some());

    // The marketing register: the first booking's opt-ins, one withdrawn.
    let register = store.marketing();
    let sms = frontdesk_shared::rights::marketing::key(
        frontdesk_shared::rights::Channel::Sms,
        SubjectTags::of(&first.details, &match_key()).phone.as_str(),
    );
    assert!(register.withdraw(&sms, now).await.unwrap().is_some());

    // The hourly ceiling's counter.
    assert!(store.acknowledgements().count(now, 100).await.unwrap());

    let stored = stored_names(&store).await;
    let names = documented();
    let missing: Vec<&String> = stored
        .iter()
        .filter(|name| !is_documented(name, &names))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/DATA-PROTECTION.md does not name these stored attributes: {missing:?}"
    );
    // The document is checked against something: the attributes of every
    // kind of record were found.
    for name in [
        "email",
        "history",
        "by_email",
        "note",
        "subject_email",
        "hits",
        "repeat_of",
        "acknowledgement_withheld",
        "appointment_at",
        "confirmation_sequence",
        "reason",
        "channel",
        "given_at",
        "withdrawn_at",
    ] {
        assert!(stored.contains(name), "{name} was not stored: {stored:?}");
    }
    assert!(
        stored.iter().any(|n| n.ends_with("delivery_detail")),
        "{stored:?}"
    );
}
