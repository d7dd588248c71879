//! The stored shape of a booking: flat, primitive attributes that both
//! adapters keep (DynamoDB items, SQLite JSON) and read back through the
//! domain types.

use super::choices::PaymentKind;
use super::{
    Acknowledgement, Booking, BookingDetails, BookingFor, ConsentVersion, ContactMethod,
    DateOfBirth, Email, Insurer, Message, Payment, PersonName, PolicyNumber, PreferredTimes,
    Reference, Slug, Specialty, UkPhone, Withheld, WordingHash,
};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A stored record could not be read back into a booking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored booking is unreadable: {0}")]
pub struct CorruptRecord(pub String);

impl CorruptRecord {
    /// A stored item that does not even have a record's shape. The
    /// deserialiser's own message is not kept: it quotes the value it
    /// refused (`invalid type: integer 447700900123`), which may be
    /// personal data, and this error is logged.
    pub fn unshaped() -> Self {
        Self(
            "the stored item is not a booking record (a field is missing or has the wrong type)"
                .into(),
        )
    }
}

/// One booking as stored: every field of the request, the consent's time,
/// and `expires_at` (seconds since the epoch) for the retention TTL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRecord {
    /// `CCL-XXXX-XXXX`.
    pub reference: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    /// Patient's first name.
    pub first_name: String,
    /// Patient's last name.
    pub last_name: String,
    /// Patient's email.
    pub email: String,
    /// E.164.
    pub phone: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// A condition slug or `not_sure`.
    pub specialty: String,
    /// A consultant's slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultant: Option<String>,
    /// `self_pay` or `insured`.
    pub payment: String,
    /// Insurer's name, when insured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurer: Option<String>,
    /// Policy number, when insured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_number: Option<String>,
    /// Referred by a GP.
    pub gp_referral: bool,
    /// `phone` or `email`.
    pub contact_method: String,
    /// When to call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_times: Option<String>,
    /// The patient's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `self` or `someone_else`.
    pub booking_for: String,
    /// Always true: a booking cannot exist without consent.
    pub consent_contact: bool,
    /// The consent wording's version.
    pub consent_version: String,
    /// When consent was given, RFC 3339.
    pub consent_given_at: String,
    /// SHA-256 (hex) of the consent wording's labels as published under
    /// `consent_version`; absent on bookings stored before wordings were content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_wording: Option<String>,
    /// Marketing by email.
    pub marketing_email: bool,
    /// Marketing by SMS.
    pub marketing_sms: bool,
    /// Retention TTL, seconds since the epoch.
    pub expires_at: i64,
    /// Why no acknowledgement is sent (`address_cap`); absent when one is owed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgement_withheld: Option<String>,
}

/// Formats a time as RFC 3339 in UTC with exactly three fractional digits
/// (`2026-11-24T10:15:00.120Z`), so every timestamp has the same shape.
pub fn rfc3339(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// Parses an RFC 3339 time (as `rfc3339` writes it).
pub fn parse_rfc3339(raw: &str) -> Result<OffsetDateTime, CorruptRecord> {
    OffsetDateTime::parse(raw, &Rfc3339).map_err(|e| CorruptRecord(format!("time {raw:?}: {e}")))
}

impl From<&Booking> for BookingRecord {
    fn from(b: &Booking) -> Self {
        let d = &b.details;
        let (insurer, policy_number) = match &d.payment {
            Payment::SelfPay => (None, None),
            Payment::Insured {
                insurer,
                policy_number,
            } => (
                Some(insurer.as_str().to_owned()),
                Some(policy_number.as_str().to_owned()),
            ),
        };
        Self {
            reference: b.reference.as_str().to_owned(),
            received_at: rfc3339(b.received_at),
            first_name: d.first_name.as_str().to_owned(),
            last_name: d.last_name.as_str().to_owned(),
            email: d.email.as_str().to_owned(),
            phone: d.phone.as_str().to_owned(),
            date_of_birth: d.date_of_birth.to_string(),
            specialty: d.specialty.as_str().to_owned(),
            consultant: d.consultant.as_ref().map(|s| s.as_str().to_owned()),
            payment: d.payment.kind().to_owned(),
            insurer,
            policy_number,
            gp_referral: d.gp_referral,
            contact_method: d.contact_method.as_str().to_owned(),
            preferred_times: d.preferred_times.as_ref().map(|t| t.as_str().to_owned()),
            message: d.message.as_ref().map(|m| m.as_str().to_owned()),
            booking_for: d.booking_for.as_str().to_owned(),
            consent_contact: true,
            consent_version: d.consent_version.as_str().to_owned(),
            consent_given_at: rfc3339(b.consent().given_at),
            consent_wording: d.consent_wording.as_ref().map(|h| h.as_str().to_owned()),
            marketing_email: d.marketing_email,
            marketing_sms: d.marketing_sms,
            expires_at: b.expires_at.unix_timestamp(),
            acknowledgement_withheld: match b.acknowledgement {
                Acknowledgement::Owed => None,
                Acknowledgement::Withheld(why) => Some(why.as_str().to_owned()),
            },
        }
    }
}

/// Reading a stored booking trusts what was stored (every value was checked
/// when it came in, by the rules of that day) and refuses only what a
/// `Booking` cannot represent: a later, stricter rule never makes an old
/// booking unreadable.
impl TryFrom<BookingRecord> for Booking {
    type Error = CorruptRecord;

    fn try_from(r: BookingRecord) -> Result<Self, Self::Error> {
        fn field<T>(name: &str, result: Result<T, String>) -> Result<T, CorruptRecord> {
            result.map_err(|e| CorruptRecord(format!("{name}: {e}")))
        }
        let received_at = parse_rfc3339(&r.received_at)?;
        let payment = match field("payment", PaymentKind::parse(&r.payment))? {
            PaymentKind::SelfPay => Payment::SelfPay,
            PaymentKind::Insured => Payment::Insured {
                insurer: field(
                    "insurer",
                    Insurer::from_stored(r.insurer.as_deref().unwrap_or("")),
                )?,
                policy_number: field(
                    "policy_number",
                    PolicyNumber::from_stored(r.policy_number.as_deref().unwrap_or("")),
                )?,
            },
        };
        if !r.consent_contact {
            return Err(CorruptRecord("a booking without consent".into()));
        }
        Ok(Booking {
            reference: field("reference", Reference::parse(&r.reference))?,
            received_at,
            details: BookingDetails {
                first_name: field("first_name", PersonName::from_stored(&r.first_name))?,
                last_name: field("last_name", PersonName::from_stored(&r.last_name))?,
                email: field("email", Email::from_stored(&r.email))?,
                phone: field("phone", UkPhone::from_stored(&r.phone))?,
                date_of_birth: field("date_of_birth", DateOfBirth::from_stored(&r.date_of_birth))?,
                specialty: field("specialty", Specialty::from_stored(&r.specialty))?,
                consultant: r
                    .consultant
                    .as_deref()
                    .map(Slug::parse)
                    .transpose()
                    .map_err(|e| CorruptRecord(format!("consultant: {e}")))?,
                payment,
                gp_referral: r.gp_referral,
                contact_method: field("contact_method", ContactMethod::parse(&r.contact_method))?,
                preferred_times: r
                    .preferred_times
                    .as_deref()
                    .map(PreferredTimes::from_stored)
                    .transpose()
                    .map_err(|e| CorruptRecord(format!("preferred_times: {e}")))?,
                message: r
                    .message
                    .as_deref()
                    .map(Message::from_stored)
                    .transpose()
                    .map_err(|e| CorruptRecord(format!("message: {e}")))?,
                booking_for: field("booking_for", BookingFor::parse(&r.booking_for))?,
                consent_version: field(
                    "consent_version",
                    ConsentVersion::from_stored(&r.consent_version),
                )?,
                consent_wording: r
                    .consent_wording
                    .as_deref()
                    .map(WordingHash::from_stored)
                    .transpose()
                    .map_err(|e| CorruptRecord(format!("consent_wording: {e}")))?,
                marketing_email: r.marketing_email,
                marketing_sms: r.marketing_sms,
            },
            expires_at: OffsetDateTime::from_unix_timestamp(r.expires_at)
                .map_err(|e| CorruptRecord(format!("expires_at: {e}")))?,
            acknowledgement: match r.acknowledgement_withheld.as_deref() {
                None => Acknowledgement::Owed,
                Some(why) => Acknowledgement::Withheld(field(
                    "acknowledgement_withheld",
                    Withheld::parse(why),
                )?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_three_fractional_digits_and_read_back() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_700_000_000).unwrap();
        let text = rfc3339(at);
        assert_eq!(text, "2025-11-24T16:00:00.700Z");
        assert_eq!(parse_rfc3339(&text).unwrap(), at);
    }
}
