//! The local outbox as the tests read it: `.eml` files in a folder.

use mail_parser::MimeHeaders;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the tests check of one email.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OutboxEmail {
    /// The first recipient's address.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// Whether it has both a plain-text and an HTML part.
    pub both_parts: bool,
    /// The plain-text part.
    pub text: String,
    /// The calendar entry attached as `appointment.ics`, if one is.
    pub calendar: Option<String>,
}

/// The finished messages in `dir` (none if it does not exist yet): not a
/// message still being written aside (`.<stem>.eml.partial`).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|path| {
                    path.file_name()
                        .and_then(|name| name.to_str())
                        .is_some_and(|name| !name.starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The files in `dir` once there are at least `count` (or after 10 s, for
/// the caller to find too few).
pub async fn wait_for(dir: &Path, count: usize) -> Vec<PathBuf> {
    for _ in 0..100 {
        let found = files(dir);
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    files(dir)
}

/// Reads one `.eml` file.
pub fn read(file: &Path) -> OutboxEmail {
    let raw = std::fs::read(file).expect("an email");
    let message = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("RFC 5322");
    let calendar = message
        .attachments()
        .find(|part| part.attachment_name() == Some("appointment.ics"))
        .map(|part| String::from_utf8_lossy(part.contents()).into_owned());
    OutboxEmail {
        to: message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned(),
        subject: message.subject().unwrap_or_default().to_owned(),
        both_parts: message.body_text(0).is_some() && message.body_html(0).is_some(),
        text: message.body_text(0).unwrap_or_default().into_owned(),
        calendar,
    }
}
