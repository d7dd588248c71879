//! A loopback Lambda Runtime API: runs a function's real bootstrap as Lambda
//! does (`AWS_LAMBDA_RUNTIME_API` and the usual `AWS_LAMBDA_*` variables),
//! hands it events one at a time and collects its answers.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Mutex};

/// The Runtime API's state: queued events (with their request ids), the
/// answers, and when the function first asked for an event.
#[derive(Clone)]
struct RuntimeApi {
    events: Arc<Mutex<mpsc::Receiver<(String, Value)>>>,
    answers: mpsc::Sender<(String, Value)>,
    function_arn: HeaderValue,
    ready: Arc<std::sync::Mutex<Option<oneshot::Sender<Instant>>>>,
}

async fn next(State(api): State<RuntimeApi>) -> impl IntoResponse {
    // The first call ends the function's init, as Lambda counts it.
    let first = api.ready.lock().ok().and_then(|mut ready| ready.take());
    if let Some(ready) = first {
        let _ = ready.send(Instant::now());
    }
    // Waits until the test queues an event, as Lambda does between invocations.
    let (id, event) = api
        .events
        .lock()
        .await
        .recv()
        .await
        .unwrap_or_else(|| ("none".into(), Value::Null));
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_str(&id).expect("a request id"),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_static("9999999999999"),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        api.function_arn.clone(),
    );
    (headers, Json(event))
}

async fn answer(
    State(api): State<RuntimeApi>,
    Path((id, kind)): Path<(String, String)>,
    body: String,
) -> &'static str {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = api.answers.send((format!("{id}/{kind}"), value)).await;
    "{}"
}

/// A function's bootstrap running under the loopback Runtime API.
pub struct Bootstrap {
    child: Child,
    output: crate::logs::Watched,
    events: mpsc::Sender<(String, Value)>,
    answers: mpsc::Receiver<(String, Value)>,
    spawned_at: Instant,
    ready: Option<oneshot::Receiver<Instant>>,
    init: Option<Duration>,
}

impl Drop for Bootstrap {
    /// Stops the function, then fails the test if anything it logged held
    /// personal data.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output.finish();
    }
}

impl Bootstrap {
    /// Starts the binary at `path` as the function `name`, with `vars` set.
    pub async fn start(path: &str, name: &str, vars: &[(&str, &str)]) -> Self {
        Self::start_watched(path, name, vars, |_| {}).await
    }

    /// [`Bootstrap::start`], handing the process's id to `spawned` as soon
    /// as it exists (for a proxy to read its CPU clock from its first call).
    pub async fn start_watched(
        path: &str,
        name: &str,
        vars: &[(&str, &str)],
        spawned: impl FnOnce(u32),
    ) -> Self {
        crate::logs::capture();
        let (event_tx, event_rx) = mpsc::channel(16);
        let (answer_tx, answer_rx) = mpsc::channel(16);
        let (ready_tx, ready_rx) = oneshot::channel();
        let api = RuntimeApi {
            events: Arc::new(Mutex::new(event_rx)),
            answers: answer_tx,
            ready: Arc::new(std::sync::Mutex::new(Some(ready_tx))),
            function_arn: HeaderValue::from_str(&format!(
                "arn:aws:lambda:eu-west-2:000000000000:function:{name}"
            ))
            .expect("an ARN"),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(answer))
            .with_state(api);
        let endpoint = crate::proxy::serve(app).await;
        let address = endpoint.trim_start_matches("http://");
        let mut command = Command::new(path);
        command
            .env("AWS_LAMBDA_RUNTIME_API", address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in vars {
            command.env(name, value);
        }
        let spawned_at = Instant::now();
        let mut child = command.spawn().expect("the bootstrap starts");
        spawned(child.id());
        let output = crate::logs::watch(&format!("the {name} bootstrap"), &mut child);
        Self {
            child,
            output,
            events: event_tx,
            answers: answer_rx,
            spawned_at,
            ready: Some(ready_rx),
            init: None,
        }
    }

    /// The function's init: from exec to its first request for an event,
    /// which is when Lambda ends the init phase. Waits for it.
    pub async fn init_duration(&mut self) -> Duration {
        if let Some(ready) = self.ready.take() {
            let at = tokio::time::timeout(Duration::from_secs(20), ready)
                .await
                .expect("the function asks for an event")
                .expect("the Runtime API is up");
            self.init = Some(at - self.spawned_at);
        }
        self.init.expect("init measured")
    }

    /// Time since the process was started: read when its first answer
    /// arrives, the cold start as a caller sees it (exec to first response).
    pub fn since_spawn(&self) -> Duration {
        self.spawned_at.elapsed()
    }

    /// The process's peak resident memory so far, in KiB (Linux's `VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// The next line the function prints (stdout or stderr) that `keep`
    /// picks, waiting up to 20 seconds for it.
    pub fn printed(&self, keep: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.output.lines().recv_timeout(left) {
                Ok(line) if keep(&line) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Invokes the function with an event and returns its response.
    pub async fn invoke(&mut self, id: &str, event: Value) -> Value {
        match self.invoke_either(id, event).await {
            Ok(answer) => answer,
            Err(error) => panic!("{id}: the function reported an error: {error}"),
        }
    }

    /// Invokes the function with an event: its response, or the error it
    /// reported to the Runtime API (which Lambda retries).
    pub async fn invoke_either(&mut self, id: &str, event: Value) -> Result<Value, Value> {
        self.events
            .send((id.to_owned(), event))
            .await
            .expect("the Runtime API is up");
        let (path, answer) = tokio::time::timeout(Duration::from_secs(20), self.answers.recv())
            .await
            .expect("the function answers")
            .expect("an answer");
        if path == format!("{id}/response") {
            Ok(answer)
        } else {
            assert_eq!(path, format!("{id}/error"), "{answer}");
            Err(answer)
        }
    }
}

/// An API Gateway HTTP API (payload 2.0) request, as API Gateway hands it
/// to a function.
#[derive(Debug, Clone)]
pub struct HttpEvent<'a> {
    /// The method.
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Headers, lower-case names.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body, and whether it is base64-encoded (API Gateway encodes form bodies).
    pub body: Option<(&'a str, bool)>,
    /// The caller's address.
    pub source_ip: &'a str,
}

impl HttpEvent<'_> {
    /// The event's JSON, with `id` as its request id.
    pub fn json(&self, id: &str) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        let route = format!("{} {}", self.method, self.path);
        let mut event = json!({
            "version": "2.0",
            "routeKey": route,
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "test",
                "domainName": "api.clinic.example",
                "domainPrefix": "api",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip,
                    "userAgent": "test"
                },
                "requestId": id,
                "routeKey": route,
                "stage": "$default",
                "time": "24/Nov/2026:10:15:00 +0000",
                "timeEpoch": 1795500900000u64
            },
            "isBase64Encoded": self.body.is_some_and(|(_, base64)| base64)
        });
        if !self.query.is_empty() {
            let params: serde_json::Map<String, Value> = self
                .query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k.to_owned(), Value::from(v)))
                .collect();
            event["queryStringParameters"] = Value::Object(params);
        }
        if let Some((body, _)) = self.body {
            event["body"] = Value::from(body);
            crate::logs::submitted_body(&self.decoded_body());
        }
        event
    }

    /// The event's JSON as it comes through the HTTP API's JWT authorizer:
    /// the token's claims as API Gateway passes them, every value a string
    /// (an array claim such as `cognito:groups` flattened to `[a b]`).
    pub fn json_with_claims(&self, id: &str, claims: &[(&str, &str)]) -> Value {
        let mut event = self.json(id);
        let claims: serde_json::Map<String, Value> = claims
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        event["requestContext"]["authorizer"] = json!({
            "jwt": { "claims": claims, "scopes": null }
        });
        event
    }

    /// The body as the function reads it, decoded from base64 if it is.
    fn decoded_body(&self) -> Vec<u8> {
        use base64::Engine;
        match self.body {
            Some((body, true)) => base64::engine::general_purpose::STANDARD
                .decode(body)
                .expect("a base64 body"),
            Some((body, false)) => body.as_bytes().to_vec(),
            None => Vec::new(),
        }
    }

    /// The request `lambda_http` makes of this event, built directly, so the
    /// same request can go through the router in-process: the method, path
    /// and query, the headers, and the body decoded from base64.
    pub fn request(&self) -> http::Request<axum::body::Body> {
        let uri = if self.query.is_empty() {
            self.path.to_owned()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let mut builder = http::Request::builder().method(self.method).uri(uri);
        for (name, value) in self.headers {
            builder = builder.header(*name, *value);
        }
        let body = self.decoded_body();
        builder
            .body(axum::body::Body::from(body))
            .expect("a request")
    }
}

/// An answer reduced to what a caller of API Gateway sees, so a function's
/// answer through its bootstrap and its router's answer in-process compare:
/// the status, each header's values joined by `, ` under its lower-case
/// name, and the body as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayAnswer {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The body.
    pub body: String,
}

impl GatewayAnswer {
    /// What the bootstrap returned to the Runtime API (an HTTP API v2 response).
    pub fn from_lambda(answer: &Value) -> Self {
        use base64::Engine;
        let status = answer["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or_else(|| panic!("a status code: {answer}"));
        let mut headers = std::collections::BTreeMap::new();
        if let Some(map) = answer["headers"].as_object() {
            for (name, value) in map {
                let value = value.as_str().expect("a header value").to_owned();
                headers.insert(name.to_ascii_lowercase(), value);
            }
        }
        if let Some(cookies) = answer["cookies"].as_array().filter(|c| !c.is_empty()) {
            let cookies: Vec<&str> = cookies.iter().filter_map(Value::as_str).collect();
            headers.insert("set-cookie".into(), cookies.join(", "));
        }
        let body = answer["body"].as_str().unwrap_or_default();
        let body = if answer["isBase64Encoded"] == true {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body)
                .expect("a base64 body");
            String::from_utf8(bytes).expect("a text body")
        } else {
            body.to_owned()
        };
        // A length the function states must be its body's (a HEAD answer's
        // is its GET's); the router in-process leaves it to hyper, so it is
        // compared here and then set aside.
        if let Some(length) = headers.remove("content-length") {
            if !body.is_empty() {
                assert_eq!(length, body.len().to_string(), "content-length of {answer}");
            }
        }
        Self {
            status,
            headers,
            body,
        }
    }

    /// The router's answer in-process.
    pub fn from_router(response: &crate::TestResponse) -> Self {
        let mut headers = std::collections::BTreeMap::<String, String>::new();
        for (name, value) in &response.headers {
            let value = value.to_str().expect("a text header");
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|joined| {
                    joined.push_str(", ");
                    joined.push_str(value);
                })
                .or_insert_with(|| value.to_owned());
        }
        // Hyper adds the length of a whole body on the wire; API Gateway
        // works it out from the body the function returns.
        headers.remove("content-length");
        Self {
            status: response.status.as_u16(),
            headers,
            body: String::from_utf8(response.body.to_vec()).expect("a text body"),
        }
    }

    /// The answer with every occurrence of each of `values` (a reference, an
    /// ETag: whatever differs by store or time and not by code) replaced by
    /// its label, so two stores' answers compare.
    pub fn masked<S: AsRef<str>>(mut self, values: &[(S, &str)]) -> Self {
        for (value, label) in values {
            let value = value.as_ref();
            if value.is_empty() {
                continue;
            }
            for text in self.headers.values_mut().chain([&mut self.body]) {
                *text = text.replace(value, label);
            }
        }
        self
    }
}
