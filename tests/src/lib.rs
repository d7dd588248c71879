//! Helpers for the integration tests: the real router over a real store
//! (DynamoDB Local, started by `scripts/test`, or embedded SQLite), spun up
//! fresh for each test, with a clock the test controls.

#![warn(missing_docs)]

pub mod browser;
pub mod content;
pub mod dynamodb_local;
pub mod lambda;
pub mod load;
pub mod logs;
pub mod notifier;
pub mod outbox;
pub mod proxy;
pub mod relay;
pub mod secrets;
pub mod ses;
pub mod site;
pub mod siteverify;
pub mod stream;

use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use frontdesk_booking::{router, AppState, ClientAddr};
use frontdesk_shared::booking::intake::Intake;
use frontdesk_shared::booking::record::BookingRecord;
use frontdesk_shared::booking::{Bookable, Booking, Reference};
use frontdesk_shared::content::cache::{Fixed, Publication};
use frontdesk_shared::store::dynamodb::DynamoBookingStore;
use frontdesk_shared::store::embedded::EmbeddedBookingStore;
use frontdesk_shared::store::BookingStore;
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::BookingConfig;
use serde_json::{json, Value};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tower::ServiceExt;

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in memory.
    Embedded,
    /// DynamoDB Local, fresh tables per test.
    DynamoDb,
}

/// Runs each named `async fn name(backend: Backend)` once per backend.
#[macro_export]
macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Embedded).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::DynamoDb).await
                }
            )*
        }
    };
}

/// Counts the HTTP requests an SDK client sends (every attempt).
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<AtomicUsize>);

impl RequestCounter {
    /// Requests sent so far.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A clock the test moves by hand.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<Mutex<OffsetDateTime>>);

impl TestClock {
    /// Starts ten minutes into the current hour, so a test never straddles a rate window.
    pub fn new() -> Self {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let start = now - now.rem_euclid(3600) + 600;
        Self(Arc::new(Mutex::new(
            OffsetDateTime::from_unix_timestamp(start).expect("a valid time"),
        )))
    }

    /// The current test time.
    pub fn now(&self) -> OffsetDateTime {
        *self.0.lock().expect("clock lock")
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }

    /// The clock as the service takes it.
    pub fn clock(&self) -> Clock {
        let inner = Arc::clone(&self.0);
        Clock::from_fn(move || *inner.lock().expect("clock lock"))
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Fresh DynamoDB Local tables and a counted client.
#[derive(Debug, Clone)]
pub struct DynamoTables {
    /// The client the store uses: its requests are counted.
    pub client: Client,
    /// A client for the test to look inside with, not counted.
    pub inspect: Client,
    /// Its request count.
    pub counter: RequestCounter,
    /// The bookings table's name.
    pub bookings: String,
    /// The guards table's name.
    pub guards: String,
    /// The desk's audit table's name.
    pub audit: String,
    /// The marketing register's table's name.
    pub marketing: String,
}

static TABLES: AtomicUsize = AtomicUsize::new(0);

/// The DynamoDB Local endpoint that `scripts/test` started.
pub fn dynamodb_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with scripts/test, which starts DynamoDB Local",
    )
}

impl DynamoTables {
    /// Creates a bookings and a guards table from `infra/template.yaml`.
    pub async fn create() -> Self {
        Self::create_at(&dynamodb_endpoint(), Duration::from_secs(5)).await
    }

    /// As `create`, on the DynamoDB at `endpoint` (one a test runs itself),
    /// with `timeout` as the store's bound on a call.
    pub async fn create_at(endpoint: &str, timeout: Duration) -> Self {
        logs::capture();
        let sdk = frontdesk_shared::aws::load(timeout).await;
        let counter = RequestCounter::default();
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .interceptor(counter.clone())
            .build();
        let client = Client::from_conf(config);
        let inspect = Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .endpoint_url(endpoint)
                .timeout_config(frontdesk_shared::aws::timeouts(Duration::from_secs(10)))
                .build(),
        );
        let n = TABLES.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}-{n}-{}", std::process::id(), random_tag());
        let bookings = format!("bookings-{tag}");
        let guards = format!("guards-{tag}");
        let audit = format!("audit-{tag}");
        let marketing = format!("marketing-{tag}");
        frontdesk_cli::tables::ensure(&inspect, frontdesk_cli::tables::BOOKINGS, &bookings)
            .await
            .expect("bookings table");
        frontdesk_cli::tables::ensure(&inspect, frontdesk_cli::tables::GUARDS, &guards)
            .await
            .expect("guards table");
        frontdesk_cli::tables::ensure(&inspect, frontdesk_cli::tables::AUDIT, &audit)
            .await
            .expect("audit table");
        frontdesk_cli::tables::ensure(&inspect, frontdesk_cli::tables::MARKETING, &marketing)
            .await
            .expect("marketing table");
        Self {
            client,
            inspect,
            counter,
            bookings,
            guards,
            audit,
            marketing,
        }
    }

    /// The booking store over these tables, on `client` (the counted one,
    /// or one a test routes elsewhere).
    pub fn store_on(&self, client: Client) -> DynamoBookingStore {
        DynamoBookingStore::new(client, &self.bookings, &self.guards)
            .with_marketing_table(&self.marketing)
    }

    /// The tables' names as a booking function's environment names them.
    pub fn vars(&self) -> [(&'static str, &str); 3] {
        [
            ("BOOKINGS_TABLE", self.bookings.as_str()),
            ("GUARDS_TABLE", self.guards.as_str()),
            ("MARKETING_TABLE", self.marketing.as_str()),
        ]
    }

    /// Every item of `table`, read page by page.
    pub async fn all_items(
        &self,
        table: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let (mut items, mut start) = (Vec::new(), None);
        loop {
            let out = self
                .inspect
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return items;
            }
        }
    }

    /// Items in the bookings table.
    pub async fn count(&self) -> u64 {
        // A scan reads at most 1 MB a page: every page is counted.
        let (mut count, mut start) = (0, None);
        loop {
            let out = self
                .inspect
                .scan()
                .table_name(&self.bookings)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            count += u64::try_from(out.count()).expect("count");
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return count;
            }
        }
    }

    /// A booking's raw item.
    pub async fn item(
        &self,
        reference: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        self.inspect
            .get_item()
            .table_name(&self.bookings)
            .key(
                "reference",
                aws_sdk_dynamodb::types::AttributeValue::S(reference.into()),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }
}

/// A path under the system's temporary folder that no other test or run
/// uses (nothing is created there).
pub fn unique_temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "frontdesk-{name}-{}-{}",
        std::process::id(),
        random_tag()
    ))
}

/// A short random tag for unique names.
pub fn random_tag() -> String {
    format!("{:08x}", getrandom::u32().expect("randomness"))
}

/// The store behind a test app, for looking inside.
#[derive(Clone)]
pub enum StoreHandle {
    /// SQLite.
    Embedded(EmbeddedBookingStore),
    /// DynamoDB Local.
    Dynamo(DynamoTables),
}

impl StoreHandle {
    /// A fresh, empty store of the given kind.
    pub async fn create(backend: Backend) -> Self {
        logs::capture();
        match backend {
            Backend::Embedded => Self::Embedded(EmbeddedBookingStore::in_memory().expect("sqlite")),
            Backend::DynamoDb => Self::Dynamo(DynamoTables::create().await),
        }
    }

    /// The desk over this store on `clock`, keeping audit entries for two years.
    pub fn desk(&self, clock: &TestClock) -> Arc<dyn frontdesk_shared::desk::DeskStore> {
        let keep = time::Duration::days(730);
        match self {
            Self::Embedded(store) => Arc::new(store.desk(keep, clock.clock())),
            Self::Dynamo(t) => Arc::new(
                DynamoBookingStore::new(t.client.clone(), &t.bookings, &t.guards).desk(
                    &t.audit,
                    keep,
                    clock.clock(),
                ),
            ),
        }
    }

    /// The store's adapter as the port `T`: `embedded` or `dynamodb` is
    /// given the adapter and returns it as that port.
    fn adapter<T: ?Sized>(
        &self,
        embedded: fn(EmbeddedBookingStore) -> Arc<T>,
        dynamodb: fn(DynamoBookingStore) -> Arc<T>,
    ) -> Arc<T> {
        match self {
            Self::Embedded(store) => embedded(store.clone()),
            Self::Dynamo(t) => dynamodb(t.store_on(t.client.clone())),
        }
    }

    /// The hourly ceiling's counters of acknowledgements, in this store's guards.
    pub fn acknowledgements(&self) -> Arc<dyn frontdesk_shared::notify::AcknowledgementCounter> {
        self.adapter(|s| Arc::new(s), |s| Arc::new(s))
    }

    /// The store as the service uses it.
    pub fn port(&self) -> Arc<dyn BookingStore> {
        self.adapter(|s| Arc::new(s), |s| Arc::new(s))
    }

    /// The same store as the index of whose bookings are whose.
    pub fn subjects(&self) -> Arc<dyn frontdesk_shared::store::SubjectIndex> {
        self.adapter(|s| Arc::new(s), |s| Arc::new(s))
    }

    /// The marketing register of this store.
    pub fn marketing(&self) -> Arc<dyn frontdesk_shared::rights::MarketingRegister> {
        self.adapter(|s| Arc::new(s), |s| Arc::new(s))
    }

    /// What the desk's admins export and erase from, over this store and
    /// under the tests' match key, quoting the shipped consent wordings;
    /// DynamoDB's erasures report its backups.
    pub fn rights(&self) -> frontdesk_desk::Rights {
        let content = frontdesk_cli::content::check(&content::shipped_content())
            .expect("the shipped content");
        let wordings =
            frontdesk_shared::content::ConsentWording::all_of(&content).expect("its wordings");
        frontdesk_desk::Rights {
            index: self.subjects(),
            bookings: self.port(),
            register: self.marketing(),
            wordings: Arc::new(Fixed(Arc::new(wordings))),
            key: Arc::new(frontdesk_shared::match_key::MatchKeyOnce::ready(match_key())),
            backups_kept: match self {
                Self::Embedded(_) => None,
                Self::Dynamo(_) => Some(frontdesk_shared::rights::erase::BACKUPS_KEPT),
            },
            folders: Vec::new(),
        }
    }

    /// Ends every booking's retention at `at`, as the embedded store's
    /// expiry does, and as DynamoDB's TTL does once `expires_at` has passed
    /// (DynamoDB Local has no TTL: the bookings past it are deleted here).
    pub async fn end_retention(&self, at: time::OffsetDateTime) {
        match self {
            Self::Embedded(store) => {
                store.expire(at).await.expect("expiry");
            }
            Self::Dynamo(tables) => {
                for item in tables.all_items(&tables.bookings).await {
                    let expires = match item.get("expires_at") {
                        Some(aws_sdk_dynamodb::types::AttributeValue::N(n)) => {
                            n.parse::<i64>().expect("a number")
                        }
                        _ => continue,
                    };
                    if expires < at.unix_timestamp() {
                        tables
                            .inspect
                            .delete_item()
                            .table_name(&tables.bookings)
                            .key("reference", item["reference"].clone())
                            .send()
                            .await
                            .expect("deleted");
                    }
                }
            }
        }
    }

    /// How many bookings are stored.
    pub async fn count(&self) -> u64 {
        match self {
            Self::Embedded(store) => store.count_bookings().await.expect("count"),
            Self::Dynamo(t) => t.count().await,
        }
    }

    /// Every value of every guard item, as text.
    pub async fn guard_values(&self) -> Vec<Vec<String>> {
        match self {
            Self::Embedded(store) => store.guard_values().await.expect("guards"),
            Self::Dynamo(t) => {
                let out = t
                    .inspect
                    .scan()
                    .table_name(&t.guards)
                    .consistent_read(true)
                    .send()
                    .await
                    .expect("scan");
                out.items()
                    .iter()
                    .map(|item| {
                        item.iter()
                            .flat_map(|(name, value)| {
                                let value = match value {
                                    aws_sdk_dynamodb::types::AttributeValue::S(s) => s.clone(),
                                    aws_sdk_dynamodb::types::AttributeValue::N(n) => n.clone(),
                                    other => format!("{other:?}"),
                                };
                                [name.clone(), value]
                            })
                            .collect()
                    })
                    .collect()
            }
        }
    }

    /// The stored record of a booking, as kept.
    pub async fn record(&self, reference: &str) -> Option<BookingRecord> {
        let reference = Reference::parse(reference).expect("a reference");
        match self {
            Self::Embedded(store) => store.record(&reference).await.expect("record"),
            Self::Dynamo(t) => t
                .item(reference.as_str())
                .await
                .map(|item| serde_dynamo::from_item(item).expect("a booking record")),
        }
    }

    /// Rewrites a stored booking as `edit` changes its stored form (a JSON
    /// object of the record's attributes), unchecked: data as an earlier
    /// version's rules stored it, or damaged.
    pub async fn overwrite(&self, reference: &str, edit: impl FnOnce(&mut Value)) {
        let reference = Reference::parse(reference).expect("a reference");
        match self {
            Self::Embedded(store) => {
                let record = store
                    .record(&reference)
                    .await
                    .expect("record")
                    .expect("stored");
                let mut json = serde_json::to_value(&record).expect("json");
                edit(&mut json);
                store
                    .overwrite_record(&reference, json.to_string())
                    .await
                    .expect("overwrite");
            }
            Self::Dynamo(t) => {
                let item = t.item(reference.as_str()).await.expect("stored");
                let mut json: Value = serde_dynamo::from_item(item).expect("json");
                edit(&mut json);
                let item: std::collections::HashMap<
                    String,
                    aws_sdk_dynamodb::types::AttributeValue,
                > = serde_dynamo::to_item(json).expect("an item");
                t.inspect
                    .put_item()
                    .table_name(&t.bookings)
                    .set_item(Some(item))
                    .send()
                    .await
                    .expect("put item");
            }
        }
    }

    /// DynamoDB requests sent so far (`None` for the embedded store).
    pub fn requests(&self) -> Option<usize> {
        match self {
            Self::Embedded(_) => None,
            Self::Dynamo(t) => Some(t.counter.get()),
        }
    }
}

/// The booking API over a fresh store.
pub struct TestApp {
    /// The router under test.
    pub router: Router,
    /// Its store.
    pub store: StoreHandle,
    /// Its clock.
    pub clock: TestClock,
    /// Its configuration.
    pub config: BookingConfig,
}

/// The address test requests come from unless they say otherwise.
pub const CLIENT: [u8; 4] = [192, 0, 2, 10];

/// An answer, read whole.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The fields named in a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    /// The app with the default configuration.
    pub async fn spawn(backend: Backend) -> Self {
        Self::with_env(backend, &[]).await
    }

    /// The app with some configuration variables set.
    pub async fn with_env(backend: Backend, vars: &[(&str, &str)]) -> Self {
        let store = StoreHandle::create(backend).await;
        let config = test_config(vars);
        let clock = TestClock::new();
        let intake = Intake::new(
            store.port(),
            Arc::new(config.clone()),
            clock.clock(),
            shipped_bookable(),
            held_match_key(),
        );
        Self {
            router: router(AppState::new(intake)),
            store,
            clock,
            config,
        }
    }

    /// Sends a request as it comes from `from`.
    pub async fn send_from(&self, request: Request<Body>, from: IpAddr) -> TestResponse {
        call(&self.router, request, from).await
    }

    /// POSTs a body to `/v1/bookings` with the given content type and headers.
    pub async fn post(
        &self,
        content_type: &str,
        body: impl Into<Body>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        self.post_from(content_type, body, headers, IpAddr::from(CLIENT))
            .await
    }

    /// As `post`, from another address. The request comes from the
    /// clinic's page ([`SITE_ORIGIN`]) unless `headers` name an `Origin`
    /// or a `Referer` of their own.
    pub async fn post_from(
        &self,
        content_type: &str,
        body: impl Into<Body>,
        headers: &[(&str, &str)],
        from: IpAddr,
    ) -> TestResponse {
        let names_its_page = headers.iter().any(|(name, _)| {
            name.eq_ignore_ascii_case("origin") || name.eq_ignore_ascii_case("referer")
        });
        let mut all = headers.to_vec();
        if !names_its_page {
            all.push(("origin", SITE_ORIGIN));
        }
        self.post_exactly(content_type, body, &all, from).await
    }

    /// POSTs with exactly these headers (and `content-type`), from `from`.
    pub async fn post_exactly(
        &self,
        content_type: &str,
        body: impl Into<Body>,
        headers: &[(&str, &str)],
        from: IpAddr,
    ) -> TestResponse {
        let mut builder = Request::post("/v1/bookings");
        if !content_type.is_empty() {
            builder = builder.header("content-type", content_type);
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        self.send_from(builder.body(body.into()).expect("request"), from)
            .await
    }

    /// POSTs a JSON body.
    /// The key is a new one each time, as the site's script makes one per
    /// page: the answer carries the reference.
    pub async fn post_json(&self, body: &Value) -> TestResponse {
        match body.get("idempotency_key") {
            // The page's key, in the body: the header would have to agree.
            Some(_) => self.post_json_keyless(body).await,
            None => self.post_json_with_key(body, &fresh_key()).await,
        }
    }

    /// POSTs a JSON body as an edge that could not say where it came from would.
    pub async fn post_without_source(&self, body: &Value) -> TestResponse {
        send(&self.router, json_request(body), None).await
    }

    /// POSTs a JSON body without an `Idempotency-Key`: the answer is a 202
    /// without a reference.
    pub async fn post_json_keyless(&self, body: &Value) -> TestResponse {
        self.post("application/json", body.to_string(), &[]).await
    }

    /// POSTs a JSON body with an `Idempotency-Key`.
    pub async fn post_json_with_key(&self, body: &Value, key: &str) -> TestResponse {
        self.post(
            "application/json",
            body.to_string(),
            &[("idempotency-key", key)],
        )
        .await
    }

    /// Reads a booking back through the store port.
    pub async fn booking(&self, reference: &str) -> Option<Booking> {
        let reference = Reference::parse(reference).expect("a reference");
        self.store.port().get(&reference).await.expect("get")
    }
}

/// Sends a request through a router as it comes from `from`, reading the
/// answer whole. The body's personal data is registered for the log check.
pub async fn call(router: &Router, request: Request<Body>, from: IpAddr) -> TestResponse {
    send(router, request, Some(from)).await
}

/// As `call`, with the client's address (`ClientAddr`) only when `from` is given.
async fn send(router: &Router, request: Request<Body>, from: Option<IpAddr>) -> TestResponse {
    logs::capture();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("a request body");
    logs::submitted_body(&body);
    let mut request = Request::from_parts(parts, Body::from(body));
    if let Some(from) = from {
        request.extensions_mut().insert(ClientAddr(from));
    }
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    TestResponse {
        status,
        headers,
        body,
    }
}

/// The specialties the shipped content makes bookable (its conditions),
/// fixed, for tests about something other than where they come from.
pub fn shipped_bookable() -> Arc<dyn Publication<Bookable>> {
    let content =
        frontdesk_cli::content::check(&content::shipped_content()).expect("the shipped content");
    Arc::new(Fixed(Arc::new(
        Bookable::of(&content).expect("its conditions"),
    )))
}

/// The configuration with `vars` set and every other variable at its default.
pub fn test_config(vars: &[(&str, &str)]) -> BookingConfig {
    BookingConfig::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .expect("test configuration")
}

/// The booking router over DynamoDB at `endpoint` (an unreachable or
/// fault-injecting address), configured by `vars`.
pub async fn router_over_dynamodb_at(endpoint: String, vars: &[(&str, &str)]) -> Router {
    let config = test_config(vars);
    let client = dynamodb_client_at(endpoint, config.store_timeout).await;
    let store = DynamoBookingStore::new(client, &config.bookings_table, &config.guards_table)
        .with_marketing_table(&config.marketing_table);
    let intake = Intake::new(
        Arc::new(store),
        Arc::new(config),
        Clock::system(),
        shipped_bookable(),
        held_match_key(),
    );
    router(AppState::new(intake))
}

/// The consent wordings the shipped content lets a booking name, as a
/// store that was pushed it would accept them.
pub fn shipped_wordings() -> Vec<frontdesk_shared::booking::bookable::AcceptedWording> {
    frontdesk_shared::booking::Bookable::of(&content::shipped_model())
        .expect("its consent wordings")
        .wordings_at(time::OffsetDateTime::now_utc())
}

/// The booking a JSON `body` makes, received at `at` under a new
/// reference, owing its acknowledgement: for tests that store bookings
/// through the port itself.
pub fn booking_at(body: &Value, at: time::OffsetDateTime) -> frontdesk_shared::Booking {
    let specialties = [frontdesk_shared::booking::Slug::parse("neuroendocrine-tumours").unwrap()];
    let details = frontdesk_shared::booking::BookingRequest::from_json(body.to_string().as_bytes())
        .expect("decodes")
        .parse(&frontdesk_shared::booking::request::ParseContext {
            specialties: &specialties,
            today: at.date(),
            wordings: &shipped_wordings(),
        })
        .expect("valid");
    frontdesk_shared::Booking {
        reference: frontdesk_shared::booking::Reference::generate().unwrap(),
        received_at: at,
        details,
        expires_at: at + time::Duration::days(365),
        acknowledgement: frontdesk_shared::booking::Acknowledgement::Owed,
    }
}

/// What an insert of `booking` at its arrival writes with no key, no
/// counters and no link: its fingerprint and subject tags under the tests'
/// match key, for tests that store bookings through the port itself.
pub fn plain_insert(booking: frontdesk_shared::Booking) -> frontdesk_shared::store::NewBooking {
    let key = match_key();
    frontdesk_shared::store::NewBooking {
        fingerprint: frontdesk_shared::booking::Fingerprint::of(&booking.details, &key),
        subject: frontdesk_shared::booking::SubjectTags::of(&booking.details, &key),
        now: booking.received_at,
        booking,
        idempotency: None,
        rate: None,
        acknowledgements: None,
        repeat_of: None,
    }
}

/// A new idempotency key, as a page's script makes one.
pub fn fresh_key() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("test-{:08x}-{n}", getrandom::u32().expect("randomness"))
}

/// The key the tests' guards are tagged with.
pub fn match_key() -> Arc<frontdesk_shared::match_key::MatchKey> {
    Arc::new(
        frontdesk_shared::match_key::MatchKey::new(1, "frontdesk-tests-match-key-0123456789")
            .expect("a long enough key"),
    )
}

/// The tests' match key as a function holds it, already read.
pub fn held_match_key() -> Arc<frontdesk_shared::match_key::MatchKeyOnce> {
    Arc::new(frontdesk_shared::match_key::MatchKeyOnce::ready(match_key()))
}

/// A free loopback port (free when this returns; a test binds it at once,
/// or uses it as an address where nothing answers).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A DynamoDB client for `endpoint` (a relay, or a closed port), with the
/// functions' timeouts and retries.
pub async fn dynamodb_client_at(endpoint: String, timeout: std::time::Duration) -> Client {
    let sdk = frontdesk_shared::aws::load(timeout).await;
    Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .build(),
    )
}

/// A `POST /v1/bookings` of a JSON body from the clinic's page.
pub fn json_request(body: &Value) -> Request<Body> {
    Request::post("/v1/bookings")
        .header("content-type", "application/json")
        .header("origin", SITE_ORIGIN)
        .body(Body::from(body.to_string()))
        .expect("request")
}

/// The origin of the clinic's pages in the tests' configuration (the first
/// of `ALLOWED_ORIGINS`' defaults).
pub const SITE_ORIGIN: &str = "http://localhost:3000";

/// A complete, valid booking. Fixture data: no real person. Its personal
/// data is registered for the log check.
pub fn valid_booking() -> Value {
    let booking = json!({
        "first_name": "Fixture",
        "last_name": "Patient",
        "email": "fixture.patient@example.com",
        "phone": "07700 900123",
        "date_of_birth": "1970-03-31",
        "specialty": "neuroendocrine-tumours",
        "consultant": "fixture-consultant",
        "payment": "insured",
        "insurer": "Fixture Insurance",
        "policy_number": "FX-123456",
        "gp_referral": true,
        "contact_method": "email",
        "preferred_times": "Weekday mornings",
        "message": "Fixture message: please call after 10am.",
        "booking_for": "self",
        "consent_contact": true,
        "consent_version": "2026-11",
        "marketing_email": true,
        "marketing_sms": false,
        "website": ""
    });
    logs::submitted_json(&booking);
    booking
}

/// `valid_booking` with one field changed (or removed, for `Value::Null`).
pub fn booking_with(field: &str, value: Value) -> Value {
    let mut body = valid_booking();
    if value.is_null() {
        body.as_object_mut().expect("object").remove(field);
    } else {
        body[field] = value;
    }
    logs::submitted_json(&body);
    body
}

/// A distinct valid booking, numbered, so it is no duplicate of another.
pub fn nth_booking(n: usize) -> Value {
    booking_with("email", json!(format!("fixture.patient+{n}@example.com")))
}

/// The same booking as a plain HTML form would send it, registered for
/// the log check.
pub fn valid_form() -> String {
    let form = "first_name=Fixture&last_name=Patient&email=fixture.patient%40example.com&phone=07700+900123\
     &date_of_birth=1970-03-31&specialty=neuroendocrine-tumours&consultant=fixture-consultant\
     &payment=insured&insurer=Fixture+Insurance&policy_number=FX-123456&gp_referral=on\
     &contact_method=email&preferred_times=Weekday+mornings\
     &message=Fixture+message%3A+please+call+after+10am.&booking_for=self&consent_contact=on\
     &consent_version=2026-11&marketing_email=on&website="
        .to_owned();
    logs::submitted_body(form.as_bytes());
    form
}
