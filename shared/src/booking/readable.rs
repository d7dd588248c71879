//! A booking's answers in words, as staff read them: one list for the staff
//! email and the desk's request page alike.

use super::{Booking, BookingFor, ContactMethod, Payment, Specialty};
use time::macros::format_description;

fn yes_no(value: bool) -> String {
    if value { "Yes" } else { "No" }.to_owned()
}

/// A slug as words: `neuroendocrine-tumours` → `Neuroendocrine tumours`.
pub fn humanise(slug: &str) -> String {
    let words = slug.replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// Every answer of a booking as a labelled row in words, in the form's
/// order: what the staff email lists (in `full`) and the desk's request
/// page shows. The message is not a row: it is shown on its own, as typed.
pub fn answers(booking: &Booking) -> Vec<(&'static str, String)> {
    let d = &booking.details;
    let dob_format = format_description!("[day padding:none] [month repr:long] [year]");
    let mut rows = vec![
        ("Reference", booking.reference.to_string()),
        (
            "Patient",
            format!("{} {}", d.first_name.as_str(), d.last_name.as_str()),
        ),
        (
            "Date of birth",
            d.date_of_birth
                .date()
                .format(&dob_format)
                .unwrap_or_else(|_| d.date_of_birth.to_string()),
        ),
        ("Phone", d.phone.national()),
        ("Email", d.email.as_str().to_owned()),
        (
            "Contact by",
            match d.contact_method {
                ContactMethod::Phone => "Phone",
                ContactMethod::Email => "Email",
            }
            .to_owned(),
        ),
    ];
    if let Some(times) = &d.preferred_times {
        rows.push(("Preferred times", times.as_str().to_owned()));
    }
    rows.push((
        "Specialty",
        match &d.specialty {
            Specialty::Condition(slug) => humanise(slug.as_str()),
            Specialty::NotSure => "Not sure".to_owned(),
        },
    ));
    if let Some(consultant) = &d.consultant {
        rows.push(("Preferred consultant", humanise(consultant.as_str())));
    }
    match &d.payment {
        Payment::SelfPay => rows.push(("Payment", "Self-pay".to_owned())),
        Payment::Insured {
            insurer,
            policy_number,
        } => {
            rows.push(("Payment", "Insured".to_owned()));
            rows.push(("Insurer", insurer.as_str().to_owned()));
            rows.push(("Policy number", policy_number.as_str().to_owned()));
        }
    }
    rows.push(("GP referral", yes_no(d.gp_referral)));
    rows.push((
        "Form filled in by",
        match d.booking_for {
            BookingFor::Myself => "The patient",
            BookingFor::SomeoneElse => "Someone else, on the patient's behalf",
        }
        .to_owned(),
    ));
    rows.push((
        "Consent to contact",
        format!("Given (wording {})", d.consent_version.as_str()),
    ));
    rows.push(("Marketing by email", yes_no(d.marketing_email)));
    rows.push(("Marketing by text", yes_no(d.marketing_sms)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::fixture::{booking, FORM};

    #[test]
    fn the_staff_email_lists_every_answer_in_words() {
        let rows = answers(&booking(FORM));
        let rows: Vec<(&str, &str)> = rows.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            rows,
            [
                ("Reference", "CCL-7K3M-9Q2X"),
                ("Patient", "Ann Smith"),
                ("Date of birth", "31 March 1970"),
                ("Phone", "07700 900123"),
                ("Email", "ann@example.com"),
                ("Contact by", "Email"),
                ("Preferred times", "Mornings"),
                ("Specialty", "Neuroendocrine tumours"),
                ("Preferred consultant", "Jane doe"),
                ("Payment", "Insured"),
                ("Insurer", "Fixture Health"),
                ("Policy number", "FX-1"),
                ("GP referral", "Yes"),
                ("Form filled in by", "Someone else, on the patient's behalf"),
                ("Consent to contact", "Given (wording 2026-11)"),
                ("Marketing by email", "No"),
                ("Marketing by text", "Yes"),
            ]
        );
    }

    #[test]
    fn slugs_read_as_words() {
        assert_eq!(humanise("neuroendocrine-tumours"), "Neuroendocrine tumours");
        assert_eq!(humanise(""), "");
    }
}
