//! `frontdesk content check` and `frontdesk content push`: the `content/`
//! folder checked file by file, and loaded into a store.

use frontdesk_shared::content::source::{self, Diagnostic};
use frontdesk_shared::content::{self, Content, ContentStore, PushReport};
use std::fmt;
use std::path::Path;

/// Why content was not pushed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The folder has problems: nothing was written.
    #[error("{} problem(s) in the content; nothing was pushed", .0.len())]
    Invalid(Vec<Diagnostic>),
    /// The store failed (what it reports is all or nothing per
    /// transaction), or refused to change a published consent wording.
    #[error("{0}")]
    Refused(#[from] content::PushError),
}

/// Reads and checks the folder: its content, or every problem in it.
pub fn check(dir: &Path) -> Result<Content, Vec<Diagnostic>> {
    source::load(dir)
}

/// Checks the folder and makes `store` hold exactly its content, as of
/// `now` (when a consent wording new to the store is published).
pub async fn push(
    dir: &Path,
    store: &dyn ContentStore,
    now: time::OffsetDateTime,
) -> Result<PushReport, PushError> {
    let content = check(dir).map_err(PushError::Invalid)?;
    Ok(content::push(store, &content, now).await?)
}

/// A count of what a folder holds, as `check` prints it.
pub struct Summary<'a>(pub &'a Content);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let c = self.0;
        write!(
            f,
            "{}, {}, {}, {}, {}, {}{}",
            plural(c.conditions.len(), "condition", "conditions"),
            plural(c.consultants.len(), "consultant", "consultants"),
            plural(
                c.support_services.len(),
                "support service",
                "support services"
            ),
            plural(c.prices.rows.len(), "price row", "price rows"),
            if c.site.is_some() {
                "contact details"
            } else {
                "no contact details"
            },
            plural(c.consent.len(), "consent wording", "consent wordings"),
            match c.current_consent() {
                Some(current) => format!(" (the form shows {})", current.version.as_str()),
                None => String::new(),
            },
        )?;
        if c.privacy.is_some() {
            write!(f, ", privacy notice")?;
        }
        Ok(())
    }
}
