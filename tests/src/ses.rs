//! The SES v2 emulator (`aws-ses-v2-local`): the one `scripts/test` started,
//! private instances a test can stop and start again, and a fault proxy that
//! answers SES's real error bodies to chosen SendEmail calls.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// The other parts, as the emulator parsed them out of a raw message
    /// (a calendar entry, inline and attached).
    pub attachments: Vec<StoredAttachment>,
}

/// A part of an email other than its text and HTML.
#[derive(Debug, Clone)]
pub struct StoredAttachment {
    /// Its file name, when it has one.
    pub filename: Option<String>,
    /// Its media type, without parameters (`text/calendar`).
    pub content_type: String,
    /// Its bytes.
    pub content: Vec<u8>,
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
            attachments: e["attachments"]
                .as_array()
                .map(|parts| {
                    parts
                        .iter()
                        .map(|part| {
                            use base64::Engine;
                            StoredAttachment {
                                filename: part["filename"].as_str().map(str::to_owned),
                                content_type: part["contentType"]
                                    .as_str()
                                    .unwrap_or_default()
                                    .to_owned(),
                                content: base64::engine::general_purpose::STANDARD
                                    .decode(part["content"].as_str().unwrap_or_default())
                                    .expect("base64 content"),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
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

/// An error answer as SES sends it: the status, the `x-amzn-ErrorType`
/// header (with the suffix the service appends) and a JSON `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SesError {
    /// The HTTP status.
    pub status: u16,
    /// The error code.
    pub code: &'static str,
    /// The service's explanation, as it words it.
    pub message: &'static str,
}

impl SesError {
    fn answer(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let error_type = format!(
            "{}:http://internal.amazon.com/coral/com.amazonaws.sesv2/",
            self.code
        );
        (
            status,
            [
                ("x-amzn-errortype", error_type),
                (
                    "x-amzn-requestid",
                    "2f5f6bf3-6c8e-4c9b-9c2e-0f6e9a3c1d42".to_owned(),
                ),
                ("content-type", "application/json".to_owned()),
            ],
            serde_json::json!({ "message": self.message }).to_string(),
        )
            .into_response()
    }
}

/// SES refusing one address: permanent, about this recipient.
pub const SUPPRESSED: SesError = SesError {
    status: 400,
    code: "MessageRejected",
    message: "Email address is on the suppression list for your account.",
};

/// SES with sending paused for the account: held until an operator resumes it.
pub const SENDING_PAUSED: SesError = SesError {
    status: 400,
    code: "SendingPausedException",
    message: "Sending is paused for this account. For more information, please check the AWS SES Developer Guide.",
};

/// Which SendEmail calls a fault proxy answers with its error.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Every email to one of these addresses.
    Recipients(Vec<String>),
    /// The first this many SendEmail calls, whoever they are to.
    First(usize),
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    fault: Fault,
    error: SesError,
    refused: Arc<AtomicUsize>,
    client: reqwest::Client,
}

async fn refuse_or_forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(request) = SendEmailRequest::parse(&body) {
        let refuse = match &proxy.fault {
            Fault::Recipients(refused) => request.to.iter().any(|to| refused.contains(to)),
            Fault::First(n) => proxy
                .refused
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |done| {
                    (done < *n).then_some(done + 1)
                })
                .is_ok(),
        };
        if refuse {
            if matches!(proxy.fault, Fault::Recipients(_)) {
                proxy.refused.fetch_add(1, Ordering::SeqCst);
            }
            return proxy.error.answer();
        }
    }
    crate::proxy::forward(&proxy.client, &proxy.upstream, method, &uri, &headers, body).await
}

/// A loopback proxy in front of an SES endpoint that answers `error` to the
/// SendEmail calls `fault` names and forwards everything else.
pub struct FaultProxy {
    endpoint: String,
    refused: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// Starts one in front of `upstream`.
    pub async fn start(upstream: String, fault: Fault, error: SesError) -> Self {
        let refused = Arc::new(AtomicUsize::new(0));
        let proxy = Proxy {
            upstream,
            fault,
            error,
            refused: Arc::clone(&refused),
            client: reqwest::Client::new(),
        };
        let endpoint =
            crate::proxy::serve(Router::new().fallback(refuse_or_forward).with_state(proxy)).await;
        Self { endpoint, refused }
    }

    /// Where to point an SES client.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// How many SendEmail calls it has answered with its error.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

/// A loopback proxy in front of an emulator that answers `MessageRejected`
/// (SES's permanent refusal) for any email to one of `rejected`.
pub async fn rejecting_proxy(upstream: String, rejected: &[&str]) -> String {
    let fault = Fault::Recipients(rejected.iter().map(|s| s.to_string()).collect());
    FaultProxy::start(upstream, fault, SUPPRESSED)
        .await
        .endpoint()
}

/// An SES event as EventBridge delivers it (SES developer guide, "Examples
/// of event data that Amazon SES publishes to Amazon EventBridge"), for the
/// message `message_id` tagged with `reference` and `kind`, sent to `to`.
pub fn ses_event(
    event_type: &str,
    message_id: &str,
    reference: &str,
    kind: &str,
    to: &str,
) -> Value {
    let detail_type = match event_type {
        "Send" => "Email Sent",
        "Delivery" => "Email Delivered",
        "DeliveryDelay" => "Email Delivery Delayed",
        "Bounce" => "Email Bounced",
        "Complaint" => "Email Complaint Received",
        "Reject" => "Email Rejected",
        _ => "Email Opened",
    };
    let mut detail = serde_json::json!({
        "eventType": event_type,
        "mail": {
            "timestamp": "2026-12-01T10:15:00.123Z",
            "source": "Fixture Clinic <bookings@clinic.example>",
            "sourceArn": "arn:aws:ses:eu-west-2:000000000000:identity/clinic.example",
            "sendingAccountId": "000000000000",
            "messageId": message_id,
            "destination": [to],
            "headersTruncated": false,
            "headers": [
                { "name": "From", "value": "Fixture Clinic <bookings@clinic.example>" },
                { "name": "To", "value": to },
                { "name": "Subject", "value": format!("Your appointment request {reference}") }
            ],
            "commonHeaders": {
                "from": ["Fixture Clinic <bookings@clinic.example>"],
                "to": [to],
                "messageId": message_id,
                "subject": format!("Your appointment request {reference}")
            },
            "tags": {
                "ses:configuration-set": ["frontdesk-test"],
                "ses:source-ip": ["192.0.2.0"],
                "ses:from-domain": ["clinic.example"],
                "ses:caller-identity": ["frontdesk-notifier"],
                "reference": [reference],
                "email": [kind]
            }
        }
    });
    let at = "2026-12-01T10:15:02.456Z";
    let (key, body) = match event_type {
        "Send" => ("send", serde_json::json!({})),
        "Delivery" => (
            "delivery",
            serde_json::json!({
                "timestamp": at,
                "processingTimeMillis": 1234,
                "recipients": [to],
                "smtpResponse": "250 2.6.0 Message received",
                "reportingMTA": "a8-30.smtp-out.amazonses.com"
            }),
        ),
        "DeliveryDelay" => (
            "deliveryDelay",
            serde_json::json!({
                "timestamp": at,
                "delayType": "TransientCommunicationFailure",
                "expirationTime": "2026-12-01T23:15:02.456Z",
                "delayedRecipients": [{
                    "emailAddress": to, "status": "4.4.1",
                    "diagnosticCode": "smtp; 421 4.4.1 Unable to connect"
                }]
            }),
        ),
        "Bounce" => (
            "bounce",
            serde_json::json!({
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [{
                    "emailAddress": to, "action": "failed", "status": "5.1.1",
                    "diagnosticCode": format!("smtp; 550 5.1.1 <{to}>: user unknown")
                }],
                "timestamp": at,
                "feedbackId": "0100018c-bounce",
                "reportingMTA": "dsn; a8-30.smtp-out.amazonses.com"
            }),
        ),
        "Complaint" => (
            "complaint",
            serde_json::json!({
                "complainedRecipients": [{ "emailAddress": to }],
                "timestamp": at,
                "feedbackId": "0100018c-complaint",
                "userAgent": "Mozilla/5.0",
                "complaintFeedbackType": "abuse",
                "arrivalDate": at
            }),
        ),
        "Reject" => ("reject", serde_json::json!({ "reason": "Bad content" })),
        _ => (
            "open",
            serde_json::json!({ "timestamp": at, "ipAddress": "192.0.2.1", "userAgent": "Mozilla/5.0" }),
        ),
    };
    detail[key] = body;
    serde_json::json!({
        "version": "0",
        "id": "5e3ab7c1-8f0d-4c2a-9d61-3b2f1e0a9c77",
        "detail-type": detail_type,
        "source": "aws.ses",
        "account": "000000000000",
        "time": "2026-12-01T10:15:03Z",
        "region": "eu-west-2",
        "resources": ["arn:aws:ses:eu-west-2:000000000000:configuration-set/frontdesk-test"],
        "detail": detail
    })
}
