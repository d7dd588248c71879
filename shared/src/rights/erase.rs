//! Erasure on request: every booking of the person an email address or
//! phone number names is deleted with everything that points at it, in one
//! transaction each, and the audit trail keeps an `erased` entry in its
//! place (reference, when, by whom, why: nothing of the person), which is
//! what staff see when they look the reference up.
//!
//! What the transaction deletes: the booking (its answers, its emails'
//! state, its notes and history, its keyed tags), the duplicate
//! fingerprint guard made from its details, and its address's
//! acknowledgement counters. What it cannot: backups (point-in-time
//! recovery ages them out), emails already delivered, and guards that
//! cannot be found from the booking (an idempotency key's tag, kept at
//! most a day, and a sender's rate counters, which name a network address,
//! not the person); the report says so, for the clinic's answer.

use super::export::SubjectQuery;
use crate::booking::{Fingerprint, Reference};
use crate::desk::{AuditEntry, Reason, Staff};
use crate::match_key::MatchKey;
use crate::store::{fingerprint_guard_key, Allowance, BookingStore, StoreError, SubjectIndex};
use async_trait::async_trait;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// Where an erasure is written: the desk's store, which holds the bookings
/// and the audit trail together, so the deletion and its entry are one
/// transaction.
#[async_trait]
pub trait Eraser: Send + Sync {
    /// Deletes the booking `reference` (with its emails' state and notes)
    /// and the guards keyed `guards`, and adds the `erased` entry by `by`
    /// for `reason`, stamped with the store's clock, all or nothing; the
    /// entry written, or `None` (nothing written) when no booking has that
    /// reference.
    async fn erase(
        &self,
        reference: &Reference,
        guards: &[String],
        by: &Staff,
        reason: &Reason,
    ) -> Result<Option<AuditEntry>, StoreError>;
}

/// What an erasure did, and what it could not do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// The bookings erased, each with its `erased` entry.
    pub erased: Vec<AuditEntry>,
    /// What is kept elsewhere, for the clinic to tell the person.
    pub not_erased: Vec<String>,
}

/// An admin's request to erase a person's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRequest {
    /// Whose.
    pub query: SubjectQuery,
    /// The admin, as the trail names them.
    pub by: Staff,
    /// Why, as the trail keeps it.
    pub reason: Reason,
    /// When the store's backups of today age out (`None` for a store
    /// without backups).
    pub backups_until: Option<OffsetDateTime>,
}

/// Erases every booking of the person `request` names.
pub async fn erase(
    index: &dyn SubjectIndex,
    bookings: &dyn BookingStore,
    eraser: &dyn Eraser,
    key: &MatchKey,
    request: &ErasureRequest,
    now: OffsetDateTime,
) -> Result<Erasure, StoreError> {
    let ErasureRequest {
        query,
        by,
        reason,
        backups_until,
    } = request;
    let mut found = BTreeSet::new();
    for tag in query.tags(key) {
        found.extend(index.bookings_of(&tag, now).await?);
    }
    let mut erased = Vec::new();
    for reference in found {
        // Already gone (retention, another erasure): nothing to point at it.
        let Some(booking) = bookings.get(&reference).await? else {
            continue;
        };
        let fingerprint = Fingerprint::of(&booking.details, key);
        let counters =
            Allowance::acknowledgements(booking.details.email.as_str(), key, booking.received_at);
        let guards: Vec<String> = std::iter::once(fingerprint_guard_key(&fingerprint))
            .chain(counters.keys())
            .collect();
        if let Some(entry) = eraser.erase(&reference, &guards, by, reason).await? {
            erased.push(entry);
        }
    }
    let mut not_erased = vec![
        "Emails already delivered (the acknowledgement to the person, the notice to staff) are in the recipients' mailboxes, outside this system.".to_owned(),
        "A request's idempotency guard (a keyed tag, no personal data) expires within a day of the request.".to_owned(),
    ];
    if let Some(until) = *backups_until {
        not_erased.push(format!(
            "Point-in-time recovery backups of the tables hold the erased bookings until {} (UTC), when they age out.",
            crate::booking::record::rfc3339(until)
        ));
    }
    Ok(Erasure { erased, not_erased })
}
