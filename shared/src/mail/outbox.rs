//! The outbox mailer: each email as an RFC 5322 `.eml` file (`mail::mime`)
//! in a folder, for the local server. Any mail client opens them, and a
//! confirmation's calendar entry with them.

use super::{MailError, Mailer, OutgoingEmail, Sent};
use async_trait::async_trait;
use std::path::{Path, PathBuf};

/// Writes emails into a folder instead of sending them.
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
}

impl OutboxMailer {
    /// An outbox in `dir` (created on the first email).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder the `.eml` files go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The email as RFC 5322 bytes, with `message_id` as its Message-ID.
    pub fn format(email: &OutgoingEmail, message_id: &str) -> Result<Vec<u8>, MailError> {
        super::mime::format(email, Some(message_id))
    }
}

fn file_stem() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!(
        "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
    );
    let stamp = now
        .format(&format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    format!("{stamp}-{:08x}", getrandom::u32().unwrap_or_default())
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<Sent, MailError> {
        let stem = file_stem();
        let bytes = Self::format(email, &stem)?;
        let io =
            |e: std::io::Error| MailError::Transient(format!("outbox {}: {e}", self.dir.display()));
        let path = self.dir.join(format!("{stem}.eml"));
        // Written aside, then renamed: a reader never sees half a message.
        // The folder and each message are the owner's alone.
        let partial = self.dir.join(format!(".{stem}.eml.partial"));
        let (dir, aside) = (self.dir.clone(), partial.clone());
        tokio::task::spawn_blocking(move || {
            crate::owner_only::create_dir(&dir)?;
            std::io::Write::write_all(&mut crate::owner_only::new_file().open(&aside)?, &bytes)
        })
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)?;
        tokio::fs::rename(&partial, &path).await.map_err(io)?;
        Ok(Sent {
            // Written to the folder a mail client reads: that is delivery.
            delivered: true,
            message_id: format!("{stem}.eml"),
            receipt: path.display().to_string(),
        })
    }
}
