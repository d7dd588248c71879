//! A loopback stand-in for Cloudflare Turnstile's siteverify, answering as
//! Cloudflare documents it: a token is good once (or again with the same
//! `idempotency_key`), a wrong secret is `invalid-input-secret`, and a
//! token solved elsewhere succeeds for another hostname. It can also stop
//! answering, to show the booking is taken unverified rather than lost.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The secret the fake accepts.
pub const SECRET: &str = "1x0000000000000000000000000000000AA";

/// A token the fake passes (once, as Cloudflare does), solved on the test site.
pub fn passing_token(n: usize) -> String {
    format!("pass.{n}.XXXX")
}

/// A token the fake rejects as invalid.
pub const REJECTED_TOKEN: &str = "fail.XXXX";

/// A token solved on another site: success, for another hostname.
pub const ELSEWHERE_TOKEN: &str = "elsewhere.XXXX";

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As Cloudflare does.
    Answering,
    /// Accepts the connection and never answers (a verifier that hangs).
    Hanging,
}

#[derive(Default)]
struct Seen {
    /// Every request's form fields, in order.
    requests: Vec<BTreeMap<String, String>>,
    /// Tokens already spent, with the idempotency key they were spent under.
    spent: HashMap<String, Option<String>>,
}

/// The running fake.
pub struct Siteverify {
    url: String,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Siteverify {
    /// Starts a fake answering in `mode`, for the test site's hostname.
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!(
            "http://{}/turnstile/v0/siteverify",
            listener.local_addr().expect("address")
        );
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let app = Router::new()
            .route("/turnstile/v0/siteverify", post(answer))
            .with_state((Arc::clone(&seen), mode));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, seen, task }
    }

    /// `TURNSTILE_VERIFY_URL` for it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The settings that turn the human check on against it.
    pub fn env(&self) -> [(&'static str, &str); 2] {
        [
            ("TURNSTILE_SECRET", SECRET),
            ("TURNSTILE_VERIFY_URL", &self.url),
        ]
    }

    /// Every request it received, as form fields.
    pub fn requests(&self) -> Vec<BTreeMap<String, String>> {
        self.seen.lock().expect("lock").requests.clone()
    }
}

impl Drop for Siteverify {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(State((seen, mode)): State<(Arc<Mutex<Seen>>, Mode)>, body: Bytes) -> Json<Value> {
    let fields = form(&body);
    let verdict = {
        let mut seen = seen.lock().expect("lock");
        seen.requests.push(fields.clone());
        judge(&mut seen, &fields)
    };
    if mode == Mode::Hanging {
        std::future::pending::<()>().await;
    }
    Json(verdict)
}

fn judge(seen: &mut Seen, fields: &BTreeMap<String, String>) -> Value {
    let failure = |code: &str| json!({ "success": false, "error-codes": [code], "messages": [] });
    match fields.get("secret").map(String::as_str) {
        None | Some("") => return failure("missing-input-secret"),
        Some(SECRET) => {}
        Some(_) => return failure("invalid-input-secret"),
    }
    let Some(token) = fields.get("response").filter(|t| !t.is_empty()) else {
        return failure("missing-input-response");
    };
    let key = fields.get("idempotency_key").cloned();
    if let Some(spent_under) = seen.spent.get(token) {
        // Cloudflare answers a retry under the same idempotency key as it
        // answered the first time; any other reuse is a duplicate.
        if key.is_none() || *spent_under != key {
            return failure("timeout-or-duplicate");
        }
    }
    let hostname = if token.starts_with("pass.") {
        "localhost"
    } else if token == ELSEWHERE_TOKEN {
        "elsewhere.example"
    } else {
        return failure("invalid-input-response");
    };
    seen.spent.insert(token.clone(), key);
    json!({
        "success": true,
        "challenge_ts": "2026-12-04T12:00:00.000Z",
        "hostname": hostname,
        "error-codes": [],
        "action": "",
        "cdata": ""
    })
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}
