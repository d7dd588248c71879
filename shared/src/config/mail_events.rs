//! The mail-events function's settings.

use super::{bookings_table, store_timeout, ConfigError};
use std::time::Duration;

/// The mail-events function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailEventsConfig {
    /// `BOOKINGS_TABLE`: whose items carry each email's recorded delivery.
    pub bookings_table: String,
    /// `STORE_TIMEOUT_MS`: the most one store call may take, retries included.
    pub store_timeout: Duration,
}

impl MailEventsConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; unset and empty variables take their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Ok(Self {
            bookings_table: bookings_table(get("BOOKINGS_TABLE"))?,
            store_timeout: store_timeout(get("STORE_TIMEOUT_MS"))?,
        })
    }
}
