//! Appointment confirmations: what the patient is sent when staff book,
//! rebook or cancel their appointment, one per such change.
//!
//! Each change that owes one is numbered from 0 on the request (its
//! *sequence*, which is also the calendar entry's `SEQUENCE`), so that an
//! update replaces what the patient's calendar holds and a later change
//! supersedes one not yet sent. Nothing else the desk does writes to the
//! patient: declining, no answer, and closing an attended appointment send
//! nothing.

use crate::desk::{Appointment, Move, Step};
use time::OffsetDateTime;

/// What a confirmation does to the patient's calendar (the iTIP method,
/// RFC 5546).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Adds the appointment, or moves it when the calendar holds it.
    Request,
    /// Removes the appointment.
    Cancel,
}

impl Method {
    /// The method as iCalendar names it (`REQUEST`, `CANCEL`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
        }
    }

    /// The confirmation `change` owes the patient, if any: booking (or
    /// rebooking) sends the appointment, cancelling withdraws it.
    pub fn owed_by(change: &Move) -> Option<Self> {
        match change {
            Move::Booked(_) => Some(Self::Request),
            Move::Cancelled => Some(Self::Cancel),
            Move::Contacted | Move::Declined | Move::NoResponse | Move::Closed => None,
        }
    }
}

/// Why a confirmation owed once is no longer sent. Recorded on the request
/// as a failure with [`NotNeeded::code`], so it is never tried again and
/// the desk says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotNeeded {
    /// A later change owes its own confirmation, which says what is true now.
    Superseded,
    /// As [`NotNeeded::Superseded`], after an attempt that never said how
    /// it ended: the patient may hold it, so a cancellation still goes.
    SupersededAfterAttempt,
    /// The appointment's time came before the confirmation could go.
    Passed,
    /// A cancellation of an appointment the patient was never sent: no
    /// confirmation before it went, or is going.
    NothingToCancel,
}

impl NotNeeded {
    /// Every reason.
    pub const ALL: [NotNeeded; 4] = [
        NotNeeded::Superseded,
        NotNeeded::SupersededAfterAttempt,
        NotNeeded::Passed,
        NotNeeded::NothingToCancel,
    ];

    /// How a recorded failure code starts when the email was not needed.
    const PREFIX: &'static str = "not_needed:";

    /// The failure code recorded (`not_needed:superseded`).
    pub fn code(self) -> String {
        format!("{}{}", Self::PREFIX, self.as_str())
    }

    /// The reason a recorded failure code names, if it names one.
    pub fn of_code(code: &str) -> Option<Self> {
        let name = code.strip_prefix(Self::PREFIX)?;
        Self::ALL.into_iter().find(|why| why.as_str() == name)
    }

    /// The stored and logged name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Superseded => "superseded",
            Self::SupersededAfterAttempt => "superseded_after_attempt",
            Self::Passed => "passed",
            Self::NothingToCancel => "nothing_to_cancel",
        }
    }

    /// What staff read about it.
    pub fn explained(self) -> &'static str {
        match self {
            Self::Superseded => "not sent: a later change sent what is true now",
            Self::SupersededAfterAttempt => {
                "not sent again: a later change replaced it, and an earlier attempt may have reached the patient"
            }
            Self::Passed => "not sent: the appointment's time had passed",
            Self::NothingToCancel => {
                "not sent: the patient was never sent the appointment it cancels"
            }
        }
    }
}

/// The highest sequence a request's confirmations reach: far beyond any
/// number of times one appointment is rebooked.
pub const MAX_SEQUENCE: u32 = 9_999;

/// One confirmation, as the request's history tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// Its number on the request, from 0: the calendar entry's `SEQUENCE`.
    pub sequence: u32,
    /// What it does to the calendar.
    pub method: Method,
    /// The appointment it books, or the one it cancels.
    pub appointment: Appointment,
    /// When staff made the change (the calendar entry's `DTSTAMP`).
    pub made_at: OffsetDateTime,
}

impl Confirmation {
    /// Confirmation `sequence` of a request whose moves are `history`: the
    /// last move that owes one, with the appointment it books (a booking)
    /// or the last one booked before it (a cancellation). `None` when no
    /// move owes one.
    pub fn of_history(sequence: u32, history: &[Step]) -> Option<Self> {
        let (at, step) = history
            .iter()
            .enumerate()
            .rev()
            .find(|(_, step)| Method::owed_by(step.change()).is_some())?;
        let method = Method::owed_by(step.change())?;
        let appointment = history[..=at]
            .iter()
            .rev()
            .find_map(|step| step.change().appointment())?
            .clone();
        Some(Self {
            sequence,
            method,
            appointment,
            made_at: step.at(),
        })
    }

    /// The sequence of the confirmation after one numbered `latest` (none
    /// yet: 0), when `step` owes one.
    pub fn next_sequence(latest: Option<u32>, step: &Step) -> Option<u32> {
        Method::owed_by(step.change())?;
        Some(latest.map_or(0, |latest| latest.saturating_add(1).min(MAX_SEQUENCE)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::Email;
    use crate::desk::{Place, RequestState, Staff};
    use time::macros::datetime;

    fn staff() -> Staff {
        Staff {
            subject: "sub-1".into(),
            email: Email::parse("nurse@clinic.example").unwrap(),
        }
    }

    fn booked(at: OffsetDateTime) -> Move {
        Move::Booked(Appointment {
            at,
            place: Place::parse("Outpatients").unwrap(),
            consultant: None,
        })
    }

    fn step(from: RequestState, change: Move, at: OffsetDateTime) -> Step {
        Step::new(at, staff(), from, change, None).unwrap()
    }

    #[test]
    fn booking_and_cancelling_owe_a_confirmation_and_nothing_else_does() {
        use RequestState::*;
        let when = datetime!(2027-07-01 09:00 UTC);
        let made = datetime!(2027-06-01 12:00 UTC);
        let contacted = step(New, Move::Contacted, made);
        assert_eq!(Confirmation::next_sequence(None, &contacted), None);
        let first = step(Contacted, booked(when), made);
        assert_eq!(Confirmation::next_sequence(None, &first), Some(0));
        let moved = step(Booked, booked(when + time::Duration::hours(2)), made);
        assert_eq!(Confirmation::next_sequence(Some(0), &moved), Some(1));
        let cancelled = step(Booked, Move::Cancelled, made + time::Duration::days(1));
        assert_eq!(Confirmation::next_sequence(Some(1), &cancelled), Some(2));
        let closed = step(Booked, Move::Closed, made);
        assert_eq!(Confirmation::next_sequence(Some(1), &closed), None);

        let history = vec![contacted, first, moved.clone(), cancelled.clone()];
        let last = Confirmation::of_history(2, &history).unwrap();
        assert_eq!(last.method, Method::Cancel);
        assert_eq!(
            last.appointment,
            moved.change().appointment().unwrap().clone()
        );
        assert_eq!(last.made_at, cancelled.at());
        let rebooked = Confirmation::of_history(1, &history[..3]).unwrap();
        assert_eq!(rebooked.method, Method::Request);
        assert_eq!(rebooked.appointment.at, when + time::Duration::hours(2));
        assert_eq!(Confirmation::of_history(0, &history[..1]), None);
    }

    #[test]
    fn a_reason_not_to_send_reads_back_from_its_code() {
        for why in NotNeeded::ALL {
            assert_eq!(NotNeeded::of_code(&why.code()), Some(why));
        }
        assert_eq!(NotNeeded::Superseded.code(), "not_needed:superseded");
        assert_eq!(NotNeeded::of_code("MessageRejected"), None);
    }

    #[test]
    fn an_attended_appointment_closes_without_changing_what_was_confirmed() {
        use RequestState::*;
        let when = datetime!(2027-01-15 10:00 UTC);
        let history = vec![
            step(Contacted, booked(when), datetime!(2027-01-02 12:00 UTC)),
            step(Booked, Move::Closed, datetime!(2027-01-15 11:00 UTC)),
        ];
        let confirmation = Confirmation::of_history(0, &history).unwrap();
        assert_eq!(confirmation.method, Method::Request);
        assert_eq!(confirmation.made_at, datetime!(2027-01-02 12:00 UTC));
    }
}
