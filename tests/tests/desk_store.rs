//! The desk's ports (`RequestInbox`, `AuditTrail`): every adapter passes the
//! same suite, SQLite and DynamoDB Local.

use frontdesk_shared::booking::request::ParseContext;
use frontdesk_shared::booking::{
    Booking, BookingRequest, Email, Fingerprint, Reference, Slug, Specialty,
};
use frontdesk_shared::desk::{
    Appointment, AuditAction, Changed, DeskStore, InboxQuery, Move, Note, Place, RequestState,
    Staff, Step,
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
    of_several_changes_at_once_exactly_one_wins,
    a_change_from_a_stale_version_changes_nothing,
    an_unknown_request_is_not_found,
    a_change_whose_audit_entry_cannot_be_written_is_not_applied,
    the_trail_pages_newest_first,
    requests_at_the_same_moment_are_each_listed_once,
    a_request_past_its_retention_is_gone_from_the_desk,
    a_booking_stored_before_the_desk_is_new,
);

const NET: &str = "neuroendocrine-tumours";

fn nurse() -> Staff {
    Staff {
        subject: "7d1c2e0a-nurse".into(),
        email: Email::parse("nurse@clinic.example").unwrap(),
    }
}

fn other_nurse(n: usize) -> Staff {
    Staff {
        subject: format!("8e2d3f1b-other-{n}"),
        email: Email::parse(&format!("other{n}@clinic.example")).unwrap(),
    }
}

/// Stores the `n`th fixture booking at `at`, about `specialty`.
async fn store_booking(
    store: &StoreHandle,
    n: usize,
    specialty: &str,
    at: OffsetDateTime,
) -> Reference {
    let mut body = if specialty == "not_sure" {
        booking_with("consultant", serde_json::Value::Null)
    } else {
        nth_booking(n)
    };
    body["email"] = json!(format!("fixture.patient+{n}@example.com"));
    body["specialty"] = json!(specialty);
    let specialties = vec![Slug::parse(NET).unwrap()];
    let details = BookingRequest::from_json(body.to_string().as_bytes())
        .expect("decodes")
        .parse(&ParseContext {
            specialties: &specialties,
            today: at.date(),
            wordings: &frontdesk_tests::shipped_wordings(),
        })
        .expect("valid");
    let booking = Booking {
        reference: Reference::generate().unwrap(),
        received_at: at,
        details,
        expires_at: at + Duration::days(365),
        acknowledgement: frontdesk_shared::booking::Acknowledgement::Owed,
    };
    let reference = booking.reference.clone();
    let outcome = store
        .port()
        .insert(NewBooking {
            fingerprint: Fingerprint::of(&booking.details, &frontdesk_tests::match_key()),
            subject: frontdesk_shared::booking::SubjectTags::of(
                &booking.details,
                &frontdesk_tests::match_key(),
            ),
            booking,
            idempotency: None,
            repeat_of: None,
            acknowledgements: None,
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

async fn listed(
    desk: &Arc<dyn DeskStore>,
    state: RequestState,
    specialty: Option<&str>,
) -> Vec<Reference> {
    all_pages(desk, query(state, specialty, 10)).await.0
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
    let clock = TestClock::new();
    let desk = store.desk(&clock);
    let start = clock.now();
    let mut stored = Vec::new();
    for (n, specialty) in [NET, "not_sure", NET, NET, "not_sure"]
        .into_iter()
        .enumerate()
    {
        let at = start + Duration::minutes(n as i64);
        stored.push((store_booking(&store, n, specialty, at).await, specialty));
    }
    let newest_first: Vec<Reference> = stored.iter().rev().map(|(r, _)| r.clone()).collect();
    let (listed_new, sizes) = all_pages(&desk, query(RequestState::New, None, 2)).await;
    assert_eq!(listed_new, newest_first);
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
    assert_eq!(listed(&desk, RequestState::New, Some(NET)).await, net);
    let page = desk
        .page(&query(RequestState::New, Some("not_sure"), 10))
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 2);
    assert!(page.rows.iter().all(|r| r.specialty == Specialty::NotSure
        && r.version == 0
        && r.state == RequestState::New));
    assert!(listed(&desk, RequestState::Contacted, None)
        .await
        .is_empty());
}

async fn opening_a_request_is_on_the_trail_before_it_is_read(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let desk = store.desk(&clock);
    let reference = store_booking(&store, 1, NET, clock.now()).await;
    clock.advance(Duration::minutes(3));
    let request = desk
        .open(&reference, &nurse())
        .await
        .unwrap()
        .expect("there");
    assert_eq!(request.state, RequestState::New);
    assert_eq!(request.version, 0);
    assert!(request.history.is_empty());
    assert_eq!(
        request.booking,
        store.port().get(&reference).await.unwrap().unwrap()
    );
    let emails: Vec<String> = request.emails.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        emails,
        ["staff", "patient"],
        "the fallback only once it was needed"
    );
    let trail = desk.of_request(&reference, None, 10).await.unwrap().entries;
    assert_eq!(trail.len(), 1);
    let seen = &trail[0];
    assert_eq!(
        (seen.action, &seen.by, seen.reference.as_ref(), seen.at),
        (AuditAction::Viewed, &nurse(), Some(&reference), clock.now()),
        "stamped by the store's clock"
    );
    assert_eq!(desk.whole(None, 10).await.unwrap().entries, trail);

    // Once the fallback was needed, it is listed with where it stands.
    store
        .ledger()
        .mark_failed(
            &reference,
            frontdesk_shared::notify::Notice::StaffFallback,
            "NoFallbackInbox",
            clock.now(),
        )
        .await
        .unwrap();
    let request = desk.open(&reference, &nurse()).await.unwrap().unwrap();
    let emails: Vec<(String, Option<String>)> = request
        .emails
        .iter()
        .map(|(n, state)| (n.to_string(), state.failed.clone()))
        .collect();
    assert_eq!(
        emails,
        [
            ("staff".to_owned(), None),
            ("patient".to_owned(), None),
            ("fallback".to_owned(), Some("NoFallbackInbox".to_owned())),
        ]
    );
}

async fn a_request_moves_through_the_workflow_with_its_history_and_trail(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let desk = store.desk(&clock);
    let now = clock.now();
    let reference = store_booking(&store, 1, NET, now).await;
    clock.advance(Duration::minutes(5));
    let first = contacted(clock.now(), nurse(), Some("Rang, left a message"));
    assert_eq!(
        desk.change(&reference, 0, &first).await.unwrap(),
        Changed::Applied { version: 1 }
    );
    let appointment = Appointment {
        at: now + Duration::days(7),
        place: Place::parse("Parkside Hospital").unwrap(),
        consultant: Some(Slug::parse("jane-doe").unwrap()),
    };
    clock.advance(Duration::minutes(4));
    let second = Step::new(
        clock.now(),
        other_nurse(1),
        RequestState::Contacted,
        Move::Booked(appointment),
        None,
    )
    .unwrap();
    assert_eq!(
        desk.change(&reference, 1, &second).await.unwrap(),
        Changed::Applied { version: 2 }
    );

    clock.advance(Duration::minutes(10));
    let request = desk.open(&reference, &nurse()).await.unwrap().unwrap();
    assert_eq!(request.state, RequestState::Booked);
    assert_eq!(request.version, 2);
    assert_eq!(request.history, [first.clone(), second.clone()]);

    // It has left `new`, and is listed as booked, in its specialty too.
    assert!(listed(&desk, RequestState::New, None).await.is_empty());
    assert!(listed(&desk, RequestState::Contacted, Some(NET))
        .await
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
                other_nurse(1).subject
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

async fn of_several_changes_at_once_exactly_one_wins(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let desk = store.desk(&clock);
    let now = clock.now();
    let reference = store_booking(&store, 1, NET, now).await;
    let steps: Vec<Step> = (0..6)
        .map(|n| contacted(now, other_nurse(n), Some(&format!("from nurse {n}"))))
        .collect();
    let outcomes = futures_join(&desk, &reference, &steps).await;
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
    assert_eq!((applied, lost), (1, 5), "{outcomes:?}");
    let winner = &steps[outcomes
        .iter()
        .position(|o| *o == Changed::Applied { version: 1 })
        .unwrap()];
    let trail = desk.of_request(&reference, None, 10).await.unwrap().entries;
    assert_eq!(trail.len(), 1, "only the winner is on the trail: {trail:?}");
    assert_eq!(&trail[0].by, winner.by());
    let request = desk.open(&reference, &nurse()).await.unwrap().unwrap();
    assert_eq!(request.history, std::slice::from_ref(winner));
}

/// Every step tried at once, from version 0, each on its own task.
async fn futures_join(
    desk: &Arc<dyn DeskStore>,
    reference: &Reference,
    steps: &[Step],
) -> Vec<Changed> {
    let tasks: Vec<_> = steps
        .iter()
        .map(|step| {
            let (desk, reference, step) = (Arc::clone(desk), reference.clone(), step.clone());
            tokio::spawn(async move { desk.change(&reference, 0, &step).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    outcomes
}

async fn a_change_from_a_stale_version_changes_nothing(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let desk = store.desk(&clock);
    let now = clock.now();
    let reference = store_booking(&store, 1, NET, now).await;
    let step = contacted(now, nurse(), None);
    let unchanged = Changed::Conflict {
        state: RequestState::New,
        version: 0,
    };
    assert_eq!(desk.change(&reference, 3, &step).await.unwrap(), unchanged);
    // Made from a state the request is not in.
    let booked_from = Step::new(now, nurse(), RequestState::Booked, Move::Closed, None).unwrap();
    assert_eq!(
        desk.change(&reference, 0, &booked_from).await.unwrap(),
        unchanged
    );
    assert!(desk
        .of_request(&reference, None, 10)
        .await
        .unwrap()
        .entries
        .is_empty());
    assert_eq!(listed(&desk, RequestState::New, None).await, [reference]);
}

async fn an_unknown_request_is_not_found(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let desk = store.desk(&clock);
    let unknown = Reference::generate().unwrap();
    assert_eq!(
        desk.change(&unknown, 0, &contacted(clock.now(), nurse(), None))
            .await
            .unwrap(),
        Changed::NotFound
    );
    assert_eq!(desk.open(&unknown, &nurse()).await.unwrap(), None);
    // The look is on the trail even so: someone asked for that reference.
    let trail = desk.of_request(&unknown, None, 10).await.unwrap().entries;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, AuditAction::Viewed);
}

async fn a_change_whose_audit_entry_cannot_be_written_is_not_applied(backend: Backend) {
    let clock = TestClock::new();
    let now = clock.now();
    let (store, broken): (StoreHandle, Arc<dyn DeskStore>) = match backend {
        Backend::Embedded => {
            let path = frontdesk_tests::unique_temp_path("desk.sqlite3");
            let embedded =
                frontdesk_shared::store::embedded::EmbeddedBookingStore::open(&path).unwrap();
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(
                    "CREATE TRIGGER refuse_changes_audit BEFORE INSERT ON audit
                     WHEN NEW.record LIKE '%\"changed\"%'
                     BEGIN SELECT RAISE(ABORT, 'audit refused'); END;",
                )
                .unwrap();
            let desk = Arc::new(embedded.desk(Duration::days(730), clock.clock()));
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
                .desk("no-such-audit-table", Duration::days(730), clock.clock()),
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
    let desk = store.desk(&clock);
    let request = desk.open(&reference, &nurse()).await.unwrap().unwrap();
    assert_eq!((request.state, request.version), (RequestState::New, 0));
    assert!(request.history.is_empty());
    assert_eq!(listed(&desk, RequestState::New, None).await, [reference]);
}

async fn the_trail_pages_newest_first(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let desk = store.desk(&clock);
    let reference = store_booking(&store, 1, NET, clock.now()).await;
    let mut entries = Vec::new();
    for n in 0..3 {
        clock.advance(Duration::seconds(1));
        entries.push(
            desk.record(&nurse(), AuditAction::Exported, Some(&reference))
                .await
                .unwrap(),
        );
        let _ = n;
    }
    clock.advance(Duration::seconds(1));
    let sign_in = desk
        .record(&nurse(), AuditAction::SignedIn, None)
        .await
        .unwrap();
    let first = desk.whole(None, 2).await.unwrap();
    assert_eq!(first.entries, [sign_in, entries[2].clone()]);
    let rest = desk.whole(first.next.as_ref(), 10).await.unwrap();
    assert_eq!(rest.entries, [entries[1].clone(), entries[0].clone()]);
    // One request's trail pages through its own index.
    let first = desk.of_request(&reference, None, 2).await.unwrap();
    assert_eq!(first.entries, [entries[2].clone(), entries[1].clone()]);
    let rest = desk
        .of_request(&reference, first.next.as_ref(), 2)
        .await
        .unwrap();
    assert_eq!(rest.entries, [entries[0].clone()]);
    assert!(desk
        .of_request(&Reference::generate().unwrap(), None, 10)
        .await
        .unwrap()
        .entries
        .is_empty());
}

async fn requests_at_the_same_moment_are_each_listed_once(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let desk = store.desk(&clock);
    let mut stored = Vec::new();
    for n in 0..5 {
        stored.push(store_booking(&store, n, NET, clock.now()).await);
    }
    let (mut seen, _) = all_pages(&desk, query(RequestState::New, None, 2)).await;
    seen.sort();
    stored.sort();
    assert_eq!(seen, stored);
}

async fn a_request_past_its_retention_is_gone_from_the_desk(backend: Backend) {
    let store = StoreHandle::create(backend).await;
    let clock = TestClock::new();
    let desk = store.desk(&clock);
    let reference = store_booking(&store, 1, NET, clock.now()).await;
    clock.advance(Duration::days(365) + Duration::seconds(1));
    assert!(listed(&desk, RequestState::New, None).await.is_empty());
    assert!(listed(&desk, RequestState::New, Some(NET)).await.is_empty());
    assert_eq!(desk.open(&reference, &nurse()).await.unwrap(), None);
    assert_eq!(
        desk.change(&reference, 0, &contacted(clock.now(), nurse(), None))
            .await
            .unwrap(),
        Changed::NotFound
    );
}

async fn a_booking_stored_before_the_desk_is_new(backend: Backend) {
    let clock = TestClock::new();
    let (store, reference) = match backend {
        Backend::Embedded => {
            // A database from before the desk: its columns and indexes gone.
            let path = frontdesk_tests::unique_temp_path("old-desk.sqlite3");
            let old = StoreHandle::Embedded(
                frontdesk_shared::store::embedded::EmbeddedBookingStore::open(&path).unwrap(),
            );
            let reference = store_booking(&old, 1, NET, clock.now()).await;
            drop(old);
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(
                    "DROP INDEX bookings_inbox; DROP INDEX bookings_inbox_lane;
                     ALTER TABLE bookings DROP COLUMN desk_state;
                     ALTER TABLE bookings DROP COLUMN specialty;
                     ALTER TABLE bookings DROP COLUMN desk_version;
                     ALTER TABLE bookings DROP COLUMN history;",
                )
                .unwrap();
            let reopened = StoreHandle::Embedded(
                frontdesk_shared::store::embedded::EmbeddedBookingStore::open(&path).unwrap(),
            );
            (reopened, reference)
        }
        Backend::DynamoDb => {
            let store = StoreHandle::create(backend).await;
            let reference = store_booking(&store, 1, NET, clock.now()).await;
            let StoreHandle::Dynamo(t) = &store else {
                unreachable!()
            };
            t.inspect
                .update_item()
                .table_name(&t.bookings)
                .key(
                    "reference",
                    aws_sdk_dynamodb::types::AttributeValue::S(reference.to_string()),
                )
                .update_expression("REMOVE desk_state, desk_lane, desk_version")
                .send()
                .await
                .unwrap();
            let desk = frontdesk_shared::store::dynamodb::DynamoBookingStore::new(
                t.client.clone(),
                &t.bookings,
                &t.guards,
            )
            .desk(&t.audit, Duration::days(730), clock.clock());
            let inbox: Arc<dyn DeskStore> = Arc::new(desk.clone());
            assert!(listed(&inbox, RequestState::New, None).await.is_empty());
            assert_eq!(desk.backfill().await.unwrap(), 1);
            assert_eq!(desk.backfill().await.unwrap(), 0, "once only");
            (store, reference)
        }
    };
    let desk = store.desk(&clock);
    assert_eq!(
        listed(&desk, RequestState::New, None).await,
        std::slice::from_ref(&reference)
    );
    assert_eq!(
        listed(&desk, RequestState::New, Some(NET)).await,
        std::slice::from_ref(&reference)
    );
    let request = desk.open(&reference, &nurse()).await.unwrap().unwrap();
    assert_eq!((request.state, request.version), (RequestState::New, 0));
    assert_eq!(
        desk.change(&reference, 0, &contacted(clock.now(), nurse(), None))
            .await
            .unwrap(),
        Changed::Applied { version: 1 }
    );
    assert_eq!(
        listed(&desk, RequestState::Contacted, Some(NET)).await,
        [reference]
    );
}
