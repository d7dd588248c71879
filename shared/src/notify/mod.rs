//! `notify(booking)`: the core every notifier edge shares (the Lambda's
//! stream handler, the local server after each insert).
//!
//! Each of a booking's two emails is claimed (a conditional write with an
//! expiry), sent, then marked sent, so a redelivered stream record or a
//! second invocation finds it claimed or sent and does not send it again,
//! and a crashed attempt's claim expires so the email is never lost. A
//! transient mail failure releases the claim and asks for a retry; one the
//! account or its set-up causes (sending paused, a sender not verified) holds
//! the email: it stays owed, is retried, and is logged as a metric line that
//! an alarm watches; one about this message or recipient is recorded on the
//! booking, logged as another metric line, and never retried.
//!
//! One window remains, by design: if an email is sent but the sent mark
//! cannot be written, the claim expires and a retry sends it a second time.
//! A duplicate is better than a lost email.

pub mod calendar;
pub mod ceiling;
pub mod clinic;
pub mod confirmation;
pub mod delivery;
pub mod emails;
pub mod ledger;
#[cfg(all(test, feature = "embedded"))]
mod scenarios;
pub mod sweep;

pub use ceiling::{AcknowledgementCounter, Ceiling};
pub use clinic::Clinic;
pub use confirmation::{Confirmation, Method, NotNeeded};
pub use delivery::{Delivery, Recorded};
pub use emails::{Emails, Letter};
pub use ledger::{
    Claim, ClaimToken, EmailStates, Notice, NoticeLedger, NoticeState, Owed, OwedConfirmations,
};
pub use sweep::Sweep;

use crate::booking::Booking;
use crate::config::NotifierConfig;
use crate::content::cache::Publication;
use crate::mail::{Mailer, Sent};
use crate::metric;
use crate::store::StoreError;
use crate::time_source::Clock;
use std::sync::Arc;
use time::OffsetDateTime;

/// What happened to one email in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent now.
    Sent(Sent),
    /// Sent by an earlier attempt.
    AlreadySent,
    /// Failed permanently now; recorded on the booking with this code.
    Failed {
        /// The mailer's error code.
        code: String,
    },
    /// Failed permanently in an earlier attempt.
    AlreadyFailed {
        /// The recorded error code.
        code: String,
    },
    /// Not sent: the mailer may accept it later.
    Deferred {
        /// Why, for the logs.
        reason: String,
    },
    /// Not sent: the account or its set-up refuses it until an operator acts.
    /// It stays owed, with this code recorded on the booking.
    Held {
        /// The mailer's error code.
        code: String,
    },
    /// Another attempt holds the email's claim; it may be sending it now.
    InProgress {
        /// When that claim expires.
        until: OffsetDateTime,
    },
    /// The booking no longer exists (its retention passed): nothing to send.
    BookingGone,
    /// Not sent on purpose, for this reason; recorded on the booking.
    Withheld {
        /// Why.
        why: crate::booking::Withheld,
    },
    /// A confirmation no longer worth sending, for this reason; recorded on
    /// the booking.
    NotNeeded {
        /// Why.
        why: NotNeeded,
    },
}

impl Outcome {
    /// Whether the email still needs a later attempt.
    pub fn must_retry(&self) -> bool {
        matches!(
            self,
            Self::Deferred { .. } | Self::Held { .. } | Self::InProgress { .. }
        )
    }
}

#[cfg(test)]
impl Outcome {
    /// An email the mailer took now as message `id`, as tests write it.
    pub(crate) fn sent_as(id: &str) -> Self {
        Self::Sent(Sent {
            message_id: id.into(),
            receipt: format!("message {id}"),
            delivered: false,
        })
    }
}

/// Both emails' outcomes for one booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The staff email.
    pub staff: Outcome,
    /// The patient's acknowledgement.
    pub patient: Outcome,
}

impl Report {
    /// Whether the booking must be notified again later (its stream record retried).
    pub fn must_retry(&self) -> bool {
        self.staff.must_retry() || self.patient.must_retry()
    }

    /// Each email with its outcome.
    pub fn outcomes(&self) -> [(Notice, &Outcome); 2] {
        [
            (Notice::Staff, &self.staff),
            (Notice::Patient, &self.patient),
        ]
    }
}

/// Sends a booking's emails once each, through any ledger and any mailer.
#[derive(Clone)]
pub struct Notifier {
    ledger: Arc<dyn NoticeLedger>,
    mailer: Arc<dyn Mailer>,
    emails: Emails,
    clock: Clock,
    claim_for: time::Duration,
    config: Arc<NotifierConfig>,
    clinic: Arc<dyn Publication<clinic::Published>>,
    ceiling: Option<Ceiling>,
}

impl Notifier {
    /// A notifier over the booking store's ledger and a mailer, sending as
    /// the clinic `clinic` publishes.
    pub fn new(
        ledger: Arc<dyn NoticeLedger>,
        mailer: Arc<dyn Mailer>,
        config: Arc<NotifierConfig>,
        clock: Clock,
        clinic: Arc<dyn Publication<clinic::Published>>,
    ) -> Self {
        let claim_for =
            time::Duration::try_from(config.claim_for).unwrap_or(time::Duration::minutes(2));
        Self {
            ledger,
            mailer,
            emails: Emails::new(Arc::clone(&config)),
            clock,
            claim_for,
            config,
            clinic,
            ceiling: None,
        }
    }

    /// The same notifier, withholding acknowledgements past the
    /// configured hourly ceiling (`ACKNOWLEDGEMENTS_PER_HOUR`, none when 0),
    /// counted in `counter`.
    pub fn with_ceiling(mut self, counter: Arc<dyn AcknowledgementCounter>) -> Self {
        let per_hour = self.config.acknowledgements_per_hour;
        self.ceiling = (per_hour > 0).then_some(Ceiling { counter, per_hour });
        self
    }

    /// Sends whichever of the booking's emails are not sent yet. A store
    /// failure is an error (retry the whole booking: sent emails are skipped).
    ///
    /// Both emails are claimed in one write and, once both are sent, marked
    /// in one write (`NoticeLedger::claim_each`, `mark_each_sent`): an email
    /// claimed elsewhere or already settled stays so and the other still
    /// goes; one held, withheld, failed or deferred gets its own write.
    pub async fn notify(&self, booking: &Booking) -> Result<Report, StoreError> {
        let reference = &booking.reference;
        let now = self.clock.now();
        if self.gone(booking, now) {
            return Ok(Report {
                staff: Outcome::BookingGone,
                patient: Outcome::BookingGone,
            });
        }
        let token = ClaimToken::new();
        let claims = self
            .ledger
            .claim_each(reference, &Notice::ALL, &token, now, now + self.claim_for)
            .await?;
        let [staff, patient]: [Claim; 2] = claims.try_into().map_err(|_| {
            StoreError::Corrupt("the ledger answered a claim per email wrongly".into())
        })?;
        let (staff, patient) = tokio::join!(
            self.after_claim(booking, Letter::Notice(Notice::Staff), staff, &token, now),
            self.after_claim(
                booking,
                Letter::Notice(Notice::Patient),
                patient,
                &token,
                now
            )
        );
        // What was sent is marked even when the other email's path failed:
        // unmarked, it would be sent again once its claim lapsed.
        let sent: Vec<(Notice, String)> = [(Notice::Staff, &staff), (Notice::Patient, &patient)]
            .into_iter()
            .filter_map(|(notice, step)| match step {
                Ok(Step::Sent(sent)) => Some((notice, sent.message_id.clone())),
                _ => None,
            })
            .collect();
        self.ledger
            .mark_each_sent(reference, &sent, self.clock.now())
            .await?;
        let (staff, patient) = (staff?, patient?);
        Ok(Report {
            staff: self.settled(booking, Notice::Staff, staff).await,
            patient: self.settled(booking, Notice::Patient, patient).await,
        })
    }

    /// The bookings received more than `older_than` ago that still owe an
    /// email, oldest first. Younger ones are left to the stream (or the
    /// local server's retries), which is most likely handling them now.
    pub async fn owed(&self, older_than: std::time::Duration) -> Result<Owed, StoreError> {
        let (before, now) = self.cutoff(older_than);
        self.ledger.owed(before, now).await
    }

    /// The moment `older_than` ago (now, for a span too long to hold), and now.
    fn cutoff(&self, older_than: std::time::Duration) -> (OffsetDateTime, OffsetDateTime) {
        let now = self.clock.now();
        let older_than = time::Duration::try_from(older_than).unwrap_or(time::Duration::ZERO);
        (now - older_than, now)
    }

    /// The clinic the emails are from: a content table that cannot be read
    /// defers the email (time fixes it); content without the site's details
    /// holds it (an operator pushes them).
    async fn clinic_published(&self) -> Result<Clinic, crate::mail::MailError> {
        match self.clinic.current().await {
            Ok(published) => published
                .0
                .clone()
                .ok_or_else(|| crate::mail::MailError::Held {
                    code: "SiteNotPublished".into(),
                    message: "the content publishes no site details (content/site.md): push it"
                        .into(),
                }),
            Err(error) => Err(crate::mail::MailError::Transient(format!(
                "the clinic's details cannot be read: {error}"
            ))),
        }
    }

    /// Past its retention a booking is gone, whether or not TTL or the
    /// embedded store's expiry has removed it yet: a late stream record or
    /// sweep never emails about it.
    fn gone(&self, booking: &Booking, now: OffsetDateTime) -> bool {
        booking.expires_at <= now
    }

    /// Sends one email of `booking` on its own: its claim, its send and its mark.
    async fn one(&self, booking: &Booking, letter: Letter<'_>) -> Result<Outcome, StoreError> {
        let reference = &booking.reference;
        let notice = letter.notice();
        let token = ClaimToken::new();
        let now = self.clock.now();
        if self.gone(booking, now) {
            return Ok(Outcome::BookingGone);
        }
        let claim = self
            .ledger
            .claim(reference, notice, &token, now, now + self.claim_for)
            .await?;
        let step = self
            .after_claim(booking, letter, claim, &token, now)
            .await?;
        if let Step::Sent(sent) = &step {
            self.ledger
                .mark_sent(reference, notice, &sent.message_id, self.clock.now())
                .await?;
        }
        Ok(self.settled(booking, notice, step).await)
    }

    /// Sends `confirmation` of `booking`'s appointment to the patient, once:
    /// through the same claim, send and mark as every email. One a later
    /// change has replaced, or whose appointment has begun, is recorded as
    /// not needed and never sent. A store failure is an error (retry it: a
    /// sent confirmation is skipped).
    pub async fn confirm(
        &self,
        booking: &Booking,
        confirmation: &Confirmation,
    ) -> Result<Outcome, StoreError> {
        self.one(booking, Letter::Confirmation(confirmation)).await
    }

    /// Whether the patient may hold an entry a cancellation numbered
    /// `sequence` removes: one of the confirmations before it was sent, is
    /// being sent now, or was attempted by a sender that never said how it
    /// ended (a claim left behind, lapsed or not, or recorded as such).
    async fn anything_to_cancel(
        &self,
        reference: &crate::booking::Reference,
        sequence: u32,
    ) -> Result<bool, StoreError> {
        for earlier in (0..sequence).rev() {
            let state = self
                .ledger
                .state(reference, Notice::Confirmation(earlier))
                .await?
                .unwrap_or_default();
            let attempted = state.claimed_until.is_some()
                || state.failed.as_deref().and_then(NotNeeded::of_code)
                    == Some(NotNeeded::SupersededAfterAttempt);
            if state.sent_at.is_some() || attempted {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// What becomes of one email after its claim: sent (its mark still to
    /// write), or settled otherwise with its own write (withheld, held,
    /// failed) or none (not ours to send, deferred).
    async fn after_claim(
        &self,
        booking: &Booking,
        letter: Letter<'_>,
        claim: Claim,
        token: &ClaimToken,
        now: OffsetDateTime,
    ) -> Result<Step, StoreError> {
        let reference = &booking.reference;
        let notice = letter.notice();
        let not_needed = match claim {
            Claim::Claimed => match letter {
                Letter::Confirmation(c) if c.appointment.at <= now => Some(NotNeeded::Passed),
                Letter::Confirmation(c)
                    if c.method == Method::Cancel
                        && !self.anything_to_cancel(reference, c.sequence).await? =>
                {
                    Some(NotNeeded::NothingToCancel)
                }
                _ => None,
            },
            Claim::Superseded { attempted: false } => Some(NotNeeded::Superseded),
            Claim::Superseded { attempted: true } => Some(NotNeeded::SupersededAfterAttempt),
            Claim::AlreadySent => return Ok(Step::Done(Outcome::AlreadySent)),
            Claim::AlreadyFailed { code } => {
                return Ok(Step::Done(Outcome::AlreadyFailed { code }))
            }
            Claim::HeldElsewhere { until } => return Ok(Step::Done(Outcome::InProgress { until })),
            Claim::NoBooking => return Ok(Step::Done(Outcome::BookingGone)),
        };
        if let Some(why) = not_needed {
            self.ledger
                .mark_failed(reference, notice, &why.code(), now)
                .await?;
            tracing::info!(reference = %reference, email = %notice, why = why.as_str(), "confirmation not needed");
            return Ok(Step::Done(Outcome::NotNeeded { why }));
        }
        if let (Notice::Patient, crate::booking::Acknowledgement::Withheld(why)) =
            (notice, booking.acknowledgement)
        {
            self.ledger
                .mark_failed(reference, notice, &ledger::withheld_code(why), now)
                .await?;
            tracing::info!(reference = %reference, email = %notice, why = why.as_str(), "acknowledgement withheld");
            println!("{}", metric::acknowledgement_withheld(now, why));
            return Ok(Step::Done(Outcome::Withheld { why }));
        }
        if let (Notice::Patient, Some(ceiling)) = (notice, &self.ceiling) {
            if !ceiling.counter.count(now, ceiling.per_hour).await? {
                let why = crate::booking::Withheld::HourlyCeiling;
                self.ledger
                    .mark_failed(reference, notice, &ledger::withheld_code(why), now)
                    .await?;
                tracing::warn!(reference = %reference, email = %notice, why = why.as_str(), "acknowledgement withheld");
                println!("{}", metric::acknowledgement_withheld(now, why));
                return Ok(Step::Done(Outcome::Withheld { why }));
            }
        }
        let sent = match self.clinic_published().await {
            Ok(clinic) => match self.emails.render(letter, booking, &clinic) {
                Ok(email) => self.mailer.send(&email).await,
                Err(refused) => Err(refused),
            },
            Err(unknown) => Err(unknown),
        };
        match sent {
            Ok(sent) => {
                // Said before its mark is written, which may fail.
                tracing::info!(reference = %reference, email = %notice, message_id = %sent.message_id, "email sent");
                Ok(Step::Sent(sent))
            }
            Err(error) if error.is_transient() => {
                if let Err(release) = self.ledger.release(reference, notice, token).await {
                    // The claim then lapses at its expiry; the retry waits for it.
                    tracing::warn!(reference = %reference, email = %notice, error = %release, "could not release claim");
                }
                tracing::warn!(reference = %reference, email = %notice, error = %error, "email deferred");
                Ok(Step::Done(Outcome::Deferred {
                    reason: error.to_string(),
                }))
            }
            Err(error) if error.is_held() => {
                let code = error.code().to_owned();
                let at = self.clock.now();
                self.ledger
                    .hold(reference, notice, token, &code, at)
                    .await?;
                // The code only: a service's message may quote the address.
                tracing::error!(reference = %reference, email = %notice, code = %code, "email held");
                println!(
                    "{}",
                    metric::held(at, reference.as_str(), notice.kind(), &code)
                );
                Ok(Step::Done(Outcome::Held { code }))
            }
            Err(error) => {
                let code = error.code().to_owned();
                let at = self.clock.now();
                self.ledger
                    .mark_failed(reference, notice, &code, at)
                    .await?;
                // The code only: a service's message may quote the address.
                tracing::error!(reference = %reference, email = %notice, code = %code, "email failed permanently");
                println!(
                    "{}",
                    metric::permanent_failure(at, reference.as_str(), notice.kind(), &code)
                );
                Ok(Step::Done(Outcome::Failed { code }))
            }
        }
    }

    /// An email's outcome once its sent mark is written: a mailer that
    /// knows the email delivered (the local outbox) records that too.
    async fn settled(&self, booking: &Booking, notice: Notice, step: Step) -> Outcome {
        let sent = match step {
            Step::Done(outcome) => return outcome,
            Step::Sent(sent) => sent,
        };
        let reference = &booking.reference;
        if sent.delivered {
            let delivered = self
                .ledger
                .record_delivery(
                    reference,
                    notice,
                    &sent.message_id,
                    Delivery::Delivered,
                    None,
                    self.clock.now(),
                )
                .await;
            if let Err(error) = delivered {
                // The email is sent and marked; only its delivery state is missing.
                tracing::warn!(reference = %reference, email = %notice, error = %error, "could not record delivery");
            }
        }
        Outcome::Sent(sent)
    }
}

/// Where one email stands between its claim and its sent mark.
enum Step {
    /// Sent: its mark is still to be written.
    Sent(Sent),
    /// Settled otherwise, or not this attempt's to send.
    Done(Outcome),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn each_outcome() -> Vec<Outcome> {
        let code = || "Code".to_owned();
        vec![
            Outcome::sent_as("m-1"),
            Outcome::AlreadySent,
            Outcome::Failed { code: code() },
            Outcome::AlreadyFailed { code: code() },
            Outcome::Deferred {
                reason: "throttled".into(),
            },
            Outcome::Held { code: code() },
            Outcome::InProgress {
                until: OffsetDateTime::UNIX_EPOCH,
            },
            Outcome::BookingGone,
            Outcome::Withheld {
                why: crate::booking::Withheld::AddressCap,
            },
            Outcome::NotNeeded {
                why: NotNeeded::Superseded,
            },
        ]
    }

    #[test]
    fn only_an_email_not_yet_settled_is_retried() {
        let retried: Vec<bool> = each_outcome().iter().map(Outcome::must_retry).collect();
        assert_eq!(
            retried,
            [false, false, false, false, true, true, true, false, false, false]
        );
    }

    #[test]
    fn a_booking_is_notified_again_while_either_email_is_owed() {
        let done = Outcome::AlreadySent;
        let owed = Outcome::Deferred {
            reason: "throttled".into(),
        };
        let report = |staff: &Outcome, patient: &Outcome| Report {
            staff: staff.clone(),
            patient: patient.clone(),
        };
        assert!(!report(&done, &done).must_retry());
        assert!(report(&owed, &done).must_retry());
        assert!(report(&done, &owed).must_retry());
        assert!(report(&owed, &owed).must_retry());
    }
}
