//! The mail-events Lambda's handler: one SES event from EventBridge in
//! (sent, delayed, delivered, bounced, complained, rejected), recorded on
//! the email it is about with one conditional `UpdateItem`.
//!
//! Every send carries SES message tags naming the booking's reference and
//! the email's kind, which SES copies into each event, so an event finds
//! its item by key, and the stored message ID must match it. The recorded
//! state only moves forward; a replayed or late event changes nothing. An
//! event that overtakes its email's sent mark is an error, so Lambda tries
//! it again (a bounded number of times, then the failure queue); a
//! malformed one is an error too, and changes nothing. Nothing of the
//! event's addresses or headers is ever logged.

use frontdesk_shared::booking::record::parse_rfc3339;
use frontdesk_shared::booking::Reference;
use frontdesk_shared::notify::delivery::{EMAIL_TAG, REFERENCE_TAG};
use frontdesk_shared::notify::{Delivery, Notice, NoticeLedger, Recorded};
use frontdesk_shared::store::StoreError;
use serde::Deserialize;
use std::collections::HashMap;

/// Why an event must be tried again, or handed to the failure queue.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not an SES event as documented (its content is never quoted: it holds addresses).
    #[error("malformed SES event: {0}")]
    Malformed(&'static str),
    /// The email's sent mark is not there yet: the event overtook it.
    #[error("{reference} {notice} email: event {delivery} arrived before its sent mark")]
    NotYetSent {
        /// The booking.
        reference: Reference,
        /// Which email.
        notice: Notice,
        /// What the event reports.
        delivery: Delivery,
    },
    /// The bookings table could not be written.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// What one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Recorded: the email's state moved forward.
    Applied(Reference, Notice, Delivery),
    /// Nothing to change (a replay, an older event, another message, no booking).
    Unchanged(Reference, Notice, Delivery),
    /// An event type frontdesk does not record, or a message it did not send.
    Ignored(&'static str),
}

/// An EventBridge event from SES, only the parts frontdesk reads.
#[derive(Debug, Deserialize)]
struct SesEvent {
    detail: Detail,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    event_type: String,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    delivery: Option<Stamped>,
    delivery_delay: Option<Delay>,
    reject: Option<Reject>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    message_id: String,
    timestamp: String,
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    bounce_sub_type: String,
    timestamp: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    timestamp: String,
    complaint_feedback_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Stamped {
    timestamp: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delay {
    timestamp: String,
    delay_type: String,
}

#[derive(Debug, Deserialize)]
struct Reject {
    reason: String,
}

impl Detail {
    /// When it happened (the event's own time, else the send's), and SES's
    /// classification where it has one: codes and words, never an address.
    fn when_and_detail(&self) -> (&str, Option<String>) {
        if let Some(b) = &self.bounce {
            return (
                &b.timestamp,
                Some(format!("{}/{}", b.bounce_type, b.bounce_sub_type)),
            );
        }
        if let Some(c) = &self.complaint {
            return (&c.timestamp, c.complaint_feedback_type.clone());
        }
        if let Some(d) = &self.delivery_delay {
            return (&d.timestamp, Some(d.delay_type.clone()));
        }
        if let Some(d) = &self.delivery {
            return (&d.timestamp, None);
        }
        if let Some(r) = &self.reject {
            return (&self.mail.timestamp, Some(r.reason.clone()));
        }
        (&self.mail.timestamp, None)
    }

    fn tag(&self, name: &str) -> Option<&str> {
        self.mail.tags.get(name)?.first().map(String::as_str)
    }
}

/// A classification is kept only if it is a short run of plain words.
fn plain(detail: String) -> Option<String> {
    let ok = detail.len() <= 64
        && detail
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '/' | '-' | '_' | '.'));
    ok.then_some(detail)
}

/// Records one SES event on the email it is about.
pub async fn handle(
    ledger: &dyn NoticeLedger,
    event: serde_json::Value,
) -> Result<Handled, EventError> {
    let event: SesEvent = serde_json::from_value(event).map_err(|_| {
        EventError::Malformed("not an SES event with detail.eventType and detail.mail")
    })?;
    let detail = event.detail;
    let Some(delivery) = Delivery::of_event_type(&detail.event_type) else {
        return Ok(Handled::Ignored("an event type not recorded"));
    };
    let (Some(reference), Some(notice)) = (
        detail
            .tag(REFERENCE_TAG)
            .and_then(|r| Reference::parse(r).ok()),
        detail.tag(EMAIL_TAG).and_then(Notice::parse),
    ) else {
        // Mail this deployment did not send through frontdesk (no tags).
        return Ok(Handled::Ignored("a message without frontdesk's tags"));
    };
    let (when, classification) = detail.when_and_detail();
    let at =
        parse_rfc3339(when).map_err(|_| EventError::Malformed("a timestamp is not RFC 3339"))?;
    let classification = classification.and_then(plain);
    let recorded = ledger
        .record_delivery(
            &reference,
            notice,
            &detail.mail.message_id,
            delivery,
            classification.as_deref(),
            at,
        )
        .await?;
    match recorded {
        Recorded::Applied => Ok(Handled::Applied(reference, notice, delivery)),
        Recorded::Unchanged => Ok(Handled::Unchanged(reference, notice, delivery)),
        Recorded::NotYetSent => Err(EventError::NotYetSent {
            reference,
            notice,
            delivery,
        }),
    }
}
