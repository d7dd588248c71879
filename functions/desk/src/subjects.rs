//! An admin's answers to a person's data-rights requests, from the desk:
//! find everything held about the person an email address or phone number
//! names, export it (the JSON document and its readable page, as the
//! command line writes them), or erase it.
//!
//! In AWS these routes reach the desk's binary as a function of their own
//! (`DeskRightsFunction`, [`crate::DESK_RIGHTS_ROUTE`]), whose role alone
//! may delete a booking or read the match key and the register.
//!
//! Every route is admin-only (403 for staff) and a `POST`: the identifiers
//! travel in the body, never in a URL a log or a browser's history keeps.
//! Each action is on the audit trail: a search as `searched` (naming no
//! one), an export and an erasure per booking. An erasure takes the
//! references the admin was shown (409, nothing erased, when they are no
//! longer what a search finds), a reason, and the searched identifier
//! typed again as its confirmation (422 otherwise).

use crate::identity::Caller;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use frontdesk_shared::booking::{Email, Reference, SubjectTag, UkPhone};
use frontdesk_shared::content::cache::Publication;
use frontdesk_shared::content::ConsentWording;
use frontdesk_shared::desk::{AuditAction, DeskError, Reason};
use frontdesk_shared::fields::FieldErrors;
use frontdesk_shared::match_key::{MatchKey, MatchKeyOnce};
use frontdesk_shared::rights::{
    erase_found, export, find, ErasureRequest, Found, Holdings, MarketingRegister, SubjectQuery,
};
use frontdesk_shared::store::{BookingStore, SubjectIndex};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// Where an admin finds a person's bookings.
pub const FIND_PATH: &str = "/v1/desk/subjects/find";
/// Where an admin exports them.
pub const EXPORT_PATH: &str = "/v1/desk/subjects/export";
/// Where an admin erases them.
pub const ERASE_PATH: &str = "/v1/desk/subjects/erase";

/// What an admin's data-rights actions read and change besides the desk's
/// own store (which holds the audit trail and does the erasing).
#[derive(Clone)]
pub struct Rights {
    /// A person's bookings, by the keyed tags of their email or phone.
    pub index: Arc<dyn SubjectIndex>,
    /// The bookings, as found.
    pub bookings: Arc<dyn BookingStore>,
    /// The opt-ins to the clinic's news.
    pub register: Arc<dyn MarketingRegister>,
    /// The published consent wordings, whose words an export quotes.
    pub wordings: Arc<dyn Publication<Vec<ConsentWording>>>,
    /// The match key the tags are made under.
    pub key: Arc<MatchKeyOnce>,
    /// How long the store's backups keep an erased booking (`None`: a
    /// store without backups), for the erasure's report.
    pub backups_kept: Option<time::Duration>,
    /// Folders whose files about an erased booking go with it (locally,
    /// the outbox and the exports; none in Lambda).
    pub folders: Vec<PathBuf>,
}

/// The person, as the admin's search form sends them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

/// An erasure, as the admin confirms it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    /// The references the admin was shown and checked.
    #[serde(default)]
    references: Option<Vec<String>>,
    /// The searched email address (or, with none, the phone) typed again.
    #[serde(default)]
    confirm: Option<String>,
    /// Why, as the trail keeps it.
    #[serde(default)]
    reason: Option<String>,
}

fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|r| !r.is_empty())
}

/// The person `email` and `phone` name, each checked as the form checks it.
fn person(
    email: Option<&str>,
    phone: Option<&str>,
    errors: &mut FieldErrors,
) -> Option<SubjectQuery> {
    let email = given(email).map(|e| errors.check("email", Email::parse(e)));
    let phone = given(phone).map(|p| errors.check("phone", UkPhone::parse(p)));
    match (email, phone) {
        (None, None) => {
            errors.add(
                "email",
                "Give the person's email address, phone number or both.",
            );
            None
        }
        (Some(None), _) | (_, Some(None)) => None,
        (email, phone) => Some(SubjectQuery {
            email: email.flatten(),
            phone: phone.flatten(),
        }),
    }
}

fn invalid(errors: FieldErrors) -> DeskError {
    DeskError::Invalid {
        errors,
        query: false,
    }
}

fn query_of(body: Result<Json<PersonBody>, JsonRejection>) -> Result<SubjectQuery, DeskError> {
    let Json(body) = body.map_err(|_| DeskError::Malformed)?;
    let mut errors = FieldErrors::new();
    match person(body.email.as_deref(), body.phone.as_deref(), &mut errors) {
        Some(query) if errors.is_empty() => Ok(query),
        _ => Err(invalid(errors)),
    }
}

fn rights(state: &AppState) -> &Rights {
    &state.rights
}

/// The match key, with the search about to be made on the trail (naming
/// no one): every action here starts with it.
async fn searching(state: &AppState, caller: &Caller) -> Result<Arc<MatchKey>, DeskError> {
    let key = rights(state)
        .key
        .get()
        .await
        .map_err(|_| DeskError::Unavailable)?;
    state
        .desk
        .record(&caller.staff, AuditAction::Searched, None)
        .await?;
    Ok(key)
}

/// The person's bookings, as an erasure would take them.
async fn bookings_of(
    state: &AppState,
    key: &MatchKey,
    query: &SubjectQuery,
) -> Result<Vec<Found>, DeskError> {
    let rights = rights(state);
    Ok(find(rights.index.as_ref(), rights.bookings.as_ref(), key, query).await?)
}

/// `POST /v1/desk/subjects/find` (admins): the bookings an erasure would
/// take and the opt-ins it would remove, for the admin to check that each
/// is this person's (a phone or an inbox may be shared). The search is on
/// the trail; what was searched for is not.
pub async fn find_person(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PersonBody>, JsonRejection>,
) -> Result<Response, DeskError> {
    caller.admin()?;
    let query = query_of(body)?;
    let key = searching(&state, &caller).await?;
    let found = bookings_of(&state, &key, &query).await?;
    let opt_ins = Found::opt_ins(&found, rights(&state).register.as_ref(), &query, &key).await?;
    let now = state.clock.now();
    let bookings: Vec<Value> = found
        .iter()
        .map(|f| {
            json!({
                "reference": f.reference.as_str(),
                "received": crate::api::when(f.received_at),
                "matched_by": f.matched_by,
                "for_someone_else": f.for_someone_else,
                "past_retention": f.expires_at <= now,
            })
        })
        .collect();
    let opt_ins: Vec<Value> = opt_ins
        .iter()
        .map(|o| {
            json!({
                "channel": o.channel.as_str(),
                "given": crate::api::when(o.given_at),
                "came_with": o.reference.as_str(),
            })
        })
        .collect();
    Ok(Json(json!({
        "bookings": bookings,
        "opt_ins": opt_ins,
        "confirm_with": if query.email.is_some() { "email" } else { "phone" },
    }))
    .into_response())
}

/// `POST /v1/desk/subjects/export` (admins): everything held about the
/// person, as the JSON document (`docs/subject-export.schema.json`) and
/// its readable page, for the admin's browser to save; each booking is on
/// the trail as exported before it is read.
pub async fn export_person(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PersonBody>, JsonRejection>,
) -> Result<Response, DeskError> {
    let caller = caller.admin()?;
    let query = query_of(body)?;
    let key = searching(&state, caller).await?;
    let rights = rights(&state);
    // Without the wordings the export is still whole: each consent keeps
    // its version and hash, and the document says the words could not be
    // read just now.
    let wordings = match rights.wordings.current().await {
        Ok(wordings) => wordings,
        Err(_) => {
            tracing::warn!("the consent wordings could not be read: the export quotes none");
            Arc::new(Vec::new())
        }
    };
    let now = state.clock.now();
    let held = Holdings {
        index: rights.index.as_ref(),
        desk: state.desk.as_ref(),
        register: rights.register.as_ref(),
        wordings: &wordings,
    };
    let made = export(held, &key, &query, &caller.staff, now).await?;
    let (json, html) = match (made.to_json(), made.to_html()) {
        (Ok(json), Ok(html)) => (json, html),
        _ => {
            tracing::error!("the subject export could not be written");
            return Err(DeskError::Internal);
        }
    };
    Ok(Json(json!({
        "file": format!("subject-export-{}", now.unix_timestamp_nanos()),
        "bookings": made.bookings.len(),
        "json": json,
        "html": html,
    }))
    .into_response())
}

/// `POST /v1/desk/subjects/erase` (admins): erases the bookings the admin
/// was shown, with everything that points at them, and the person's
/// opt-ins; each erased booking leaves its `erased` entry on the trail.
pub async fn erase_person(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<EraseBody>, JsonRejection>,
) -> Result<Response, DeskError> {
    let caller = caller.admin()?;
    let Json(body) = body.map_err(|_| DeskError::Malformed)?;
    let mut errors = FieldErrors::new();
    let query = person(body.email.as_deref(), body.phone.as_deref(), &mut errors);
    let reason = errors.check(
        "reason",
        Reason::parse(body.reason.as_deref().unwrap_or_default()),
    );
    let Some(references) = body.references else {
        errors.add(
            "references",
            "Give the references of the bookings you were shown (none, if none were).",
        );
        return Err(invalid(errors));
    };
    let mut shown = BTreeSet::new();
    for raw in &references {
        match Reference::parse(raw) {
            Ok(reference) => {
                shown.insert(reference);
            }
            Err(_) => {
                errors.add("references", "Not a booking reference.");
                break;
            }
        }
    }
    let (Some(query), Some(reason)) = (query, reason) else {
        return Err(invalid(errors));
    };
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let key = searching(&state, caller).await?;
    let rights = rights(&state);
    if !confirmed(&query, body.confirm.as_deref().unwrap_or_default(), &key) {
        let mut errors = FieldErrors::new();
        errors.add(
            "confirm",
            if query.email.is_some() {
                "Type the person's email address again, as searched, to confirm the erasure."
            } else {
                "Type the person's phone number again, as searched, to confirm the erasure."
            },
        );
        return Err(invalid(errors));
    }
    let found = bookings_of(&state, &key, &query).await?;
    let now: BTreeSet<Reference> = found.iter().map(|f| f.reference.clone()).collect();
    if now != shown {
        return Err(DeskError::Stale);
    }
    let request = ErasureRequest {
        query,
        by: caller.staff.clone(),
        reason,
        backups_until: rights.backups_kept.map(|kept| state.clock.now() + kept),
    };
    let done = erase_found(
        found,
        state.desk.as_ref(),
        rights.register.as_ref(),
        &key,
        &request,
    )
    .await?;
    // The bookings are gone whatever follows: the answer says what was
    // done, and what could not be, rather than fail.
    let mut not_erased = done.not_erased.clone();
    let files = match frontdesk_shared::rights::erase::remove_files_of(&rights.folders, &done) {
        Ok(files) => Some(files),
        Err((_, e)) => {
            tracing::error!(kind = ?e.kind(), "the erased bookings' files could not be removed");
            not_erased.push(
                "Local files about the erased bookings (the outbox's emails, earlier exports) could not all be removed: erase again to remove them.".to_owned(),
            );
            None
        }
    };
    let erased: Vec<&str> = done
        .erased
        .iter()
        .filter_map(|e| e.reference.as_ref().map(Reference::as_str))
        .collect();
    let stopped = done.stopped.as_ref().map(|stopped| {
        tracing::warn!(
            reference = stopped.at.as_ref().map(Reference::as_str),
            left = stopped.left,
            kind = stopped.error.kind(),
            code = stopped.error.code(),
            "the erasure stopped part way"
        );
        json!({
            "at": stopped.at.as_ref().map(Reference::as_str),
            "left": stopped.left,
            "detail": stopped.explained(),
        })
    });
    // What a search finds now (a booking that arrived while it ran, or
    // those it stopped before); unknown if the store does not answer.
    let still_held: Option<Vec<String>> =
        bookings_of(&state, &key, &request.query)
            .await
            .ok()
            .map(|found| {
                found
                    .into_iter()
                    .map(|f| f.reference.as_str().to_owned())
                    .collect()
            });
    Ok(Json(json!({
        "erased": erased,
        "opt_ins_removed": done.opt_ins.len(),
        "files_removed": files,
        "not_erased": not_erased,
        "stopped": stopped,
        "still_held": still_held,
    }))
    .into_response())
}

/// Whether `typed` is the searched email address (or, with none, the
/// phone number), by the same rule that finds the person's bookings: the
/// keyed tag of its normal form.
fn confirmed(query: &SubjectQuery, typed: &str, key: &MatchKey) -> bool {
    let typed = typed.trim();
    match (&query.email, &query.phone) {
        (Some(email), _) => Email::parse(typed)
            .is_ok_and(|t| SubjectTag::email(&t, key) == SubjectTag::email(email, key)),
        (None, Some(phone)) => UkPhone::parse(typed)
            .is_ok_and(|t| SubjectTag::phone(&t, key) == SubjectTag::phone(phone, key)),
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_here_is_under_the_rights_functions_route() {
        let prefix = crate::DESK_RIGHTS_ROUTE.trim_end_matches("{proxy+}");
        for path in [FIND_PATH, EXPORT_PATH, ERASE_PATH] {
            assert!(path.starts_with(prefix), "{path}");
        }
    }

    #[test]
    fn the_confirmation_is_the_searched_identifier_however_written() {
        let key = MatchKey::new(1, "a-match-key-of-enough-length-0123456789").unwrap();
        let by_email = SubjectQuery {
            email: Some(Email::parse("Ann.Smith@example.com").unwrap()),
            phone: Some(UkPhone::parse("07700 900123").unwrap()),
        };
        assert!(confirmed(&by_email, " ann.smith@EXAMPLE.com ", &key));
        assert!(
            !confirmed(&by_email, "07700 900123", &key),
            "the email, when one was searched"
        );
        assert!(!confirmed(&by_email, "ann.smith@example.org", &key));
        let by_phone = SubjectQuery {
            email: None,
            phone: Some(UkPhone::parse("07700 900123").unwrap()),
        };
        assert!(confirmed(&by_phone, "+44 7700 900123", &key));
        assert!(!confirmed(&by_phone, "07700 900124", &key));
        assert!(!confirmed(&by_phone, "", &key));
    }
}
