//! Patients' data rights under UK GDPR: a subject access export of
//! everything held about a person, and its erasure, each found by the
//! keyed tags of their email address or phone number and recorded on the
//! audit trail.

pub mod erase;
pub mod export;
pub mod marketing;

pub use erase::{erase, erase_found, find, Eraser, Erasure, ErasureRequest, Found, Stopped};
pub use export::{export, Export, Holdings, SubjectQuery};
pub use marketing::{Channel, MarketingRegister, OptIn};
