//! The staff desk: its API under `/v1/desk` and its pages under `/desk`,
//! as one `axum::Router`.
//!
//! The same router runs in Lambda (`main.rs`, behind the HTTP API's JWT
//! authorizer) and in `frontdesk serve` (behind the one-time sign-in link
//! of [`local`]). The edge that runs it says who is calling by inserting a
//! `Result<Caller, DeskError>` extension; every API route requires a
//! caller, and the audit trail's and a person's data rights' ([`subjects`])
//! routes an admin. Every answer, refusals
//! and the pages included, is `no-store`, framed by nobody, sends no
//! referrer, and runs only the desk's own script. The desk is not under
//! the public routes' CORS: its pages and API share an origin.

#![warn(missing_docs)]

pub mod api;
pub mod identity;
pub mod local;
pub mod pages;
pub mod subjects;

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use frontdesk_shared::content::cache::Publication;
use frontdesk_shared::desk::{Consultants, DeskStore};
use frontdesk_shared::problem::Problem;
use frontdesk_shared::time_source::Clock;
use frontdesk_shared::DeskConfig;
use std::sync::Arc;

pub use frontdesk_shared::wire::{DESK_API_ROUTE, DESK_RIGHTS_ROUTE, DESK_ROUTES as ROUTES};
pub use identity::{Caller, Role};
pub use subjects::Rights;

/// What the desk's routes need: its store, the consultants an appointment
/// may be with (read only when a booking names one), what an admin's
/// data-rights actions use, the clock, its settings.
#[derive(Clone)]
pub struct AppState {
    desk: Arc<dyn DeskStore>,
    consultants: Arc<dyn Publication<Consultants>>,
    rights: Arc<Rights>,
    clock: Clock,
    config: Arc<DeskConfig>,
}

impl AppState {
    /// The desk over `desk`, as `config` describes it.
    pub fn new(
        desk: Arc<dyn DeskStore>,
        consultants: Arc<dyn Publication<Consultants>>,
        rights: Rights,
        clock: Clock,
        config: DeskConfig,
    ) -> Self {
        Self {
            desk,
            consultants,
            rights: Arc::new(rights),
            clock,
            config: Arc::new(config),
        }
    }

    /// The desk's settings.
    pub fn config(&self) -> &DeskConfig {
        &self.config
    }
}

/// The desk's routes, and 404 problem details for any other path.
pub fn router(state: AppState) -> Router {
    routes(state).fallback(|| async { Problem::no_route() })
}

/// The desk's routes with no fallback, so `frontdesk serve` can merge them
/// with the other functions'. Paths under `/v1/desk` and `/desk` that no
/// route serves are answered here, with the desk's headers.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(api::INBOX_PATH, get(api::inbox).fallback(not_allowed))
        .route(api::REQUEST_PATH, get(api::request).fallback(not_allowed))
        .route(api::MOVES_PATH, post(api::change).fallback(not_allowed))
        .route(
            api::REQUEST_AUDIT_PATH,
            get(api::request_audit).fallback(not_allowed),
        )
        .route(api::AUDIT_PATH, get(api::audit).fallback(not_allowed))
        .route(
            subjects::FIND_PATH,
            post(subjects::find_person).fallback(not_allowed),
        )
        .route(
            subjects::EXPORT_PATH,
            post(subjects::export_person).fallback(not_allowed),
        )
        .route(
            subjects::ERASE_PATH,
            post(subjects::erase_person).fallback(not_allowed),
        )
        .route(api::SIGN_IN_PATH, post(api::sign_in).fallback(not_allowed))
        .route(
            api::SIGN_OUT_PATH,
            post(api::sign_out).fallback(not_allowed),
        )
        .route("/v1/desk/{*rest}", axum::routing::any(no_route))
        .merge(pages::routes())
        .with_state(state)
        .layer(axum::middleware::map_response(secure))
}

async fn not_allowed() -> Response {
    Problem::method_not_allowed().into_response()
}

async fn no_route() -> Response {
    Problem::no_route().into_response()
}

/// The scripts, styles, images and requests a desk page may use: its own
/// origin's, and the sign-in's token endpoint. No inline script or style.
pub fn content_security_policy(sign_in_url: Option<&str>) -> String {
    let connect = match sign_in_url {
        Some(url) => format!("'self' {url}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src {connect}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The headers of every desk answer. A page's own policy (set by
/// [`pages`]) names the sign-in's origin; any other answer gets the
/// strictest.
pub(crate) async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(policy) = HeaderValue::from_str(&content_security_policy(None)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    response
}
