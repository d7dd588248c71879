//! Erasure on request, on both stores: every booking of the person found
//! by their email or phone goes with its emails' state, notes and guards;
//! the export then finds nothing; the desk finds the `erased` entry in its
//! place, with the reason; no DynamoDB item and no byte of the SQLite
//! files holds the person's email, phone or name; another person's booking
//! is untouched.

use frontdesk_shared::booking::{Email, Reference};
use frontdesk_shared::desk::{AuditAction, Move, Note, Reason, RequestState, Staff, Step};
use frontdesk_shared::rights::{erase, export, ErasureRequest, Holdings, SubjectQuery};
use frontdesk_shared::store::embedded::EmbeddedBookingStore;
use frontdesk_shared::store::{Allowance, InsertOutcome, NewBooking};
use frontdesk_tests::{
    booking_at, for_each_backend, match_key, plain_insert, valid_booking, Backend, StoreHandle,
    TestClock,
};
use serde_json::json;
use std::path::PathBuf;
use time::Duration;

for_each_backend!(
    an_erased_person_leaves_nothing_but_the_trails_entry,
    an_email_being_sent_holds_its_bookings_erasure_until_it_is_sent,
);

/// What the erased person typed, searched for as bytes afterwards.
const TRACES: [&str; 5] = [
    "zara.quinlan@example.com",
    "+447700900777",
    "Zara",
    "Quinlan",
    "Second opinion on a scan",
];

fn admin() -> Staff {
    Staff {
        subject: "frontdesk-cli".into(),
        email: Email::parse("lead@clinic.example").unwrap(),
    }
}

/// An embedded store in a file of its own (so its bytes can be read), or
/// fresh DynamoDB Local tables.
async fn handle(backend: Backend) -> (StoreHandle, Option<PathBuf>) {
    match backend {
        Backend::Embedded => {
            let dir = std::env::temp_dir().join(format!(
                "frontdesk-erase-{}-{}",
                std::process::id(),
                time::OffsetDateTime::now_utc().unix_timestamp_nanos()
            ));
            frontdesk_shared::owner_only::create_dir(&dir).unwrap();
            let path = dir.join("frontdesk.sqlite3");
            let store = EmbeddedBookingStore::open(&path).unwrap();
            (StoreHandle::Embedded(store), Some(path))
        }
        Backend::DynamoDb => (StoreHandle::create(backend).await, None),
    }
}

/// Every byte the store holds: the SQLite files, or every item of every
/// table.
async fn every_byte(store: &StoreHandle, path: &Option<PathBuf>) -> Vec<u8> {
    match (store, path) {
        (StoreHandle::Dynamo(tables), _) => {
            let mut all = Vec::new();
            for table in [
                &tables.bookings,
                &tables.guards,
                &tables.audit,
                &tables.marketing,
            ] {
                all.extend(format!("{:?}", tables.all_items(table).await).into_bytes());
            }
            all
        }
        (_, Some(path)) => ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| std::fs::read(format!("{}{suffix}", path.display())).ok())
            .flatten()
            .collect(),
        _ => unreachable!("an embedded store here has a file"),
    }
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

async fn an_erased_person_leaves_nothing_but_the_trails_entry(backend: Backend) {
    let (store, path) = handle(backend).await;
    let clock = TestClock::new();
    let now = clock.now();
    let key = match_key();
    let mut zara = valid_booking();
    zara["first_name"] = json!("Zara");
    zara["last_name"] = json!("Quinlan");
    zara["email"] = json!("zara.quinlan@example.com");
    zara["phone"] = json!("07700 900777");
    zara["message"] = json!("Second opinion on a scan");
    zara["marketing_sms"] = json!(true);
    let mut second = zara.clone();
    second["preferred_times"] = json!("Evenings");
    let other = valid_booking();
    let mut references = Vec::new();
    for (body, at) in [
        (&zara, now),
        (&second, now + Duration::hours(1)),
        (&other, now),
    ] {
        let booking = booking_at(body, at);
        references.push(booking.reference.clone());
        let acknowledgements = Some(Allowance::acknowledgements(
            booking.details.email.as_str(),
            &key,
            at,
        ));
        let outcome = store
            .port()
            .insert(NewBooking {
                acknowledgements,
                ..plain_insert(booking)
            })
            .await
            .unwrap();
        assert_eq!(outcome, InsertOutcome::Stored);
    }
    let desk = store.desk(&clock);
    let nurse = Staff {
        subject: "7d1c2e0a-nurse".into(),
        email: Email::parse("nurse@clinic.example").unwrap(),
    };
    let noted = Step::new(
        now + Duration::hours(2),
        nurse,
        RequestState::New,
        Move::Contacted,
        Some(Note::parse("Zara Quinlan asked for a call on Friday").unwrap()),
    )
    .unwrap();
    desk.change(&references[0], 0, &noted).await.unwrap();
    let before = every_byte(&store, &path).await;
    assert!(
        TRACES.iter().all(|t| holds(&before, t)),
        "the store holds the person before the erasure"
    );

    clock.advance(Duration::days(1));
    let query =
        SubjectQuery::parse(Some("zara.quinlan@example.com"), Some("07700 900777")).unwrap();
    let reason = Reason::parse("erasure requested by the data subject").unwrap();
    let request = ErasureRequest {
        query: query.clone(),
        by: admin(),
        reason: reason.clone(),
        backups_until: None,
    };
    let done = erase(
        store.subjects().as_ref(),
        store.port().as_ref(),
        desk.as_ref(),
        store.marketing().as_ref(),
        &key,
        &request,
    )
    .await
    .unwrap();
    let mut erased: Vec<&Reference> = done
        .erased
        .iter()
        .filter_map(|e| e.reference.as_ref())
        .collect();
    erased.sort();
    let mut hers = vec![&references[0], &references[1]];
    hers.sort();
    assert_eq!(erased, hers);
    assert!(done.not_erased.iter().any(|l| l.contains("mailboxes")));
    // Her opt-ins to the clinic's news, by email and by text, go too.
    let mut channels: Vec<&str> = done.opt_ins.iter().map(|o| o.channel.as_str()).collect();
    channels.sort();
    assert_eq!(channels, ["email", "sms"]);

    // Nothing of the person is left, in any item or any byte of the files.
    let after = every_byte(&store, &path).await;
    for trace in TRACES {
        assert!(!holds(&after, trace), "{trace} is still stored");
    }
    // The export finds nothing; the other patient is untouched.
    let made = export(
        Holdings {
            index: store.subjects().as_ref(),
            desk: desk.as_ref(),
            register: store.marketing().as_ref(),
            wordings: &frontdesk_tests::content::shipped_model().consent,
        },
        &key,
        &query,
        &admin(),
        clock.now(),
    )
    .await
    .unwrap();
    assert!(made.bookings.is_empty());
    assert!(store.port().get(&references[2]).await.unwrap().is_some());

    // The trail keeps the erasure, with who and why, in the request's place.
    for reference in &references[..2] {
        assert!(desk.open(reference, &admin()).await.unwrap().is_none());
        let trail = desk.of_request(reference, None, 20).await.unwrap().entries;
        let entry = trail
            .iter()
            .find(|e| e.action == AuditAction::Erased)
            .expect("the erasure is on the trail");
        assert_eq!(entry.by, admin());
        assert_eq!(entry.reason.as_ref(), Some(&reason));
    }

    // Erasing again finds nothing to erase.
    let again = erase(
        store.subjects().as_ref(),
        store.port().as_ref(),
        desk.as_ref(),
        store.marketing().as_ref(),
        &key,
        &request,
    )
    .await
    .unwrap();
    assert!(again.erased.is_empty());
    if let Some(path) = path {
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}

async fn an_email_being_sent_holds_its_bookings_erasure_until_it_is_sent(backend: Backend) {
    let (store, path) = handle(backend).await;
    let clock = TestClock::new();
    let key = match_key();
    let booking = booking_at(&valid_booking(), clock.now());
    let reference = booking.reference.clone();
    let outcome = store.port().insert(plain_insert(booking)).await.unwrap();
    assert_eq!(outcome, InsertOutcome::Stored);
    // The notifier holds the acknowledgement's claim while it sends it.
    let ledger = store.ledger();
    ledger
        .claim(
            &reference,
            frontdesk_shared::notify::Notice::Patient,
            &frontdesk_shared::notify::ClaimToken::new(),
            clock.now(),
            clock.now() + Duration::minutes(2),
        )
        .await
        .unwrap();
    let desk = store.desk(&clock);
    let request = ErasureRequest {
        query: SubjectQuery::parse(Some("fixture.patient@example.com"), None).unwrap(),
        by: admin(),
        reason: Reason::parse("erasure requested by the data subject").unwrap(),
        backups_until: None,
    };
    let (index, port) = (store.subjects(), store.port());
    let register = store.marketing();
    let erase_now = || {
        erase(
            index.as_ref(),
            port.as_ref(),
            desk.as_ref(),
            register.as_ref(),
            &key,
            &request,
        )
    };
    // The erasure stops at that booking, says why, and leaves it whole.
    let stopped = erase_now().await.unwrap();
    assert_eq!(stopped.erased, []);
    let at = stopped
        .stopped
        .expect("stopped at the booking being emailed");
    assert_eq!((at.at.clone(), at.left), (Some(reference.clone()), 1));
    assert!(at.error.to_string().contains("being sent"), "{at:?}");
    assert!(store.port().get(&reference).await.unwrap().is_some());
    assert!(desk
        .of_request(&reference, None, 10)
        .await
        .unwrap()
        .entries
        .iter()
        .all(|e| e.action != AuditAction::Erased));
    // Once it is sent, the erasure takes the booking.
    ledger
        .mark_sent(
            &reference,
            frontdesk_shared::notify::Notice::Patient,
            "m-1",
            clock.now(),
        )
        .await
        .unwrap();
    let done = erase_now().await.unwrap();
    assert_eq!(done.erased.len(), 1);
    assert_eq!(done.stopped, None);
    assert!(store.port().get(&reference).await.unwrap().is_none());
    if let Some(path) = path {
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
