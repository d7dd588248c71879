//! The front desk's domain, shared by every function and the local server.
//!
//! Requests are parsed once, at the edge, into types that cannot hold bad
//! values; the rest of the code never re-validates. Ports (`BookingStore`,
//! `NoticeLedger`, `Mailer`, `ContentStore`) are traits here, with their adapters behind cargo features so that each
//! binary links only what it uses.

#![warn(missing_docs)]

#[cfg(any(feature = "dynamodb", feature = "ses", feature = "secrets"))]
pub mod aws;
pub mod booking;
pub mod config;
pub mod content;
#[cfg(feature = "openapi")]
pub mod contract;
pub mod desk;
pub mod fields;
#[cfg(feature = "lambda-logs")]
pub mod logs;
pub mod london;
pub mod mail;
pub mod match_key;
pub mod metric;
pub mod notify;
pub mod owner_only;
#[cfg(feature = "http")]
pub mod problem;
pub mod rights;
pub mod store;
pub mod text;
pub mod time_source;
pub mod trust;
pub mod turnstile;
pub mod wire;

pub use booking::Booking;
pub use config::{
    BookingConfig, ConfigError, ContentConfig, DeskConfig, MailEventsConfig, NotifierConfig,
};
pub use fields::{FieldError, FieldErrors};
