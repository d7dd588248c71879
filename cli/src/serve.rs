//! `frontdesk serve`: the functions' routers on one local port.

use crate::site::Site;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use frontdesk_booking::{AppState, ClientAddr};
use frontdesk_shared::booking::intake::Intake;
use frontdesk_shared::booking::Bookable;
use frontdesk_shared::content::cache::{ContentCache, Publication};
use frontdesk_shared::content::ContentStore;
use frontdesk_shared::match_key::MatchKey;
use frontdesk_shared::notify::NoticeLedger;
use frontdesk_shared::problem::Problem;
use frontdesk_shared::store::dynamodb::{DynamoBookingStore, DynamoContentStore};
use frontdesk_shared::store::embedded::EmbeddedBookingStore;
use frontdesk_shared::store::{BookingStore, StoreError};
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::{BookingConfig, ContentConfig, DeskConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where `serve` keeps bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// A SQLite file in the data directory.
    Embedded,
    /// DynamoDB, through the AWS SDK's standard environment
    /// (`AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local).
    Dynamodb,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The data directory or the listening socket failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// The file inside a data directory that holds its match key.
pub fn match_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("match-key.json")
}

/// The data directory's match key, made (random, readable by its owner
/// only) the first time: every guard of its database is tagged with it, so
/// the database alone holds nothing that can be matched against a guess.
pub fn local_match_key(data_dir: &Path) -> Result<MatchKey, ServeError> {
    let path = match_key_path(data_dir);
    let io = |context: &str| {
        let context = format!("{context} {}", path.display());
        move |source| ServeError::Io { context, source }
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => MatchKey::from_secret_string(&text).map_err(|e| ServeError::Io {
            context: format!("reading {}", path.display()),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            frontdesk_shared::owner_only::create_dir(data_dir)
                .map_err(io("creating the folder of"))?;
            let key = MatchKey::generate().map_err(|e| ServeError::Io {
                context: "making a match key".into(),
                source: std::io::Error::other(e),
            })?;
            if write_private(&path, &key.to_secret_string()).map_err(io("writing"))? {
                Ok(key)
            } else {
                // Another command made the folder's key first: that one is it.
                local_match_key(data_dir)
            }
        }
        Err(e) => Err(io("reading")(e)),
    }
}

/// Puts a new file that only its owner can read at `path`, whole or not at
/// all (written aside, then linked into place, which never replaces a
/// file): `false` when one was there first, which is then the one to use.
fn write_private(path: &Path, text: &str) -> std::io::Result<bool> {
    use std::io::Write;
    let aside = path.with_extension(format!("new-{}", std::process::id()));
    let mut file = frontdesk_shared::owner_only::new_file().open(&aside)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    let linked = std::fs::hard_link(&aside, path);
    std::fs::remove_file(&aside)?;
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// The database file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("frontdesk.sqlite3")
}

/// A store's ports: bookings, the claims and marks of their emails, the
/// content, and the staff desk's.
pub struct LocalStore {
    /// Where bookings are kept.
    pub bookings: Arc<dyn BookingStore>,
    /// The emails' claims and sent marks, on the same bookings.
    pub notices: Arc<dyn NoticeLedger>,
    /// The published content.
    pub content: Arc<dyn ContentStore>,
    /// The staff desk's inbox and audit trail, on the same bookings.
    pub desk: Arc<dyn frontdesk_shared::desk::DeskStore>,
    /// The hourly ceiling's counters of acknowledgements, with the guards.
    pub acknowledgements: Arc<dyn frontdesk_shared::notify::AcknowledgementCounter>,
    /// A person's bookings, by the tags of their email or phone.
    pub subjects: Arc<dyn frontdesk_shared::store::SubjectIndex>,
    /// The opt-ins to the clinic's news, kept until withdrawn.
    pub marketing: Arc<dyn frontdesk_shared::rights::MarketingRegister>,
    /// The embedded database, whose expiry `serve` runs every hour (in
    /// DynamoDB, TTL does it); `None` for DynamoDB.
    pub embedded: Option<EmbeddedBookingStore>,
}

/// How often `serve` deletes what is past its retention from the embedded
/// database.
pub const EXPIRY_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// How long a subject access export is kept in `<data-dir>/exports`: long
/// enough to send it to the person, then it goes.
pub const EXPORTS_KEPT: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// The folder `frontdesk subject export` writes to by default.
pub fn exports_path(data_dir: &Path) -> PathBuf {
    data_dir.join("exports")
}

/// Deletes the exports in `data_dir`'s exports folder written more than
/// `EXPORTS_KEPT` before `now`: how many went.
pub fn expire_exports(data_dir: &Path, now: std::time::SystemTime) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(exports_path(data_dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let metadata = entry.metadata()?;
        let old = metadata
            .modified()
            .ok()
            .and_then(|written| now.duration_since(written).ok())
            .is_some_and(|age| age > EXPORTS_KEPT);
        if metadata.is_file() && old {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Deletes what is past its retention from `store`, and old exports from
/// `data_dir`, every `EXPIRY_EVERY` (`open_store` did it at start), for
/// as long as the server runs. A failed run is logged (no data) and the
/// next one tries again.
pub fn expire_hourly(
    store: EmbeddedBookingStore,
    data_dir: PathBuf,
    clock: Clock,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + EXPIRY_EVERY;
        let mut every = tokio::time::interval_at(start, EXPIRY_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match store.expire(clock.now()).await {
                Ok(expired) => tracing::debug!(
                    bookings = expired.bookings,
                    guards = expired.guards,
                    audit_entries = expired.audit_entries,
                    "expired what was past its retention"
                ),
                Err(error) => tracing::warn!(%error, "could not expire; retrying in an hour"),
            }
            if let Err(error) = expire_exports(&data_dir, std::time::SystemTime::now()) {
                tracing::warn!(kind = ?error.kind(), "could not expire exports; retrying in an hour");
            }
        }
    })
}

/// Builds the store that `kind` names.
pub async fn open_store(
    kind: StoreKind,
    data_dir: &Path,
    config: &BookingConfig,
    content: &ContentConfig,
    desk: &DeskConfig,
) -> Result<LocalStore, ServeError> {
    Ok(match kind {
        StoreKind::Embedded => {
            frontdesk_shared::owner_only::create_dir(data_dir).map_err(|source| {
                ServeError::Io {
                    context: format!("creating {}", data_dir.display()),
                    source,
                }
            })?;
            let store = EmbeddedBookingStore::open(&database_path(data_dir))?;
            // Whatever command opens the folder, nothing past its retention
            // is read from it.
            store.expire(time::OffsetDateTime::now_utc()).await?;
            expire_exports(data_dir, std::time::SystemTime::now()).map_err(|source| {
                ServeError::Io {
                    context: format!("expiring {}", exports_path(data_dir).display()),
                    source,
                }
            })?;
            LocalStore {
                embedded: Some(store.clone()),
                subjects: Arc::new(store.clone()),
                marketing: Arc::new(store.clone()),
                bookings: Arc::new(store.clone()),
                notices: Arc::new(store.clone()),
                acknowledgements: Arc::new(store.clone()),
                desk: Arc::new(store.desk(desk.audit_retention, Clock::system())),
                content: Arc::new(store),
            }
        }
        StoreKind::Dynamodb => {
            // One SDK configuration and client for both stores: the
            // environment and credentials are resolved once.
            let client = frontdesk_shared::aws::dynamodb_client(config.store_timeout).await;
            let store = DynamoBookingStore::new(
                client.clone(),
                &config.bookings_table,
                &config.guards_table,
            )
            .with_marketing_table(&config.marketing_table);
            LocalStore {
                embedded: None,
                subjects: Arc::new(store.clone()),
                marketing: Arc::new(store.clone()),
                notices: Arc::new(store.notices()),
                acknowledgements: Arc::new(store.clone()),
                desk: Arc::new(store.desk(
                    &desk.audit_table,
                    desk.audit_retention,
                    Clock::system(),
                )),
                bookings: Arc::new(store),
                content: Arc::new(DynamoContentStore::new(client, &content.content_table)),
            }
        }
    })
}

/// The consultants an appointment may name, as the content store publishes
/// them, read through the content cache when a booking names one.
pub fn consultants(
    content: &Arc<dyn ContentStore>,
    config: &ContentConfig,
) -> Arc<dyn Publication<frontdesk_shared::desk::Consultants>> {
    Arc::new(ContentCache::new(
        Arc::clone(content),
        config.cache_ttl,
        Clock::system(),
        frontdesk_shared::desk::Consultants::of,
    ))
}

/// The folders whose files about a person go with their erasure: the
/// outbox's emails (the embedded store's mailer) and the exports.
pub fn erasure_folders(kind: StoreKind, data_dir: &Path) -> Vec<PathBuf> {
    match kind {
        StoreKind::Embedded => vec![crate::notify::outbox_path(data_dir), exports_path(data_dir)],
        StoreKind::Dynamodb => vec![exports_path(data_dir)],
    }
}

/// How long `kind`'s backups keep an erased booking: DynamoDB's
/// point-in-time recovery; the embedded store keeps none.
pub fn backups_kept(kind: StoreKind) -> Option<time::Duration> {
    match kind {
        StoreKind::Embedded => None,
        StoreKind::Dynamodb => Some(frontdesk_shared::rights::erase::BACKUPS_KEPT),
    }
}

/// What the desk's admins export and erase from, as `serve` runs it: the
/// store `kind` opened in `data_dir`, under the data folder's match `key`.
pub fn rights(
    store: &LocalStore,
    config: &ContentConfig,
    key: Arc<MatchKey>,
    kind: StoreKind,
    data_dir: &Path,
) -> frontdesk_desk::Rights {
    frontdesk_desk::Rights {
        index: Arc::clone(&store.subjects),
        bookings: Arc::clone(&store.bookings),
        register: Arc::clone(&store.marketing),
        wordings: Arc::new(ContentCache::new(
            Arc::clone(&store.content),
            config.cache_ttl,
            Clock::system(),
            frontdesk_shared::content::ConsentWording::all_of,
        )),
        key: Arc::new(frontdesk_shared::match_key::MatchKeyOnce::ready(key)),
        backups_kept: backups_kept(kind),
        folders: erasure_folders(kind, data_dir),
    }
}

/// The staff desk as `serve` runs it: the desk's router behind the
/// one-time sign-in link, whose exchange route it adds.
pub fn desk(
    store: Arc<dyn frontdesk_shared::desk::DeskStore>,
    consultants: Arc<dyn Publication<frontdesk_shared::desk::Consultants>>,
    rights: frontdesk_desk::Rights,
    config: DeskConfig,
    clock: Clock,
    sign_in: &frontdesk_desk::local::LocalSignIn,
) -> Router {
    frontdesk_desk::routes(frontdesk_desk::AppState::new(
        store,
        consultants,
        rights,
        clock,
        config,
    ))
    .layer(middleware::from_fn_with_state(
        sign_in.clone(),
        frontdesk_desk::local::LocalSignIn::identify,
    ))
    .merge(sign_in.routes())
}

/// The local application: every function's routes on one router, the
/// staff desk and the example site if there are, with the client's address
/// taken from the TCP connection.
pub fn app(
    bookings: Arc<dyn BookingStore>,
    config: BookingConfig,
    content: Arc<dyn ContentStore>,
    content_config: &ContentConfig,
    site: Option<Site>,
    desk: Option<Router>,
    match_key: Arc<MatchKey>,
) -> Router {
    let bookable = ContentCache::new(
        Arc::clone(&content),
        content_config.cache_ttl,
        Clock::system(),
        Bookable::of,
    );
    let intake = Intake::new(
        bookings,
        Arc::new(config),
        Clock::system(),
        Arc::new(bookable),
        Arc::new(frontdesk_shared::match_key::MatchKeyOnce::ready(match_key)),
    );
    let api = frontdesk_booking::routes(AppState::new(intake)).merge(frontdesk_content::routes(
        frontdesk_content::AppState::over(content, content_config.cache_ttl, Clock::system()),
    ));
    let api = match desk {
        Some(desk) => api.merge(desk),
        None => api,
    };
    match site {
        Some(site) => api.merge(crate::site::routes(site)),
        None => api,
    }
    .fallback(|| async { Problem::no_route() })
    .layer(middleware::from_fn(client_from_connection))
}

async fn client_from_connection(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let ip = peer.ip();
        request.extensions_mut().insert(ClientAddr(ip));
    }
    next.run(request).await
}

/// Serves `app` on `listener` until Ctrl-C.
pub async fn run(listener: tokio::net::TcpListener, app: Router) -> Result<(), ServeError> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|source| ServeError::Io {
        context: "serving".into(),
        source,
    })
}
