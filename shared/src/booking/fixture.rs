//! Bookings for the shared crate's unit tests: one request as a patient's
//! form sends it, parsed the way the booking function parses it.

use super::request::{BookingRequest, ParseContext};
use super::{Booking, Reference, Slug};
use time::macros::{date, datetime};

/// A complete form: every optional answer given, insured, for someone else.
pub const FORM: &str = "first_name=Ann&last_name=Smith&email=ann%40example.com&phone=07700+900123\
    &date_of_birth=1970-03-31&specialty=neuroendocrine-tumours&consultant=jane-doe\
    &payment=insured&insurer=Fixture+Health&policy_number=FX-1&gp_referral=yes\
    &preferred_times=Mornings&contact_method=email&booking_for=someone_else\
    &consent_contact=on&consent_version=2026-11&marketing_sms=on";

/// The booking of `form`, received on 2 December 2026 under `CCL-7K3M-9Q2X`.
pub fn booking(form: &str) -> Booking {
    let specialties = [Slug::parse("neuroendocrine-tumours").unwrap()];
    let details = BookingRequest::from_form(form.as_bytes())
        .unwrap()
        .parse(&ParseContext {
            specialties: &specialties,
            today: date!(2026 - 12 - 02),
            wordings: &wordings(),
        })
        .unwrap();
    Booking {
        reference: Reference::parse("CCL-7K3M-9Q2X").unwrap(),
        received_at: datetime!(2026-12-02 09:05:00 UTC),
        details,
        expires_at: datetime!(2027-12-02 09:05:00 UTC),
        acknowledgement: crate::booking::Acknowledgement::Owed,
    }
}

/// The match key the unit tests tag guards with.
pub fn match_key() -> crate::match_key::MatchKey {
    crate::match_key::MatchKey::new(1, &"fixture-key-".repeat(4)).unwrap()
}

/// The consent wordings the unit tests' forms may name: `2026-11` and `2026-01`.
pub fn wordings() -> Vec<super::bookable::AcceptedWording> {
    ["2026-11", "2026-01"]
        .into_iter()
        .map(|version| super::bookable::AcceptedWording {
            version: version.into(),
            sha256: super::WordingHash::from_stored(&crate::content::ConsentWording::hash_of(
                version, "email", "sms",
            ))
            .unwrap(),
            until: None,
        })
        .collect()
}
