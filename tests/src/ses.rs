//! The SES v2 emulator (`aws-ses-v2-local`): the one `scripts/test` started,
//! private instances a test can stop and start again, and a fault proxy that
//! answers SES's permanent errors for chosen recipients.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// One email as the emulator stored it.
#[derive(Debug, Clone)]
pub struct StoredEmail {
    /// The From header as sent.
    pub from: String,
    /// The To addresses.
    pub to: Vec<String>,
    /// The Reply-To addresses.
    pub reply_to: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// The endpoint of the emulator that `scripts/test` started.
pub fn ses_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_SESV2").expect(
        "AWS_ENDPOINT_URL_SESV2 is not set: run the tests with scripts/test, which starts the SES v2 emulator",
    )
}

/// Every email the emulator at `endpoint` holds whose subject contains `needle`.
pub async fn emails(endpoint: &str, needle: &str) -> Vec<StoredEmail> {
    let store: Value = reqwest::get(format!("{endpoint}/store"))
        .await
        .expect("the emulator's store")
        .json()
        .await
        .expect("store JSON");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    store["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .filter(|e| e["subject"].as_str().is_some_and(|s| s.contains(needle)))
        .map(|e| StoredEmail {
            from: e["from"].as_str().unwrap_or_default().to_owned(),
            to: strings(&e["destination"]["to"]),
            reply_to: strings(&e["replyTo"]),
            subject: e["subject"].as_str().unwrap_or_default().to_owned(),
            text: e["body"]["text"].as_str().unwrap_or_default().to_owned(),
            html: e["body"]["html"].as_str().unwrap_or_default().to_owned(),
        })
        .collect()
}

/// An emulator of the test's own, on a fixed port, that it can stop and start.
pub struct SesEmulator {
    port: u16,
    child: Option<Child>,
}

impl SesEmulator {
    /// Starts an emulator on a free port.
    pub async fn start() -> Self {
        let mut emulator = Self {
            port: crate::free_port(),
            child: None,
        };
        emulator.resume().await;
        emulator
    }

    /// Its endpoint (the same across restarts).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops it: connections are refused until `resume`. Its store is lost.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and waits until it answers.
    pub async fn resume(&mut self) {
        let cli = std::env::var("SES_EMULATOR_CLI")
            .expect("SES_EMULATOR_CLI is not set: run the tests with scripts/test");
        let child = Command::new("node")
            .arg(cli)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts the SES v2 emulator");
        self.child = Some(child);
        let health = format!("{}/health-check", self.endpoint());
        for _ in 0..200 {
            if reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SES v2 emulator did not start on port {}", self.port);
    }
}

impl Drop for SesEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a SendEmail request asks SES to send, read from its JSON body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendEmailRequest {
    /// The To addresses.
    pub to: Vec<String>,
    /// The subject of a simple message.
    pub subject: String,
}

impl SendEmailRequest {
    /// Reads a SendEmail body; `None` when it is no such request.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let request: Value = serde_json::from_slice(body).ok()?;
        Some(Self {
            to: serde_json::from_value(request["Destination"]["ToAddresses"].clone()).ok()?,
            subject: request["Content"]["Simple"]["Subject"]["Data"]
                .as_str()?
                .to_owned(),
        })
    }
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    rejected: Arc<Vec<String>>,
    client: reqwest::Client,
}

async fn reject_or_forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let to = SendEmailRequest::parse(&body)
        .map(|request| request.to)
        .unwrap_or_default();
    if to.iter().any(|address| proxy.rejected.contains(address)) {
        return (
            StatusCode::BAD_REQUEST,
            [
                ("x-amzn-errortype", "MessageRejected"),
                ("content-type", "application/json"),
            ],
            r#"{"message":"Email address is on the suppression list for your account."}"#,
        )
            .into_response();
    }
    crate::proxy::forward(&proxy.client, &proxy.upstream, method, &uri, &headers, body).await
}

/// A loopback proxy in front of an emulator that answers `MessageRejected`
/// (SES's permanent refusal) for any email to one of `rejected`.
pub async fn rejecting_proxy(upstream: String, rejected: &[&str]) -> String {
    let proxy = Proxy {
        upstream,
        rejected: Arc::new(rejected.iter().map(|s| s.to_string()).collect()),
        client: reqwest::Client::new(),
    };
    crate::proxy::serve(Router::new().fallback(reject_or_forward).with_state(proxy)).await
}
