//! An email as RFC 5322 bytes, built by `lettre`: what the outbox writes
//! and what SES is sent as raw content when the email carries a calendar
//! entry (SES's simple content has no place for a `text/calendar`
//! alternative).
//!
//! An email without a calendar entry is `multipart/alternative` (text,
//! HTML). One with an entry is `multipart/mixed`: the alternative with the
//! entry as its third part (`text/calendar; method=...`), which Outlook,
//! Gmail and Apple Mail act on, then the same entry as an `.ics`
//! attachment for any other client, as the major calendars send theirs.

use super::{MailError, OutgoingEmail};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

fn refused(e: impl std::fmt::Display) -> MailError {
    MailError::Permanent {
        code: "InvalidMessage".into(),
        message: e.to_string(),
    }
}

/// The email as RFC 5322 bytes; `message_id`, when given, as its
/// Message-ID (SES sets its own).
pub fn format(email: &OutgoingEmail, message_id: Option<&str>) -> Result<Vec<u8>, MailError> {
    let mailbox = |field: &'static str, name: Option<&str>, address: &str| {
        address
            .parse()
            .map(|addr| Mailbox::new(name.map(str::to_owned), addr))
            .map_err(|e: lettre::address::AddressError| MailError::Permanent {
                code: "InvalidAddress".into(),
                message: format!("{field}: {e}"),
            })
    };
    let from = email.from();
    let mut builder = lettre::Message::builder()
        .from(mailbox(
            "from",
            Some(from.name.as_str()),
            from.address.as_str(),
        )?)
        .to(mailbox("to", None, email.to().as_str())?)
        .reply_to(mailbox("reply-to", None, email.reply_to().as_str())?)
        .subject(email.subject())
        .date(std::time::SystemTime::now());
    if let Some(id) = message_id {
        builder = builder.message_id(Some(format!("<{id}@frontdesk.local>")));
    }
    let alternative =
        MultiPart::alternative_plain_html(email.text().to_owned(), email.html().to_owned());
    let body = match email.calendar() {
        None => alternative,
        Some(calendar) => {
            let method = calendar.method.as_str();
            let inline =
                ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                    .map_err(refused)?;
            let file = ContentType::parse(&format!(
                "application/ics; name=\"{}\"",
                super::CalendarPart::FILE_NAME
            ))
            .map_err(refused)?;
            MultiPart::mixed()
                .multipart(
                    alternative.singlepart(
                        SinglePart::builder()
                            .header(inline)
                            .body(calendar.ics.clone()),
                    ),
                )
                .singlepart(
                    Attachment::new(super::CalendarPart::FILE_NAME.to_owned())
                        .body(calendar.ics.clone(), file),
                )
        }
    };
    let message = builder.multipart(body).map_err(refused)?;
    Ok(message.formatted())
}
