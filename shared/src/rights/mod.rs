//! Patients' data rights under UK GDPR: a subject access export of
//! everything held about a person, found by the keyed tags of their email
//! address or phone number, and recorded on the audit trail.

pub mod export;

pub use export::{export, Export, SubjectQuery};
