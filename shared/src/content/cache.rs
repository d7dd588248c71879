//! The content held in memory between requests, as what a function makes of
//! it (the content function's ready answers, the booking function's
//! bookable specialties, the notifier's clinic details): loaded from the store in one read, served until
//! its time to live runs out, then loaded again by one request while the
//! others wait for it. If the store cannot be read, the copy held is served
//! on (and the store tried again a few seconds later), so a DynamoDB outage
//! does not take the site's pages or its bookings down.

use super::{Content, ContentError, ContentStore, Kind};
use crate::store::StoreError;
use crate::time_source::Clock;
use async_trait::async_trait;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::OffsetDateTime;

/// How soon a failed load is tried again while an older copy is served.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

struct Held<T> {
    built: Arc<T>,
    fresh_until: OffsetDateTime,
}

/// What a function makes of the content when it is loaded.
pub type Build<T> = fn(&Content) -> Result<T, StoreError>;

/// The in-memory copy of the content, as `T`, in front of a `ContentStore`.
pub struct ContentCache<T> {
    store: Arc<dyn ContentStore>,
    ttl: Duration,
    clock: Clock,
    build: Build<T>,
    reading: Option<Kind>,
    held: RwLock<Option<Held<T>>>,
    loading: tokio::sync::Mutex<()>,
}

impl<T> ContentCache<T> {
    /// A cache that keeps what `build` makes of the content loaded from
    /// `store` for `ttl` (0: not at all).
    pub fn new(store: Arc<dyn ContentStore>, ttl: Duration, clock: Clock, build: Build<T>) -> Self {
        Self {
            store,
            ttl,
            clock,
            build,
            reading: None,
            held: RwLock::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The same cache reading only the documents of `kind`: what `build`
    /// is given holds nothing else, and a load reads no page it does not need.
    pub fn reading(self, kind: Kind) -> Self {
        Self {
            reading: Some(kind),
            ..self
        }
    }

    fn fresh(&self, now: OffsetDateTime) -> Option<Arc<T>> {
        let held = self.held.read().ok()?;
        held.as_ref()
            .filter(|h| now < h.fresh_until)
            .map(|h| Arc::clone(&h.built))
    }

    fn keep(&self, built: Option<Arc<T>>, fresh_until: OffsetDateTime) -> Option<Arc<T>> {
        let mut held = self.held.write().ok()?;
        let built = built.or_else(|| held.as_ref().map(|h| Arc::clone(&h.built)))?;
        *held = Some(Held {
            built: Arc::clone(&built),
            fresh_until,
        });
        Some(built)
    }

    /// The content to answer with: the copy held while it is fresh, else
    /// newly loaded.
    pub async fn get(&self) -> Result<Arc<T>, ContentError> {
        if let Some(built) = self.fresh(self.clock.now()) {
            return Ok(built);
        }
        let _loading = self.loading.lock().await;
        let now = self.clock.now();
        if let Some(built) = self.fresh(now) {
            return Ok(built);
        }
        match self.load().await {
            Ok((built, documents)) => {
                tracing::info!(documents, "content loaded");
                let built = Arc::new(built);
                let fresh_until = now + self.ttl;
                Ok(self
                    .keep(Some(Arc::clone(&built)), fresh_until)
                    .unwrap_or(built))
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

    /// The content built, and how many documents it was read from.
    async fn load(&self) -> Result<(T, usize), StoreError> {
        let documents = match self.reading {
            Some(kind) => self.store.documents_of(kind).await?,
            None => self.store.documents().await?,
        };
        let content = Content::from_documents(&documents)?;
        Ok(((self.build)(&content)?, documents.len()))
    }
}

/// Where a function learns what the content publishes now, as `T` (the
/// bookable specialties, the clinic's details): the content through a
/// [`ContentCache`] in the functions and the local server, or [`Fixed`]
/// in tests about something else.
#[async_trait]
pub trait Publication<T>: Send + Sync {
    /// What is published now.
    async fn current(&self) -> Result<Arc<T>, ContentError>;
}

#[async_trait]
impl<T: Send + Sync> Publication<T> for ContentCache<T> {
    async fn current(&self) -> Result<Arc<T>, ContentError> {
        self.get().await
    }
}

/// A publication that never changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fixed<T>(pub Arc<T>);

#[async_trait]
impl<T: Send + Sync> Publication<T> for Fixed<T> {
    async fn current(&self) -> Result<Arc<T>, ContentError> {
        Ok(Arc::clone(&self.0))
    }
}
