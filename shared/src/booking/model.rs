//! A parsed booking: every field a domain type, consent included by construction.

use super::{
    BookingFor, ConsentVersion, ContactMethod, DateOfBirth, Email, Message, Payment, PersonName,
    PreferredTimes, Reference, Slug, Specialty, UkPhone,
};
use crate::booking::bookable::WordingHash;
use time::OffsetDateTime;

/// What the patient asked for, independent of when and under which reference.
/// Two submissions with equal details are the same request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BookingDetails {
    /// Patient's first name.
    pub first_name: PersonName,
    /// Patient's last name.
    pub last_name: PersonName,
    /// Where the clinic can email the patient.
    pub email: Email,
    /// Where the clinic can ring the patient.
    pub phone: UkPhone,
    /// Identifies the patient in the clinic's records.
    pub date_of_birth: DateOfBirth,
    /// What the appointment is about.
    pub specialty: Specialty,
    /// A consultant the patient would like to see, by slug.
    pub consultant: Option<Slug>,
    /// Self-pay, or insured with the policy's details.
    pub payment: Payment,
    /// Whether a GP has referred the patient.
    pub gp_referral: bool,
    /// How the patient would like to be contacted.
    pub contact_method: ContactMethod,
    /// When the patient would like to be contacted.
    pub preferred_times: Option<PreferredTimes>,
    /// Anything else the patient wants the clinic to know.
    pub message: Option<Message>,
    /// Whether the form was filled by the patient or on their behalf.
    pub booking_for: BookingFor,
    /// The version of the consent wording agreed to (consent itself is required).
    pub consent_version: ConsentVersion,
    /// The hash of the words that version named when the booking came in;
    /// `None` for a booking stored before wordings were content.
    pub consent_wording: Option<WordingHash>,
    /// Opted in to marketing by email (off unless ticked).
    pub marketing_email: bool,
    /// Opted in to marketing by text message (off unless ticked).
    pub marketing_sms: bool,
}

/// The patient's consent to be contacted: which wording, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The wording's version shown on the form.
    pub version: ConsentVersion,
    /// When the consent was given (the booking's arrival).
    pub given_at: OffsetDateTime,
}

/// An accepted booking, ready to store: a reference, its arrival time and the details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// The booking's reference, shown to the patient.
    pub reference: Reference,
    /// When the request arrived.
    pub received_at: OffsetDateTime,
    /// What the patient asked for.
    pub details: BookingDetails,
    /// When the stored booking is deleted (retention).
    pub expires_at: OffsetDateTime,
    /// Whether the patient is emailed an acknowledgement.
    pub acknowledgement: Acknowledgement,
}

/// Whether a booking's acknowledgement is emailed. Staff are told of every
/// booking either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Acknowledgement {
    /// The patient is emailed one.
    #[default]
    Owed,
    /// None is sent, for this reason, recorded on the booking's email.
    Withheld(Withheld),
}

/// Why an acknowledgement is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withheld {
    /// The address was sent as many as `ACKNOWLEDGEMENTS_PER_ADDRESS` in
    /// the last 24 hours: the form is not a way to mail someone at volume.
    AddressCap,
    /// Requests naming the address came so fast that its counters stayed
    /// taken while this booking was being stored: rather than refuse the
    /// booking (which would let anyone who knows a patient's address lock
    /// them out), it is stored without counting and not acknowledged.
    AddressBusy,
    /// The clinic's hourly ceiling on acknowledgements across all
    /// addresses was reached (`ACKNOWLEDGEMENTS_PER_HOUR`): a distributed run.
    HourlyCeiling,
    /// The form's human check was on and could not be completed (no token,
    /// or the verifier did not answer): staff judge the request first.
    Unverified,
}

impl Withheld {
    /// Every reason, for the alarm that watches them.
    pub const ALL: [Withheld; 4] = [
        Withheld::AddressCap,
        Withheld::AddressBusy,
        Withheld::HourlyCeiling,
        Withheld::Unverified,
    ];

    /// The stored and logged name.
    pub fn as_str(self) -> &'static str {
        match self {
            Withheld::AddressCap => "address_cap",
            Withheld::AddressBusy => "address_busy",
            Withheld::HourlyCeiling => "hourly_ceiling",
            Withheld::Unverified => "unverified",
        }
    }

    /// A stored name read back.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|w| w.as_str() == raw)
            .ok_or_else(|| format!("{raw:?} is no reason to withhold an acknowledgement"))
    }

    /// What staff read about it.
    pub fn explained(self) -> &'static str {
        match self {
            Withheld::AddressCap => {
                "not sent: this address was sent three acknowledgements in the last 24 hours"
            }
            Withheld::AddressBusy => {
                "not sent: many requests naming this address arrived at the same moment, as when someone aims the form at an inbox"
            }
            Withheld::HourlyCeiling => {
                "not sent: the clinic's hourly limit on acknowledgements was reached"
            }
            Withheld::Unverified => {
                "not sent: the form's human check could not be completed, so judge the request before calling back"
            }
        }
    }
}

impl Booking {
    /// The consent recorded with this booking.
    pub fn consent(&self) -> Consent {
        Consent {
            version: self.details.consent_version.clone(),
            given_at: self.received_at,
        }
    }
}
