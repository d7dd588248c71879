//! Free-text fields with their bounds: each type can only hold clean text.

use crate::text::{clean, stored, Lines};
use serde::Serialize;

macro_rules! text_field {
    ($(#[$doc:meta])* $name:ident, $max:expr, $lines:expr, $pattern:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted, in characters as typed
            /// ([`typed_len`](crate::text::typed_len)).
            pub const MAX_CHARS: usize = $max;

            /// What a value may be, for the OpenAPI document (the bound is
            /// its `maxLength`).
            pub const PATTERN: &'static str = $pattern;

            /// Parses text typed by a patient: trimmed, bounded, no control characters.
            pub fn parse(raw: &str) -> Result<Self, String> {
                clean(raw, Self::MAX_CHARS, $lines).map(Self)
            }

            /// Reads back stored text: no bound, only what the field can never hold is refused.
            pub fn from_stored(raw: &str) -> Result<Self, String> {
                stored(raw, $lines).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_field!(
    /// The insurer's name, as the patient writes it.
    Insurer, 100, Lines::Single, concat!("^", crate::text::one_line!(), "$")
);
text_field!(
    /// When the patient would like to be contacted ("weekday mornings").
    PreferredTimes, 200, Lines::Single, concat!("^", crate::text::one_line!(), "$")
);
text_field!(
    /// The patient's free-text message to the clinic.
    Message, 2000, Lines::Multi, concat!(
        "^",
        crate::text::blank!(),
        crate::text::text_char!(),
        "*[^ \\t\\n\\r\\u00a0\\u3000",
        r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]",
        crate::text::text_char!(),
        "*",
        crate::text::blank!(),
        "$"
    )
);

/// The insurance policy or membership number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PolicyNumber(String);

impl PolicyNumber {
    /// The longest number accepted, in characters as sent.
    pub const MAX_CHARS: usize = 40;

    /// ASCII letters, digits, spaces, `-`, `/` and `.`, not blank, with
    /// blanks around.
    pub const PATTERN: &'static str = concat!(
        "^",
        crate::text::blank!(),
        r"[A-Za-z0-9 ./-]*[A-Za-z0-9./-][A-Za-z0-9 ./-]*",
        crate::text::blank!(),
        "$"
    );

    /// Letters, digits, spaces, `-`, `/` and `.`, at most 40 characters.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = clean(raw, Self::MAX_CHARS, Lines::Single)?;
        if text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '/' | '.'))
        {
            Ok(Self(text))
        } else {
            Err("Please use only the letters, numbers, spaces, dashes and slashes of your policy number.".into())
        }
    }

    /// Reads back a stored number: only what no field can hold is refused.
    pub fn from_stored(raw: &str) -> Result<Self, String> {
        stored(raw, Lines::Single).map(Self)
    }

    /// The number as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The version of the consent wording the patient was shown, kept with the booking.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ConsentVersion(String);

impl ConsentVersion {
    /// The longest version accepted, in characters.
    pub const MAX_CHARS: usize = 32;

    /// What a version may be: the form sends it as it has it.
    pub const PATTERN: &'static str = r"^[A-Za-z0-9._-]{1,32}$";

    /// 1 to 32 characters of letters, digits, `.`, `_` and `-`, exactly as sent.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw;
        let ok = !text.is_empty()
            && text.len() <= Self::MAX_CHARS
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err("The consent wording's version is missing or not recognised; please reload the form.".into())
        }
    }

    /// Reads back a stored version: only what no field can hold is refused.
    pub fn from_stored(raw: &str) -> Result<Self, String> {
        stored(raw, Lines::Single).map(Self)
    }

    /// The version.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_bounded_at_two_thousand_characters() {
        assert!(Message::parse(&"a".repeat(2000)).is_ok());
        assert!(Message::parse(&"a".repeat(2001)).is_err());
    }

    #[test]
    fn policy_numbers_are_plain() {
        assert!(PolicyNumber::parse("AB-123/45").is_ok());
        assert!(PolicyNumber::parse("AB<1>").is_err());
    }

    #[test]
    fn consent_version_is_a_token() {
        assert!(ConsentVersion::parse("2026-01").is_ok());
        assert!(ConsentVersion::parse("v 1").is_err());
        assert!(ConsentVersion::parse("").is_err());
    }
}
