//! The SES v2 mailer: `SendEmail` with simple content (a text and an HTML
//! part), the configured configuration set, and Reply-To.

use super::{MailError, Mailer, OutgoingEmail, Sent};
use async_trait::async_trait;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sesv2::Client;

/// Sends through Amazon SES v2 on a client that `main` builds once.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// A mailer over `client`, tagging every email with `configuration_set`
    /// (which is where TLS is required and events are published).
    pub fn new(client: Client, configuration_set: Option<String>) -> Self {
        Self {
            client,
            configuration_set,
        }
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Refused {
            field: "content",
            message: e.to_string(),
        })
}

/// Error codes that fail the same way on every attempt.
const PERMANENT: &[&str] = &[
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "SendingPausedException",
    "AccountSuspendedException",
    "BadRequestException",
];

/// Error codes that a later attempt may get past (throttling, quotas, and
/// set-up an operator can fix without the email being lost).
const TRANSIENT: &[&str] = &[
    "TooManyRequestsException",
    "LimitExceededException",
    "ThrottlingException",
    "Throttling",
    "NotFoundException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
];

/// Sorts an SES failure into "try again" and "recorded, never retried".
fn classify<E>(error: &SdkError<E, HttpResponse>) -> MailError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let status = service_status(error);
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let message = service.err().message().unwrap_or("").to_owned();
            if PERMANENT.contains(&code.as_str()) {
                MailError::Permanent { code, message }
            } else if TRANSIENT.contains(&code.as_str()) || status >= 500 || status == 429 {
                MailError::Transient(format!("{code} ({status}): {message}"))
            } else {
                MailError::Permanent { code, message }
            }
        }
        other => MailError::Transient(aws_sdk_sesv2::error::DisplayErrorContext(other).to_string()),
    }
}

fn service_status<E>(error: &SdkError<E, HttpResponse>) -> u16 {
    error
        .raw_response()
        .map(|raw| raw.status().as_u16())
        .unwrap_or(0)
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<Sent, MailError> {
        let message = Message::builder()
            .subject(utf8(email.subject())?)
            .body(
                Body::builder()
                    .text(utf8(email.text())?)
                    .html(utf8(email.html())?)
                    .build(),
            )
            .build();
        let output = self
            .client
            .send_email()
            .from_email_address(email.from().mailbox())
            .destination(
                Destination::builder()
                    .to_addresses(email.to().as_str())
                    .build(),
            )
            .reply_to_addresses(email.reply_to().as_str())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let message_id = output.message_id().unwrap_or_default().to_owned();
        Ok(Sent {
            receipt: format!("SES message {message_id}"),
            message_id,
        })
    }
}
