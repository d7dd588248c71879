//! Whose a booking is, in a form the store can find again without holding
//! a plain value: keyed tags (HMACs under the match key) of the booker's
//! email address and phone number, each indexed, so that a subject access
//! request or an erasure finds every booking of one person with one query
//! per identifier. A plain hash of an address could be matched against a
//! guess; a tag cannot without the key.
//!
//! The email and phone are the booker's: for a booking made for someone
//! else they identify the person who booked, not the patient named in it.

use super::{BookingDetails, Email, UkPhone};
use crate::match_key::{MatchKey, Purpose};

/// The identifiers a person's bookings are found by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identifier {
    /// The email address, case folded (mail providers treat the local part
    /// as one mailbox whatever its case).
    Email,
    /// The phone number in E.164 form.
    Phone,
}

impl Identifier {
    /// Both, in the order a search takes them.
    pub const ALL: [Identifier; 2] = [Identifier::Email, Identifier::Phone];

    /// The stored attribute (DynamoDB) and column (SQLite) that holds the tag.
    pub fn attribute(self) -> &'static str {
        match self {
            Identifier::Email => "subject_email",
            Identifier::Phone => "subject_phone",
        }
    }

    /// Its name, as an export or an erasure says what found a booking.
    pub fn name(self) -> &'static str {
        match self {
            Identifier::Email => "email",
            Identifier::Phone => "phone",
        }
    }

    /// The bookings table's index (and the SQLite index) over it.
    pub fn index(self) -> &'static str {
        match self {
            Identifier::Email => "by_subject_email",
            Identifier::Phone => "by_subject_phone",
        }
    }

    fn purpose(self) -> Purpose {
        match self {
            Identifier::Email => Purpose::SubjectEmail,
            Identifier::Phone => Purpose::SubjectPhone,
        }
    }
}

/// The keyed tag of one identifier's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectTag {
    identifier: Identifier,
    tag: String,
}

impl SubjectTag {
    /// The tag of an email address.
    pub fn email(email: &Email, key: &MatchKey) -> Self {
        Self::of(
            Identifier::Email,
            email.as_str().to_lowercase().as_bytes(),
            key,
        )
    }

    /// The tag of a phone number.
    pub fn phone(phone: &UkPhone, key: &MatchKey) -> Self {
        Self::of(Identifier::Phone, phone.as_str().as_bytes(), key)
    }

    fn of(identifier: Identifier, value: &[u8], key: &MatchKey) -> Self {
        Self {
            identifier,
            tag: key.tag(identifier.purpose(), value),
        }
    }

    /// Which identifier it was made from.
    pub fn identifier(&self) -> Identifier {
        self.identifier
    }

    /// The tag as stored.
    pub fn as_str(&self) -> &str {
        &self.tag
    }
}

/// The two tags a booking is stored with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTags {
    /// The booker's email address's.
    pub email: SubjectTag,
    /// The booker's phone number's.
    pub phone: SubjectTag,
}

impl SubjectTags {
    /// The tags of a booking's details.
    pub fn of(details: &BookingDetails, key: &MatchKey) -> Self {
        Self {
            email: SubjectTag::email(&details.email, key),
            phone: SubjectTag::phone(&details.phone, key),
        }
    }

    /// The tags of a booking as stored (its `email` and `phone` fields),
    /// for bookings stored before the tags: `None` when either does not
    /// read back.
    pub fn of_stored(email: &str, phone: &str, key: &MatchKey) -> Option<Self> {
        Some(Self {
            email: SubjectTag::email(&Email::from_stored(email).ok()?, key),
            phone: SubjectTag::phone(&UkPhone::from_stored(phone).ok()?, key),
        })
    }

    /// Each tag, by identifier.
    pub fn each(&self) -> [&SubjectTag; 2] {
        [&self.email, &self.phone]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::fixture::{booking, match_key, FORM};
    use sha2::Digest;

    #[test]
    fn an_address_is_one_person_whatever_its_case_and_the_tags_hold_nothing_guessable() {
        let key = match_key();
        let ann = SubjectTags::of(&booking(FORM).details, &key);
        let shouting = booking(&FORM.replace("ann%40example.com", "ANN%40Example.COM"));
        assert_eq!(SubjectTags::of(&shouting.details, &key), ann);
        let other = booking(&FORM.replace("ann%40example.com", "bea%40example.com"));
        assert_ne!(SubjectTags::of(&other.details, &key).email, ann.email);
        assert_eq!(SubjectTags::of(&other.details, &key).phone, ann.phone);

        // Neither tag is the plain value, its plain SHA-256, or the other
        // purpose's tag of the same bytes.
        for (tag, plain) in [
            (&ann.email, "ann@example.com"),
            (&ann.phone, "+447700900123"),
        ] {
            assert!(!tag.as_str().contains(plain));
            let digest = hex::encode(sha2::Sha256::digest(plain.as_bytes()));
            assert!(!digest.contains(tag.as_str().rsplit('.').next().unwrap()));
        }
        assert_ne!(
            key.tag(Purpose::SubjectEmail, b"x"),
            key.tag(Purpose::SubjectPhone, b"x")
        );
        assert_ne!(
            key.tag(Purpose::SubjectEmail, b"ann@example.com"),
            key.tag(Purpose::Recipient, b"ann@example.com")
        );
    }
}
