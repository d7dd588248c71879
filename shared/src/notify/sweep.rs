//! The owed-email sweep: every email that stored bookings still owe, sent
//! once each through the same core as the stream. `frontdesk notify` runs it
//! by hand; in Lambda a schedule runs it, so nothing held or lost to the
//! failure queue waits for a person.

use super::{Delivery, Notice, NoticeState, Notifier, Outcome, Report};
use crate::booking::Booking;
use crate::metric;
use crate::store::StoreError;
use std::time::Duration;

/// How old a booking must be before a sweep takes it, in minutes: younger
/// ones are most likely being notified by the stream right now.
pub const SWEEP_AFTER_MINUTES: u64 = 15;

/// `SWEEP_AFTER_MINUTES` as a duration.
pub const SWEEP_AFTER: Duration = Duration::from_secs(SWEEP_AFTER_MINUTES * 60);

/// What one sweep did, in emails.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Sweep {
    /// Bookings that owed an email.
    pub bookings: usize,
    /// Emails sent now.
    pub sent: usize,
    /// Emails refused for good now (recorded on the booking).
    pub refused: usize,
    /// Emails held by the account or its set-up: still owed, and alarmed.
    pub held: usize,
    /// Emails still owed for another reason: deferred, claimed by another
    /// attempt, or not reached because the store failed.
    pub still_owed: usize,
    /// Stored items that owe an email but could not be read (logged by reference).
    pub unreadable: usize,
    /// Bookings left for the next sweep because this one ran out of time.
    pub not_reached: usize,
    /// Appointment confirmations that were owed (each also counted as
    /// sent, refused, held or still owed).
    pub confirmations: usize,
    /// Confirmations left for the next sweep because this one ran out of time.
    pub confirmations_not_reached: usize,
}

impl Sweep {
    /// Emails that remain owed after this sweep (at most two per booking not reached).
    pub fn owed_after(&self) -> usize {
        self.held + self.still_owed + 2 * self.not_reached + self.confirmations_not_reached
    }

    /// The metric line that alarms on bookings this sweep could not read,
    /// when there were some.
    pub fn unreadable_alarm(&self, at: time::OffsetDateTime) -> Option<String> {
        (self.unreadable > 0).then(|| metric::bookings_unreadable(at, self.unreadable))
    }

    fn count(&mut self, report: &Report) {
        for (_, outcome) in report.outcomes() {
            self.count_one(outcome);
        }
    }

    fn count_one(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Sent(_) => self.sent += 1,
            Outcome::Failed { .. } => self.refused += 1,
            Outcome::Held { .. } => self.held += 1,
            Outcome::Deferred { .. } | Outcome::InProgress { .. } => self.still_owed += 1,
            Outcome::AlreadySent
            | Outcome::AlreadyFailed { .. }
            | Outcome::BookingGone
            | Outcome::Withheld { .. }
            | Outcome::NotNeeded { .. } => {}
        }
    }
}

impl std::fmt::Display for Sweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} booking(s) owed emails: {} sent, {} refused, {} held, {} still owed",
            self.bookings, self.sent, self.refused, self.held, self.still_owed
        )?;
        if self.confirmations > 0 {
            write!(
                f,
                "; {} appointment confirmation(s) were owed",
                self.confirmations
            )?;
        }
        if self.not_reached > 0 {
            write!(
                f,
                "; {} booking(s) left for the next sweep",
                self.not_reached
            )?;
        }
        if self.confirmations_not_reached > 0 {
            write!(
                f,
                "; {} confirmation(s) left for the next sweep",
                self.confirmations_not_reached
            )?;
        }
        if self.unreadable > 0 {
            write!(f, "; {} unreadable booking(s) skipped", self.unreadable)?;
        }
        Ok(())
    }
}

impl Notifier {
    /// Sends every email owed by bookings received more than `older_than`
    /// ago, held ones included, and tells `each` how each booking went. A
    /// store failure on one booking leaves its emails owed and goes on with
    /// the next; only failing to find the owed bookings at all is an error.
    /// With a `deadline`, no booking is started after it (a Lambda's time
    /// left, less one booking's worst case): the rest wait for the next sweep.
    pub async fn sweep(
        &self,
        older_than: Duration,
        deadline: Option<tokio::time::Instant>,
        mut each: impl FnMut(&Booking, Result<&[(Notice, &Outcome)], &StoreError>),
    ) -> Result<Sweep, StoreError> {
        let owed = self.owed(older_than).await?;
        let mut done = Sweep {
            bookings: owed.bookings.len(),
            unreadable: owed.unreadable.len(),
            ..Sweep::default()
        };
        if let Some(alarm) = done.unreadable_alarm(self.clock.now()) {
            println!("{alarm}");
        }
        for (index, booking) in owed.bookings.iter().enumerate() {
            if deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
                done.not_reached = owed.bookings.len() - index;
                break;
            }
            match self.notify(booking).await {
                Ok(report) => {
                    done.count(&report);
                    each(booking, Ok(&report.outcomes()));
                }
                Err(error) => {
                    done.still_owed += 2;
                    tracing::warn!(reference = %booking.reference, error = %error, "sweep: store unavailable");
                    each(booking, Err(&error));
                }
            }
        }
        let (before, now) = self.cutoff(older_than);
        let owed = self.ledger.confirmations_owed(before, now).await?;
        done.confirmations = owed.confirmations.len();
        done.unreadable += owed.unreadable.len();
        for (index, (booking, confirmation)) in owed.confirmations.iter().enumerate() {
            if deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
                done.confirmations_not_reached = owed.confirmations.len() - index;
                break;
            }
            match self.confirm(booking, confirmation).await {
                Ok(outcome) => {
                    done.count_one(&outcome);
                    let notice = Notice::Confirmation(confirmation.sequence);
                    each(booking, Ok(&[(notice, &outcome)]));
                }
                Err(error) => {
                    done.still_owed += 1;
                    tracing::warn!(reference = %booking.reference, error = %error, "sweep: store unavailable");
                    each(booking, Err(&error));
                }
            }
        }
        Ok(done)
    }
}

/// How far back the staff delivery check looks: long enough for any
/// bounce or delay SES reports, short enough that deploying it (or a long
/// outage of SES's events) never resends old bookings wholesale.
pub const STAFF_DELIVERY_WINDOW: time::Duration = time::Duration::days(2);

/// What one check of the staff emails' delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryCheck {
    /// Staff emails that did not reach the staff inbox (bounced, complained
    /// of, rejected, or not delivered in time), each alarmed.
    pub undelivered: usize,
    /// Fallback notices sent now.
    pub fallback_sent: usize,
    /// Fallback notices still owed (deferred, held, or in progress).
    pub fallback_owed: usize,
    /// Undelivered staff emails with no fallback inbox to send to.
    pub no_fallback: usize,
    /// Stored items that could not be read (logged by reference).
    pub unreadable: usize,
}

impl Notifier {
    /// Finds staff emails that did not reach the staff inbox: refused for
    /// good, bounced, complained of or rejected, or sent
    /// `STAFF_DELIVERY_ALARM_MINUTES` ago with no delivery reported. Each is alarmed (a metric line) and
    /// its booking's staff notice sent to `STAFF_FALLBACK_INBOX`, once;
    /// without a fallback inbox, the fallback is recorded as refused
    /// (`NoFallbackInbox`) so the alarm fires once per email.
    /// Only staff emails of the last `STAFF_DELIVERY_WINDOW` are looked
    /// at, so a deploy does not alarm on (or resend) a year of bookings;
    /// with a `deadline`, no booking is started after it.
    pub async fn check_staff_delivery(
        &self,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<DeliveryCheck, StoreError> {
        let now = self.clock.now();
        let late = time::Duration::try_from(self.config.staff_delivery_alarm_after)
            .unwrap_or(time::Duration::minutes(15));
        let found = self
            .ledger
            .staff_undelivered(now - STAFF_DELIVERY_WINDOW, now - late, now)
            .await?;
        let mut done = DeliveryCheck {
            unreadable: found.unreadable.len(),
            ..DeliveryCheck::default()
        };
        for booking in &found.bookings {
            if deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
                break;
            }
            let reference = &booking.reference;
            let Some(staff) = self.ledger.state(reference, Notice::Staff).await? else {
                continue;
            };
            let why = undelivered_because(&staff);
            done.undelivered += 1;
            tracing::error!(reference = %reference, why, "staff email did not reach the staff inbox");
            println!(
                "{}",
                metric::staff_undelivered(now, reference.as_str(), why)
            );
            if self.config.staff_fallback_inbox.is_none() {
                let token = super::ClaimToken::new();
                if self
                    .ledger
                    .claim(
                        reference,
                        Notice::StaffFallback,
                        &token,
                        now,
                        now + self.claim_for,
                    )
                    .await?
                    == super::Claim::Claimed
                {
                    self.ledger
                        .mark_failed(reference, Notice::StaffFallback, "NoFallbackInbox", now)
                        .await?;
                }
                done.no_fallback += 1;
                continue;
            }
            match self
                .one(booking, super::Letter::Notice(Notice::StaffFallback))
                .await?
            {
                Outcome::Sent(_) => done.fallback_sent += 1,
                outcome if outcome.must_retry() => done.fallback_owed += 1,
                _ => {}
            }
        }
        Ok(done)
    }
}

/// Why a staff email the ledger lists did not reach the staff inbox, as
/// its alarm names it: refused for good, what SES reported of it
/// (`bounced`, `complained`, `rejected`), or, with nothing bad reported, late.
fn undelivered_because(staff: &NoticeState) -> &'static str {
    if staff.failed.is_some() {
        return "refused";
    }
    staff
        .delivery
        .as_deref()
        .and_then(Delivery::parse)
        .filter(|delivery| delivery.is_bad())
        .map_or("late", Delivery::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undelivered_staff_email_is_alarmed_by_what_became_of_it() {
        let state = |failed: Option<&str>, delivery: Option<&str>| NoticeState {
            failed: failed.map(str::to_owned),
            delivery: delivery.map(str::to_owned),
            ..NoticeState::default()
        };
        assert_eq!(
            undelivered_because(&state(Some("MessageRejected"), None)),
            "refused"
        );
        assert_eq!(
            undelivered_because(&state(Some("MessageRejected"), Some("bounced"))),
            "refused"
        );
        assert_eq!(
            undelivered_because(&state(None, Some("bounced"))),
            "bounced"
        );
        assert_eq!(
            undelivered_because(&state(None, Some("complained"))),
            "complained"
        );
        assert_eq!(undelivered_because(&state(None, Some("delayed"))), "late");
        assert_eq!(undelivered_because(&state(None, Some("sent"))), "late");
        assert_eq!(undelivered_because(&state(None, None)), "late");
    }

    #[test]
    fn a_sweep_counts_each_email_by_its_outcome() {
        let mut sweep = Sweep::default();
        let report = |staff, patient| Report { staff, patient };
        let held = || Outcome::Held {
            code: "AccountSuspended".into(),
        };
        sweep.count(&report(
            Outcome::sent_as("m-1"),
            Outcome::Failed {
                code: "BadAddress".into(),
            },
        ));
        sweep.count(&report(held(), held()));
        sweep.count(&report(
            Outcome::Deferred {
                reason: "throttled".into(),
            },
            Outcome::InProgress {
                until: time::OffsetDateTime::UNIX_EPOCH,
            },
        ));
        sweep.count(&report(Outcome::AlreadySent, Outcome::BookingGone));
        assert_eq!(
            sweep,
            Sweep {
                sent: 1,
                refused: 1,
                held: 2,
                still_owed: 2,
                ..Sweep::default()
            }
        );
    }

    #[test]
    fn what_remains_owed_counts_two_emails_for_each_booking_not_reached() {
        let sweep = Sweep {
            held: 3,
            still_owed: 5,
            not_reached: 7,
            ..Sweep::default()
        };
        assert_eq!(sweep.owed_after(), 3 + 5 + 2 * 7);
    }

    #[test]
    fn the_summary_names_what_was_left_and_skipped_only_when_there_was_some() {
        let mut sweep = Sweep {
            bookings: 4,
            sent: 3,
            refused: 1,
            held: 2,
            still_owed: 1,
            ..Sweep::default()
        };
        assert_eq!(
            sweep.to_string(),
            "4 booking(s) owed emails: 3 sent, 1 refused, 2 held, 1 still owed"
        );
        sweep.not_reached = 1;
        sweep.unreadable = 2;
        assert_eq!(
            sweep.to_string(),
            "4 booking(s) owed emails: 3 sent, 1 refused, 2 held, 1 still owed; \
             1 booking(s) left for the next sweep; 2 unreadable booking(s) skipped"
        );
        sweep.confirmations = 3;
        sweep.confirmations_not_reached = 1;
        assert_eq!(
            sweep.to_string(),
            "4 booking(s) owed emails: 3 sent, 1 refused, 2 held, 1 still owed; \
             3 appointment confirmation(s) were owed; 1 booking(s) left for the next sweep; \
             1 confirmation(s) left for the next sweep; 2 unreadable booking(s) skipped"
        );
        assert_eq!(sweep.owed_after(), 2 + 1 + 2 + 1);
    }

    #[test]
    fn only_a_sweep_that_skipped_bookings_alarms() {
        let at = time::OffsetDateTime::UNIX_EPOCH;
        assert_eq!(Sweep::default().unreadable_alarm(at), None);
        let skipped = Sweep {
            unreadable: 2,
            ..Sweep::default()
        };
        assert_eq!(
            skipped.unreadable_alarm(at),
            Some(metric::bookings_unreadable(at, 2))
        );
    }

    #[test]
    fn the_sweep_waits_a_quarter_of_an_hour() {
        assert_eq!(SWEEP_AFTER, Duration::from_secs(15 * 60));
    }
}
