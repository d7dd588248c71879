//! The calendar entry a confirmation carries (RFC 5545, with the iTIP
//! methods of RFC 5546), written by the `icalendar` crate.
//!
//! Times are written in UTC (`DTSTART:20270701T090000Z`), RFC 5545's second
//! form of a date-time, which every calendar must read and shows on the
//! reader's own clock: a patient in London sees London time, GMT or BST as
//! the date falls, and one abroad sees the same instant on theirs. It is
//! the form Google Calendar's own invitations use, which Outlook and Apple
//! Calendar open every day. A `TZID=Europe/London` entry would need its
//! `VTIMEZONE` written out by hand from offsets, the one thing the zone
//! database is there to avoid; the email's text names the London time.
//!
//! The entry's `UID` is the request's, so every update and the
//! cancellation replace the one entry; `SEQUENCE` is the confirmation's.
//! Nothing in it speaks of health: the summary names only the place.

use super::confirmation::{Confirmation, Method};
use crate::booking::{Email, Reference};
use icalendar::{Calendar, Component, EventLike, EventStatus, Property};
use time::OffsetDateTime;

/// What the entry says beyond the confirmation itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The request it is about (its `UID` and its description).
    pub reference: &'a Reference,
    /// `ORGANIZER`'s name: the hospital's, as neutral as the summary.
    pub organizer_name: &'a str,
    /// The address the confirmation is sent from, as `ORGANIZER`.
    pub organizer: &'a Email,
    /// The patient, as the one `ATTENDEE`.
    pub attendee: &'a Email,
    /// What a calendar shows as the title: nothing about health, since a
    /// shared calendar is read by others.
    pub summary: &'a str,
    /// Where: the clinic's address, or its hospital's name.
    pub location: &'a str,
    /// The consultant's name, where the clinic lets confirmations give it.
    pub consultant: Option<&'a str>,
    /// The phone number to change or cancel.
    pub phone: &'a str,
    /// How long the appointment is.
    pub length: time::Duration,
}

/// The `UID` of a request's calendar entry: stable for the request, so
/// each update replaces the entry, and unique to the sending domain.
pub fn uid(reference: &Reference, organizer: &Email) -> String {
    let domain = organizer
        .as_str()
        .rsplit_once('@')
        .map_or("frontdesk.invalid", |(_, domain)| domain);
    format!("appointment-{reference}@{domain}")
}

/// `text` on one line: the crate escapes line feeds, commas and
/// semicolons, not carriage returns or other control characters, which
/// the clinic's content could hold.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `at` as a UTC date-time value (`20270701T090000Z`).
fn utc(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The calendar entry of `confirmation`: `METHOD:REQUEST` to add or move
/// the appointment, `METHOD:CANCEL` to remove it. The same confirmation
/// always writes the same bytes, so a resent one is the same entry.
pub fn entry(confirmation: &Confirmation, about: &Entry<'_>) -> String {
    let at = confirmation.appointment.at;
    let mut organizer = Property::new("ORGANIZER", format!("mailto:{}", about.organizer.as_str()));
    // A parameter value may hold no double quote (RFC 5545 3.2).
    organizer.add_parameter("CN", &one_line(about.organizer_name).replace('"', "'"));
    let mut attendee = Property::new("ATTENDEE", format!("mailto:{}", about.attendee.as_str()));
    attendee
        .add_parameter("ROLE", "REQ-PARTICIPANT")
        .add_parameter("RSVP", "FALSE");
    let mut event = icalendar::Event::new();
    event
        .uid(&uid(about.reference, about.organizer))
        .sequence(confirmation.sequence)
        .add_property("DTSTAMP", utc(confirmation.made_at))
        .starts(at)
        .ends(at + about.length)
        .summary(&one_line(about.summary))
        .location(&one_line(about.location))
        .description(&one_line(&format!(
            "Reference {}.{} To change or cancel, call {}.",
            about.reference,
            about
                .consultant
                .map(|name| format!(" With {name}."))
                .unwrap_or_default(),
            about.phone
        )))
        .status(match confirmation.method {
            Method::Request => EventStatus::Confirmed,
            Method::Cancel => EventStatus::Cancelled,
        })
        .add_property("TRANSP", "OPAQUE")
        .append_property(organizer)
        .append_multi_property(attendee);
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new(
            "PRODID",
            "-//frontdesk//appointment confirmations//EN",
        ))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", confirmation.method.as_str()))
        .push(event.done());
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::{Appointment, Place};
    use icalendar::{CalendarDateTime, DatePerhapsTime};
    use time::macros::{date, datetime, time};

    fn confirmation(sequence: u32, method: Method, at: OffsetDateTime) -> Confirmation {
        Confirmation {
            sequence,
            method,
            appointment: Appointment {
                at,
                place: Place::parse("Outpatients").unwrap(),
                consultant: None,
            },
            made_at: datetime!(2026-12-01 12:00 UTC),
        }
    }

    fn written(confirmation: &Confirmation) -> String {
        let reference = Reference::parse("CCL-7K3M-9Q2X").unwrap();
        let organizer = Email::parse("bookings@clinic.example").unwrap();
        let attendee = Email::parse("patient@example.com").unwrap();
        entry(
            confirmation,
            &Entry {
                reference: &reference,
                organizer_name: "Parkside Hospital",
                organizer: &organizer,
                attendee: &attendee,
                summary: "Appointment at Parkside Hospital",
                location: "Parkside Hospital, 53 Parkside, London SW19 5NX",
                consultant: None,
                phone: "020 8247 3351",
                length: time::Duration::minutes(45),
            },
        )
    }

    /// The one event of an entry, parsed back by the crate.
    fn parsed(ics: &str) -> (Calendar, icalendar::Event) {
        let calendar: Calendar = ics.parse().expect("the entry parses");
        let event = calendar.events().next().expect("one event").clone();
        (calendar, event)
    }

    fn utc_of(value: Option<DatePerhapsTime>) -> OffsetDateTime {
        match value {
            Some(DatePerhapsTime::DateTime(CalendarDateTime::Utc(at))) => {
                OffsetDateTime::from_unix_timestamp(at.timestamp()).unwrap()
            }
            other => panic!("not a UTC date-time: {other:?}"),
        }
    }

    #[test]
    fn ten_in_the_morning_in_london_is_nine_utc_in_july_and_ten_in_january() {
        for (day, utc_hour) in [(date!(2027 - 07 - 01), 9), (date!(2027 - 01 - 14), 10)] {
            let at = crate::london::instant_of(day, time!(10:00), None).unwrap();
            let ics = written(&confirmation(0, Method::Request, at));
            let (_, event) = parsed(&ics);
            let start = utc_of(event.get_start());
            assert_eq!(
                (start.date(), start.hour(), start.minute()),
                (day, utc_hour, 0)
            );
            assert_eq!(utc_of(event.get_end()) - start, time::Duration::minutes(45));
        }
    }

    #[test]
    fn a_request_invites_the_patient_without_asking_for_a_reply() {
        let ics = written(&confirmation(
            0,
            Method::Request,
            datetime!(2027-07-01 09:00 UTC),
        ));
        let (calendar, event) = parsed(&ics);
        assert_eq!(calendar.property_value("METHOD"), Some("REQUEST"));
        assert_eq!(
            event.get_uid(),
            Some("appointment-CCL-7K3M-9Q2X@clinic.example")
        );
        assert_eq!(event.get_sequence(), Some(0));
        assert_eq!(event.get_status(), Some(EventStatus::Confirmed));
        assert_eq!(
            event.get_summary(),
            Some("Appointment at Parkside Hospital")
        );
        assert_eq!(
            event.get_location(),
            Some("Parkside Hospital, 53 Parkside, London SW19 5NX")
        );
        assert!(ics.contains("DTSTART:20270701T090000Z\r\n"), "{ics}");
        assert!(ics.contains("DTSTAMP:20261201T120000Z\r\n"), "{ics}");
        assert!(
            ics.contains("ORGANIZER;CN=Parkside Hospital:mailto:bookings@clinic.example\r\n"),
            "{ics}"
        );
        let attendees = event.get_attendees();
        assert_eq!(attendees.len(), 1);
        assert_eq!(attendees[0].rsvp, Some(false));
        assert!(ics.contains(":mailto:patient@example.com\r\n"), "{ics}");
        assert_eq!(
            ics,
            written(&confirmation(
                0,
                Method::Request,
                datetime!(2027-07-01 09:00 UTC)
            ))
        );
    }

    #[test]
    fn an_update_and_a_cancellation_keep_the_uid_and_raise_the_sequence() {
        let at = datetime!(2027-07-01 09:00 UTC);
        let (_, first) = parsed(&written(&confirmation(0, Method::Request, at)));
        let (_, moved) = parsed(&written(&confirmation(
            1,
            Method::Request,
            at + time::Duration::hours(3),
        )));
        let cancel_ics = written(&confirmation(
            2,
            Method::Cancel,
            at + time::Duration::hours(3),
        ));
        let (calendar, cancelled) = parsed(&cancel_ics);
        assert_eq!(first.get_uid(), moved.get_uid());
        assert_eq!(moved.get_uid(), cancelled.get_uid());
        assert_eq!(moved.get_sequence(), Some(1));
        assert_eq!(cancelled.get_sequence(), Some(2));
        assert_eq!(calendar.property_value("METHOD"), Some("CANCEL"));
        assert_eq!(cancelled.get_status(), Some(EventStatus::Cancelled));
    }

    #[test]
    fn text_values_are_escaped_kept_to_one_line_and_folded() {
        let reference = Reference::parse("CCL-7K3M-9Q2X").unwrap();
        let organizer = Email::parse("bookings@clinic.example").unwrap();
        let ics = entry(
            &confirmation(0, Method::Request, datetime!(2027-07-01 09:00 UTC)),
            &Entry {
                reference: &reference,
                organizer_name: "The \"Clinic\"; London, UK\r\nX-INJECTED:1",
                organizer: &organizer,
                attendee: &organizer,
                summary: "Appointment; at, the\nhospital",
                location: &"A long address line, ".repeat(8),
                consultant: None,
                phone: "020 8247 3351",
                length: time::Duration::minutes(30),
            },
        );
        assert!(
            ics.contains("SUMMARY:Appointment\\; at\\, the hospital\r\n"),
            "{ics}"
        );
        assert!(
            ics.contains("ORGANIZER;CN=\"The 'Clinic'; London, UK  X-INJECTED:1\":"),
            "{ics}"
        );
        assert!(!ics.contains("\nX-INJECTED"), "{ics}");
        assert!(ics.split("\r\n").all(|line| line.len() <= 75), "{ics}");
        let (_, event) = parsed(&ics);
        assert_eq!(event.get_summary(), Some("Appointment; at, the hospital"));
    }
}
