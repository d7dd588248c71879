//! Appointment requests: from the wire (`request`), through parsing into a
//! `Booking` of domain types, to the store (`record`) and the flow that ties
//! them together (`intake`).

pub mod bookable;
pub mod choices;
pub mod date_parts;
pub mod fingerprint;
#[cfg(test)]
pub(crate) mod fixture;
pub mod html5_email;
pub mod intake;
pub mod model;
pub mod person;
pub mod readable;
pub mod record;
pub mod reference;
pub mod request;
pub mod subject;
pub mod text_fields;

pub use bookable::{Bookable, WordingHash};
pub use choices::{BookingFor, ContactMethod, Payment, Slug, Specialty};
pub use fingerprint::Fingerprint;
pub use model::{Acknowledgement, Booking, BookingDetails, Consent, Withheld};
pub use person::{DateOfBirth, Email, PersonName, UkPhone};
pub use reference::Reference;
pub use request::{BookingRequest, DecodeError, IdempotencyKey, MediaType};
pub use subject::{Identifier, SubjectTag, SubjectTags};
pub use text_fields::{ConsentVersion, Insurer, Message, PolicyNumber, PreferredTimes};
