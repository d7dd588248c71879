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
use crate::desk::{AuditAction, AuditEntry, Reason, Staff};
use crate::match_key::MatchKey;
use crate::store::{fingerprint_guard_key, Allowance, BookingStore, StoreError, SubjectIndex};
use async_trait::async_trait;
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
    /// The opt-ins to the clinic's news removed from the marketing register.
    pub opt_ins: Vec<super::OptIn>,
    /// What is kept elsewhere, for the clinic to tell the person.
    pub not_erased: Vec<String>,
    /// Where the erasure stopped, if it did before its last booking.
    pub stopped: Option<Stopped>,
}

/// An erasure that stopped part way, the store refusing or not answering
/// (one of a booking's emails being sent, a timeout): what it did before
/// is done and reported; running it again takes the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// The booking it stopped at (for an opt-in, the booking that opt-in
    /// came with); `None` once every booking was erased, at the register's
    /// markers of withdrawn opt-ins.
    pub at: Option<Reference>,
    /// How many of the bookings found are not erased.
    pub left: usize,
    /// Why, for the operator's log or terminal (no personal data).
    pub error: StoreError,
}

impl Stopped {
    /// What the admin is told: where it stopped, and to run it again.
    pub fn explained(&self) -> String {
        let why = "the store refused or did not answer just now (an email about a booking may be being sent)";
        match &self.at {
            Some(at) => format!(
                "The erasure stopped at {at}: {why}. {} of the bookings found are not erased (if the store did not answer, one may have been); search again in a minute and erase what is still found.",
                self.left
            ),
            None => format!(
                "Every booking found was erased, but the erasure stopped at the register's records of opt-ins withdrawn before (they hold no address): {why}. Search again in a minute and erase again to remove them."
            ),
        }
    }
}

/// A booking an erasure would take, as the admin checks it first: an
/// address or a phone may be shared (a household, a couple's inbox).
#[derive(Debug, Clone)]
pub struct Found {
    /// Its reference.
    pub reference: Reference,
    /// Which of the identifiers found it.
    pub matched_by: Vec<&'static str>,
    /// When it arrived.
    pub received_at: OffsetDateTime,
    /// Whether it was made for someone else, whose details it holds too.
    pub for_someone_else: bool,
    /// When its retention ends: one past it awaits deletion, is erased
    /// with the rest, and is not exported as held.
    pub expires_at: OffsetDateTime,
    booking: crate::booking::Booking,
}

impl Found {
    /// The live opt-ins to the clinic's news of the person `query` names,
    /// whose bookings are `found`.
    pub async fn opt_ins(
        found: &[Found],
        register: &dyn super::MarketingRegister,
        query: &SubjectQuery,
        key: &MatchKey,
    ) -> Result<Vec<super::OptIn>, StoreError> {
        let bookings: Vec<&crate::booking::Booking> = found.iter().map(|f| &f.booking).collect();
        super::marketing::opt_ins_of_person(register, query, key, &bookings).await
    }
}

/// Every stored booking of the person `query` names, past its retention
/// too (until TTL removes it, it holds everything), oldest first.
pub async fn find(
    index: &dyn SubjectIndex,
    bookings: &dyn BookingStore,
    key: &MatchKey,
    query: &SubjectQuery,
) -> Result<Vec<Found>, StoreError> {
    let matched = query
        .matches(index, key, OffsetDateTime::UNIX_EPOCH)
        .await?;
    let mut found = Vec::new();
    for (reference, matched_by) in matched {
        // Already gone (retention, another erasure): nothing to point at it.
        let Some(booking) = bookings.get(&reference).await? else {
            continue;
        };
        found.push(Found {
            reference,
            matched_by,
            received_at: booking.received_at,
            for_someone_else: booking.details.booking_for != crate::booking::BookingFor::Myself,
            expires_at: booking.expires_at,
            booking,
        });
    }
    found.sort_by_key(|f| f.received_at);
    Ok(found)
}

/// How long DynamoDB's point-in-time recovery keeps a table's backups
/// (the template's `PointInTimeRecoveryEnabled`, at its default period):
/// what an erasure in DynamoDB says of when its backups age out.
pub const BACKUPS_KEPT: time::Duration = time::Duration::days(35);

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

/// Erases every booking of the person `request` names, and their entries
/// in the marketing `register`.
pub async fn erase(
    index: &dyn SubjectIndex,
    bookings: &dyn BookingStore,
    desk: &dyn crate::desk::DeskStore,
    register: &dyn super::MarketingRegister,
    key: &MatchKey,
    request: &ErasureRequest,
) -> Result<Erasure, StoreError> {
    let found = find(index, bookings, key, &request.query).await?;
    erase_found(found, desk, register, key, request).await
}

/// Erases the bookings `found` of the person `request` names (as [`find`]
/// found them, and an admin checked them), and their entries in the
/// marketing `register`, each on `desk`'s audit trail. A booking the store
/// will not erase just now stops it there ([`Erasure::stopped`]), with
/// what was done before it reported.
pub async fn erase_found(
    found: Vec<Found>,
    desk: &dyn crate::desk::DeskStore,
    register: &dyn super::MarketingRegister,
    key: &MatchKey,
    request: &ErasureRequest,
) -> Result<Erasure, StoreError> {
    let ErasureRequest {
        query,
        by,
        reason,
        backups_until,
    } = request;
    let mut erased = Vec::new();
    let mut for_someone_else = 0;
    let total = found.len();
    // The register's keys under the bookings' other contact details, whose
    // entries (a withdrawal's marker too) go when they came with one of them.
    let named = super::marketing::keys_of(query, key, &super::Channel::ALL);
    let mut through: Vec<String> = Vec::new();
    for f in &found {
        for tag in crate::booking::SubjectTags::of(&f.booking.details, key).each() {
            let entry = super::marketing::key_of(tag);
            if !named.contains(&entry) && !through.contains(&entry) {
                through.push(entry);
            }
        }
    }
    let stop =
        |at: Option<Reference>, left: usize, error: StoreError| Some(Stopped { at, left, error });
    let mut stopped = None;
    // The person's opt-ins go first (an erased person is sent no news):
    // were a booking's erasure to fail below, a second run would still
    // find them, before their bookings' contact details are gone. Each is
    // on the trail under the booking it came with, which may be long gone.
    let mut opt_ins = Vec::new();
    for opt_in in Found::opt_ins(&found, register, query, key).await? {
        let removed = match desk
            .record(by, AuditAction::MarketingErased, Some(&opt_in.reference))
            .await
        {
            Ok(_) => register.remove(&opt_in.key()).await,
            Err(error) => Err(error),
        };
        match removed {
            Ok(Some(removed)) => opt_ins.push(removed),
            Ok(None) => {}
            Err(error) => {
                stopped = stop(Some(opt_in.reference.clone()), total, error);
                break;
            }
        }
    }
    // Not after the opt-ins' own step stopped: one it had not reached would
    // go with the markers below without its entry on the trail.
    let opt_ins_done = stopped.is_none();
    // Where the bookings' erasure got to: those from `left` on remain.
    let mut left = 0;
    if stopped.is_none() {
        for found in &found {
            let booking = &found.booking;
            let fingerprint = Fingerprint::of(&booking.details, key);
            let counters = Allowance::acknowledgements(
                booking.details.email.as_str(),
                key,
                booking.received_at,
            );
            let guards: Vec<String> = std::iter::once(fingerprint_guard_key(&fingerprint))
                .chain(counters.keys())
                .collect();
            match desk.erase(&found.reference, &guards, by, reason).await {
                Ok(Some(entry)) => {
                    if found.for_someone_else {
                        for_someone_else += 1;
                    }
                    erased.push(entry);
                }
                Ok(None) => {}
                Err(error) => {
                    stopped = stop(Some(found.reference.clone()), total - left, error);
                    break;
                }
            }
            left += 1;
        }
    }
    // The markers of opt-ins withdrawn before go: under the searched
    // address and number whole, under the bookings' other details when
    // they came with a booking erased. Not one a booking still held ticked
    // the box for: repairing the register from that booking would opt the
    // person in again without its marker.
    let ticked: Vec<String> = found[left..]
        .iter()
        .flat_map(|f| {
            super::OptIn::of_booking(
                &f.booking,
                &crate::booking::SubjectTags::of(&f.booking.details, key),
            )
        })
        .map(|o| o.key())
        .collect();
    let references: Vec<Reference> = erased.iter().filter_map(|e| e.reference.clone()).collect();
    let mut markers = Ok(());
    let named = if opt_ins_done { &named[..] } else { &[] };
    for entry in named.iter().filter(|e| !ticked.contains(e)) {
        match register.remove(entry).await {
            // An opt-in given while the erasure ran: erased too, and said.
            Ok(Some(live)) => {
                match desk
                    .record(by, AuditAction::MarketingErased, Some(&live.reference))
                    .await
                {
                    Ok(_) => opt_ins.push(live),
                    Err(error) => {
                        markers = Err(error);
                        break;
                    }
                }
            }
            Ok(None) => {}
            Err(error) => {
                markers = Err(error);
                break;
            }
        }
    }
    if opt_ins_done && markers.is_ok() && !references.is_empty() {
        for entry in through.iter().filter(|e| !ticked.contains(e)) {
            if let Err(error) = register.remove_from(entry, &references).await {
                markers = Err(error);
                break;
            }
        }
    }
    if let (Err(error), None) = (markers, &stopped) {
        stopped = stop(None, 0, error);
    }
    let mut not_erased = vec![
        "Emails already delivered (the acknowledgement to the person, the notice to staff) are in the recipients' mailboxes, outside this system.".to_owned(),
        "Bookings whose booker gave other contact details (made for this person by someone else) are not found by an email address or phone number.".to_owned(),
    ];
    if for_someone_else > 0 {
        not_erased.push(format!(
            "{for_someone_else} of the bookings erased were made by this person for someone else: that person's details in them are erased too, and they may need telling."
        ));
    }
    if let Some(until) = *backups_until {
        not_erased.push(format!(
            "Point-in-time recovery backups of the tables hold the erased bookings until {} (UTC), when they age out; the table's stream keeps a new booking's image for 24 hours, and the mail-events failure queue an undelivered email's address for 4 days.",
            crate::booking::record::rfc3339(until)
        ));
        not_erased.push(
            "A request's idempotency guard (a keyed tag, no personal data) expires within a day of the request.".to_owned(),
        );
    }
    not_erased.extend(super::export::earlier_keys(key));
    Ok(Erasure {
        erased,
        opt_ins,
        not_erased,
        stopped,
    })
}

/// The error of an erasure that met one of the booking's emails being
/// sent (claimed until `until`, seconds since the epoch): erasing now would
/// let that email land after it. Nothing was written for this booking;
/// running the erasure again once the claim is over takes it.
pub fn sending(reference: &str, until: i64) -> StoreError {
    let wait = until - OffsetDateTime::now_utc().unix_timestamp();
    StoreError::Unavailable(format!(
        "an email about {reference} is being sent just now: run the erasure again in {} second(s)",
        wait.max(1)
    ))
}

/// Deletes the files in `folders` (the local outbox, the exports) about
/// the bookings `erasure` took: how many went.
pub fn remove_files_of(
    folders: &[std::path::PathBuf],
    erasure: &Erasure,
) -> Result<usize, (std::path::PathBuf, std::io::Error)> {
    let mut files = 0;
    for dir in folders {
        for reference in erasure.erased.iter().filter_map(|e| e.reference.as_ref()) {
            files += remove_files_about(dir, reference).map_err(|e| (dir.clone(), e))?;
        }
    }
    Ok(files)
}

/// Deletes every file in `dir` (not below it) whose bytes mention
/// `reference`: the local outbox's emails about a booking (its reference
/// is in each subject), half-written ones included, and earlier exports
/// that hold it. How many went; a missing folder holds none.
pub fn remove_files_about(dir: &std::path::Path, reference: &Reference) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let needle = reference.as_str().as_bytes();
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        let bytes = std::fs::read(&path)?;
        if bytes.windows(needle.len()).any(|w| w == needle) {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}
