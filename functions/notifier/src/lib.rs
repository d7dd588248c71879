//! The notifier Lambda's handler: a batch of DynamoDB stream records in,
//! the bookings' emails out through the shared `Notifier`, and a partial
//! batch response naming the records that must be delivered again. A
//! schedule also invokes it with `{"sweep": {}}`, to send what stored
//! bookings still owe (held emails once the account works, and records lost
//! to the failure queue) without a person, and to alarm on staff emails
//! that did not reach the staff inbox, sending them to the fallback inbox.
//!
//! INSERT records are new bookings: each owes the staff email and the
//! acknowledgement. A MODIFY record whose new image holds
//! `confirmation_owed` is a change the desk made that owes the patient an
//! appointment confirmation (the stream's filter passes only these two).
//! The MODIFY records the claims, marks and delivery events cause, and
//! TTL's and erasure's REMOVE records, are skipped.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use frontdesk_shared::booking::record::{BookingRecord, CorruptRecord};
use frontdesk_shared::desk::record::StepRecord;
use frontdesk_shared::desk::Step;
use frontdesk_shared::notify::sweep::{DeliveryCheck, SWEEP_AFTER};
use frontdesk_shared::notify::{Confirmation, Notifier, Outcome, Sweep};
use frontdesk_shared::Booking;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::task::JoinSet;

/// Why a whole batch must be delivered again.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A record to retry has no sequence number to report it by.
    #[error("stream record {event_id} has no sequence number")]
    NoSequenceNumber {
        /// The record's event ID.
        event_id: String,
    },
    /// The sweep could not find the owed bookings (the store failed); the
    /// next scheduled sweep tries again.
    #[error("sweep: {0}")]
    Sweep(String),
}

/// What the function is invoked with.
#[derive(Debug)]
pub enum Invocation {
    /// The schedule's event: sweep what stored bookings owe.
    Sweep {
        /// The schedule's settings (none yet: `{}`).
        sweep: SweepRequest,
    },
    /// A batch of the bookings table's stream records.
    Stream(Event),
}

/// Read as JSON first, then as the one shape its keys name: an untagged
/// enum would buffer the stream event through serde's generic content,
/// which the stream types' own deserializers are not written for.
impl<'de> Deserialize<'de> for Invocation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut value = serde_json::Value::deserialize(deserializer)?;
        match value.get_mut("sweep").map(serde_json::Value::take) {
            Some(sweep) => Ok(Self::Sweep {
                sweep: serde_json::from_value(sweep).map_err(D::Error::custom)?,
            }),
            None => serde_json::from_value(value)
                .map(Self::Stream)
                .map_err(D::Error::custom),
        }
    }
}

/// The schedule's `sweep` object.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {}

/// What the function answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Handled {
    /// For a stream batch: the records to deliver again.
    Stream(DynamoDbEventResponse),
    /// For a sweep: what it did, in emails (no personal data).
    Sweep(Swept),
}

/// What a scheduled run did: the owed-email sweep, then the check that
/// staff emails reached the staff inbox.
#[derive(Debug, Serialize)]
pub struct Swept {
    /// The owed-email sweep.
    #[serde(flatten)]
    pub sweep: Sweep,
    /// The staff emails' delivery check.
    pub staff_delivery: DeliveryCheck,
}

/// Handles one invocation; `time_left` is what remains of the function's
/// timeout, which a sweep stops starting new bookings well before.
pub async fn invoke(
    notifier: &Notifier,
    invocation: Invocation,
    time_left: Duration,
    per_booking: Duration,
) -> Result<Handled, HandlerError> {
    match invocation {
        Invocation::Stream(event) => handle(notifier, event).await.map(Handled::Stream),
        Invocation::Sweep { sweep: _ } => {
            let deadline = tokio::time::Instant::now() + time_left.saturating_sub(per_booking);
            let done = notifier
                .sweep(SWEEP_AFTER, Some(deadline), |_, _| {})
                .await
                .map_err(|e| HandlerError::Sweep(e.to_string()))?;
            tracing::info!(
                bookings = done.bookings,
                sent = done.sent,
                refused = done.refused,
                held = done.held,
                still_owed = done.still_owed,
                not_reached = done.not_reached,
                unreadable = done.unreadable,
                "sweep of owed emails"
            );
            let staff_delivery = notifier
                .check_staff_delivery(Some(deadline))
                .await
                .map_err(|e| HandlerError::Sweep(e.to_string()))?;
            tracing::info!(
                undelivered = staff_delivery.undelivered,
                fallback_sent = staff_delivery.fallback_sent,
                fallback_owed = staff_delivery.fallback_owed,
                no_fallback = staff_delivery.no_fallback,
                "staff delivery check"
            );
            Ok(Handled::Sweep(Swept {
                sweep: done,
                staff_delivery,
            }))
        }
    }
}

/// What became of one record.
#[derive(Debug)]
enum Verdict {
    Done,
    Retry,
}

/// Handles one batch: notifies every new booking in it, concurrently, and
/// reports each record whose emails are not all settled (sent, or failed
/// for good). Lambda then redelivers from the earliest reported record;
/// records already handled find their emails sent and send nothing.
pub async fn handle(
    notifier: &Notifier,
    event: Event,
) -> Result<DynamoDbEventResponse, HandlerError> {
    let mut tasks = JoinSet::new();
    let mut sequence_numbers = Vec::with_capacity(event.records.len());
    for (index, record) in event.records.into_iter().enumerate() {
        sequence_numbers.push((
            record.change.sequence_number.clone(),
            record.event_id.clone(),
        ));
        let notifier = notifier.clone();
        match record.event_name.as_str() {
            "INSERT" => {
                tasks.spawn(async move { (index, handle_record(&notifier, record).await) });
            }
            "MODIFY" if owes_confirmation(&record) => {
                tasks.spawn(async move { (index, handle_confirmation(&notifier, record).await) });
            }
            _ => {}
        }
    }
    let mut retry = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, Verdict::Retry)) => retry.push(index),
            Ok((_, Verdict::Done)) => {}
            // A panicked task's record is unknown here: retry the whole batch.
            Err(error) => {
                tracing::error!(error = %error, "a record's task failed; retrying the batch");
                retry = (0..sequence_numbers.len()).collect();
                break;
            }
        }
    }
    retry.sort_unstable();
    let mut response = DynamoDbEventResponse::default();
    for index in retry {
        let (sequence_number, event_id) = sequence_numbers[index].clone();
        let Some(sequence_number) = sequence_number else {
            return Err(HandlerError::NoSequenceNumber { event_id });
        };
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

/// Reads a stream record's new image back into a booking.
pub fn booking_of(record: &EventRecord) -> Result<Booking, String> {
    let stored: BookingRecord = serde_dynamo::from_item(record.change.new_image.clone())
        .map_err(|_| CorruptRecord::unshaped().to_string())?;
    Booking::try_from(stored).map_err(|e| e.to_string())
}

/// What a change's record says of the confirmation it owes: its number
/// and the request's moves, from which the confirmation is told.
#[derive(Deserialize)]
struct OwedImage {
    #[serde(rename = "confirmation_owed")]
    sequence: u32,
    #[serde(default)]
    history: Vec<StepRecord>,
}

/// Whether a record's new image marks a confirmation owed.
fn owes_confirmation(record: &EventRecord) -> bool {
    record
        .change
        .new_image
        .contains_key(frontdesk_shared::store::dynamodb::CONFIRMATION_OWED)
}

/// Reads a change's record back into its booking and the confirmation it owes.
pub fn confirmation_of(record: &EventRecord) -> Result<(Booking, Confirmation), String> {
    let booking = booking_of(record)?;
    let owed: OwedImage = serde_dynamo::from_item(record.change.new_image.clone())
        .map_err(|_| CorruptRecord::unshaped().to_string())?;
    let history = owed
        .history
        .into_iter()
        .map(Step::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let confirmation = Confirmation::of_history(owed.sequence, &history)
        .ok_or("a confirmation is owed by no move of the request's history")?;
    Ok((booking, confirmation))
}

/// How an outcome reads in the logs.
fn said(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Sent(_) => "sent",
        Outcome::AlreadySent => "already sent",
        Outcome::Failed { .. } => "failed permanently",
        Outcome::AlreadyFailed { .. } => "failed permanently before",
        Outcome::Deferred { .. } => "deferred",
        Outcome::Held { .. } => "held",
        Outcome::InProgress { .. } => "in progress elsewhere",
        Outcome::BookingGone => "booking gone",
        Outcome::Withheld { .. } => "withheld",
        Outcome::NotNeeded { .. } => "not needed",
    }
}

async fn handle_confirmation(notifier: &Notifier, record: EventRecord) -> Verdict {
    let (booking, confirmation) = match confirmation_of(&record) {
        Ok(owed) => owed,
        Err(error) => {
            // Retried, then left to the stream's failure destination and the sweep.
            tracing::error!(event_id = %record.event_id, error = %error, "unreadable change record");
            return Verdict::Retry;
        }
    };
    let reference = booking.reference.clone();
    let notice = frontdesk_shared::notify::Notice::Confirmation(confirmation.sequence);
    let attempted = notifier.confirm(&booking, &confirmation).await.map(|outcome| {
        tracing::info!(reference = %reference, email = %notice, result = said(&outcome), "notification");
        outcome.must_retry()
    });
    verdict(&reference, attempted)
}

/// The verdict on a record whose emails were attempted: retried when one
/// of them must be, or when the store could not be reached.
fn verdict(
    reference: &frontdesk_shared::booking::Reference,
    attempted: Result<bool, frontdesk_shared::store::StoreError>,
) -> Verdict {
    match attempted {
        Ok(false) => Verdict::Done,
        Ok(true) => Verdict::Retry,
        Err(error) => {
            tracing::warn!(reference = %reference, error = %error, "store unavailable; record will be retried");
            Verdict::Retry
        }
    }
}

async fn handle_record(notifier: &Notifier, record: EventRecord) -> Verdict {
    let booking = match booking_of(&record) {
        Ok(booking) => booking,
        Err(error) => {
            // Retried, then left to the stream's failure destination: never dropped.
            tracing::error!(event_id = %record.event_id, error = %error, "unreadable booking record");
            return Verdict::Retry;
        }
    };
    let reference = booking.reference.clone();
    let attempted = notifier.notify(&booking).await.map(|report| {
        for (notice, outcome) in report.outcomes() {
            tracing::info!(reference = %reference, email = %notice, result = said(outcome), "notification");
        }
        report.must_retry()
    });
    verdict(&reference, attempted)
}
