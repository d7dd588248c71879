//! What a booking may name as its specialty: the conditions the clinic
//! publishes, read from the same content the site shows, so a condition is
//! bookable exactly when its page is published.

use super::Slug;
use crate::content::Content;
use crate::store::StoreError;

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
