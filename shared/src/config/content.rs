//! The content function's settings.

use super::{number, store_timeout, table_name, ConfigError};
use std::time::Duration;

/// The content function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentConfig {
    /// `CONTENT_TABLE`: the DynamoDB table that `frontdesk content push` fills.
    pub content_table: String,
    /// `CONTENT_CACHE_SECONDS`: how long a loaded copy of the content is
    /// served before the table is read again; 0 reads it for every request.
    pub cache_ttl: Duration,
    /// `STORE_TIMEOUT_MS`: the most one store call may take, retries included.
    pub store_timeout: Duration,
}

impl ContentConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; unset and empty variables take their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Ok(Self {
            content_table: table_name("CONTENT_TABLE", get("CONTENT_TABLE"), "frontdesk-content")?,
            cache_ttl: Duration::from_secs(number(
                "CONTENT_CACHE_SECONDS",
                get("CONTENT_CACHE_SECONDS"),
                60,
                0,
                86_400,
            )?),
            store_timeout: store_timeout(get("STORE_TIMEOUT_MS"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values() {
        let config = ContentConfig::from_lookup(|_| None).unwrap();
        assert_eq!(config.content_table, "frontdesk-content");
        assert_eq!(config.cache_ttl, Duration::from_secs(60));
        let bad = ContentConfig::from_lookup(|n| {
            (n == "CONTENT_CACHE_SECONDS").then(|| "an hour".to_owned())
        })
        .unwrap_err();
        assert_eq!(bad.variable, "CONTENT_CACHE_SECONDS");
    }
}
