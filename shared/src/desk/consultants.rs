//! Who an appointment may be with: the consultants the clinic publishes,
//! read from the same content the site shows.

use crate::booking::Slug;
use crate::content::Content;
use crate::store::StoreError;

/// The consultants' slugs the content publishes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consultants(Vec<Slug>);

impl Consultants {
    /// These slugs.
    pub fn new(slugs: Vec<Slug>) -> Self {
        Self(slugs)
    }

    /// The consultants of `content`, as the content cache builds it.
    pub fn of(content: &Content) -> Result<Self, StoreError> {
        Ok(Self(
            content.consultants.iter().map(|c| c.slug.clone()).collect(),
        ))
    }

    /// Whether a booking may name `slug`: one of them, when there are any.
    pub fn check(&self, slug: &Slug) -> Result<(), String> {
        if self.0.is_empty() {
            Err("The clinic publishes no consultants to choose from; leave it empty.".into())
        } else if self.0.contains(slug) {
            Ok(())
        } else {
            Err("Choose one of the clinic's consultants.".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_published_consultant_may_be_named() {
        let jane = Slug::parse("jane-doe").unwrap();
        let other = Slug::parse("john-roe").unwrap();
        assert!(Consultants::new(vec![jane.clone()]).check(&jane).is_ok());
        assert!(Consultants::new(vec![jane.clone()]).check(&other).is_err());
        assert!(Consultants::default().check(&jane).is_err());
    }
}
