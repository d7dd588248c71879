//! The desk's ports (`RequestInbox`, `AuditTrail`): every adapter passes the
//! same suite, SQLite and DynamoDB Local.

use frontdesk_shared::booking::request::ParseContext;
use frontdesk_shared::booking::{
    Booking, BookingRequest, Email, Fingerprint, Reference, Slug, Specialty,
};
use frontdesk_shared::desk::{
    Appointment, AuditAction, AuditEntry, Changed, DeskStore, InboxQuery, Move, Note, Place,
    RequestState, Staff, Step,
};
use frontdesk_shared::store::{InsertOutcome, NewBooking, StoreError};
use frontdesk_tests::{
    booking_with, for_each_backend, nth_booking, Backend, StoreHandle, TestClock,
};
use serde_json::json;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

for_each_backend!(
    the_inbox_lists_each_state_newest_first_in_full_pages,
    opening_a_request_is_on_the_trail_before_it_is_read,
    a_request_moves_through_the_workflow_with_its_history_and_trail,
    of_two_changes_at_once_exactly_one_wins,
    a_change_from_a_stale_version_changes_nothing,
    an_unknown_request_is_not_found,
    a_change_whose_audit_entry_cannot_be_written_is_not_applied,
    the_whole_trail_pages_newest_first,
);

const NET: &str = "neuroendocrine-tumours";

fn nurse() -> Staff {
    Staff {
        subject: "7d1c2e0a-nurse".into(),
        email: Email::parse("nurse@clinic.example").unwrap(),
    }
}

fn other_nurse() -> Staff {
    Staff {
        subject: "8e2d3f1b-other".into(),
        email: Email::parse("other@clinic.example").unwrap(),
    }
}

/// Stores the `n`th fixture booking at `at`, about `specialty`.
async fn store_booking(
    store: &StoreHandle,
    n: usize,
    specialty: &str,
    at: OffsetDateTime,
) -> Reference {
    let mut body = nth_booking(n);
    body["specialty"] = json!(specialty);
    if specialty == "not_sure" {
        body = {
            let mut b = booking_with("consultant", serde_json::Value::Null);
            b["email"] = json!(format!("fixture.patient+{n}@example.com"));
            b["specialty"] = json!("not_sure");
            b
        };
    }
    let specialties = vec![Slug::parse(NET).unwrap()];
    let details = BookingRequest::from_json(body.to_string().as_bytes())
        .expect("decodes")
        .parse(&ParseContext {
            specialties: &specialties,
            today: at.date(),
        })
        .expect("valid");
    let booking = Booking {
        reference: Reference::generate().unwrap(),
        received_at: at,
        details,
        expires_at: at + Duration::days(365),
    };
    let reference = booking.reference.clone();
    let outcome = store
        .port()
        .insert(NewBooking {
            fingerprint: Fingerprint::of(&booking.details),
            booking,
            idempotency_key: None,
            rate: None,
            now: at,
        })
        .await
        .unwrap();
    assert_eq!(outcome, InsertOutcome::Stored);
    reference
}

fn query(state: RequestState, specialty: Option<&str>, limit: u16) -> InboxQuery {
    InboxQuery {
        state,
        specialty: specialty.map(|s| Specialty::from_stored(s).unwrap()),
        after: None,
        limit,
    }
}

/// Every reference the query lists, page by page, and the size of each page.
async fn all_pages(desk: &Arc<dyn DeskStore>, mut q: InboxQuery) -> (Vec<Reference>, Vec<usize>) {
    let (mut references, mut sizes) = (Vec::new(), Vec::new());
    loop {
        let page = desk.page(&q).await.unwrap();
        sizes.push(page.rows.len());
        references.extend(page.rows.iter().map(|r| r.reference.clone()));
        match page.next {
            Some(next) => q.after = Some(next),
            None => return (references, sizes),
        }
    }
}

fn contacted(at: OffsetDateTime, by: Staff, note: Option<&str>) -> Step {
    Step::new(
        at,
        by,
        RequestState::New,
        Move::Contacted,
        note.map(|n| Note::parse(n).unwrap()),
    )
    .unwrap()
}

async fn the_inbox_lists_each_state_newest_first_in_full_pages(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let desk = store.desk();
    let start = TestClock::new().now();
    let mut stored = Vec::new();
    for (n, specialty) in [NET, "not_sure", NET, NET, "not_sure"]
        .into_iter()
        .enumerate()
    {
        stored.push((
            store_booking(&store, n, specialty, start + Duration::minutes(n as i64)).await,
            specialty,
        ));
    }
    let newest_first: Vec<Reference> = stored.iter().rev().map(|(r, _)| r.clone()).collect();
    let (listed, sizes) = all_pages(&desk, query(RequestState::New, None, 2)).await;
    assert_eq!(listed, newest_first);
    assert_eq!(
        sizes[..3],
        [2, 2, 1],
        "full pages until the last: {sizes:?}"
    );

    let net: Vec<Reference> = stored
        .iter()
        .rev()
        .filter(|(_, s)| *s == NET)
        .map(|(r, _)| r.clone())
        .collect();
    assert_eq!(
        all_pages(&desk, query(RequestState::New, Some(NET), 10))
            .await
            .0,
        net
    );
    let page = desk
        .page(&query(RequestState::New, Some("not_sure"), 10))
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 2);
    assert!(page
        .rows
        .iter()
        .all(|r| r.specialty == Specialty::NotSure && r.version == 0));
    assert!(desk
        .page(&query(RequestState::Contacted, None, 10))
        .await
        .unwrap()
        .rows
        .is_empty());
}

async fn opening_a_request_is_on_the_trail_before_it_is_read(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let desk = store.desk();
    let now = TestClock::new().now();
    let reference = store_booking(&store, 1, NET, now).await;
    let seen = AuditEntry::viewed(now, nurse(), reference.clone());
    let request = desk.open(&reference, &seen).await.unwrap().expect("there");
    assert_eq!(request.state, RequestState::New);
    assert_eq!(request.version, 0);
    assert!(request.history.is_empty());
    assert_eq!(
        request.booking,
        store.port().get(&reference).await.unwrap().unwrap()
    );
    let trail = desk.of_request(&reference, None, 10).await.unwrap();
    assert_eq!(trail.entries, [seen.clone()]);
    assert_eq!(desk.whole(None, 10).await.unwrap().entries, [seen]);
}

async fn a_request_moves_through_the_workflow_with_its_history_and_trail(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let desk = store.desk();
    let now = TestClock::new().now();
    let reference = store_booking(&store, 1, NET, now).await;
    let first = contacted(
        now + Duration::minutes(5),
        nurse(),
        Some("Rang, left a message"),
    );
    assert_eq!(
        desk.change(&reference, 0, &first).await.unwrap(),
        Changed::Applied { version: 1 }
    );
    let appointment = Appointment {
        at: now + Duration::days(7),
        place: Place::parse("Parkside Hospital").unwrap(),
        consultant: Some(Slug::parse("jane-doe").unwrap()),
    };
    let second = Step::new(
        now + Duration::minutes(9),
        other_nurse(),
        RequestState::Contacted,
        Move::Booked(appointment),
        None,
    )
    .unwrap();
    assert_eq!(
        desk.change(&reference, 1, &second).await.unwrap(),
        Changed::Applied { version: 2 }
    );

    let seen = AuditEntry::viewed(now + Duration::minutes(10), nurse(), reference.clone());
    let request = desk.open(&reference, &seen).await.unwrap().unwrap();
    assert_eq!(request.state, RequestState::Booked);
    assert_eq!(request.version, 2);
    assert_eq!(request.history, [first.clone(), second.clone()]);

    // The request has left `new` and is listed as booked, in its specialty too.
    assert!(desk
        .page(&query(RequestState::New, None, 10))
        .await
        .unwrap()
        .rows
        .is_empty());
    assert!(desk
        .page(&query(RequestState::Contacted, Some(NET), 10))
        .await
        .unwrap()
        .rows
        .is_empty());
    for specialty in [None, Some(NET)] {
        let rows = desk
            .page(&query(RequestState::Booked, specialty, 10))
            .await
            .unwrap()
            .rows;
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].reference.clone(), rows[0].version),
            (reference.clone(), 2)
        );
    }

    let trail = desk.of_request(&reference, None, 10).await.unwrap().entries;
    let actions: Vec<(AuditAction, String)> = trail
        .iter()
        .map(|e| (e.action, e.by.subject.clone()))
        .collect();
    assert_eq!(
        actions,
        [
            (AuditAction::Viewed, nurse().subject),
            (
                AuditAction::Changed {
                    from: RequestState::Contacted,
                    to: RequestState::Booked
                },
                other_nurse().subject
            ),
            (
                AuditAction::Changed {
                    from: RequestState::New,
                    to: RequestState::Contacted
                },
                nurse().subject
            ),
        ]
    );
}

async fn of_two_changes_at_once_exactly_one_wins(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let desk = store.desk();
    let now = TestClock::new().now();
    let reference = store_booking(&store, 1, NET, now).await;
    let (a, b) = (
        contacted(now, nurse(), Some("mine")),
        contacted(now, other_nurse(), Some("theirs")),
    );
    let (one, two) = tokio::join!(
        desk.change(&reference, 0, &a),
        desk.change(&reference, 0, &b)
    );
    let outcomes = [one.unwrap(), two.unwrap()];
    let applied = outcomes
        .iter()
        .filter(|o| **o == Changed::Applied { version: 1 })
        .count();
    let lost = outcomes
        .iter()
        .filter(|o| {
            **o == Changed::Conflict {
                state: RequestState::Contacted,
                version: 1,
            }
        })
        .count();
    assert_eq!((applied, lost), (1, 1), "{outcomes:?}");
    let winner = if outcomes[0] == (Changed::Applied { version: 1 }) {
        &a
    } else {
        &b
    };
    let trail = desk.of_request(&reference, None, 10).await.unwrap().entries;
    assert_eq!(trail.len(), 1, "only the winner is on the trail: {trail:?}");
    assert_eq!(trail[0].by, winner.by);
    let seen = AuditEntry::viewed(now, nurse(), reference.clone());
    assert_eq!(
        desk.open(&reference, &seen).await.unwrap().unwrap().history,
        [winner.clone()]
    );
}

async fn a_change_from_a_stale_version_changes_nothing(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let desk = store.desk();
    let now = TestClock::new().now();
    let reference = store_booking(&store, 1, NET, now).await;
    let step = contacted(now, nurse(), None);
    assert_eq!(
        desk.change(&reference, 3, &step).await.unwrap(),
        Changed::Conflict {
            state: RequestState::New,
            version: 0
        }
    );
    // Made from a state the request is not in.
    let booked_from = Step::new(now, nurse(), RequestState::Booked, Move::Closed, None).unwrap();
    assert_eq!(
        desk.change(&reference, 0, &booked_from).await.unwrap(),
        Changed::Conflict {
            state: RequestState::New,
            version: 0
        }
    );
    assert!(desk
        .of_request(&reference, None, 10)
        .await
        .unwrap()
        .entries
        .is_empty());
    assert_eq!(
        desk.page(&query(RequestState::New, None, 10))
            .await
            .unwrap()
            .rows
            .len(),
        1
    );
}

async fn an_unknown_request_is_not_found(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let desk = store.desk();
    let now = TestClock::new().now();
    let unknown = Reference::generate().unwrap();
    assert_eq!(
        desk.change(&unknown, 0, &contacted(now, nurse(), None))
            .await
            .unwrap(),
        Changed::NotFound
    );
    let seen = AuditEntry::viewed(now, nurse(), unknown.clone());
    assert_eq!(desk.open(&unknown, &seen).await.unwrap(), None);
    // The look is on the trail even so: someone asked for that reference.
    assert_eq!(
        desk.of_request(&unknown, None, 10).await.unwrap().entries,
        [seen]
    );
}

async fn a_change_whose_audit_entry_cannot_be_written_is_not_applied(backend: Backend) {
    let now = TestClock::new().now();
    let (store, broken): (StoreHandle, Arc<dyn DeskStore>) = match backend {
        Backend::Embedded => {
            let path = frontdesk_tests::unique_temp_path("desk.sqlite3");
            let embedded =
                frontdesk_shared::store::embedded::EmbeddedBookingStore::open(&path).unwrap();
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit
                     BEGIN SELECT RAISE(ABORT, 'audit refused'); END;",
                )
                .unwrap();
            let desk = Arc::new(embedded.desk(Duration::days(730)));
            (StoreHandle::Embedded(embedded), desk)
        }
        Backend::DynamoDb => {
            let store = StoreHandle::create(backend).await;
            let StoreHandle::Dynamo(t) = &store else {
                unreachable!()
            };
            let desk = Arc::new(
                frontdesk_shared::store::dynamodb::DynamoBookingStore::new(
                    t.client.clone(),
                    &t.bookings,
                    &t.guards,
                )
                .desk("no-such-audit-table", Duration::days(730)),
            );
            (store, desk)
        }
    };
    let reference = store_booking(&store, 1, NET, now).await;
    let error = broken
        .change(&reference, 0, &contacted(now, nurse(), None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Misconfigured(_) | StoreError::Unavailable(_)
        ),
        "{error:?}"
    );
    // Nothing changed: still new, at version 0, with no history.
    let desk = store.desk();
    let request = desk
        .open(
            &reference,
            &AuditEntry::viewed(now, nurse(), reference.clone()),
        )
        .await;
    let request = match backend {
        // The refusing trigger is on this database's trail too: read it back another way.
        Backend::Embedded => {
            assert!(request.is_err(), "the trail refuses every entry here");
            let rows = desk
                .page(&query(RequestState::New, None, 10))
                .await
                .unwrap()
                .rows;
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].version, 0);
            return;
        }
        Backend::DynamoDb => request.unwrap().unwrap(),
    };
    assert_eq!((request.state, request.version), (RequestState::New, 0));
    assert!(request.history.is_empty());
}

async fn the_whole_trail_pages_newest_first(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let desk = store.desk();
    let now = TestClock::new().now();
    let entries: Vec<AuditEntry> = (0..3)
        .map(|n| {
            AuditEntry::new(
                now + Duration::seconds(n),
                nurse(),
                AuditAction::SignedIn,
                None,
            )
        })
        .collect();
    for entry in &entries {
        desk.record(entry).await.unwrap();
    }
    let first = desk.whole(None, 2).await.unwrap();
    assert_eq!(first.entries, [entries[2].clone(), entries[1].clone()]);
    let rest = desk.whole(first.next.as_ref(), 2).await.unwrap();
    assert_eq!(rest.entries, [entries[0].clone()]);
    assert!(desk
        .of_request(&Reference::generate().unwrap(), None, 10)
        .await
        .unwrap()
        .entries
        .is_empty());
}
