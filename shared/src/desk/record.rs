//! The stored shapes of the desk's data: flat, primitive attributes both
//! adapters keep (DynamoDB items, SQLite JSON) and read back through the
//! domain types.

use super::audit::{AuditAction, AuditEntry, AuditId};
use super::workflow::{Appointment, Move, Note, Place, RequestState, Staff, Step};
use crate::booking::record::{parse_rfc3339, rfc3339};
use crate::booking::{Email, Reference, Slug};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The audit table's one partition: the whole desk's trail, newest first,
/// is then one query. A clinic's desk writes far below a partition's
/// thousand writes a second.
pub const AUDIT_TRAIL: &str = "desk";

/// One step of a request's history as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// RFC 3339, UTC.
    pub at: String,
    /// The staff member's subject.
    pub by_subject: String,
    /// The staff member's address.
    pub by_email: String,
    /// The state left.
    pub from: String,
    /// The state reached.
    pub to: String,
    /// Their note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A booking's appointment time, RFC 3339, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_at: Option<String>,
    /// A booking's place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// A booking's consultant, by slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultant: Option<String>,
}

impl From<&Step> for StepRecord {
    fn from(step: &Step) -> Self {
        let appointment = step.change().appointment();
        Self {
            at: rfc3339(step.at),
            by_subject: step.by.subject.clone(),
            by_email: step.by.email.as_str().to_owned(),
            from: step.from.as_str().to_owned(),
            to: step.to().as_str().to_owned(),
            note: step.note.as_ref().map(|n| n.as_str().to_owned()),
            appointment_at: appointment.map(|a| rfc3339(a.at)),
            place: appointment.map(|a| a.place.as_str().to_owned()),
            consultant: appointment.and_then(|a| a.consultant.as_ref().map(|c| c.to_string())),
        }
    }
}

/// A stored value that does not read back as the desk's data.
fn corrupt(what: &str) -> String {
    format!("stored desk data is unreadable: {what}")
}

fn state(raw: &str) -> Result<RequestState, String> {
    RequestState::parse(raw).ok_or_else(|| corrupt("an unknown state"))
}

fn time_of(raw: &str) -> Result<OffsetDateTime, String> {
    parse_rfc3339(raw).map_err(|_| corrupt("a time"))
}

fn staff(subject: String, email: &str) -> Result<Staff, String> {
    Ok(Staff {
        subject,
        email: Email::parse(email).map_err(|_| corrupt("a staff address"))?,
    })
}

impl TryFrom<StepRecord> for Step {
    type Error = String;

    fn try_from(r: StepRecord) -> Result<Self, String> {
        let change = match state(&r.to)? {
            RequestState::New => return Err(corrupt("a step back to new")),
            RequestState::Contacted => Move::Contacted,
            RequestState::Booked => Move::Booked(Appointment {
                at: time_of(
                    r.appointment_at
                        .as_deref()
                        .ok_or_else(|| corrupt("a booking's time"))?,
                )?,
                place: Place::from_stored(
                    r.place
                        .as_deref()
                        .ok_or_else(|| corrupt("a booking's place"))?,
                ),
                consultant: r
                    .consultant
                    .as_deref()
                    .map(|c| Slug::parse(c).map_err(|_| corrupt("a consultant")))
                    .transpose()?,
            }),
            RequestState::Declined => Move::Declined,
            RequestState::NoResponse => Move::NoResponse,
            RequestState::Cancelled => Move::Cancelled,
            RequestState::Closed => Move::Closed,
        };
        Ok(Step {
            at: time_of(&r.at)?,
            by: staff(r.by_subject, &r.by_email)?,
            from: state(&r.from)?,
            change,
            note: r.note.as_deref().map(Note::from_stored),
        })
    }
}

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Always `AUDIT_TRAIL`: the table's partition.
    pub trail: String,
    /// The entry's id, its sort key.
    pub id: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// The staff member's subject.
    pub by_subject: String,
    /// The staff member's address.
    pub by_email: String,
    /// The action's stored name.
    pub action: String,
    /// A change's state left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A change's state reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The request it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Why, for an erasure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the entry expires (`AUDIT_RETENTION_DAYS`), seconds since the epoch.
    pub expires_at: i64,
}

impl AuditRecord {
    /// The record of `entry`, kept until `keep_until`.
    pub fn of(entry: &AuditEntry, keep_until: OffsetDateTime) -> Self {
        let (from, to) = match entry.action {
            AuditAction::Changed { from, to } => {
                (Some(from.as_str().to_owned()), Some(to.as_str().to_owned()))
            }
            _ => (None, None),
        };
        Self {
            trail: AUDIT_TRAIL.to_owned(),
            id: entry.id.as_str().to_owned(),
            at: rfc3339(entry.at),
            by_subject: entry.by.subject.clone(),
            by_email: entry.by.email.as_str().to_owned(),
            action: entry.action.as_str().to_owned(),
            from,
            to,
            reference: entry.reference.as_ref().map(|r| r.as_str().to_owned()),
            reason: entry.reason.as_ref().map(|r| r.as_str().to_owned()),
            expires_at: keep_until.unix_timestamp(),
        }
    }
}

impl TryFrom<AuditRecord> for AuditEntry {
    type Error = String;

    fn try_from(r: AuditRecord) -> Result<Self, String> {
        Ok(Self {
            id: AuditId::parse(&r.id).map_err(|_| corrupt("an audit id"))?,
            at: time_of(&r.at)?,
            by: staff(r.by_subject, &r.by_email)?,
            action: AuditAction::from_stored(&r.action, r.from.as_deref(), r.to.as_deref())
                .map_err(|e| corrupt(&e))?,
            reference: r
                .reference
                .as_deref()
                .map(|raw| Reference::parse(raw).map_err(|_| corrupt("a reference")))
                .transpose()?,
            reason: r.reason.as_deref().map(super::audit::Reason::from_stored),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nurse() -> Staff {
        Staff {
            subject: "0f6b1c2e-sub".into(),
            email: Email::parse("nurse@clinic.example").unwrap(),
        }
    }

    #[test]
    fn a_booking_step_reads_back_with_its_appointment() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let step = Step::new(
            at,
            nurse(),
            RequestState::Contacted,
            Move::Booked(Appointment {
                at: at + time::Duration::days(7),
                place: Place::parse("Parkside Hospital").unwrap(),
                consultant: Some(Slug::parse("jane-doe").unwrap()),
            }),
            Some(Note::parse("first appointment").unwrap()),
        )
        .unwrap();
        let record = StepRecord::from(&step);
        assert_eq!(record.to, "booked");
        assert_eq!(Step::try_from(record), Ok(step));
    }

    #[test]
    fn an_audit_entry_reads_back_and_names_no_patient() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let entry = AuditEntry::new(
            at,
            nurse(),
            AuditAction::Changed {
                from: RequestState::New,
                to: RequestState::Contacted,
            },
            Some(Reference::parse("CCL-7K3M-9Q2X").unwrap()),
        )
        .unwrap();
        let record = AuditRecord::of(&entry, at + time::Duration::days(730));
        assert_eq!(record.trail, AUDIT_TRAIL);
        assert_eq!(record.expires_at, 1_800_000_000 + 730 * 86_400);
        assert_eq!(AuditEntry::try_from(record), Ok(entry));
    }
}
