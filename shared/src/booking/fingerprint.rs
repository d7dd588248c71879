//! Fingerprints of requests: equal details give equal fingerprints, whatever
//! the body's encoding, field order or spacing.

use super::BookingDetails;
use crate::match_key::{MatchKey, Purpose};

/// The [`MatchKey`] tag of a request's canonical details.
///
/// It finds duplicates (double clicks, resubmits, one person asking twice)
/// and tells a replayed idempotency key from the same key reused with
/// another body. Being keyed, it cannot be matched against a guess of
/// someone's details by whoever reads the guards table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a request's details.
    pub fn of(details: &BookingDetails, key: &MatchKey) -> Self {
        // Every field is named, so that a new booking field does not compile
        // until it is decided whether it makes two requests differ.
        let BookingDetails {
            first_name,
            last_name,
            email,
            phone,
            date_of_birth,
            specialty,
            consultant,
            payment,
            gp_referral,
            contact_method,
            preferred_times,
            message,
            booking_for,
            consent_version,
            // Named by the version, which is in: adding it would change
            // every stored fingerprint and tell no two requests apart.
            consent_wording: _,
            marketing_email,
            marketing_sms,
        } = details;
        // A fixed-order array of the parsed values: canonical by construction.
        let canonical = serde_json::json!([
            first_name.as_str(),
            last_name.as_str(),
            email.as_str(),
            phone.as_str(),
            date_of_birth.to_string(),
            specialty.as_str(),
            consultant.as_ref().map(|s| s.as_str()),
            payment.kind(),
            match payment {
                super::Payment::Insured {
                    insurer,
                    policy_number,
                } => Some([insurer.as_str(), policy_number.as_str()]),
                super::Payment::SelfPay => None,
            },
            gp_referral,
            contact_method.as_str(),
            preferred_times.as_ref().map(|t| t.as_str()),
            message.as_ref().map(|m| m.as_str()),
            booking_for.as_str(),
            consent_version.as_str(),
            marketing_email,
            marketing_sms,
        ]);
        Self(key.tag(Purpose::Fingerprint, canonical.to_string().as_bytes()))
    }

    /// Wraps a fingerprint read back from a store.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
