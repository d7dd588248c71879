//! The workflow a request moves through, and each move's record.
//!
//! `new` → `contacted` → `booked` | `declined` | `no_response`;
//! `booked` → `booked` (rescheduled) | `cancelled` | `closed` (attended).
//! The allowed moves are the one table `MOVES`.

use crate::booking::{Email, Slug};
use crate::text::{clean, Lines};
use time::OffsetDateTime;

/// Where a request is in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestState {
    /// Just arrived; nobody has acted on it.
    New,
    /// Staff have been in touch with the patient.
    Contacted,
    /// An appointment is booked.
    Booked,
    /// The patient decided not to go ahead.
    Declined,
    /// The patient could not be reached.
    NoResponse,
    /// A booked appointment was cancelled.
    Cancelled,
    /// The patient attended: the request is done.
    Closed,
}

/// Every allowed move: from a state, the states it may become. A state
/// with none is final.
pub const MOVES: [(RequestState, &[RequestState]); 7] = {
    use RequestState::*;
    [
        (New, &[Contacted]),
        (Contacted, &[Booked, Declined, NoResponse]),
        (Booked, &[Booked, Cancelled, Closed]),
        (Declined, &[]),
        (NoResponse, &[]),
        (Cancelled, &[]),
        (Closed, &[]),
    ]
};

impl RequestState {
    /// Every state, in the workflow's order.
    pub const ALL: [RequestState; 7] = [
        Self::New,
        Self::Contacted,
        Self::Booked,
        Self::Declined,
        Self::NoResponse,
        Self::Cancelled,
        Self::Closed,
    ];

    /// The stored and wire name (`no_response`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Contacted => "contacted",
            Self::Booked => "booked",
            Self::Declined => "declined",
            Self::NoResponse => "no_response",
            Self::Cancelled => "cancelled",
            Self::Closed => "closed",
        }
    }

    /// The name people read (`No response`).
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "New",
            Self::Contacted => "Contacted",
            Self::Booked => "Booked",
            Self::Declined => "Declined",
            Self::NoResponse => "No response",
            Self::Cancelled => "Cancelled",
            Self::Closed => "Closed (attended)",
        }
    }

    /// The state a stored or wire name names.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == raw)
    }

    /// The states this one may become, from `MOVES`.
    pub fn next(self) -> &'static [RequestState] {
        MOVES
            .iter()
            .find(|(from, _)| *from == self)
            .map_or(&[], |(_, to)| *to)
    }

    /// Whether `MOVES` allows this state to become `to`.
    pub fn may_become(self, to: RequestState) -> bool {
        self.next().contains(&to)
    }
}

/// Who is at the desk, as the sign-in vouches for them: the identity
/// provider's subject (stable, never reused) and their email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// The Cognito `sub` (or the local session's), which never changes.
    pub subject: String,
    /// Their address, for people reading the trail.
    pub email: Email,
}

/// A bounded free-text note staff add to a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    /// The longest note, in characters.
    pub const MAX_CHARS: usize = 2000;

    /// A note as typed: trimmed, bounded, several lines allowed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean(raw, Self::MAX_CHARS, Lines::Multi).map(Self)
    }

    /// A stored note, as it was accepted.
    pub fn from_stored(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The note.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an appointment is (`Parkside Hospital, outpatients`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place(String);

impl Place {
    /// The longest place, in characters.
    pub const MAX_CHARS: usize = 200;

    /// A place as typed: one line, bounded.
    pub fn parse(raw: &str) -> Result<Self, String> {
        clean(raw, Self::MAX_CHARS, Lines::Single).map(Self)
    }

    /// A stored place, as it was accepted.
    pub fn from_stored(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The place.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A booked appointment: when (stored as an instant, typed and read in
/// London time), where, and with whom when the content names consultants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    /// When it starts.
    pub at: OffsetDateTime,
    /// Where.
    pub place: Place,
    /// Which consultant, by content slug.
    pub consultant: Option<Slug>,
}

/// A move staff ask for. Booking carries its appointment, so a booked
/// request without one cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// In touch with the patient.
    Contacted,
    /// Booked (or rebooked) for this appointment.
    Booked(Appointment),
    /// The patient decided not to go ahead.
    Declined,
    /// The patient could not be reached.
    NoResponse,
    /// The appointment is cancelled.
    Cancelled,
    /// The patient attended.
    Closed,
}

impl Move {
    /// The state the move leads to.
    pub fn to(&self) -> RequestState {
        match self {
            Self::Contacted => RequestState::Contacted,
            Self::Booked(_) => RequestState::Booked,
            Self::Declined => RequestState::Declined,
            Self::NoResponse => RequestState::NoResponse,
            Self::Cancelled => RequestState::Cancelled,
            Self::Closed => RequestState::Closed,
        }
    }

    /// The appointment a booking move carries.
    pub fn appointment(&self) -> Option<&Appointment> {
        match self {
            Self::Booked(appointment) => Some(appointment),
            _ => None,
        }
    }
}

/// One move in a request's history: who made it, when, from which state,
/// and why. Made only by [`Step::new`], which refuses a move `MOVES` does
/// not allow, so no store is ever asked to write one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub(super) at: OffsetDateTime,
    pub(super) by: Staff,
    pub(super) from: RequestState,
    pub(super) change: Move,
    pub(super) note: Option<Note>,
}

/// A move the workflow does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a request that is {} cannot become {}", from.label(), to.label())]
pub struct NotAllowed {
    /// Where the request is.
    pub from: RequestState,
    /// Where the move would take it.
    pub to: RequestState,
}

impl Step {
    /// A step, if `MOVES` allows it from `from`.
    pub fn new(
        at: OffsetDateTime,
        by: Staff,
        from: RequestState,
        change: Move,
        note: Option<Note>,
    ) -> Result<Self, NotAllowed> {
        let to = change.to();
        if !from.may_become(to) {
            return Err(NotAllowed { from, to });
        }
        Ok(Self {
            at,
            by,
            from,
            change,
            note,
        })
    }

    /// The state it leads to.
    pub fn to(&self) -> RequestState {
        self.change.to()
    }

    /// When it was made.
    pub fn at(&self) -> OffsetDateTime {
        self.at
    }

    /// Who made it.
    pub fn by(&self) -> &Staff {
        &self.by
    }

    /// The state it left.
    pub fn from(&self) -> RequestState {
        self.from
    }

    /// What it did.
    pub fn change(&self) -> &Move {
        &self.change
    }

    /// The note they added.
    pub fn note(&self) -> Option<&Note> {
        self.note.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestState::*;

    #[test]
    fn the_workflow_allows_exactly_its_moves() {
        let allowed: Vec<(RequestState, RequestState)> = RequestState::ALL
            .into_iter()
            .flat_map(|from| {
                RequestState::ALL
                    .into_iter()
                    .filter(move |to| from.may_become(*to))
                    .map(move |to| (from, to))
            })
            .collect();
        assert_eq!(
            allowed,
            [
                (New, Contacted),
                (Contacted, Booked),
                (Contacted, Declined),
                (Contacted, NoResponse),
                (Booked, Booked),
                (Booked, Cancelled),
                (Booked, Closed),
            ]
        );
        for done in [Declined, NoResponse, Cancelled, Closed] {
            assert!(done.next().is_empty(), "{done:?} is final");
        }
    }

    #[test]
    fn every_state_has_one_name_that_reads_back() {
        for state in RequestState::ALL {
            assert_eq!(RequestState::parse(state.as_str()), Some(state));
            assert_eq!(MOVES.iter().filter(|(from, _)| *from == state).count(), 1);
        }
        assert_eq!(NoResponse.as_str(), "no_response");
        assert_eq!(RequestState::parse("New"), None);
    }

    #[test]
    fn a_step_the_table_does_not_allow_is_refused() {
        let by = Staff {
            subject: "sub-1".into(),
            email: Email::parse("nurse@clinic.example").unwrap(),
        };
        let at = OffsetDateTime::UNIX_EPOCH;
        let err = Step::new(at, by.clone(), New, Move::Closed, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a request that is New cannot become Closed (attended)"
        );
        let step = Step::new(
            at,
            by,
            New,
            Move::Contacted,
            Note::parse(" rang, left a message ").ok(),
        )
        .unwrap();
        assert_eq!(step.to(), Contacted);
        assert_eq!(step.note.unwrap().as_str(), "rang, left a message");
    }

    #[test]
    fn notes_and_places_are_bounded() {
        assert!(Note::parse(&"a".repeat(Note::MAX_CHARS)).is_ok());
        assert!(Note::parse(&"a".repeat(Note::MAX_CHARS + 1)).is_err());
        assert!(Note::parse("line one\nline two").is_ok());
        assert!(Place::parse("Parkside\nHospital").is_err());
        assert!(Place::parse(&"a".repeat(Place::MAX_CHARS + 1)).is_err());
    }
}
