//! The subject access export: one document of every booking a person made
//! (found by their email address or phone number), the emails sent about
//! each and what became of them, the consents given, the desk's workflow
//! and notes, and the audit trail's entries about each booking.
//!
//! A booking made for someone else holds two people's data: the booker's
//! (the email and phone that found it, the contact preferences and the
//! consents) and the patient's (name, date of birth, the health details).
//! A match by the booker's details exports the booker's part and says the
//! rest is another person's; a booking for themselves exports both parts.
//! Staff identities on the workflow and the trail are left out: they are
//! the staff's data, and what was done and when is the patient's.
//!
//! Each booking exported is recorded on the audit trail (`exported`, by
//! the admin who asked) before it is read, as a request's page is.

use crate::booking::record::{rfc3339, BookingRecord};
use crate::booking::{Email, Reference, SubjectTag, UkPhone};
use crate::content::ConsentWording;
use crate::desk::{AuditAction, DeskStore, Staff, AUDIT_PAGE_MAX};
use crate::match_key::MatchKey;
use crate::notify::NoticeState;
use crate::rights::marketing::MarketingRegister;
use crate::store::{StoreError, SubjectIndex};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The document's format, named in it so a reader knows its shape
/// (`docs/subject-export.schema.json`).
pub const FORMAT: &str = "frontdesk/subject-export/1";

/// Who to export: an email address, a phone number, or both (parsed as
/// the form parses them, so the same person is found however they typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectQuery {
    /// The booker's email address.
    pub email: Option<Email>,
    /// The booker's phone number.
    pub phone: Option<UkPhone>,
}

impl SubjectQuery {
    /// A query from what an admin typed: at least one of the two, each
    /// checked as the form checks it.
    pub fn parse(email: Option<&str>, phone: Option<&str>) -> Result<Self, String> {
        let email = email
            .map(|e| Email::parse(e.trim()).map_err(|why| format!("--email: {why}")))
            .transpose()?;
        let phone = phone
            .map(|p| UkPhone::parse(p.trim()).map_err(|why| format!("--phone: {why}")))
            .transpose()?;
        if email.is_none() && phone.is_none() {
            return Err("name the person by --email, --phone or both".into());
        }
        Ok(Self { email, phone })
    }

    /// Each booking the index finds within its retention at `now` (every
    /// one still stored, for `UNIX_EPOCH`), once, with the identifiers
    /// that found it.
    pub(super) async fn matches(
        &self,
        index: &dyn SubjectIndex,
        key: &MatchKey,
        now: OffsetDateTime,
    ) -> Result<BTreeMap<Reference, Vec<&'static str>>, StoreError> {
        let mut found: BTreeMap<Reference, Vec<&'static str>> = BTreeMap::new();
        for tag in self.tags(key) {
            for reference in index.bookings_of(&tag, now).await? {
                found
                    .entry(reference)
                    .or_default()
                    .push(tag.identifier().name());
            }
        }
        Ok(found)
    }

    /// The keyed tags of the identifiers given, email first.
    pub(super) fn tags(&self, key: &MatchKey) -> Vec<SubjectTag> {
        let email = self.email.as_ref().map(|e| SubjectTag::email(e, key));
        let phone = self.phone.as_ref().map(|p| SubjectTag::phone(p, key));
        email.into_iter().chain(phone).collect()
    }
}

/// The whole export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Export {
    /// [`FORMAT`].
    pub format: &'static str,
    /// When it was made (UTC, RFC 3339).
    pub generated_at: String,
    /// What was searched for.
    pub searched: Searched,
    /// Every booking found, oldest first.
    pub bookings: Vec<ExportedBooking>,
    /// The opt-ins to the clinic's news the marketing register holds for
    /// the searched address and number, kept until withdrawn.
    pub marketing: Vec<MarketingPart>,
    /// What the export cannot hold, for the clinic's answer to the person.
    pub not_included: Vec<String>,
}

/// One opt-in to the clinic's news, as the register holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarketingPart {
    /// `email` or `sms`.
    pub channel: &'static str,
    /// The address or number news goes to.
    pub address: String,
    /// The consent wording's version the box was ticked under.
    pub version: String,
    /// The SHA-256 of that wording's labels.
    pub wording_sha256: Option<String>,
    /// When it was given.
    pub given_at: String,
    /// The booking it came with (which may since have been deleted).
    pub came_with: String,
}

/// Where an export reads from: the bookings (through their subject index
/// and the desk's store), the marketing register, and the published
/// consent wordings whose words it quotes.
#[derive(Clone, Copy)]
pub struct Holdings<'a> {
    /// A person's bookings, by their tags.
    pub index: &'a dyn SubjectIndex,
    /// The bookings, their emails and the audit trail.
    pub desk: &'a dyn DeskStore,
    /// The opt-ins to the clinic's news.
    pub register: &'a dyn MarketingRegister,
    /// The published consent wordings.
    pub wordings: &'a [ConsentWording],
}

/// The identifiers searched for, as normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Searched {
    /// The email address, if one was given.
    pub email: Option<String>,
    /// The phone number (E.164), if one was given.
    pub phone: Option<String>,
}

/// Whose data a booking holds, as far as the person searched for goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// They booked for themselves: the whole booking is theirs.
    BookerAndPatient,
    /// They booked for someone else: the patient's part is another person's.
    Booker,
}

/// One booking, as the person's export holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedBooking {
    /// Its reference.
    pub reference: String,
    /// Which of the searched identifiers found it.
    pub matched_by: Vec<&'static str>,
    /// The person's role in it.
    pub role: Role,
    /// When it arrived.
    pub received_at: String,
    /// When its retention ends and it is deleted.
    pub retained_until: String,
    /// The booker's part.
    pub booker: BookerPart,
    /// The patient's part; `None` when it is another person's.
    pub patient: Option<PatientPart>,
    /// The consents given with it.
    pub consent: ConsentPart,
    /// The emails sent about it and what became of each.
    pub emails: Vec<EmailPart>,
    /// Where it is in the clinic's workflow.
    pub desk: DeskPart,
    /// What staff did with it, without who.
    pub audit: Vec<AuditPart>,
    /// An earlier booking with the same details, if this repeated one.
    pub repeat_of: Option<String>,
}

/// The booker's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookerPart {
    /// Their email address.
    pub email: String,
    /// Their phone number (E.164).
    pub phone: String,
    /// How they would like to be contacted.
    pub contact_method: String,
    /// When.
    pub preferred_times: Option<String>,
    /// For themselves or someone else.
    pub booking_for: String,
}

/// The patient's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatientPart {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Date of birth.
    pub date_of_birth: String,
    /// The condition asked about.
    pub specialty: String,
    /// The consultant asked for.
    pub consultant: Option<String>,
    /// Self-pay or insured.
    pub payment: String,
    /// The insurer.
    pub insurer: Option<String>,
    /// The policy number.
    pub policy_number: Option<String>,
    /// Whether a GP referred them.
    pub gp_referral: bool,
    /// The message.
    pub message: Option<String>,
}

/// The consents recorded with a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentPart {
    /// Consent to be contacted about the request.
    pub contact: bool,
    /// The version of the wording agreed to.
    pub version: String,
    /// The SHA-256 of that wording's labels as the booking kept it (none
    /// for a booking from before wordings were content).
    pub wording_sha256: Option<String>,
    /// The words themselves, when the content still publishes that version
    /// with that hash.
    pub wording: Option<WordingPart>,
    /// When.
    pub given_at: String,
    /// Marketing by email.
    pub marketing_email: bool,
    /// Marketing by text message.
    pub marketing_sms: bool,
}

/// The labels of a consent wording, exactly as the form showed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WordingPart {
    /// The required box: consent to be contacted about the request.
    pub contact: String,
    /// The box for news by email.
    pub marketing_email: String,
    /// The box for news by text message.
    pub marketing_sms: String,
}

/// One email about a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailPart {
    /// `staff`, `patient` (the acknowledgement), `fallback`, or
    /// `confirmation-<n>` (an appointment confirmation).
    pub kind: String,
    /// When it was sent.
    pub sent_at: Option<String>,
    /// What the receiving side reported (delivered, bounced...).
    pub delivery: Option<String>,
    /// When.
    pub delivery_at: Option<String>,
    /// Why it was not sent, if it was not.
    pub not_sent: Option<String>,
}

/// A booking's place in the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskPart {
    /// Its state now.
    pub state: String,
    /// Each move, oldest first.
    pub history: Vec<MovePart>,
}

/// One move of the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MovePart {
    /// When.
    pub at: String,
    /// The state left.
    pub from: String,
    /// The state reached.
    pub to: String,
    /// Staff's note.
    pub note: Option<String>,
    /// A booked appointment's time.
    pub appointment_at: Option<String>,
    /// Its place.
    pub place: Option<String>,
    /// Its consultant.
    pub consultant: Option<String>,
}

/// One entry of the audit trail about a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPart {
    /// When.
    pub at: String,
    /// What was done.
    pub action: &'static str,
    /// A move's state left.
    pub from: Option<String>,
    /// A move's state reached.
    pub to: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "subject_export.html")]
struct ExportHtml<'a> {
    v: &'a Export,
}

impl Export {
    /// The export as a page a person can read (every value escaped).
    pub fn to_html(&self) -> Result<String, askama::Error> {
        askama::Template::render(&ExportHtml { v: self })
    }

    /// The export as its JSON document.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// What no export can hold.
const NOT_INCLUDED: [&str; 4] = [
    "Emails already delivered are in the recipients' mailboxes, outside this system.",
    "Bookings found only by a patient's name or date of birth (booked by someone else, with other contact details) are not found by this search.",
    "Opt-ins to the clinic's news are found under the address and number searched for, and under those of the bookings found when they came with those bookings; one under another address or number is not found.",
    "Bookings past their retention are not included: they are no longer held for the clinic's use, and are deleted within days (an erasure takes them too).",
];

/// Exports everything `held` about the person `query` names, recording
/// each booking's export on the audit trail as `by` before reading it; each
/// consent's words are taken from the published wordings.
pub async fn export(
    held: Holdings<'_>,
    key: &MatchKey,
    query: &SubjectQuery,
    by: &Staff,
    now: OffsetDateTime,
) -> Result<Export, StoreError> {
    let Holdings {
        index,
        desk,
        register,
        wordings,
    } = held;
    // Each reference once, with every identifier that found it.
    let found = query.matches(index, key, now).await?;
    let mut bookings = Vec::with_capacity(found.len());
    let mut held_bookings = Vec::with_capacity(found.len());
    for (reference, matched_by) in found {
        desk.record(by, AuditAction::Exported, Some(&reference))
            .await?;
        let Some(request) = desk.open(&reference, by).await? else {
            // Gone (retention, erasure) between the search and the read.
            continue;
        };
        let audit = whole_trail(desk, &reference).await?;
        held_bookings.push(request.booking.clone());
        bookings.push(exported(request, matched_by, audit, wordings));
    }
    bookings.sort_by(|a, b| a.received_at.cmp(&b.received_at));
    let held_bookings: Vec<&crate::booking::Booking> = held_bookings.iter().collect();
    let opt_ins = super::marketing::opt_ins_of_person(register, query, key, &held_bookings).await?;
    // An opt-in outlives its booking: its export is on the trail under the
    // booking it came with, when that booking's export is not already.
    let mut recorded: Vec<&str> = bookings.iter().map(|b| b.reference.as_str()).collect();
    for opt_in in &opt_ins {
        if !recorded.contains(&opt_in.reference.as_str()) {
            desk.record(by, AuditAction::Exported, Some(&opt_in.reference))
                .await?;
            recorded.push(opt_in.reference.as_str());
        }
    }
    let marketing = opt_ins
        .into_iter()
        .map(|o| MarketingPart {
            channel: o.channel.as_str(),
            address: o.address,
            version: o.version,
            wording_sha256: o.wording,
            given_at: rfc3339(o.given_at),
            came_with: o.reference.as_str().to_owned(),
        })
        .collect();
    Ok(Export {
        format: FORMAT,
        generated_at: rfc3339(now),
        searched: Searched {
            email: query.email.as_ref().map(|e| e.as_str().to_lowercase()),
            phone: query.phone.as_ref().map(|p| p.as_str().to_owned()),
        },
        bookings,
        marketing,
        not_included: NOT_INCLUDED
            .iter()
            .map(|line| (*line).to_owned())
            .chain(wordings.is_empty().then(|| {
                "The words of each consent could not be read just now: each consent gives its wording's version and hash; export again to have the words quoted.".to_owned()
            }))
            .chain(earlier_keys(key))
            .collect(),
    })
}

/// What a search under the match key's current version cannot find, when
/// it has been rotated: for the clinic's answer to the person.
pub(super) fn earlier_keys(key: &MatchKey) -> Option<String> {
    (key.version() > 1).then(|| {
        format!(
            "Bookings and opt-ins stored before the match key was rotated to version {} are found only by searching under the earlier key (the command line's `frontdesk subject`, with that key's secret).",
            key.version()
        )
    })
}

/// Every entry about `reference`, oldest first.
async fn whole_trail(
    desk: &dyn DeskStore,
    reference: &Reference,
) -> Result<Vec<AuditPart>, StoreError> {
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let page = desk
            .of_request(reference, after.as_ref(), AUDIT_PAGE_MAX)
            .await?;
        entries.extend(page.entries.into_iter().map(|entry| {
            let (from, to) = match entry.action {
                AuditAction::Changed { from, to } => {
                    (Some(from.as_str().to_owned()), Some(to.as_str().to_owned()))
                }
                _ => (None, None),
            };
            AuditPart {
                at: rfc3339(entry.at),
                action: entry.action.as_str(),
                from,
                to,
            }
        }));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    entries.reverse();
    Ok(entries)
}

fn exported(
    request: crate::desk::DeskRequest,
    matched_by: Vec<&'static str>,
    audit: Vec<AuditPart>,
    wordings: &[ConsentWording],
) -> ExportedBooking {
    let record = BookingRecord::from(&request.booking);
    // The words are shown only when they are the ones the booking kept
    // the hash of: a version whose text was changed since is not quoted.
    let wording = wordings
        .iter()
        .find(|w| {
            w.version.as_str() == record.consent_version
                && record.consent_wording.as_deref() == Some(w.sha256.as_str())
        })
        .map(|w| WordingPart {
            contact: w.contact.clone(),
            marketing_email: w.marketing_email.clone(),
            marketing_sms: w.marketing_sms.clone(),
        });
    let role = if request.booking.details.booking_for == crate::booking::BookingFor::Myself {
        Role::BookerAndPatient
    } else {
        Role::Booker
    };
    let email = |notice: crate::notify::Notice, state: NoticeState| EmailPart {
        kind: notice.name().into_owned(),
        sent_at: state.sent_at,
        delivery: state.delivery,
        delivery_at: state.delivery_at,
        not_sent: state.failed.or(state.held),
    };
    ExportedBooking {
        reference: record.reference.clone(),
        matched_by,
        role,
        received_at: record.received_at.clone(),
        retained_until: rfc3339(request.booking.expires_at),
        booker: BookerPart {
            email: record.email.clone(),
            phone: record.phone.clone(),
            contact_method: record.contact_method.clone(),
            preferred_times: record.preferred_times.clone(),
            booking_for: record.booking_for.clone(),
        },
        patient: (role == Role::BookerAndPatient).then(|| PatientPart {
            first_name: record.first_name.clone(),
            last_name: record.last_name.clone(),
            date_of_birth: record.date_of_birth.clone(),
            specialty: record.specialty.clone(),
            consultant: record.consultant.clone(),
            payment: record.payment.clone(),
            insurer: record.insurer.clone(),
            policy_number: record.policy_number.clone(),
            gp_referral: record.gp_referral,
            message: record.message.clone(),
        }),
        consent: ConsentPart {
            contact: record.consent_contact,
            version: record.consent_version.clone(),
            wording_sha256: record.consent_wording.clone(),
            wording,
            given_at: record.consent_given_at.clone(),
            marketing_email: record.marketing_email,
            marketing_sms: record.marketing_sms,
        },
        emails: request
            .emails
            .into_iter()
            .map(|(notice, state)| email(notice, state))
            .collect(),
        desk: DeskPart {
            state: request.state.as_str().to_owned(),
            history: request
                .history
                .iter()
                .map(|step| {
                    let stored = crate::desk::record::StepRecord::from(step);
                    // Notes and appointments are about the patient: the
                    // booker of someone else's request gets the moves only.
                    let patients = role == Role::BookerAndPatient;
                    MovePart {
                        at: stored.at,
                        from: stored.from,
                        to: stored.to,
                        note: stored.note.filter(|_| patients),
                        appointment_at: stored.appointment_at.filter(|_| patients),
                        place: stored.place.filter(|_| patients),
                        consultant: stored.consultant.filter(|_| patients),
                    }
                })
                .collect(),
        },
        audit,
        repeat_of: request.repeat_of.map(|r| r.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_key_is_named_in_what_a_search_cannot_find() {
        let first = MatchKey::new(1, "a-match-key-of-enough-length-0123456789").unwrap();
        assert_eq!(earlier_keys(&first), None);
        let rotated = MatchKey::new(2, "a-match-key-of-enough-length-0123456789").unwrap();
        assert!(earlier_keys(&rotated)
            .unwrap()
            .contains("rotated to version 2"));
    }
}
