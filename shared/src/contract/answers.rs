//! The answers of both APIs: every error each handler can return, turned
//! into its status by [`Problem::from`] (the one place errors become HTTP),
//! so a new error is in the document as soon as it is placed there.

use crate::booking::intake::BookingError;
use crate::booking::DecodeError;
use crate::content::ContentError;
use crate::fields::FieldErrors;
use crate::problem::{Problem, UNAVAILABLE_RETRY_AFTER_SECS};
use crate::store::StoreError;
use crate::wire;
use std::collections::BTreeMap;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::Header;

/// Every error of the booking handler, with when it is answered. The match
/// has no wildcard: a new error is a compile error here until it is described.
pub fn booking_errors() -> Vec<(BookingError, &'static str)> {
    let all = [
        BookingError::UnsupportedMediaType,
        BookingError::TooLarge {
            limit: wire::BODY_LIMIT,
        },
        BookingError::ForeignOrigin,
        BookingError::NoSource,
        BookingError::Malformed(DecodeError::Json(String::new())),
        BookingError::Invalid(FieldErrors::new()),
        BookingError::HumanCheckFailed,
        BookingError::KeyReused,
        BookingError::RateLimited {
            retry_after_secs: 1,
        },
        BookingError::Unavailable,
        BookingError::Unconfirmed,
        BookingError::Internal,
    ];
    all.into_iter()
        .map(|error| {
            let when = match &error {
                BookingError::UnsupportedMediaType => {
                    "The body is neither `application/json` nor `application/x-www-form-urlencoded`."
                }
                BookingError::TooLarge { .. } => "The body is over 16 KiB.",
                BookingError::ForeignOrigin => {
                    "The request carries no `Origin` (nor `Referer`) among `ALLOWED_ORIGINS`: `Origin: null` only with `ALLOW_NULL_ORIGIN`, neither header only with `ALLOW_CALLS_WITHOUT_ORIGIN`. Nothing was stored or sent."
                }
                BookingError::NoSource => {
                    "The request has no usable source address to charge its allowance to. Nothing was stored."
                }
                BookingError::Malformed(_) => {
                    "The body cannot be read: not a JSON object or not a form, bad UTF-8, or a field sent twice."
                }
                BookingError::Invalid(_) => {
                    "Some fields need changing: every one is listed in `errors` with a message for the patient. Nothing was stored."
                }
                BookingError::HumanCheckFailed => {
                    "With the human check on (`TURNSTILE_SECRET`), Cloudflare rejected the `cf-turnstile-response` token: invalid, expired, used before, or solved on another site. Nothing was stored or sent."
                }
                BookingError::KeyReused => {
                    "The `Idempotency-Key` was used before with a different body (`errors` names `idempotency_key`): the key belongs to that request. Nothing was stored."
                }
                BookingError::RateLimited { .. } => {
                    "Too many bookings from this address (`RATE_LIMIT_PER_HOUR` in each of two hour-long windows staggered by half an hour, so never more than that in any half hour), whether or not the body was sent before. Nothing was stored."
                }
                BookingError::Unavailable => {
                    "The store could not be reached in time: the booking was not stored."
                }
                BookingError::Unconfirmed => {
                    "The store did not confirm the write in time: it may have been stored. Sending the same request again (with the same `Idempotency-Key`) is safe either way."
                }
                BookingError::Internal => "An unexpected failure. The booking was not stored.",
            };
            (error, when)
        })
        .collect()
}

/// Every error a content route can return, with when, for the route at
/// `path`: every route can find the store unavailable (the document too:
/// it names the content's specialties); a slug route and the site can find
/// nothing; the consultants list can be given a bad query.
pub fn content_errors(path: &str) -> Vec<(ContentError, &'static str)> {
    let all = [
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
    all.into_iter()
        .filter_map(|error| {
            let (applies, when) = match &error {
                ContentError::NotFound { .. } => (
                    path.ends_with("{slug}")
                        || matches!(path, "/v1/site" | "/v1/consent" | "/v1/privacy"),
                    "Nothing is published at this address.",
                ),
                ContentError::BadQuery { .. } => (
                    path == "/v1/consultants",
                    "A query parameter cannot be used (named in `errors`).",
                ),
                ContentError::Unavailable(_) => (
                    true,
                    "The content cannot be read and no earlier copy is held.",
                ),
            };
            applies.then_some((error, when))
        })
        .collect()
}

/// The problem answers of an operation, one per status, from its errors.
pub fn problems<E>(errors: &[(E, &'static str)]) -> BTreeMap<String, Response>
where
    for<'a> &'a E: Into<Problem>,
{
    let mut by_status: BTreeMap<String, (Vec<&str>, bool)> = BTreeMap::new();
    for (error, when) in errors {
        let problem: Problem = error.into();
        let entry = by_status.entry(problem.status.to_string()).or_default();
        entry.0.push(when);
        entry.1 |= problem.retry_after.is_some();
    }
    by_status
        .into_iter()
        .map(|(status, (whens, retry))| (status, problem(&whens.join(" Or: "), retry, None)))
        .collect()
}

/// An `application/problem+json` answer.
pub fn problem(description: &str, retry_after: bool, allow: Option<&str>) -> Response {
    let mut builder = ResponseBuilder::new()
        .description(description)
        .header("Cache-Control", no_store())
        .content("application/problem+json", super::request::body("Problem"));
    if retry_after {
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some(format!(
                    "Seconds to wait before sending the request again ({UNAVAILABLE_RETRY_AFTER_SECS} when the store is down)."
                )))
                .build(),
        );
    }
    if let Some(methods) = allow {
        builder = builder.header("Allow", exactly(methods, "The methods the route takes."));
    }
    builder.build()
}

/// 405, with the methods the route takes.
pub fn method_not_allowed(methods: &str) -> Response {
    problem("The route does not take this method.", false, Some(methods))
}

/// `Cache-Control: no-store`.
pub fn no_store() -> Header {
    exactly(
        wire::CACHE_CONTROL_NO_STORE,
        "The answer is about one request and must not be cached.",
    )
}

/// The public `Cache-Control` of every content answer.
pub fn cache_public() -> Header {
    exactly(
        wire::CACHE_CONTROL_PUBLIC,
        "Browsers and a CDN may keep the answer, and revalidate with its ETag.",
    )
}

/// The strong ETag of a content answer.
pub fn etag() -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^\"[0-9a-f]+\"$")),
        )
        .description(Some(
            "A strong validator of the body: send it back in `If-None-Match`.",
        ))
        .build()
}

/// Where the browser goes next.
pub fn location() -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::Custom("uri-reference".into()))),
        )
        .description(Some("Where the browser goes next."))
        .build()
}

/// `Idempotent-Replayed: true`.
pub fn replayed() -> Header {
    exactly(
        "true",
        "Present when the answer repeats the one given to this key's earlier request, whose booking this is.",
    )
}

/// A header that always has one value.
fn exactly(value: &str, description: &str) -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([value])),
        )
        .description(Some(format!("`{value}`: {description}")))
        .build()
}
