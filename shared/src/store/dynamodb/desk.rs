//! The desk over DynamoDB.
//!
//! A booking carries its workflow on its own item: `desk_state`, `version`
//! and `history`, and `desk_lane` (`state#specialty`). Two sparse indexes
//! serve the inbox, each filter one `Query` returning full pages: `inbox`
//! (by `desk_state`) and `inbox_by_specialty` (by `desk_lane`), both sorted
//! by `received_at`. A change is one `TransactWriteItems`: the booking's
//! update, conditional on the version the change was made from, and the
//! audit entry's put, conditional on a new id. The audit table is only ever
//! added to.

use super::{booking_of_item, classify, n, s, DynamoBookingStore};
use crate::booking::record::{parse_rfc3339, rfc3339};
use crate::booking::{Booking, Reference, Specialty};
use crate::desk::record::{AuditRecord, StepRecord, AUDIT_TRAIL};
use crate::desk::{
    AuditEntry, AuditId, AuditPage, AuditTrail, Changed, Cursor, DeskRequest, InboxPage,
    InboxQuery, InboxRow, RequestInbox, RequestState, Step,
};
use crate::store::StoreError;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use time::Duration;

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
        ("version".to_owned(), n(0)),
    ]
}

/// The desk's reads and changes over the bookings and audit tables.
#[derive(Debug, Clone)]
pub struct DynamoDesk {
    client: Client,
    bookings_table: String,
    audit_table: String,
    audit_for: Duration,
}

impl DynamoBookingStore {
    /// The desk over these bookings, with its trail in `audit_table`, each
    /// entry kept for `audit_for`.
    pub fn desk(&self, audit_table: impl Into<String>, audit_for: Duration) -> DynamoDesk {
        DynamoDesk {
            client: self.client.clone(),
            bookings_table: self.bookings_table.clone(),
            audit_table: audit_table.into(),
            audit_for,
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
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
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(corrupt),
        None => Ok(None),
        Some(_) => Err(corrupt(format!("{name} is not a number"))),
    }
}

/// The state and version stored on an item (a booking stored before the
/// desk is `new` at version 0).
fn state_of(item: &HashMap<String, AttributeValue>) -> Result<(RequestState, u64), StoreError> {
    let state = match text(item, "desk_state") {
        Some(raw) => RequestState::parse(raw).ok_or_else(|| corrupt("an unknown desk state"))?,
        None => RequestState::New,
    };
    Ok((state, number(item, "version")?.unwrap_or(0)))
}

impl DynamoDesk {
    fn audit_put(&self, entry: &AuditEntry) -> Result<Put, StoreError> {
        let record = AuditRecord::of(entry, entry.at + self.audit_for);
        let item = serde_dynamo::to_item(&record).map_err(corrupt)?;
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
        let limit = limit.clamp(1, InboxQuery::MAX_LIMIT);
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
            .map(|item| {
                let record: AuditRecord = serde_dynamo::from_item(item.clone()).map_err(corrupt)?;
                AuditEntry::try_from(record).map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = match answer.last_evaluated_key() {
            Some(key) => text(key, "id")
                .map(AuditId::parse)
                .transpose()
                .map_err(corrupt)?,
            None => None,
        };
        Ok(AuditPage { entries, next })
    }
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
        let rows = answer
            .items()
            .iter()
            .map(|item| {
                let (state, version) = state_of(item)?;
                Ok(InboxRow {
                    reference: Reference::parse(text(item, "reference").unwrap_or(""))
                        .map_err(corrupt)?,
                    received_at: parse_rfc3339(text(item, "received_at").unwrap_or(""))
                        .map_err(|e| corrupt(e.0))?,
                    state,
                    specialty: Specialty::from_stored(text(item, "specialty").unwrap_or(""))
                        .map_err(corrupt)?,
                    version,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let next = match answer.last_evaluated_key() {
            Some(key) => Some(Cursor {
                received_at: parse_rfc3339(text(key, "received_at").unwrap_or(""))
                    .map_err(|e| corrupt(e.0))?,
                reference: Reference::parse(text(key, "reference").unwrap_or(""))
                    .map_err(corrupt)?,
            }),
            None => None,
        };
        Ok(InboxPage { rows, next })
    }

    async fn open(
        &self,
        reference: &Reference,
        seen: &AuditEntry,
    ) -> Result<Option<DeskRequest>, StoreError> {
        self.record(seen).await?;
        let Some(item) = self.item(reference).await? else {
            return Ok(None);
        };
        let (state, version) = state_of(&item)?;
        let history: Vec<StepRecord> = match item.get("history") {
            Some(list) => serde_dynamo::from_attribute_value(list.clone()).map_err(corrupt)?,
            None => Vec::new(),
        };
        Ok(Some(DeskRequest {
            booking: booking_of_item(item)?,
            state,
            version,
            history: history
                .into_iter()
                .map(Step::try_from)
                .collect::<Result<_, _>>()
                .map_err(corrupt)?,
        }))
    }

    async fn change(
        &self,
        reference: &Reference,
        version: u64,
        step: &Step,
    ) -> Result<Changed, StoreError> {
        let Some(item) = self.item(reference).await? else {
            return Ok(Changed::NotFound);
        };
        let (state, stored_version) = state_of(&item)?;
        if (state, stored_version) != (step.from, version) {
            return Ok(Changed::Conflict {
                state,
                version: stored_version,
            });
        }
        let specialty =
            Specialty::from_stored(text(&item, "specialty").unwrap_or("")).map_err(corrupt)?;
        let step_value =
            serde_dynamo::to_attribute_value(vec![StepRecord::from(step)]).map_err(corrupt)?;
        let version_value = i64::try_from(version).map_err(corrupt)?;
        // A booking stored before the desk has no version: it is version 0.
        let condition = if version == 0 {
            "attribute_exists(#reference) AND (attribute_not_exists(version) OR version = :version)"
        } else {
            "attribute_exists(#reference) AND version = :version"
        };
        let update = built(
            Update::builder()
                .table_name(&self.bookings_table)
                .key("reference", s(reference.as_str()))
                .update_expression(
                    "SET desk_state = :to, desk_lane = :lane, version = :next, \
                     history = list_append(if_not_exists(history, :none), :step)",
                )
                .condition_expression(condition)
                .expression_attribute_names("#reference", "reference")
                .expression_attribute_values(":to", s(step.to().as_str()))
                .expression_attribute_values(":lane", s(&lane(step.to(), &specialty)))
                .expression_attribute_values(":next", n(version_value + 1))
                .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
                .expression_attribute_values(":step", step_value)
                .expression_attribute_values(":version", n(version_value))
                .build(),
        )?;
        let audit = self.audit_put(&AuditEntry::changed(reference, step))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(audit).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Changed::Applied {
                version: version + 1,
            }),
            Err(SdkError::ServiceError(service))
                if matches!(
                    service.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                // Someone changed it first (or it expired): tell what it is now.
                match self.item(reference).await? {
                    Some(item) => {
                        let (state, version) = state_of(&item)?;
                        Ok(Changed::Conflict { state, version })
                    }
                    None => Ok(Changed::NotFound),
                }
            }
            Err(error) => Err(classify(&error)),
        }
    }
}

#[async_trait]
impl AuditTrail for DynamoDesk {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let put = self.audit_put(entry)?;
        self.client
            .put_item()
            .table_name(put.table_name())
            .set_item(Some(put.item().clone()))
            .set_condition_expression(put.condition_expression().map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
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
