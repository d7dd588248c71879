//! The desk over DynamoDB.
//!
//! A booking carries its workflow on its own item: `desk_state`, `desk_version`
//! and `history`, and `desk_lane` (`state#specialty`). Two sparse indexes
//! serve the inbox, each filter one `Query` returning full pages: `inbox`
//! (by `desk_state`) and `inbox_by_specialty` (by `desk_lane`), both sorted
//! by `received_at`. A change is one `TransactWriteItems`: the booking's
//! update, conditional on the version the change was made from, and the
//! audit entry's put, conditional on a new id. The audit table is only ever
//! added to.

use super::{
    booking_of_item, classify, conflict_backoff, n, s, unless_condition_failed, DynamoBookingStore,
    CONFLICT_ATTEMPTS,
};
use crate::booking::record::{parse_rfc3339, rfc3339};
use crate::booking::{Booking, Reference, Specialty};
use crate::desk::record::{AuditRecord, StepRecord, AUDIT_TRAIL};
use crate::desk::{
    no_randomness, AuditAction, AuditEntry, AuditId, AuditPage, AuditTrail, Changed, Cursor,
    DeskRequest, InboxPage, InboxQuery, InboxRow, RequestInbox, RequestState, Staff, Step,
    AUDIT_PAGE_MAX,
};
use crate::store::StoreError;
use crate::time_source::Clock;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use sha2::Digest;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// The inbox index by state.
pub const INBOX_INDEX: &str = "inbox";
/// The inbox index by state and specialty.
pub const INBOX_BY_SPECIALTY_INDEX: &str = "inbox_by_specialty";
/// The audit table's index by request.
pub const AUDIT_BY_REFERENCE_INDEX: &str = "by_reference";

/// The lane of a request in a state: what `inbox_by_specialty` is keyed by.
fn lane(state: RequestState, specialty: &Specialty) -> String {
    format!("{}#{}", state.as_str(), specialty.as_str())
}

/// The desk's attributes of a booking just stored: new, version 0.
pub(super) fn new_request_attributes(booking: &Booking) -> [(String, AttributeValue); 3] {
    let state = RequestState::New;
    [
        ("desk_state".to_owned(), s(state.as_str())),
        (
            "desk_lane".to_owned(),
            s(&lane(state, &booking.details.specialty)),
        ),
        ("desk_version".to_owned(), n(0)),
    ]
}

/// The desk's reads and changes over the bookings and audit tables.
#[derive(Debug, Clone)]
pub struct DynamoDesk {
    client: Client,
    bookings_table: String,
    guards_table: String,
    audit_table: String,
    audit_for: Duration,
    clock: Clock,
}

impl DynamoBookingStore {
    /// The desk over these bookings, with its trail in `audit_table`, each
    /// entry kept for `audit_for` from when `clock` says it was made.
    pub fn desk(
        &self,
        audit_table: impl Into<String>,
        audit_for: Duration,
        clock: Clock,
    ) -> DynamoDesk {
        DynamoDesk {
            client: self.client.clone(),
            bookings_table: self.bookings_table.clone(),
            guards_table: self.guards_table.clone(),
            audit_table: audit_table.into(),
            audit_for,
            clock,
        }
    }
}

/// Stored desk data that does not read back. The parser's own message is
/// not kept: it may quote a note, which may say something clinical.
fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("stored desk data is unreadable: {what}"))
}

/// Whether an item is past its retention at `now` (DynamoDB's TTL removes
/// it within days, not at once).
fn expired(item: &HashMap<String, AttributeValue>, now: OffsetDateTime) -> bool {
    matches!(item.get("expires_at"), Some(AttributeValue::N(v))
        if v.parse::<i64>().is_ok_and(|at| at < now.unix_timestamp()))
}

fn built<T>(result: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Misconfigured(e.to_string()))
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Result<Option<u64>, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|_| corrupt(format!("{name} is not a whole number"))),
        None => Ok(None),
        Some(_) => Err(corrupt(format!("{name} is not a number"))),
    }
}

/// A request's moves, oldest first, as its item holds them.
pub(super) fn history_of(item: &HashMap<String, AttributeValue>) -> Result<Vec<Step>, StoreError> {
    let records: Vec<StepRecord> = match item.get("history") {
        Some(list) => serde_dynamo::from_attribute_value(list.clone())
            .map_err(|_| corrupt("a request's history"))?,
        None => Vec::new(),
    };
    records
        .into_iter()
        .map(Step::try_from)
        .collect::<Result<_, _>>()
        .map_err(|_| corrupt("a step of a request's history"))
}

/// The state and version stored on an item (a booking stored before the
/// desk is `new` at version 0).
fn state_of(item: &HashMap<String, AttributeValue>) -> Result<(RequestState, u64), StoreError> {
    let state = match text(item, "desk_state") {
        Some(raw) => RequestState::parse(raw).ok_or_else(|| corrupt("an unknown desk state"))?,
        None => RequestState::New,
    };
    Ok((state, number(item, "desk_version")?.unwrap_or(0)))
}

impl DynamoDesk {
    /// The put of `entry`, made at `now`, kept for the trail's retention
    /// from then.
    fn audit_put(&self, entry: &AuditEntry, now: OffsetDateTime) -> Result<Put, StoreError> {
        let record = AuditRecord::of(entry, now + self.audit_for);
        let item = serde_dynamo::to_item(&record).map_err(|_| corrupt("an audit entry"))?;
        built(
            Put::builder()
                .table_name(&self.audit_table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(id)")
                .build(),
        )
    }

    async fn item(
        &self,
        reference: &Reference,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        super::booking_item(&self.client, &self.bookings_table, reference).await
    }

    async fn audit_query(
        &self,
        reference: Option<&Reference>,
        after: Option<&AuditId>,
        limit: u16,
    ) -> Result<AuditPage, StoreError> {
        let limit = limit.clamp(1, AUDIT_PAGE_MAX);
        let now = self.clock.now();
        let mut query = self
            .client
            .query()
            .table_name(&self.audit_table)
            .scan_index_forward(false)
            .limit(i32::from(limit));
        let mut start = HashMap::new();
        query = match reference {
            Some(reference) => {
                start.insert("reference".to_owned(), s(reference.as_str()));
                query
                    .index_name(AUDIT_BY_REFERENCE_INDEX)
                    .key_condition_expression("#reference = :reference")
                    .expression_attribute_names("#reference", "reference")
                    .expression_attribute_values(":reference", s(reference.as_str()))
            }
            None => query
                .key_condition_expression("trail = :trail")
                .expression_attribute_values(":trail", s(AUDIT_TRAIL)),
        };
        if let Some(after) = after {
            start.insert("trail".to_owned(), s(AUDIT_TRAIL));
            start.insert("id".to_owned(), s(after.as_str()));
            query = query.set_exclusive_start_key(Some(start));
        }
        let answer = query.send().await.map_err(|e| classify(&e))?;
        let entries = answer
            .items()
            .iter()
            .filter(|item| !expired(item, now))
            .map(|item| {
                let record: AuditRecord =
                    serde_dynamo::from_item(item.clone()).map_err(|_| corrupt("an audit entry"))?;
                AuditEntry::try_from(record).map_err(|_| corrupt("an audit entry"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = match answer.last_evaluated_key() {
            Some(key) => text(key, "id")
                .map(AuditId::parse)
                .transpose()
                .map_err(|_| corrupt("an audit id"))?,
            None => None,
        };
        Ok(AuditPage { entries, next })
    }
}

impl DynamoDesk {
    /// Puts every booking stored before the desk into its inbox as new
    /// (version 0), one conditional update each, so none is missed or set
    /// back; answers how many it moved. Reads only keys and specialties.
    pub async fn backfill(&self) -> Result<u64, StoreError> {
        let mut moved = 0;
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.bookings_table)
                .filter_expression("attribute_not_exists(desk_state)")
                .projection_expression("#reference, specialty")
                .expression_attribute_names("#reference", "reference")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            for item in page.items() {
                let (Some(reference), Some(specialty)) =
                    (text(item, "reference"), text(item, "specialty"))
                else {
                    continue;
                };
                let specialty =
                    Specialty::from_stored(specialty).map_err(|_| corrupt("a specialty"))?;
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.bookings_table)
                    .key("reference", s(reference))
                    .update_expression(
                        "SET desk_state = :new, desk_lane = :lane, desk_version = :zero",
                    )
                    .condition_expression(
                        "attribute_exists(#reference) AND attribute_not_exists(desk_state)",
                    )
                    .expression_attribute_names("#reference", "reference")
                    .expression_attribute_values(":new", s(RequestState::New.as_str()))
                    .expression_attribute_values(":lane", s(&lane(RequestState::New, &specialty)))
                    .expression_attribute_values(":zero", n(0))
                    .send()
                    .await;
                // Moved meanwhile (or expired): nothing to do.
                if unless_condition_failed(result)?.is_some() {
                    moved += 1;
                }
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(moved),
            }
        }
    }
}

/// What a transaction's cancellation says about a change.
enum Cancelled {
    /// The booking's condition failed: it is now as this item says (or gone).
    Lost(Option<HashMap<String, AttributeValue>>),
    /// Another transaction held the item: try again.
    Raced,
    /// Anything else (the audit put's condition, throttling): an error.
    Failed(String),
}

fn cancelled(
    error: &SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<Cancelled> {
    let SdkError::ServiceError(service) = error else {
        return None;
    };
    let TransactWriteItemsError::TransactionCanceledException(e) = service.err() else {
        return None;
    };
    let reasons = e.cancellation_reasons();
    let code = |slot: usize| reasons.get(slot).and_then(|r| r.code());
    Some(match (code(0), code(1)) {
        (Some("ConditionalCheckFailed"), _) => {
            Cancelled::Lost(reasons.first().and_then(|r| r.item().cloned()))
        }
        (Some("TransactionConflict"), _) | (_, Some("TransactionConflict")) => Cancelled::Raced,
        (first, second) => Cancelled::Failed(format!(
            "change cancelled: {} / {}",
            first.unwrap_or("None"),
            second.unwrap_or("None")
        )),
    })
}

#[async_trait]
impl RequestInbox for DynamoDesk {
    async fn page(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let (index, partition_name, partition) = match &query.specialty {
            Some(specialty) => (
                INBOX_BY_SPECIALTY_INDEX,
                "desk_lane",
                lane(query.state, specialty),
            ),
            None => (INBOX_INDEX, "desk_state", query.state.as_str().to_owned()),
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.bookings_table)
            .index_name(index)
            .key_condition_expression("#partition = :partition")
            .expression_attribute_names("#partition", partition_name)
            .expression_attribute_values(":partition", s(&partition))
            .scan_index_forward(false)
            .limit(i32::from(query.limit.clamp(1, InboxQuery::MAX_LIMIT)));
        if let Some(after) = &query.after {
            request = request.set_exclusive_start_key(Some(HashMap::from([
                (partition_name.to_owned(), s(&partition)),
                ("received_at".to_owned(), s(&rfc3339(after.received_at))),
                ("reference".to_owned(), s(after.reference.as_str())),
            ])));
        }
        let answer = request.send().await.map_err(|e| classify(&e))?;
        let now = self.clock.now();
        let rows = answer
            .items()
            .iter()
            // Past its retention, waiting for the TTL: not listed. (A page
            // may then hold fewer rows than asked for; `next` still holds.)
            .filter(|item| !expired(item, now))
            .map(|item| {
                let (state, version) = state_of(item)?;
                Ok(InboxRow {
                    reference: Reference::parse(text(item, "reference").unwrap_or(""))
                        .map_err(|_| corrupt("a reference"))?,
                    received_at: parse_rfc3339(text(item, "received_at").unwrap_or(""))
                        .map_err(|_| corrupt("a time"))?,
                    state,
                    specialty: Specialty::from_stored(text(item, "specialty").unwrap_or(""))
                        .map_err(|_| corrupt("a specialty"))?,
                    version,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = match answer.last_evaluated_key() {
            Some(key) => Some(Cursor {
                received_at: parse_rfc3339(text(key, "received_at").unwrap_or(""))
                    .map_err(|_| corrupt("a time"))?,
                reference: Reference::parse(text(key, "reference").unwrap_or(""))
                    .map_err(|_| corrupt("a reference"))?,
            }),
            None => None,
        };
        Ok(InboxPage { rows, next })
    }

    async fn open(
        &self,
        reference: &Reference,
        by: &Staff,
    ) -> Result<Option<DeskRequest>, StoreError> {
        self.record(by, AuditAction::Viewed, Some(reference))
            .await?;
        let now = self.clock.now();
        let Some(item) = self
            .item(reference)
            .await?
            .filter(|item| !expired(item, now))
        else {
            return Ok(None);
        };
        let (state, version) = state_of(&item)?;
        let history = history_of(&item)?;
        let emails = crate::desk::inbox::listed_emails(
            |notice| super::notices::notice_state(&item, notice),
            super::notices::confirmation_sequence(&item)?,
        );
        let repeat_of = match item.get(super::REPEAT_OF) {
            Some(AttributeValue::S(first)) => Some(
                Reference::parse(first).map_err(|_| corrupt("the request a booking repeats"))?,
            ),
            Some(_) => return Err(corrupt("the request a booking repeats")),
            None => None,
        };
        Ok(Some(DeskRequest {
            repeat_of,
            emails,
            booking: booking_of_item(item)?,
            state,
            version,
            history,
        }))
    }

    async fn change(
        &self,
        reference: &Reference,
        version: u64,
        step: &Step,
    ) -> Result<Changed, StoreError> {
        // Only what the change needs: never the patient's details.
        let item = self
            .client
            .get_item()
            .table_name(&self.bookings_table)
            .key("reference", s(reference.as_str()))
            .projection_expression(
                "desk_state, desk_version, specialty, expires_at, confirmation_sequence",
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(&e))?
            .item;
        let now = self.clock.now();
        let Some(item) = item.filter(|item| !expired(item, now)) else {
            return Ok(Changed::NotFound);
        };
        let (state, stored_version) = state_of(&item)?;
        if (state, stored_version) != (step.from(), version) {
            return Ok(Changed::Conflict {
                state,
                version: stored_version,
            });
        }
        let specialty = Specialty::from_stored(text(&item, "specialty").unwrap_or(""))
            .map_err(|_| corrupt("a specialty"))?;
        let step_value = serde_dynamo::to_attribute_value(vec![StepRecord::from(step)])
            .map_err(|_| corrupt("a step"))?;
        let version_value = i64::try_from(version).map_err(|_| corrupt("a version"))?;
        // A booking stored before the desk has no version: it is version 0.
        let condition = if version == 0 {
            "attribute_exists(#reference) AND expires_at >= :now \
             AND (attribute_not_exists(desk_version) OR desk_version = :version)"
        } else {
            "attribute_exists(#reference) AND expires_at >= :now AND desk_version = :version"
        };
        // A change that owes the patient a confirmation numbers it and
        // marks it owed, in the same write: the stream passes that record.
        // Any other change takes the mark down, as every later write does.
        let confirmation = crate::notify::Confirmation::next_sequence(
            super::notices::confirmation_sequence(&item)?,
            step,
        );
        let mut expression = "SET desk_state = :to, desk_lane = :lane, desk_version = :next, \
             history = list_append(if_not_exists(history, :none), :step)"
            .to_owned();
        let mut names = HashMap::from([("#owed".to_owned(), super::CONFIRMATION_OWED.to_owned())]);
        match confirmation {
            Some(_) => {
                expression.push_str(", #sequence = :sequence, #owed = :sequence");
                names.insert(
                    "#sequence".to_owned(),
                    super::CONFIRMATION_SEQUENCE.to_owned(),
                );
            }
            None => expression.push_str(" REMOVE #owed"),
        }
        let update = built(
            Update::builder()
                .table_name(&self.bookings_table)
                .key("reference", s(reference.as_str()))
                .update_expression(expression)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(confirmation.map(|sequence| {
                    HashMap::from([(":sequence".to_owned(), n(i64::from(sequence)))])
                }))
                .condition_expression(condition)
                .expression_attribute_names("#reference", "reference")
                .expression_attribute_values(":to", s(step.to().as_str()))
                .expression_attribute_values(":lane", s(&lane(step.to(), &specialty)))
                .expression_attribute_values(":next", n(version_value + 1))
                .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
                .expression_attribute_values(":step", step_value)
                .expression_attribute_values(":version", n(version_value))
                .expression_attribute_values(":now", n(now.unix_timestamp()))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build(),
        )?;
        let entry = AuditEntry::changed(now, reference, step).map_err(no_randomness)?;
        let audit = self.audit_put(&entry, now)?;
        let token = hex::encode(&sha2::Sha256::digest(entry.id.as_str().as_bytes())[..18]);
        for attempt in 0..CONFLICT_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(update.clone()).build())
                .transact_items(TransactWriteItem::builder().put(audit.clone()).build())
                // A retry the SDK makes of a change DynamoDB applied is the
                // same change, not a conflict with itself.
                .client_request_token(&token)
                .send()
                .await;
            let error = match result {
                Ok(_) => {
                    return Ok(Changed::Applied {
                        version: version + 1,
                    })
                }
                Err(error) => error,
            };
            match cancelled(&error) {
                // Someone changed it first: what it is now came back with the refusal.
                Some(Cancelled::Lost(Some(current))) if !expired(&current, now) => {
                    let (state, version) = state_of(&current)?;
                    return Ok(Changed::Conflict { state, version });
                }
                Some(Cancelled::Lost(_)) => return Ok(Changed::NotFound),
                Some(Cancelled::Raced) => {
                    tracing::info!(attempt, "desk change raced another transaction, retrying");
                    tokio::time::sleep(conflict_backoff(attempt, getrandom::u32().unwrap_or(0)))
                        .await;
                }
                Some(Cancelled::Failed(why)) => return Err(StoreError::Unavailable(why)),
                None => return Err(classify(&error)),
            }
        }
        Err(StoreError::Unavailable(
            "the change kept conflicting with other transactions".into(),
        ))
    }
}

#[async_trait]
impl AuditTrail for DynamoDesk {
    async fn record(
        &self,
        by: &Staff,
        action: AuditAction,
        reference: Option<&Reference>,
    ) -> Result<AuditEntry, StoreError> {
        let now = self.clock.now();
        let entry =
            AuditEntry::new(now, by.clone(), action, reference.cloned()).map_err(no_randomness)?;
        let put = self.audit_put(&entry, now)?;
        self.client
            .put_item()
            .table_name(put.table_name())
            .set_item(Some(put.item().clone()))
            .set_condition_expression(put.condition_expression().map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify(&e))?;
        Ok(entry)
    }

    async fn of_request(
        &self,
        reference: &Reference,
        after: Option<&AuditId>,
        limit: u16,
    ) -> Result<AuditPage, StoreError> {
        self.audit_query(Some(reference), after, limit).await
    }

    async fn whole(&self, after: Option<&AuditId>, limit: u16) -> Result<AuditPage, StoreError> {
        self.audit_query(None, after, limit).await
    }
}

/// An erasure in one `TransactWriteItems`: the booking's delete (on
/// condition that it exists), each guard's delete, and the audit entry's
/// put. A transaction that raced another is tried again.
#[async_trait]
impl crate::rights::Eraser for DynamoDesk {
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
        for attempt in 0..CONFLICT_ATTEMPTS {
            // Not while one of its emails is being sent: that email would
            // land after the erasure. A confirmation's claim is named by its
            // number, so the item is read first: any claim live now refuses,
            // and the write is conditional on the claims that could still be
            // taken (the three kinds and the latest confirmation) and on the
            // latest confirmation's number.
            let Some(item) =
                super::booking_item(&self.client, &self.bookings_table, reference).await?
            else {
                return Ok(None);
            };
            let sequence = super::notices::confirmation_sequence(&item)?;
            if let Some(until) = live_claim(&item, sequence, now) {
                return Err(crate::rights::erase::sending(reference.as_str(), until));
            }
            let items = self.erasure_items(reference, guards, &entry, sequence, now)?;
            // One token per transaction as written: a retry of the same
            // write is idempotent, a write with a newer condition is new.
            let token = hex::encode(
                &sha2::Sha256::digest(format!("{}:{sequence:?}", entry.id.as_str()).as_bytes())
                    [..18],
            );
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .client_request_token(&token)
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Some(entry)),
                Err(error) => error,
            };
            let SdkError::ServiceError(service) = &error else {
                return Err(classify(&error));
            };
            let TransactWriteItemsError::TransactionCanceledException(e) = service.err() else {
                return Err(classify(&error));
            };
            let codes: Vec<&str> = e
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None"))
                .collect();
            if codes.first() == Some(&"ConditionalCheckFailed") {
                // Gone, one of its emails claimed, or a confirmation newly
                // owed: the item says which, and the next read says
                // whether it is gone.
                let found = e.cancellation_reasons().first().and_then(|r| r.item());
                let claimed = match found {
                    Some(item) => {
                        live_claim(item, super::notices::confirmation_sequence(item)?, now)
                    }
                    None => None,
                };
                if let Some(until) = claimed {
                    return Err(crate::rights::erase::sending(reference.as_str(), until));
                }
                tracing::info!(attempt, "the request changed under its erasure, retrying");
                continue;
            }
            if !codes.contains(&"TransactionConflict") {
                return Err(StoreError::Unavailable(format!(
                    "erasure cancelled: {}",
                    codes.join(" / ")
                )));
            }
            tracing::info!(attempt, "erasure raced another transaction, retrying");
            tokio::time::sleep(conflict_backoff(attempt, getrandom::u32().unwrap_or(0))).await;
        }
        Err(StoreError::Unavailable(
            "the erasure kept conflicting with other transactions".into(),
        ))
    }
}

impl DynamoDesk {
    /// An erasure's one transaction: the booking's item, deleted while no
    /// email of it can be claimed and no newer confirmation is owed; its
    /// guards; and the audit entry in its place.
    fn erasure_items(
        &self,
        reference: &Reference,
        guards: &[String],
        entry: &AuditEntry,
        sequence: Option<u32>,
        now: time::OffsetDateTime,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut delete = Delete::builder()
            .table_name(&self.bookings_table)
            .key("reference", s(reference.as_str()))
            .expression_attribute_names("#reference", "reference")
            .expression_attribute_names("#sequence", super::CONFIRMATION_SEQUENCE)
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut condition = "attribute_exists(#reference)".to_owned();
        condition.push_str(match sequence {
            Some(_) => " AND #sequence = :sequence",
            None => " AND attribute_not_exists(#sequence)",
        });
        let claimable = crate::notify::Notice::KINDS
            .into_iter()
            .chain(sequence.map(crate::notify::Notice::Confirmation));
        for (i, notice) in claimable.enumerate() {
            let name = format!("#claim{i}");
            condition.push_str(&format!(
                " AND (attribute_not_exists({name}) OR {name} < :now)"
            ));
            delete = delete
                .expression_attribute_names(name, super::notices::claim_until_attribute(notice));
        }
        if let Some(sequence) = sequence {
            delete = delete.expression_attribute_values(":sequence", n(i64::from(sequence)));
        }
        let mut items = vec![TransactWriteItem::builder()
            .delete(built(delete.condition_expression(condition).build())?)
            .build()];
        for key in guards {
            items.push(
                TransactWriteItem::builder()
                    .delete(built(
                        Delete::builder()
                            .table_name(&self.guards_table)
                            .key("pk", s(key))
                            .build(),
                    )?)
                    .build(),
            );
        }
        items.push(
            TransactWriteItem::builder()
                .put(self.audit_put(entry, now)?)
                .build(),
        );
        Ok(items)
    }
}

/// Until when the latest of a booking item's live email claims holds (any
/// kind, any confirmation up to the latest, `sequence`), if one does at
/// `now`.
fn live_claim(
    item: &HashMap<String, AttributeValue>,
    sequence: Option<u32>,
    now: time::OffsetDateTime,
) -> Option<i64> {
    crate::desk::inbox::every_email(sequence)
        .filter_map(|notice| super::notices::notice_state(item, notice).claimed_until)
        .filter(|until| *until >= now.unix_timestamp())
        .max()
}
