//! The staff API under `/v1/desk`: every route needs a signed-in
//! [`Caller`] (401 without one); the audit trail's routes need an admin
//! (403 for staff). No answer of a refusal holds personal data.

use crate::identity::{Caller, Role};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use frontdesk_shared::booking::record::rfc3339;
use frontdesk_shared::booking::{Reference, Slug, Specialty};
use frontdesk_shared::desk::{
    Appointment, AuditAction, AuditId, AuditPage, Changed, Cursor, DeskError, DeskRequest,
    InboxQuery, Move, Note, Place, RequestState, Step, AUDIT_PAGE_MAX,
};
use frontdesk_shared::fields::FieldErrors;
use frontdesk_shared::london;
use frontdesk_shared::notify::NoticeState;
use serde::Deserialize;
use serde_json::{json, Value};

/// Where the inbox is read.
pub const INBOX_PATH: &str = "/v1/desk/inbox";
/// A request's page.
pub const REQUEST_PATH: &str = "/v1/desk/requests/{reference}";
/// Where a request is moved through the workflow.
pub const MOVES_PATH: &str = "/v1/desk/requests/{reference}/moves";
/// A request's audit trail (admins).
pub const REQUEST_AUDIT_PATH: &str = "/v1/desk/requests/{reference}/audit";
/// The whole desk's audit trail (admins).
pub const AUDIT_PATH: &str = "/v1/desk/audit";
/// Who is signed in; the page calls it once signed in, which is audited.
pub const SIGN_IN_PATH: &str = "/v1/desk/sign-in";
/// Signing out, audited.
pub const SIGN_OUT_PATH: &str = "/v1/desk/sign-out";

/// Rows an inbox page holds unless asked for fewer.
pub const PAGE_ROWS: u16 = 50;

fn reference(raw: &str) -> Result<Reference, DeskError> {
    // An unreadable reference names no request: the same answer as an unknown one.
    Reference::parse(raw).map_err(|_| DeskError::NotFound)
}

fn query_error(field: &str, message: impl Into<String>) -> DeskError {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    DeskError::Invalid {
        errors,
        query: true,
    }
}

/// The inbox's query parameters.
#[derive(Debug, Deserialize)]
pub struct InboxParams {
    state: Option<String>,
    specialty: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// A time as stored (UTC) and as people read it.
pub(crate) fn when(at: time::OffsetDateTime) -> Value {
    json!({ "at": rfc3339(at), "london": london::written(at) })
}

/// `GET /v1/desk/inbox?state=&specialty=&after=&limit=`: one page, newest first.
pub async fn inbox(
    State(state): State<AppState>,
    _caller: Caller,
    Query(params): Query<InboxParams>,
) -> Result<Response, DeskError> {
    let listed = match params.state.as_deref() {
        None | Some("") => RequestState::New,
        Some(raw) => RequestState::parse(raw)
            .ok_or_else(|| query_error("state", "Choose one of the workflow's states."))?,
    };
    let specialty = match params.specialty.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            Specialty::from_stored(raw)
                .map_err(|_| query_error("specialty", "Not a specialty."))?,
        ),
    };
    let after = match params.after.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(Cursor::decode(raw).map_err(|e| query_error("after", e))?),
    };
    let limit = match params.limit.as_deref() {
        None | Some("") => PAGE_ROWS,
        Some(raw) => raw
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=InboxQuery::MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                query_error(
                    "limit",
                    format!("A whole number from 1 to {}.", InboxQuery::MAX_LIMIT),
                )
            })?,
    };
    let page = state
        .desk
        .page(&InboxQuery {
            state: listed,
            specialty,
            after,
            limit,
        })
        .await?;
    let rows: Vec<Value> = page
        .rows
        .iter()
        .map(|row| {
            json!({
                "reference": row.reference.as_str(),
                "received": when(row.received_at),
                "state": row.state.as_str(),
                "state_label": row.state.label(),
                "specialty": row.specialty.as_str(),
                "specialty_label": specialty_label(&row.specialty),
                "version": row.version,
            })
        })
        .collect();
    let states: Vec<Value> = RequestState::ALL
        .iter()
        .map(|s| json!({ "state": s.as_str(), "label": s.label() }))
        .collect();
    Ok(Json(json!({
        "state": listed.as_str(),
        "states": states,
        "rows": rows,
        "next": page.next.map(|c| c.encode()),
    }))
    .into_response())
}

fn specialty_label(specialty: &Specialty) -> String {
    match specialty {
        Specialty::Condition(slug) => frontdesk_shared::booking::readable::humanise(slug.as_str()),
        Specialty::NotSure => "Not sure".to_owned(),
    }
}

fn email_view(notice: frontdesk_shared::notify::Notice, state: &NoticeState) -> Value {
    // Where it stands, in words: SES's last report wins over "sent".
    let withheld = state
        .failed
        .as_deref()
        .and_then(frontdesk_shared::notify::ledger::withheld_of);
    let not_needed = state
        .failed
        .as_deref()
        .and_then(frontdesk_shared::notify::NotNeeded::of_code);
    let status = if let Some(delivery) = &state.delivery {
        delivery.clone()
    } else if not_needed.is_some() {
        "not_needed".to_owned()
    } else if withheld.is_some() {
        "withheld".to_owned()
    } else if state.failed.is_some() {
        "failed".to_owned()
    } else if state.held.is_some() {
        "held".to_owned()
    } else if state.sent_at.is_some() {
        "sent".to_owned()
    } else {
        "not_sent".to_owned()
    };
    let at = |raw: &Option<String>| {
        raw.as_deref()
            .and_then(|r| frontdesk_shared::booking::record::parse_rfc3339(r).ok())
            .map(when)
    };
    json!({
        "email": notice.name(),
        "label": notice.label(),
        "status": status,
        "sent": at(&state.sent_at),
        "reported": at(&state.delivery_at),
        "detail": withheld
            .map(|why| why.explained())
            .or(not_needed.map(|why| why.explained()))
            .or(state.delivery_detail.as_deref())
            .or(state.failed.as_deref())
            .or(state.held.as_deref()),
    })
}

fn request_view(request: &DeskRequest) -> Value {
    let b = &request.booking;
    let d = &b.details;
    let answers: Vec<Value> = frontdesk_shared::booking::readable::answers(b)
        .into_iter()
        .map(|(label, value)| json!({ "label": label, "value": value }))
        .collect();
    let history: Vec<Value> = request
        .history
        .iter()
        .map(|step| {
            let appointment = step.change().appointment().map(|a| {
                json!({
                    "at": when(a.at),
                    "place": a.place.as_str(),
                    "consultant": a.consultant.as_ref().map(|c| c.as_str()),
                })
            });
            json!({
                "at": when(step.at()),
                "by": step.by().email.as_str(),
                "from": step.from().as_str(),
                "to": step.to().as_str(),
                "to_label": step.to().label(),
                "note": step.note().map(|n| n.as_str()),
                "appointment": appointment,
            })
        })
        .collect();
    let next: Vec<Value> = request
        .state
        .next()
        .iter()
        .map(|s| json!({ "state": s.as_str(), "label": s.label() }))
        .collect();
    json!({
        "reference": b.reference.as_str(),
        "received": when(b.received_at),
        "state": request.state.as_str(),
        "state_label": request.state.label(),
        "version": request.version,
        "next": next,
        "answers": answers,
        "message": d.message.as_ref().map(|m| m.as_str()),
        "phone_e164": d.phone.as_str(),
        "email": d.email.as_str(),
        "consent": {
            "wording_version": b.consent().version.as_str(),
            "given": when(b.consent().given_at),
        },
        "emails": request.emails.iter().map(|(n, s)| email_view(*n, s)).collect::<Vec<_>>(),
        "history": history,
        "repeat_of": request.repeat_of.as_ref().map(|r| r.as_str()),
    })
}

/// `GET /v1/desk/requests/{reference}`: every field, the consent, the
/// emails and the history. The look is on the trail before it is read.
pub async fn request(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Response, DeskError> {
    let reference = reference(&raw)?;
    match state.desk.open(&reference, &caller.staff).await? {
        Some(request) => Ok(Json(request_view(&request)).into_response()),
        None => Err(erased_or_not_found(&state, &reference).await?),
    }
}

/// What a reference with no request is: erased (the trail's `erased`
/// entry stands in its place, so staff are not told it never existed),
/// or not found.
async fn erased_or_not_found(
    state: &AppState,
    reference: &Reference,
) -> Result<DeskError, DeskError> {
    let mut after = None;
    loop {
        let page = state
            .desk
            .of_request(
                reference,
                after.as_ref(),
                frontdesk_shared::desk::AUDIT_PAGE_MAX,
            )
            .await?;
        if let Some(erased) = page
            .entries
            .iter()
            .find(|e| e.action == frontdesk_shared::desk::AuditAction::Erased)
        {
            return Ok(DeskError::Erased {
                at: frontdesk_shared::london::written(erased.at),
                reason: erased
                    .reason
                    .as_ref()
                    .map_or("no reason recorded", |r| r.as_str())
                    .to_owned(),
            });
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(DeskError::NotFound),
        }
    }
}

/// A move as the desk's form sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    version: u64,
    from: String,
    to: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    appointment: Option<AppointmentBody>,
}

/// A booking's appointment as typed: London date and time, and, for a
/// time the clocks repeat, which of the two (`BST` or `GMT`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppointmentBody {
    date: String,
    time: String,
    #[serde(default)]
    zone: Option<String>,
    place: String,
    #[serde(default)]
    consultant: Option<String>,
}

/// An error's text as a sentence: capitalised, with its full stop.
fn sentence(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => text,
    }
}

/// The appointment a booking move carries, on London's clock: a time that
/// does not happen, happens twice without its zone, or has passed at `now`
/// is refused.
fn parse_appointment(
    raw: Option<&AppointmentBody>,
    now: time::OffsetDateTime,
    errors: &mut FieldErrors,
) -> Option<Appointment> {
    let Some(raw) = raw else {
        errors.add(
            "appointment",
            "A booking needs its appointment's date, time and place.",
        );
        return None;
    };
    let date = errors.check(
        "appointment.date",
        time::Date::parse(
            raw.date.trim(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| "Enter the date as YYYY-MM-DD.".to_owned()),
    );
    let at = errors.check(
        "appointment.time",
        time::Time::parse(
            raw.time.trim(),
            time::macros::format_description!("[hour]:[minute]"),
        )
        .map_err(|_| "Enter the time as HH:MM (24-hour, London time).".to_owned()),
    );
    let place = errors.check("appointment.place", Place::parse(&raw.place));
    let consultant = match raw
        .consultant
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => Some(None),
        Some(c) => errors
            .check(
                "appointment.consultant",
                Slug::parse(c).map_err(|_| "Not a consultant.".to_owned()),
            )
            .map(Some),
    };
    let zone = match raw.zone.as_deref().map(str::trim).filter(|z| !z.is_empty()) {
        None => Some(None),
        Some(z) => errors
            .check(
                "appointment.zone",
                london::Zone::parse(z).ok_or_else(|| "Choose BST or GMT.".to_owned()),
            )
            .map(Some),
    };
    let instant = match (date, at, zone) {
        (Some(date), Some(at), Some(zone)) => match london::instant_of(date, at, zone) {
            Ok(instant) if instant <= now => {
                errors.add(
                    "appointment.date",
                    format!("That time has passed: it is {} now.", london::written(now)),
                );
                None
            }
            Ok(instant) => Some(instant),
            // The refusals staff answer by choosing a zone.
            Err(
                zone @ (london::WallClockError::Twice | london::WallClockError::NotOnZone { .. }),
            ) => {
                errors.add("appointment.zone", sentence(&zone));
                None
            }
            Err(other) => {
                errors.add("appointment.time", sentence(&other));
                None
            }
        },
        _ => None,
    };
    Some(Appointment {
        at: instant?,
        place: place?,
        consultant: consultant?,
    })
}

/// `POST /v1/desk/requests/{reference}/moves`: one move, from the version
/// the form showed. 200 with the new state, 409 with the state it lost to.
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    body: Result<Json<MoveBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, DeskError> {
    let reference = reference(&raw)?;
    let Json(body) = body.map_err(|_| DeskError::Malformed)?;
    let mut errors = FieldErrors::new();
    let from = errors.check(
        "from",
        RequestState::parse(&body.from).ok_or_else(|| "Not a workflow state.".to_owned()),
    );
    let to = errors.check(
        "to",
        RequestState::parse(&body.to).ok_or_else(|| "Not a workflow state.".to_owned()),
    );
    let note = match body
        .note
        .as_deref()
        .filter(|n| !frontdesk_shared::text::trim(n).is_empty())
    {
        None => Some(None),
        Some(n) => errors.check("note", Note::parse(n)).map(Some),
    };
    let change = match to {
        Some(RequestState::Booked) => {
            parse_appointment(body.appointment.as_ref(), state.clock.now(), &mut errors)
                .map(Move::Booked)
        }
        Some(other) => {
            if body.appointment.is_some() {
                errors.add("appointment", "Only a booking has an appointment.");
            }
            match other {
                RequestState::Contacted => Some(Move::Contacted),
                RequestState::Declined => Some(Move::Declined),
                RequestState::NoResponse => Some(Move::NoResponse),
                RequestState::Cancelled => Some(Move::Cancelled),
                RequestState::Closed => Some(Move::Closed),
                RequestState::New | RequestState::Booked => {
                    errors.add("to", "A request cannot go back to New.");
                    None
                }
            }
        }
        None => None,
    };
    // A consultant must be one the clinic publishes.
    if let Some(consultant) = change
        .as_ref()
        .and_then(|c| c.appointment())
        .and_then(|a| a.consultant.as_ref())
    {
        let published = state
            .consultants
            .current()
            .await
            .map_err(|_| DeskError::Unavailable)?;
        if let Err(message) = published.check(consultant) {
            errors.add("appointment.consultant", message);
        }
    }
    let step = match (from, change, note) {
        (Some(from), Some(change), Some(note)) if errors.is_empty() => {
            Step::new(state.clock.now(), caller.staff, from, change, note).map_err(|e| {
                let mut errors = FieldErrors::new();
                errors.add("to", format!("{e}."));
                DeskError::Invalid {
                    errors,
                    query: false,
                }
            })?
        }
        _ => {
            return Err(DeskError::Invalid {
                errors,
                query: false,
            })
        }
    };
    match state.desk.change(&reference, body.version, &step).await? {
        Changed::Applied { version } => Ok((
            StatusCode::OK,
            Json(json!({ "state": step.to().as_str(), "version": version })),
        )
            .into_response()),
        Changed::Conflict { state, version } => Err(DeskError::Conflict { state, version }),
        Changed::NotFound => Err(DeskError::NotFound),
    }
}

/// The audit trail's page parameters.
#[derive(Debug, Deserialize)]
pub struct AuditParams {
    after: Option<String>,
}

fn audit_view(page: AuditPage) -> Value {
    let entries: Vec<Value> = page
        .entries
        .iter()
        .map(|e| {
            json!({
                "at": when(e.at),
                "by": e.by.email.as_str(),
                "subject": e.by.subject,
                "action": e.action.as_str(),
                "what": e.action.describe(),
                "reference": e.reference.as_ref().map(|r| r.as_str()),
            })
        })
        .collect();
    json!({ "entries": entries, "next": page.next.map(|id| id.as_str().to_owned()) })
}

fn after(params: &AuditParams) -> Result<Option<AuditId>, DeskError> {
    params
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| AuditId::parse(a).map_err(|e| query_error("after", e)))
        .transpose()
}

/// `GET /v1/desk/requests/{reference}/audit`: one request's trail (admins).
pub async fn request_audit(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    Query(params): Query<AuditParams>,
) -> Result<Response, DeskError> {
    caller.admin()?;
    let reference = reference(&raw)?;
    let page = state
        .desk
        .of_request(&reference, after(&params)?.as_ref(), AUDIT_PAGE_MAX)
        .await?;
    Ok(Json(audit_view(page)).into_response())
}

/// `GET /v1/desk/audit`: the whole desk's trail (admins).
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<AuditParams>,
) -> Result<Response, DeskError> {
    caller.admin()?;
    let page = state
        .desk
        .whole(after(&params)?.as_ref(), AUDIT_PAGE_MAX)
        .await?;
    Ok(Json(audit_view(page)).into_response())
}

/// `POST /v1/desk/sign-in`: records the sign-in and says who it is.
pub async fn sign_in(State(state): State<AppState>, caller: Caller) -> Result<Response, DeskError> {
    state
        .desk
        .record(&caller.staff, AuditAction::SignedIn, None)
        .await?;
    Ok(Json(json!({
        "email": caller.staff.email.as_str(),
        "admin": caller.role == Role::Admin,
    }))
    .into_response())
}

/// `POST /v1/desk/sign-out`: records the sign-out.
pub async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, DeskError> {
    state
        .desk
        .record(&caller.staff, AuditAction::SignedOut, None)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
