//! The human check: a form's Cloudflare Turnstile token, verified with
//! Cloudflare's siteverify before a booking is stored.
//!
//! It fails soft. A token siteverify rejects is refused (the patient is told
//! to try again or call), but a form without a token (no script ran) or a
//! verifier that cannot answer in time never loses a booking: it is taken
//! marked unverified, for staff to judge, and its acknowledgement withheld.
//! Nothing about the patient is sent: no address (`remoteip` is optional
//! and left out), only the secret, the token and an idempotency key.

use crate::config::HumanCheckConfig;
use crate::match_key::{MatchKey, Purpose};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use std::sync::OnceLock;
use tokio::time::Instant;

/// The form field (and JSON member) the Turnstile widget fills with its token.
pub const TOKEN_FIELD: &str = "cf-turnstile-response";

/// The longest token Cloudflare issues.
pub const TOKEN_MAX_CHARS: usize = 2048;

/// What the check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Siteverify confirmed the token, for one of the clinic's hostnames.
    Passed,
    /// Siteverify rejected the token (invalid, expired, already used, or
    /// solved on another site): the request is refused.
    Rejected,
    /// No verdict: the booking is taken unverified, never lost.
    Unchecked(Unchecked),
}

/// Why no verdict was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unchecked {
    /// The request carried no token: the form was sent without its script.
    NoToken,
    /// Siteverify did not answer in time, or answered with an error of its own.
    Unreachable,
    /// Siteverify refused the secret (or the request), which only an
    /// operator can fix: logged as an error, and alarmed.
    Misconfigured,
}

impl Unchecked {
    /// The logged and counted name.
    pub fn as_str(self) -> &'static str {
        match self {
            Unchecked::NoToken => "no_token",
            Unchecked::Unreachable => "verifier_unreachable",
            Unchecked::Misconfigured => "verifier_misconfigured",
        }
    }

    /// Every reason, for the alarm that watches the verifier's.
    pub const ALL: [Unchecked; 3] = [
        Unchecked::NoToken,
        Unchecked::Unreachable,
        Unchecked::Misconfigured,
    ];
}

/// The siteverify answer, as Cloudflare documents it.
#[derive(Debug, serde::Deserialize)]
struct Answer {
    success: bool,
    #[serde(rename = "error-codes", default)]
    error_codes: Vec<String>,
    #[serde(default)]
    hostname: Option<String>,
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A siteverify client: the secret, the endpoint, the clinic's hostnames
/// and one connection pool, built on first use so a cold start pays nothing
/// for it.
pub struct Turnstile {
    config: HumanCheckConfig,
    hostnames: Vec<String>,
    client: OnceLock<Option<HttpsClient>>,
}

impl std::fmt::Debug for Turnstile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turnstile")
            .field("config", &self.config)
            .field("hostnames", &self.hostnames)
            .finish_non_exhaustive()
    }
}

/// Why a call to siteverify gave no answer to read.
enum CallError {
    /// Worth one more try: the connection failed, or Cloudflare had an error.
    Transient(String),
    /// The client could not be built (no TLS configuration): the same every time.
    NoClient,
}

impl Turnstile {
    /// A client for `config`, accepting tokens solved on the hosts of
    /// `allowed_origins`.
    pub fn new(config: HumanCheckConfig, allowed_origins: &[String]) -> Self {
        Self {
            hostnames: allowed_origins.iter().map(|o| host_of(o)).collect(),
            config,
            client: OnceLock::new(),
        }
    }

    /// Checks `token`; `idempotency_key` (the request's own key, when it
    /// has one, sent tagged under `match_key`) makes the same request
    /// retried with the same token answer as its first check did, although
    /// a token is good for one check only.
    pub async fn verify(
        &self,
        token: Option<&str>,
        idempotency_key: Option<&str>,
        match_key: &MatchKey,
    ) -> Verdict {
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return Verdict::Unchecked(Unchecked::NoToken);
        };
        // Without a key of the request's, a random one still lets this
        // check retry its own call safely.
        let key = match idempotency_key {
            Some(key) => uuid_of(&match_key.tag(
                Purpose::HumanCheck,
                [key.as_bytes(), &[0], token.as_bytes()].concat().as_slice(),
            )),
            None => match random_uuid() {
                Some(key) => key,
                None => return Verdict::Unchecked(Unchecked::Unreachable),
            },
        };
        let body = format!(
            "secret={}&response={}&idempotency_key={}",
            utf8_percent_encode(&self.config.secret, NON_ALPHANUMERIC),
            utf8_percent_encode(token, NON_ALPHANUMERIC),
            key
        );
        let deadline = Instant::now() + self.config.timeout;
        let mut attempt = 0;
        let answer = loop {
            attempt += 1;
            match tokio::time::timeout_at(deadline, self.call(body.clone())).await {
                Ok(Ok(answer)) => break answer,
                Ok(Err(CallError::NoClient)) => {
                    return Verdict::Unchecked(Unchecked::Misconfigured)
                }
                Ok(Err(CallError::Transient(why))) if attempt < 2 => {
                    tracing::warn!(error = %why, "the human check's verifier failed, trying again");
                }
                Ok(Err(CallError::Transient(why))) => {
                    tracing::warn!(error = %why, outcome = Unchecked::Unreachable.as_str(), "the human check's verifier failed");
                    return Verdict::Unchecked(Unchecked::Unreachable);
                }
                Err(_) => {
                    tracing::warn!(
                        outcome = Unchecked::Unreachable.as_str(),
                        "the human check's verifier did not answer in time"
                    );
                    return Verdict::Unchecked(Unchecked::Unreachable);
                }
            }
        };
        self.judge(&answer)
    }

    /// What an answer means.
    fn judge(&self, answer: &Answer) -> Verdict {
        let codes = |names: &[&str]| {
            answer
                .error_codes
                .iter()
                .any(|c| names.contains(&c.as_str()))
        };
        if answer.success {
            let host = answer.hostname.as_deref().unwrap_or_default();
            if self.hostnames.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                return Verdict::Passed;
            }
            tracing::info!(
                outcome = "human_check_other_host",
                "a token solved on another site was refused"
            );
            return Verdict::Rejected;
        }
        if codes(&["internal-error"]) {
            tracing::warn!(
                outcome = Unchecked::Unreachable.as_str(),
                "siteverify had an internal error"
            );
            return Verdict::Unchecked(Unchecked::Unreachable);
        }
        // Only what Cloudflare says of the token itself refuses the
        // patient. Any other failure (a wrong or revoked secret, a widget
        // that is not the secret's, a code added after this was written, or
        // none) is the clinic's to fix, and a patient is never turned away
        // for it: the booking is taken unverified and the alarm raised.
        if !answer.error_codes.is_empty()
            && answer
                .error_codes
                .iter()
                .all(|c| TOKEN_CODES.contains(&c.as_str()))
        {
            tracing::info!(codes = %answer.error_codes.join(","), outcome = "human_check_failed", "siteverify rejected the token");
            return Verdict::Rejected;
        }
        tracing::error!(
            codes = %answer.error_codes.join(","),
            outcome = Unchecked::Misconfigured.as_str(),
            "siteverify refused the human check's secret or request: check TURNSTILE_SECRET and the widget"
        );
        Verdict::Unchecked(Unchecked::Misconfigured)
    }

    /// One POST to siteverify, read to its end.
    async fn call(&self, body: String) -> Result<Answer, CallError> {
        let Some(client) = self.client.get_or_init(build_client) else {
            return Err(CallError::NoClient);
        };
        let request = hyper::Request::post(self.config.verify_url.clone())
            .header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| CallError::Transient(e.to_string()))?;
        let response = client
            .request(request)
            .await
            .map_err(|e| CallError::Transient(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| CallError::Transient(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            return Err(CallError::Transient(format!(
                "siteverify answered {status}"
            )));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| CallError::Transient(format!("siteverify's answer cannot be read: {e}")))
    }
}

/// The HTTPS client, with the process's TLS configuration (`crate::trust`).
fn build_client() -> Option<HttpsClient> {
    match crate::trust::client_config() {
        Ok(tls) => {
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .build();
            Some(Client::builder(TokioExecutor::new()).build(connector))
        }
        Err(e) => {
            tracing::error!(error = %e, outcome = Unchecked::Misconfigured.as_str(), "no TLS configuration for the human check's verifier");
            None
        }
    }
}

/// The error codes siteverify gives for the token itself (spent,
/// expired, forged or missing): the only answers that refuse a patient.
const TOKEN_CODES: [&str; 3] = [
    "invalid-input-response",
    "timeout-or-duplicate",
    "missing-input-response",
];

/// An origin's host, without scheme or port.
fn host_of(origin: &str) -> String {
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => rest.split(':').next().unwrap_or(rest),
    };
    host.to_ascii_lowercase()
}

/// A tag's hex digits written as a version 4 UUID (its version and
/// variant digits set, as RFC 9562 has them), the shape siteverify asks for.
fn uuid_of(tag: &str) -> String {
    let hex = tag.rsplit('.').next().unwrap_or(tag);
    let mut hex: Vec<char> = hex.chars().chain(std::iter::repeat('0')).take(32).collect();
    hex[12] = '4';
    hex[16] = match hex[16].to_digit(16) {
        Some(d) => char::from_digit((d & 0x3) | 0x8, 16).unwrap_or('8'),
        None => '8',
    };
    let hex: String = hex.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A random UUID-shaped key.
fn random_uuid() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(uuid_of(&hex::encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn turnstile() -> Turnstile {
        Turnstile::new(
            HumanCheckConfig {
                secret: "secret".into(),
                verify_url: hyper::Uri::from_static("http://127.0.0.1:9/siteverify"),
                timeout: Duration::from_millis(500),
            },
            &[
                "https://www.clinic.example".into(),
                "http://localhost:3000".into(),
            ],
        )
    }

    fn match_key() -> MatchKey {
        MatchKey::new(1, &"k".repeat(32)).unwrap()
    }

    fn answer(json: &str) -> Answer {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn success_counts_only_for_the_clinics_hosts() {
        let t = turnstile();
        let ok = r#"{"success":true,"error-codes":[],"hostname":"www.clinic.example"}"#;
        assert_eq!(t.judge(&answer(ok)), Verdict::Passed);
        let local = r#"{"success":true,"hostname":"localhost"}"#;
        assert_eq!(t.judge(&answer(local)), Verdict::Passed);
        let other = r#"{"success":true,"error-codes":[],"hostname":"evil.example"}"#;
        assert_eq!(t.judge(&answer(other)), Verdict::Rejected);
    }

    #[test]
    fn a_rejected_token_is_refused_and_a_refused_secret_is_the_operators() {
        let t = turnstile();
        for code in [
            "invalid-input-response",
            "timeout-or-duplicate",
            "missing-input-response",
        ] {
            let json = format!(r#"{{"success":false,"error-codes":["{code}"]}}"#);
            assert_eq!(t.judge(&answer(&json)), Verdict::Rejected, "{code}");
        }
        for codes in [
            r#"["invalid-input-secret"]"#,
            r#"["missing-input-secret"]"#,
            r#"["bad-request"]"#,
            r#"["invalid-widget-id"]"#,
            r#"["invalid-parsed-secret"]"#,
            r#"["a-code-from-next-year"]"#,
            r#"["invalid-input-response","invalid-input-secret"]"#,
            r#"[]"#,
        ] {
            let json = format!(r#"{{"success":false,"error-codes":{codes}}}"#);
            let code = codes;
            assert_eq!(
                t.judge(&answer(&json)),
                Verdict::Unchecked(Unchecked::Misconfigured),
                "{code}"
            );
        }
        let internal = r#"{"success":false,"error-codes":["internal-error"]}"#;
        assert_eq!(
            t.judge(&answer(internal)),
            Verdict::Unchecked(Unchecked::Unreachable)
        );
    }

    #[tokio::test]
    async fn no_token_is_no_verdict_and_calls_nobody() {
        let t = turnstile();
        assert_eq!(
            t.verify(None, None, &match_key()).await,
            Verdict::Unchecked(Unchecked::NoToken)
        );
        assert_eq!(
            t.verify(Some("  "), None, &match_key()).await,
            Verdict::Unchecked(Unchecked::NoToken)
        );
    }

    #[test]
    fn an_idempotency_key_is_a_uuid_that_names_no_request() {
        let key = uuid_of(&match_key().tag(Purpose::HumanCheck, b"page-key-1"));
        assert_eq!(key.len(), 36);
        assert_eq!(key.matches('-').count(), 4);
        assert!(!key.contains("page-key-1"));
        for key in [key.clone(), random_uuid().unwrap()] {
            assert_eq!(&key[14..15], "4", "version 4: {key}");
            assert!("89ab".contains(&key[19..20]), "RFC variant: {key}");
        }
        assert_eq!(
            key,
            uuid_of(&match_key().tag(Purpose::HumanCheck, b"page-key-1"))
        );
        assert_ne!(random_uuid(), random_uuid());
    }

    #[test]
    fn hosts_lose_scheme_and_port() {
        assert_eq!(host_of("https://www.Clinic.example"), "www.clinic.example");
        assert_eq!(host_of("http://localhost:3000"), "localhost");
        assert_eq!(host_of("http://[::1]:3000"), "::1");
    }

    #[tokio::test]
    async fn a_verifier_whose_certificate_no_root_signed_is_refused() {
        let mut server = crate::trust::untrusted_server::start().await;
        let t = Turnstile::new(
            HumanCheckConfig {
                secret: "secret".into(),
                verify_url: format!("https://localhost:{}/siteverify", server.port)
                    .parse()
                    .unwrap(),
                timeout: Duration::from_secs(5),
            },
            &["https://www.clinic.example".into()],
        );
        assert_eq!(
            t.verify(Some("a-token"), None, &match_key()).await,
            Verdict::Unchecked(Unchecked::Unreachable)
        );
        server.refused().await;
    }
}
