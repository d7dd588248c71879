//! The two emails of a booking, rendered by compiled templates
//! (`shared/templates/`): askama escapes every value in the HTML parts and
//! leaves the plain-text parts as typed.
//!
//! The patient's email carries the reference, what happens next and the
//! clinic's phone number, and nothing about their health: no specialty, no
//! message, no date of birth, in the body or the subject. Others may read a
//! patient's mailbox.

use super::clinic::Clinic;
use super::delivery::{EMAIL_TAG, REFERENCE_TAG};
use super::Notice;
use crate::booking::{Booking, ContactMethod, Email};
use crate::config::{NotifierConfig, StaffEmail};
use crate::mail::{MailError, MailTag, OutgoingEmail, Sender};
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
    pub fn subject(notice: Notice, booking: &Booking) -> String {
        match notice {
            Notice::Staff => format!("New appointment request {}", booking.reference),
            Notice::Patient => format!("Your appointment request {}", booking.reference),
            Notice::StaffFallback => format!(
                "New appointment request {} (not delivered to the staff inbox)",
                booking.reference
            ),
        }
    }

    /// The email `notice` of `booking` from `clinic`, both parts rendered.
    /// Each is tagged with the booking's reference and its kind, which SES
    /// copies into every event about it.
    pub fn render(
        &self,
        notice: Notice,
        booking: &Booking,
        clinic: &Clinic,
    ) -> Result<OutgoingEmail, MailError> {
        let d = &booking.details;
        let email = match notice {
            Notice::Staff => self.staff(
                booking,
                notice,
                self.config.staff_inbox_for(d.specialty.as_str()),
                clinic,
            ),
            Notice::StaffFallback => match &self.config.staff_fallback_inbox {
                Some(inbox) => self.staff(booking, notice, inbox, clinic),
                None => Err(MailError::Permanent {
                    code: "NoFallbackInbox".into(),
                    message: "STAFF_FALLBACK_INBOX is not set".into(),
                }),
            },
            Notice::Patient => self.patient(booking, clinic),
        }?;
        Ok(email
            .about(notice)
            .tagged(MailTag::new(REFERENCE_TAG, booking.reference.as_str())?)
            .tagged(MailTag::new(EMAIL_TAG, notice.as_str())?))
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
            &Self::subject(notice, booking),
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
            &Self::subject(notice, booking),
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
            &Self::subject(Notice::Patient, booking),
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
        }
    }

    #[test]
    fn an_acknowledgement_holds_nothing_the_sender_typed_and_says_where_urgent_help_is() {
        let mut form = FORM.replace("Ann", "Visit+evil.example+now");
        form.push_str("&message=Ann+Smith+has+a+lump");
        let email = emails(&[])
            .render(Notice::Patient, &booking(&form), &clinic())
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
            .render(Notice::Staff, &booking, &clinic())
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
            .render(Notice::Staff, &booking(FORM), &clinic())
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
            Emails::subject(Notice::Staff, &booking),
            "New appointment request CCL-7K3M-9Q2X"
        );
        assert_eq!(
            Emails::subject(Notice::Patient, &booking),
            "Your appointment request CCL-7K3M-9Q2X"
        );
        assert_eq!(
            Emails::subject(Notice::StaffFallback, &booking),
            "New appointment request CCL-7K3M-9Q2X (not delivered to the staff inbox)"
        );
        assert_eq!(received(&booking), "Wednesday 2 December 2026, 09:05 GMT");
    }
}
