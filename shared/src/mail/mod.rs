//! The `Mailer` port: one email out, with its adapters (`ses` in Lambda,
//! `outbox` locally) behind cargo features.
//!
//! An `OutgoingEmail` can only be built from header values without control
//! characters: patient text is checked when a booking is parsed, and again
//! here, so that no value can ever add a header.

#[cfg(any(feature = "outbox", feature = "ses"))]
pub mod mime;
#[cfg(feature = "outbox")]
pub mod outbox;
#[cfg(feature = "ses")]
pub mod ses;

use crate::booking::Email;
use async_trait::async_trait;

/// A value that goes into a header (a display name, a subject): one line of
/// text without control or invisible formatting characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderText(String);

impl HeaderText {
    /// The longest header value accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Checks a header value; `field` names it in the refusal.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, MailError> {
        let refused = |why: &str| MailError::Refused {
            field,
            message: why.to_owned(),
        };
        if raw.trim().is_empty() {
            return Err(refused("is empty"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(refused("is too long for a header"));
        }
        if raw.chars().any(|c| {
            c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        }) {
            return Err(refused("holds a line break or another control character"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The SES configuration sets emails are sent through: where TLS is
/// required, events are published, and suppression is decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigurationSets {
    /// For patients' emails, and any email that is no staff notice: keeps
    /// SES's suppression of addresses that bounced or complained.
    pub patient: Option<String>,
    /// For staff notices: suppresses nothing, so one bounce or "spam" click
    /// never silences the staff inbox; bounces alarm instead.
    pub staff: Option<String>,
}

/// Who an email is from: the clinic's name and its sending address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The display name (`Cancer Centre London`).
    pub name: HeaderText,
    /// The verified sending address.
    pub address: Email,
}

impl Sender {
    /// `"Name" <address>`, quoted for RFC 5322 (the name is already free of
    /// controls); a name beyond ASCII as an RFC 2047 encoded word
    /// (`=?UTF-8?B?...?=`), as SES requires of a display name.
    pub fn mailbox(&self) -> String {
        let name = self.name.as_str();
        if !name.is_ascii() {
            return format!("{} <{}>", encoded_words(name), self.address.as_str());
        }
        let name = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{name}\" <{}>", self.address.as_str())
    }
}

/// `text` as RFC 2047 encoded words, each within the 75 characters the RFC
/// allows (at most 45 bytes of UTF-8 each, split between characters).
fn encoded_words(text: &str) -> String {
    use base64::Engine;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A name and value the mailer attaches to a message so that the service's
/// events about it (SES message tags) say which email of which booking
/// they are about. Values are references and kinds, never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTag {
    name: &'static str,
    value: String,
}

impl MailTag {
    /// A tag; SES allows letters, digits, `_`, `-`, `.` and `@`, up to 256.
    pub fn new(name: &'static str, value: &str) -> Result<Self, MailError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@');
        if value.is_empty() || value.len() > 256 || !value.chars().all(allowed) {
            return Err(MailError::Refused {
                field: "tag",
                message: format!("{name} is not a valid tag value"),
            });
        }
        Ok(Self {
            name,
            value: value.to_owned(),
        })
    }

    /// The tag's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The tag's value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// A calendar entry an email carries (RFC 6047, iMIP): as a `text/calendar`
/// alternative with its method, which calendars act on, and as an `.ics`
/// attachment anyone can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarPart {
    /// What the entry does (`REQUEST`, `CANCEL`).
    pub method: crate::notify::Method,
    /// The entry, as `notify::calendar::entry` writes it.
    pub ics: String,
}

impl CalendarPart {
    /// The attachment's file name.
    pub const FILE_NAME: &'static str = "appointment.ics";
}

/// One email, ready to send: a plain-text and an HTML part of the same
/// message, and, for a confirmation, its calendar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    from: Sender,
    to: Email,
    reply_to: Email,
    subject: HeaderText,
    text: String,
    html: String,
    calendar: Option<CalendarPart>,
    tags: Vec<MailTag>,
    about: Option<crate::notify::Notice>,
}

impl OutgoingEmail {
    /// An email; the subject is checked again here, so a caller cannot pass a header through it.
    pub fn new(
        from: Sender,
        to: Email,
        reply_to: Email,
        subject: &str,
        text: String,
        html: String,
    ) -> Result<Self, MailError> {
        Ok(Self {
            subject: HeaderText::parse("subject", subject)?,
            from,
            to,
            reply_to,
            text,
            html,
            calendar: None,
            tags: Vec::new(),
            about: None,
        })
    }

    /// The same email carrying `calendar`.
    pub fn with_calendar(mut self, calendar: CalendarPart) -> Self {
        self.calendar = Some(calendar);
        self
    }

    /// The calendar entry it carries, if any.
    pub fn calendar(&self) -> Option<&CalendarPart> {
        self.calendar.as_ref()
    }

    /// The same email, marked as the booking's email `notice`, which decides
    /// how the mailer sends it (SES: through the staff or the patient
    /// configuration set).
    pub fn about(mut self, notice: crate::notify::Notice) -> Self {
        self.about = Some(notice);
        self
    }

    /// Which of a booking's emails this is, when it is one.
    pub fn notice(&self) -> Option<crate::notify::Notice> {
        self.about
    }

    /// The same email with `tag` attached.
    pub fn tagged(mut self, tag: MailTag) -> Self {
        self.tags.push(tag);
        self
    }

    /// The tags the service is to copy into its events about this email.
    pub fn tags(&self) -> &[MailTag] {
        &self.tags
    }

    /// The sender.
    pub fn from(&self) -> &Sender {
        &self.from
    }

    /// The one recipient.
    pub fn to(&self) -> &Email {
        &self.to
    }

    /// Where replies go.
    pub fn reply_to(&self) -> &Email {
        &self.reply_to
    }

    /// The subject line.
    pub fn subject(&self) -> &str {
        self.subject.as_str()
    }

    /// The plain-text part.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The HTML part.
    pub fn html(&self) -> &str {
        &self.html
    }
}

/// An email the mailer accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The mailer's identifier of the message (SES's message ID, or the outbox file's name).
    pub message_id: String,
    /// Where it went, for a person to read (`SES message 0100…`, a file path).
    pub receipt: String,
    /// Whether the mailer itself put it where its reader reads it (an
    /// outbox file), so no later event will report its delivery.
    pub delivered: bool,
}

/// Why an email was not sent, sorted by who can fix it, which decides what
/// becomes of the email.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The moment: throttling, a server error, a timeout, no connection.
    /// Tried again soon; nobody needs to act.
    #[error("mail service unavailable: {0}")]
    Transient(String),
    /// The account or set-up: sending paused, the account suspended, a sender
    /// or recipient not verified, access or credentials refused, a missing
    /// configuration set. An operator can fix it, so the email is *held*:
    /// it stays owed, is tried again, and an alarm fires.
    #[error("mail held ({code}): {message}")]
    Held {
        /// The service's error code, kept on the booking while it is held.
        code: String,
        /// The service's explanation (it may quote an address: never logged).
        message: String,
    },
    /// This message or recipient: it will fail the same way every time, so
    /// it is recorded on the booking and never tried again.
    #[error("mail refused ({code}): {message}")]
    Permanent {
        /// The service's error code (`MessageRejected`...), kept on the booking.
        code: String,
        /// The service's explanation (it may quote an address: never logged).
        message: String,
    },
    /// A header value was refused before anything was sent.
    #[error("{field} {message}")]
    Refused {
        /// Which header.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl MailError {
    /// The code recorded on a booking when this error ends or holds an email's attempts.
    pub fn code(&self) -> &str {
        match self {
            Self::Transient(_) => "Transient",
            Self::Held { code, .. } | Self::Permanent { code, .. } => code,
            Self::Refused { .. } => "HeaderRefused",
        }
    }

    /// Whether trying again soon may succeed without anyone acting.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }

    /// Whether the email waits for an operator, and must never be given up.
    pub fn is_held(&self) -> bool {
        matches!(self, Self::Held { .. })
    }
}

/// Sends one email. SES in Lambda; `.eml` files locally.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `email`, or says whether a later attempt may succeed.
    async fn send(&self, email: &OutgoingEmail) -> Result<Sent, MailError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_refuses_line_breaks_and_controls() {
        for bad in [
            "a\r\nBcc: x@example.com",
            "a\nb",
            "a\u{0}",
            "a\u{2028}b",
            "",
            "  ",
        ] {
            assert!(HeaderText::parse("subject", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            HeaderText::parse("subject", "Your request CCL-7K3M-9Q2X")
                .unwrap()
                .as_str(),
            "Your request CCL-7K3M-9Q2X"
        );
    }

    #[test]
    fn sender_quotes_its_name() {
        let sender = Sender {
            name: HeaderText::parse("name", "Say \"Hi\"").unwrap(),
            address: Email::parse("desk@example.com").unwrap(),
        };
        assert_eq!(sender.mailbox(), r#""Say \"Hi\"" <desk@example.com>"#);
        let accented = Sender {
            name: HeaderText::parse("name", "Clínica – Londres").unwrap(),
            address: Email::parse("desk@example.com").unwrap(),
        };
        assert_eq!(
            accented.mailbox(),
            "=?UTF-8?B?Q2zDrW5pY2Eg4oCTIExvbmRyZXM=?= <desk@example.com>"
        );
        let long = encoded_words(&"é".repeat(60));
        assert!(long.split(' ').all(|w| w.len() <= 75), "{long}");
        assert_eq!(long.split(' ').count(), 3);
    }
}
