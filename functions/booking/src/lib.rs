//! The booking function: `POST /v1/bookings` as an `axum::Router`.
//!
//! The same router runs in Lambda (`main.rs`, through `lambda_http`) and in
//! `frontdesk serve`. The edge that runs it tells the router who the client
//! is by inserting a [`ClientAddr`] extension.

#![warn(missing_docs)]

pub mod origin;
pub mod source;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use frontdesk_shared::booking::intake::{
    Accepted, BookingError, Created, Intake, Receipt, Submission,
};
use frontdesk_shared::booking::MediaType;
use frontdesk_shared::metric::Refusal;
use frontdesk_shared::problem::Problem;
use frontdesk_shared::wire;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::net::IpAddr;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use frontdesk_shared::wire::{BODY_LIMIT, BOOKING_ROUTES as ROUTES};

/// The header that marks an answer repeated for an earlier identical request.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static(wire::IDEMPOTENT_REPLAYED);

/// The header a script sends so that retries of one request make one booking.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static(wire::IDEMPOTENCY_KEY);

/// The client's address, as the edge running the router sees it
/// (API Gateway's source IP in Lambda, the TCP peer locally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// What the router needs: the booking service (with its config and store).
#[derive(Clone)]
pub struct AppState {
    intake: Intake,
}

impl AppState {
    /// State around a booking service.
    pub fn new(intake: Intake) -> Self {
        Self { intake }
    }
}

/// The booking API: its routes, and 404 problem details for any other path.
pub fn router(state: AppState) -> Router {
    routes(state).fallback(|| async { Problem::no_route() })
}

/// The booking API's routes, with CORS for the configured origins, and no
/// fallback, so that `frontdesk serve` can merge them with other functions'.
pub fn routes(state: AppState) -> Router {
    let cors = cors(&state.intake.config().allowed_origins);
    Router::new()
        .route(
            ROUTES[0],
            post(create_booking).fallback(|| async { method_not_allowed() }),
        )
        .with_state(state)
        .layer(cors)
}

fn method_not_allowed() -> Response {
    let mut response = Problem::method_not_allowed().into_response();
    response.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static(wire::BOOKING_METHODS),
    );
    response
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::ACCEPT, IDEMPOTENCY_KEY])
        .expose_headers([header::RETRY_AFTER, IDEMPOTENT_REPLAYED])
        .max_age(std::time::Duration::from_secs(600))
}

/// How to answer: JSON for scripts, redirects for a plain HTML form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplyAs {
    Json,
    Redirect,
}

impl ReplyAs {
    /// A urlencoded body is a plain form unless the client asks for JSON.
    fn for_request(media: Option<MediaType>, headers: &HeaderMap) -> Self {
        let wants_json = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("json"));
        if media == Some(MediaType::Form) && !wants_json {
            Self::Redirect
        } else {
            Self::Json
        }
    }
}

async fn create_booking(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(MediaType::from_content_type);
    let answer = ReplyAs::for_request(media, &headers);
    let result = async {
        origin::check(&headers, state.intake.config())
            .map_err(|e| state.intake.refused(Refusal::ForeignOrigin, e))?;
        let media = media.ok_or(BookingError::UnsupportedMediaType)?;
        let bytes = read_body(body).await?;
        // A header that is not visible ASCII is passed on as a control
        // character, for parsing to refuse with the field named.
        let key = headers
            .get(&IDEMPOTENCY_KEY)
            .map(|v| v.to_str().unwrap_or("\u{0}"));
        state
            .intake
            .submit(Submission {
                media,
                body: &bytes,
                idempotency_header: key,
                source: client.map(|Extension(ClientAddr(ip))| ip),
            })
            .await
    }
    .await;
    respond(&state, answer, result)
}

async fn read_body(body: Body) -> Result<axum::body::Bytes, BookingError> {
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(BookingError::TooLarge { limit: BODY_LIMIT })
        }
        Err(e) => Err(BookingError::Malformed(
            frontdesk_shared::booking::DecodeError::Unreadable(e.to_string()),
        )),
    }
}

fn respond(state: &AppState, answer: ReplyAs, result: Result<Receipt, BookingError>) -> Response {
    let config = state.intake.config();
    match (answer, result) {
        (
            ReplyAs::Json,
            Ok(Receipt::Keyed {
                reference,
                received_at,
                replayed,
            }),
        ) => {
            let body = Created::new(&reference, received_at);
            let mut response = (StatusCode::CREATED, Json(body)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(wire::CACHE_CONTROL_NO_STORE),
            );
            if replayed {
                headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            }
            response
        }
        (ReplyAs::Json, Ok(Receipt::Keyless)) => {
            let mut response = (StatusCode::ACCEPTED, Json(Accepted::RECEIVED)).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(wire::CACHE_CONTROL_NO_STORE),
            );
            response
        }
        (ReplyAs::Redirect, Ok(Receipt::Keyed { reference, .. })) => see_other(&with_query(
            &config.thank_you_url,
            "reference",
            reference.as_str(),
        )),
        (ReplyAs::Redirect, Ok(Receipt::Keyless)) => see_other(&config.thank_you_url),
        (ReplyAs::Redirect, Err(BookingError::Invalid(errors))) => {
            let fields: Vec<&str> = errors.as_slice().iter().map(|e| e.field.as_str()).collect();
            see_other(&with_query(&config.form_url, "errors", &fields.join(",")))
        }
        (ReplyAs::Redirect, Err(BookingError::KeyReused)) => {
            see_other(&with_query(&config.form_url, "errors", "idempotency_key"))
        }
        (ReplyAs::Redirect, Err(BookingError::HumanCheckFailed)) => {
            see_other(&with_query(&config.form_url, "errors", HUMAN_CHECK_FAILED))
        }
        // A patient's plain form that could not be taken just now goes back
        // to the form, which says to try again later or call, rather than
        // to a page of JSON. (A form from a foreign page is answered 403.)
        (
            ReplyAs::Redirect,
            Err(
                BookingError::RateLimited { .. }
                | BookingError::Unavailable
                | BookingError::Unconfirmed
                | BookingError::NoSource
                | BookingError::Internal,
            ),
        ) => see_other(&with_query(&config.form_url, "errors", NOT_TAKEN)),
        (_, Err(error)) => error.into_response(),
    }
}

/// What a plain form is sent back naming when it could not be taken just
/// now (no field of it is wrong).
pub const NOT_TAKEN: &str = "not_taken";

/// What a plain form is sent back naming when Cloudflare rejected its
/// human check: the patient tries the check again, or calls.
pub const HUMAN_CHECK_FAILED: &str = "human_check";

/// Query values keep field names and references readable: `errors=first_name,email`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b',');

fn with_query(url: &str, name: &str, value: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}{name}={}",
        utf8_percent_encode(value, QUERY_VALUE)
    )
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(wire::CACHE_CONTROL_NO_STORE),
            );
            response
        }
        Err(_) => BookingError::Internal.into_response(),
    }
}
