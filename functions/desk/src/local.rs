//! Signing in locally, with no Cognito: `frontdesk serve` prints a one-time
//! link for the person at the keyboard
//! (`http://127.0.0.1:3000/desk/sign-in#<secret>`). The secret travels in
//! the fragment, which the browser never sends; the sign-in page posts it,
//! from loopback only, to `POST /v1/desk/local-session`, which answers once
//! with a session token and never again. The token is then the bearer of
//! every desk request, until the server stops. After that, every route is
//! the same code as in AWS: the session stands in for the authorizer's
//! claims and inserts the same [`Caller`]. A session left alone for half an
//! hour ends, and none lasts more than twelve hours.

use crate::identity::{Caller, Role};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use frontdesk_shared::booking::Email;
use frontdesk_shared::desk::{DeskError, Staff};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The path the sign-in page exchanges its secret at.
pub const LOCAL_SESSION_PATH: &str = "/v1/desk/local-session";

/// The address the trail names the person at the keyboard by.
pub const LOCAL_EMAIL: &str = "desk@localhost.localdomain";

/// The local server's one sign-in link and the sessions it opened.
#[derive(Clone)]
pub struct LocalSignIn {
    inner: Arc<Mutex<Sessions>>,
}

struct Sessions {
    /// The hash of the link's secret, until it is used.
    secret: Option<[u8; 32]>,
    /// The hash of each session token, and whose it is.
    open: HashMap<[u8; 32], Session>,
}

/// A session a link opened: whose, and when it was opened and last used.
struct Session {
    caller: Caller,
    opened: Instant,
    used: Instant,
}

/// A session unused this long ends, as a signed-in tab left alone should.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// No session lasts longer than this, used or not.
pub const LONGEST: Duration = Duration::from_secs(12 * 60 * 60);

impl Session {
    /// Whether it still holds at `now`.
    fn holds(&self, now: Instant) -> bool {
        now.duration_since(self.used) < IDLE && now.duration_since(self.opened) < LONGEST
    }
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

impl LocalSignIn {
    /// A sign-in with a fresh secret, and the secret, for the link printed.
    pub fn new() -> Result<(Self, String), getrandom::Error> {
        let secret = random_token()?;
        let sign_in = Self {
            inner: Arc::new(Mutex::new(Sessions {
                secret: Some(hash(&secret)),
                open: HashMap::new(),
            })),
        };
        Ok((sign_in, secret))
    }

    /// Exchanges the link's secret for a session token, once.
    fn exchange(&self, secret: &str) -> Option<String> {
        let mut sessions = self.inner.lock().ok()?;
        let wanted = sessions.secret?;
        if hash(secret) != wanted {
            return None;
        }
        let token = random_token().ok()?;
        let subject = format!("local-{}", &token[..12]);
        sessions.secret = None;
        let now = Instant::now();
        sessions.open.insert(
            hash(&token),
            Session {
                caller: Caller {
                    staff: Staff {
                        subject,
                        email: Email::parse(LOCAL_EMAIL).ok()?,
                    },
                    role: Role::Admin,
                },
                opened: now,
                used: now,
            },
        );
        Some(token)
    }

    /// The caller a bearer token is the session of, while it holds.
    fn caller(&self, token: &str) -> Option<Caller> {
        self.caller_at(token, Instant::now())
    }

    fn caller_at(&self, token: &str, now: Instant) -> Option<Caller> {
        let mut sessions = self.inner.lock().ok()?;
        let key = hash(token);
        let session = sessions.open.get_mut(&key)?;
        if !session.holds(now) {
            sessions.open.remove(&key);
            return None;
        }
        session.used = now;
        Some(session.caller.clone())
    }

    /// Ends the session of `token` (signing out).
    pub fn close(&self, token: &str) {
        if let Ok(mut sessions) = self.inner.lock() {
            sessions.open.remove(&hash(token));
        }
    }

    /// The exchange route, answered only to loopback peers.
    pub fn routes(&self) -> Router {
        Router::new()
            .route(LOCAL_SESSION_PATH, post(exchange))
            .with_state(self.clone())
            .layer(axum::middleware::map_response(crate::secure))
    }

    /// The edge of the local server: the session a bearer token names
    /// becomes the request's [`Caller`], as the authorizer's claims do in AWS.
    pub async fn identify(
        State(sign_in): State<Self>,
        mut request: Request,
        next: Next,
    ) -> Response {
        let token = bearer(&request).map(str::to_owned);
        let caller = token
            .as_deref()
            .and_then(|token| sign_in.caller(token))
            .ok_or(DeskError::Unauthenticated);
        let signing_out = request.uri().path() == crate::api::SIGN_OUT_PATH;
        request.extensions_mut().insert(caller);
        let response = next.run(request).await;
        // Signed out (and on the trail): the session ends here.
        if let (true, Some(token)) = (signing_out && response.status().is_success(), token) {
            sign_in.close(&token);
        }
        response
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

#[derive(serde::Deserialize)]
struct Exchange {
    secret: String,
}

async fn exchange(State(sign_in): State<LocalSignIn>, request: Request) -> Response {
    let loopback = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(addr)| addr.ip().is_loopback());
    if !loopback {
        return DeskError::Forbidden.into_response();
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), 4096).await else {
        return DeskError::Malformed.into_response();
    };
    let Ok(body) = serde_json::from_slice::<Exchange>(&body) else {
        return DeskError::Malformed.into_response();
    };
    match sign_in.exchange(&body.secret) {
        Some(token) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({ "token": token })),
        )
            .into_response(),
        // Used already, or never this link's: the same answer either way.
        None => DeskError::Unauthenticated.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_opens_one_session_only() {
        let (sign_in, secret) = LocalSignIn::new().unwrap();
        assert_eq!(sign_in.exchange("not-the-secret"), None);
        let token = sign_in.exchange(&secret).expect("first use");
        assert_eq!(sign_in.exchange(&secret), None, "the link works once");
        let caller = sign_in.caller(&token).unwrap();
        assert_eq!(caller.role, Role::Admin);
        assert_eq!(caller.staff.email.as_str(), LOCAL_EMAIL);
        sign_in.close(&token);
        assert_eq!(sign_in.caller(&token), None);
    }

    #[test]
    fn a_session_ends_when_left_alone_or_when_too_old() {
        let (sign_in, secret) = LocalSignIn::new().unwrap();
        let token = sign_in.exchange(&secret).unwrap();
        let start = Instant::now();
        let minute = Duration::from_secs(60);
        // Used every 20 minutes it holds, until its twelve hours are up.
        let mut at = start;
        while at + minute * 20 < start + LONGEST {
            at += minute * 20;
            assert!(sign_in.caller_at(&token, at).is_some(), "{:?}", at - start);
        }
        assert!(sign_in.caller_at(&token, start + LONGEST).is_none());
        // Left alone for half an hour, it ends, and stays ended.
        let (sign_in, secret) = LocalSignIn::new().unwrap();
        let token = sign_in.exchange(&secret).unwrap();
        assert!(sign_in.caller_at(&token, Instant::now() + IDLE).is_none());
        assert!(sign_in.caller(&token).is_none());
    }
}
