//! The booking's closed choices: specialty, payment, contact method, who it is for.

use serde::{Deserialize, Serialize};

/// A URL-safe identifier for content (a condition or a consultant):
/// lower-case letters, digits and single hyphens, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl TryFrom<String> for Slug {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw).map_err(|_| format!("{raw:?} is not a slug"))
    }
}

impl Slug {
    /// The longest slug, in characters.
    pub const MAX_CHARS: usize = 64;

    /// What a slug is: lowercase ASCII letters and digits in groups joined
    /// by single hyphens (its `maxLength` is [`Slug::MAX_CHARS`]).
    pub const PATTERN: &'static str = "^[a-z0-9]+(-[a-z0-9]+)*$";

    /// Parses a slug.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_CHARS
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err("This is not a recognised choice.".into())
        }
    }

    /// Parses a slug that must be written exactly, with nothing around it:
    /// a content file's field, a document key, a query parameter.
    pub fn parse_exact(raw: &str) -> Result<Self, String> {
        Self::parse(raw).and_then(|slug| {
            if slug.as_str() == raw {
                Ok(slug)
            } else {
                Err("This is not a recognised choice.".into())
            }
        })
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Slug {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some(
                "A slug: lowercase letters and digits joined by single hyphens.",
            ))
            .pattern(Some(Self::PATTERN))
            .max_length(Some(Self::MAX_CHARS))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Slug {}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the appointment is about: one of the clinic's conditions, or "not sure".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Specialty {
    /// A condition the clinic treats, by its content slug.
    Condition(Slug),
    /// The patient does not know which specialty they need.
    NotSure,
}

impl Specialty {
    /// The wire value for "not sure".
    pub const NOT_SURE: &'static str = "not_sure";

    /// Parses a specialty against the configured list of condition slugs.
    pub fn parse(raw: &str, configured: &[Slug]) -> Result<Self, String> {
        if raw == Self::NOT_SURE {
            return Ok(Self::NotSure);
        }
        configured
            .iter()
            .find(|slug| slug.as_str() == raw)
            .map(|slug| Self::Condition(slug.clone()))
            .ok_or_else(|| "Please choose one of the listed specialties, or \"not sure\".".into())
    }

    /// Reads a stored value; the configured list may have changed since it was stored.
    pub fn from_stored(raw: &str) -> Result<Self, String> {
        if raw == Self::NOT_SURE {
            Ok(Self::NotSure)
        } else {
            Slug::parse(raw).map(Self::Condition)
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Condition(slug) => slug.as_str(),
            Self::NotSure => Self::NOT_SURE,
        }
    }
}

impl Serialize for Specialty {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How the appointment is paid for. Insurance always carries its details.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Payment {
    /// The patient pays themselves.
    SelfPay,
    /// An insurer pays, under this policy.
    Insured {
        /// The insurer's name.
        insurer: super::Insurer,
        /// The policy or membership number.
        policy_number: super::PolicyNumber,
    },
}

impl Payment {
    /// The wire value of the choice (`self_pay` or `insured`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SelfPay => PaymentKind::SelfPay,
            Self::Insured { .. } => PaymentKind::Insured,
        }
        .as_str()
    }
}

/// The two payment choices before their details are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentKind {
    /// `self_pay`
    SelfPay,
    /// `insured`
    Insured,
}

impl PaymentKind {
    /// Every choice, with its wire value.
    pub const ALL: [(&'static str, Self); 2] =
        [("self_pay", Self::SelfPay), ("insured", Self::Insured)];

    /// Parses `self_pay` or `insured`, exactly.
    pub fn parse(raw: &str) -> Result<Self, String> {
        choose(&Self::ALL, raw).ok_or_else(|| "Please choose self-pay or insured.".into())
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        wire(&Self::ALL, self)
    }
}

/// The choice whose wire value is exactly `raw`.
fn choose<T: Copy>(all: &[(&'static str, T)], raw: &str) -> Option<T> {
    all.iter()
        .find(|(name, _)| *name == raw)
        .map(|(_, choice)| *choice)
}

/// The wire value of `choice`.
fn wire<T: PartialEq>(all: &[(&'static str, T)], choice: T) -> &'static str {
    all.iter()
        .find(|(_, c)| *c == choice)
        .map_or("", |(name, _)| *name)
}

/// How the patient prefers to be contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactMethod {
    /// By telephone.
    Phone,
    /// By email.
    Email,
}

impl ContactMethod {
    /// Every choice, with its wire value.
    pub const ALL: [(&'static str, Self); 2] = [("phone", Self::Phone), ("email", Self::Email)];

    /// Parses `phone` or `email`, exactly.
    pub fn parse(raw: &str) -> Result<Self, String> {
        choose(&Self::ALL, raw).ok_or_else(|| "Please choose phone or email.".into())
    }

    /// The wire value.
    pub fn as_str(&self) -> &'static str {
        wire(&Self::ALL, *self)
    }
}

/// Whether the person filling the form is the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingFor {
    /// The patient books for themselves.
    #[serde(rename = "self")]
    Myself,
    /// Someone books on the patient's behalf.
    SomeoneElse,
}

impl BookingFor {
    /// Every choice, with its wire value.
    pub const ALL: [(&'static str, Self); 2] =
        [("self", Self::Myself), ("someone_else", Self::SomeoneElse)];

    /// Parses `self` or `someone_else`, exactly.
    pub fn parse(raw: &str) -> Result<Self, String> {
        choose(&Self::ALL, raw).ok_or_else(|| {
            "Please say whether the appointment is for you or for someone else.".into()
        })
    }

    /// The wire value.
    pub fn as_str(&self) -> &'static str {
        wire(&Self::ALL, *self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_choice_is_named_on_the_wire_as_it_is_parsed() {
        for (name, kind) in PaymentKind::ALL {
            assert_eq!(PaymentKind::parse(name), Ok(kind));
            assert_eq!(kind.as_str(), name);
        }
        for (name, method) in ContactMethod::ALL {
            assert_eq!(ContactMethod::parse(name), Ok(method));
            assert_eq!(method.as_str(), name);
        }
        for (name, who) in BookingFor::ALL {
            assert_eq!(BookingFor::parse(name), Ok(who));
            assert_eq!(who.as_str(), name);
        }
        assert_eq!(Payment::SelfPay.kind(), "self_pay");
        let insured = Payment::Insured {
            insurer: super::super::Insurer::parse("Fixture Health").unwrap(),
            policy_number: super::super::PolicyNumber::parse("FX-1").unwrap(),
        };
        assert_eq!(insured.kind(), "insured");
    }

    #[test]
    fn a_specialty_reads_back_as_it_was_stored() {
        let slug = Slug::parse("neuroendocrine-tumours").unwrap();
        assert_eq!(slug.to_string(), "neuroendocrine-tumours");
        assert_eq!(String::from(slug.clone()), "neuroendocrine-tumours");
        let condition = Specialty::from_stored("neuroendocrine-tumours").unwrap();
        assert_eq!(condition, Specialty::Condition(slug));
        assert_eq!(condition.as_str(), "neuroendocrine-tumours");
        assert_eq!(Specialty::from_stored("not_sure"), Ok(Specialty::NotSure));
        assert_eq!(Specialty::NotSure.as_str(), "not_sure");
        assert!(Specialty::from_stored("Not Sure").is_err());
    }

    #[test]
    fn slugs_are_strict() {
        assert!(Slug::parse("neuroendocrine-tumours").is_ok());
        assert!(Slug::parse(" neuroendocrine-tumours ").is_ok());
        assert!(Slug::parse_exact(" neuroendocrine-tumours ").is_err());
        assert!(Slug::parse_exact("neuroendocrine-tumours").is_ok());
        for bad in ["", "-a", "a-", "a--b", "A", "a b", "a/b", &"a".repeat(65)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn specialty_must_be_configured_or_not_sure() {
        let configured = vec![Slug::parse("neuroendocrine-tumours").unwrap()];
        assert_eq!(
            Specialty::parse("not_sure", &configured).unwrap(),
            Specialty::NotSure
        );
        assert!(Specialty::parse("neuroendocrine-tumours", &configured).is_ok());
        assert!(Specialty::parse("cardiology", &configured).is_err());
    }
}
