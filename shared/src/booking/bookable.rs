//! What a booking may name: as its specialty, the conditions the clinic
//! publishes, and as its consent, the wording the form shows now (or, for
//! a day after a new one is pushed, the one it replaced), both read from
//! the same content the site shows, so a booking and its page agree.

use super::{ConsentVersion, Slug};
use crate::booking::record::parse_rfc3339;
use crate::content::{ConsentWording, Content};
use crate::store::StoreError;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

/// How long after a new consent wording is pushed the one it replaced is
/// still accepted: a form opened before the push, and sent after it, books.
pub const CONSENT_GRACE: Duration = Duration::hours(24);

/// The SHA-256 (hex) of a consent wording's labels, kept with each booking
/// as the proof of the words its patient was shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct WordingHash(String);

impl WordingHash {
    /// The hash a published wording carries.
    pub fn of(wording: &ConsentWording) -> Self {
        Self(wording.sha256.clone())
    }

    /// Reads back a stored hash: 64 lower-case hex digits.
    pub fn from_stored(raw: &str) -> Result<Self, String> {
        let ok = raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("{raw:?} is not a SHA-256 in hex"))
        }
    }

    /// The hash, in hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A consent wording a booking may name, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedWording {
    /// The version the form sends.
    pub version: String,
    /// The hash of its words.
    pub sha256: WordingHash,
    /// When it stops being accepted: `None` for the current wording.
    pub until: Option<OffsetDateTime>,
}

impl AcceptedWording {
    /// Whether it may be named at `now`.
    fn open_at(&self, now: OffsetDateTime) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// What a booking may name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bookable {
    slugs: Vec<Slug>,
    wordings: Vec<AcceptedWording>,
}

impl Bookable {
    /// These slugs and wordings.
    pub fn new(slugs: Vec<Slug>, wordings: Vec<AcceptedWording>) -> Self {
        Self { slugs, wordings }
    }

    /// The conditions and consent wordings of `content`, as the content
    /// cache builds it. The wording before the current one is accepted
    /// until `CONSENT_GRACE` after the current one was pushed; content never
    /// pushed (no `published_at`) gives it no grace.
    pub fn of(content: &Content) -> Result<Self, StoreError> {
        let mut wordings = Vec::new();
        if let Some(current) = content.current_consent() {
            wordings.push(AcceptedWording {
                version: current.version.as_str().to_owned(),
                sha256: WordingHash::of(current),
                until: None,
            });
            let replaced = content.consent.iter().rev().nth(1);
            let pushed = current
                .published_at
                .as_deref()
                .map(parse_rfc3339)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("consent/{}: {e}", current.version)))?;
            if let (Some(replaced), Some(pushed)) = (replaced, pushed) {
                wordings.push(AcceptedWording {
                    version: replaced.version.as_str().to_owned(),
                    sha256: WordingHash::of(replaced),
                    until: Some(pushed + CONSENT_GRACE),
                });
            }
        }
        Ok(Self {
            slugs: content.conditions.iter().map(|c| c.slug.clone()).collect(),
            wordings,
        })
    }

    /// The slugs, in the content's order.
    pub fn slugs(&self) -> &[Slug] {
        &self.slugs
    }

    /// The wordings a booking may name at `now`, the current one first.
    pub fn wordings_at(&self, now: OffsetDateTime) -> Vec<AcceptedWording> {
        self.wordings
            .iter()
            .filter(|w| w.open_at(now))
            .cloned()
            .collect()
    }
}

/// The hash of the wording `version` names among `accepted`, or the
/// message that sends the patient back to the form.
pub fn wording_of(
    version: &ConsentVersion,
    accepted: &[AcceptedWording],
) -> Result<WordingHash, String> {
    accepted
        .iter()
        .find(|w| w.version == version.as_str())
        .map(|w| w.sha256.clone())
        .ok_or_else(|| {
            "The consent wording on this page has changed since it was opened; \
             please reload the page, read the new wording and send the form again."
                .to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::model::Condition;
    use time::macros::datetime;

    fn condition(slug: &str) -> Condition {
        Condition {
            slug: Slug::parse(slug).unwrap(),
            title: slug.into(),
            summary: String::new(),
            updated: "2026-12-01".into(),
            related_specialties: Vec::new(),
            types: Vec::new(),
            symptoms: Vec::new(),
            tests: Vec::new(),
            scans: Vec::new(),
            treatments: Vec::new(),
            sections: Vec::new(),
        }
    }

    fn wording(version: &str, introduced: &str, published_at: Option<&str>) -> ConsentWording {
        let contact = format!("Contact me ({version})");
        ConsentWording {
            version: Slug::parse(version).unwrap(),
            introduced: introduced.into(),
            sha256: ConsentWording::hash_of(&contact, "email", "sms"),
            contact,
            marketing_email: "email".into(),
            marketing_sms: "sms".into(),
            published_at: published_at.map(Into::into),
        }
    }

    #[test]
    fn the_bookable_specialties_are_the_published_conditions_in_order() {
        let content = Content {
            conditions: vec![
                condition("neuroendocrine-tumours"),
                condition("adrenal-tumours"),
            ],
            ..Content::default()
        };
        let bookable = Bookable::of(&content).unwrap();
        let slugs: Vec<&str> = bookable.slugs().iter().map(Slug::as_str).collect();
        assert_eq!(slugs, ["neuroendocrine-tumours", "adrenal-tumours"]);
        assert_eq!(
            Bookable::of(&Content::default()).unwrap().slugs(),
            &[] as &[Slug]
        );
    }

    #[test]
    fn the_replaced_wording_is_accepted_for_a_day_after_the_push_and_older_ones_never() {
        let mut content = Content {
            consent: vec![
                wording("2027-03", "2027-03-01", Some("2027-03-02T09:00:00.000Z")),
                wording("2026-01", "2026-01-10", Some("2026-01-10T09:00:00.000Z")),
                wording("2026-11", "2026-11-24", Some("2026-11-24T09:00:00.000Z")),
            ],
            ..Content::default()
        };
        content.sort();
        let bookable = Bookable::of(&content).unwrap();
        let versions = |at| -> Vec<String> {
            bookable
                .wordings_at(at)
                .into_iter()
                .map(|w| w.version)
                .collect()
        };
        assert_eq!(
            versions(datetime!(2027-03-03 08:59:59 UTC)),
            ["2027-03", "2026-11"]
        );
        assert_eq!(versions(datetime!(2027-03-03 09:00:00 UTC)), ["2027-03"]);
        let accepted = bookable.wordings_at(datetime!(2027-03-02 10:00 UTC));
        let v = |s: &str| ConsentVersion::parse(s).unwrap();
        assert_eq!(
            wording_of(&v("2026-11"), &accepted).unwrap(),
            WordingHash::of(&content.consent[1])
        );
        assert!(wording_of(&v("2026-01"), &accepted)
            .unwrap_err()
            .contains("reload"));
    }

    #[test]
    fn content_never_pushed_gives_the_replaced_wording_no_grace() {
        let mut content = Content {
            consent: vec![
                wording("2026-11", "2026-11-24", None),
                wording("2027-03", "2027-03-01", None),
            ],
            ..Content::default()
        };
        content.sort();
        let accepted = Bookable::of(&content)
            .unwrap()
            .wordings_at(datetime!(2027-03-01 00:00 UTC));
        assert_eq!(accepted.len(), 1);
        assert_eq!(accepted[0].version, "2027-03");
        assert!(Bookable::of(&Content::default())
            .unwrap()
            .wordings_at(datetime!(2027-03-01 00:00 UTC))
            .is_empty());
    }

    #[test]
    fn a_stored_hash_is_sixty_four_hex_digits() {
        let hash = ConsentWording::hash_of("a", "b", "c");
        assert!(WordingHash::from_stored(&hash).is_ok());
        assert!(WordingHash::from_stored(&hash.to_uppercase()).is_err());
        assert!(WordingHash::from_stored(&hash[1..]).is_err());
    }
}
