//! The content API as the tests build it: the real router over a content
//! store (DynamoDB Local or embedded SQLite) that the shipped `content/`
//! folder, or a test's copy of it, has been pushed to.

use crate::{
    call, dynamodb_endpoint, random_tag, Backend, RequestCounter, TestClock, TestResponse,
};
use aws_sdk_dynamodb::Client;
use axum::body::Body;
use axum::http::Request;
use axum::Router;
use frontdesk_content::{router, AppState};
use frontdesk_shared::content::{ContentStore, PushReport};
use frontdesk_shared::store::dynamodb::DynamoContentStore;
use frontdesk_shared::store::embedded::EmbeddedBookingStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The repository's `content/` folder: what the clinic ships.
pub fn shipped_content() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../content")
}

/// The shipped content, read and checked as `content push` reads it.
pub fn shipped_model() -> frontdesk_shared::content::Content {
    frontdesk_cli::content::check(&shipped_content()).expect("the shipped content is valid")
}

/// A folder of test fixtures under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A scratch folder, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty folder under the system's temporary folder.
    pub fn new(name: &str) -> Self {
        let path = crate::unique_temp_path(name);
        std::fs::create_dir_all(&path).expect("a temporary folder");
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a folder tree (the content folder, for a test to edit).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("readable folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A copy of the shipped content for a test to change.
pub fn content_copy() -> TempDir {
    let dir = TempDir::new("content");
    copy_tree(&shipped_content(), dir.path());
    dir
}

/// Replaces `from` with `to` in a file, which must contain it.
pub fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("readable file");
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).expect("writable file");
}

/// A content store for one test, and a way to look at its traffic.
#[derive(Clone)]
pub enum ContentHandle {
    /// SQLite in memory.
    Embedded(EmbeddedBookingStore),
    /// A fresh DynamoDB Local table, created from `infra/template.yaml`.
    Dynamo {
        /// The client the store uses; its requests are counted.
        client: Client,
        /// Its request count.
        counter: RequestCounter,
        /// The table's name.
        table: String,
    },
    /// Any other store, such as DynamoDB reached through a relay.
    Port(Arc<dyn ContentStore>),
}

impl ContentHandle {
    /// A fresh, empty content store of the given kind.
    pub async fn create(backend: Backend) -> Self {
        crate::logs::capture();
        match backend {
            Backend::Embedded => Self::Embedded(EmbeddedBookingStore::in_memory().expect("sqlite")),
            Backend::DynamoDb => {
                dynamodb_endpoint();
                let sdk = frontdesk_shared::aws::load(Duration::from_secs(5)).await;
                let counter = RequestCounter::default();
                let client = Client::from_conf(
                    aws_sdk_dynamodb::config::Builder::from(&sdk)
                        .interceptor(counter.clone())
                        .build(),
                );
                let table = format!("content-{}-{}", std::process::id(), random_tag());
                frontdesk_cli::tables::ensure(
                    &Client::new(&sdk),
                    frontdesk_cli::tables::CONTENT,
                    &table,
                )
                .await
                .expect("content table");
                Self::Dynamo {
                    client,
                    counter,
                    table,
                }
            }
        }
    }

    /// A fresh store holding the shipped content, as after `frontdesk
    /// content push`: its conditions are the bookable specialties.
    pub async fn published(backend: Backend) -> Self {
        let store = Self::create(backend).await;
        store.push(&shipped_content()).await;
        store
    }

    /// The DynamoDB table's name, for a bootstrap's `CONTENT_TABLE`.
    pub fn table(&self) -> Option<&str> {
        match self {
            Self::Dynamo { table, .. } => Some(table),
            _ => None,
        }
    }

    /// The store as the content function and `content push` use it.
    pub fn port(&self) -> Arc<dyn ContentStore> {
        match self {
            Self::Embedded(store) => Arc::new(store.clone()),
            Self::Dynamo { client, table, .. } => {
                Arc::new(DynamoContentStore::new(client.clone(), table))
            }
            Self::Port(port) => Arc::clone(port),
        }
    }

    /// DynamoDB requests sent so far (`None` for the embedded store).
    pub fn requests(&self) -> Option<usize> {
        match self {
            Self::Dynamo { counter, .. } => Some(counter.get()),
            Self::Embedded(_) | Self::Port(_) => None,
        }
    }

    /// Pushes a content folder, as `frontdesk content push` does.
    pub async fn push(&self, dir: &Path) -> PushReport {
        self.push_at(dir, time::OffsetDateTime::now_utc()).await
    }

    /// Pushes a content folder at `now`, as a push at that time would.
    pub async fn push_at(&self, dir: &Path, now: time::OffsetDateTime) -> PushReport {
        frontdesk_cli::content::push(dir, self.port().as_ref(), now)
            .await
            .unwrap_or_else(|e| match e {
                frontdesk_cli::content::PushError::Invalid(problems) => panic!(
                    "the content has problems:\n{}",
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
                other => panic!("push failed: {other}"),
            })
    }
}

/// How long the test apps keep loaded content: the clock is moved past it.
pub const CACHE_TTL: Duration = Duration::from_secs(60);

/// The content API over a store, with a clock the test moves.
pub struct ContentApp {
    /// The router under test.
    pub router: Router,
    /// Its store.
    pub store: ContentHandle,
    /// The clock its cache reads.
    pub clock: TestClock,
}

impl ContentApp {
    /// The API over a fresh store that the shipped content was pushed to.
    pub async fn spawn(backend: Backend) -> Self {
        Self::with_content(backend, &shipped_content()).await
    }

    /// The API over a fresh store that `dir` was pushed to.
    pub async fn with_content(backend: Backend, dir: &Path) -> Self {
        let store = ContentHandle::create(backend).await;
        store.push(dir).await;
        Self::over(store)
    }

    /// The API over an existing store.
    pub fn over(store: ContentHandle) -> Self {
        let clock = TestClock::new();
        Self {
            router: router(AppState::over(store.port(), CACHE_TTL, clock.clock())),
            store,
            clock,
        }
    }

    /// The API over any content store.
    pub fn over_store(port: Arc<dyn ContentStore>) -> Self {
        Self::over(ContentHandle::Port(port))
    }

    /// Sends a request.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        call(&self.router, request, crate::CLIENT.into()).await
    }

    /// `GET path` with some headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::empty()).expect("request"))
            .await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.get_with(path, &[]).await
    }

    /// Moves the clock past the cache's time to live.
    pub fn expire_cache(&self) {
        self.clock.advance(
            time::Duration::try_from(CACHE_TTL).expect("a duration") + time::Duration::SECOND,
        );
    }
}
