//! The desk over SQLite: the inbox from a partial index on the bookings
//! table, each change and its audit entry in one immediate transaction, and
//! an audit table that triggers keep append-only.

use super::{booking_of_record, parse_record, unavailable, EmbeddedBookingStore};
use crate::booking::record::{parse_rfc3339, rfc3339};
use crate::booking::{Reference, Specialty};
use crate::desk::record::{AuditRecord, StepRecord};
use crate::desk::{
    AuditEntry, AuditId, AuditPage, AuditTrail, Changed, Cursor, DeskRequest, InboxPage,
    InboxQuery, InboxRow, RequestInbox, RequestState, Step,
};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use time::Duration;

/// The desk's reads and changes over the local database.
#[derive(Clone)]
pub struct EmbeddedDesk {
    store: EmbeddedBookingStore,
    audit_for: Duration,
}

impl EmbeddedBookingStore {
    /// The desk over these bookings, keeping audit entries for `audit_for`.
    pub fn desk(&self, audit_for: Duration) -> EmbeddedDesk {
        EmbeddedDesk {
            store: self.clone(),
            audit_for,
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn put_audit(conn: &Connection, entry: &AuditEntry, audit_for: Duration) -> Result<(), StoreError> {
    let record = AuditRecord::of(entry, entry.at + audit_for);
    let json = serde_json::to_string(&record).map_err(corrupt)?;
    // A plain INSERT: an id already there is an error, never an overwrite.
    conn.execute(
        "INSERT INTO audit (id, reference, record, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![record.id, record.reference, json, record.expires_at],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn inbox_row(
    reference: String,
    received_at: String,
    state: String,
    specialty: String,
    version: i64,
) -> Result<InboxRow, StoreError> {
    Ok(InboxRow {
        reference: Reference::parse(&reference).map_err(corrupt)?,
        received_at: parse_rfc3339(&received_at).map_err(|e| corrupt(e.0))?,
        state: RequestState::parse(&state).ok_or_else(|| corrupt("an unknown desk state"))?,
        specialty: Specialty::from_stored(&specialty).map_err(corrupt)?,
        version: u64::try_from(version).map_err(corrupt)?,
    })
}

fn page_blocking(conn: &Connection, query: &InboxQuery) -> Result<InboxPage, StoreError> {
    let limit = query.limit.clamp(1, InboxQuery::MAX_LIMIT);
    // Keyset paging: rows strictly after the cursor in (received_at, reference) order, newest first.
    let (after_at, after_ref) = match &query.after {
        Some(c) => (
            Some(rfc3339(c.received_at)),
            Some(c.reference.as_str().to_owned()),
        ),
        None => (None, None),
    };
    let mut statement = conn
        .prepare(
            "SELECT reference, received_at, desk_state, specialty, version FROM bookings
             WHERE desk_state = ?1 AND (?2 IS NULL OR specialty = ?2)
               AND (?3 IS NULL OR received_at < ?3 OR (received_at = ?3 AND reference < ?4))
               AND expires_at >= unixepoch()
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
        .map(|row| {
            let (reference, at, state, specialty, version) = row.map_err(unavailable)?;
            inbox_row(reference, at, state, specialty, version)
        })
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
/// state, version and history (absent on a booking stored before the desk).
type StoredRequest = (String, Option<String>, Option<i64>, Option<String>);

fn open_blocking(
    conn: &mut Connection,
    reference: &Reference,
    seen: &AuditEntry,
    audit_for: Duration,
) -> Result<Option<DeskRequest>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    put_audit(&tx, seen, audit_for)?;
    let row: Option<StoredRequest> = tx
        .query_row(
            "SELECT record, desk_state, version, history FROM bookings
             WHERE reference = ?1 AND expires_at >= unixepoch()",
            [reference.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()
        .map_err(unavailable)?;
    tx.commit().map_err(unavailable)?;
    row.map(|(record, state, version, history)| {
        let history: Vec<StepRecord> =
            serde_json::from_str(history.as_deref().unwrap_or("[]")).map_err(corrupt)?;
        Ok(DeskRequest {
            booking: booking_of_record(parse_record(&record)?)?,
            state: state
                .as_deref()
                .map_or(Some(RequestState::New), RequestState::parse)
                .ok_or_else(|| corrupt("an unknown desk state"))?,
            version: u64::try_from(version.unwrap_or(0)).map_err(corrupt)?,
            history: history
                .into_iter()
                .map(Step::try_from)
                .collect::<Result<_, _>>()
                .map_err(corrupt)?,
        })
    })
    .transpose()
}

fn change_blocking(
    conn: &mut Connection,
    reference: &Reference,
    version: u64,
    step: &Step,
    audit_for: Duration,
) -> Result<Changed, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    let current: Option<(Option<String>, Option<i64>, Option<String>)> = tx
        .query_row(
            "SELECT desk_state, version, history FROM bookings
             WHERE reference = ?1 AND expires_at >= unixepoch()",
            [reference.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(unavailable)?;
    let Some((state, stored_version, history)) = current else {
        return Ok(Changed::NotFound);
    };
    let state = state
        .as_deref()
        .map_or(Some(RequestState::New), RequestState::parse)
        .ok_or_else(|| corrupt("an unknown desk state"))?;
    let stored_version = u64::try_from(stored_version.unwrap_or(0)).map_err(corrupt)?;
    if stored_version != version || state != step.from {
        return Ok(Changed::Conflict {
            state,
            version: stored_version,
        });
    }
    let mut history: Vec<StepRecord> =
        serde_json::from_str(history.as_deref().unwrap_or("[]")).map_err(corrupt)?;
    history.push(StepRecord::from(step));
    let next = version + 1;
    tx.execute(
        "UPDATE bookings SET desk_state = ?2, version = ?3, history = ?4 WHERE reference = ?1",
        params![
            reference.as_str(),
            step.to().as_str(),
            i64::try_from(next).map_err(corrupt)?,
            serde_json::to_string(&history).map_err(corrupt)?,
        ],
    )
    .map_err(unavailable)?;
    put_audit(&tx, &AuditEntry::changed(reference, step), audit_for)?;
    tx.commit().map_err(unavailable)?;
    Ok(Changed::Applied { version: next })
}

fn audit_page(
    conn: &Connection,
    reference: Option<&Reference>,
    after: Option<&AuditId>,
    limit: u16,
) -> Result<AuditPage, StoreError> {
    let limit = limit.clamp(1, InboxQuery::MAX_LIMIT);
    let mut statement = conn
        .prepare(
            "SELECT record FROM audit
             WHERE (?1 IS NULL OR reference = ?1) AND (?2 IS NULL OR id < ?2)
               AND expires_at >= unixepoch()
             ORDER BY id DESC LIMIT ?3",
        )
        .map_err(unavailable)?;
    let entries = statement
        .query_map(
            params![
                reference.map(|r| r.as_str().to_owned()),
                after.map(|a| a.as_str().to_owned()),
                i64::from(limit)
            ],
            |row| row.get::<_, String>(0),
        )
        .map_err(unavailable)?
        .map(|json| {
            let record: AuditRecord =
                serde_json::from_str(&json.map_err(unavailable)?).map_err(corrupt)?;
            AuditEntry::try_from(record).map_err(corrupt)
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
        let query = query.clone();
        self.store
            .with_conn(move |conn| page_blocking(conn, &query))
            .await
    }

    async fn open(
        &self,
        reference: &Reference,
        seen: &AuditEntry,
    ) -> Result<Option<DeskRequest>, StoreError> {
        let (reference, seen, audit_for) = (reference.clone(), seen.clone(), self.audit_for);
        self.store
            .with_conn(move |conn| open_blocking(conn, &reference, &seen, audit_for))
            .await
    }

    async fn change(
        &self,
        reference: &Reference,
        version: u64,
        step: &Step,
    ) -> Result<Changed, StoreError> {
        let (reference, step, audit_for) = (reference.clone(), step.clone(), self.audit_for);
        self.store
            .with_conn(move |conn| change_blocking(conn, &reference, version, &step, audit_for))
            .await
    }
}

#[async_trait]
impl AuditTrail for EmbeddedDesk {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let (entry, audit_for) = (entry.clone(), self.audit_for);
        self.store
            .with_conn(move |conn| put_audit(conn, &entry, audit_for))
            .await
    }

    async fn of_request(
        &self,
        reference: &Reference,
        after: Option<&AuditId>,
        limit: u16,
    ) -> Result<AuditPage, StoreError> {
        let (reference, after) = (reference.clone(), after.cloned());
        self.store
            .with_conn(move |conn| audit_page(conn, Some(&reference), after.as_ref(), limit))
            .await
    }

    async fn whole(&self, after: Option<&AuditId>, limit: u16) -> Result<AuditPage, StoreError> {
        let after = after.cloned();
        self.store
            .with_conn(move |conn| audit_page(conn, None, after.as_ref(), limit))
            .await
    }
}
