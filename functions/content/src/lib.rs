//! The content function: the clinic's content as `GET /v1/...` routes of an
//! `axum::Router`.
//!
//! The same router runs in Lambda (`main.rs`, through `lambda_http`) and in
//! `frontdesk serve`. Every answer is public and the same for everyone, so it
//! carries a strong ETag and `Cache-Control` for browsers and a CDN, and
//! `If-None-Match` with the current ETag is answered 304 with no body.

#![warn(missing_docs)]

pub mod catalog;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use catalog::{Catalog, Rendered};
use frontdesk_shared::booking::Slug;
use frontdesk_shared::content::cache::ContentCache;
use frontdesk_shared::content::{ContentError, ContentStore};
use frontdesk_shared::problem::Problem;
use frontdesk_shared::time_source::Clock;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};

pub use frontdesk_shared::wire::{CACHE_CONTROL_PUBLIC as CACHE_CONTROL, CONTENT_ROUTES as ROUTES};

/// What the router needs: the content cache.
#[derive(Clone)]
pub struct AppState {
    cache: Arc<ContentCache<Catalog>>,
}

impl AppState {
    /// State around a cache of the content in `store` (which `main` builds
    /// once), kept for `ttl`.
    pub fn over(store: Arc<dyn ContentStore>, ttl: Duration, clock: Clock) -> Self {
        Self {
            cache: Arc::new(ContentCache::new(store, ttl, clock, Catalog::load)),
        }
    }
}

/// The content API: its routes, and 404 problem details for any other path.
pub fn router(state: AppState) -> Router {
    routes(state).fallback(|| async { Problem::no_route() })
}

/// The content API's routes, readable from any origin (the content is
/// public), and no fallback, so that `frontdesk serve` can merge them with
/// other functions'.
pub fn routes(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([header::IF_NONE_MATCH])
        .expose_headers([header::ETAG])
        .max_age(std::time::Duration::from_secs(600));
    ROUTES
        .iter()
        .fold(Router::new(), |router, path| {
            router.route(path, handler(path))
        })
        .with_state(state)
        .layer(cors)
}

fn handler(path: &str) -> axum::routing::MethodRouter<AppState> {
    match path {
        "/v1/conditions" => read(conditions),
        "/v1/conditions/{slug}" => read(condition),
        "/v1/consultants" => read(consultants),
        "/v1/consultants/{slug}" => read(consultant),
        "/v1/support-services" => read(support_services),
        "/v1/prices" => read(prices),
        "/v1/site" => read(site),
        "/v1/consent" => read(consent),
        "/v1/privacy" => read(privacy),
        "/v1/openapi.json" => read(openapi),
        _ => read(|| async { Problem::no_route() }),
    }
}

/// A `GET` (and so `HEAD`) route that answers 405 to any other method.
fn read<H, T>(handler: H) -> axum::routing::MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    get(handler).fallback(|| async {
        let mut response = Problem::method_not_allowed().into_response();
        response.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static(frontdesk_shared::wire::CONTENT_METHODS),
        );
        response
    })
}

/// Whether `If-None-Match` names the answer's ETag (weak comparison, as
/// RFC 9110 has it for this header), or is `*`.
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// The answer as a response: 200 with the body, or 304 without it.
fn respond(headers: &HeaderMap, answer: &Rendered) -> Response {
    let mut response = if not_modified(headers, &answer.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = answer.body.clone().into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    };
    let out = response.headers_mut();
    out.insert(header::ETAG, answer.etag.clone());
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    response
}

/// Answers with what `pick` finds in the current catalog.
async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    pick: impl FnOnce(&Catalog) -> Result<&Rendered, ContentError>,
) -> Response {
    match state.cache.get().await {
        Ok(catalog) => match pick(&catalog) {
            Ok(found) => respond(headers, found),
            Err(error) => error.into_response(),
        },
        Err(error) => error.into_response(),
    }
}

fn not_found(what: &'static str, slug: &str) -> ContentError {
    ContentError::NotFound {
        what,
        slug: slug.to_owned(),
    }
}

async fn conditions(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, |c| Ok(c.conditions())).await
}

async fn condition(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(&state, &headers, |c| {
        c.condition(&slug)
            .ok_or_else(|| not_found("condition", &slug))
    })
    .await
}

/// The `specialty` parameter of a query string, checked to be a slug.
fn specialty(query: Option<&str>) -> Result<Option<String>, ContentError> {
    let Some(query) = query else { return Ok(None) };
    let mut found = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name != "specialty" {
            continue;
        }
        let value = value.replace('+', " ");
        let value = percent_encoding::percent_decode_str(&value).decode_utf8_lossy();
        let bad = |message: &str| ContentError::BadQuery {
            name: "specialty",
            message: message.into(),
        };
        if found.is_some() {
            return Err(bad("Give one specialty."));
        }
        match Slug::parse_exact(&value) {
            Ok(slug) => found = Some(slug.as_str().to_owned()),
            Err(_) => {
                return Err(bad(
                    "A specialty is a condition's slug, like neuroendocrine-tumours.",
                ))
            }
        }
    }
    Ok(found)
}

async fn consultants(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let specialty = match specialty(query.as_deref()) {
        Ok(specialty) => specialty,
        Err(error) => return error.into_response(),
    };
    answer(
        &state,
        &headers,
        |c| Ok(c.consultants(specialty.as_deref())),
    )
    .await
}

async fn consultant(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(&state, &headers, |c| {
        c.consultant(&slug)
            .ok_or_else(|| not_found("consultant", &slug))
    })
    .await
}

async fn support_services(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, |c| Ok(c.support_services())).await
}

async fn prices(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, |c| Ok(c.prices())).await
}

/// The OpenAPI document, for the content loaded.
async fn openapi(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, |c| Ok(c.openapi())).await
}

async fn site(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, |c| {
        c.site().ok_or_else(|| not_found("site", ""))
    })
    .await
}

/// The consent wording the booking form shows now.
async fn consent(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, |c| {
        c.consent().ok_or_else(|| not_found("consent wording", ""))
    })
    .await
}

async fn privacy(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, |c| {
        c.privacy().ok_or_else(|| not_found("privacy notice", ""))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        let etag = HeaderValue::from_static("\"abc\"");
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_static(v));
            h
        };
        assert!(not_modified(&with("\"abc\""), &etag));
        assert!(not_modified(&with("W/\"abc\""), &etag));
        assert!(not_modified(&with("\"x\", \"abc\""), &etag));
        assert!(not_modified(&with("*"), &etag));
        assert!(!not_modified(&with("\"abcd\""), &etag));
        assert!(!not_modified(&HeaderMap::new(), &etag));
    }

    #[test]
    fn the_specialty_filter_must_be_one_slug() {
        assert_eq!(specialty(None).unwrap(), None);
        assert_eq!(specialty(Some("x=1")).unwrap(), None);
        assert_eq!(
            specialty(Some("specialty=neuroendocrine-tumours")).unwrap(),
            Some("neuroendocrine-tumours".into())
        );
        assert!(specialty(Some("specialty=%3Cscript%3E")).is_err());
        assert!(specialty(Some("specialty=")).is_err());
        assert!(specialty(Some("specialty=a&specialty=b")).is_err());
    }
}
