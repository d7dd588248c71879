//! The OpenAPI 3.1 document of both APIs, built with `utoipa` from the code
//! that answers: the answer schemas are derived from the types serialised
//! (`ToSchema`), the booking request's from the parser's rules
//! ([`request`]), the routes and headers from [`crate::wire`], and every
//! error status from [`Problem::from`](crate::problem::Problem) ([`answers`]).
//!
//! The values that come from the content (the specialties a booking may
//! name) are filled in from the content given, so the content function
//! serves a document that is exact for what it publishes;
//! `frontdesk openapi` writes the one for the shipped content to
//! `docs/openapi.json`, and a test fails when that copy is stale.

pub mod answers;
pub mod request;

use crate::booking::intake::Created;
use crate::booking::Slug;
use crate::content::{
    Condition, ConditionList, ConsentWording, Consultant, ConsultantList, PriceList, PrivacyNotice,
    SiteAnswer, SupportServiceList,
};
use crate::fields::FieldError;
use crate::problem::Problem;
use crate::wire;
use request::{reference, Body};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr,
    Required, ServerBuilder,
};
use utoipa::ToSchema;

/// The version of the API the document describes (its routes are `/v1`).
pub const API_VERSION: &str = "1.0.0";

/// What the document takes from the published content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// The condition slugs a booking may name as its specialty.
    pub specialties: Vec<Slug>,
    /// The consultants' slugs (the first is the example of a consultant's page).
    pub consultants: Vec<Slug>,
    /// The version of the consent wording the form shows now, if any.
    pub consent_version: Option<Slug>,
}

impl Published {
    /// What `content` publishes: its conditions are the specialties.
    pub fn of(content: &crate::content::Content) -> Self {
        Self {
            specialties: content.conditions.iter().map(|c| c.slug.clone()).collect(),
            consultants: content.consultants.iter().map(|c| c.slug.clone()).collect(),
            consent_version: content.current_consent().map(|w| w.version.clone()),
        }
    }
}

/// The document for the content published.
pub fn document(published: &Published) -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("frontdesk")
                .version(API_VERSION)
                .description(Some(DESCRIPTION))
                .license(Some(
                    LicenseBuilder::new()
                        .name("Apache-2.0")
                        .identifier(Some("Apache-2.0"))
                        .build(),
                )),
        )
        .servers(Some([ServerBuilder::new()
            .url("/")
            .description(Some(
                "The origin that serves this document (`frontdesk serve`: http://127.0.0.1:3000).",
            ))
            .build()]))
        .tags(Some([
            TagBuilder::new()
                .name("booking")
                .description(Some("The booking function: appointment requests."))
                .build(),
            TagBuilder::new()
                .name("content")
                .description(Some(
                    "The content function: the clinic's published content.",
                ))
                .build(),
        ]))
        .paths(paths(published))
        .components(Some(components(published)))
        .build();
    close_objects(&mut doc);
    doc
}

/// The document for a whole content.
pub fn for_content(content: &crate::content::Content) -> OpenApi {
    document(&Published::of(content))
}

/// The document as served and checked in: pretty JSON, ending in a newline.
pub fn to_json(doc: &OpenApi) -> Result<String, serde_json::Error> {
    doc.to_pretty_json().map(|mut text| {
        text.push('\n');
        text
    })
}

const DESCRIPTION: &str = "The website front desk of a specialist cancer clinic: its content, and appointment requests.\n\nTwo functions answer here. The content function serves the clinic's published content: every answer is public and the same for everyone, with a strong `ETag`, `Cache-Control`, and 304 for a matching `If-None-Match`; any origin may read it, and every `GET` route also answers `HEAD`. The booking function takes appointment requests from the clinic's website, as JSON from a script or as a plain HTML form. Every error is RFC 9457 problem details (`application/problem+json`); a path that is not a route is a 404 problem.";

fn paths(published: &Published) -> utoipa::openapi::Paths {
    let mut paths = PathsBuilder::new().path(
        wire::BOOKINGS,
        PathItem::new(HttpMethod::Post, create_booking()),
    );
    for path in wire::CONTENT_ROUTES {
        let (id, summary, schema) = content_route(path);
        let get = content_operation(path, id, summary, schema, published);
        let head = OperationBuilder::from(get.clone())
            .operation_id(Some(format!("{id}Head")))
            .summary(Some(format!("{summary}: the headers only")))
            .build();
        let mut item = PathItem::new(HttpMethod::Get, get);
        item.head = Some(head);
        paths = paths.path(path, item);
    }
    paths.build()
}

/// What a content route answers: its operation id, summary and schema.
fn content_route(path: &str) -> (&'static str, &'static str, &'static str) {
    match path {
        "/v1/conditions" => (
            "listConditions",
            "Every condition the clinic treats",
            "ConditionList",
        ),
        "/v1/conditions/{slug}" => ("getCondition", "One condition's page", "Condition"),
        "/v1/consultants" => (
            "listConsultants",
            "The consultants, optionally of one condition",
            "ConsultantList",
        ),
        "/v1/consultants/{slug}" => ("getConsultant", "One consultant's profile", "Consultant"),
        "/v1/support-services" => (
            "listSupportServices",
            "The support services for patients and families",
            "SupportServiceList",
        ),
        "/v1/prices" => ("getPrices", "The price list", "PriceList"),
        "/v1/site" => ("getSite", "The clinic's name and contact details", "Site"),
        "/v1/consent" => (
            "getConsent",
            "The consent wording the booking form shows now",
            "ConsentWording",
        ),
        "/v1/privacy" => ("getPrivacy", "The clinic's privacy notice", "PrivacyNotice"),
        _ => ("getOpenApi", "This document", "OpenApi"),
    }
}

fn content_operation(
    path: &str,
    id: &str,
    summary: &str,
    schema: &str,
    published: &Published,
) -> Operation {
    // A published slug, so a reader (and a generated test) can try a page
    // that exists.
    let example = match path {
        "/v1/conditions/{slug}" | "/v1/consultants" => published.specialties.first(),
        "/v1/consultants/{slug}" => published.consultants.first(),
        _ => None,
    }
    .map(|slug| serde_json::Value::from(slug.as_str()));
    let mut operation = OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(summary))
        .tag("content")
        .parameter(
            ParameterBuilder::new()
                .name("If-None-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("An ETag from an earlier answer (or a list, or `*`): if the content still has it, the answer is 304 with no body."))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    if path.ends_with("{slug}") {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name("slug")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(reference("Slug")))
                .example(example.clone()),
        );
    }
    if path == "/v1/consultants" {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name("specialty")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "Only consultants of this condition (its slug), given once.",
                ))
                .schema(Some(reference("Slug"))),
        );
    }
    let ok = ResponseBuilder::new()
        .description(summary)
        .header("ETag", answers::etag())
        .header("Cache-Control", answers::cache_public())
        .content("application/json", request::body(schema))
        .build();
    let not_modified = ResponseBuilder::new()
        .description("The content has not changed since the ETag in `If-None-Match`: no body.")
        .header("ETag", answers::etag())
        .header("Cache-Control", answers::cache_public())
        .build();
    let mut responses = ResponsesBuilder::new()
        .response("200", ok)
        .response("304", not_modified)
        .response("405", answers::method_not_allowed(wire::CONTENT_METHODS));
    for (status, answer) in answers::problems(&answers::content_errors(path)) {
        responses = responses.response(status, answer);
    }
    operation.responses(responses.build()).build()
}

fn create_booking() -> Operation {
    let created = ResponseBuilder::new()
        .description(
            "A request sent with an `Idempotency-Key`: stored, or a replay of that key's own request stored before (then marked `Idempotent-Replayed`). The reference is only ever returned to the key that made it.",
        )
        .header("Cache-Control", answers::no_store())
        .header("Idempotent-Replayed", answers::replayed())
        .content("application/json", request::body("BookingCreated"))
        .build();
    let accepted = ResponseBuilder::new()
        .description(
            "A request sent without a key: taken, and answered without a reference (the patient gets it by email). The answer is the same whether the request was new or repeated one from the last 24 hours, which stores nothing new.",
        )
        .header("Cache-Control", answers::no_store())
        .content("application/json", request::body("BookingAccepted"))
        .build();
    let redirect = ResponseBuilder::new()
        .description("A plain form's answer: to `THANK_YOU_URL?reference=CCL-...` when stored with the form's key (to `THANK_YOU_URL` alone without one), to `FORM_URL?errors=field,field` naming the fields to change, or to `FORM_URL?errors=not_taken` when it could not be taken just now (over its allowance, or the store unavailable); nothing stored.")
        .header("Location", answers::location())
        .header("Cache-Control", answers::no_store())
        .build();
    let mut responses = ResponsesBuilder::new()
        .response("201", created)
        .response("202", accepted)
        .response("303", redirect)
        .response("405", answers::method_not_allowed(wire::BOOKING_METHODS));
    for (status, answer) in answers::problems(&answers::booking_errors()) {
        responses = responses.response(status, answer);
    }
    OperationBuilder::new()
        .operation_id(Some("createBooking"))
        .summary(Some("Request an appointment"))
        .description(Some("Validates the request and stores it exactly once; the notifier then emails the clinic's staff and acknowledges the patient. A script or a plain HTML form may send it from a page of the origins in `ALLOWED_ORIGINS` only: the request's `Origin` (or, without one, its `Referer`) must name one of them, or it is refused with a 403 and nothing is stored or sent."))
        .tag("booking")
        .parameter(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(format!(
                    "1 to {} visible ASCII characters but `{{` and `}}` (a UUID fits), new for each new request. Sending the same request again with the same key returns the first answer and makes no second booking, for 24 hours; the same key with a different body is a 409. A different key with the same details is a new request with its own reference. Without a key, the answer is a 202 with no reference, and an identical request within 24 hours stores nothing new.",
                    crate::booking::IdempotencyKey::MAX_CHARS
                )))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(crate::booking::IdempotencyKey::PATTERN))
                        .max_length(Some(crate::booking::IdempotencyKey::MAX_CHARS)),
                )),
        )
        .parameter(
            ParameterBuilder::new()
                .name("Accept")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("A form body is answered with redirects (303) unless `Accept` asks for JSON; a JSON body is always answered with JSON."))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        )
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", request::body("BookingRequest"))
                .content("application/x-www-form-urlencoded", request::body("BookingForm"))
                .build(),
        ))
        .responses(responses.build())
        .build()
}

fn components(published: &Published) -> utoipa::openapi::Components {
    let mut schemas: Vec<(String, RefOr<Schema>)> = Vec::new();
    collect::<Problem>(&mut schemas);
    collect::<FieldError>(&mut schemas);
    collect::<Created>(&mut schemas);
    collect::<crate::booking::intake::Accepted>(&mut schemas);
    collect::<Slug>(&mut schemas);
    collect::<ConditionList>(&mut schemas);
    collect::<Condition>(&mut schemas);
    collect::<ConsultantList>(&mut schemas);
    collect::<Consultant>(&mut schemas);
    collect::<SupportServiceList>(&mut schemas);
    collect::<PriceList>(&mut schemas);
    collect::<SiteAnswer>(&mut schemas);
    collect::<ConsentWording>(&mut schemas);
    collect::<PrivacyNotice>(&mut schemas);
    schemas.push((
        "BookingRequest".into(),
        request::booking_request(published, Body::Json).into(),
    ));
    schemas.push((
        "BookingForm".into(),
        request::booking_request(published, Body::Form).into(),
    ));
    schemas.push((
        "OpenApi".into(),
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("This document."))
            .build()
            .into(),
    ));
    let mut seen = std::collections::BTreeSet::new();
    schemas.retain(|(name, _)| seen.insert(name.clone()));
    ComponentsBuilder::new().schemas_from_iter(schemas).build()
}

/// A type's schema and every schema it refers to, under their names.
fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// Every answer object is closed (`additionalProperties: false`): a field
/// the code adds without the document is then an error in the tests.
/// Compositions (`allOf`, the request schemas) are closed where they are
/// built, or left open; `OpenApi` (this document) is left open.
fn close_objects(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    // A schema that is part of another's `allOf` (a flattened field) sees
    // only its own properties there, so it stays open.
    let composed: Vec<String> = components
        .schemas
        .values()
        .filter_map(|schema| match schema {
            RefOr::T(Schema::AllOf(all)) => Some(all.items.iter()),
            _ => None,
        })
        .flatten()
        .filter_map(|item| match item {
            RefOr::Ref(reference) => reference
                .ref_location
                .strip_prefix("#/components/schemas/")
                .map(str::to_owned),
            RefOr::T(_) => None,
        })
        .collect();
    for (name, schema) in components.schemas.iter_mut() {
        if name != "OpenApi" && !composed.contains(name) {
            close(schema);
        }
    }
}

fn close(schema: &mut RefOr<Schema>) {
    match schema {
        RefOr::Ref(_) => {}
        RefOr::T(Schema::Object(object)) => {
            if !object.properties.is_empty() && object.additional_properties.is_none() {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
            for property in object.properties.values_mut() {
                close(property);
            }
        }
        RefOr::T(Schema::Array(array)) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut array.items {
                close(items);
            }
        }
        // The parts of a composition each see only some of the properties,
        // so closing one would refuse the others'.
        RefOr::T(_) => {}
    }
}
