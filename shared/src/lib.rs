//! The front desk's domain, shared by every function and the local server.
//!
//! Requests are parsed once, at the edge, into types that cannot hold bad
//! values; the rest of the code never re-validates. Ports (`BookingStore`,
//! `NoticeLedger`, `Mailer`)
//! are traits here, with their adapters behind cargo features so that each
//! binary links only what it uses.

#![warn(missing_docs)]

#[cfg(any(feature = "dynamodb", feature = "ses"))]
pub mod aws;
pub mod booking;
pub mod config;
pub mod fields;
pub mod mail;
pub mod notify;
#[cfg(feature = "http")]
pub mod problem;
pub mod store;
pub mod text;
pub mod time_source;

pub use booking::Booking;
pub use config::{BookingConfig, ConfigError, NotifierConfig};
pub use fields::{FieldError, FieldErrors};
