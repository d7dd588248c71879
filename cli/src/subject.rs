//! `frontdesk subject export` and `erase`: an admin's answers, from the
//! command line, to a subject access request (everything held about the
//! person an email address or phone number names, written as JSON,
//! `docs/subject-export.schema.json`, and as a page to send them, each
//! readable by its owner only) and to an erasure request. Every booking
//! exported or erased is on the audit trail, under the admin's address.

use crate::serve::LocalStore;
use frontdesk_shared::booking::Email;
use frontdesk_shared::desk::Reason;
use frontdesk_shared::desk::Staff;
use frontdesk_shared::match_key::MatchKey;
use frontdesk_shared::rights::marketing::{withdraw, Channel, Withdrawal};
use frontdesk_shared::rights::{
    erase, export, Erasure, ErasureRequest, Export, Holdings, SubjectQuery,
};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The subject the audit trail names for an admin acting from the command
/// line (in the desk it is their Cognito subject).
pub const COMMAND_LINE: &str = "frontdesk-cli";

/// Where one export was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The JSON document.
    pub json: PathBuf,
    /// The readable page.
    pub html: PathBuf,
    /// How many bookings it holds.
    pub bookings: usize,
}

/// Exports what `store` holds about the person `query` names, as the admin
/// `by`, into `out` (created owner-only if missing).
pub async fn export_to(
    store: &LocalStore,
    key: &MatchKey,
    query: &SubjectQuery,
    by: &str,
    out: &Path,
    now: OffsetDateTime,
) -> Result<Written, String> {
    let by = admin(by)?;
    // The consent wordings' words, to quote: without them the export is
    // still whole (each consent keeps its version and hash).
    let wordings = match store
        .content
        .documents()
        .await
        .and_then(|documents| frontdesk_shared::content::Content::from_documents(&documents))
    {
        Ok(content) => content.consent,
        Err(e) => {
            eprintln!(
                "frontdesk: the content could not be read ({e}): the export gives each consent's version and hash without its words"
            );
            Vec::new()
        }
    };
    let held = Holdings {
        index: store.subjects.as_ref(),
        desk: store.desk.as_ref(),
        register: store.marketing.as_ref(),
        wordings: &wordings,
    };
    let made: Export = export(held, key, query, &by, now)
        .await
        .map_err(|e| format!("the store could not be read: {e}"))?;
    let json = made.to_json().map_err(|e| e.to_string())?;
    let html = made.to_html().map_err(|e| e.to_string())?;
    // A new folder is its owner's alone; one that is there is left as it
    // is (each file is owner-only), so `--out .` changes no one's folder.
    if !out.exists() {
        frontdesk_shared::owner_only::create_dir(out)
            .map_err(|e| format!("creating {}: {e}", out.display()))?;
    }
    let stamp = now.unix_timestamp_nanos();
    let written = Written {
        json: out.join(format!("subject-export-{stamp}.json")),
        html: out.join(format!("subject-export-{stamp}.html")),
        bookings: made.bookings.len(),
    };
    for (path, text) in [(&written.json, json), (&written.html, html)] {
        let mut file = frontdesk_shared::owner_only::new_file()
            .open(path)
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(written)
}

/// The admin named by `--by`, as the audit trail records them.
fn admin(by: &str) -> Result<Staff, String> {
    Ok(Staff {
        subject: COMMAND_LINE.into(),
        email: Email::parse(by.trim()).map_err(|why| format!("--by: {why}"))?,
    })
}

/// An erasure request from what the admin typed: `--by` and `--reason`
/// checked, each error naming its option.
pub fn erasure_request(
    query: SubjectQuery,
    by: &str,
    reason: &str,
    backups_until: Option<OffsetDateTime>,
) -> Result<ErasureRequest, String> {
    Ok(ErasureRequest {
        query,
        by: admin(by)?,
        reason: Reason::parse(reason).map_err(|why| format!("--reason: {why}"))?,
        backups_until,
    })
}

/// Erases every booking of the person `request` names, and the files in
/// `folders` (the local outbox, the exports) that mention them: the
/// erasure, and how many files went.
pub async fn erase_from(
    store: &LocalStore,
    key: &MatchKey,
    request: &ErasureRequest,
    folders: &[PathBuf],
) -> Result<(Erasure, usize), String> {
    let done = erase(
        store.subjects.as_ref(),
        store.bookings.as_ref(),
        store.desk.as_ref(),
        store.marketing.as_ref(),
        key,
        request,
    )
    .await
    .map_err(|e| format!("the store could not be changed: {e}"))?;
    // The person's emails in the local outbox, and earlier exports that
    // hold their bookings.
    let files = frontdesk_shared::rights::erase::remove_files_of(folders, &done)
        .map_err(|(dir, e)| format!("{}: {e}", dir.display()))?;
    Ok((done, files))
}

/// Withdraws the opt-ins to the clinic's news of the person `query` names
/// on `channels`, as the admin `by`: each one removed from the register and
/// recorded on the audit trail.
pub async fn withdraw_marketing(
    store: &LocalStore,
    key: &MatchKey,
    query: &SubjectQuery,
    channels: &[Channel],
    by: &str,
) -> Result<Withdrawal, String> {
    let by = admin(by)?;
    withdraw(
        store.marketing.as_ref(),
        store.desk.as_ref(),
        key,
        query,
        channels,
        &by,
        OffsetDateTime::now_utc(),
    )
    .await
    .map_err(|e| format!("the register could not be changed: {e}"))
}
