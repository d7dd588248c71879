//! The audit trail's entries: who (the identity's subject and email), what,
//! when and about which reference, never the patient's data itself.

use super::workflow::{RequestState, Staff, Step};
use crate::booking::record::{parse_rfc3339, rfc3339};
use crate::booking::Reference;
use time::OffsetDateTime;

/// An entry's key: its time then 64 random bits
/// (`2026-12-04T10:15:00.120Z#9f2c4e1a7b3d5c60`), so entries sort by time
/// and two made in the same millisecond never collide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditId(String);

impl AuditId {
    /// A fresh id for an entry made at `at`; without randomness there is
    /// none, rather than one that might collide.
    pub fn new(at: OffsetDateTime) -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes)?;
        Ok(Self(format!("{}#{}", rfc3339(at), hex::encode(bytes))))
    }

    /// Reads an id back (from the store, or a page cursor a client returns).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || "not an audit entry id".to_owned();
        let (at, random) = raw.split_once('#').ok_or_else(bad)?;
        parse_rfc3339(at).map_err(|_| bad())?;
        if random.len() != 16 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// Signed in to the desk.
    SignedIn,
    /// Signed out.
    SignedOut,
    /// Opened a request's page.
    Viewed,
    /// Moved a request through the workflow.
    Changed {
        /// The state it left.
        from: RequestState,
        /// The state it reached.
        to: RequestState,
    },
    /// Searched for a person's bookings by their email address or phone
    /// (which are not recorded: the entry names no request).
    Searched,
    /// Exported a patient's data.
    Exported,
    /// Erased a patient's data.
    Erased,
    /// Withdrew the opt-in to the clinic's news that came with a request.
    MarketingWithdrawn,
    /// Erased the opt-in to the clinic's news that came with a request.
    MarketingErased,
}

impl AuditAction {
    /// The stored name of the action (the states of a change are stored beside it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::SignedOut => "signed_out",
            Self::Viewed => "viewed",
            Self::Changed { .. } => "changed",
            Self::Searched => "searched",
            Self::Exported => "exported",
            Self::Erased => "erased",
            Self::MarketingWithdrawn => "marketing_withdrawn",
            Self::MarketingErased => "marketing_erased",
        }
    }

    /// Reads a stored action; `from` and `to` are a change's states.
    pub fn from_stored(name: &str, from: Option<&str>, to: Option<&str>) -> Result<Self, String> {
        let state = |raw: Option<&str>| {
            raw.and_then(RequestState::parse)
                .ok_or_else(|| format!("a {name} entry without its states"))
        };
        Ok(match name {
            "signed_in" => Self::SignedIn,
            "signed_out" => Self::SignedOut,
            "viewed" => Self::Viewed,
            "changed" => Self::Changed {
                from: state(from)?,
                to: state(to)?,
            },
            "searched" => Self::Searched,
            "exported" => Self::Exported,
            "erased" => Self::Erased,
            "marketing_withdrawn" => Self::MarketingWithdrawn,
            "marketing_erased" => Self::MarketingErased,
            other => return Err(format!("unknown audit action {other:?}")),
        })
    }

    /// What people read on the trail.
    pub fn describe(self) -> String {
        match self {
            Self::SignedIn => "Signed in".into(),
            Self::SignedOut => "Signed out".into(),
            Self::Viewed => "Opened the request".into(),
            Self::Changed { from, to } => format!("Moved from {} to {}", from.label(), to.label()),
            Self::Searched => "Searched for a person's bookings".into(),
            Self::Exported => "Exported the patient's data".into(),
            Self::Erased => "Erased the patient's data".into(),
            Self::MarketingWithdrawn => "Withdrew the opt-in to the clinic's news".into(),
            Self::MarketingErased => "Erased the opt-in to the clinic's news".into(),
        }
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its key, which no other entry has.
    pub id: AuditId,
    /// When.
    pub at: OffsetDateTime,
    /// Who.
    pub by: Staff,
    /// What.
    pub action: AuditAction,
    /// Which request, when it was about one.
    pub reference: Option<Reference>,
    /// Why, for an erasure: what staff see in place of the erased request.
    pub reason: Option<Reason>,
}

/// Why a patient's data was erased, as the admin gave it: one line of at
/// most [`Reason::MAX_CHARS`] characters, kept on the audit trail in place
/// of the request (so it must name no one: "subject's request, by email").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// The longest reason, in characters.
    pub const MAX_CHARS: usize = 200;

    /// A reason as typed: trimmed, not blank, one line, not too long.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("say why, in a few words that name no one".into());
        }
        if text.chars().any(char::is_control) {
            return Err("a reason is one line".into());
        }
        // It stays on the trail for years, in the erased request's place:
        // an address or a number (a phone, a policy, a date of birth)
        // would keep what the erasure removed.
        let digits = text
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        if text.contains('@') || digits >= 6 {
            return Err(
                "a reason names no one: leave out addresses and numbers (say \"subject's request, by email\")"
                    .into(),
            );
        }
        let length = text.chars().count();
        if length > Self::MAX_CHARS {
            return Err(format!(
                "a reason is at most {} characters; this is {length}",
                Self::MAX_CHARS
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// A stored reason read back as it was kept.
    pub fn from_stored(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AuditEntry {
    /// An entry made at `at` by `by`: what the stores write, stamped with
    /// their own clock.
    pub fn new(
        at: OffsetDateTime,
        by: Staff,
        action: AuditAction,
        reference: Option<Reference>,
    ) -> Result<Self, getrandom::Error> {
        Ok(Self {
            id: AuditId::new(at)?,
            at,
            by,
            action,
            reference,
            reason: None,
        })
    }

    /// The entry of an erasure of `reference`, with its reason.
    pub fn erased(
        at: OffsetDateTime,
        by: Staff,
        reference: &Reference,
        reason: Reason,
    ) -> Result<Self, getrandom::Error> {
        let mut entry = Self::new(at, by, AuditAction::Erased, Some(reference.clone()))?;
        entry.reason = Some(reason);
        Ok(entry)
    }

    /// The entry that goes with `step` on `reference`, in its transaction,
    /// made at `at` (the store's clock).
    pub fn changed(
        at: OffsetDateTime,
        reference: &Reference,
        step: &Step,
    ) -> Result<Self, getrandom::Error> {
        Self::new(
            at,
            step.by().clone(),
            AuditAction::Changed {
                from: step.from(),
                to: step.to(),
            },
            Some(reference.clone()),
        )
    }
}

/// A page of the trail, newest first, and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// The id to pass as `after` for the next page, when there is one.
    pub next: Option<AuditId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_names_no_one_and_is_one_short_line() {
        assert_eq!(
            Reason::parse("  erasure requested by the data subject ")
                .unwrap()
                .as_str(),
            "erasure requested by the data subject"
        );
        for bad in [
            "",
            "   ",
            "asked by ann@example.com",
            "she rang from 07700900123",
            "born 31031970",
            "two\nlines",
            &"x".repeat(Reason::MAX_CHARS + 1),
        ] {
            assert!(Reason::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Reason::parse("request of 2 December, ticket 42").is_ok());
    }

    #[test]
    fn ids_sort_by_time_and_never_repeat() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let a = AuditId::new(at).unwrap();
        let b = AuditId::new(at).unwrap();
        assert_ne!(a, b);
        assert!(AuditId::new(at + time::Duration::milliseconds(1)).unwrap() > a.clone().max(b));
        assert_eq!(AuditId::parse(a.as_str()), Ok(a));
        for bad in [
            "",
            "2027-01-15T08:00:00.000Z",
            "x#0011223344556677",
            "2027-01-15T08:00:00.000Z#00",
        ] {
            assert!(AuditId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_action_reads_back_from_its_stored_form() {
        use RequestState::*;
        for action in [
            AuditAction::SignedIn,
            AuditAction::SignedOut,
            AuditAction::Viewed,
            AuditAction::Changed {
                from: New,
                to: Contacted,
            },
            AuditAction::Searched,
            AuditAction::Exported,
            AuditAction::Erased,
            AuditAction::MarketingWithdrawn,
            AuditAction::MarketingErased,
        ] {
            let (from, to) = match action {
                AuditAction::Changed { from, to } => (Some(from.as_str()), Some(to.as_str())),
                _ => (None, None),
            };
            assert_eq!(
                AuditAction::from_stored(action.as_str(), from, to),
                Ok(action)
            );
        }
        assert!(AuditAction::from_stored("changed", Some("new"), None).is_err());
        assert!(AuditAction::from_stored("deleted", None, None).is_err());
    }
}
