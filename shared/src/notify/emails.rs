//! The emails of a booking, rendered by compiled templates
//! (`shared/templates/`): askama escapes every value in the HTML parts and
//! leaves the plain-text parts as typed.
//!
//! The patient's emails carry the reference, what happens next (or the
//! appointment's time and place) and the clinic's phone number, and nothing
//! about their health: no specialty, no message, no date of birth, no
//! consultant, in the body, the subject or the calendar entry. Others may
//! read a patient's mailbox and calendar.

use super::clinic::Clinic;
use super::confirmation::{Confirmation, Method};
use super::delivery::{EMAIL_TAG, REFERENCE_TAG};
use super::Notice;
use crate::booking::{Booking, ContactMethod, Email};
use crate::config::{NotifierConfig, StaffEmail};
use crate::mail::{CalendarPart, MailError, MailTag, OutgoingEmail, Sender};
use askama::Template;
use std::sync::Arc;

/// Each template reads its view as `v`.
#[derive(Template)]
#[template(path = "staff.txt")]
struct StaffText<'a> {
    v: &'a StaffView,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffHtml<'a> {
    v: &'a StaffView,
}

#[derive(Template)]
#[template(path = "staff_summary.txt")]
struct StaffSummaryText<'a> {
    v: &'a SummaryView,
}

#[derive(Template)]
#[template(path = "staff_summary.html")]
struct StaffSummaryHtml<'a> {
    v: &'a SummaryView,
}

#[derive(Template)]
#[template(path = "patient.txt")]
struct PatientText<'a> {
    v: &'a PatientView,
}

#[derive(Template)]
#[template(path = "patient.html")]
struct PatientHtml<'a> {
    v: &'a PatientView,
}

#[derive(Template)]
#[template(path = "confirmation.txt")]
struct ConfirmationText<'a> {
    v: &'a ConfirmationView,
}

#[derive(Template)]
#[template(path = "confirmation.html")]
struct ConfirmationHtml<'a> {
    v: &'a ConfirmationView,
}

/// What a confirmation shows: the appointment's time in London and the
/// clinic's place, and nothing of the request but its reference.
struct ConfirmationView {
    subject: String,
    lead: &'static str,
    cancelled: bool,
    clinic: String,
    reference: String,
    when: String,
    place: String,
    /// The consultant's name, where the clinic lets confirmations give it.
    consultant: Option<String>,
    phone: String,
    phone_e164: String,
}

/// An email to render: one of the booking's own, or the confirmation of a
/// change staff made to its appointment.
#[derive(Debug, Clone, Copy)]
pub enum Letter<'a> {
    /// The staff email, the acknowledgement or the fallback.
    Notice(Notice),
    /// A confirmation, from the change that owes it.
    Confirmation(&'a Confirmation),
}

impl Letter<'_> {
    /// The email as the ledger keeps it.
    pub fn notice(self) -> Notice {
        match self {
            Self::Notice(notice) => notice,
            Self::Confirmation(confirmation) => Notice::Confirmation(confirmation.sequence),
        }
    }
}

/// What the staff templates show.
struct StaffView {
    clinic: String,
    reference: String,
    received: String,
    contact_phrase: &'static str,
    rows: Vec<(&'static str, String)>,
    message: Option<String>,
    phone: String,
    phone_e164: String,
    email: String,
    withheld: Option<&'static str>,
}

/// What a summary staff email shows: the reference, when, and the link.
struct SummaryView {
    clinic: String,
    reference: String,
    received: String,
    link: String,
    withheld: Option<&'static str>,
}

/// What the patient templates show: deliberately little, and nothing the
/// sender typed (the address may be a stranger's, typed by someone else).
struct PatientView {
    clinic: String,
    urgent: Option<String>,
    reference: String,
    contact_phrase: &'static str,
    phone: String,
    phone_e164: String,
}

/// Renders a booking's emails with the notifier's settings and the
/// clinic's published details.
#[derive(Debug, Clone)]
pub struct Emails {
    config: Arc<NotifierConfig>,
}

impl Emails {
    /// Emails from the clinic that `config` describes.
    pub fn new(config: Arc<NotifierConfig>) -> Self {
        Self { config }
    }

    /// The subject of an email: the reference and nothing about health.
    pub fn subject(letter: Letter<'_>, booking: &Booking) -> String {
        let reference = &booking.reference;
        match letter {
            Letter::Notice(Notice::Staff) => format!("New appointment request {reference}"),
            Letter::Notice(Notice::Patient) => format!("Your appointment request {reference}"),
            Letter::Notice(Notice::StaffFallback) => {
                format!("New appointment request {reference} (not delivered to the staff inbox)")
            }
            Letter::Notice(Notice::Confirmation(_)) => format!("Your appointment {reference}"),
            Letter::Confirmation(c) => match (c.method, c.sequence) {
                (Method::Request, 0) => format!("Your appointment {reference} is booked"),
                (Method::Request, _) => format!("Your appointment {reference} has changed"),
                (Method::Cancel, _) => format!("Your appointment {reference} is cancelled"),
            },
        }
    }

    /// The email `letter` of `booking` from `clinic`, its parts rendered.
    /// Each is tagged with the booking's reference and its kind, which SES
    /// copies into every event about it.
    pub fn render(
        &self,
        letter: Letter<'_>,
        booking: &Booking,
        clinic: &Clinic,
    ) -> Result<OutgoingEmail, MailError> {
        let d = &booking.details;
        let notice = letter.notice();
        let email = match letter {
            Letter::Notice(Notice::Staff) => self.staff(
                booking,
                notice,
                self.config.staff_inbox_for(d.specialty.as_str()),
                clinic,
            ),
            Letter::Notice(Notice::StaffFallback) => match &self.config.staff_fallback_inbox {
                Some(inbox) => self.staff(booking, notice, inbox, clinic),
                None => Err(MailError::Permanent {
                    code: "NoFallbackInbox".into(),
                    message: "STAFF_FALLBACK_INBOX is not set".into(),
                }),
            },
            Letter::Notice(Notice::Patient) => self.patient(booking, clinic),
            Letter::Confirmation(confirmation) => self.confirmation(booking, confirmation, clinic),
            // The code's fault: held until a deploy fixes it, never given up.
            Letter::Notice(Notice::Confirmation(_)) => Err(MailError::Held {
                code: "TemplateError".into(),
                message: "a confirmation is rendered from the change that owes it".into(),
            }),
        }?;
        Ok(email
            .about(notice)
            .tagged(MailTag::new(REFERENCE_TAG, booking.reference.as_str())?)
            .tagged(MailTag::new(EMAIL_TAG, &notice.name())?))
    }

    /// A confirmation to the patient: when (in London time, GMT or BST
    /// named) and where, the reference and the number to call, with the
    /// calendar entry that adds, moves or removes the appointment. Replies
    /// go to the staff inbox.
    fn confirmation(
        &self,
        booking: &Booking,
        confirmation: &Confirmation,
        clinic: &Clinic,
    ) -> Result<OutgoingEmail, MailError> {
        let to = &booking.details.email;
        let subject = Self::subject(Letter::Confirmation(confirmation), booking);
        let consultant = confirmation
            .appointment
            .consultant
            .as_ref()
            .and_then(|slug| clinic.consultant_names.get(slug))
            .cloned();
        let view = ConfirmationView {
            lead: match (confirmation.method, confirmation.sequence) {
                (Method::Request, 0) => "Your appointment is booked.",
                (Method::Request, _) => {
                    "Your appointment has changed: this replaces any time we sent you before."
                }
                (Method::Cancel, _) => "Your appointment has been cancelled.",
            },
            cancelled: confirmation.method == Method::Cancel,
            clinic: clinic.name.as_str().to_owned(),
            reference: booking.reference.to_string(),
            when: crate::london::written(confirmation.appointment.at),
            place: clinic.place.clone(),
            consultant,
            phone: clinic.phone.clone(),
            phone_e164: clinic.phone_e164.as_str().to_owned(),
            subject,
        };
        let text = ConfirmationText { v: &view }
            .render()
            .map_err(template_error)?;
        let html = ConfirmationHtml { v: &view }
            .render()
            .map_err(template_error)?;
        let ics = super::calendar::entry(
            confirmation,
            &super::calendar::Entry {
                reference: &booking.reference,
                organizer_name: &clinic.hospital,
                organizer: &self.config.mail_from,
                attendee: to,
                summary: &clinic.appointment_summary,
                location: &clinic.place,
                consultant: view.consultant.as_deref(),
                phone: &clinic.phone,
                length: clinic.appointment_length,
            },
        );
        Ok(OutgoingEmail::new(
            self.sender(clinic),
            to.clone(),
            self.config.staff_inbox.clone(),
            &view.subject,
            text,
            html,
        )?
        .with_calendar(CalendarPart {
            method: confirmation.method,
            ics,
        }))
    }

    /// The staff email of `booking` to `to`: the staff inbox, or the fallback.
    /// Who sends: the clinic's name at the verified address.
    fn sender(&self, clinic: &Clinic) -> Sender {
        Sender {
            name: clinic.name.clone(),
            address: self.config.mail_from.clone(),
        }
    }

    fn staff(
        &self,
        booking: &Booking,
        notice: Notice,
        to: &Email,
        clinic: &Clinic,
    ) -> Result<OutgoingEmail, MailError> {
        match (self.config.staff_email, &self.config.desk_url) {
            (StaffEmail::Summary, Some(desk)) => {
                self.staff_summary(booking, notice, to, clinic, desk)
            }
            // The configuration refuses a summary without a desk to link to.
            (StaffEmail::Summary, None) | (StaffEmail::Full, _) => {
                self.staff_full(booking, notice, to, clinic)
            }
        }
    }

    /// The staff email that says only that a request is waiting: no name,
    /// contact detail, specialty or message, in its body or its headers,
    /// and replies go back to the staff inbox, never to the patient.
    fn staff_summary(
        &self,
        booking: &Booking,
        notice: Notice,
        to: &Email,
        clinic: &Clinic,
        desk: &str,
    ) -> Result<OutgoingEmail, MailError> {
        let view = SummaryView {
            clinic: clinic.name.as_str().to_owned(),
            reference: booking.reference.to_string(),
            received: received(booking),
            link: format!("{desk}/desk/requests/{}", booking.reference),
            withheld: withheld(booking),
        };
        let text = StaffSummaryText { v: &view }
            .render()
            .map_err(template_error)?;
        let html = StaffSummaryHtml { v: &view }
            .render()
            .map_err(template_error)?;
        OutgoingEmail::new(
            self.sender(clinic),
            to.clone(),
            to.clone(),
            &Self::subject(Letter::Notice(notice), booking),
            text,
            html,
        )
    }

    fn staff_full(
        &self,
        booking: &Booking,
        notice: Notice,
        to: &Email,
        clinic: &Clinic,
    ) -> Result<OutgoingEmail, MailError> {
        let d = &booking.details;
        let view = StaffView {
            clinic: clinic.name.as_str().to_owned(),
            reference: booking.reference.to_string(),
            received: received(booking),
            contact_phrase: match d.contact_method {
                ContactMethod::Phone => "by phone, as they asked",
                ContactMethod::Email => "by email, as they asked",
            },
            rows: crate::booking::readable::answers(booking),
            message: d.message.as_ref().map(|m| m.as_str().to_owned()),
            phone: d.phone.national(),
            phone_e164: d.phone.as_str().to_owned(),
            email: d.email.as_str().to_owned(),
            withheld: withheld(booking),
        };
        let text = StaffText { v: &view }.render().map_err(template_error)?;
        let html = StaffHtml { v: &view }.render().map_err(template_error)?;
        OutgoingEmail::new(
            self.sender(clinic),
            to.clone(),
            d.email.clone(),
            &Self::subject(Letter::Notice(notice), booking),
            text,
            html,
        )
    }

    fn patient(&self, booking: &Booking, clinic: &Clinic) -> Result<OutgoingEmail, MailError> {
        let d = &booking.details;
        let view = PatientView {
            clinic: clinic.name.as_str().to_owned(),
            urgent: clinic.urgent.clone(),
            reference: booking.reference.to_string(),
            contact_phrase: match d.contact_method {
                ContactMethod::Phone => "call you",
                ContactMethod::Email => "email you",
            },
            phone: clinic.phone.clone(),
            phone_e164: clinic.phone_e164.as_str().to_owned(),
        };
        let text = PatientText { v: &view }.render().map_err(template_error)?;
        let html = PatientHtml { v: &view }.render().map_err(template_error)?;
        OutgoingEmail::new(
            self.sender(clinic),
            d.email.clone(),
            self.config.staff_inbox.clone(),
            &Self::subject(Letter::Notice(Notice::Patient), booking),
            text,
            html,
        )
    }
}

/// A template that cannot render is the code's fault, not the booking's: the
/// email is held until a deploy fixes it, never given up.
fn template_error(e: askama::Error) -> MailError {
    MailError::Held {
        code: "TemplateError".into(),
        message: e.to_string(),
    }
}

/// When the request came, on the clinic's clock.
fn received(booking: &Booking) -> String {
    crate::london::written(booking.received_at)
}

/// What staff are told when the patient gets no acknowledgement.
fn withheld(booking: &Booking) -> Option<&'static str> {
    match booking.acknowledgement {
        crate::booking::Acknowledgement::Owed => None,
        crate::booking::Acknowledgement::Withheld(why) => Some(why.explained()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::booking::fixture::{booking, FORM};
    use crate::mail::HeaderText;

    fn emails(vars: &[(&str, &str)]) -> Emails {
        let config = NotifierConfig::from_lookup(|name| {
            [
                ("MAIL_FROM", "bookings@clinic.example"),
                ("STAFF_INBOX", "desk@clinic.example"),
                ("DESK_URL", "https://desk.clinic.example"),
            ]
            .iter()
            .chain(vars)
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        Emails::new(Arc::new(config))
    }

    fn clinic() -> Clinic {
        Clinic {
            name: HeaderText::parse("site name", "Fixture Clinic").unwrap(),
            phone: "020 7946 0000".into(),
            phone_e164: crate::booking::UkPhone::from_stored("+442079460000").unwrap(),
            urgent: Some("Not for urgent problems: call 999 or NHS 111.".into()),
            place: "Fixture Hospital".into(),
            hospital: "Fixture Hospital".into(),
            appointment_summary: "Appointment at Fixture Hospital".into(),
            appointment_length: time::Duration::minutes(30),
            consultant_names: Default::default(),
        }
    }

    #[test]
    fn an_acknowledgement_holds_nothing_the_sender_typed_and_says_where_urgent_help_is() {
        let mut form = FORM.replace("Ann", "Visit+evil.example+now");
        form.push_str("&message=Ann+Smith+has+a+lump");
        let email = emails(&[])
            .render(Letter::Notice(Notice::Patient), &booking(&form), &clinic())
            .unwrap();
        let both = format!("{}\n{}\n{}", email.subject(), email.text(), email.html());
        for typed in [
            "Visit",
            "evil.example",
            "Smith",
            "lump",
            "07700",
            "1970",
            "Fixture Health",
        ] {
            assert!(!both.contains(typed), "the acknowledgement holds {typed:?}");
        }
        assert!(email.text().starts_with("Hello,"));
        for part in [email.text(), email.html()] {
            assert!(
                part.contains("Not for urgent problems: call 999 or NHS 111."),
                "{part}"
            );
        }
    }

    #[test]
    fn a_confirmation_names_the_consultant_only_where_the_clinic_allows_it() {
        let booking = booking(FORM);
        let confirmation = Confirmation {
            sequence: 0,
            method: Method::Request,
            appointment: crate::desk::Appointment {
                at: time::macros::datetime!(2027-07-01 09:30 UTC),
                place: crate::desk::Place::parse("Outpatients").unwrap(),
                consultant: Some(crate::booking::Slug::parse("jane-doe").unwrap()),
            },
            made_at: time::macros::datetime!(2026-12-01 12:00 UTC),
        };
        let all = |clinic: &Clinic| {
            let email = emails(&[])
                .render(Letter::Confirmation(&confirmation), &booking, clinic)
                .unwrap();
            let calendar = email.calendar().expect("a calendar entry").ics.clone();
            format!(
                "{}\n{}\n{}\n{calendar}",
                email.subject(),
                email.text(),
                email.html()
            )
        };
        let unnamed = all(&clinic());
        assert!(!unnamed.contains("Jane Doe"), "{unnamed}");
        assert!(!unnamed.contains("jane-doe"), "{unnamed}");
        let mut naming = clinic();
        naming.consultant_names.insert(
            crate::booking::Slug::parse("jane-doe").unwrap(),
            "Dr Jane Doe".into(),
        );
        let named = all(&naming);
        assert!(named.contains("With: Dr Jane Doe"), "{named}");
        assert!(named.contains("With Dr Jane Doe."), "{named}");
        // Never the place staff typed, nor anything about health.
        for health in ["Outpatients", "euroendocrine", "1970"] {
            assert!(!named.contains(health), "{health}: {named}");
        }
    }

    /// Everything of the fixture patient a summary must not carry.
    const PATIENT: [&str; 10] = [
        "Ann",
        "Smith",
        "ann@example.com",
        "07700",
        "+447700900123",
        "1970",
        "31 March",
        "euroendocrine",
        "Fixture Health",
        "FX-1",
    ];

    #[test]
    fn a_summary_says_a_request_is_waiting_and_nothing_about_the_patient() {
        let mut form = FORM.to_owned();
        form.push_str("&message=Ann+Smith+has+a+lump");
        let booking = booking(&form);
        let email = emails(&[])
            .render(Letter::Notice(Notice::Staff), &booking, &clinic())
            .unwrap();
        assert!(email
            .text()
            .contains("https://desk.clinic.example/desk/requests/CCL-7K3M-9Q2X"));
        assert!(email
            .html()
            .contains(r#"href="https://desk.clinic.example/desk/requests/CCL-7K3M-9Q2X""#));
        assert!(email
            .text()
            .contains("Wednesday 2 December 2026, 09:05 GMT"));
        assert_eq!(
            email.reply_to().as_str(),
            "desk@clinic.example",
            "never the patient"
        );
        let everything = format!(
            "{}\n{}\n{}\n{}\n{}\n{:?}",
            email.subject(),
            email.text(),
            email.html(),
            email.to().as_str(),
            email.reply_to().as_str(),
            email.tags()
        );
        for detail in PATIENT.iter().chain(&["lump"]) {
            assert!(!everything.contains(detail), "the summary holds {detail:?}");
        }
    }

    #[test]
    fn a_full_staff_email_is_every_answer_replying_to_the_patient() {
        let email = emails(&[("STAFF_EMAIL", "full")])
            .render(Letter::Notice(Notice::Staff), &booking(FORM), &clinic())
            .unwrap();
        assert_eq!(email.reply_to().as_str(), "ann@example.com");
        let both = format!("{}{}", email.text(), email.html());
        for detail in PATIENT {
            assert!(both.contains(detail), "the full email lacks {detail:?}");
        }
    }

    #[test]
    fn subjects_name_the_reference_and_nothing_about_health() {
        let booking = booking(FORM);
        assert_eq!(
            Emails::subject(Letter::Notice(Notice::Staff), &booking),
            "New appointment request CCL-7K3M-9Q2X"
        );
        assert_eq!(
            Emails::subject(Letter::Notice(Notice::Patient), &booking),
            "Your appointment request CCL-7K3M-9Q2X"
        );
        assert_eq!(
            Emails::subject(Letter::Notice(Notice::StaffFallback), &booking),
            "New appointment request CCL-7K3M-9Q2X (not delivered to the staff inbox)"
        );
        assert_eq!(received(&booking), "Wednesday 2 December 2026, 09:05 GMT");
    }
}
