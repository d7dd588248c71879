//! Appointment confirmations end to end: a request moved on the desk over
//! SQLite and DynamoDB Local, its confirmation sent through the real
//! notifier core to the SES v2 emulator, and its calendar entry read back
//! by the `icalendar` crate and by Python's `icalendar`
//! (scripts/calendar/read.py) as two independent readers. On DynamoDB
//! Local, the same changes are also read from the table's stream and
//! passed through the template's own filters.

use frontdesk_shared::booking::{Booking, Email, Reference};
use frontdesk_shared::desk::{
    Appointment, Changed, DeskStore, Move, Place, RequestState, Staff, Step,
};
use frontdesk_shared::notify::{Notice, Notifier};
use frontdesk_tests::notifier::{deliver_as_lambda, notifier_over, ses_mailer, MAIL_FROM};
use frontdesk_tests::ses::{emails, ses_endpoint, StoredEmail};
use frontdesk_tests::stream::{notifier_filters, passes, StreamReader};
use frontdesk_tests::{
    booking_at, for_each_backend, plain_insert, valid_booking, Backend, StoreHandle, TestClock,
};
use icalendar::{Calendar, CalendarDateTime, Component, DatePerhapsTime, EventStatus};
use serde_json::{json, Value};
use std::sync::Arc;
use time::macros::time;
use time::{Duration, OffsetDateTime};

for_each_backend!(
    ten_in_the_morning_opens_at_ten_london_time_in_summer_and_winter,
    a_move_updates_the_one_entry_and_a_cancellation_removes_it,
    closing_an_attended_appointment_sends_nothing,
    a_confirmation_replaced_before_it_went_is_never_sent,
    two_staff_booking_at_once_send_one_confirmation,
    a_sent_confirmation_redelivered_after_a_later_change_stays_sent,
    an_appointment_that_passed_before_its_confirmation_went_is_not_confirmed,
    cancelling_an_appointment_the_patient_never_heard_of_sends_nothing,
    a_request_is_not_erased_while_its_confirmation_is_being_sent,
    a_cancellation_goes_when_any_earlier_confirmation_may_have_reached_the_patient,
    a_confirmation_being_sent_when_the_appointment_moves_is_left_to_its_sender,
);

/// The message and specialty the fixture patient wrote: neither may
/// appear in anything a confirmation carries.
const MESSAGE: &str = "Worried about my scan results and the lump";

fn nurse(n: usize) -> Staff {
    Staff {
        subject: format!("5c0ffee-nurse-{n}"),
        email: Email::parse(&format!("nurse{n}@clinic.example")).unwrap(),
    }
}

/// A request on the desk: its store, clock, desk and notifier.
struct Setup {
    store: StoreHandle,
    clock: TestClock,
    desk: Arc<dyn DeskStore>,
    notifier: Notifier,
    booking: Booking,
    version: u64,
    state: RequestState,
}

impl Setup {
    /// A stored request, contacted, with a notifier sending to the emulator.
    async fn new(backend: Backend) -> Self {
        let store = StoreHandle::create(backend).await;
        let clock = TestClock::new();
        let mut body = valid_booking();
        body["message"] = json!(MESSAGE);
        let booking = booking_at(&body, clock.now());
        store
            .port()
            .insert(plain_insert(booking.clone()))
            .await
            .expect("stored");
        let desk = store.desk(&clock);
        let notifier = notifier_over(
            &store,
            Arc::new(ses_mailer(&ses_endpoint()).await),
            &[],
            clock.clock(),
        );
        let mut setup = Self {
            store,
            clock,
            desk,
            notifier,
            booking,
            version: 0,
            state: RequestState::New,
        };
        setup.apply(Move::Contacted).await;
        setup
    }

    fn reference(&self) -> &Reference {
        &self.booking.reference
    }

    /// Makes `change` from where the request is, as one nurse.
    async fn apply(&mut self, change: Move) {
        let step = Step::new(self.clock.now(), nurse(1), self.state, change, None).unwrap();
        match self
            .desk
            .change(self.reference(), self.version, &step)
            .await
        {
            Ok(Changed::Applied { version }) => {
                self.version = version;
                self.state = step.to();
            }
            other => panic!("the change was not applied: {other:?}"),
        }
    }

    /// Books (or moves) the appointment to London's `at`.
    async fn book(&mut self, at: OffsetDateTime) {
        self.apply(Move::Booked(Appointment {
            at,
            place: Place::parse("Outpatients, second floor").unwrap(),
            consultant: None,
        }))
        .await;
    }

    /// Sends what the request owes, as the local server's announcer (and
    /// the schedule in Lambda) does.
    async fn send_owed(&self) {
        self.notifier
            .sweep(std::time::Duration::ZERO, None, |_, _| {})
            .await
            .expect("a sweep");
    }

    /// Where each of the request's confirmations stands, as the desk lists
    /// them: sent, and the failure code (`not_needed:…`), by number.
    async fn listed(&self) -> Vec<(Notice, bool, Option<String>)> {
        let request = self
            .desk
            .open(self.reference(), &nurse(1))
            .await
            .unwrap()
            .unwrap();
        request
            .emails
            .into_iter()
            .filter(|(notice, _)| matches!(notice, Notice::Confirmation(_)))
            .map(|(notice, state)| (notice, state.sent_at.is_some(), state.failed))
            .collect()
    }

    /// The confirmations the emulator holds for this request, in the order sent.
    async fn confirmations(&self) -> Vec<StoredEmail> {
        let subject = format!("Your appointment {} ", self.reference());
        emails(&ses_endpoint(), &subject).await
    }
}

/// London wall-clock `at` on `month`/`day` of next year (so always to come).
fn london(month: time::Month, day: u8, at: time::Time) -> OffsetDateTime {
    let year = OffsetDateTime::now_utc().year() + 1;
    let date = time::Date::from_calendar_date(year, month, day).unwrap();
    frontdesk_shared::london::instant_of(date, at, None).unwrap()
}

/// The calendar entry of a confirmation: the `.ics` attachment, which must
/// be the same entry as its `text/calendar` alternative.
fn entry_of(email: &StoredEmail) -> String {
    let attached = email
        .attachments
        .iter()
        .find(|part| part.filename.as_deref() == Some("appointment.ics"))
        .expect("an appointment.ics attachment");
    let inline = email
        .attachments
        .iter()
        .find(|part| part.content_type == "text/calendar")
        .expect("a text/calendar part");
    assert_eq!(attached.content, inline.content, "one entry, twice");
    String::from_utf8(attached.content.clone()).expect("UTF-8")
}

/// What the crate reads of an entry: its method and its one event.
fn read_by_crate(ics: &str) -> (String, icalendar::Event) {
    let calendar: Calendar = ics.parse().expect("the entry parses");
    let method = calendar.property_value("METHOD").unwrap_or("").to_owned();
    let mut events = calendar.events();
    let event = events.next().expect("one event").clone();
    assert!(events.next().is_none(), "only one event");
    (method, event)
}

fn utc_of(value: Option<DatePerhapsTime>) -> OffsetDateTime {
    match value {
        Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(at))) => {
            OffsetDateTime::from_unix_timestamp(at.timestamp()).unwrap()
        }
        other => panic!("not a UTC date-time: {other:?}"),
    }
}

/// What Python's icalendar reads of an entry (scripts/calendar/read.py).
fn read_by_python(ics: &str) -> Value {
    let python = std::env::var("FRONTDESK_CALENDAR_PYTHON").expect(
        "FRONTDESK_CALENDAR_PYTHON is not set: run the tests with scripts/test, which installs Python's icalendar",
    );
    let path = frontdesk_tests::unique_temp_path("entry.ics");
    std::fs::write(&path, ics).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/calendar/read.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(&path)
        .output()
        .expect("Python runs");
    std::fs::remove_file(&path).ok();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the reader's JSON")
}

/// `at` as the reader prints it: UTC, to the second (`2027-07-14T09:00:00Z`).
fn iso_utc(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap()
}

/// Everything a confirmation carries, as one text to search.
fn everything(email: &StoredEmail) -> String {
    let parts: Vec<String> = email
        .attachments
        .iter()
        .map(|part| String::from_utf8_lossy(&part.content).into_owned())
        .collect();
    format!(
        "{}\n{}\n{}\n{}",
        email.subject,
        email.text,
        email.html,
        parts.join("\n")
    )
}

async fn ten_in_the_morning_opens_at_ten_london_time_in_summer_and_winter(backend: Backend) {
    for (month, utc_hour, zone) in [
        (time::Month::July, 9, "BST"),
        (time::Month::January, 10, "GMT"),
    ] {
        let mut setup = Setup::new(backend).await;
        let at = london(month, 14, time!(10:00));
        setup.book(at).await;
        setup.send_owed().await;
        let sent = setup.confirmations().await;
        assert_eq!(sent.len(), 1, "one confirmation");
        let email = &sent[0];
        assert_eq!(
            email.subject,
            format!("Your appointment {} is booked", setup.reference())
        );
        assert_eq!(email.to, ["fixture.patient@example.com"]);
        assert!(
            email.text.contains(&format!("10:00 {zone} (London time)")),
            "{}",
            email.text
        );
        // The clinic's address is not in the shipped content yet: the
        // hospital's name stands for it.
        assert!(
            email.text.contains("Where: Parkside Hospital"),
            "{}",
            email.text
        );
        assert!(email.text.contains("020 8247 3351"), "{}", email.text);

        let ics = entry_of(email);
        let (method, event) = read_by_crate(&ics);
        assert_eq!(method, "REQUEST");
        let start = utc_of(event.get_start());
        assert_eq!((start.hour(), start.minute()), (utc_hour, 0), "{ics}");
        assert_eq!(start, at);
        assert_eq!(utc_of(event.get_end()) - start, Duration::minutes(30));
        assert_eq!(
            event.get_summary(),
            Some("Appointment at Parkside Hospital")
        );

        let python = read_by_python(&ics);
        assert_eq!(python["method"], "REQUEST");
        let read = &python["events"][0];
        assert_eq!(read["start"], iso_utc(at));
        assert!(
            read["start"]
                .as_str()
                .unwrap()
                .ends_with(&format!("T{utc_hour:02}:00:00Z")),
            "{read}"
        );
        assert_eq!(
            read["uid"],
            format!("appointment-{}@clinic.example", setup.reference())
        );
        assert_eq!(read["sequence"], 0);
        assert_eq!(read["organizer"], format!("mailto:{MAIL_FROM}"));
        assert_eq!(
            read["attendees"],
            json!([{ "address": "mailto:fixture.patient@example.com", "rsvp": "FALSE" }])
        );

        // Nothing about health, in the subject, body or entry: no
        // condition (by slug or by name), no message, no date of birth.
        let all = everything(email);
        for health in [
            "neuroendocrine",
            "Neuroendocrine",
            "tumour",
            MESSAGE,
            "lump",
            "1970",
            "Outpatients, second floor",
        ] {
            assert!(!all.contains(health), "the confirmation holds {health:?}");
        }
    }
}

async fn a_move_updates_the_one_entry_and_a_cancellation_removes_it(backend: Backend) {
    let mut setup = Setup::new(backend).await;
    let first = london(time::Month::March, 3, time!(09:30));
    let moved = london(time::Month::March, 10, time!(14:15));
    setup.book(first).await;
    setup.send_owed().await;
    setup.book(moved).await;
    setup.send_owed().await;
    setup.apply(Move::Cancelled).await;
    setup.send_owed().await;
    // Nothing more is owed.
    setup.send_owed().await;

    let sent = setup.confirmations().await;
    let subjects: Vec<&str> = sent.iter().map(|e| e.subject.as_str()).collect();
    let reference = setup.reference();
    assert_eq!(
        subjects,
        [
            format!("Your appointment {reference} is booked"),
            format!("Your appointment {reference} has changed"),
            format!("Your appointment {reference} is cancelled"),
        ]
    );
    let read: Vec<(String, icalendar::Event)> =
        sent.iter().map(|e| read_by_crate(&entry_of(e))).collect();
    let methods: Vec<&str> = read.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["REQUEST", "REQUEST", "CANCEL"]);
    let sequences: Vec<Option<u32>> = read.iter().map(|(_, e)| e.get_sequence()).collect();
    assert_eq!(sequences, [Some(0), Some(1), Some(2)]);
    let uids: Vec<Option<&str>> = read.iter().map(|(_, e)| e.get_uid()).collect();
    assert!(uids.iter().all(|uid| *uid == uids[0] && uid.is_some()));
    assert_eq!(utc_of(read[1].1.get_start()), moved);
    // The cancellation names the appointment it removes.
    assert_eq!(utc_of(read[2].1.get_start()), moved);
    assert_eq!(read[2].1.get_status(), Some(EventStatus::Cancelled));
    assert!(
        sent[2].text.contains("has been cancelled"),
        "{}",
        sent[2].text
    );

    let python: Vec<Value> = sent.iter().map(|e| read_by_python(&entry_of(e))).collect();
    assert_eq!(
        python
            .iter()
            .map(|p| p["method"].clone())
            .collect::<Vec<_>>(),
        ["REQUEST", "REQUEST", "CANCEL"]
    );
    assert_eq!(
        python
            .iter()
            .map(|p| p["events"][0]["sequence"].clone())
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(python
        .iter()
        .all(|p| p["events"][0]["uid"] == python[0]["events"][0]["uid"]));
    assert_eq!(python[2]["events"][0]["status"], "CANCELLED");

    // The desk lists each confirmation with what became of it.
    let request = setup
        .desk
        .open(setup.reference(), &nurse(1))
        .await
        .unwrap()
        .unwrap();
    let confirmations: Vec<(Notice, bool)> = request
        .emails
        .iter()
        .filter(|(notice, _)| matches!(notice, Notice::Confirmation(_)))
        .map(|(notice, state)| (*notice, state.sent_at.is_some()))
        .collect();
    assert_eq!(
        confirmations,
        [
            (Notice::Confirmation(0), true),
            (Notice::Confirmation(1), true),
            (Notice::Confirmation(2), true),
        ]
    );
}

async fn closing_an_attended_appointment_sends_nothing(backend: Backend) {
    let mut setup = Setup::new(backend).await;
    let at = setup.clock.now() + Duration::days(2);
    setup.book(at).await;
    setup.send_owed().await;
    setup.clock.advance(Duration::days(2) + Duration::hours(1));
    setup.apply(Move::Closed).await;
    setup.send_owed().await;
    let sent = setup.confirmations().await;
    assert_eq!(sent.len(), 1, "only the booking's confirmation");
    assert!(sent[0].subject.ends_with("is booked"));
}

async fn a_confirmation_replaced_before_it_went_is_never_sent(backend: Backend) {
    let mut setup = Setup::new(backend).await;
    setup.book(london(time::Month::May, 5, time!(11:00))).await;
    let last = london(time::Month::May, 6, time!(11:00));
    setup.book(last).await;
    setup.send_owed().await;
    let sent = setup.confirmations().await;
    assert_eq!(sent.len(), 1, "only what is true now");
    let (_, event) = read_by_crate(&entry_of(&sent[0]));
    assert_eq!(event.get_sequence(), Some(1));
    assert_eq!(utc_of(event.get_start()), last);
    // The desk says the first will never go, and why.
    let request = setup
        .desk
        .open(setup.reference(), &nurse(1))
        .await
        .unwrap()
        .unwrap();
    let first = request
        .emails
        .iter()
        .find(|(notice, _)| *notice == Notice::Confirmation(0))
        .map(|(_, state)| state.clone())
        .expect("the first confirmation is listed");
    assert_eq!(first.failed.as_deref(), Some("not_needed:superseded"));
    assert!(first.sent_at.is_none());
}

async fn two_staff_booking_at_once_send_one_confirmation(backend: Backend) {
    let setup = Setup::new(backend).await;
    let at = london(time::Month::June, 1, time!(16:00));
    let attempts = (1..=4_i64).map(|n| {
        let desk = Arc::clone(&setup.desk);
        let reference = setup.reference().clone();
        let step = Step::new(
            setup.clock.now(),
            nurse(n as usize),
            RequestState::Contacted,
            Move::Booked(Appointment {
                at: at + Duration::minutes(n),
                place: Place::parse("Outpatients").unwrap(),
                consultant: None,
            }),
            None,
        )
        .unwrap();
        let version = setup.version;
        tokio::spawn(async move { desk.change(&reference, version, &step).await.unwrap() })
    });
    let mut applied = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        if let Changed::Applied { .. } = attempt.await.unwrap() {
            applied += 1;
        }
    }
    assert_eq!(applied, 1, "exactly one change wins");
    setup.send_owed().await;
    setup.send_owed().await;
    assert_eq!(setup.confirmations().await.len(), 1);
}

/// Each record's event name, and whether the notifier's filters pass it.
fn passed_by<R: serde::Serialize>(filters: &[Value], records: &[R]) -> Vec<(String, bool)> {
    records
        .iter()
        .map(|r| {
            let record = serde_json::to_value(r).unwrap();
            let name = record["eventName"].as_str().unwrap_or_default().to_owned();
            (name, passes(filters, &record))
        })
        .collect()
}

/// The stream of a DynamoDB Local request: its store, reader and setup.
async fn streamed() -> (Setup, StreamReader) {
    let setup = Setup::new(Backend::DynamoDb).await;
    let StoreHandle::Dynamo(tables) = &setup.store else {
        unreachable!("a DynamoDB store")
    };
    let stream = StreamReader::open(&tables.inspect, &tables.bookings).await;
    (setup, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_passes_new_bookings_and_changes_owing_a_confirmation_and_nothing_else() {
    let (mut setup, mut stream) = streamed().await;
    // Written so far: the booking's INSERT and the contact's MODIFY.
    setup
        .book(london(time::Month::April, 20, time!(10:00)))
        .await;
    let filters = notifier_filters();
    let so_far = stream.next_event(3).await;
    assert_eq!(
        passed_by(&filters, &so_far.records),
        [
            ("INSERT".to_owned(), true),
            ("MODIFY".to_owned(), false),
            ("MODIFY".to_owned(), true),
        ],
        "the booking and the change that owes a confirmation"
    );
    // The notifier handles what passed: the booking's two emails (one
    // claim and one mark) and the confirmation (its claim and its mark).
    let owed: Vec<_> = so_far
        .records
        .into_iter()
        .filter(|r| passes(&filters, &serde_json::to_value(r).unwrap()))
        .collect();
    deliver_as_lambda(
        &setup.notifier,
        &owed,
        std::time::Duration::from_millis(100),
    )
    .await;
    assert_eq!(setup.confirmations().await.len(), 1);
    let after = stream.next_event(4).await;
    for record in &after.records {
        let value = serde_json::to_value(record).unwrap();
        assert_eq!(record.event_name, "MODIFY");
        assert!(
            !passes(&filters, &value),
            "the notifier's own writes pass nothing: {value}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_change_records_send_one_confirmation() {
    let (mut setup, mut stream) = streamed().await;
    setup
        .book(london(time::Month::August, 2, time!(08:45)))
        .await;
    let owed = stream.next_passed(2).await.records;
    for _ in 0..3 {
        deliver_as_lambda(
            &setup.notifier,
            &owed,
            std::time::Duration::from_millis(100),
        )
        .await;
    }
    // And twice at once, as two invocations would.
    tokio::join!(
        deliver_as_lambda(
            &setup.notifier,
            &owed,
            std::time::Duration::from_millis(100)
        ),
        deliver_as_lambda(
            &setup.notifier,
            &owed,
            std::time::Duration::from_millis(100)
        ),
    );
    assert_eq!(setup.confirmations().await.len(), 1);
    let state = setup
        .store
        .notice(setup.reference().as_str(), Notice::Confirmation(0))
        .await;
    assert!(state.sent_at.is_some() && state.claimed_until.is_none());
}

async fn a_sent_confirmation_redelivered_after_a_later_change_stays_sent(backend: Backend) {
    let mut setup = Setup::new(backend).await;
    setup.book(london(time::Month::May, 5, time!(11:00))).await;
    let first = first_confirmation(&setup).await;
    setup.send_owed().await;
    setup.book(london(time::Month::May, 6, time!(11:00))).await;
    // The first change's record, delivered again after the second change
    // (a batch retried, a sweep that read it before): nothing changes.
    let again = setup
        .notifier
        .confirm(&setup.booking, &first)
        .await
        .unwrap();
    assert_eq!(again, frontdesk_shared::notify::Outcome::AlreadySent);
    setup.send_owed().await;
    assert_eq!(
        setup.listed().await,
        [
            (Notice::Confirmation(0), true, None),
            (Notice::Confirmation(1), true, None),
        ]
    );
    assert_eq!(setup.confirmations().await.len(), 2);
}

async fn an_appointment_that_passed_before_its_confirmation_went_is_not_confirmed(
    backend: Backend,
) {
    let mut setup = Setup::new(backend).await;
    let at = setup.clock.now() + Duration::hours(1);
    setup.book(at).await;
    // Nothing sent it before its time (the mail service down all along).
    setup.clock.advance(Duration::hours(2));
    setup.send_owed().await;
    assert!(setup.confirmations().await.is_empty());
    assert_eq!(
        setup.listed().await,
        [(
            Notice::Confirmation(0),
            false,
            Some("not_needed:passed".to_owned())
        )]
    );
}

async fn cancelling_an_appointment_the_patient_never_heard_of_sends_nothing(backend: Backend) {
    let mut setup = Setup::new(backend).await;
    setup
        .book(london(time::Month::September, 9, time!(09:00)))
        .await;
    setup.apply(Move::Cancelled).await;
    setup.send_owed().await;
    assert!(setup.confirmations().await.is_empty());
    assert_eq!(
        setup.listed().await,
        [
            (
                Notice::Confirmation(0),
                false,
                Some("not_needed:superseded".to_owned())
            ),
            (
                Notice::Confirmation(1),
                false,
                Some("not_needed:nothing_to_cancel".to_owned())
            ),
        ]
    );
}

async fn a_request_is_not_erased_while_its_confirmation_is_being_sent(backend: Backend) {
    let mut setup = Setup::new(backend).await;
    setup.book(london(time::Month::May, 5, time!(11:00))).await;
    setup.send_owed().await;
    setup.book(london(time::Month::May, 6, time!(11:00))).await;
    // A sender holds the latest confirmation's claim.
    let now = setup.clock.now();
    let claim = setup
        .store
        .ledger()
        .claim(
            setup.reference(),
            Notice::Confirmation(1),
            &frontdesk_shared::notify::ClaimToken::new(),
            now,
            now + Duration::minutes(2),
        )
        .await
        .unwrap();
    assert_eq!(claim, frontdesk_shared::notify::Claim::Claimed);
    let reason =
        frontdesk_shared::desk::Reason::parse("erasure requested by the data subject").unwrap();
    let refused = frontdesk_shared::rights::Eraser::erase(
        setup.desk.as_ref(),
        setup.reference(),
        &[],
        &nurse(1),
        &reason,
    )
    .await;
    assert!(
        matches!(&refused, Err(e) if e.to_string().contains("being sent")),
        "{refused:?}"
    );
    assert!(setup
        .store
        .port()
        .get(setup.reference())
        .await
        .unwrap()
        .is_some());
    // Once the claim is over, it is erased.
    setup.clock.advance(Duration::minutes(3));
    let erased = frontdesk_shared::rights::Eraser::erase(
        setup.desk.as_ref(),
        setup.reference(),
        &[],
        &nurse(1),
        &reason,
    )
    .await
    .unwrap();
    assert!(erased.is_some());
    assert!(setup
        .store
        .port()
        .get(setup.reference())
        .await
        .unwrap()
        .is_none());
}

/// The first confirmation of the request's history, as its record names it.
async fn first_confirmation(setup: &Setup) -> frontdesk_shared::notify::Confirmation {
    let history = setup
        .desk
        .open(setup.reference(), &nurse(1))
        .await
        .unwrap()
        .unwrap()
        .history;
    frontdesk_shared::notify::Confirmation::of_history(0, &history).unwrap()
}

/// Claims `notice` as a sender would, for two minutes from now.
async fn claim_for_two_minutes(setup: &Setup, notice: Notice) {
    let now = setup.clock.now();
    let claim = setup
        .store
        .ledger()
        .claim(
            setup.reference(),
            notice,
            &frontdesk_shared::notify::ClaimToken::new(),
            now,
            now + Duration::minutes(2),
        )
        .await
        .unwrap();
    assert_eq!(claim, frontdesk_shared::notify::Claim::Claimed);
}

async fn a_cancellation_goes_when_any_earlier_confirmation_may_have_reached_the_patient(
    backend: Backend,
) {
    // Sent, then replaced before the next went, then cancelled: the
    // cancellation removes the entry the first put in the calendar.
    let mut setup = Setup::new(backend).await;
    setup.book(london(time::Month::May, 5, time!(11:00))).await;
    setup.send_owed().await;
    setup.book(london(time::Month::May, 6, time!(11:00))).await;
    setup.apply(Move::Cancelled).await;
    setup.send_owed().await;
    let subjects: Vec<String> = setup
        .confirmations()
        .await
        .into_iter()
        .map(|e| e.subject)
        .collect();
    let reference = setup.reference().to_string();
    assert_eq!(
        subjects,
        [
            format!("Your appointment {reference} is booked"),
            format!("Your appointment {reference} is cancelled"),
        ]
    );

    // A sender claimed the first and was never heard of again (SES may
    // have taken it); its record comes back after the cancellation: it is
    // not sent again, and the cancellation still goes.
    let mut setup = Setup::new(backend).await;
    setup.book(london(time::Month::May, 5, time!(11:00))).await;
    let first = first_confirmation(&setup).await;
    claim_for_two_minutes(&setup, Notice::Confirmation(0)).await;
    setup.clock.advance(Duration::minutes(3));
    setup.apply(Move::Cancelled).await;
    let again = setup
        .notifier
        .confirm(&setup.booking, &first)
        .await
        .unwrap();
    assert_eq!(
        again,
        frontdesk_shared::notify::Outcome::NotNeeded {
            why: frontdesk_shared::notify::NotNeeded::SupersededAfterAttempt
        }
    );
    setup.send_owed().await;
    let sent = setup.confirmations().await;
    assert_eq!(sent.len(), 1, "only the cancellation");
    assert!(sent[0].subject.ends_with("is cancelled"));
    assert_eq!(
        setup.listed().await,
        [
            (
                Notice::Confirmation(0),
                false,
                Some("not_needed:superseded_after_attempt".to_owned())
            ),
            (Notice::Confirmation(1), true, None),
        ]
    );
}

async fn a_confirmation_being_sent_when_the_appointment_moves_is_left_to_its_sender(
    backend: Backend,
) {
    let mut setup = Setup::new(backend).await;
    setup.book(london(time::Month::May, 5, time!(11:00))).await;
    let first = first_confirmation(&setup).await;
    claim_for_two_minutes(&setup, Notice::Confirmation(0)).await;
    setup.book(london(time::Month::May, 6, time!(11:00))).await;
    // Its record delivered again meanwhile: the sender's claim stands.
    let again = setup
        .notifier
        .confirm(&setup.booking, &first)
        .await
        .unwrap();
    assert!(
        matches!(again, frontdesk_shared::notify::Outcome::InProgress { .. }),
        "{again:?}"
    );
    let state = setup
        .store
        .notice(setup.reference().as_str(), Notice::Confirmation(0))
        .await;
    assert!(state.failed.is_none() && state.claimed_until.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_owes_nothing_takes_down_the_mark_of_one_still_owed() {
    let (mut setup, mut stream) = streamed().await;
    setup.book(london(time::Month::June, 2, time!(10:00))).await;
    // Closed before the notifier ran: its record must not pass as owing.
    setup.apply(Move::Closed).await;
    let records = stream.next_event(4).await.records;
    assert_eq!(
        passed_by(&notifier_filters(), &records),
        [
            ("INSERT".to_owned(), true),
            ("MODIFY".to_owned(), false),
            ("MODIFY".to_owned(), true),
            ("MODIFY".to_owned(), false),
        ]
    );
}
