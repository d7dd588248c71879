//! The notice ledger in SQLite: a `notices` row per booking and email,
//! changed inside immediate transactions, with DynamoDB's semantics.

use super::{booking_of_record, parse_record, unavailable, EmbeddedBookingStore};
use crate::booking::record::parse_rfc3339;
use crate::booking::record::rfc3339;
use crate::booking::Reference;
use crate::notify::{
    Claim, ClaimToken, Confirmation, Delivery, EmailStates, Notice, NoticeLedger, NoticeState,
    Owed, OwedConfirmations, Recorded,
};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use time::OffsetDateTime;

fn booking_exists(conn: &Connection, reference: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM bookings WHERE reference = ?1",
            [reference],
            |_| Ok(()),
        )
        .optional()
        .map_err(unavailable)?
        .is_some())
}

pub(super) fn read_state(
    conn: &Connection,
    reference: &str,
    notice: &str,
) -> Result<NoticeState, StoreError> {
    Ok(conn
        .query_row(
            "SELECT sent_at, message_id, failed, failed_at, claim_until, held, held_at,
                    delivery, delivery_at, delivery_detail
             FROM notices WHERE reference = ?1 AND notice = ?2",
            [reference, notice],
            |row| {
                Ok(NoticeState {
                    sent_at: row.get(0)?,
                    message_id: row.get(1)?,
                    failed: row.get(2)?,
                    failed_at: row.get(3)?,
                    claimed_until: row.get(4)?,
                    held: row.get(5)?,
                    held_at: row.get(6)?,
                    delivery: row.get(7)?,
                    delivery_at: row.get(8)?,
                    delivery_detail: row.get(9)?,
                })
            },
        )
        .optional()
        .map_err(unavailable)?
        .unwrap_or_default())
}

/// How an email ended.
#[derive(Debug, Clone, Copy)]
enum Settled {
    /// `sent_at` and `message_id`.
    Sent,
    /// `failed_at` and `failed` (the code).
    Failed,
}

impl EmbeddedBookingStore {
    /// Records when and how an email ended, and ends its claim and any hold.
    async fn settle(
        &self,
        reference: &Reference,
        notice: Notice,
        how: Settled,
        at: String,
        detail: String,
    ) -> Result<(), StoreError> {
        let reference = reference.as_str().to_owned();
        // Recorded whether or not the email was ever claimed (one settled
        // without a claim: not needed, withheld), as long as its booking
        // is held, as DynamoDB records it on the booking's item.
        let sql = match how {
            Settled::Sent => {
                "INSERT INTO notices (reference, notice, sent_at, message_id)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM bookings WHERE reference = ?1)
                 ON CONFLICT (reference, notice) DO UPDATE SET sent_at = ?3, message_id = ?4,
                 claim = NULL, claim_until = NULL, held = NULL, held_at = NULL"
            }
            Settled::Failed => {
                "INSERT INTO notices (reference, notice, failed_at, failed)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM bookings WHERE reference = ?1)
                 ON CONFLICT (reference, notice) DO UPDATE SET failed_at = ?3, failed = ?4,
                 claim = NULL, claim_until = NULL, held = NULL, held_at = NULL"
            }
        };
        self.with_conn(move |conn| {
            conn.execute(sql, params![reference, notice.name(), at, detail])
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }
}

impl EmbeddedBookingStore {
    /// The bookings a query of `(reference, record)` rows finds, in its
    /// order, skipping and counting the unreadable ones.
    async fn bookings_where(
        &self,
        sql: &'static str,
        values: Vec<rusqlite::types::Value>,
    ) -> Result<Owed, StoreError> {
        let records = self
            .with_conn(move |conn| {
                let mut query = conn.prepare(sql).map_err(unavailable)?;
                let rows = query
                    .query_map(rusqlite::params_from_iter(values), |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                    })
                    .map_err(unavailable)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
            })
            .await?;
        let mut owed = Owed::default();
        for (reference, json) in &records {
            match parse_record(json).and_then(booking_of_record) {
                Ok(booking) => owed.bookings.push(booking),
                Err(_) => owed.skip_unreadable(reference),
            }
        }
        Ok(owed)
    }
}

#[async_trait]
impl NoticeLedger for EmbeddedBookingStore {
    async fn claim(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let reference = reference.as_str().to_owned();
        let token = token.as_str().to_owned();
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            if !booking_exists(&tx, &reference)? {
                return Ok(Claim::NoBooking);
            }
            let state = read_state(&tx, &reference, &notice.name())?;
            if let Some(refused) = state.clone().refusal(now, until) {
                return Ok(refused);
            }
            // A confirmation nobody has done anything with is claimed only
            // while it is the request's latest.
            if let Notice::Confirmation(sequence) = notice {
                let latest: Option<i64> = tx
                    .query_row(
                        "SELECT confirmation_sequence FROM bookings WHERE reference = ?1",
                        [&reference],
                        |row| row.get(0),
                    )
                    .map_err(unavailable)?;
                if latest != Some(i64::from(sequence)) {
                    return Ok(Claim::Superseded {
                        attempted: state.claimed_until.is_some(),
                    });
                }
            }
            tx.execute(
                "INSERT INTO notices (reference, notice, claim, claim_until) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (reference, notice) DO UPDATE SET claim = ?3, claim_until = ?4",
                params![reference, notice.name(), token, until.unix_timestamp()],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(Claim::Claimed)
        })
        .await
    }

    async fn mark_sent(
        &self,
        reference: &Reference,
        notice: Notice,
        message_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.settle(
            reference,
            notice,
            Settled::Sent,
            rfc3339(at),
            message_id.to_owned(),
        )
        .await
    }

    async fn mark_failed(
        &self,
        reference: &Reference,
        notice: Notice,
        code: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.settle(
            reference,
            notice,
            Settled::Failed,
            rfc3339(at),
            code.to_owned(),
        )
        .await
    }

    async fn hold(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
        code: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let reference = reference.as_str().to_owned();
        let token = token.as_str().to_owned();
        let code = code.to_owned();
        let at = rfc3339(at);
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE notices SET claim = NULL, claim_until = NULL, held = ?4, held_at = ?5
                 WHERE reference = ?1 AND notice = ?2 AND claim = ?3",
                params![reference, notice.name(), token, code, at],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn record_delivery(
        &self,
        reference: &Reference,
        notice: Notice,
        message_id: &str,
        delivery: Delivery,
        detail: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Recorded, StoreError> {
        let reference = reference.as_str().to_owned();
        let message_id = message_id.to_owned();
        let detail = detail.map(str::to_owned);
        let at = rfc3339(at);
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            if !booking_exists(&tx, &reference)? {
                return Ok(Recorded::Unchanged);
            }
            let (stored_id, rank): (Option<String>, Option<i64>) = tx
                .query_row(
                    "SELECT message_id, delivery_rank FROM notices WHERE reference = ?1 AND notice = ?2",
                    params![reference, notice.name()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(unavailable)?
                .unwrap_or((None, None));
            let Some(stored_id) = stored_id else {
                return Ok(Recorded::NotYetSent);
            };
            if stored_id != message_id || rank.is_some_and(|r| r >= i64::from(delivery.rank())) {
                return Ok(Recorded::Unchanged);
            }
            tx.execute(
                "UPDATE notices SET delivery = ?3, delivery_rank = ?4, delivery_at = ?5, delivery_detail = ?6
                 WHERE reference = ?1 AND notice = ?2",
                params![
                    reference,
                    notice.name(),
                    delivery.as_str(),
                    i64::from(delivery.rank()),
                    at,
                    detail
                ],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(Recorded::Applied)
        })
        .await
    }

    async fn staff_undelivered(
        &self,
        since: OffsetDateTime,
        sent_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Owed, StoreError> {
        let since = rfc3339(since);
        let before = rfc3339(sent_before);
        let now = now.unix_timestamp();
        self.bookings_where(
            "SELECT b.reference, b.record FROM bookings b
                         JOIN notices s ON s.reference = b.reference AND s.notice = 'staff'
                         LEFT JOIN notices f ON f.reference = b.reference AND f.notice = 'fallback'
                         WHERE b.expires_at > ?2
                           AND f.sent_at IS NULL AND f.failed IS NULL
                           AND (s.failed_at >= ?3
                                OR (s.sent_at >= ?3
                                    AND (s.delivery IN ('bounced', 'complained', 'rejected')
                                         OR (s.sent_at <= ?1 AND (s.delivery IS NULL OR s.delivery IN ('sent', 'delayed'))))))
                         ORDER BY b.received_at, b.reference",
            vec![before.into(), now.into(), since.into()],
        )
        .await
    }

    async fn email_states(
        &self,
        received_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<EmailStates>, StoreError> {
        let after = rfc3339(received_after);
        let now = now.unix_timestamp();
        self.with_conn(move |conn| {
            let rows: Vec<(String, String)> = {
                let mut query = conn
                    .prepare(
                        "SELECT reference, received_at FROM bookings
                         WHERE received_at >= ?1 AND expires_at > ?2
                         ORDER BY received_at, reference",
                    )
                    .map_err(unavailable)?;
                let rows = query
                    .query_map(params![after, now], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map_err(unavailable)?;
                rows.collect::<Result<_, _>>().map_err(unavailable)?
            };
            let mut states = Vec::with_capacity(rows.len());
            for (reference, received_at) in rows {
                let (Ok(parsed), Ok(received_at)) =
                    (Reference::parse(&reference), parse_rfc3339(&received_at))
                else {
                    continue;
                };
                states.push(EmailStates {
                    staff: read_state(conn, &reference, &Notice::Staff.name())?,
                    patient: read_state(conn, &reference, &Notice::Patient.name())?,
                    reference: parsed,
                    received_at,
                });
            }
            Ok(states)
        })
        .await
    }

    async fn release(
        &self,
        reference: &Reference,
        notice: Notice,
        token: &ClaimToken,
    ) -> Result<(), StoreError> {
        let reference = reference.as_str().to_owned();
        let token = token.as_str().to_owned();
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE notices SET claim = NULL, claim_until = NULL
                 WHERE reference = ?1 AND notice = ?2 AND claim = ?3",
                params![reference, notice.name(), token],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn state(
        &self,
        reference: &Reference,
        notice: Notice,
    ) -> Result<Option<NoticeState>, StoreError> {
        let reference = reference.as_str().to_owned();
        self.with_conn(move |conn| {
            if !booking_exists(conn, &reference)? {
                return Ok(None);
            }
            read_state(conn, &reference, &notice.name()).map(Some)
        })
        .await
    }

    async fn owed(
        &self,
        received_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Owed, StoreError> {
        let before = rfc3339(received_before);
        let now = now.unix_timestamp();

        // Settled: sent or failed. A booking owes an email while it
        // has fewer than two settled notices.
        self.bookings_where(
            "SELECT b.reference, b.record FROM bookings b
                         WHERE b.received_at <= ?1 AND b.expires_at > ?2
                           AND (SELECT COUNT(*) FROM notices n
                                WHERE n.reference = b.reference AND n.notice IN ('staff', 'patient')
                                  AND (n.sent_at IS NOT NULL OR n.failed IS NOT NULL)) < 2
                         ORDER BY b.received_at, b.reference",
            vec![before.into(), now.into()],
        )
        .await
    }

    async fn confirmations_owed(
        &self,
        made_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<OwedConfirmations, StoreError> {
        type Row = (
            String,
            String,
            Option<String>,
            i64,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = self
            .with_conn(move |conn| {
                let mut query = conn
                    .prepare(
                        "SELECT b.reference, b.record, b.history, b.confirmation_sequence,
                                n.sent_at, n.failed
                         FROM bookings b LEFT JOIN notices n
                           ON n.reference = b.reference
                          AND n.notice = 'confirmation-' || b.confirmation_sequence
                         WHERE b.confirmation_sequence IS NOT NULL AND b.expires_at > ?1",
                    )
                    .map_err(unavailable)?;
                let rows = query
                    .query_map([now.unix_timestamp()], |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                        ))
                    })
                    .map_err(unavailable)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
            })
            .await?;
        let mut owed = OwedConfirmations::default();
        for (reference, record, history, sequence, sent_at, failed) in rows {
            if sent_at.is_some() || failed.is_some() {
                continue;
            }
            let latest = super::desk::steps_of(history.as_deref()).and_then(|steps| {
                Ok(super::desk::sequence_of(Some(sequence))?
                    .and_then(|sequence| Confirmation::of_history(sequence, &steps)))
            });
            let confirmation = match latest {
                Ok(Some(confirmation)) if confirmation.made_at <= made_before => confirmation,
                Ok(_) => continue,
                Err(_) => {
                    owed.skip_unreadable(&reference);
                    continue;
                }
            };
            match parse_record(&record).and_then(booking_of_record) {
                Ok(booking) => owed.confirmations.push((booking, confirmation)),
                Err(_) => owed.skip_unreadable(&reference),
            }
        }
        owed.confirmations.sort_by_key(|(_, c)| c.made_at);
        Ok(owed)
    }
}
