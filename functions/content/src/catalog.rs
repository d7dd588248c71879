//! The content as ready answers: every route's JSON body serialised once,
//! with its ETag, when the content is loaded. A request then costs a map
//! lookup and a copy of a reference-counted buffer.

use axum::body::Bytes;
use axum::http::HeaderValue;
use frontdesk_shared::content::{hash, ConditionList, ConsultantList, Content, SupportServiceList};
use frontdesk_shared::contract;
use frontdesk_shared::store::StoreError;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One answer's body and its strong ETag.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The JSON body.
    pub body: Bytes,
    /// `"<hash of the body>"`.
    pub etag: HeaderValue,
}

impl Rendered {
    fn of(value: &impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(Self::from_bytes(Bytes::from(serde_json::to_vec(value)?)))
    }

    /// An answer with a body that is already JSON.
    pub fn from_bytes(body: Bytes) -> Self {
        let etag = HeaderValue::try_from(format!("\"{}\"", hash(&body)))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self { body, etag }
    }
}

/// Every answer the content API can give, by route.
#[derive(Debug, Clone)]
pub struct Catalog {
    conditions: Rendered,
    condition: HashMap<String, Rendered>,
    consultants: Rendered,
    consultants_by_specialty: HashMap<String, Rendered>,
    no_consultants: Rendered,
    consultant: HashMap<String, Rendered>,
    support_services: Rendered,
    prices: Rendered,
    site: Option<Rendered>,
    consent: Option<Rendered>,
    privacy: Option<Rendered>,
    published: contract::Published,
    openapi: OnceLock<Rendered>,
}

impl Catalog {
    /// Serialises every answer of `content`, as the content cache builds it.
    pub fn load(content: &Content) -> Result<Self, StoreError> {
        Self::build(content).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Serialises every answer of `content`.
    pub fn build(content: &Content) -> Result<Self, serde_json::Error> {
        let mut by_specialty: HashMap<String, Vec<_>> = HashMap::new();
        for consultant in &content.consultants {
            for specialty in &consultant.specialties {
                by_specialty
                    .entry(specialty.as_str().to_owned())
                    .or_default()
                    .push(consultant.summary());
            }
        }
        Ok(Self {
            conditions: Rendered::of(&ConditionList {
                conditions: content.conditions.iter().map(|c| c.summary()).collect(),
            })?,
            condition: content
                .conditions
                .iter()
                .map(|c| Ok((c.slug.as_str().to_owned(), Rendered::of(c)?)))
                .collect::<Result<_, serde_json::Error>>()?,
            consultants: Rendered::of(&ConsultantList {
                consultants: content.consultants.iter().map(|c| c.summary()).collect(),
            })?,
            consultants_by_specialty: by_specialty
                .into_iter()
                .map(|(slug, consultants)| {
                    Ok((slug, Rendered::of(&ConsultantList { consultants })?))
                })
                .collect::<Result<_, serde_json::Error>>()?,
            no_consultants: Rendered::of(&ConsultantList {
                consultants: Vec::new(),
            })?,
            consultant: content
                .consultants
                .iter()
                .map(|c| Ok((c.slug.as_str().to_owned(), Rendered::of(c)?)))
                .collect::<Result<_, serde_json::Error>>()?,
            support_services: Rendered::of(&SupportServiceList {
                support_services: &content.support_services,
            })?,
            prices: Rendered::of(&content.prices)?,
            site: content
                .site
                .as_ref()
                .map(|site| Rendered::of(&site.answer()))
                .transpose()?,
            consent: content.current_consent().map(Rendered::of).transpose()?,
            privacy: content.privacy.as_ref().map(Rendered::of).transpose()?,
            published: contract::Published::of(content),
            openapi: OnceLock::new(),
        })
    }

    /// `GET /v1/conditions`.
    pub fn conditions(&self) -> &Rendered {
        &self.conditions
    }

    /// `GET /v1/conditions/{slug}`.
    pub fn condition(&self, slug: &str) -> Option<&Rendered> {
        self.condition.get(slug)
    }

    /// `GET /v1/consultants`, or only those who see patients for `specialty`.
    pub fn consultants(&self, specialty: Option<&str>) -> &Rendered {
        match specialty {
            None => &self.consultants,
            Some(slug) => self
                .consultants_by_specialty
                .get(slug)
                .unwrap_or(&self.no_consultants),
        }
    }

    /// `GET /v1/consultants/{slug}`.
    pub fn consultant(&self, slug: &str) -> Option<&Rendered> {
        self.consultant.get(slug)
    }

    /// `GET /v1/support-services`.
    pub fn support_services(&self) -> &Rendered {
        &self.support_services
    }

    /// `GET /v1/prices`.
    pub fn prices(&self) -> &Rendered {
        &self.prices
    }

    /// `GET /v1/site`.
    pub fn site(&self) -> Option<&Rendered> {
        self.site.as_ref()
    }

    /// `GET /v1/consent`: the wording the form shows now.
    pub fn consent(&self) -> Option<&Rendered> {
        self.consent.as_ref()
    }

    /// `GET /v1/privacy`.
    pub fn privacy(&self) -> Option<&Rendered> {
        self.privacy.as_ref()
    }

    /// `GET /v1/openapi.json`: the document with this content's
    /// specialties, built when first asked for (most cold starts never are).
    pub fn openapi(&self) -> &Rendered {
        self.openapi.get_or_init(|| {
            let doc = contract::document(&self.published);
            let json = contract::to_json(&doc).unwrap_or_else(|error| {
                // Serialising these types cannot fail; if it ever did, the
                // log says so, and the answer is an empty object, not nothing.
                tracing::error!(%error, "the OpenAPI document could not be written");
                "{}".to_owned()
            });
            Rendered::from_bytes(Bytes::from(json))
        })
    }
}
