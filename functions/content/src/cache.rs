//! The content held in memory between requests: loaded from the store in
//! one read, served until its time to live runs out, then loaded again by
//! one request while the others wait for it. If the store cannot be read,
//! the copy held is served on (and the store tried again a few seconds
//! later), so a DynamoDB outage does not take the site's pages down.

use crate::catalog::Catalog;
use frontdesk_shared::content::{Content, ContentError, ContentStore};
use frontdesk_shared::store::StoreError;
use frontdesk_shared::time_source::Clock;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::OffsetDateTime;

/// How soon a failed load is tried again while an older copy is served.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

struct Held {
    catalog: Arc<Catalog>,
    fresh_until: OffsetDateTime,
}

/// The in-memory copy of the content, in front of a `ContentStore`.
pub struct ContentCache {
    store: Arc<dyn ContentStore>,
    ttl: Duration,
    clock: Clock,
    held: RwLock<Option<Held>>,
    loading: tokio::sync::Mutex<()>,
}

impl ContentCache {
    /// A cache that keeps what it loads from `store` for `ttl` (0: not at all).
    pub fn new(store: Arc<dyn ContentStore>, ttl: Duration, clock: Clock) -> Self {
        Self {
            store,
            ttl,
            clock,
            held: RwLock::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self, now: OffsetDateTime) -> Option<Arc<Catalog>> {
        let held = self.held.read().ok()?;
        held.as_ref()
            .filter(|h| now < h.fresh_until)
            .map(|h| Arc::clone(&h.catalog))
    }

    fn keep(
        &self,
        catalog: Option<Arc<Catalog>>,
        fresh_until: OffsetDateTime,
    ) -> Option<Arc<Catalog>> {
        let mut held = self.held.write().ok()?;
        let catalog = catalog.or_else(|| held.as_ref().map(|h| Arc::clone(&h.catalog)))?;
        *held = Some(Held {
            catalog: Arc::clone(&catalog),
            fresh_until,
        });
        Some(catalog)
    }

    /// The content to answer with: the copy held while it is fresh, else
    /// newly loaded.
    pub async fn catalog(&self) -> Result<Arc<Catalog>, ContentError> {
        if let Some(catalog) = self.fresh(self.clock.now()) {
            return Ok(catalog);
        }
        let _loading = self.loading.lock().await;
        let now = self.clock.now();
        if let Some(catalog) = self.fresh(now) {
            return Ok(catalog);
        }
        match self.load().await {
            Ok(catalog) => {
                tracing::info!(documents = catalog.documents(), "content loaded");
                let catalog = Arc::new(catalog);
                let fresh_until = now + self.ttl;
                Ok(self
                    .keep(Some(Arc::clone(&catalog)), fresh_until)
                    .unwrap_or(catalog))
            }
            Err(error) => {
                let retry_at = now + RETRY_AFTER_FAILURE.min(self.ttl);
                match self.keep(None, retry_at) {
                    Some(stale) => {
                        tracing::warn!(error = %error, "content store unreadable; serving the copy held");
                        Ok(stale)
                    }
                    None => {
                        tracing::error!(error = %error, "content store unreadable");
                        Err(ContentError::Unavailable(error))
                    }
                }
            }
        }
    }

    async fn load(&self) -> Result<Catalog, StoreError> {
        let documents = self.store.documents().await?;
        let content = Content::from_documents(&documents)?;
        Catalog::build(&content).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}
