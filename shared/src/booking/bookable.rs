//! What a booking may name as its specialty: the conditions the clinic
//! publishes, read from the same content the site shows, so a condition is
//! bookable exactly when its page is published.

use super::Slug;
use crate::content::cache::ContentCache;
use crate::content::{Content, ContentError};
use crate::store::StoreError;
use async_trait::async_trait;
use std::sync::Arc;

/// The condition slugs a patient may choose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bookable(Vec<Slug>);

impl Bookable {
    /// These slugs.
    pub fn new(slugs: Vec<Slug>) -> Self {
        Self(slugs)
    }

    /// The conditions of `content`, as the content cache builds it.
    pub fn of(content: &Content) -> Result<Self, StoreError> {
        Ok(Self(
            content.conditions.iter().map(|c| c.slug.clone()).collect(),
        ))
    }

    /// The slugs, in the content's order.
    pub fn slugs(&self) -> &[Slug] {
        &self.0
    }
}

/// Where the intake learns what may be booked: the content, cached (in
/// the functions and the local server), or a fixed list (in tests that
/// are about something else).
#[async_trait]
pub trait BookableSource: Send + Sync {
    /// The specialties bookable now.
    async fn bookable(&self) -> Result<Arc<Bookable>, ContentError>;
}

#[async_trait]
impl BookableSource for ContentCache<Bookable> {
    async fn bookable(&self) -> Result<Arc<Bookable>, ContentError> {
        self.get().await
    }
}

#[async_trait]
impl BookableSource for Bookable {
    async fn bookable(&self) -> Result<Arc<Bookable>, ContentError> {
        Ok(Arc::new(self.clone()))
    }
}
