//! The embedded adapter: SQLite in one file, for the local server.
//!
//! The same semantics as DynamoDB in one immediate transaction: guards are
//! read, the shared rule in `Conflicts::outcome` decides, and the booking and
//! its guards are written together or not at all. Expired rows count as absent.

mod content;
mod desk;
mod notices;

pub use desk::EmbeddedDesk;

use super::{
    Allowance, BookingStore, Conflicts, GuardHit, InsertOutcome, NewBooking, StoreError, Verdict,
};
use crate::booking::record::{parse_rfc3339, rfc3339, BookingRecord, CorruptRecord};
use crate::booking::{Booking, Fingerprint, Reference, SubjectTag};
use crate::rights::marketing::{MarketingRegister, OptIn, OptInRecord};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA busy_timeout = 5000;
PRAGMA secure_delete = ON;
CREATE TABLE IF NOT EXISTS bookings (
    reference   TEXT PRIMARY KEY,
    record      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS bookings_expiry ON bookings (expires_at);
CREATE TABLE IF NOT EXISTS guards (
    pk          TEXT PRIMARY KEY,
    reference   TEXT,
    received_at TEXT,
    fingerprint TEXT,
    hits        INTEGER,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS guards_expiry ON guards (expires_at);
CREATE TABLE IF NOT EXISTS notices (
    reference   TEXT NOT NULL,
    notice      TEXT NOT NULL,
    claim       TEXT,
    claim_until INTEGER,
    sent_at     TEXT,
    message_id  TEXT,
    failed      TEXT,
    failed_at   TEXT,
    held        TEXT,
    held_at     TEXT,
    delivery    TEXT,
    delivery_rank INTEGER,
    delivery_at TEXT,
    delivery_detail TEXT,
    PRIMARY KEY (reference, notice)
);
CREATE TABLE IF NOT EXISTS audit (
    id          TEXT PRIMARY KEY,
    reference   TEXT,
    record      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_reference ON audit (reference, id);
CREATE INDEX IF NOT EXISTS audit_expiry ON audit (expires_at);
-- The trail is append-only: no entry is changed, and none is removed
-- before its retention ends.
CREATE TRIGGER IF NOT EXISTS audit_never_replaced BEFORE INSERT ON audit
WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_never_changes BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_kept_until_expiry BEFORE DELETE ON audit
WHEN old.expires_at >= unixepoch()
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE IF NOT EXISTS content (
    key  TEXT PRIMARY KEY,
    json TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- The marketing register: kept until withdrawn (a withdrawn entry keeps
-- its key and withdrawn_at, not its address), never expired.
CREATE TABLE IF NOT EXISTS marketing (
    pk              TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    address         TEXT,
    withdrawn_at    TEXT,
    consent_version TEXT NOT NULL,
    consent_wording TEXT,
    given_at        TEXT NOT NULL,
    reference       TEXT NOT NULL
);
";

/// What one expiry deleted, in rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Bookings past their retention, with their notices.
    pub bookings: usize,
    /// Guards and counters past their window.
    pub guards: usize,
    /// Audit entries past theirs.
    pub audit_entries: usize,
}

/// The local database in a SQLite file (or in memory, for tests): bookings
/// with their guards and email notices, and the published content.
#[derive(Clone)]
pub struct EmbeddedBookingStore {
    conn: Arc<Mutex<Connection>>,
}

impl EmbeddedBookingStore {
    /// Opens (creating if needed) the database at `path`, readable by its
    /// owner only (SQLite gives its write-ahead log and shared-memory files
    /// the database's mode).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        crate::owner_only::touch_file(path)
            .map_err(|e| StoreError::Misconfigured(format!("{}: {e}", path.display())))?;
        Self::from_connection(Connection::open(path).map_err(misconfigured)?)
    }

    /// A private in-memory database.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::from_connection(Connection::open_in_memory().map_err(misconfigured)?)
    }

    fn from_connection(mut conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA).map_err(misconfigured)?;
        migrate(&mut conn).map_err(misconfigured)?;
        conn.execute_batch(ADDED_INDEXES).map_err(misconfigured)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// How many bookings are kept (expired ones included until the next insert purges them).
    pub async fn count_bookings(&self) -> Result<u64, StoreError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT COUNT(*) FROM bookings", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n.unsigned_abs())
            .map_err(unavailable)
        })
        .await
    }

    /// Every value of every guard row (idempotency, fingerprint and rate
    /// records), as text: for checking what the guards hold. Nothing on a
    /// request path calls it.
    pub async fn guard_values(&self) -> Result<Vec<Vec<String>>, StoreError> {
        self.with_conn(|conn| {
            let mut statement = conn
                .prepare(
                    "SELECT pk, COALESCE(reference, ''), COALESCE(received_at, ''),
                            COALESCE(fingerprint, ''), COALESCE(hits, ''), expires_at
                     FROM guards",
                )
                .map_err(unavailable)?;
            let rows = statement
                .query_map([], |row| {
                    (0..6)
                        .map(|i| row.get::<_, rusqlite::types::Value>(i))
                        .map(|v| {
                            v.map(|v| match v {
                                rusqlite::types::Value::Text(t) => t,
                                rusqlite::types::Value::Integer(n) => n.to_string(),
                                other => format!("{other:?}"),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<String>>>()
                })
                .map_err(unavailable)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unavailable)
        })
        .await
    }

    /// The name of every column of the tables that hold bookings, their
    /// emails' state, guards and the audit trail, and every key of the
    /// JSON they hold (a booking's record, its history, an audit entry):
    /// what the data protection document must name. Nothing on a request
    /// path calls it.
    pub async fn stored_names(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        fn keys(value: &serde_json::Value, names: &mut std::collections::BTreeSet<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (key, inner) in map {
                        names.insert(key.clone());
                        keys(inner, names);
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|i| keys(i, names)),
                _ => {}
            }
        }
        self.with_conn(|conn| {
            let mut names = std::collections::BTreeSet::new();
            for table in ["bookings", "notices", "guards", "audit", "marketing"] {
                let mut columns = conn
                    .prepare("SELECT name FROM pragma_table_info(?1)")
                    .map_err(unavailable)?;
                for column in columns
                    .query_map([table], |row| row.get::<_, String>(0))
                    .map_err(unavailable)?
                {
                    names.insert(column.map_err(unavailable)?);
                }
            }
            for sql in [
                "SELECT record FROM bookings",
                "SELECT history FROM bookings",
                "SELECT record FROM audit",
            ] {
                let mut rows = conn.prepare(sql).map_err(unavailable)?;
                for text in rows
                    .query_map([], |row| row.get::<_, Option<String>>(0))
                    .map_err(unavailable)?
                {
                    if let Some(text) = text.map_err(unavailable)? {
                        let value: serde_json::Value = serde_json::from_str(&text)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        keys(&value, &mut names);
                    }
                }
            }
            Ok(names)
        })
        .await
    }

    /// Deletes everything past its retention at `now`, leaving none of it
    /// readable in the file: freed pages are overwritten (`secure_delete`)
    /// and the write-ahead log is checkpointed into the database and
    /// truncated. `frontdesk serve` runs it at start and hourly, as
    /// DynamoDB's TTL runs in AWS; a reader in another process can keep the
    /// log from being truncated until it finishes, which the next run
    /// completes.
    pub async fn expire(&self, now: time::OffsetDateTime) -> Result<Expired, StoreError> {
        let now = now.unix_timestamp();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let expired = purge(&tx, now)?;
            tx.commit().map_err(unavailable)?;
            truncate_log(conn)?;
            Ok(expired)
        })
        .await
    }

    /// The stored record of a booking, as kept.
    pub async fn record(&self, reference: &Reference) -> Result<Option<BookingRecord>, StoreError> {
        let reference = reference.as_str().to_owned();
        self.with_conn(move |conn| {
            let json: Option<String> = conn
                .query_row(
                    "SELECT record FROM bookings WHERE reference = ?1",
                    [&reference],
                    |row| row.get(0),
                )
                .optional()
                .map_err(unavailable)?;
            json.as_deref().map(parse_record).transpose()
        })
        .await
    }

    /// Replaces a booking's stored JSON as given, unchecked, as `sqlite3`
    /// would: for repairs by hand, and for tests of data stored by earlier
    /// rules. Nothing on a request path calls it.
    pub async fn overwrite_record(
        &self,
        reference: &Reference,
        json: String,
    ) -> Result<(), StoreError> {
        let reference = reference.as_str().to_owned();
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE bookings SET record = ?2 WHERE reference = ?1",
                params![reference, json],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    /// Removes a booking's subject tags, as a booking stored before them
    /// has none: for tests of the tagging that catches up. Nothing on a
    /// request path calls it.
    pub async fn forget_subject_tags(&self, reference: &Reference) -> Result<(), StoreError> {
        let reference = reference.as_str().to_owned();
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE bookings SET subject_email = NULL, subject_phone = NULL WHERE reference = ?1",
                [reference],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Unavailable("database lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}

/// Columns added since the first schema, added to a data folder made before them.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("notices", "held", "TEXT"),
    ("notices", "held_at", "TEXT"),
    ("notices", "delivery", "TEXT"),
    ("notices", "delivery_rank", "INTEGER"),
    ("notices", "delivery_at", "TEXT"),
    ("notices", "delivery_detail", "TEXT"),
    ("bookings", "desk_state", "TEXT"),
    ("bookings", "specialty", "TEXT"),
    ("bookings", "desk_version", "INTEGER"),
    ("bookings", "history", "TEXT"),
    ("bookings", "repeat_of", "TEXT"),
    ("bookings", "subject_email", "TEXT"),
    ("bookings", "subject_phone", "TEXT"),
    // The sequence of the request's latest appointment confirmation.
    ("bookings", "confirmation_sequence", "INTEGER"),
];

/// Indexes over columns added since the first schema, made once they exist.
const ADDED_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS bookings_inbox ON bookings (desk_state, received_at, reference)
    WHERE desk_state IS NOT NULL;
CREATE INDEX IF NOT EXISTS bookings_inbox_lane ON bookings (desk_state, specialty, received_at, reference)
    WHERE desk_state IS NOT NULL;
CREATE INDEX IF NOT EXISTS by_subject_email ON bookings (subject_email, received_at)
    WHERE subject_email IS NOT NULL;
CREATE INDEX IF NOT EXISTS by_subject_phone ON bookings (subject_phone, received_at)
    WHERE subject_phone IS NOT NULL;
";

/// Brings a database made by an earlier version up to `SCHEMA`. Only a
/// database that lacks a column takes the write lock, in one immediate
/// transaction: `serve` and `notify` opening one folder at once take turns,
/// and the second finds the columns the first added.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    if missing_columns(conn)?.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (table, column, kind) in missing_columns(&tx)? {
        tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
    }
    // Bookings stored before the desk arrive in its inbox as new.
    tx.execute(
        "UPDATE bookings SET desk_state = 'new', desk_version = 0, history = '[]',
             specialty = json_extract(record, '$.specialty')
         WHERE desk_state IS NULL",
        [],
    )?;
    tx.commit()
}

/// The `ADDED_COLUMNS` this database does not have yet.
fn missing_columns(conn: &Connection) -> rusqlite::Result<Vec<(&str, &str, &str)>> {
    let mut missing = Vec::new();
    for &(table, column, kind) in ADDED_COLUMNS {
        let present: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
            [table, column],
            |row| row.get(0),
        )?;
        if !present {
            missing.push((table, column, kind));
        }
    }
    Ok(missing)
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn misconfigured(e: rusqlite::Error) -> StoreError {
    StoreError::Misconfigured(e.to_string())
}

fn guard_hit(conn: &Connection, pk: &str, now: i64) -> Result<Option<GuardHit>, StoreError> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT reference, received_at, fingerprint FROM guards WHERE pk = ?1 AND expires_at >= ?2",
            params![pk, now],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(unavailable)?;
    row.map(|(reference, received_at, fingerprint)| {
        Ok(GuardHit {
            reference: Reference::parse(&reference).map_err(StoreError::Corrupt)?,
            received_at: parse_rfc3339(&received_at).map_err(|e| StoreError::Corrupt(e.0))?,
            fingerprint: Fingerprint::from_stored(fingerprint),
        })
    })
    .transpose()
}

/// Copies the write-ahead log into the database and truncates it, so
/// that what was just deleted (overwritten by `secure_delete` in the
/// database's pages) is not left in the log's older frames. A reader in
/// another process (`frontdesk notify` beside `serve`) can hold the log:
/// it is tried again for about a second, then left to the next expiry
/// with a warning (by kind only).
fn truncate_log(conn: &Connection) -> Result<(), StoreError> {
    for _ in 0..40 {
        let busy: i64 = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .map_err(unavailable)?;
        if busy == 0 {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    tracing::warn!(
        "the write-ahead log is in use by another process: it is truncated at the next expiry"
    );
    Ok(())
}

/// Deletes what is past its retention at `now` (bookings, their notices,
/// guards; audit entries by the database's own clock, which its trigger
/// checks): what DynamoDB's TTL does in the background.
fn purge(conn: &Connection, now: i64) -> Result<Expired, StoreError> {
    let bookings = conn
        .execute("DELETE FROM bookings WHERE expires_at < ?1", [now])
        .map_err(unavailable)?;
    let guards = conn
        .execute("DELETE FROM guards WHERE expires_at < ?1", [now])
        .map_err(unavailable)?;
    conn.execute(
        "DELETE FROM notices WHERE reference NOT IN (SELECT reference FROM bookings)",
        [],
    )
    .map_err(unavailable)?;
    let audit_entries = conn
        .execute("DELETE FROM audit WHERE expires_at < unixepoch()", [])
        .map_err(unavailable)?;
    Ok(Expired {
        bookings,
        guards,
        audit_entries,
    })
}

fn insert_blocking(conn: &mut Connection, new: &NewBooking) -> Result<InsertOutcome, StoreError> {
    let now = new.now.unix_timestamp();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    purge(&tx, now)?;

    // What the guards say, asked again after each change the verdict makes
    // (a repeat no longer checks the fingerprint; a withheld
    // acknowledgement no longer counts), as the DynamoDB adapter rewrites
    // its transaction.
    let mut new = new.clone();
    loop {
        let conflicts = Conflicts {
            idempotency: match &new.idempotency_guard_key() {
                Some(pk) => guard_hit(&tx, pk, now)?,
                None => None,
            },
            fingerprint: match new.repeat_of {
                Some(_) => None,
                None => guard_hit(&tx, &new.fingerprint_guard_key(), now)?,
            },
            rate_full: match &new.rate {
                Some(rate) => counters_full(&tx, rate, now)?,
                None => [false; 2],
            },
            acknowledgements_full: match &new.acknowledgements {
                Some(acks) => counters_full(&tx, acks, now)?.contains(&true),
                None => false,
            },
            reference_taken: tx
                .query_row(
                    "SELECT 1 FROM bookings WHERE reference = ?1",
                    [new.booking.reference.as_str()],
                    |_| Ok(()),
                )
                .optional()
                .map_err(unavailable)?
                .is_some(),
        };
        match conflicts.verdict(&new) {
            None => break,
            Some(Verdict::Repeat { of }) => new.repeat_of = Some(of),
            Some(Verdict::WithholdAcknowledgement) => {
                new.withholding_acknowledgement(crate::booking::Withheld::AddressCap)
            }
            Some(Verdict::Duplicate) => {
                if let Some(rate) = &new.rate {
                    charge(&tx, rate)?;
                }
                tx.commit().map_err(unavailable)?;
                return Ok(InsertOutcome::Duplicate);
            }
            // Dropping `tx` rolls back the purge too; it is redone next time.
            Some(Verdict::Decided(outcome)) => return Ok(outcome),
        }
    }
    let repeat_of = new.repeat_of.clone();

    let record = BookingRecord::from(&new.booking);
    let json = serde_json::to_string(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO bookings (reference, record, received_at, expires_at, desk_state, specialty, desk_version, history, repeat_of, subject_email, subject_phone)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, '[]', ?7, ?8, ?9)",
        params![
            record.reference,
            json,
            record.received_at,
            record.expires_at,
            crate::desk::RequestState::New.as_str(),
            record.specialty,
            repeat_of.as_ref().map(Reference::as_str),
            new.subject.email.as_str(),
            new.subject.phone.as_str(),
        ],
    )
    .map_err(unavailable)?;
    let guard_expiry = new.guard_expires_at().unix_timestamp();
    let received_at = rfc3339(new.booking.received_at);
    // A repeat leaves the fingerprint pointing at the first booking.
    let fp_key = repeat_of.is_none().then(|| new.fingerprint_guard_key());
    for pk in new.idempotency_guard_key().iter().chain(fp_key.iter()) {
        tx.execute(
            "INSERT OR REPLACE INTO guards (pk, reference, received_at, fingerprint, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                pk,
                record.reference,
                received_at,
                new.fingerprint.as_str(),
                guard_expiry
            ],
        )
        .map_err(unavailable)?;
    }
    for allowance in new.rate.iter().chain(new.acknowledgements.iter()) {
        charge(&tx, allowance)?;
    }
    // The latest opt-in on a channel for an address is the one kept, but
    // never over a withdrawal: the form is open to anyone, and an objection
    // stays until the person tells the clinic otherwise.
    for opt_in in OptIn::of(&new) {
        let r = opt_in.record();
        tx.execute(
            "INSERT INTO marketing
                 (pk, channel, address, withdrawn_at, consent_version, consent_wording,
                  given_at, reference)
             VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7)
             ON CONFLICT (pk) DO UPDATE SET
                 address = excluded.address,
                 consent_version = excluded.consent_version,
                 consent_wording = excluded.consent_wording,
                 given_at = excluded.given_at,
                 reference = excluded.reference
             WHERE marketing.withdrawn_at IS NULL",
            params![
                r.pk,
                r.channel,
                r.address,
                r.consent_version,
                r.consent_wording,
                r.given_at,
                r.reference
            ],
        )
        .map_err(unavailable)?;
    }
    tx.commit().map_err(unavailable)?;
    Ok(InsertOutcome::Stored)
}

/// The opt-in in a `marketing` row.
fn opt_in_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<OptInRecord> {
    Ok(OptInRecord {
        pk: row.get(0)?,
        channel: row.get(1)?,
        address: row.get(2)?,
        withdrawn_at: row.get(3)?,
        consent_version: row.get(4)?,
        consent_wording: row.get(5)?,
        given_at: row.get(6)?,
        reference: row.get(7)?,
    })
}

const OPT_IN_COLUMNS: &str =
    "pk, channel, address, withdrawn_at, consent_version, consent_wording, given_at, reference";

#[async_trait]
impl MarketingRegister for EmbeddedBookingStore {
    async fn opt_ins(&self, keys: &[String]) -> Result<Vec<OptIn>, StoreError> {
        let keys = keys.to_vec();
        self.with_conn(move |conn| {
            let mut statement = conn
                .prepare(&format!(
                    "SELECT {OPT_IN_COLUMNS} FROM marketing WHERE pk = ?1"
                ))
                .map_err(unavailable)?;
            let mut found = Vec::new();
            for key in &keys {
                if let Some(record) = statement
                    .query_row(params![key], opt_in_of)
                    .optional()
                    .map_err(unavailable)?
                {
                    found.extend(record.live()?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn withdraw(
        &self,
        key: &str,
        at: time::OffsetDateTime,
    ) -> Result<Option<OptIn>, StoreError> {
        let key = key.to_owned();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let live = tx
                .query_row(
                    &format!("SELECT {OPT_IN_COLUMNS} FROM marketing WHERE pk = ?1"),
                    params![key],
                    opt_in_of,
                )
                .optional()
                .map_err(unavailable)?
                .map(OptInRecord::live)
                .transpose()?
                .flatten();
            if live.is_some() {
                tx.execute(
                    "UPDATE marketing SET address = NULL, withdrawn_at = ?2 WHERE pk = ?1",
                    params![key, rfc3339(at)],
                )
                .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            // The address withdrawn leaves no copy in the write-ahead log.
            if live.is_some() {
                truncate_log(conn)?;
            }
            Ok(live)
        })
        .await
    }

    async fn remove(&self, key: &str) -> Result<Option<OptIn>, StoreError> {
        let key = key.to_owned();
        self.with_conn(move |conn| {
            let record = conn
                .query_row(
                    &format!("DELETE FROM marketing WHERE pk = ?1 RETURNING {OPT_IN_COLUMNS}"),
                    params![key],
                    opt_in_of,
                )
                .optional()
                .map_err(unavailable)?;
            // An erasure: no copy of the entry stays in the write-ahead log.
            truncate_log(conn)?;
            Ok(record.map(OptInRecord::live).transpose()?.flatten())
        })
        .await
    }

    async fn remove_from(&self, key: &str, bookings: &[Reference]) -> Result<bool, StoreError> {
        let key = key.to_owned();
        let bookings: Vec<String> = bookings.iter().map(|r| r.as_str().to_owned()).collect();
        self.with_conn(move |conn| {
            let mut removed = false;
            let mut statement = conn
                .prepare("DELETE FROM marketing WHERE pk = ?1 AND reference = ?2")
                .map_err(unavailable)?;
            for reference in &bookings {
                removed |= statement
                    .execute(params![key, reference])
                    .map_err(unavailable)?
                    > 0;
            }
            if removed {
                truncate_log(conn)?;
            }
            Ok(removed)
        })
        .await
    }
}

/// Which of an allowance's two counters is at its limit.
fn counters_full(
    tx: &Connection,
    allowance: &Allowance,
    now: i64,
) -> Result<[bool; 2], StoreError> {
    let mut full = [false; 2];
    for (full, key) in full.iter_mut().zip(allowance.keys()) {
        let hits: Option<i64> = tx
            .query_row(
                "SELECT hits FROM guards WHERE pk = ?1 AND expires_at >= ?2",
                params![key, now],
                |row| row.get(0),
            )
            .optional()
            .map_err(unavailable)?;
        *full = hits.unwrap_or(0) >= i64::from(allowance.limit);
    }
    Ok(full)
}

/// Adds one to each of an allowance's counters (checked under the limit by
/// the caller, in the same transaction).
fn charge(tx: &Connection, allowance: &Allowance) -> Result<(), StoreError> {
    for (key, window) in allowance.keys().iter().zip(allowance.windows) {
        tx.execute(
            "INSERT INTO guards (pk, hits, expires_at) VALUES (?1, 1, ?2)
             ON CONFLICT (pk) DO UPDATE SET hits = hits + 1",
            params![key, window.end.unix_timestamp()],
        )
        .map_err(unavailable)?;
    }
    Ok(())
}

/// A booking's stored JSON read back as its record.
fn parse_record(json: &str) -> Result<BookingRecord, StoreError> {
    serde_json::from_str(json).map_err(|_| StoreError::Corrupt(CorruptRecord::unshaped().0))
}

/// A record as the booking it holds.
fn booking_of_record(record: BookingRecord) -> Result<Booking, StoreError> {
    Booking::try_from(record).map_err(|e| StoreError::Corrupt(e.0))
}

#[async_trait]
impl BookingStore for EmbeddedBookingStore {
    async fn insert(&self, new: NewBooking) -> Result<InsertOutcome, StoreError> {
        self.with_conn(move |conn| insert_blocking(conn, &new))
            .await
    }

    async fn get(&self, reference: &Reference) -> Result<Option<Booking>, StoreError> {
        self.record(reference)
            .await?
            .map(booking_of_record)
            .transpose()
    }
}

/// A person's bookings, by the tag columns' partial indexes.
#[async_trait]
impl super::SubjectIndex for EmbeddedBookingStore {
    async fn bookings_of(
        &self,
        tag: &SubjectTag,
        now: time::OffsetDateTime,
    ) -> Result<Vec<Reference>, StoreError> {
        // The column's name is the identifier's own constant, never input.
        let sql = format!(
            "SELECT reference FROM bookings INDEXED BY {index}
             WHERE {column} = ?1 AND expires_at > ?2 ORDER BY received_at, reference",
            index = tag.identifier().index(),
            column = tag.identifier().attribute(),
        );
        let (tag, now) = (tag.as_str().to_owned(), now.unix_timestamp());
        self.with_conn(move |conn| {
            let mut statement = conn.prepare(&sql).map_err(unavailable)?;
            let references = statement
                .query_map(params![tag, now], |row| row.get::<_, String>(0))
                .map_err(unavailable)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(unavailable)?;
            references
                .iter()
                .map(|r| Reference::parse(r).map_err(StoreError::Corrupt))
                .collect()
        })
        .await
    }

    async fn tag_untagged(&self, key: &crate::match_key::MatchKey) -> Result<u64, StoreError> {
        let key = key.clone();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let untagged: Vec<(String, String)> = {
                let mut statement = tx
                    .prepare("SELECT reference, record FROM bookings WHERE subject_email IS NULL")
                    .map_err(unavailable)?;
                let rows = statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map_err(unavailable)?;
                rows.collect::<rusqlite::Result<_>>().map_err(unavailable)?
            };
            let mut tagged = 0;
            for (reference, json) in untagged {
                let record = parse_record(&json)?;
                let tags =
                    crate::booking::SubjectTags::of_stored(&record.email, &record.phone, &key)
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "{reference}: an unreadable email or phone"
                            ))
                        })?;
                tagged += tx
                    .execute(
                        "UPDATE bookings SET subject_email = ?2, subject_phone = ?3
                         WHERE reference = ?1 AND subject_email IS NULL",
                        params![reference, tags.email.as_str(), tags.phone.as_str()],
                    )
                    .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)?;
            Ok(tagged as u64)
        })
        .await
    }
}

/// The acknowledgement ceiling's hourly counters, in the guards table.
#[async_trait]
impl crate::notify::AcknowledgementCounter for EmbeddedBookingStore {
    async fn count(&self, at: time::OffsetDateTime, limit: u32) -> Result<bool, StoreError> {
        let (key, expires_at) = crate::notify::ceiling::hour_key(at);
        self.with_conn(move |conn| {
            let counted = conn
                .execute(
                    "INSERT INTO guards (pk, hits, expires_at) VALUES (?1, 1, ?2)
                     ON CONFLICT (pk) DO UPDATE SET hits = hits + 1 WHERE hits < ?3",
                    params![key, expires_at, i64::from(limit)],
                )
                .map_err(unavailable)?;
            Ok(counted == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notices table as the first schema made it, before `ADDED_COLUMNS`,
    /// with one email sent.
    const FIRST_NOTICES: &str = "
        CREATE TABLE notices (
            reference   TEXT NOT NULL,
            notice      TEXT NOT NULL,
            claim       TEXT,
            claim_until INTEGER,
            sent_at     TEXT,
            message_id  TEXT,
            failed      TEXT,
            failed_at   TEXT,
            PRIMARY KEY (reference, notice)
        );
        INSERT INTO notices (reference, notice, sent_at, message_id)
            VALUES ('FD-TEST', 'staff', '2026-01-05T09:00:00Z', 'm-1');";

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        let mut statement = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .unwrap();
        let names = statement.query_map([table], |row| row.get(0)).unwrap();
        names.map(Result::unwrap).collect()
    }

    fn notice_columns(conn: &Connection) -> Vec<String> {
        columns(conn, "notices")
    }

    #[test]
    fn a_database_from_before_the_added_columns_gains_them_and_keeps_its_emails() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(FIRST_NOTICES).unwrap();
        let store = EmbeddedBookingStore::from_connection(conn).unwrap();
        let conn = store.conn.lock().unwrap();
        for (table, column, _) in ADDED_COLUMNS {
            let columns = columns(&conn, table);
            assert!(
                columns.iter().any(|c| c == column),
                "{table}.{column} missing from {columns:?}"
            );
        }
        let kept: (String, String) = conn
            .query_row(
                "SELECT sent_at, message_id FROM notices WHERE reference = 'FD-TEST'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!(kept, ("2026-01-05T09:00:00Z".into(), "m-1".into()));
    }

    #[test]
    fn processes_opening_an_old_database_at_once_all_open_it() {
        let path = std::env::temp_dir().join(format!(
            "frontdesk-migrate-{}-{}.sqlite",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        Connection::open(&path)
            .unwrap()
            .execute_batch(FIRST_NOTICES)
            .unwrap();
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || EmbeddedBookingStore::open(&path).map(|_| ()))
            })
            .collect();
        for open in opens {
            open.join().unwrap().unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        for (table, column, _) in ADDED_COLUMNS {
            let columns = columns(&conn, table);
            assert!(
                columns.iter().any(|c| c == column),
                "{table}.{column} missing"
            );
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    #[tokio::test]
    async fn expiry_leaves_nothing_of_an_expired_booking_in_the_files_and_keeps_the_rest() {
        use crate::booking::fixture::{booking, match_key, FORM};
        let dir = std::env::temp_dir().join(format!(
            "frontdesk-expiry-{}-{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        crate::owner_only::create_dir(&dir).unwrap();
        let path = dir.join("frontdesk.sqlite3");
        let store = EmbeddedBookingStore::open(&path).unwrap();
        let received = time::macros::datetime!(2026-12-02 09:00 UTC);
        let book = |form: &str, reference: &str, days: i64| {
            let mut booking = booking(form);
            booking.reference = Reference::parse(reference).unwrap();
            booking.received_at = received;
            booking.expires_at = received + time::Duration::days(days);
            NewBooking {
                fingerprint: Fingerprint::of(&booking.details, &match_key()),
                subject: crate::booking::SubjectTags::of(&booking.details, &match_key()),
                now: received,
                booking,
                idempotency: Some(format!("key-{reference}")),
                rate: None,
                repeat_of: None,
                acknowledgements: None,
            }
        };
        let gone =
            "first_name=Zed&last_name=Quill&email=zed.quill%40example.com&phone=07700+900555";
        // No opt-in to news: an opt-in outlives its booking by design.
        let gone = FORM
            .replace(
                "first_name=Ann&last_name=Smith&email=ann%40example.com&phone=07700+900123",
                gone,
            )
            .replace("&marketing_sms=on", "");
        for new in [
            book(&gone, "CCL-TEST-0001", 30),
            book(FORM, "CCL-TEST-0002", 365),
        ] {
            assert_eq!(store.insert(new).await.unwrap(), InsertOutcome::Stored);
        }
        let files = || {
            ["", "-wal", "-shm"]
                .iter()
                .filter_map(|suffix| std::fs::read(format!("{}{suffix}", path.display())).ok())
                .collect::<Vec<_>>()
        };
        let traces = ["zed.quill@example.com", "Quill", "+447700900555"];
        assert!(
            traces
                .iter()
                .all(|t| files().iter().any(|f| contains(f, t))),
            "the files hold the booking before it expires"
        );

        let expired = store
            .expire(received + time::Duration::days(31))
            .await
            .unwrap();
        assert_eq!(
            (expired.bookings, expired.guards),
            (1, 4),
            "one booking; both bookings' key and fingerprint guards, a day old"
        );
        for trace in traces {
            assert!(
                !files().iter().any(|f| contains(f, trace)),
                "{trace} is still in the files"
            );
        }
        let kept = store
            .get(&Reference::parse("CCL-TEST-0002").unwrap())
            .await
            .unwrap();
        assert_eq!(kept.unwrap().details.email.as_str(), "ann@example.com");
        assert!(store
            .get(&Reference::parse("CCL-TEST-0001").unwrap())
            .await
            .unwrap()
            .is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_database_and_its_log_are_their_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "frontdesk-modes-{}-{}",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("frontdesk.sqlite3");
        let store = EmbeddedBookingStore::open(&path).unwrap();
        store
            .conn
            .lock()
            .unwrap()
            .execute(
                "INSERT INTO guards (pk, hits, expires_at) VALUES ('x', 1, 0)",
                [],
            )
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_audit_trail_refuses_every_change_but_an_addition() {
        let store = EmbeddedBookingStore::in_memory().unwrap();
        let conn = store.conn.lock().unwrap();
        let kept = "INSERT INTO audit (id, reference, record, expires_at)
                    VALUES ('a', NULL, '{}', unixepoch() + 86400)";
        conn.execute(kept, []).unwrap();
        for tampering in [
            "UPDATE audit SET record = '{\"forged\":true}' WHERE id = 'a'",
            "DELETE FROM audit WHERE id = 'a'",
            "INSERT OR REPLACE INTO audit (id, reference, record, expires_at)
             VALUES ('a', NULL, '{}', 0)",
            kept,
        ] {
            let refused = conn.execute(tampering, []).unwrap_err().to_string();
            assert!(refused.contains("append-only"), "{tampering}: {refused}");
        }
        // An entry past its retention may go, as DynamoDB's TTL removes it.
        conn.execute(
            "INSERT INTO audit (id, reference, record, expires_at) VALUES ('old', NULL, '{}', 1)",
            [],
        )
        .unwrap();
        assert_eq!(
            conn.execute("DELETE FROM audit WHERE id = 'old'", [])
                .unwrap(),
            1
        );
        let record: String = conn
            .query_row("SELECT record FROM audit WHERE id = 'a'", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(record, "{}");
    }

    #[test]
    fn a_current_database_is_left_as_it_is() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let before = notice_columns(&conn);
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(notice_columns(&conn), before);
    }
}
