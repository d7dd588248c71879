//! Configuration from environment variables, read and checked once at start.
//! A bad value stops start-up with a message naming the variable.

mod booking;
mod content;
mod desk;
mod mail_events;
mod notifier;

pub use booking::{BookingConfig, HumanCheckConfig, SITEVERIFY_URL};
pub use content::ContentConfig;
pub use desk::DeskConfig;
pub use mail_events::MailEventsConfig;
pub use notifier::{NotifierConfig, StaffEmail};

/// A variable that is set but unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable's name.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

/// `STORE_TIMEOUT_MS`: the most one store call may take, retries included.
pub(crate) fn store_timeout(value: Option<String>) -> Result<std::time::Duration, ConfigError> {
    number("STORE_TIMEOUT_MS", value, 3000, 300, 60_000).map(std::time::Duration::from_millis)
}

/// `BOOKINGS_TABLE`, which the booking and notifier functions must read alike.
pub(crate) fn bookings_table(value: Option<String>) -> Result<String, ConfigError> {
    table_name("BOOKINGS_TABLE", value, "frontdesk-bookings")
}

/// `GUARDS_TABLE`, which the booking function writes and the desk's
/// erasure deletes from.
pub(crate) fn guards_table(value: Option<String>) -> Result<String, ConfigError> {
    table_name("GUARDS_TABLE", value, "frontdesk-guards")
}

/// `MARKETING_TABLE`, which the booking function writes and the desk's
/// export and erasure read and delete from.
pub(crate) fn marketing_table(value: Option<String>) -> Result<String, ConfigError> {
    table_name("MARKETING_TABLE", value, "frontdesk-marketing")
}

pub(crate) fn table_name(
    variable: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<String, ConfigError> {
    let name = value.unwrap_or_else(|| default.to_owned());
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(name)
    } else {
        Err(ConfigError {
            variable,
            message: format!("{name:?} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .)"),
        })
    }
}

/// An on/off setting: `true`, `yes`, `on` or `1`, and `false`, `no`, `off` or `0`.
pub(crate) fn switch(
    variable: &'static str,
    value: Option<String>,
    default: bool,
) -> Result<bool, ConfigError> {
    let Some(raw) = value else { return Ok(default) };
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(ConfigError {
            variable,
            message: format!("{raw:?} is not true or false"),
        }),
    }
}

pub(crate) fn number<T>(
    variable: &'static str,
    value: Option<String>,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = value else { return Ok(default) };
    match raw.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(ConfigError {
            variable,
            message: format!("{raw:?} is not a whole number from {min} to {max}"),
        }),
    }
}
