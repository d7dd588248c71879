//! The DynamoDB adapter: one `TransactWriteItems` per accepted booking.
//!
//! The transaction holds the booking (conditional on a new reference), the
//! idempotency record and the fingerprint record (each conditional on being
//! absent or expired, returning the old item when not) and the two rate
//! counters (each conditional on being under the limit). Its cancellation
//! reasons are read into `Conflicts`, which decides the outcome as for every
//! adapter. Only a repeat costs a second round trip: a keyed repeat is
//! written again without the fingerprint and linked to the first booking,
//! and a keyless duplicate charges the rate counters alone.

mod content;
mod desk;
mod marketing;
mod notices;

pub use content::DynamoContentStore;
pub use desk::DynamoDesk;
pub use notices::DynamoNoticeLedger;

use super::{
    Allowance, BookingStore, Conflicts, GuardHit, InsertOutcome, NewBooking, StoreError, Verdict,
};
use crate::booking::record::{parse_rfc3339, rfc3339, BookingRecord, CorruptRecord};
use crate::booking::{Booking, Fingerprint, Reference, Withheld};
use crate::rights::marketing::OptIn;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;

/// How often a transaction that lost a race with another is tried again.
pub(super) const CONFLICT_ATTEMPTS: u32 = 6;

/// How many of a booking's attempts may race on its address's
/// acknowledgement counters before it is stored without them.
const ADDRESS_RACES: u32 = 2;

/// Bookings and guards in two DynamoDB tables, and the marketing register
/// in a third.
#[derive(Debug, Clone)]
pub struct DynamoBookingStore {
    client: Client,
    bookings_table: String,
    guards_table: String,
    marketing_table: Option<String>,
}

impl DynamoBookingStore {
    /// A store over `client`, which `main` builds once.
    pub fn new(
        client: Client,
        bookings_table: impl Into<String>,
        guards_table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            bookings_table: bookings_table.into(),
            guards_table: guards_table.into(),
            marketing_table: None,
        }
    }

    /// The same store, registering new bookings' opt-ins to the clinic's
    /// news in `table` (a store that takes bookings needs one; one that
    /// only reads them does not).
    pub fn with_marketing_table(mut self, table: impl Into<String>) -> Self {
        self.marketing_table = Some(table.into());
        self
    }

    /// Puts a stored booking's opt-ins in the register, each its own put
    /// (the latest opt-in wins, but never over a withdrawal's marker),
    /// outside the booking's transaction: an item anyone who knows the
    /// address can write to must not be able to make a patient's booking
    /// conflict. One that cannot be put is logged and counted; the booking
    /// keeps the opt-in, and `tables backfill` registers it once the cause
    /// is fixed.
    async fn register(&self, new: &NewBooking) {
        for opt_in in OptIn::of(new) {
            let result = match (self.marketing(), serde_dynamo::to_item(opt_in.record())) {
                // Withdrawn before (the condition fails): the objection stays.
                (Ok(table), Ok(item)) => unless_condition_failed(
                    self.client
                        .put_item()
                        .table_name(table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(withdrawn_at)")
                        .send()
                        .await,
                )
                .map(|_| ()),
                (Err(e), _) => Err(e),
                (_, Err(e)) => Err(StoreError::Corrupt(e.to_string())),
            };
            if let Err(error) = result {
                tracing::error!(
                    reference = %new.booking.reference,
                    channel = opt_in.channel.as_str(),
                    %error,
                    "an opt-in to the clinic's news was not registered"
                );
                println!(
                    "{}",
                    crate::metric::marketing_not_registered(new.now, opt_in.channel.as_str())
                );
            }
        }
    }

    /// The claims and sent marks of the emails of these bookings.
    pub fn notices(&self) -> DynamoNoticeLedger {
        DynamoNoticeLedger::new(self.client.clone(), &self.bookings_table)
    }

    fn guard_put(&self, pk: &str, new: &NewBooking) -> Result<TransactWriteItem, StoreError> {
        let item = HashMap::from([
            ("pk".to_owned(), s(pk)),
            ("reference".to_owned(), s(new.booking.reference.as_str())),
            (
                "received_at".to_owned(),
                s(&rfc3339(new.booking.received_at)),
            ),
            ("fingerprint".to_owned(), s(new.fingerprint.as_str())),
            (
                "expires_at".to_owned(),
                n(new.guard_expires_at().unix_timestamp()),
            ),
        ]);
        let put = Put::builder()
            .table_name(&self.guards_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(new.now.unix_timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Misconfigured(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The transaction's items and the index of each guard within them.
    /// A repeat (`new.repeat_of` set) links to the first booking and
    /// leaves its fingerprint record as it is.
    fn transaction(&self, new: &NewBooking) -> Result<(Vec<TransactWriteItem>, Slots), StoreError> {
        let record = BookingRecord::from(&new.booking);
        let mut item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.extend(desk::new_request_attributes(&new.booking));
        for tag in new.subject.each() {
            item.insert(tag.identifier().attribute().to_owned(), s(tag.as_str()));
        }
        if let Some(first) = &new.repeat_of {
            item.insert(REPEAT_OF.to_owned(), s(first.as_str()));
        }
        let booking = Put::builder()
            .table_name(&self.bookings_table)
            .set_item(Some(item))
            // `reference` is a reserved word in DynamoDB expressions.
            .condition_expression("attribute_not_exists(#reference)")
            .expression_attribute_names("#reference", "reference")
            .build()
            .map_err(|e| StoreError::Misconfigured(e.to_string()))?;
        // The booking's put is item BOOKING_SLOT, the first.
        let mut items = vec![TransactWriteItem::builder().put(booking).build()];
        let mut slots = Slots::default();
        if let Some(pk) = new.idempotency_guard_key() {
            slots.idempotency = Some(items.len());
            items.push(self.guard_put(&pk, new)?);
        }
        if new.repeat_of.is_none() {
            slots.fingerprint = Some(items.len());
            items.push(self.guard_put(&new.fingerprint_guard_key(), new)?);
        }
        if let Some(rate) = &new.rate {
            slots.rate = Some(items.len());
            items.extend(self.counter_updates(rate)?);
        }
        if let Some(acks) = &new.acknowledgements {
            slots.acknowledgements = Some(items.len());
            items.extend(self.counter_updates(acks)?);
        }
        Ok((items, slots))
    }

    /// One conditional update per counter of an allowance, in the order of
    /// its windows.
    fn counter_updates(&self, rate: &Allowance) -> Result<Vec<TransactWriteItem>, StoreError> {
        rate.keys()
            .iter()
            .zip(rate.windows)
            .map(|(key, window)| {
                let update = Update::builder()
                    .table_name(&self.guards_table)
                    .key("pk", s(key))
                    .update_expression("SET expires_at = :end ADD hits :one")
                    .condition_expression("attribute_not_exists(hits) OR hits < :limit")
                    .expression_attribute_values(":end", n(window.end.unix_timestamp()))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":limit", n(i64::from(rate.limit)))
                    .build()
                    .map_err(|e| StoreError::Misconfigured(e.to_string()))?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }

    /// Charges a keyless duplicate to its sender's counters, so that the
    /// counters cannot tell a duplicate from a new request either.
    async fn charge_duplicate(&self, new: &NewBooking) -> Result<InsertOutcome, StoreError> {
        let Some(rate) = &new.rate else {
            return Ok(InsertOutcome::Duplicate);
        };
        let updates = self.counter_updates(rate)?;
        for attempt in 0..CONFLICT_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(updates.clone()))
                .client_request_token(format!("{}-dup", new.booking.reference))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(InsertOutcome::Duplicate),
                Err(error) => error,
            };
            match cancellation_reasons(&error) {
                Some(reasons)
                    if reasons
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed")) =>
                {
                    let full = [0, 1].map(|slot| failed(&reasons, slot));
                    return Ok(InsertOutcome::RateLimited {
                        until: rate.retry_at(full),
                    });
                }
                // Another request from the same source holds a counter: as
                // for a booking, wait a little and try again.
                Some(_) => {
                    tokio::time::sleep(conflict_backoff(attempt, getrandom::u32().unwrap_or(0)))
                        .await;
                }
                None => return Err(classify(&error)),
            }
        }
        Err(StoreError::Unavailable(
            "the rate counters kept conflicting with other requests".into(),
        ))
    }
}

/// The attribute that links a repeated request to the first booking with
/// the same details.
pub(crate) const REPEAT_OF: &str = "repeat_of";

/// The attribute holding the sequence of a request's latest appointment
/// confirmation (`notify::confirmation`), set by the desk's change that
/// owes it.
pub const CONFIRMATION_SEQUENCE: &str = "confirmation_sequence";

/// The attribute that says a confirmation is owed and not yet claimed,
/// holding its sequence: set by the desk's change that owes it, removed by
/// the confirmation's first claim. The notifier's stream filter passes the
/// MODIFY records whose new image holds it, so the writes of the claims,
/// marks and delivery events that follow pass no record.
pub const CONFIRMATION_OWED: &str = "confirmation_owed";

/// Where the booking's put sits in the transaction: first.
const BOOKING_SLOT: usize = 0;

/// Where each guard of the transaction sits (after the booking's put, at
/// `BOOKING_SLOT`), to read its cancellation reason. `rate` and
/// `acknowledgements` are the first of their two counters.
#[derive(Debug, Default)]
struct Slots {
    idempotency: Option<usize>,
    fingerprint: Option<usize>,
    rate: Option<usize>,
    acknowledgements: Option<usize>,
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A booking's item, read consistently (right after a write, it is there).
async fn booking_item(
    client: &Client,
    table: &str,
    reference: &Reference,
) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
    Ok(client
        .get_item()
        .table_name(table)
        .key("reference", s(reference.as_str()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| classify(&e))?
        .item)
}

/// A booking item read back as the booking it holds (its email claims and
/// marks aside).
fn booking_of_item(item: HashMap<String, AttributeValue>) -> Result<Booking, StoreError> {
    let record: BookingRecord = serde_dynamo::from_item(item)
        .map_err(|_| StoreError::Corrupt(CorruptRecord::unshaped().0))?;
    Booking::try_from(record).map_err(|e| StoreError::Corrupt(e.0))
}

/// The reasons a transaction was cancelled, or `None` for any other failure.
fn cancellation_reasons(
    error: &SdkError<TransactWriteItemsError, aws_smithy_runtime_api::http::Response>,
) -> Option<Vec<CancellationReason>> {
    match error {
        SdkError::ServiceError(service) => match service.err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                Some(cancelled.cancellation_reasons().to_vec())
            }
            _ => None,
        },
        _ => None,
    }
}

fn failed(reasons: &[CancellationReason], slot: usize) -> bool {
    reasons.get(slot).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
}

fn guard_hit(reasons: &[CancellationReason], slot: usize) -> Result<Option<GuardHit>, StoreError> {
    if !failed(reasons, slot) {
        return Ok(None);
    }
    let item = reasons[slot]
        .item()
        .ok_or_else(|| StoreError::Corrupt("a guard's condition failed without its item".into()))?;
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.as_str()),
        _ => Err(StoreError::Corrupt(format!("guard without {name}"))),
    };
    Ok(Some(GuardHit {
        reference: Reference::parse(text("reference")?).map_err(StoreError::Corrupt)?,
        received_at: parse_rfc3339(text("received_at")?).map_err(|e| StoreError::Corrupt(e.0))?,
        fingerprint: Fingerprint::from_stored(text("fingerprint")?.to_owned()),
    }))
}

fn conflicts(reasons: &[CancellationReason], slots: &Slots) -> Result<Conflicts, StoreError> {
    Ok(Conflicts {
        idempotency: match slots.idempotency {
            Some(slot) => guard_hit(reasons, slot)?,
            None => None,
        },
        fingerprint: match slots.fingerprint {
            Some(slot) => guard_hit(reasons, slot)?,
            None => None,
        },
        rate_full: match slots.rate {
            Some(first) => [failed(reasons, first), failed(reasons, first + 1)],
            None => [false; 2],
        },
        acknowledgements_full: slots
            .acknowledgements
            .is_some_and(|first| failed(reasons, first) || failed(reasons, first + 1)),
        reference_taken: failed(reasons, BOOKING_SLOT),
    })
}

/// How long to wait before attempt `attempt + 1` of a transaction that
/// raced another: 10 ms doubled each attempt, plus up to 19 ms taken from
/// `random`, so that two racing requests do not retry in step.
pub(super) fn conflict_backoff(attempt: u32, random: u32) -> Duration {
    Duration::from_millis(10 * 2u64.pow(attempt) + u64::from(random % 20))
}

/// A conditional write's outcome: `Some` of its output when it was applied,
/// `None` when its condition did not hold, or the store's error.
fn unless_condition_failed<T, E, R>(
    result: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(SdkError::ServiceError(service))
            if service.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(error) => Err(classify(&error)),
    }
}

/// Sorts an SDK failure into "try again later" and "will not work as configured".
fn classify<E, R>(error: &SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown");
            let message = format!("{code}: {}", service.err().message().unwrap_or(""));
            match code {
                "ResourceNotFoundException"
                | "AccessDeniedException"
                | "ValidationException"
                | "UnrecognizedClientException"
                | "MissingAuthenticationTokenException"
                | "InvalidSignatureException" => StoreError::Misconfigured(message),
                _ => StoreError::Unavailable(message),
            }
        }
        // Sent, then no answer in time, or an answer that could not be read:
        // DynamoDB may have applied it.
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            StoreError::Unconfirmed(crate::aws::explain(error))
        }
        other => StoreError::Unavailable(crate::aws::explain(other)),
    }
}

#[async_trait]
impl BookingStore for DynamoBookingStore {
    async fn insert(&self, mut new: NewBooking) -> Result<InsertOutcome, StoreError> {
        let (mut items, mut slots) = self.transaction(&new)?;
        // Each shape of the transaction has its own token, so that the SDK's
        // retry of one DynamoDB did apply is answered as applied, not
        // checked again against its own guards. The token names the
        // booking's details too: another booking that drew the same random
        // reference is another transaction, answered `ReferenceTaken`.
        let mut shape = 0;
        let details = new
            .fingerprint
            .as_str()
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .chars()
            .take(16)
            .collect::<String>();
        let mut address_races = 0;
        for attempt in 0..CONFLICT_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(format!("{}-{details}-{shape}", new.booking.reference))
                .send()
                .await;
            let error = match result {
                Ok(_) => {
                    self.register(&new).await;
                    return Ok(InsertOutcome::Stored);
                }
                Err(error) => error,
            };
            let Some(reasons) = cancellation_reasons(&error) else {
                return Err(classify(&error));
            };
            let found = conflicts(&reasons, &slots)?;
            let raced = reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"));
            // An existing key or fingerprint decides at once. Anything else found
            // while another transaction holds one of our items may change once it
            // lands (it may be this very request's first attempt), so retry.
            let decisive = found.idempotency.is_some() || found.fingerprint.is_some();
            if decisive || !raced {
                match found.verdict(&new) {
                    Some(Verdict::Decided(outcome)) => return Ok(outcome),
                    Some(Verdict::Duplicate) => return self.charge_duplicate(&new).await,
                    Some(Verdict::Repeat { of }) => {
                        new.repeat_of = Some(of);
                        (items, slots) = self.transaction(&new)?;
                        shape += 1;
                        continue;
                    }
                    Some(Verdict::WithholdAcknowledgement) => {
                        new.withholding_acknowledgement(Withheld::AddressCap);
                        (items, slots) = self.transaction(&new)?;
                        shape += 1;
                        continue;
                    }
                    None => {}
                }
            }
            // Only the address's counters are shared with requests anyone
            // can send (anyone who knows the address): raced on them twice,
            // the booking is stored without them and not acknowledged, so
            // that a flood naming a patient's address cannot lock the
            // patient out with conflicts.
            if raced
                && slots.acknowledgements.is_some_and(|first| {
                    [first, first + 1].iter().any(|slot| {
                        reasons.get(*slot).and_then(|r| r.code()) == Some("TransactionConflict")
                    })
                })
            {
                address_races += 1;
                if address_races >= ADDRESS_RACES {
                    tracing::warn!(
                        reference = %new.booking.reference,
                        "the address's acknowledgement counters kept racing; storing without them"
                    );
                    new.withholding_acknowledgement(Withheld::AddressBusy);
                    (items, slots) = self.transaction(&new)?;
                    shape += 1;
                    continue;
                }
            }
            if !raced {
                return Err(StoreError::Unavailable(format!(
                    "transaction cancelled: {:?}",
                    reasons
                        .iter()
                        .map(|r| r.code().unwrap_or("None"))
                        .collect::<Vec<_>>()
                )));
            }
            // Another request holds one of our items: wait a little, then read its result.
            tracing::info!(attempt, "booking transaction raced another, retrying");
            tokio::time::sleep(conflict_backoff(attempt, getrandom::u32().unwrap_or(0))).await;
        }
        Err(StoreError::Unavailable(
            "transaction kept conflicting with others".into(),
        ))
    }

    async fn get(&self, reference: &Reference) -> Result<Option<Booking>, StoreError> {
        booking_item(&self.client, &self.bookings_table, reference)
            .await?
            .map(booking_of_item)
            .transpose()
    }
}

/// A person's bookings, by the bookings table's `by_subject_email` and
/// `by_subject_phone` indexes: one `Query` per identifier (a page per 1 MB
/// of keys), each index holding the tag, the time and the expiry only.
#[async_trait]
impl super::SubjectIndex for DynamoBookingStore {
    async fn bookings_of(
        &self,
        tag: &crate::booking::SubjectTag,
        now: time::OffsetDateTime,
    ) -> Result<Vec<Reference>, StoreError> {
        let mut references = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.bookings_table)
                .index_name(tag.identifier().index())
                .key_condition_expression("#tag = :tag")
                .filter_expression("expires_at > :now")
                .expression_attribute_names("#tag", tag.identifier().attribute())
                .expression_attribute_values(":tag", s(tag.as_str()))
                .expression_attribute_values(":now", n(now.unix_timestamp()))
                .projection_expression("#reference")
                .expression_attribute_names("#reference", "reference")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            for item in page.items() {
                match item.get("reference") {
                    Some(AttributeValue::S(r)) => {
                        references.push(Reference::parse(r).map_err(StoreError::Corrupt)?);
                    }
                    _ => {
                        return Err(StoreError::Corrupt(
                            "an index entry without its reference".into(),
                        ))
                    }
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(references);
            }
        }
    }

    async fn tag_untagged(&self, key: &crate::match_key::MatchKey) -> Result<u64, StoreError> {
        let (email, phone) = (
            crate::booking::Identifier::Email.attribute(),
            crate::booking::Identifier::Phone.attribute(),
        );
        let mut tagged = 0;
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.bookings_table)
                .filter_expression("attribute_not_exists(#tag)")
                .projection_expression("#reference, email, phone")
                .expression_attribute_names("#reference", "reference")
                .expression_attribute_names("#tag", email)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            for item in page.items() {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(v)) => Some(v.as_str()),
                    _ => None,
                };
                let (Some(reference), Some(address), Some(number)) =
                    (text("reference"), text("email"), text("phone"))
                else {
                    return Err(StoreError::Corrupt(
                        "a booking without its email or phone".into(),
                    ));
                };
                let tags = crate::booking::SubjectTags::of_stored(address, number, key)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("{reference}: an unreadable email or phone"))
                    })?;
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.bookings_table)
                    .key("reference", s(reference))
                    // As every write after a desk change, it takes down
                    // the mark of a confirmation owed.
                    .update_expression("SET #email = :email, #phone = :phone REMOVE #owed")
                    .condition_expression(
                        "attribute_exists(#reference) AND attribute_not_exists(#email)",
                    )
                    .expression_attribute_names("#reference", "reference")
                    .expression_attribute_names("#owed", CONFIRMATION_OWED)
                    .expression_attribute_names("#email", email)
                    .expression_attribute_names("#phone", phone)
                    .expression_attribute_values(":email", s(tags.email.as_str()))
                    .expression_attribute_values(":phone", s(tags.phone.as_str()))
                    .send()
                    .await;
                // Erased, expired or tagged since the scan read it: not counted.
                if unless_condition_failed(result)?.is_some() {
                    tagged += 1;
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(tagged);
            }
        }
    }
}

/// The acknowledgement ceiling's hourly counters, in the guards table:
/// one conditional `UpdateItem` per acknowledgement.
#[async_trait]
impl crate::notify::AcknowledgementCounter for DynamoBookingStore {
    async fn count(&self, at: time::OffsetDateTime, limit: u32) -> Result<bool, StoreError> {
        let (key, expires_at) = crate::notify::ceiling::hour_key(at);
        let result = self
            .client
            .update_item()
            .table_name(&self.guards_table)
            .key("pk", s(&key))
            .update_expression("SET expires_at = :end ADD hits :one")
            .condition_expression("attribute_not_exists(hits) OR hits < :limit")
            .expression_attribute_values(":end", n(expires_at))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(i64::from(limit)))
            .send()
            .await;
        Ok(unless_condition_failed(result)?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raced_transaction_backs_off_doubling_with_a_little_jitter() {
        let ms = |attempt, random| conflict_backoff(attempt, random).as_millis();
        assert_eq!(ms(0, 0), 10);
        assert_eq!(ms(0, 19), 29);
        assert_eq!(ms(0, 20), 10);
        assert_eq!(ms(1, 5), 25);
        assert_eq!(ms(CONFLICT_ATTEMPTS - 1, u32::MAX), 320 + 15);
    }
}
