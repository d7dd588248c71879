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
    /// The watched process's CPU time when the call arrived and when its
    /// answer left, when a process is watched ([`CountingProxy::watch`]).
    pub cpu: Option<(std::time::Duration, std::time::Duration)>,
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
    watched: Arc<Mutex<Option<CpuClock>>>,
}

/// A process's CPU clock: the time all its threads have run, to the
/// nanosecond, read from outside it.
#[derive(Debug, Clone, Copy)]
struct CpuClock(libc::clockid_t);

impl CpuClock {
    /// The clock of process `pid`, if it is running.
    fn of(pid: u32) -> Option<Self> {
        let pid = libc::pid_t::try_from(pid).ok()?;
        let mut clock: libc::clockid_t = 0;
        // SAFETY: `clock` is a valid place for the id the call writes.
        let found = unsafe { libc::clock_getcpuclockid(pid, &mut clock) };
        (found == 0).then_some(Self(clock))
    }

    /// The time the process has run so far, or `None` once it has exited.
    fn read(self) -> Option<std::time::Duration> {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid place for the time the call writes.
        let read = unsafe { libc::clock_gettime(self.0, &mut now) };
        (read == 0).then(|| {
            std::time::Duration::new(
                u64::try_from(now.tv_sec).unwrap_or(0),
                u32::try_from(now.tv_nsec).unwrap_or(0),
            )
        })
    }
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
    let cpu_at = proxy.watched.lock().expect("lock").and_then(CpuClock::read);
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
        let (parts, answer) = answer.into_parts();
        let answer = axum::body::to_bytes(answer, usize::MAX)
            .await
            .unwrap_or_default();
        let took = at.elapsed();
        // A call that came before its process was watched counts the
        // process's CPU from its start (its clock's zero): more than ran
        // during the call, which errs against the process.
        let cpu = proxy
            .watched
            .lock()
            .expect("lock")
            .and_then(CpuClock::read)
            .map(|then| (cpu_at.unwrap_or_default(), then));
        // Recorded before the answer goes, so a caller that has it sees the call.
        proxy.calls.lock().expect("lock").push(Call {
            operation,
            at,
            took,
            status: parts.status,
            body,
            answer: answer.clone(),
            cpu,
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
    watched: Arc<Mutex<Option<CpuClock>>>,
}

impl CountingProxy {
    /// Starts a proxy to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let watched: Arc<Mutex<Option<CpuClock>>> = Arc::default();
        let proxy = Counting {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            calls: Arc::clone(&calls),
            watched: Arc::clone(&watched),
        };
        let endpoint = serve(Router::new().fallback(count).with_state(proxy)).await;
        Self {
            endpoint,
            calls,
            watched,
        }
    }

    /// Reads process `pid`'s CPU time as each later call arrives and as its
    /// answer leaves, so that [`waited`] can tell the time the process
    /// spent waiting from the time it went on working while a call was out;
    /// answers whether the process's clock could be read.
    pub fn watch(&self, pid: u32) -> bool {
        let clock = CpuClock::of(pid);
        *self.watched.lock().expect("lock") = clock;
        clock.is_some()
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

/// The time spent waiting on `calls`: the wall time they cover (overlapping
/// calls, a batch's records handled concurrently, count once), less the
/// time the watched process ran meanwhile, which was work of its own done
/// beside a call (a key read in the background while a request is parsed).
/// A call read without a watched process counts whole.
pub fn waited(calls: &[Call]) -> std::time::Duration {
    use std::time::{Duration, Instant};
    /// A stretch of wall time covered by calls, and the watched process's
    /// CPU time at its ends, when both were read.
    struct Covered {
        from: Instant,
        to: Instant,
        cpu: Option<(Duration, Duration)>,
    }
    impl Covered {
        fn waited(&self) -> Duration {
            let wall = self.to - self.from;
            let ran = self
                .cpu
                .map_or(Duration::ZERO, |(at, then)| then.saturating_sub(at));
            wall.saturating_sub(ran)
        }
    }
    let mut spans: Vec<Covered> = calls
        .iter()
        .map(|c| Covered {
            from: c.at,
            to: c.at + c.took,
            cpu: c.cpu,
        })
        .collect();
    spans.sort_by_key(|span| span.from);
    let mut total = Duration::ZERO;
    let mut covering: Option<Covered> = None;
    for span in spans {
        covering = match covering {
            Some(mut covered) if span.from <= covered.to => {
                if span.to > covered.to {
                    covered.to = span.to;
                    covered.cpu = covered
                        .cpu
                        .zip(span.cpu)
                        .map(|((at, _), (_, then))| (at, then));
                }
                Some(covered)
            }
            Some(covered) => {
                total += covered.waited();
                Some(span)
            }
            None => Some(span),
        };
    }
    total + covering.map_or(Duration::ZERO, |covered| covered.waited())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn call(at: Instant, from_ms: u64, took_ms: u64, cpu_ms: Option<(u64, u64)>) -> Call {
        Call {
            operation: "GetItem".into(),
            at: at + Duration::from_millis(from_ms),
            took: Duration::from_millis(took_ms),
            status: StatusCode::OK,
            body: Bytes::new(),
            answer: Bytes::new(),
            cpu: cpu_ms.map(|(a, b)| (Duration::from_millis(a), Duration::from_millis(b))),
        }
    }

    #[test]
    fn overlapping_calls_count_once_and_separate_ones_add_up() {
        let t = Instant::now();
        let calls = [
            call(t, 0, 10, None),
            call(t, 5, 10, None),
            call(t, 30, 4, None),
        ];
        assert_eq!(waited(&calls), Duration::from_millis(19));
    }

    #[test]
    fn the_time_the_process_ran_beside_a_call_is_not_waiting() {
        let t = Instant::now();
        // 10 ms out, 3 of them spent working: 7 waited.
        assert_eq!(
            waited(&[call(t, 0, 10, Some((2, 5)))]),
            Duration::from_millis(7)
        );
        // Two overlapping calls: the CPU read at the first's arrival and
        // at the last answer's leaving, 4 ms of 15.
        let calls = [call(t, 0, 10, Some((2, 4))), call(t, 5, 10, Some((4, 6)))];
        assert_eq!(waited(&calls), Duration::from_millis(11));
        // A process that ran throughout waited for nothing.
        assert_eq!(waited(&[call(t, 0, 10, Some((0, 12)))]), Duration::ZERO);
    }
}
