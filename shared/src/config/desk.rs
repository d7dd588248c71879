//! The desk function's settings: its tables, how long the audit trail is
//! kept, and the sign-in it trusts.

use super::{
    bookings_table, guards_table, marketing_table, number, store_timeout, table_name, ConfigError,
};
use std::time::Duration;

/// The desk's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskConfig {
    /// `BOOKINGS_TABLE`: the requests, with their workflow.
    pub bookings_table: String,
    /// `GUARDS_TABLE`: the duplicate and rate records an erasure deletes
    /// with a person's bookings.
    pub guards_table: String,
    /// `MARKETING_TABLE`: the opt-ins an export lists and an erasure removes.
    pub marketing_table: String,
    /// `MATCH_KEY_SECRET`: the Secrets Manager secret of the match key,
    /// under which a person's bookings are found. Read the first time an
    /// admin searches (no page or move needs it); unset locally, where the
    /// data folder holds the key.
    pub match_key_secret: Option<String>,
    /// `AUDIT_TABLE`: the append-only audit trail.
    pub audit_table: String,
    /// `AUDIT_RETENTION_DAYS` (default 730): how long an audit entry is kept.
    pub audit_retention: time::Duration,
    /// `STORE_TIMEOUT_MS`: the most one store call may take, retries included.
    pub store_timeout: Duration,
    /// `DESK_CLIENT_ID`: the Cognito app client whose ID tokens the desk
    /// accepts (the authorizer checks the audience; the function checks it
    /// again). Unset locally, where sign-in is the one-time link.
    pub client_id: Option<String>,
    /// `DESK_SIGN_IN_URL`: the managed login's base URL
    /// (`https://<domain>.auth.<region>.amazoncognito.com`), where the
    /// desk's pages send staff to sign in.
    pub sign_in_url: Option<String>,
}

impl DeskConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; unset and empty variables take their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let days: i64 = number(
            "AUDIT_RETENTION_DAYS",
            get("AUDIT_RETENTION_DAYS"),
            730,
            30,
            3650,
        )?;
        let sign_in_url = get("DESK_SIGN_IN_URL")
            .map(|url| {
                let url = url.trim().trim_end_matches('/').to_owned();
                if url.starts_with("https://") && !url.contains(['"', '<', '>', ' ']) {
                    Ok(url)
                } else {
                    Err(ConfigError {
                        variable: "DESK_SIGN_IN_URL",
                        message: format!("{url:?} is not an https:// URL"),
                    })
                }
            })
            .transpose()?;
        let client_id = get("DESK_CLIENT_ID")
            .map(|id| {
                let id = id.trim().to_owned();
                if (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    Ok(id)
                } else {
                    Err(ConfigError {
                        variable: "DESK_CLIENT_ID",
                        message: format!("{id:?} is not an app client id (letters and digits)"),
                    })
                }
            })
            .transpose()?;
        Ok(Self {
            bookings_table: bookings_table(get("BOOKINGS_TABLE"))?,
            guards_table: guards_table(get("GUARDS_TABLE"))?,
            marketing_table: marketing_table(get("MARKETING_TABLE"))?,
            match_key_secret: get("MATCH_KEY_SECRET").map(|v| v.trim().to_owned()),
            audit_table: table_name("AUDIT_TABLE", get("AUDIT_TABLE"), "frontdesk-audit")?,
            audit_retention: time::Duration::days(days),
            store_timeout: store_timeout(get("STORE_TIMEOUT_MS"))?,
            client_id,
            sign_in_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<DeskConfig, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DeskConfig::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn the_trail_is_kept_two_years_unless_told_otherwise() {
        let c = config(&[]).unwrap();
        assert_eq!(c.audit_retention, time::Duration::days(730));
        assert_eq!(c.audit_table, "frontdesk-audit");
        assert_eq!((c.client_id, c.sign_in_url), (None, None));
        assert_eq!(
            (c.guards_table.as_str(), c.marketing_table.as_str()),
            ("frontdesk-guards", "frontdesk-marketing"),
            "the booking function's tables, by the same defaults"
        );
        assert_eq!(c.match_key_secret, None);
        let c = config(&[("AUDIT_RETENTION_DAYS", "3650")]).unwrap();
        assert_eq!(c.audit_retention, time::Duration::days(3650));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("AUDIT_RETENTION_DAYS", "7"),
            ("AUDIT_TABLE", "a"),
            ("GUARDS_TABLE", "a b"),
            ("MARKETING_TABLE", "a"),
            ("DESK_SIGN_IN_URL", "http://auth.example"),
            ("DESK_CLIENT_ID", "not an id"),
        ] {
            assert_eq!(config(&[(var, value)]).unwrap_err().variable, var, "{var}");
        }
        let c = config(&[(
            "DESK_SIGN_IN_URL",
            "https://desk.auth.eu-west-2.amazoncognito.com/",
        )])
        .unwrap();
        assert_eq!(
            c.sign_in_url.as_deref(),
            Some("https://desk.auth.eu-west-2.amazoncognito.com")
        );
    }
}
