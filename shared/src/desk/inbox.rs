//! What the desk reads: the inbox's rows and pages, and one request's page.

use super::workflow::{RequestState, Step};
use crate::booking::record::{parse_rfc3339, rfc3339};
use crate::booking::{Booking, Reference, Specialty};
use crate::notify::{Notice, NoticeState};
use base64::Engine;
use time::OffsetDateTime;

/// One page of the inbox: requests in one state (and, when asked, one
/// specialty), newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    /// The state listed.
    pub state: RequestState,
    /// Only this specialty, when given.
    pub specialty: Option<Specialty>,
    /// Start after this row (the previous page's `next`).
    pub after: Option<Cursor>,
    /// Rows per page, 1 to `InboxQuery::MAX_LIMIT`.
    pub limit: u16,
}

impl InboxQuery {
    /// The most rows a page holds.
    pub const MAX_LIMIT: u16 = 100;
}

/// Where a page ends: the last row's time and reference. Opaque to clients
/// (base64url), checked when it comes back; it names no person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The last row's arrival.
    pub received_at: OffsetDateTime,
    /// The last row's reference.
    pub reference: Reference,
}

impl Cursor {
    /// The cursor as a client holds it.
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{}/{}",
            rfc3339(self.received_at),
            self.reference
        ))
    }

    /// Reads a cursor a client sent back.
    pub fn decode(raw: &str) -> Result<Self, String> {
        let bad = || "not a page cursor from this inbox".to_owned();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, reference) = text.split_once('/').ok_or_else(bad)?;
        Ok(Self {
            received_at: parse_rfc3339(at).map_err(|_| bad())?,
            reference: Reference::parse(reference).map_err(|_| bad())?,
        })
    }
}

/// A request as the inbox lists it: no name, no contact details, nothing
/// the patient wrote; those are on its page, which is audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    /// Its reference.
    pub reference: Reference,
    /// When it came.
    pub received_at: OffsetDateTime,
    /// Where it is in the workflow.
    pub state: RequestState,
    /// What it is about.
    pub specialty: Specialty,
    /// Its version, for a change made from the list.
    pub version: u64,
}

/// A page of rows and where the next starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPage {
    /// The rows, newest first.
    pub rows: Vec<InboxRow>,
    /// Pass as `after` for the next page, when there may be one.
    pub next: Option<Cursor>,
}

/// One request as its desk page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskRequest {
    /// Everything the patient sent.
    pub booking: Booking,
    /// Where it is in the workflow.
    pub state: RequestState,
    /// Its version: a change names it, and loses to any change made since.
    pub version: u64,
    /// Every move so far, oldest first.
    pub history: Vec<Step>,
    /// Where each of its emails stands (the staff fallback only once it
    /// was needed), from the same read.
    pub emails: Vec<(Notice, NoticeState)>,
    /// The earlier request with the same details, when the patient (or
    /// someone with their details) asked twice within a day.
    pub repeat_of: Option<Reference>,
}

/// Every email a request can have: the three kinds, and each appointment
/// confirmation up to the latest, `latest_confirmation`.
pub fn every_email(latest_confirmation: Option<u32>) -> impl Iterator<Item = Notice> {
    let confirmations = latest_confirmation.map_or(0..0, |latest| 0..latest.saturating_add(1));
    Notice::KINDS
        .into_iter()
        .chain(confirmations.map(Notice::Confirmation))
}

/// The emails a request's page lists: the two every booking owes, the
/// staff fallback when something was ever done with it, and each
/// appointment confirmation up to the latest, `latest_confirmation`. A
/// confirmation a later one replaced, never sent, failed or attempted
/// (untouched, or held by the operator) will never be sent: it reads as
/// not needed, superseded.
pub fn listed_emails(
    state: impl Fn(Notice) -> NoticeState,
    latest_confirmation: Option<u32>,
) -> Vec<(Notice, NoticeState)> {
    let superseded = |notice: Notice| match notice {
        Notice::Confirmation(sequence) => latest_confirmation.is_some_and(|l| sequence < l),
        _ => false,
    };
    every_email(latest_confirmation)
        .map(|notice| match state(notice) {
            never_went
                if superseded(notice)
                    && never_went.sent_at.is_none()
                    && never_went.failed.is_none()
                    && never_went.claimed_until.is_none() =>
            {
                (
                    notice,
                    NoticeState {
                        failed: Some(crate::notify::NotNeeded::Superseded.code()),
                        held: None,
                        held_at: None,
                        ..never_went
                    },
                )
            }
            state => (notice, state),
        })
        .filter(|(notice, state)| {
            *notice != Notice::StaffFallback || *state != NoticeState::default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_replaced_before_it_was_sent_reads_as_not_needed() {
        let sent = NoticeState {
            sent_at: Some("2026-12-01T10:00:00Z".into()),
            ..NoticeState::default()
        };
        let held = NoticeState {
            held: Some("AccountSuspended".into()),
            held_at: Some("2026-12-01T10:00:00Z".into()),
            ..NoticeState::default()
        };
        let listed = listed_emails(
            |notice| match notice {
                Notice::Confirmation(0) => sent.clone(),
                Notice::Confirmation(2) => held.clone(),
                _ => NoticeState::default(),
            },
            Some(3),
        );
        let confirmations: Vec<(Notice, Option<String>, bool)> = listed
            .into_iter()
            .filter(|(n, _)| matches!(n, Notice::Confirmation(_)))
            .map(|(n, s)| (n, s.failed, s.sent_at.is_some()))
            .collect();
        assert_eq!(
            confirmations,
            [
                (Notice::Confirmation(0), None, true),
                (
                    Notice::Confirmation(1),
                    Some("not_needed:superseded".into()),
                    false
                ),
                (
                    Notice::Confirmation(2),
                    Some("not_needed:superseded".into()),
                    false
                ),
                (Notice::Confirmation(3), None, false),
            ]
        );
    }

    #[test]
    fn a_cursor_reads_back_and_a_forged_one_is_refused() {
        let cursor = Cursor {
            received_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            reference: Reference::parse("CCL-7K3M-9Q2X").unwrap(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        for bad in ["", "%%%", "bm90LWEtY3Vyc29y"] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }
}
