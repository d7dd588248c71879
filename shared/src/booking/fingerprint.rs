//! Fingerprints of requests: equal details give equal fingerprints, whatever
//! the body's encoding, field order or spacing.

use super::BookingDetails;
use sha2::{Digest, Sha256};

/// SHA-256 of a request's canonical details, hex-encoded.
///
/// It finds duplicates without a key (double clicks, resubmits) and tells a
/// replayed idempotency key from the same key reused with another body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a request's details.
    pub fn of(details: &BookingDetails) -> Self {
        let d = details;
        // A fixed-order array of the parsed values: canonical by construction.
        let canonical = serde_json::json!([
            d.first_name.as_str(),
            d.last_name.as_str(),
            d.email.as_str(),
            d.phone.as_str(),
            d.date_of_birth.to_string(),
            d.specialty.as_str(),
            d.consultant.as_ref().map(|s| s.as_str()),
            d.payment.kind(),
            match &d.payment {
                super::Payment::Insured {
                    insurer,
                    policy_number,
                } => Some([insurer.as_str(), policy_number.as_str()]),
                super::Payment::SelfPay => None,
            },
            d.gp_referral,
            d.contact_method.as_str(),
            d.preferred_times.as_ref().map(|t| t.as_str()),
            d.message.as_ref().map(|m| m.as_str()),
            d.booking_for.as_str(),
            d.consent_version.as_str(),
            d.marketing_email,
            d.marketing_sms,
        ]);
        Self(hex::encode(Sha256::digest(
            canonical.to_string().as_bytes(),
        )))
    }

    /// Wraps a fingerprint read back from a store.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
