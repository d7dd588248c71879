//! Problem details (RFC 9457): the one place where errors become HTTP answers.

use crate::booking::intake::BookingError;
use crate::content::ContentError;
use crate::fields::FieldError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// How long a client should wait before retrying when the store is down.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// RFC 9457 problem details: the body of every error answer, with the
/// field errors of a 422.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:frontdesk:problem:...`, or
    /// `about:blank` for a plain HTTP status.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(format = "uri-reference"))]
    pub kind: &'static str,
    /// A short summary of the kind of problem, the same for every occurrence.
    pub title: &'static str,
    /// The HTTP status.
    #[cfg_attr(feature = "openapi", schema(minimum = 400, maximum = 599))]
    pub status: u16,
    /// What happened, for this request, in words a patient understands.
    pub detail: String,
    /// Each field that needs changing (422), or the query parameter that
    /// cannot be used (400 on a content route).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait before retrying (also sent as `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem without field errors.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 404 for a path or resource that does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "about:blank", "Not Found", detail)
    }

    /// 404 for a path no route serves: every router's fallback.
    pub fn no_route() -> Self {
        Self::not_found("There is nothing at this address.")
    }

    /// 405 for a method the route does not take.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "about:blank",
            "Method Not Allowed",
            "This method is not allowed here.",
        )
    }

    /// The status as a `StatusCode`.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<&BookingError> for Problem {
    fn from(error: &BookingError) -> Self {
        match error {
            BookingError::UnsupportedMediaType => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "urn:frontdesk:problem:unsupported-media-type",
                "Unsupported media type",
                "Send application/json or application/x-www-form-urlencoded.",
            ),
            BookingError::TooLarge { limit } => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "urn:frontdesk:problem:too-large",
                "Request too large",
                format!("The request body must be at most {limit} bytes."),
            ),
            BookingError::ForeignOrigin => Problem::new(
                StatusCode::FORBIDDEN,
                "urn:frontdesk:problem:foreign-origin",
                "Not from the clinic's website",
                "Appointment requests are taken from the clinic's own website only. Please use the form there, or telephone the clinic.",
            ),
            BookingError::NoSource => Problem::new(
                StatusCode::BAD_REQUEST,
                "urn:frontdesk:problem:no-source",
                "Source address unknown",
                "The request did not say where it came from, so it cannot be taken. Please telephone the clinic.",
            ),
            BookingError::HumanCheckFailed => Problem::new(
                StatusCode::FORBIDDEN,
                "urn:frontdesk:problem:human-check-failed",
                "The check that you are a person did not work",
                "The form's check that you are a person did not go through, so the request was not sent. Please try the check again and send the form, or telephone the clinic.",
            ),
            BookingError::Malformed(e) => Problem::new(
                StatusCode::BAD_REQUEST,
                "urn:frontdesk:problem:malformed",
                "Malformed request",
                format!("The request could not be read: {e}."),
            ),
            BookingError::Invalid(errors) => Problem {
                errors: errors.as_slice().to_vec(),
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "urn:frontdesk:problem:invalid-fields",
                    "Some answers need changing",
                    "Please correct the fields listed and send the form again.",
                )
            },
            BookingError::KeyReused => Problem {
                errors: vec![FieldError {
                    field: "idempotency_key".into(),
                    message: "This key was already used for a different request; use a new key for a new request.".into(),
                }],
                ..Problem::new(
                    StatusCode::CONFLICT,
                    "urn:frontdesk:problem:idempotency-key-reused",
                    "Idempotency key reused",
                    "The Idempotency-Key was already used with a different request body.",
                )
            },
            BookingError::RateLimited { retry_after_secs } => Problem {
                retry_after: Some(*retry_after_secs),
                ..Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "urn:frontdesk:problem:rate-limited",
                    "Too many requests",
                    "Too many appointment requests have come from this connection. Please try again later or telephone the clinic.",
                )
            },
            BookingError::Unavailable => Problem {
                retry_after: Some(UNAVAILABLE_RETRY_AFTER_SECS),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "urn:frontdesk:problem:unavailable",
                    "Temporarily unavailable",
                    "Your request was not saved. Please try again in a moment or telephone the clinic.",
                )
            },
            BookingError::Unconfirmed => Problem {
                retry_after: Some(UNAVAILABLE_RETRY_AFTER_SECS),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "urn:frontdesk:problem:unconfirmed",
                    "Not confirmed",
                    "We could not confirm your request was saved. Sending the form again is safe: it will not make a second request.",
                )
            },
            BookingError::Internal => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "about:blank",
                "Internal Server Error",
                "Your request was not saved. Please telephone the clinic.",
            ),
        }
    }
}

impl From<&crate::desk::DeskError> for Problem {
    fn from(error: &crate::desk::DeskError) -> Self {
        use crate::desk::DeskError;
        match error {
            DeskError::Unauthenticated => Problem::new(
                StatusCode::UNAUTHORIZED,
                "urn:frontdesk:problem:unauthenticated",
                "Not signed in",
                "Sign in to the desk to see this.",
            ),
            DeskError::Forbidden => Problem::new(
                StatusCode::FORBIDDEN,
                "urn:frontdesk:problem:forbidden",
                "Not allowed",
                "Your account is not allowed to see or do this.",
            ),
            DeskError::NotFound => Problem::not_found("There is no request with this reference."),
            DeskError::Erased { at, reason } => Problem::new(
                StatusCode::GONE,
                "urn:frontdesk:problem:erased",
                "Erased",
                format!("This request was erased on {at}: {reason}. Its details were deleted."),
            ),
            DeskError::Conflict { state, .. } => Problem::new(
                StatusCode::CONFLICT,
                "urn:frontdesk:problem:changed-meanwhile",
                "Changed by someone else",
                format!(
                    "Someone else changed this request first; it is now {}. Nothing you sent was saved.",
                    state.label()
                ),
            ),
            DeskError::Stale => Problem::new(
                StatusCode::CONFLICT,
                "urn:frontdesk:problem:changed-meanwhile",
                "Changed since you looked",
                "The bookings found for this person are not the ones you were shown: a booking arrived or went since. Nothing was erased; search again and check what is found.",
            ),
            DeskError::Invalid { errors, query } => Problem {
                errors: errors.as_slice().to_vec(),
                ..if *query {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "urn:frontdesk:problem:bad-query",
                        "Bad query parameter",
                        "A query parameter of this request cannot be used.",
                    )
                } else {
                    Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "urn:frontdesk:problem:invalid-fields",
                        "Some answers need changing",
                        "Please correct the fields listed and send it again.",
                    )
                }
            },
            DeskError::Malformed => Problem::new(
                StatusCode::BAD_REQUEST,
                "urn:frontdesk:problem:malformed",
                "Malformed request",
                "The request could not be read: expected a JSON object.",
            ),
            DeskError::Unavailable => Problem {
                retry_after: Some(UNAVAILABLE_RETRY_AFTER_SECS),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "urn:frontdesk:problem:unavailable",
                    "Temporarily unavailable",
                    "The desk cannot reach its records just now; nothing was changed. Please try again in a moment.",
                )
            },
            DeskError::Unconfirmed => Problem {
                retry_after: Some(UNAVAILABLE_RETRY_AFTER_SECS),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "urn:frontdesk:problem:unconfirmed",
                    "Not confirmed",
                    "The desk did not hear back in time; a change may or may not have been saved. Open the request again to see.",
                )
            },
            DeskError::Internal => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "about:blank",
                "Internal Server Error",
                "The desk could not do this. Please tell the system's operator.",
            ),
        }
    }
}

impl From<&ContentError> for Problem {
    fn from(error: &ContentError) -> Self {
        match error {
            ContentError::NotFound { what, slug } if slug.is_empty() => {
                Problem::not_found(format!("No {what} has been published yet."))
            }
            ContentError::NotFound { what, slug } => {
                Problem::not_found(format!("There is no {what} {slug:?}."))
            }
            ContentError::BadQuery { name, message } => Problem {
                errors: vec![FieldError {
                    field: (*name).into(),
                    message: message.clone(),
                }],
                ..Problem::new(
                    StatusCode::BAD_REQUEST,
                    "urn:frontdesk:problem:bad-query",
                    "Bad query parameter",
                    "A query parameter of this request cannot be used.",
                )
            },
            ContentError::Unavailable(_) => Problem {
                retry_after: Some(UNAVAILABLE_RETRY_AFTER_SECS),
                ..Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "urn:frontdesk:problem:unavailable",
                    "Temporarily unavailable",
                    "The clinic's information cannot be read just now. Please try again in a moment.",
                )
            },
        }
    }
}

impl IntoResponse for crate::desk::DeskError {
    /// The problem details, and for a conflict the request's state and
    /// version now as extension members (`state`, `version`), so the desk
    /// shows what the change lost to.
    fn into_response(self) -> Response {
        let problem = Problem::from(&self);
        let crate::desk::DeskError::Conflict { state, version } = self else {
            return problem.into_response();
        };
        let mut response = problem.clone().into_response();
        if let Ok(serde_json::Value::Object(mut body)) = serde_json::to_value(&problem) {
            body.insert("state".into(), state.as_str().into());
            body.insert("version".into(), version.into());
            *response.body_mut() =
                axum::body::Body::from(serde_json::Value::Object(body).to_string());
        }
        response
    }
}

impl IntoResponse for ContentError {
    fn into_response(self) -> Response {
        Problem::from(&self).into_response()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(crate::wire::CACHE_CONTROL_NO_STORE),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl IntoResponse for BookingError {
    fn into_response(self) -> Response {
        Problem::from(&self).into_response()
    }
}
