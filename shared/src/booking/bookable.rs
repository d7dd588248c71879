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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::model::Condition;

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
}
