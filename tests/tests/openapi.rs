//! The OpenAPI document against the code, both ways.
//!
//! Every route, method, status, header and response field the code has must
//! be in `functions/content/openapi.json`, and everything the document says
//! must be something the code does: each route is served, each status is
//! answered (or follows from an error the handler can return), each
//! response property and header is seen in a real answer, and the request
//! body's fields are exactly the ones the booking parser knows.

use axum::body::Body;
use axum::http::Request;
use frontdesk_shared::booking::intake::BookingError;
use frontdesk_shared::booking::request::FIELDS;
use frontdesk_shared::booking::DecodeError;
use frontdesk_shared::content::ContentError;
use frontdesk_shared::fields::FieldErrors;
use frontdesk_shared::problem::Problem;
use frontdesk_shared::store::dynamodb::DynamoContentStore;
use frontdesk_shared::store::StoreError;
use frontdesk_tests::content::{content_copy, edit, fixture, ContentApp, ContentHandle};
use frontdesk_tests::{
    booking_with, nth_booking, router_over_dynamodb_at, valid_booking, valid_form, Backend,
    TestApp, TestResponse,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn document() -> Value {
    serde_json::from_str(frontdesk_content::OPENAPI).expect("openapi.json is JSON")
}

/// The document's operation `method path`; it must exist.
fn operation<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    doc["paths"][path]
        .get(method)
        .unwrap_or_else(|| panic!("{method} {path} is not in the document"))
}

/// Follows `$ref`s within the document.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(pointer) = value.get("$ref").and_then(Value::as_str) {
        value = doc
            .pointer(pointer.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{pointer} is not in the document"));
    }
    value
}

/// The name of the component schema a `$ref` names.
fn schema_name(value: &Value) -> Option<&str> {
    value
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
}

/// Headers every answer may carry that the document leaves to HTTP and CORS.
fn undocumented_by_design(name: &str) -> bool {
    matches!(name, "content-type" | "content-length" | "date" | "vary")
        || name.starts_with("access-control-")
}

/// What the real answers showed of the document.
#[derive(Default)]
struct Seen {
    /// (path, method, status) answered.
    statuses: BTreeSet<(String, String, String)>,
    /// (path, method, status, header) carried.
    headers: BTreeSet<(String, String, String, String)>,
    /// (schema, property) present in a body.
    properties: BTreeSet<(String, String)>,
}

struct Contract {
    doc: Value,
    seen: Seen,
}

impl Contract {
    fn new() -> Self {
        Self {
            doc: document(),
            seen: Seen::default(),
        }
    }

    fn operation(&self, path: &str, method: &str) -> &Value {
        operation(&self.doc, path, method)
    }

    /// Checks a real answer against the document's operation `method path`.
    fn check(&mut self, path: &str, method: &str, response: &TestResponse) {
        let status = response.status.as_u16().to_string();
        let Contract { doc, seen } = self;
        let operation = operation(doc, path, method);
        let documented = operation["responses"].get(&status).unwrap_or_else(|| {
            panic!(
                "{method} {path} answered {status}, which the document does not list: {}",
                String::from_utf8_lossy(&response.body)
            )
        });
        let documented = resolve(doc, documented);
        let key = |s: &str| (path.to_owned(), method.to_owned(), s.to_owned());
        seen.statuses.insert(key(&status));

        for name in response.headers.keys() {
            let name = name.as_str();
            if undocumented_by_design(name) {
                continue;
            }
            let listed = documented["headers"]
                .as_object()
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case(name)));
            assert!(
                listed,
                "{method} {path} {status} carries {name}, which the document does not list"
            );
            let (p, m, s) = key(&status);
            seen.headers.insert((p, m, s, name.to_owned()));
        }

        match documented.get("content") {
            None => assert!(
                response.body.is_empty(),
                "{method} {path} {status} has a body the document does not describe"
            ),
            Some(content) => {
                let media = response.header("content-type").unwrap_or_default();
                let schema = &content.get(media).unwrap_or_else(|| {
                    panic!("{method} {path} {status} is {media}, which the document does not list")
                })["schema"];
                let body = response.json();
                let mut errors = Vec::new();
                validate(doc, schema, &body, "$", &mut errors, &mut seen.properties);
                assert!(
                    errors.is_empty(),
                    "{method} {path} {status}: the body does not match the document:\n{}",
                    errors.join("\n")
                );
            }
        }
    }
}

/// Checks `value` against the subset of JSON Schema the document uses,
/// noting each property of a named schema that is present.
fn validate(
    doc: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    errors: &mut Vec<String>,
    seen: &mut BTreeSet<(String, String)>,
) {
    let name = schema_name(schema).map(str::to_owned);
    let schema = resolve(doc, schema);
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        });
        if !fits {
            errors.push(format!("{at}: {value} is not {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Some(minimum), Some(n)) = (
        schema.get("minimum").and_then(Value::as_i64),
        value.as_i64(),
    ) {
        if n < minimum {
            errors.push(format!("{at}: {n} is below {minimum}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for required in schema["required"].as_array().into_iter().flatten() {
            let required = required.as_str().unwrap_or_default();
            if !object.contains_key(required) {
                errors.push(format!("{at}: {required} is required"));
            }
        }
        for (key, item) in object {
            match properties.get(key) {
                Some(property) => {
                    if let Some(name) = &name {
                        seen.insert((name.clone(), key.clone()));
                    }
                    validate(doc, property, item, &format!("{at}.{key}"), errors, seen);
                }
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    errors.push(format!("{at}: {key} is not in the document"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, item) in list.iter().enumerate() {
            validate(doc, items, item, &format!("{at}[{i}]"), errors, seen);
        }
    }
}

/// The statuses the booking handler's errors map to. The match has no
/// wildcard, so a new error is a compile error here until it is placed.
fn booking_error_statuses() -> BTreeSet<String> {
    let errors = [
        BookingError::UnsupportedMediaType,
        BookingError::TooLarge { limit: 1 },
        BookingError::Malformed(DecodeError::Json(String::new())),
        BookingError::Invalid(FieldErrors::new()),
        BookingError::KeyReused,
        BookingError::RateLimited {
            retry_after_secs: 1,
        },
        BookingError::Unavailable,
        BookingError::Unconfirmed,
        BookingError::Internal,
    ];
    for error in &errors {
        match error {
            BookingError::UnsupportedMediaType
            | BookingError::TooLarge { .. }
            | BookingError::Malformed(_)
            | BookingError::Invalid(_)
            | BookingError::KeyReused
            | BookingError::RateLimited { .. }
            | BookingError::Unavailable
            | BookingError::Unconfirmed
            | BookingError::Internal => {}
        }
    }
    errors
        .iter()
        .map(|e| Problem::from(e).status.to_string())
        .collect()
}

/// The statuses a content route's errors map to: every route can find the
/// store unavailable; a slug route or the site can find nothing; the
/// consultants list can be given a bad query. (The document itself is
/// compiled in and can fail none of these.)
fn content_error_statuses(path: &str) -> BTreeSet<String> {
    let errors = [
        ContentError::NotFound {
            what: "condition",
            slug: "x".into(),
        },
        ContentError::BadQuery {
            name: "specialty",
            message: String::new(),
        },
        ContentError::Unavailable(StoreError::Unavailable(String::new())),
    ];
    errors
        .iter()
        .filter(|error| match error {
            ContentError::NotFound { .. } => path.ends_with("{slug}") || path == "/v1/site",
            ContentError::BadQuery { .. } => path == "/v1/consultants",
            ContentError::Unavailable(_) => path != "/v1/openapi.json",
        })
        .map(|e| Problem::from(e).status.to_string())
        .collect()
}

fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).expect("a request")
}

/// Content with every optional field filled: a consultant, priced rows,
/// full contact details.
fn full_content() -> frontdesk_tests::content::TempDir {
    let dir = content_copy();
    std::fs::copy(
        fixture("content-consultant").join("fixture-consultant.md"),
        dir.path().join("consultants/fixture-consultant.md"),
    )
    .expect("the consultant fixture");
    edit(
        &dir.path().join("prices.md"),
        "rows: []",
        "rows:\n  - procedure: Fixture consultation\n    price_pence: 25000\n    booking: online_or_phone\n    specialty: neuroendocrine-tumours\n    notes: A fixture row\n  - procedure: Fixture scan\n    price_pence: 100\n    booking: phone",
    );
    edit(
        &dir.path().join("site.md"),
        "phone: 020 8247 3351\n",
        "phone: 020 8247 3351\nemail: fixture@clinic.example\naddress: [Fixture line 1, Fixture line 2]\n",
    );
    dir
}

#[tokio::test]
async fn the_document_is_served_by_the_content_function_with_an_etag() {
    let app = ContentApp::spawn(Backend::Embedded).await;
    let response = app.get("/v1/openapi.json").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), document());
    assert_eq!(document()["openapi"], "3.1.0");
    let etag = response.header("etag").expect("an ETag").to_owned();
    let again = app
        .get_with("/v1/openapi.json", &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, 304);
}

#[test]
fn the_documented_routes_are_the_routers_routes() {
    let doc = document();
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    let code: BTreeSet<&str> = frontdesk_content::ROUTES
        .iter()
        .chain(frontdesk_booking::ROUTES.iter())
        .copied()
        .collect();
    assert_eq!(documented, code);
    for path in frontdesk_content::ROUTES {
        let methods: Vec<&String> = doc["paths"][path].as_object().unwrap().keys().collect();
        assert_eq!(methods, ["get"], "{path}");
    }
    for path in frontdesk_booking::ROUTES {
        let methods: Vec<&String> = doc["paths"][path].as_object().unwrap().keys().collect();
        assert_eq!(methods, ["post"], "{path}");
    }
}

#[tokio::test]
async fn the_request_body_is_the_fields_the_parser_knows() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["BookingRequest"];
    let documented: BTreeSet<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(documented, FIELDS.iter().copied().collect());

    // Required: exactly the fields an empty request is told to fill in.
    let app = TestApp::spawn(Backend::Embedded).await;
    let empty = app.post_json(&json!({})).await;
    assert_eq!(empty.status, 422);
    let missing: BTreeSet<String> = empty.error_fields().into_iter().collect();
    let required: BTreeSet<String> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(required, missing);

    // What the API accepts fits the schema, for both ways of paying.
    let insured =
        json!({"payment": "insured", "insurer": "Fixture Health", "policy_number": "FX-1"});
    let mut insured_booking = valid_booking();
    for (k, v) in insured.as_object().unwrap() {
        insured_booking[k] = v.clone();
    }
    for body in [valid_booking(), insured_booking] {
        assert_eq!(app.post_json(&body).await.status, 201);
        let mut errors = Vec::new();
        validate(
            &doc,
            &json!({"$ref": "#/components/schemas/BookingRequest"}),
            &body,
            "$",
            &mut errors,
            &mut BTreeSet::new(),
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    // The request headers are the ones CORS lets a browser send.
    let preflight = app
        .send_from(
            request(
                "OPTIONS",
                "/v1/bookings",
                &[
                    ("origin", "http://localhost:3000"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type"),
                ],
                Body::empty(),
            ),
            frontdesk_tests::CLIENT.into(),
        )
        .await;
    let allowed: BTreeSet<String> = preflight
        .header("access-control-allow-headers")
        .expect("CORS headers")
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut params = header_parameters(&doc, "/v1/bookings", "post");
    params.insert("content-type".into());
    assert_eq!(allowed, params);
}

fn header_parameters(doc: &Value, path: &str, method: &str) -> BTreeSet<String> {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| resolve(doc, p))
        .filter(|p| p["in"] == "header")
        .map(|p| p["name"].as_str().unwrap().to_ascii_lowercase())
        .collect()
}

/// Every status, header and field the document gives an operation is
/// seen in a real answer or follows from an error its handler can return,
/// and nothing is seen that the document does not give.
fn assert_covered(contract: &Contract, path: &str, method: &str, mapped: &BTreeSet<String>) {
    let operation = contract.operation(path, method);
    let documented: BTreeSet<String> = operation["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let seen: BTreeSet<String> = contract
        .seen
        .statuses
        .iter()
        .filter(|(p, m, _)| p == path && m == method)
        .map(|(_, _, s)| s.clone())
        .collect();
    let code: BTreeSet<String> = seen.union(mapped).cloned().collect();
    assert_eq!(
        documented, code,
        "{method} {path}: documented statuses vs the code's"
    );
    for status in &seen {
        let response = resolve(&contract.doc, &operation["responses"][status]);
        for header in response["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            let carried = contract.seen.headers.iter().any(|(p, m, s, h)| {
                p == path && m == method && s == status && h.eq_ignore_ascii_case(header)
            });
            assert!(
                carried,
                "{method} {path} {status}: {header} is documented but never sent"
            );
        }
    }
}

/// Every property of the named schemas was present in some answer.
fn assert_properties_seen<'a>(contract: &Contract, names: impl IntoIterator<Item = &'a str>) {
    for name in names {
        let schema = &contract.doc["components"]["schemas"][name];
        for property in schema["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            assert!(
                contract
                    .seen
                    .properties
                    .contains(&(name.to_owned(), property.clone())),
                "{name}.{property} is documented but no answer had it"
            );
        }
    }
}

#[tokio::test]
async fn every_booking_answer_is_documented_and_every_documented_answer_happens() {
    let mut contract = Contract::new();
    let path = "/v1/bookings";
    let app = TestApp::with_env(Backend::Embedded, &[("RATE_LIMIT_PER_HOUR", "3")]).await;
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";

    let created = app
        .post(
            json,
            valid_booking().to_string(),
            &[("idempotency-key", "openapi-1")],
        )
        .await;
    let replayed = app
        .post(
            json,
            valid_booking().to_string(),
            &[("idempotency-key", "openapi-1")],
        )
        .await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    let answers = vec![
        created,
        replayed,
        app.post(form, valid_form(), &[]).await,
        app.post(form, "first_name=Ada", &[]).await,
        app.post(json, "{", &[]).await,
        app.post(json, "x".repeat(frontdesk_booking::BODY_LIMIT + 1), &[])
            .await,
        app.post("text/plain", "hello", &[]).await,
        app.post_json(&json!({})).await,
        app.post(
            json,
            booking_with(
                "message",
                json!("Fixture message, changed before it was sent again."),
            )
            .to_string(),
            &[("idempotency-key", "openapi-1")],
        )
        .await,
        app.send_from(
            request("GET", path, &[], Body::empty()),
            frontdesk_tests::CLIENT.into(),
        )
        .await,
    ];
    assert_eq!(answers.last().unwrap().status, 405);
    for answer in &answers {
        contract.check(path, "post", answer);
    }
    // New bookings from one address until the hour's limit answers 429.
    let mut limited = false;
    for n in 0..5 {
        let answer = app.post_json(&nth_booking(n)).await;
        contract.check(path, "post", &answer);
        if answer.status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "the rate limit never answered");

    // The store unreachable: 503.
    let closed = format!("http://127.0.0.1:{}", frontdesk_tests::free_port());
    let down = router_over_dynamodb_at(closed, &[("STORE_TIMEOUT_MS", "1000")]).await;
    let unavailable = frontdesk_tests::call(
        &down,
        frontdesk_tests::json_request(&valid_booking()),
        frontdesk_tests::CLIENT.into(),
    )
    .await;
    assert_eq!(unavailable.status, 503);
    contract.check(path, "post", &unavailable);

    assert_covered(&contract, path, "post", &booking_error_statuses());
    assert_properties_seen(&contract, ["BookingCreated", "Problem", "FieldError"]);
}

#[tokio::test]
async fn every_content_answer_is_documented_and_every_documented_answer_happens() {
    let mut contract = Contract::new();
    let content = full_content();
    let app = ContentApp::with_content(Backend::Embedded, content.path()).await;
    let samples: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        ("/v1/conditions", vec!["/v1/conditions"]),
        (
            "/v1/conditions/{slug}",
            vec!["/v1/conditions/neuroendocrine-tumours"],
        ),
        (
            "/v1/consultants",
            vec![
                "/v1/consultants",
                "/v1/consultants?specialty=neuroendocrine-tumours",
            ],
        ),
        (
            "/v1/consultants/{slug}",
            vec!["/v1/consultants/fixture-consultant"],
        ),
        ("/v1/support-services", vec!["/v1/support-services"]),
        ("/v1/prices", vec!["/v1/prices"]),
        ("/v1/site", vec!["/v1/site"]),
        ("/v1/openapi.json", vec!["/v1/openapi.json"]),
    ]);
    assert_eq!(
        samples.keys().copied().collect::<BTreeSet<_>>(),
        frontdesk_content::ROUTES.into_iter().collect(),
        "a sample request for every route"
    );
    for (path, uris) in &samples {
        for uri in uris {
            let ok = app.get(uri).await;
            assert_eq!(ok.status, 200, "{uri}");
            contract.check(path, "get", &ok);
            let etag = ok.header("etag").unwrap().to_owned();
            let not_modified = app.get_with(uri, &[("if-none-match", &etag)]).await;
            contract.check(path, "get", &not_modified);
        }
        let post = app.send(request("POST", uris[0], &[], Body::empty())).await;
        assert_eq!(post.status, 405, "{path}");
        contract.check(path, "get", &post);
    }
    for (path, uri) in [
        ("/v1/conditions/{slug}", "/v1/conditions/no-such-condition"),
        (
            "/v1/consultants/{slug}",
            "/v1/consultants/no-such-consultant",
        ),
    ] {
        contract.check(path, "get", &app.get(uri).await);
    }
    contract.check(
        "/v1/consultants",
        "get",
        &app.get("/v1/consultants?specialty=%3Cscript%3E").await,
    );

    // Nothing published yet: no site, 404.
    let empty = ContentApp::over(ContentHandle::create(Backend::Embedded).await);
    contract.check("/v1/site", "get", &empty.get("/v1/site").await);

    // The table unreachable, nothing held: 503 on every route that reads it.
    let closed = format!("http://127.0.0.1:{}", frontdesk_tests::free_port());
    let client =
        frontdesk_tests::dynamodb_client_at(closed, std::time::Duration::from_millis(1000)).await;
    let down = ContentApp::over_store(Arc::new(DynamoContentStore::new(
        client,
        "frontdesk-content",
    )));
    for (path, uris) in &samples {
        let answer = down.get(uris[0]).await;
        contract.check(path, "get", &answer);
    }

    for path in frontdesk_content::ROUTES {
        assert_covered(&contract, path, "get", &content_error_statuses(path));
        assert_eq!(
            header_parameters(&contract.doc, path, "get"),
            BTreeSet::from(["if-none-match".to_owned()]),
            "{path}"
        );
    }
    // Every schema but the booking's two is the content's.
    let schemas = contract.doc["components"]["schemas"].clone();
    let names = schemas
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|name| !name.starts_with("Booking"));
    assert_properties_seen(&contract, names);
}
