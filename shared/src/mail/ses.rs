//! The SES v2 mailer: `SendEmail` with simple content (a text and an HTML
//! part), the configured configuration set, and Reply-To; an email with a
//! calendar entry as raw content (`mail::mime`), with the same set and tags.

use super::{ConfigurationSets, MailError, Mailer, OutgoingEmail, Sent};
use async_trait::async_trait;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{
    Body, Content, Destination, EmailContent, Message, MessageTag, RawMessage,
};
use aws_sdk_sesv2::Client;

/// Sends through Amazon SES v2 on a client that `main` builds once.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    sets: ConfigurationSets,
}

impl SesMailer {
    /// A mailer over `client`, sending each email through its configuration set.
    pub fn new(client: Client, sets: ConfigurationSets) -> Self {
        Self { client, sets }
    }

    fn set_for(&self, email: &OutgoingEmail) -> Option<String> {
        use crate::notify::Notice;
        match email.notice() {
            Some(Notice::Staff | Notice::StaffFallback) => self.sets.staff.clone(),
            Some(Notice::Patient | Notice::Confirmation(_)) | None => self.sets.patient.clone(),
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

/// Who can fix an SES error, which decides what becomes of the email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixer {
    /// Nobody: this message or recipient is refused and always will be.
    /// Recorded on the booking, never retried.
    Message,
    /// An operator: the account or its set-up. Held: owed, retried, alarmed.
    Account,
    /// Time: throttling, a server error. Retried.
    Moment,
}

/// Every SES error frontdesk knows, by code and, where one code means more
/// than one thing, by a phrase of its message (matched without case). The
/// first row that matches decides. A code not listed is held when it is a
/// 4xx (an operator may fix what nobody foresaw; nothing is given up) and
/// retried when it is a 5xx or 429.
pub const ERRORS: &[(&str, Option<&str>, Fixer)] = &[
    // The sandbox refuses unverified recipients, and SES refuses an
    // unverified sender, both as MessageRejected: set-up, not the message.
    ("MessageRejected", Some("not verified"), Fixer::Account),
    ("MessageRejected", None, Fixer::Message),
    ("BadRequestException", None, Fixer::Message),
    ("SendingPausedException", None, Fixer::Account),
    ("AccountSuspendedException", None, Fixer::Account),
    ("MailFromDomainNotVerifiedException", None, Fixer::Account),
    // A configuration set or identity that does not exist.
    ("NotFoundException", None, Fixer::Account),
    // The daily sending quota: an operator raises it, or it resets.
    ("LimitExceededException", None, Fixer::Account),
    ("AccessDeniedException", None, Fixer::Account),
    ("UnrecognizedClientException", None, Fixer::Account),
    ("InvalidClientTokenId", None, Fixer::Account),
    ("InvalidSignatureException", None, Fixer::Account),
    ("MissingAuthenticationTokenException", None, Fixer::Account),
    // Temporary credentials expire and the SDK fetches new ones.
    ("ExpiredTokenException", None, Fixer::Moment),
    ("TooManyRequestsException", None, Fixer::Moment),
    ("ThrottlingException", None, Fixer::Moment),
    ("Throttling", None, Fixer::Moment),
    ("InternalFailure", None, Fixer::Moment),
    ("ServiceUnavailable", None, Fixer::Moment),
];

/// Who can fix an SES error with this code, message and HTTP status.
pub fn fixer(code: &str, message: &str, status: u16) -> Fixer {
    let message = message.to_ascii_lowercase();
    ERRORS
        .iter()
        .find(|(known, phrase, _)| {
            *known == code && phrase.is_none_or(|phrase| message.contains(phrase))
        })
        .map(|(_, _, fixer)| *fixer)
        .unwrap_or(if status >= 500 || status == 429 {
            Fixer::Moment
        } else {
            Fixer::Account
        })
}

/// Sorts an SES failure by who can fix it.
fn classify<E>(error: &SdkError<E, HttpResponse>) -> MailError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let status = service_status(error);
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let message = service.err().message().unwrap_or("").to_owned();
            match fixer(&code, &message, status) {
                Fixer::Message => MailError::Permanent { code, message },
                Fixer::Account => MailError::Held { code, message },
                Fixer::Moment => MailError::Transient(format!("{code} ({status}): {message}")),
            }
        }
        other => MailError::Transient(crate::aws::explain(other)),
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
        let content = match email.calendar() {
            // The headers travel in the raw message: From, To, Reply-To, Subject.
            Some(_) => EmailContent::builder()
                .raw(
                    RawMessage::builder()
                        .data(Blob::new(super::mime::format(email, None)?))
                        .build()
                        .map_err(|e| MailError::Refused {
                            field: "content",
                            message: e.to_string(),
                        })?,
                )
                .build(),
            None => EmailContent::builder()
                .simple(
                    Message::builder()
                        .subject(utf8(email.subject())?)
                        .body(
                            Body::builder()
                                .text(utf8(email.text())?)
                                .html(utf8(email.html())?)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        };
        let tags = email
            .tags()
            .iter()
            .map(|tag| {
                MessageTag::builder()
                    .name(tag.name())
                    .value(tag.value())
                    .build()
                    .map_err(|e| MailError::Refused {
                        field: "tag",
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .send_email()
            .set_email_tags((!tags.is_empty()).then_some(tags))
            .from_email_address(email.from().mailbox())
            .destination(
                Destination::builder()
                    .to_addresses(email.to().as_str())
                    .build(),
            )
            // Raw content carries its own Reply-To header.
            .set_reply_to_addresses(
                email
                    .calendar()
                    .is_none()
                    .then(|| vec![email.reply_to().as_str().to_owned()]),
            )
            .content(content)
            .set_configuration_set_name(self.set_for(email))
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let message_id = output.message_id().unwrap_or_default().to_owned();
        Ok(Sent {
            receipt: format!("SES message {message_id}"),
            // SES reports delivery later, through its events.
            delivered: false,
            message_id,
        })
    }
}
