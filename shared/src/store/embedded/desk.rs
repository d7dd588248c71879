//! The desk over SQLite: the inbox from partial indexes on the bookings
//! table, each change and its audit entry in one immediate transaction, and
//! an audit table that triggers keep append-only.

use super::{booking_of_record, parse_record, unavailable, EmbeddedBookingStore};
use crate::booking::record::{parse_rfc3339, rfc3339};
use crate::booking::{Reference, Specialty};
use crate::desk::record::{AuditRecord, StepRecord};
use crate::desk::{
    no_randomness, AuditAction, AuditEntry, AuditId, AuditPage, AuditTrail, Changed, Cursor,
    DeskRequest, InboxPage, InboxQuery, InboxRow, RequestInbox, RequestState, Staff, Step,
    AUDIT_PAGE_MAX,
};
use crate::store::StoreError;
use crate::time_source::Clock;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use time::{Duration, OffsetDateTime};

/// The desk's reads and changes over the local database.
#[derive(Clone)]
pub struct EmbeddedDesk {
    store: EmbeddedBookingStore,
    audit_for: Duration,
    clock: Clock,
}

impl EmbeddedBookingStore {
    /// The desk over these bookings, keeping audit entries for `audit_for`
    /// from when `clock` says they were made.
    pub fn desk(&self, audit_for: Duration, clock: Clock) -> EmbeddedDesk {
        EmbeddedDesk {
            store: self.clone(),
            audit_for,
            clock,
        }
    }
}

/// Stored desk data that does not read back. The parser's own message is
/// not kept: it may quote a note, which may say something clinical.
fn unreadable(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored desk data is unreadable: {what}"))
}

fn put_audit(
    conn: &Connection,
    entry: &AuditEntry,
    keep_until: OffsetDateTime,
) -> Result<(), StoreError> {
    let record = AuditRecord::of(entry, keep_until);
    let json = serde_json::to_string(&record).map_err(|_| unreadable("an audit entry"))?;
    // A plain INSERT, and a trigger refusing an id already there: an
    // entry is never replaced.
    conn.execute(
        "INSERT INTO audit (id, reference, record, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![record.id, record.reference, json, record.expires_at],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn state_of(raw: Option<&str>) -> Result<RequestState, StoreError> {
    // A booking stored before the desk, not yet migrated, is new.
    raw.map_or(Some(RequestState::New), RequestState::parse)
        .ok_or_else(|| unreadable("an unknown desk state"))
}

fn version_of(raw: Option<i64>) -> Result<u64, StoreError> {
    u64::try_from(raw.unwrap_or(0)).map_err(|_| unreadable("a negative version"))
}

fn history_of(raw: Option<&str>) -> Result<Vec<StepRecord>, StoreError> {
    serde_json::from_str(raw.unwrap_or("[]")).map_err(|_| unreadable("a request's history"))
}

/// A request's moves, oldest first, as its row holds them.
pub(super) fn steps_of(raw: Option<&str>) -> Result<Vec<Step>, StoreError> {
    history_of(raw)?
        .into_iter()
        .map(Step::try_from)
        .collect::<Result<_, _>>()
        .map_err(|_| unreadable("a step of a request's history"))
}

/// The number of a request's latest appointment confirmation, as its row
/// holds it.
pub(super) fn sequence_of(raw: Option<i64>) -> Result<Option<u32>, StoreError> {
    raw.map(|sequence| u32::try_from(sequence).map_err(|_| unreadable("a confirmation's number")))
        .transpose()
}

/// One row of an inbox query: reference, time, state, specialty, version.
type Row = (String, String, Option<String>, Option<String>, Option<i64>);

fn inbox_row(
    (reference, received_at, state, specialty, version): Row,
) -> Result<InboxRow, StoreError> {
    Ok(InboxRow {
        reference: Reference::parse(&reference).map_err(|_| unreadable("a reference"))?,
        received_at: parse_rfc3339(&received_at).map_err(|_| unreadable("a time"))?,
        state: state_of(state.as_deref())?,
        specialty: Specialty::from_stored(specialty.as_deref().unwrap_or(""))
            .map_err(|_| unreadable("a specialty"))?,
        version: version_of(version)?,
    })
}

fn page_blocking(conn: &Connection, query: &InboxQuery, now: i64) -> Result<InboxPage, StoreError> {
    let limit = query.limit.clamp(1, InboxQuery::MAX_LIMIT);
    // Keyset paging: rows strictly after the cursor in (received_at,
    // reference) order, newest first.
    let (after_at, after_ref) = match &query.after {
        Some(c) => (
            Some(rfc3339(c.received_at)),
            Some(c.reference.as_str().to_owned()),
        ),
        None => (None, None),
    };
    let mut statement = conn
        .prepare(
            "SELECT reference, received_at, desk_state, specialty, desk_version FROM bookings
             WHERE desk_state = ?1 AND (?2 IS NULL OR specialty = ?2)
               AND (?3 IS NULL OR received_at < ?3 OR (received_at = ?3 AND reference < ?4))
               AND expires_at >= ?6
             ORDER BY received_at DESC, reference DESC LIMIT ?5",
        )
        .map_err(unavailable)?;
    let rows = statement
        .query_map(
            params![
                query.state.as_str(),
                query.specialty.as_ref().map(|s| s.as_str().to_owned()),
                after_at,
                after_ref,
                i64::from(limit),
                now,
            ],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .map_err(unavailable)?
        .map(|row| inbox_row(row.map_err(unavailable)?))
        .collect::<Result<Vec<_>, _>>()?;
    let next = (rows.len() == usize::from(limit))
        .then(|| rows.last())
        .flatten()
        .map(|last| Cursor {
            received_at: last.received_at,
            reference: last.reference.clone(),
        });
    Ok(InboxPage { rows, next })
}

/// A booking's row as the desk reads it: the record's JSON, then the desk's
/// state, version and history (absent on a booking stored before the desk),
/// the earlier request it repeats, if any, and the number of its latest
/// appointment confirmation, if any.
type StoredRequest = (
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

impl EmbeddedDesk {
    fn keep_until(&self, now: OffsetDateTime) -> OffsetDateTime {
        now + self.audit_for
    }
}

fn open_blocking(
    conn: &mut Connection,
    reference: &Reference,
    seen: &AuditEntry,
    keep_until: OffsetDateTime,
) -> Result<Option<DeskRequest>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    put_audit(&tx, seen, keep_until)?;
    let row: Option<StoredRequest> = tx
        .query_row(
            "SELECT record, desk_state, desk_version, history, repeat_of, confirmation_sequence
             FROM bookings WHERE reference = ?1 AND expires_at >= ?2",
            params![reference.as_str(), seen.at.unix_timestamp()],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            },
        )
        .optional()
        .map_err(unavailable)?;
    let latest = sequence_of(row.as_ref().and_then(|row| row.5))?;
    let mut states = Vec::new();
    if row.is_some() {
        for notice in crate::desk::inbox::every_email(latest) {
            states.push((
                notice,
                super::notices::read_state(&tx, reference.as_str(), &notice.name())?,
            ));
        }
    }
    tx.commit().map_err(unavailable)?;
    row.map(|(record, state, version, history, repeat_of, _)| {
        Ok(DeskRequest {
            repeat_of: repeat_of
                .as_deref()
                .map(Reference::parse)
                .transpose()
                .map_err(|_| unreadable("the request a booking repeats"))?,
            emails: crate::desk::inbox::listed_emails(
                |notice| {
                    states
                        .iter()
                        .find(|(n, _)| *n == notice)
                        .map(|(_, s)| s.clone())
                        .unwrap_or_default()
                },
                latest,
            ),
            booking: booking_of_record(parse_record(&record)?)?,
            state: state_of(state.as_deref())?,
            version: version_of(version)?,
            history: steps_of(history.as_deref())?,
        })
    })
    .transpose()
}

/// What a change reads of a booking: its state, version, history,
/// specialty and latest confirmation's number.
type Workflow = (
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    Option<i64>,
);

fn change_blocking(
    conn: &mut Connection,
    reference: &Reference,
    version: u64,
    step: &Step,
    (now, keep_until): (OffsetDateTime, OffsetDateTime),
) -> Result<Changed, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    let current: Option<Workflow> = tx
        .query_row(
            "SELECT desk_state, desk_version, history, json_extract(record, '$.specialty'),
                    confirmation_sequence
             FROM bookings WHERE reference = ?1 AND expires_at >= ?2",
            params![reference.as_str(), now.unix_timestamp()],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .optional()
        .map_err(unavailable)?;
    let Some((state, stored_version, history, specialty, latest)) = current else {
        return Ok(Changed::NotFound);
    };
    let state = state_of(state.as_deref())?;
    let stored_version = version_of(stored_version)?;
    if stored_version != version || state != step.from() {
        return Ok(Changed::Conflict {
            state,
            version: stored_version,
        });
    }
    let mut history = history_of(history.as_deref())?;
    history.push(StepRecord::from(step));
    let next = version + 1;
    let latest = sequence_of(latest)?;
    // A change that owes the patient a confirmation numbers it here; the
    // announcer, woken by the change, finds it owed.
    let sequence = crate::notify::Confirmation::next_sequence(latest, step).or(latest);
    tx.execute(
        "UPDATE bookings SET desk_state = ?2, desk_version = ?3, history = ?4, specialty = ?5,
             confirmation_sequence = ?6
         WHERE reference = ?1",
        params![
            reference.as_str(),
            step.to().as_str(),
            i64::try_from(next).map_err(|_| unreadable("a version"))?,
            serde_json::to_string(&history).map_err(|_| unreadable("a request's history"))?,
            specialty,
            sequence,
        ],
    )
    .map_err(unavailable)?;
    let entry = AuditEntry::changed(now, reference, step).map_err(no_randomness)?;
    put_audit(&tx, &entry, keep_until)?;
    tx.commit().map_err(unavailable)?;
    Ok(Changed::Applied { version: next })
}

fn audit_page(
    conn: &Connection,
    reference: Option<&Reference>,
    after: Option<&AuditId>,
    limit: u16,
    now: i64,
) -> Result<AuditPage, StoreError> {
    let limit = limit.clamp(1, AUDIT_PAGE_MAX);
    let mut statement = conn
        .prepare(
            "SELECT record FROM audit
             WHERE (?1 IS NULL OR reference = ?1) AND (?2 IS NULL OR id < ?2)
               AND expires_at >= ?4
             ORDER BY id DESC LIMIT ?3",
        )
        .map_err(unavailable)?;
    let entries = statement
        .query_map(
            params![
                reference.map(|r| r.as_str().to_owned()),
                after.map(|a| a.as_str().to_owned()),
                i64::from(limit),
                now,
            ],
            |row| row.get::<_, String>(0),
        )
        .map_err(unavailable)?
        .map(|json| {
            let record: AuditRecord = serde_json::from_str(&json.map_err(unavailable)?)
                .map_err(|_| unreadable("an audit entry"))?;
            AuditEntry::try_from(record).map_err(|_| unreadable("an audit entry"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let next = (entries.len() == usize::from(limit))
        .then(|| entries.last().map(|e| e.id.clone()))
        .flatten();
    Ok(AuditPage { entries, next })
}

#[async_trait]
impl RequestInbox for EmbeddedDesk {
    async fn page(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let (query, now) = (query.clone(), self.clock.now().unix_timestamp());
        self.store
            .with_conn(move |conn| page_blocking(conn, &query, now))
            .await
    }

    async fn open(
        &self,
        reference: &Reference,
        by: &Staff,
    ) -> Result<Option<DeskRequest>, StoreError> {
        let now = self.clock.now();
        let seen = AuditEntry::new(
            now,
            by.clone(),
            AuditAction::Viewed,
            Some(reference.clone()),
        )
        .map_err(no_randomness)?;
        let (reference, keep_until) = (reference.clone(), self.keep_until(now));
        self.store
            .with_conn(move |conn| open_blocking(conn, &reference, &seen, keep_until))
            .await
    }

    async fn change(
        &self,
        reference: &Reference,
        version: u64,
        step: &Step,
    ) -> Result<Changed, StoreError> {
        let now = self.clock.now();
        let times = (now, self.keep_until(now));
        let (reference, step) = (reference.clone(), step.clone());
        self.store
            .with_conn(move |conn| change_blocking(conn, &reference, version, &step, times))
            .await
    }
}

#[async_trait]
impl AuditTrail for EmbeddedDesk {
    async fn record(
        &self,
        by: &Staff,
        action: AuditAction,
        reference: Option<&Reference>,
    ) -> Result<AuditEntry, StoreError> {
        let now = self.clock.now();
        let entry =
            AuditEntry::new(now, by.clone(), action, reference.cloned()).map_err(no_randomness)?;
        let (written, keep_until) = (entry.clone(), self.keep_until(now));
        self.store
            .with_conn(move |conn| {
                // Entries past their retention go, as DynamoDB's TTL removes them.
                conn.execute("DELETE FROM audit WHERE expires_at < unixepoch()", [])
                    .map_err(unavailable)?;
                put_audit(conn, &written, keep_until)
            })
            .await?;
        Ok(entry)
    }

    async fn of_request(
        &self,
        reference: &Reference,
        after: Option<&AuditId>,
        limit: u16,
    ) -> Result<AuditPage, StoreError> {
        let (reference, after) = (reference.clone(), after.cloned());
        let now = self.clock.now().unix_timestamp();
        self.store
            .with_conn(move |conn| audit_page(conn, Some(&reference), after.as_ref(), limit, now))
            .await
    }

    async fn whole(&self, after: Option<&AuditId>, limit: u16) -> Result<AuditPage, StoreError> {
        let after = after.cloned();
        let now = self.clock.now().unix_timestamp();
        self.store
            .with_conn(move |conn| audit_page(conn, None, after.as_ref(), limit, now))
            .await
    }
}

/// An erasure in one immediate transaction: the booking, its emails'
/// rows, every guard that names it or is keyed as given, and the audit
/// entry; then the write-ahead log is checkpointed and truncated, so with
/// `secure_delete` no byte of the booking stays in the files.
#[async_trait]
impl crate::rights::Eraser for EmbeddedDesk {
    async fn erase(
        &self,
        reference: &Reference,
        guards: &[String],
        by: &Staff,
        reason: &crate::desk::Reason,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let now = self.clock.now();
        let entry = AuditEntry::erased(now, by.clone(), reference, reason.clone())
            .map_err(no_randomness)?;
        let keep_until = self.keep_until(now);
        let (reference, guards) = (reference.as_str().to_owned(), guards.to_vec());
        self.store
            .with_conn(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(unavailable)?;
                // An email being sent now would land after the erasure.
                let sending: Option<i64> = tx
                    .query_row(
                        "SELECT MAX(claim_until) FROM notices
                         WHERE reference = ?1 AND claim_until >= ?2",
                        params![reference, now.unix_timestamp()],
                        |row| row.get(0),
                    )
                    .map_err(unavailable)?;
                if let Some(until) = sending {
                    return Err(crate::rights::erase::sending(&reference, until));
                }
                let deleted = tx
                    .execute("DELETE FROM bookings WHERE reference = ?1", [&reference])
                    .map_err(unavailable)?;
                if deleted == 0 {
                    return Ok(None);
                }
                tx.execute("DELETE FROM notices WHERE reference = ?1", [&reference])
                    .map_err(unavailable)?;
                tx.execute("DELETE FROM guards WHERE reference = ?1", [&reference])
                    .map_err(unavailable)?;
                for key in &guards {
                    tx.execute("DELETE FROM guards WHERE pk = ?1", [key])
                        .map_err(unavailable)?;
                }
                put_audit(&tx, &entry, keep_until)?;
                tx.commit().map_err(unavailable)?;
                super::truncate_log(conn)?;
                Ok(Some(entry))
            })
            .await
    }
}
