//! Loopback HTTP proxies in front of an emulator: one forwarding helper, and
//! a proxy that records each AWS operation passing through it, so a test or
//! the bench can count the requests a function makes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::{Arc, Mutex};

/// Sends a request on to `upstream` as it came, and its answer back.
pub async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = client
        .request(method, format!("{upstream}{path}"))
        .body(body);
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let body = answer.bytes().await.unwrap_or_default();
            let mut response = (status, body).into_response();
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// Serves `app` on a loopback port and returns its address as an endpoint.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

/// One request that passed through a counting proxy.
#[derive(Debug, Clone)]
pub struct Call {
    /// Its AWS operation (`PutItem`), or its method and path.
    pub operation: String,
    /// When it arrived.
    pub at: std::time::Instant,
    /// From its arrival to its answer leaving: the time a caller spent
    /// waiting on the service (and on the proxy).
    pub took: std::time::Duration,
    /// The status answered: the service's, or 502 when it could not be reached.
    pub status: StatusCode,
    /// The request's body, for a test to see what was asked (SES's recipients).
    pub body: Bytes,
    /// The answer's body, for a test to see what was answered (SES's message id).
    pub answer: Bytes,
}

impl Call {
    /// Whether the service accepted the request (a 2xx answer).
    pub fn succeeded(&self) -> bool {
        self.status.is_success()
    }
}

#[derive(Clone)]
struct Counting {
    upstream: String,
    client: reqwest::Client,
    calls: Arc<Mutex<Vec<Call>>>,
}

async fn count(
    State(proxy): State<Counting>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // DynamoDB names the operation in X-Amz-Target ("DynamoDB_20120810.PutItem").
    let operation = headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
        .unwrap_or_else(|| format!("{method} {}", uri.path()));
    let at = std::time::Instant::now();
    // Forwarded in a task of its own, so a caller that gives up (its own
    // timeout drops this handler) does not stop the call being recorded.
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let answer = forward(
            &proxy.client,
            &proxy.upstream,
            method,
            &uri,
            &headers,
            body.clone(),
        )
        .await;
        let took = at.elapsed();
        let (parts, answer) = answer.into_parts();
        let answer = axum::body::to_bytes(answer, usize::MAX)
            .await
            .unwrap_or_default();
        // Recorded before the answer goes, so a caller that has it sees the call.
        proxy.calls.lock().expect("lock").push(Call {
            operation,
            at,
            took,
            status: parts.status,
            body,
            answer: answer.clone(),
        });
        let _ = tx.send(Response::from_parts(parts, axum::body::Body::from(answer)));
    });
    rx.await
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// A proxy that records every request's AWS operation, and how long it
/// took, on its way to `upstream`.
pub struct CountingProxy {
    endpoint: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl CountingProxy {
    /// Starts a proxy to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let proxy = Counting {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            calls: Arc::clone(&calls),
        };
        let endpoint = serve(Router::new().fallback(count).with_state(proxy)).await;
        Self { endpoint, calls }
    }

    /// The address to point a client at.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The calls made so far, in the order they were answered, and forgets them.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().expect("lock"))
    }

    /// How many calls so far the service accepted.
    pub fn succeeded(&self) -> usize {
        self.calls
            .lock()
            .expect("lock")
            .iter()
            .filter(|c| c.succeeded())
            .count()
    }
}

/// The wall time covered by `calls`: overlapping calls (a batch's records
/// handled concurrently) count once.
pub fn waited(calls: &[Call]) -> std::time::Duration {
    let mut spans: Vec<_> = calls.iter().map(|c| (c.at, c.at + c.took)).collect();
    spans.sort();
    let mut total = std::time::Duration::ZERO;
    let mut covered: Option<(std::time::Instant, std::time::Instant)> = None;
    for (start, end) in spans {
        covered = match covered {
            Some((from, to)) if start <= to => Some((from, to.max(end))),
            Some((from, to)) => {
                total += to - from;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + covered.map_or(std::time::Duration::ZERO, |(from, to)| to - from)
}

#[derive(Clone)]
struct Holding {
    upstream: String,
    operation: &'static str,
    client: reqwest::Client,
    applied: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

async fn hold(
    State(proxy): State<Holding>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let held = headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.rsplit('.').next() == Some(proxy.operation));
    let answer = forward(&proxy.client, &proxy.upstream, method, &uri, &headers, body).await;
    if held {
        proxy.applied.notify_one();
        proxy.release.notified().await;
    }
    answer
}

/// A proxy in front of DynamoDB that forwards everything, but holds back
/// DynamoDB's answer to one operation (`TransactWriteItems`) once it has
/// been applied, until the test releases it: a write that happened and
/// whose answer is late, or never read.
pub struct HoldingProxy {
    endpoint: String,
    applied: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

impl HoldingProxy {
    /// Starts one in front of `upstream`, holding the answers to `operation`.
    pub async fn start(upstream: &str, operation: &'static str) -> Self {
        let holding = Holding {
            upstream: upstream.to_owned(),
            operation,
            client: reqwest::Client::new(),
            applied: Arc::new(tokio::sync::Notify::new()),
            release: Arc::new(tokio::sync::Notify::new()),
        };
        let (applied, release) = (Arc::clone(&holding.applied), Arc::clone(&holding.release));
        let endpoint = serve(Router::new().fallback(hold).with_state(holding)).await;
        Self {
            endpoint,
            applied,
            release,
        }
    }

    /// Where to point a client.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Waits until a held operation has been applied upstream.
    pub async fn applied(&self) {
        self.applied.notified().await;
    }

    /// Lets the answer held now go (or the next one, if none is held yet).
    pub fn release(&self) {
        self.release.notify_one();
    }
}
