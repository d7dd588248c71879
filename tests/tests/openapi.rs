//! The OpenAPI document against the code, both ways.
//!
//! The document is built from the code (`frontdesk_shared::contract`); these
//! tests hold it to what the code does: every route, method, status, header
//! and response field the code has is in it, everything it says is something
//! the code does (each status is answered or follows from an error the
//! handler can return; each header and response property is seen in a real
//! answer), and every answer body is valid against it by a JSON Schema
//! validator (`jsonschema`, with formats). The checked-in copy
//! (`docs/openapi.json`) is the one for the shipped content.

use axum::body::Body;
use axum::http::Request;
use frontdesk_shared::booking::request::FIELDS;
use frontdesk_shared::contract;
use frontdesk_shared::store::dynamodb::DynamoContentStore;
use frontdesk_tests::content::{
    content_copy, edit, fixture, shipped_content, ContentApp, ContentHandle,
};
use frontdesk_tests::{
    booking_with, nth_booking, router_over_dynamodb_at, valid_booking, valid_form, Backend,
    TestApp, TestResponse,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// The document for the content in `dir`, as the code builds it.
fn document_for(dir: &Path) -> Value {
    let content = frontdesk_cli::content::check(dir).expect("the content is valid");
    serde_json::to_value(contract::for_content(&content)).expect("the document is JSON")
}

/// The document for the shipped content.
fn shipped() -> Value {
    document_for(&shipped_content())
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

/// Every error `schema` (a schema of the document, or a `$ref` into it)
/// finds in `instance`, by a JSON Schema 2020-12 validator that checks
/// formats; empty when it is valid.
fn schema_errors(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = doc.clone();
    root["allOf"] = json!([schema]);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("the document is not a valid schema: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// A component schema by name, as a `$ref`.
fn named(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
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
    fn new(doc: Value) -> Self {
        Self {
            doc,
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

        for (name, value) in &response.headers {
            let name = name.as_str();
            if undocumented_by_design(name) {
                continue;
            }
            let header = documented["headers"]
                .as_object()
                .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, header)| header)
                .unwrap_or_else(|| {
                    panic!(
                        "{method} {path} {status} carries {name}, which the document does not list"
                    )
                });
            let value = value.to_str().expect("a text header");
            let instance = match header["schema"]["type"].as_str() {
                Some("integer") => json!(value.parse::<i64>().expect("an integer header")),
                _ => json!(value),
            };
            let errors = schema_errors(doc, &header["schema"], &instance);
            assert!(
                errors.is_empty(),
                "{method} {path} {status}: {name}: {value} does not match the document: {errors:?}"
            );
            let (p, m, s) = key(&status);
            seen.headers.insert((p, m, s, name.to_owned()));
        }

        match documented.get("content") {
            None => assert!(
                response.body.is_empty(),
                "{method} {path} {status} has a body the document does not describe"
            ),
            Some(_) if method == "head" => {
                assert!(response.body.is_empty(), "HEAD {path} {status} has a body")
            }
            Some(content) => {
                let media = response.header("content-type").unwrap_or_default();
                let schema = &content.get(media).unwrap_or_else(|| {
                    panic!("{method} {path} {status} is {media}, which the document does not list")
                })["schema"];
                let body = response.json();
                let errors = schema_errors(doc, schema, &body);
                assert!(
                    errors.is_empty(),
                    "{method} {path} {status}: the body does not match the document:\n{}",
                    errors.join("\n")
                );
                record(doc, schema, &body, &mut seen.properties);
            }
        }
    }
}

/// Notes each property of a named schema that `value` has, following the
/// schema's references, properties, items and compositions (the validator
/// has said the value fits; this only keeps count of what was seen).
fn record(doc: &Value, schema: &Value, value: &Value, seen: &mut BTreeSet<(String, String)>) {
    let name = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"));
    let schema = resolve(doc, schema);
    for part in ["allOf", "anyOf", "oneOf"] {
        for item in schema[part].as_array().into_iter().flatten() {
            record(doc, item, value, seen);
        }
    }
    if let Some(object) = value.as_object() {
        for (key, item) in object {
            if let Some(property) = schema["properties"].get(key) {
                if let Some(name) = name {
                    seen.insert((name.to_owned(), key.clone()));
                }
                record(doc, property, item, seen);
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for item in list {
            record(doc, items, item, seen);
        }
    }
}

/// The statuses the booking handler's errors map to.
fn booking_error_statuses() -> BTreeSet<String> {
    contract::answers::problems(&contract::answers::booking_errors())
        .into_keys()
        .collect()
}

/// The statuses a content route's errors map to.
fn content_error_statuses(path: &str) -> BTreeSet<String> {
    contract::answers::problems(&contract::answers::content_errors(path))
        .into_keys()
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
    std::fs::copy(
        fixture("content-condition").join("fixture-condition.md"),
        dir.path().join("conditions/fixture-condition.md"),
    )
    .expect("the condition fixture");
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

#[test]
fn the_checked_in_document_is_the_one_for_the_shipped_content() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let content = frontdesk_cli::content::check(&shipped_content()).expect("valid content");
    let built = contract::to_json(&contract::for_content(&content)).expect("JSON");
    assert!(
        checked_in == built,
        "docs/openapi.json is not the document the code builds for content/: \
         run `cargo run -- openapi --out docs/openapi.json` and commit it"
    );
}

#[tokio::test]
async fn the_document_is_served_with_the_contents_specialties_and_an_etag() {
    let content = full_content();
    let app = ContentApp::with_content(Backend::Embedded, content.path()).await;
    let response = app.get("/v1/openapi.json").await;
    assert_eq!(response.status, 200);
    let served = response.json();
    assert_eq!(served, document_for(content.path()));
    assert_eq!(served["openapi"], "3.1.0");
    let specialties = &served["components"]["schemas"]["BookingRequest"]["allOf"][0]["properties"]
        ["specialty"]["enum"];
    assert_eq!(
        specialties,
        &json!(["fixture-condition", "neuroendocrine-tumours", "not_sure"]),
        "the served document offers the published conditions"
    );
    let etag = response.header("etag").expect("an ETag").to_owned();
    let again = app
        .get_with("/v1/openapi.json", &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, 304);
}

#[test]
fn the_documented_routes_are_the_routers_routes() {
    let doc = shipped();
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
        assert_eq!(methods, ["get", "head"], "{path}");
    }
    for path in frontdesk_booking::ROUTES {
        let methods: Vec<&String> = doc["paths"][path].as_object().unwrap().keys().collect();
        assert_eq!(methods, ["post"], "{path}");
    }
}

/// The fields the JSON schema describes.
fn documented_fields(doc: &Value, schema: &str) -> BTreeSet<String> {
    doc["components"]["schemas"][schema]["allOf"][0]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_request_body_is_the_fields_the_parser_knows() {
    let doc = shipped();
    let fields: BTreeSet<String> = FIELDS.iter().map(|f| (*f).to_owned()).collect();
    assert_eq!(documented_fields(&doc, "BookingRequest"), fields);
    assert_eq!(documented_fields(&doc, "BookingForm"), fields);

    // Required: exactly the fields an empty request is told to fill in.
    let app = TestApp::spawn(Backend::Embedded).await;
    let empty = app.post_json(&json!({})).await;
    assert_eq!(empty.status, 422);
    let missing: BTreeSet<String> = empty.error_fields().into_iter().collect();
    let names = |required: &Value| -> Vec<String> {
        required
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let booking = &doc["components"]["schemas"]["BookingRequest"];
    let mut required: BTreeSet<String> = names(&booking["allOf"][0]["required"])
        .into_iter()
        .collect();
    // The date of birth is required by its own choice: as the date (the
    // first way, which an empty request is told of), or as its three parts.
    let date_of_birth = &booking["allOf"][2]["anyOf"];
    required.extend(names(&date_of_birth[0]["required"]));
    assert_eq!(
        names(&date_of_birth[1]["required"]),
        [
            "date_of_birth_day",
            "date_of_birth_month",
            "date_of_birth_year"
        ]
    );
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
        let errors = schema_errors(&doc, &named("BookingRequest"), &body);
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

#[tokio::test]
async fn the_schemas_own_examples_are_accepted() {
    let doc = shipped();
    let app = TestApp::spawn(Backend::Embedded).await;
    for (schema, media) in [
        ("BookingRequest", "application/json"),
        ("BookingForm", "application/x-www-form-urlencoded"),
    ] {
        let example = &doc["components"]["schemas"][schema]["examples"][0];
        assert!(example.is_object(), "{schema} has an example");
        assert!(schema_errors(&doc, &named(schema), example).is_empty());
        let body = match media {
            "application/json" => example.to_string(),
            _ => form_body(example),
        };
        let answer = app
            .post(media, body, &[("accept", "application/json")])
            .await;
        // An example without a key is taken without a reference.
        let expected = if example.get("idempotency_key").is_some() {
            201
        } else {
            202
        };
        assert_eq!(
            answer.status,
            expected,
            "{schema}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
}

/// A JSON object of text values as a urlencoded form.
fn form_body(fields: &Value) -> String {
    fields
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().expect("a form's values are text");
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// One value the schema and the server both refuse for a field (`None`
/// removes the field), and a value both accept at the rule's edge.
struct Rule {
    field: &'static str,
    refused: Option<Value>,
    accepted: Value,
}

fn rules() -> Vec<Rule> {
    let rule = |field, refused: Option<Value>, accepted: Value| Rule {
        field,
        refused,
        accepted,
    };
    vec![
        rule("first_name", None, json!("Ann")),
        rule("first_name", Some(json!("")), json!(" Siobhán ")),
        rule("first_name", Some(json!("   ")), json!("李")),
        rule(
            "first_name",
            Some(json!("123")),
            json!("O'Brien-Ní Dhuibhir"),
        ),
        rule("first_name", Some(json!("Ann\nBcc")), json!("Ann\n")),
        rule(
            "first_name",
            Some(json!("a".repeat(101))),
            json!("a".repeat(100)),
        ),
        rule("last_name", Some(json!("<script>")), json!("Smith")),
        rule(
            "first_name",
            Some(json!("Ann\u{200b}")),
            json!("Jose\u{301}"),
        ),
        rule("first_name", Some(json!("·")), json!("ශ්\u{200d}රී")),
        rule(
            "last_name",
            Some(json!("\u{3000}")),
            json!("山田\u{3000}太郎"),
        ),
        rule(
            "last_name",
            Some(json!("O’Brien\u{2028}")),
            json!("Smith\u{a0}"),
        ),
        rule(
            "phone",
            Some(json!("07700\t900123")),
            json!("\u{3000}07700 900123\u{a0}"),
        ),
        rule(
            "email",
            Some(json!("ann@localhost")),
            json!("ann@example.com"),
        ),
        rule(
            "email",
            Some(json!(" ann@example.com")),
            json!("Ann@Example.COM"),
        ),
        rule("phone", Some(json!("")), json!("07700 900123")),
        rule(
            "phone",
            Some(json!("07700 9001")),
            json!("+44 (0)20 8247 3351"),
        ),
        rule(
            "phone",
            Some(json!("+1 202 555 0100")),
            json!("0044 7700 900123"),
        ),
        rule(
            "phone",
            Some(json!("07700 900123+")),
            json!("(020) 8247-3351"),
        ),
        rule(
            "date_of_birth",
            Some(json!("31/03/1970")),
            json!("1970-03-31"),
        ),
        rule(
            "date_of_birth",
            Some(json!("1970-02-30")),
            json!("2000-02-29"),
        ),
        rule(
            "specialty",
            Some(json!("no-such-condition")),
            json!("not_sure"),
        ),
        rule(
            "specialty",
            Some(json!(" neuroendocrine-tumours")),
            json!("neuroendocrine-tumours"),
        ),
        rule(
            "consultant",
            Some(json!("Dr Who")),
            json!("fixture-consultant"),
        ),
        rule("consultant", Some(json!(" ".repeat(65))), json!("   ")),
        rule("payment", Some(json!("cash")), json!("self_pay")),
        rule(
            "insurer",
            Some(json!("Fixture\tHealth")),
            json!("Fixture Health"),
        ),
        rule("policy_number", Some(json!("AB<1>")), json!("AB-123/45.6")),
        rule(
            "policy_number",
            Some(json!("A".repeat(41))),
            json!("A".repeat(40)),
        ),
        rule("gp_referral", Some(json!("maybe")), json!("yes")),
        rule("gp_referral", Some(json!("ON")), json!(false)),
        rule("contact_method", Some(json!("post")), json!("email")),
        rule("preferred_times", Some(json!("a".repeat(201))), json!(null)),
        rule(
            "message",
            Some(json!("a\u{7}b")),
            json!("Line one\r\nLine two"),
        ),
        rule(
            "message",
            Some(json!("a".repeat(2001))),
            json!("a".repeat(2000)),
        ),
        rule("booking_for", Some(json!("Self")), json!("someone_else")),
        rule("consent_contact", Some(json!(false)), json!("on")),
        rule("consent_contact", None, json!(true)),
        rule("consent_version", Some(json!("v 1")), json!("2026-11")),
        rule("consent_version", Some(json!("2026-01")), json!("2026-11")),
        rule("marketing_sms", Some(json!(1)), json!("0")),
        rule(
            "idempotency_key",
            Some(json!("two words")),
            json!("a-key-1"),
        ),
        rule("website", Some(json!(true)), json!("")),
        rule("unknown_field", Some(json!("x")), json!(null)),
    ]
}

#[tokio::test]
async fn every_schema_rule_is_refused_by_the_schema_and_the_server_alike() {
    let doc = shipped();
    let app = TestApp::with_env(Backend::Embedded, &[("RATE_LIMIT_PER_HOUR", "1000")]).await;
    for (n, rule) in rules().into_iter().enumerate() {
        let mut refused = nth_booking(n);
        match &rule.refused {
            Some(value) => refused[rule.field] = value.clone(),
            None => {
                refused.as_object_mut().unwrap().remove(rule.field);
            }
        }
        let errors = schema_errors(&doc, &named("BookingRequest"), &refused);
        assert!(
            !errors.is_empty(),
            "the schema takes {} = {:?}",
            rule.field,
            rule.refused
        );
        let answer = app.post_json(&refused).await;
        assert_eq!(
            answer.status, 422,
            "the server takes {} = {:?}",
            rule.field, rule.refused
        );
        assert!(
            answer.error_fields().iter().any(|f| f == rule.field),
            "{}: {:?}",
            rule.field,
            answer.error_fields()
        );

        let mut accepted = nth_booking(n + 1000);
        if rule.accepted.is_null() {
            accepted.as_object_mut().unwrap().remove(rule.field);
        } else {
            accepted[rule.field] = rule.accepted.clone();
        }
        let errors = schema_errors(&doc, &named("BookingRequest"), &accepted);
        assert!(
            errors.is_empty(),
            "the schema refuses {} = {}: {errors:?}",
            rule.field,
            rule.accepted
        );
        let answer = app.post_json(&accepted).await;
        assert_eq!(
            answer.status,
            201,
            "the server refuses {} = {}: {}",
            rule.field,
            rule.accepted,
            String::from_utf8_lossy(&answer.body)
        );
    }
}

#[tokio::test]
async fn insured_needs_an_insurer_and_a_policy_number_in_the_schema_and_the_server() {
    let doc = shipped();
    let app = TestApp::spawn(Backend::Embedded).await;
    // Left out, blank or null: each is not given.
    let cases = ["insurer", "policy_number"].into_iter().flat_map(|field| {
        [
            (field, None),
            (field, Some(json!(" "))),
            (field, Some(Value::Null)),
        ]
    });
    for (n, (missing, sent)) in cases.enumerate() {
        let mut body = nth_booking(n);
        body["payment"] = json!("insured");
        body["insurer"] = json!("Fixture Health");
        body["policy_number"] = json!("FX-1");
        match &sent {
            None => {
                body.as_object_mut().unwrap().remove(missing);
            }
            Some(value) => body[missing] = value.clone(),
        }
        assert!(
            !schema_errors(&doc, &named("BookingRequest"), &body).is_empty(),
            "the schema takes {missing} = {sent:?} when insured"
        );
        let answer = app.post_json(&body).await;
        assert_eq!(answer.status, 422);
        assert_eq!(answer.error_fields(), [missing]);
    }
    let mut self_pay = nth_booking(9);
    self_pay["payment"] = json!("self_pay");
    self_pay.as_object_mut().unwrap().remove("insurer");
    self_pay.as_object_mut().unwrap().remove("policy_number");
    assert!(schema_errors(&doc, &named("BookingRequest"), &self_pay).is_empty());
    assert_eq!(app.post_json(&self_pay).await.status, 201);
}

#[tokio::test]
async fn a_date_of_birth_in_the_future_is_the_one_rule_only_the_description_states() {
    let doc = shipped();
    let app = TestApp::spawn(Backend::Embedded).await;
    let future = booking_with("date_of_birth", json!("2999-01-01"));
    assert!(schema_errors(&doc, &named("BookingRequest"), &future).is_empty());
    let description = doc["components"]["schemas"]["BookingRequest"]["allOf"][0]["properties"]
        ["date_of_birth"]["description"]
        .as_str()
        .unwrap();
    assert!(description.contains("not in the future"), "{description}");
    let answer = app.post_json(&future).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.error_fields(), ["date_of_birth"]);
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
    let mut contract = Contract::new(shipped());
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
        app.post_json_keyless(&nth_booking(40)).await,
        app.post(
            json,
            nth_booking(41).to_string(),
            &[("origin", "https://evil.example")],
        )
        .await,
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
    assert_properties_seen(
        &contract,
        ["BookingCreated", "BookingAccepted", "Problem", "FieldError"],
    );
}

#[tokio::test]
async fn every_content_answer_is_documented_and_every_documented_answer_happens() {
    let content = full_content();
    let mut contract = Contract::new(document_for(content.path()));
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
        ("/v1/consent", vec!["/v1/consent"]),
        ("/v1/privacy", vec!["/v1/privacy"]),
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
            let head = app.send(request("HEAD", uri, &[], Body::empty())).await;
            assert_eq!(head.status, 200, "HEAD {uri}");
            contract.check(path, "head", &head);
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

    // Nothing published yet: no site, consent wording or notice, 404.
    let empty = ContentApp::over(ContentHandle::create(Backend::Embedded).await);
    for path in ["/v1/site", "/v1/consent", "/v1/privacy"] {
        let missing = empty.get(path).await;
        assert_eq!(missing.status, 404, "{path}");
        contract.check(path, "get", &missing);
    }

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
        let statuses = |method: &str| -> BTreeSet<String> {
            contract.operation(path, method)["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(
            statuses("head"),
            statuses("get"),
            "HEAD {path} answers as GET"
        );
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

#[tokio::test]
async fn a_message_counts_a_line_break_once_as_the_textarea_does_and_the_schema_is_stricter() {
    let doc = shipped();
    let app = TestApp::spawn(Backend::Embedded).await;
    let max = frontdesk_shared::booking::Message::MAX_CHARS;
    // What a browser sends for a textarea filled to its maxlength with ten line breaks.
    let full = format!("{}{}", "a".repeat(max - 10), "\r\n".repeat(10));
    let typed = booking_with("message", json!(full));
    assert!(
        !schema_errors(&doc, &named("BookingRequest"), &typed).is_empty(),
        "maxLength counts a CRLF as two, so the schema never takes what the server refuses"
    );
    assert_eq!(app.post_json(&typed).await.status, 201);
    let over = booking_with("message", json!(format!("{full}a")));
    let answer = app.post_json(&over).await;
    assert_eq!(answer.status, 422);
    assert_eq!(answer.error_fields(), ["message"]);
}

#[test]
fn the_booking_pages_maxlengths_are_the_servers_bounds() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../site/book.html"))
        .expect("site/book.html");
    let tag = regex::Regex::new(r"<(?:input|textarea)\b[^>]*>").unwrap();
    let attribute = |tag: &str, name: &str| {
        regex::Regex::new(&format!(r#"\b{name}="([^"]*)""#))
            .unwrap()
            .captures(tag)
            .map(|c| c[1].to_owned())
    };
    let mut bounded = BTreeSet::new();
    for found in tag.find_iter(&page) {
        // A hidden field's value is the page's own, not typed.
        let Some(name) = attribute(found.as_str(), "name")
            .filter(|_| attribute(found.as_str(), "type").as_deref() != Some("hidden"))
        else {
            continue;
        };
        let page_max = attribute(found.as_str(), "maxlength").map(|m| m.parse::<usize>().unwrap());
        let server_max = frontdesk_shared::booking::request::max_chars(&name);
        assert_eq!(
            page_max, server_max,
            "{name}: the page's maxlength vs the server's bound"
        );
        bounded.insert(name);
    }
    assert!(
        bounded.contains("message") && bounded.contains("policy_number"),
        "{bounded:?}"
    );
}
