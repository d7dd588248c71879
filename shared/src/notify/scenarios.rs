//! The notifier's core over a real ledger (SQLite in memory) and a mailer
//! that answers as each test tells it: every way one email can end, the
//! sweep's and the staff delivery check's counts and limits, in the shared
//! crate's own tests. frontdesk-tests runs the same rules over DynamoDB
//! Local and the SES emulator.

use super::sweep::{DeliveryCheck, STAFF_DELIVERY_WINDOW};
use super::*;
use crate::booking::fingerprint::Fingerprint;
use crate::booking::fixture::{booking, FORM};
use crate::booking::{Reference, UkPhone};
use crate::config::NotifierConfig;
use crate::content::cache::Fixed;
use crate::mail::{HeaderText, MailError, OutgoingEmail};
use crate::store::embedded::EmbeddedBookingStore;
use crate::store::{BookingStore, InsertOutcome, NewBooking};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use time::Duration;

/// A mailer that answers each kind of email from its queue (`Ok` once the
/// queue is empty), optionally taking `pause` over each send, and notes
/// what the ledger said of the email while it was being sent.
struct Mailbox {
    store: Arc<EmbeddedBookingStore>,
    answers: Mutex<HashMap<Notice, VecDeque<MailError>>>,
    pause: std::time::Duration,
    sent: Mutex<Vec<(Reference, Notice)>>,
    during: Mutex<Vec<NoticeState>>,
}

#[async_trait]
impl Mailer for Mailbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<Sent, MailError> {
        let notice = email.notice().expect("a booking's email");
        let at = email.subject().find("CCL-").expect("a reference");
        let reference = Reference::parse(&email.subject()[at..at + 13]).expect("a reference");
        let state = self.store.state(&reference, notice).await.unwrap();
        self.during.lock().unwrap().push(state.expect("a booking"));
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        let answer = self
            .answers
            .lock()
            .unwrap()
            .get_mut(&notice)
            .and_then(VecDeque::pop_front);
        if let Some(error) = answer {
            return Err(error);
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push((reference, notice));
        Ok(Sent {
            message_id: format!("m-{}", sent.len()),
            receipt: format!("message m-{}", sent.len()),
            delivered: false,
        })
    }
}

/// One clinic's desk: the store, the mailer, and a clock the test moves.
struct Desk {
    store: Arc<EmbeddedBookingStore>,
    mailer: Arc<Mailbox>,
    now: Arc<Mutex<OffsetDateTime>>,
    booked: Mutex<usize>,
}

const NAMES: [&str; 4] = ["Ann", "Bea", "Cat", "Dot"];

impl Desk {
    fn new() -> Self {
        Self::pausing(std::time::Duration::ZERO)
    }

    fn pausing(pause: std::time::Duration) -> Self {
        let store = Arc::new(EmbeddedBookingStore::in_memory().unwrap());
        Self {
            mailer: Arc::new(Mailbox {
                store: Arc::clone(&store),
                answers: Mutex::default(),
                pause,
                sent: Mutex::default(),
                during: Mutex::default(),
            }),
            store,
            now: Arc::new(Mutex::new(time::macros::datetime!(2026-12-02 09:05 UTC))),
            booked: Mutex::new(0),
        }
    }

    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap()
    }

    fn advance(&self, by: Duration) {
        *self.now.lock().unwrap() += by;
    }

    /// A notifier with the settings `vars` adds to a sender and a staff inbox.
    fn notifier_with(&self, vars: &[(&str, &str)]) -> Notifier {
        let config = NotifierConfig::from_lookup(|name| {
            [
                ("MAIL_FROM", "bookings@clinic.example"),
                ("STAFF_INBOX", "desk@clinic.example"),
                ("DESK_URL", "https://desk.clinic.example"),
            ]
            .iter()
            .chain(vars)
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let clinic = Clinic {
            name: HeaderText::parse("site name", "Fixture Clinic").unwrap(),
            phone: "020 7946 0000".into(),
            phone_e164: UkPhone::from_stored("+442079460000").unwrap(),
            urgent: None,
            place: "Fixture Hospital".into(),
            hospital: "Fixture Hospital".into(),
            appointment_summary: "Appointment at Fixture Hospital".into(),
            appointment_length: Duration::minutes(30),
            consultant_names: Default::default(),
        };
        let now = Arc::clone(&self.now);
        Notifier::new(
            Arc::clone(&self.store) as Arc<dyn NoticeLedger>,
            Arc::clone(&self.mailer) as Arc<dyn Mailer>,
            Arc::new(config),
            Clock::from_fn(move || *now.lock().unwrap()),
            Arc::new(Fixed(Arc::new(clinic::Published(Some(clinic))))),
        )
    }

    fn notifier(&self) -> Notifier {
        self.notifier_with(&[])
    }

    /// A new booking received now, with its own reference and patient.
    async fn book(&self) -> Booking {
        let n = {
            let mut booked = self.booked.lock().unwrap();
            *booked += 1;
            *booked
        };
        let mut booking = booking(&FORM.replace("Ann", NAMES[n - 1]));
        booking.reference = Reference::parse(&format!("CCL-TEST-{n:04}")).unwrap();
        booking.received_at = self.now();
        booking.expires_at = self.now() + Duration::days(365);
        let new = NewBooking {
            fingerprint: Fingerprint::of(&booking.details, &crate::booking::fixture::match_key()),
            subject: crate::booking::SubjectTags::of(
                &booking.details,
                &crate::booking::fixture::match_key(),
            ),
            now: self.now(),
            booking: booking.clone(),
            idempotency: None,
            rate: None,
            repeat_of: None,
            acknowledgements: None,
        };
        assert_eq!(self.store.insert(new).await.unwrap(), InsertOutcome::Stored);
        // Each booking a second younger than the last, so "oldest first" is one order.
        self.advance(Duration::seconds(1));
        booking
    }

    /// The mailer's next answer for `notice`.
    fn refuse_next(&self, notice: Notice, error: MailError) {
        self.mailer
            .answers
            .lock()
            .unwrap()
            .entry(notice)
            .or_default()
            .push_back(error);
    }

    fn sent(&self) -> Vec<(Reference, Notice)> {
        self.mailer.sent.lock().unwrap().clone()
    }

    async fn state(&self, booking: &Booking, notice: Notice) -> NoticeState {
        self.store
            .state(&booking.reference, notice)
            .await
            .unwrap()
            .unwrap()
    }
}

/// The age past which the sweeps and `owed` in these tests take a booking.
const SWEEP_AFTER_FOR_TESTS: std::time::Duration = std::time::Duration::from_secs(60);

fn transient() -> MailError {
    MailError::Transient("throttled".into())
}

fn held() -> MailError {
    MailError::Held {
        code: "AccountSuspended".into(),
        message: "sending is paused".into(),
    }
}

fn refused() -> MailError {
    MailError::Permanent {
        code: "MessageRejected".into(),
        message: "rejected".into(),
    }
}

#[tokio::test]
async fn each_email_is_sent_once_and_marked_sent() {
    let desk = Desk::new();
    let booking = desk.book().await;
    let notifier = desk.notifier();
    let report = notifier.notify(&booking).await.unwrap();
    assert_eq!(desk.sent().len(), 2);
    assert!(report.staff == Outcome::sent_as("m-1") || report.staff == Outcome::sent_as("m-2"));
    assert!(!report.must_retry());
    for notice in Notice::ALL {
        let state = desk.state(&booking, notice).await;
        assert!(state.sent_at.is_some() && state.message_id.is_some());
        assert_eq!(state.claimed_until, None);
    }
    let again = notifier.notify(&booking).await.unwrap();
    assert_eq!(
        (again.staff, again.patient),
        (Outcome::AlreadySent, Outcome::AlreadySent)
    );
    assert_eq!(desk.sent().len(), 2);
}

#[tokio::test]
async fn a_booking_past_its_retention_is_not_emailed_though_still_stored() {
    let desk = Desk::new();
    let booking = desk.book().await;
    desk.advance(Duration::days(366));
    let report = desk.notifier().notify(&booking).await.unwrap();
    assert_eq!(
        (report.staff, report.patient),
        (Outcome::BookingGone, Outcome::BookingGone)
    );
    assert!(desk.sent().is_empty());
    assert_eq!(
        desk.state(&booking, Notice::Staff).await.claimed_until,
        None
    );
}

#[tokio::test]
async fn an_email_is_claimed_for_the_claim_time_while_it_is_sent() {
    let desk = Desk::new();
    let booking = desk.book().await;
    desk.notifier_with(&[("NOTIFY_CLAIM_SECONDS", "300")])
        .notify(&booking)
        .await
        .unwrap();
    let until = (desk.now() + Duration::seconds(300)).unix_timestamp();
    let during = desk.mailer.during.lock().unwrap().clone();
    assert_eq!(during.len(), 2);
    for state in during {
        assert_eq!(state.claimed_until, Some(until), "{state:?}");
    }
}

#[tokio::test]
async fn a_passing_failure_releases_the_claim_so_a_retry_need_not_wait() {
    let desk = Desk::new();
    let booking = desk.book().await;
    let notifier = desk.notifier();
    desk.refuse_next(Notice::Staff, transient());
    let report = notifier.notify(&booking).await.unwrap();
    assert!(
        matches!(report.staff, Outcome::Deferred { .. }),
        "{report:?}"
    );
    let staff = desk.state(&booking, Notice::Staff).await;
    assert_eq!(
        (staff.claimed_until, staff.failed, staff.held, staff.sent_at),
        (None, None, None, None)
    );
    let retry = notifier.notify(&booking).await.unwrap();
    assert!(matches!(retry.staff, Outcome::Sent(_)), "{retry:?}");
    assert_eq!(retry.patient, Outcome::AlreadySent);
}

#[tokio::test]
async fn an_account_failure_holds_the_email_and_keeps_it_owed() {
    let desk = Desk::new();
    let booking = desk.book().await;
    let notifier = desk.notifier();
    desk.refuse_next(Notice::Patient, held());
    let report = notifier.notify(&booking).await.unwrap();
    assert_eq!(
        report.patient,
        Outcome::Held {
            code: "AccountSuspended".into()
        }
    );
    let patient = desk.state(&booking, Notice::Patient).await;
    assert_eq!(patient.held.as_deref(), Some("AccountSuspended"));
    assert_eq!((patient.failed, patient.claimed_until), (None, None));
    desk.advance(Duration::minutes(20));
    let owed = notifier.owed(SWEEP_AFTER_FOR_TESTS).await.unwrap();
    assert_eq!(owed.bookings.len(), 1);
    let retry = notifier.notify(&booking).await.unwrap();
    assert!(matches!(retry.patient, Outcome::Sent(_)), "{retry:?}");
    assert_eq!(desk.state(&booking, Notice::Patient).await.held, None);
}

#[tokio::test]
async fn a_refused_message_is_recorded_and_never_tried_again() {
    let desk = Desk::new();
    let booking = desk.book().await;
    let notifier = desk.notifier();
    desk.refuse_next(Notice::Patient, refused());
    let report = notifier.notify(&booking).await.unwrap();
    assert_eq!(
        report.patient,
        Outcome::Failed {
            code: "MessageRejected".into()
        }
    );
    let patient = desk.state(&booking, Notice::Patient).await;
    assert_eq!(patient.failed.as_deref(), Some("MessageRejected"));
    assert_eq!(patient.held, None);
    let again = notifier.notify(&booking).await.unwrap();
    assert_eq!(
        again.patient,
        Outcome::AlreadyFailed {
            code: "MessageRejected".into()
        }
    );
    assert_eq!(desk.sent(), [(booking.reference.clone(), Notice::Staff)]);
}

#[tokio::test]
async fn owed_lists_only_bookings_older_than_asked() {
    let desk = Desk::new();
    desk.book().await;
    desk.advance(Duration::minutes(20));
    let notifier = desk.notifier();
    let owed = |minutes: u64| notifier.owed(std::time::Duration::from_secs(minutes * 60));
    assert_eq!(owed(15).await.unwrap().bookings.len(), 1);
    assert_eq!(owed(30).await.unwrap().bookings.len(), 0);
}

#[tokio::test]
async fn the_sweep_sends_what_is_owed_and_counts_each_email() {
    let desk = Desk::new();
    let (first, second) = (desk.book().await, desk.book().await);
    desk.refuse_next(Notice::Patient, refused());
    desk.advance(Duration::minutes(20));
    let mut seen = Vec::new();
    let done = desk
        .notifier()
        .sweep(SWEEP_AFTER_FOR_TESTS, None, |booking, report| {
            seen.push((booking.reference.clone(), report.is_ok()))
        })
        .await
        .unwrap();
    assert_eq!(
        done,
        Sweep {
            bookings: 2,
            sent: 3,
            refused: 1,
            ..Sweep::default()
        }
    );
    assert_eq!(seen, [(first.reference, true), (second.reference, true)]);
    let again = desk
        .notifier()
        .sweep(SWEEP_AFTER_FOR_TESTS, None, |_, _| {})
        .await
        .unwrap();
    assert_eq!(again, Sweep::default());
}

#[tokio::test]
async fn the_sweep_skips_unreadable_bookings_and_counts_them() {
    let desk = Desk::new();
    let broken = desk.book().await;
    desk.book().await;
    desk.store
        .overwrite_record(&broken.reference, "{\"phone\": 447700900123}".into())
        .await
        .unwrap();
    desk.advance(Duration::minutes(20));
    let done = desk
        .notifier()
        .sweep(SWEEP_AFTER_FOR_TESTS, None, |_, _| {})
        .await
        .unwrap();
    assert_eq!((done.bookings, done.sent, done.unreadable), (1, 2, 1));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_sweep_starts_no_booking_after_its_deadline() {
    // Each send takes ten (paused) seconds; the deadline falls in the first booking.
    let desk = Desk::pausing(std::time::Duration::from_secs(10));
    for _ in 0..3 {
        desk.book().await;
    }
    desk.advance(Duration::minutes(20));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let done = desk
        .notifier()
        .sweep(SWEEP_AFTER_FOR_TESTS, Some(deadline), |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (
            done.bookings,
            done.sent,
            done.not_reached,
            done.owed_after()
        ),
        (3, 2, 2, 4)
    );
    let far = tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
    let rest = desk
        .notifier()
        .sweep(SWEEP_AFTER_FOR_TESTS, Some(far), |_, _| {})
        .await
        .unwrap();
    assert_eq!((rest.bookings, rest.sent, rest.not_reached), (2, 4, 0));
}

/// A ledger whose claims (or, with `fail_marks`, failure marks instead)
/// on one booking fail, as a store that times out would.
struct FailingClaims {
    inner: Arc<EmbeddedBookingStore>,
    on: Reference,
    fail_marks: bool,
}

#[async_trait]
impl NoticeLedger for FailingClaims {
    async fn claim(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        if *reference == self.on && !self.fail_marks {
            return Err(StoreError::Unavailable("timed out".into()));
        }
        self.inner.claim(reference, notice, token, now, until).await
    }

    async fn mark_sent(
        &self,
        reference: &Reference,
        notice: Notice,
        message_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner
            .mark_sent(reference, notice, message_id, at)
            .await
    }

    async fn mark_failed(
        &self,
        reference: &Reference,
        notice: Notice,
        code: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if *reference == self.on && self.fail_marks {
            return Err(StoreError::Unavailable("timed out".into()));
        }
        self.inner.mark_failed(reference, notice, code, at).await
    }

    async fn hold(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
        code: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.inner.hold(reference, notice, token, code, at).await
    }

    async fn record_delivery(
        &self,
        reference: &Reference,
        notice: Notice,
        message_id: &str,
        delivery: Delivery,
        detail: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Recorded, StoreError> {
        self.inner
            .record_delivery(reference, notice, message_id, delivery, detail, at)
            .await
    }

    async fn staff_undelivered(
        &self,
        since: OffsetDateTime,
        sent_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Owed, StoreError> {
        self.inner.staff_undelivered(since, sent_before, now).await
    }

    async fn email_states(
        &self,
        received_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<EmailStates>, StoreError> {
        self.inner.email_states(received_after, now).await
    }

    async fn release(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
    ) -> Result<(), StoreError> {
        self.inner.release(reference, notice, token).await
    }

    async fn state(
        &self,
        reference: &Reference,
        notice: Notice,
    ) -> Result<Option<NoticeState>, StoreError> {
        self.inner.state(reference, notice).await
    }

    async fn owed(
        &self,
        received_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Owed, StoreError> {
        self.inner.owed(received_before, now).await
    }

    async fn confirmations_owed(
        &self,
        made_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<crate::notify::OwedConfirmations, StoreError> {
        self.inner.confirmations_owed(made_before, now).await
    }
}

#[tokio::test]
async fn a_store_failure_on_one_booking_leaves_its_emails_owed_and_the_sweep_goes_on() {
    let desk = Desk::new();
    let (stuck, fine) = (desk.book().await, desk.book().await);
    desk.advance(Duration::minutes(20));
    let notifier = desk.notifier();
    let notifier = Notifier {
        ledger: Arc::new(FailingClaims {
            inner: Arc::clone(&desk.store),
            on: stuck.reference.clone(),
            fail_marks: false,
        }),
        ..notifier
    };
    let mut failed = Vec::new();
    let done = notifier
        .sweep(SWEEP_AFTER_FOR_TESTS, None, |booking, report| {
            if report.is_err() {
                failed.push(booking.reference.clone());
            }
        })
        .await
        .unwrap();
    assert_eq!(
        (done.bookings, done.sent, done.still_owed, done.owed_after()),
        (2, 2, 2, 2)
    );
    assert_eq!(failed, [stuck.reference]);
    // Both of the other booking's emails, in whichever order they went.
    let sent = desk.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    for notice in Notice::ALL {
        assert!(sent.contains(&(fine.reference.clone(), notice)), "{sent:?}");
    }
}

/// The desk with a booking whose two emails are sent, `after` ago.
async fn sent_ago(desk: &Desk, notifier: &Notifier, after: Duration) -> Booking {
    let booking = desk.book().await;
    notifier.notify(&booking).await.unwrap();
    desk.advance(after);
    booking
}

const FALLBACK: (&str, &str) = ("STAFF_FALLBACK_INBOX", "fallback@clinic.example");

#[tokio::test]
async fn a_staff_email_not_delivered_in_time_goes_to_the_fallback_inbox_once() {
    let desk = Desk::new();
    let notifier = desk.notifier_with(&[FALLBACK]);
    let booking = sent_ago(&desk, &notifier, Duration::minutes(20)).await;
    let done = notifier.check_staff_delivery(None).await.unwrap();
    assert_eq!(
        done,
        DeliveryCheck {
            undelivered: 1,
            fallback_sent: 1,
            ..DeliveryCheck::default()
        }
    );
    assert_eq!(
        desk.sent().last(),
        Some(&(booking.reference, Notice::StaffFallback))
    );
    let again = notifier.check_staff_delivery(None).await.unwrap();
    assert_eq!(again, DeliveryCheck::default());
}

#[tokio::test]
async fn only_staff_emails_late_and_within_the_window_are_checked() {
    let desk = Desk::new();
    let notifier = desk.notifier_with(&[FALLBACK]);
    sent_ago(&desk, &notifier, STAFF_DELIVERY_WINDOW + Duration::hours(1)).await;
    let late = sent_ago(&desk, &notifier, Duration::minutes(10)).await;
    sent_ago(&desk, &notifier, Duration::minutes(10)).await;
    // The first is past the window; the second 20 minutes old, the third 10.
    let done = notifier.check_staff_delivery(None).await.unwrap();
    assert_eq!((done.undelivered, done.fallback_sent), (1, 1), "{done:?}");
    assert_eq!(
        desk.sent().last(),
        Some(&(late.reference, Notice::StaffFallback))
    );
}

#[tokio::test]
async fn without_a_fallback_inbox_each_undelivered_email_alarms_once() {
    let desk = Desk::new();
    let notifier = desk.notifier();
    let booking = sent_ago(&desk, &notifier, Duration::minutes(20)).await;
    let done = notifier.check_staff_delivery(None).await.unwrap();
    assert_eq!(
        done,
        DeliveryCheck {
            undelivered: 1,
            no_fallback: 1,
            ..DeliveryCheck::default()
        }
    );
    let fallback = desk.state(&booking, Notice::StaffFallback).await;
    assert_eq!(fallback.failed.as_deref(), Some("NoFallbackInbox"));
    assert_eq!(
        notifier.check_staff_delivery(None).await.unwrap(),
        DeliveryCheck::default()
    );
    assert_eq!(desk.sent().len(), 2);
}

#[tokio::test]
async fn a_fallback_that_fails_is_counted_owed_only_while_it_may_still_go() {
    let desk = Desk::new();
    let notifier = desk.notifier_with(&[FALLBACK]);
    sent_ago(&desk, &notifier, Duration::minutes(20)).await;
    desk.refuse_next(Notice::StaffFallback, transient());
    let deferred = notifier.check_staff_delivery(None).await.unwrap();
    assert_eq!(
        (
            deferred.undelivered,
            deferred.fallback_sent,
            deferred.fallback_owed
        ),
        (1, 0, 1)
    );
    desk.refuse_next(Notice::StaffFallback, refused());
    let refused = notifier.check_staff_delivery(None).await.unwrap();
    assert_eq!(
        (
            refused.undelivered,
            refused.fallback_sent,
            refused.fallback_owed
        ),
        (1, 0, 0)
    );
    assert_eq!(
        notifier.check_staff_delivery(None).await.unwrap(),
        DeliveryCheck::default()
    );
}

#[tokio::test]
async fn a_refused_staff_email_goes_to_the_fallback_inbox_at_once() {
    let desk = Desk::new();
    let notifier = desk.notifier_with(&[FALLBACK]);
    desk.refuse_next(Notice::Staff, refused());
    let booking = sent_ago(&desk, &notifier, Duration::minutes(1)).await;
    let done = notifier.check_staff_delivery(None).await.unwrap();
    assert_eq!((done.undelivered, done.fallback_sent), (1, 1), "{done:?}");
    assert_eq!(
        desk.sent().last(),
        Some(&(booking.reference, Notice::StaffFallback))
    );
}

#[tokio::test]
async fn the_delivery_check_starts_no_booking_after_its_deadline() {
    let desk = Desk::new();
    let notifier = desk.notifier_with(&[FALLBACK]);
    sent_ago(&desk, &notifier, Duration::minutes(20)).await;
    let past = tokio::time::Instant::now();
    let stopped = notifier.check_staff_delivery(Some(past)).await.unwrap();
    assert_eq!(stopped, DeliveryCheck::default());
    let far = tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
    let done = notifier.check_staff_delivery(Some(far)).await.unwrap();
    assert_eq!((done.undelivered, done.fallback_sent), (1, 1));
}

#[tokio::test]
async fn the_delivery_check_counts_staff_emails_it_cannot_read() {
    let desk = Desk::new();
    let notifier = desk.notifier_with(&[FALLBACK]);
    let broken = sent_ago(&desk, &notifier, Duration::minutes(20)).await;
    desk.store
        .overwrite_record(&broken.reference, "{\"phone\": 447700900123}".into())
        .await
        .unwrap();
    let done = notifier.check_staff_delivery(None).await.unwrap();
    assert_eq!((done.undelivered, done.unreadable), (0, 1), "{done:?}");
}

#[tokio::test]
async fn an_email_sent_is_marked_even_when_the_other_emails_write_fails() {
    let desk = Desk::new();
    let booking = desk.book().await;
    // The acknowledgement is refused for good, and recording that fails.
    desk.refuse_next(
        Notice::Patient,
        MailError::Permanent {
            code: "MessageRejected".into(),
            message: "rejected".into(),
        },
    );
    let failing = Notifier {
        ledger: Arc::new(FailingClaims {
            inner: Arc::clone(&desk.store),
            on: booking.reference.clone(),
            fail_marks: true,
        }),
        ..desk.notifier()
    };
    assert!(failing.notify(&booking).await.is_err());
    let staff = desk
        .store
        .state(&booking.reference, Notice::Staff)
        .await
        .unwrap()
        .unwrap();
    assert!(staff.sent_at.is_some(), "the staff email, sent, is marked");
    // Once the claims lapse, the retry sends the acknowledgement, and the
    // staff email no second time.
    desk.advance(Duration::minutes(10));
    let report = desk.notifier().notify(&booking).await.unwrap();
    assert_eq!(report.staff, Outcome::AlreadySent);
    assert!(matches!(report.patient, Outcome::Sent(_)), "{report:?}");
    let staff_sends = desk
        .sent()
        .iter()
        .filter(|(_, notice)| *notice == Notice::Staff)
        .count();
    assert_eq!(staff_sends, 1);
}
