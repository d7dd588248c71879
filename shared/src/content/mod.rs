//! The clinic's content: the model the site reads (`model`), the parser of
//! the `content/` folder (`source`, feature `content-source`), and the
//! `ContentStore` port that the content function reads and
//! `frontdesk content push` writes.
//!
//! A store holds one JSON document per condition, consultant and support
//! service, and one each for the price list and the site. A push compares
//! each document's hash with the stored one and writes only the difference.

pub mod cache;
pub mod model;
#[cfg(feature = "content-source")]
pub mod source;

pub use model::{
    Audience, Condition, ConditionList, ConsentWording, Consultant, ConsultantList, Content, Entry,
    HowToBook, Pence, PriceList, PriceRow, PrivacyNotice, RichText, Section, Site, SiteAnswer,
    SupportService, SupportServiceList, SymptomGroup,
};

use crate::booking::Slug;
use crate::store::StoreError;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A condition page.
    Condition,
    /// A consultant.
    Consultant,
    /// A support service.
    SupportService,
    /// The price list.
    Prices,
    /// The site's contact details.
    Site,
    /// One version of the consent wording.
    Consent,
    /// The privacy notice.
    Privacy,
}

impl Kind {
    /// Every kind of document.
    pub const ALL: [Kind; 7] = [
        Kind::Condition,
        Kind::Consultant,
        Kind::SupportService,
        Kind::Prices,
        Kind::Site,
        Kind::Consent,
        Kind::Privacy,
    ];

    /// The kind's name in document keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Condition => "condition",
            Self::Consultant => "consultant",
            Self::SupportService => "support-service",
            Self::Prices => "prices",
            Self::Site => "site",
            Self::Consent => "consent",
            Self::Privacy => "privacy",
        }
    }
}

/// A document's key: `condition/<slug>`, `consultant/<slug>`,
/// `support-service/<slug>`, `consent/<version>`, `prices`, `site` or `privacy`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentKey(String);

impl DocumentKey {
    /// The key of a document of a kind with a slug.
    pub fn of(kind: Kind, slug: &Slug) -> Self {
        Self(format!("{}/{}", kind.as_str(), slug.as_str()))
    }

    /// The key of the one document of a kind without slugs.
    pub fn single(kind: Kind) -> Self {
        Self(kind.as_str().to_owned())
    }

    /// Reads a stored key back.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let key = Self(raw.to_owned());
        key.kind()
            .map(|_| key)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown content key {raw:?}")))
    }

    /// The kind of document under this key.
    pub fn kind(&self) -> Option<Kind> {
        let (kind, slug) = match self.0.split_once('/') {
            Some((kind, slug)) => (kind, Some(slug)),
            None => (self.0.as_str(), None),
        };
        let kind = Kind::ALL.into_iter().find(|k| k.as_str() == kind)?;
        let has_slug = matches!(
            kind,
            Kind::Condition | Kind::Consultant | Kind::SupportService | Kind::Consent
        );
        match slug {
            Some(slug) if has_slug && Slug::parse_exact(slug).is_ok() => Some(kind),
            None if !has_slug => Some(kind),
            _ => None,
        }
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One stored document: its key, its JSON and the hash of that JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Where it is stored.
    pub key: DocumentKey,
    /// The model value as JSON.
    pub json: String,
    /// A hash of `json`, to tell changed documents from unchanged ones.
    pub hash: String,
}

impl Document {
    /// A document of `value` under `key`.
    pub fn new(key: DocumentKey, value: &impl serde::Serialize) -> Result<Self, StoreError> {
        let json = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Self {
            key,
            hash: hash(json.as_bytes()),
            json,
        })
    }

    fn value<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_str(&self.json)
            .map_err(|e| StoreError::Corrupt(format!("content {}: {e}", self.key.as_str())))
    }
}

/// A strong, short hash of some bytes (128 bits of SHA-256, in hex).
pub fn hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..16])
}

impl Content {
    /// The documents a store keeps of this content.
    pub fn documents(&self) -> Result<Vec<Document>, StoreError> {
        let mut documents = Vec::new();
        for c in &self.conditions {
            documents.push(Document::new(DocumentKey::of(Kind::Condition, &c.slug), c)?);
        }
        for c in &self.consultants {
            documents.push(Document::new(
                DocumentKey::of(Kind::Consultant, &c.slug),
                c,
            )?);
        }
        for s in &self.support_services {
            documents.push(Document::new(
                DocumentKey::of(Kind::SupportService, &s.slug),
                s,
            )?);
        }
        documents.push(Document::new(
            DocumentKey::single(Kind::Prices),
            &self.prices,
        )?);
        if let Some(site) = &self.site {
            documents.push(Document::new(DocumentKey::single(Kind::Site), site)?);
        }
        for wording in &self.consent {
            documents.push(Document::new(
                DocumentKey::of(Kind::Consent, &wording.version),
                wording,
            )?);
        }
        if let Some(privacy) = &self.privacy {
            documents.push(Document::new(DocumentKey::single(Kind::Privacy), privacy)?);
        }
        Ok(documents)
    }

    /// The content a store's documents hold, in the API's order.
    pub fn from_documents(documents: &[Document]) -> Result<Self, StoreError> {
        let mut content = Content::default();
        for document in documents {
            match document.key.kind() {
                Some(Kind::Condition) => content.conditions.push(document.value()?),
                Some(Kind::Consultant) => content.consultants.push(document.value()?),
                Some(Kind::SupportService) => content.support_services.push(document.value()?),
                Some(Kind::Prices) => content.prices = document.value()?,
                Some(Kind::Site) => content.site = Some(document.value()?),
                Some(Kind::Consent) => content.consent.push(document.value()?),
                Some(Kind::Privacy) => content.privacy = Some(document.value()?),
                None => {
                    return Err(StoreError::Corrupt(format!(
                        "unknown content key {:?}",
                        document.key.as_str()
                    )))
                }
            }
        }
        content.sort();
        Ok(content)
    }
}

/// What a push writes: documents to put (new or changed) and keys to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// New and changed documents.
    pub put: Vec<Document>,
    /// Keys of documents no longer in the content.
    pub remove: Vec<DocumentKey>,
}

impl Changes {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.remove.is_empty()
    }
}

/// What a push did, for the operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Documents that were not stored before.
    pub added: usize,
    /// Documents whose content changed.
    pub changed: usize,
    /// Documents removed because their file is gone.
    pub removed: usize,
    /// Documents left as they were.
    pub unchanged: usize,
}

impl std::fmt::Display for PushReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} added, {} changed, {} removed, {} unchanged",
            self.added, self.changed, self.removed, self.unchanged
        )
    }
}

/// The changes that turn `stored` into `wanted`, and how they count.
pub fn diff(stored: &[Document], wanted: Vec<Document>) -> (Changes, PushReport) {
    let mut old: BTreeMap<&DocumentKey, &str> =
        stored.iter().map(|d| (&d.key, d.hash.as_str())).collect();
    let mut changes = Changes::default();
    let mut report = PushReport::default();
    for document in wanted {
        match old.remove(&document.key) {
            Some(hash) if hash == document.hash => report.unchanged += 1,
            Some(_) => {
                report.changed += 1;
                changes.put.push(document);
            }
            None => {
                report.added += 1;
                changes.put.push(document);
            }
        }
    }
    changes.remove = old.into_keys().cloned().collect();
    report.removed = changes.remove.len();
    (changes, report)
}

/// Makes the store hold exactly `content`: what changed is replaced, what
/// was deleted is removed, and the rest is not written at all. A consent
/// wording keeps the time it was first pushed; one new to the store is
/// stamped with `now`. A published wording is never changed or removed:
/// bookings name it, and their proof is its words.
pub async fn push(
    store: &dyn ContentStore,
    content: &Content,
    now: OffsetDateTime,
) -> Result<PushReport, PushError> {
    let stored = store.documents().await?;
    let content = stamp_consent(&stored, content, now)?;
    let (changes, report) = diff(&stored, content.documents()?);
    if !changes.is_empty() {
        store.apply(&changes).await?;
    }
    Ok(report)
}

/// Why a push wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A published consent wording's words were changed under its version.
    #[error("consent version {0:?} is published with other words: put the new words under a new version (a new file, introduced later)")]
    ConsentRewritten(String),
    /// A published consent wording's file was removed.
    #[error("consent version {0:?} is published and bookings may name it: keep its file (a newer version replaces it on the form)")]
    ConsentRemoved(String),
}

/// `content` with each consent wording's `published_at`: as stored, or
/// `now` for a version the store does not hold yet; refused when a stored
/// version is missing or holds other words.
fn stamp_consent(
    stored: &[Document],
    content: &Content,
    now: OffsetDateTime,
) -> Result<Content, PushError> {
    let mut content = content.clone();
    for document in stored
        .iter()
        .filter(|d| d.key.kind() == Some(Kind::Consent))
    {
        let published = document.value::<ConsentWording>()?;
        match content
            .consent
            .iter_mut()
            .find(|w| w.version == published.version)
        {
            None => return Err(PushError::ConsentRemoved(published.version.as_str().into())),
            Some(wording) if wording.sha256 != published.sha256 => {
                return Err(PushError::ConsentRewritten(
                    published.version.as_str().into(),
                ))
            }
            Some(wording) => wording.published_at = published.published_at,
        }
    }
    for wording in &mut content.consent {
        if wording.published_at.is_none() {
            wording.published_at = Some(crate::booking::record::rfc3339(now));
        }
    }
    Ok(content)
}

/// Why the content API cannot answer a request with content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// No document of this kind has this slug.
    #[error("no {what} {slug:?}")]
    NotFound {
        /// What was asked for (`condition`, `consultant`, `site`).
        what: &'static str,
        /// The slug asked for (empty for the site).
        slug: String,
    },
    /// A query parameter's value cannot be used.
    #[error("query parameter {name}: {message}")]
    BadQuery {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The store cannot be read and no earlier copy is held.
    #[error("content unavailable: {0}")]
    Unavailable(StoreError),
}

/// Where the content is kept: a DynamoDB table in Lambda, SQLite locally.
#[async_trait]
pub trait ContentStore: Send + Sync {
    /// Every stored document, in key order: the whole content in one read.
    async fn documents(&self) -> Result<Vec<Document>, StoreError>;

    /// The stored documents of `kind` alone, in key order: for a function
    /// that needs one part of the content (the notifier, the site's
    /// details) without reading the pages.
    async fn documents_of(&self, kind: Kind) -> Result<Vec<Document>, StoreError>;

    /// Writes new and changed documents and removes deleted ones, all at
    /// once where the backend can (in DynamoDB, up to 100 per transaction).
    async fn apply(&self, changes: &Changes) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(key: &str, json: &str) -> Document {
        Document {
            key: DocumentKey::parse(key).unwrap(),
            json: json.into(),
            hash: hash(json.as_bytes()),
        }
    }

    #[test]
    fn keys_name_their_kind_and_refuse_anything_else() {
        assert_eq!(
            DocumentKey::parse("condition/neuroendocrine-tumours")
                .unwrap()
                .kind(),
            Some(Kind::Condition)
        );
        assert_eq!(DocumentKey::parse("site").unwrap().kind(), Some(Kind::Site));
        for bad in ["site/x", "condition", "condition/Bad Slug", "recipe/x", ""] {
            assert!(DocumentKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_diff_puts_new_and_changed_and_removes_the_rest() {
        let stored = vec![
            doc("site", "1"),
            doc("condition/a", "a"),
            doc("condition/gone", "g"),
        ];
        let wanted = vec![
            doc("site", "1"),
            doc("condition/a", "a2"),
            doc("prices", "p"),
        ];
        let (changes, report) = diff(&stored, wanted);
        assert_eq!(
            report,
            PushReport {
                added: 1,
                changed: 1,
                removed: 1,
                unchanged: 1
            }
        );
        let put: Vec<&str> = changes.put.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(put, ["condition/a", "prices"]);
        assert_eq!(
            changes.remove,
            [DocumentKey::parse("condition/gone").unwrap()]
        );
    }
}
