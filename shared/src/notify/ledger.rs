//! The `NoticeLedger` port: per booking and per email, a claim with an
//! expiry and a sent (or failed) mark, changed only by conditional writes.
//! It is what makes at-least-once delivery of stream records send each
//! email once.

use crate::booking::{Booking, Reference};
use crate::store::StoreError;
use async_trait::async_trait;
use time::OffsetDateTime;

/// The emails frontdesk sends about a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    /// To the clinic's staff: everything needed to call the patient back.
    Staff,
    /// To the patient: the reference and what happens next.
    Patient,
    /// The staff email again, to `STAFF_FALLBACK_INBOX`, when the staff
    /// inbox bounced it, complained of it, or did not take it in time. Not
    /// one of the emails every booking owes: only a failed staff email
    /// makes it due.
    StaffFallback,
    /// To the patient: the appointment staff booked, moved or cancelled,
    /// with its calendar entry; numbered by the change that owes it
    /// (`notify::confirmation`).
    Confirmation(u32),
}

impl Notice {
    /// The two emails every booking owes, staff first.
    pub const ALL: [Notice; 2] = [Notice::Staff, Notice::Patient];

    /// Every kind of email a booking owes or may come to owe, but the
    /// confirmations, which are numbered.
    pub const KINDS: [Notice; 3] = [Notice::Staff, Notice::Patient, Notice::StaffFallback];

    /// The prefix of a confirmation's name (`confirmation-2`).
    const CONFIRMATION: &'static str = "confirmation-";

    /// The email a stored or tagged name (`staff`, `confirmation-2`) names.
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(number) = name.strip_prefix(Self::CONFIRMATION) {
            let canonical = number.bytes().all(|b| b.is_ascii_digit())
                && (number == "0" || !number.starts_with('0'));
            return number
                .parse()
                .ok()
                .filter(|sequence| canonical && *sequence <= super::confirmation::MAX_SEQUENCE)
                .map(Self::Confirmation);
        }
        Self::KINDS.into_iter().find(|notice| notice.name() == name)
    }

    /// The name used in stored attributes, message tags, logs and metrics.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            Self::Staff => "staff".into(),
            Self::Patient => "patient".into(),
            Self::StaffFallback => "fallback".into(),
            Self::Confirmation(sequence) => format!("{}{sequence}", Self::CONFIRMATION).into(),
        }
    }

    /// Every kind's name as metrics give it, which alarms watch.
    pub const KIND_NAMES: [&'static str; 4] = ["staff", "patient", "fallback", "confirmation"];

    /// Its kind's name, as metrics give it: a confirmation's number is
    /// left out, so one alarm watches them all.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Staff => Self::KIND_NAMES[0],
            Self::Patient => Self::KIND_NAMES[1],
            Self::StaffFallback => Self::KIND_NAMES[2],
            Self::Confirmation(_) => Self::KIND_NAMES[3],
        }
    }

    /// What staff read it as on the desk.
    pub fn label(self) -> String {
        match self {
            Self::Staff => "To the staff inbox".into(),
            Self::Patient => "To the patient: the acknowledgement".into(),
            Self::StaffFallback => "To the fallback staff inbox".into(),
            Self::Confirmation(sequence) => format!(
                "To the patient: appointment confirmation {}",
                u64::from(sequence) + 1
            ),
        }
    }

    /// Whether it goes to the patient (and so through the configuration
    /// set that keeps SES's suppression list).
    pub fn to_patient(self) -> bool {
        matches!(self, Self::Patient | Self::Confirmation(_))
    }
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.name())
    }
}

/// Identifies one attempt's claim, so an attempt releases only its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(String);

impl ClaimToken {
    /// A fresh random token.
    pub fn new() -> Self {
        let mut bytes = [0u8; 12];
        // Without randomness a fixed token still works: it only weakens `release`.
        let _ = getrandom::fill(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ClaimToken {
    fn default() -> Self {
        Self::new()
    }
}

/// What trying to claim an email found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This attempt holds the email until the claim's expiry: send it.
    Claimed,
    /// The email was sent before.
    AlreadySent,
    /// The email failed permanently before, with this code.
    AlreadyFailed {
        /// The recorded error code.
        code: String,
    },
    /// Another attempt holds it; it may be sending right now.
    HeldElsewhere {
        /// When that claim expires.
        until: OffsetDateTime,
    },
    /// There is no such booking (its retention has passed).
    NoBooking,
    /// A confirmation a later change has replaced: the request's latest
    /// confirmation is another.
    Superseded {
        /// Whether an earlier attempt claimed it and never said how it
        /// ended (its claim lapsed): it may have reached the patient.
        attempted: bool,
    },
}

/// How an email withheld on purpose is recorded: as failed for good (it is
/// never retried), with this code in front of the reason.
pub const WITHHELD_CODE: &str = "withheld:";

/// The recorded code of an email withheld for `why`.
pub fn withheld_code(why: crate::booking::Withheld) -> String {
    format!("{WITHHELD_CODE}{}", why.as_str())
}

/// Why an email was withheld, if its recorded failure says it was.
pub fn withheld_of(failed: &str) -> Option<crate::booking::Withheld> {
    failed
        .strip_prefix(WITHHELD_CODE)
        .and_then(|why| crate::booking::Withheld::parse(why).ok())
}

/// Where one email stands, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeState {
    /// When it was sent.
    pub sent_at: Option<String>,
    /// The mailer's message ID.
    pub message_id: Option<String>,
    /// The permanent error's code.
    pub failed: Option<String>,
    /// When the permanent error happened.
    pub failed_at: Option<String>,
    /// The expiry of a claim in progress (seconds since the epoch).
    pub claimed_until: Option<i64>,
    /// The code of the account or set-up error the email waits on; it is
    /// still owed, and cleared when it is sent.
    pub held: Option<String>,
    /// When it was last held.
    pub held_at: Option<String>,
    /// What SES last reported of it (`delivered`, `bounced`...), once sent.
    pub delivery: Option<String>,
    /// When that happened, as SES reports it.
    pub delivery_at: Option<String>,
    /// SES's classification of a bounce or complaint (`Permanent/General`),
    /// never an address.
    pub delivery_detail: Option<String>,
}

impl NoticeState {
    /// Why this email cannot be claimed at `now`: sent, failed for good, or
    /// held by a claim that has not expired (reported with its expiry, or
    /// `until` where none is stored). `None` when it can be claimed.
    pub fn refusal(self, now: OffsetDateTime, until: OffsetDateTime) -> Option<Claim> {
        if self.sent_at.is_some() {
            return Some(Claim::AlreadySent);
        }
        if let Some(code) = self.failed {
            return Some(Claim::AlreadyFailed { code });
        }
        self.claimed_until
            .filter(|t| *t >= now.unix_timestamp())
            .map(|held| Claim::HeldElsewhere {
                until: OffsetDateTime::from_unix_timestamp(held).unwrap_or(until),
            })
    }
}

/// What a search for owed emails found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owed {
    /// The bookings that owe an email, oldest first.
    pub bookings: Vec<Booking>,
    /// The references of stored items that owe an email but could not be
    /// read as a booking (`(unreadable)` where the reference is not one
    /// either), for an operator to repair; each is logged by its reference
    /// (never its content) and skipped.
    pub unreadable: Vec<String>,
}

impl Owed {
    /// Counts a stored item that could not be read, logging its reference
    /// alone: what made it unreadable may be personal data.
    pub fn skip_unreadable(&mut self, reference: &str) {
        self.unreadable.push(logged_unreadable(reference));
    }
}

/// An unreadable stored item's reference as an operator reads it
/// (`(unreadable)` where it is not one either), logged alone: what made the
/// item unreadable may be personal data.
fn logged_unreadable(reference: &str) -> String {
    let reference = Reference::parse(reference)
        .map(|r| r.as_str().to_owned())
        .unwrap_or_else(|_| "(unreadable)".into());
    tracing::error!(reference = %reference, "stored booking unreadable; skipped by the sweep");
    reference
}

/// What a search for owed confirmations found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwedConfirmations {
    /// Each request's latest confirmation, neither sent nor refused (a
    /// held one is owed), with its booking, oldest change first.
    pub confirmations: Vec<(Booking, crate::notify::Confirmation)>,
    /// The references of stored items that could not be read (as
    /// [`Owed::unreadable`]).
    pub unreadable: Vec<String>,
}

impl OwedConfirmations {
    /// Counts a stored item that could not be read, logging its reference alone.
    pub fn skip_unreadable(&mut self, reference: &str) {
        self.unreadable.push(logged_unreadable(reference));
    }
}

/// Where a booking's emails stand, without anything personal: what an
/// operator's status report reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailStates {
    /// The booking.
    pub reference: Reference,
    /// When it was received.
    pub received_at: OffsetDateTime,
    /// The staff email's state.
    pub staff: NoticeState,
    /// The patient's email's state.
    pub patient: NoticeState,
}

/// Claims each of `notices` with its own write, in order: what
/// [`NoticeLedger::claim_each`] does for a store that cannot claim them in one.
pub async fn claim_one_by_one<L: NoticeLedger + ?Sized>(
    ledger: &L,
    reference: &Reference,
    notices: &[Notice],
    token: &ClaimToken,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<Claim>, StoreError> {
    let mut claims = Vec::with_capacity(notices.len());
    for notice in notices {
        claims.push(ledger.claim(reference, *notice, token, now, until).await?);
    }
    Ok(claims)
}

/// Claims and marks for each email of a booking, kept with the booking.
#[async_trait]
pub trait NoticeLedger: Send + Sync {
    /// Claims `notice` until `until` unless it is sent, failed, or claimed by
    /// an attempt whose claim has not expired at `now`.
    async fn claim(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Claim, StoreError>;

    /// Claims each of `notices` as [`NoticeLedger::claim`] does, what each
    /// claim found in the same order: in one write where the store can,
    /// when every one of them is free to claim.
    async fn claim_each(
        &self,
        reference: &Reference,
        notices: &[Notice],
        token: &ClaimToken,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<Claim>, StoreError> {
        claim_one_by_one(self, reference, notices, token, now, until).await
    }

    /// Records each of `sent` (an email and its message id) as
    /// [`NoticeLedger::mark_sent`] does: in one write where the store can.
    async fn mark_each_sent(
        &self,
        reference: &Reference,
        sent: &[(Notice, String)],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for (notice, message_id) in sent {
            self.mark_sent(reference, *notice, message_id, at).await?;
        }
        Ok(())
    }

    /// Records that `notice` was sent, ending its claim and any hold.
    async fn mark_sent(
        &self,
        reference: &Reference,
        notice: Notice,
        message_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Records that `notice` failed permanently with `code`, ending its claim and any hold.
    async fn mark_failed(
        &self,
        reference: &Reference,
        notice: Notice,
        code: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Gives up the claim `token` holds and records that the email waits on
    /// an operator (`code`, at `at`); it stays owed, so a later attempt sends it.
    async fn hold(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
        code: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Records what SES reported of the sent message `message_id`: the
    /// email's state moves to `delivery` only from a lower rank and only
    /// for the message the sent mark names.
    async fn record_delivery(
        &self,
        reference: &Reference,
        notice: Notice,
        message_id: &str,
        delivery: crate::notify::Delivery,
        detail: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<crate::notify::Recorded, StoreError>;

    /// The bookings still within their retention at `now` whose staff email,
    /// sent or refused at or after `since`, did not reach the staff inbox:
    /// refused for good, bounced, complained of or rejected, or sent at or
    /// before `sent_before` and not delivered since; and whose fallback is
    /// not settled (neither sent nor refused).
    async fn staff_undelivered(
        &self,
        since: OffsetDateTime,
        sent_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Owed, StoreError>;

    /// Where the emails of every booking received at or after
    /// `received_after`, and still within its retention at `now`, stand,
    /// oldest first; reads no personal data.
    async fn email_states(
        &self,
        received_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<EmailStates>, StoreError>;

    /// Gives up the claim `token` holds, so a retry need not wait for its expiry.
    async fn release(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
    ) -> Result<(), StoreError>;

    /// Where `notice` stands; `None` when there is no such booking.
    async fn state(
        &self,
        reference: &Reference,
        notice: Notice,
    ) -> Result<Option<NoticeState>, StoreError>;

    /// The bookings received at or before `received_before` and still within
    /// their retention at `now` that owe an email (one neither sent nor
    /// failed; a held one is owed), oldest first: what a sweep sends when stream records were
    /// lost to the failure queue or a local retry gave up.
    async fn owed(
        &self,
        received_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Owed, StoreError>;

    /// The latest confirmation of each request still within its retention
    /// at `now`, made by a change at or before `made_before`, that is owed
    /// (neither sent nor refused; a held one is owed), oldest first: what
    /// a sweep sends when its stream record was lost or a local pass
    /// failed. Earlier confirmations are superseded by it and never sent.
    async fn confirmations_owed(
        &self,
        made_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<OwedConfirmations, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_email_is_named_as_it_is_stored() {
        let every = Notice::KINDS
            .into_iter()
            .chain([Notice::Confirmation(0), Notice::Confirmation(12)]);
        for notice in every {
            assert_eq!(Notice::parse(&notice.name()), Some(notice));
            assert_eq!(notice.to_string(), notice.name());
        }
        assert_eq!(Notice::parse("Staff"), None);
        let names: Vec<String> = Notice::KINDS.iter().map(|n| n.to_string()).collect();
        assert_eq!(names, ["staff", "patient", "fallback"]);
        assert_eq!(Notice::Confirmation(3).name(), "confirmation-3");
        for bad in [
            "confirmation-",
            "confirmation-03",
            "confirmation-+3",
            "confirmation-x",
            "confirmation-10000",
        ] {
            assert_eq!(Notice::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn claim_tokens_are_fresh_and_readable() {
        let (a, b) = (ClaimToken::new(), ClaimToken::new());
        assert_eq!(a.as_str().len(), 24);
        assert!(a.as_str().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn an_email_is_refused_a_claim_while_sent_failed_or_claimed_until_its_expiry() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let fallback = now + time::Duration::minutes(5);
        let claimed = |at: i64| NoticeState {
            claimed_until: Some(at),
            ..NoticeState::default()
        };
        assert_eq!(NoticeState::default().refusal(now, fallback), None);
        assert_eq!(claimed(999_999).refusal(now, fallback), None);
        assert_eq!(
            claimed(1_000_000).refusal(now, fallback),
            Some(Claim::HeldElsewhere { until: now })
        );
        assert_eq!(
            claimed(i64::MAX).refusal(now, fallback),
            Some(Claim::HeldElsewhere { until: fallback })
        );
        let sent = NoticeState {
            sent_at: Some("2026-12-02T10:00:00Z".into()),
            failed: Some("Bounce".into()),
            ..claimed(1_000_100)
        };
        assert_eq!(sent.refusal(now, fallback), Some(Claim::AlreadySent));
        let failed = NoticeState {
            failed: Some("BadAddress".into()),
            ..claimed(1_000_100)
        };
        assert_eq!(
            failed.refusal(now, fallback),
            Some(Claim::AlreadyFailed {
                code: "BadAddress".into()
            })
        );
    }

    #[test]
    fn an_unreadable_item_is_kept_by_its_reference_alone() {
        let mut owed = Owed::default();
        owed.skip_unreadable("CCL-0000-0000");
        owed.skip_unreadable("not a reference: perhaps a name");
        assert_eq!(owed.unreadable, ["CCL-0000-0000", "(unreadable)"]);
    }
}
