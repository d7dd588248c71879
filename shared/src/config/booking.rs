//! The booking function's settings.

use super::{
    bookings_table, guards_table, marketing_table, number, store_timeout, switch, ConfigError,
};
use std::time::Duration;

/// The booking function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingConfig {
    /// `BOOKINGS_TABLE`: the DynamoDB table of bookings.
    pub bookings_table: String,
    /// `GUARDS_TABLE`: the DynamoDB table of idempotency, duplicate and rate records.
    pub guards_table: String,
    /// `MARKETING_TABLE`: the DynamoDB table of opt-ins to the clinic's news.
    pub marketing_table: String,
    /// `ALLOWED_ORIGINS`: comma-separated website origins whose pages may
    /// send bookings, by form or by script (CORS, and the `Origin` check).
    pub allowed_origins: Vec<String>,
    /// `ALLOW_NULL_ORIGIN`: take a request whose `Origin` is `null` (a form
    /// on a page served with `Referrer-Policy: no-referrer`, or in a
    /// sandboxed frame). Off: anyone can make a browser send `null`.
    pub allow_null_origin: bool,
    /// `ALLOW_CALLS_WITHOUT_ORIGIN`: take a request with neither `Origin` nor
    /// `Referer` (a server of the clinic's, or curl). Off: every browser
    /// sends one of them with a booking.
    pub allow_calls_without_origin: bool,
    /// `RATE_LIMIT_PER_HOUR`: accepted bookings per source address per hour; 0 turns it off.
    pub rate_limit_per_hour: u32,
    /// `RETENTION_DAYS`: how long a booking is kept before its TTL deletes it.
    pub retention_days: u16,
    /// `THANK_YOU_URL`: where a plain form goes after a booking (`?reference=` is added).
    pub thank_you_url: String,
    /// `FORM_URL`: where a plain form goes back to when fields are wrong (`?errors=` is added).
    pub form_url: String,
    /// `STORE_TIMEOUT_MS`: the most one store call may take, retries included.
    pub store_timeout: Duration,
    /// `CLIENT_ADDRESS_HEADER`: the header a CDN in front puts the client's
    /// address in (its last comma-separated entry, a port allowed), read
    /// instead of API Gateway's `sourceIp`. Unset: no header is trusted.
    pub client_address_header: Option<String>,
    /// `CDN_SECRET`: with `CLIENT_ADDRESS_HEADER`, the value the CDN sends
    /// in `X-Frontdesk-Cdn-Secret` (a custom origin header): a request
    /// without it came around the CDN, so its address header is not read
    /// and it has no address (refused). Required with the header.
    pub cdn_secret: Option<String>,
    /// `MATCH_KEY_SECRET`: the Secrets Manager secret (name or ARN) holding
    /// the match key; the Lambda function needs it, the local server keeps
    /// its own key in the data folder.
    pub match_key_secret: Option<String>,
    /// `TURNSTILE_SECRET` and its companions: the human check, on when the
    /// secret is set.
    pub human_check: Option<HumanCheckConfig>,
}

/// Where and how a form's Cloudflare Turnstile token is checked.
#[derive(Clone, PartialEq, Eq)]
pub struct HumanCheckConfig {
    /// `TURNSTILE_SECRET`: the widget's secret key, sent to siteverify only.
    pub secret: String,
    /// `TURNSTILE_VERIFY_URL`: Cloudflare's siteverify endpoint (https, or
    /// http to a loopback address for tests).
    pub verify_url: hyper::Uri,
    /// `TURNSTILE_TIMEOUT_MS`: the most the check may take; past it the
    /// booking is taken unverified rather than kept waiting.
    pub timeout: Duration,
}

/// Cloudflare's siteverify endpoint.
pub const SITEVERIFY_URL: &str = "https://challenges.cloudflare.com/turnstile/v0/siteverify";

impl std::fmt::Debug for HumanCheckConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of anything that prints the configuration.
        f.debug_struct("HumanCheckConfig")
            .field("verify_url", &self.verify_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl BookingConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; unset and empty variables take their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Ok(Self {
            bookings_table: bookings_table(get("BOOKINGS_TABLE"))?,
            guards_table: guards_table(get("GUARDS_TABLE"))?,
            marketing_table: marketing_table(get("MARKETING_TABLE"))?,
            allowed_origins: origins(
                get("ALLOWED_ORIGINS")
                    .as_deref()
                    .unwrap_or("http://localhost:3000,http://127.0.0.1:3000"),
            )?,
            allow_null_origin: switch("ALLOW_NULL_ORIGIN", get("ALLOW_NULL_ORIGIN"), false)?,
            allow_calls_without_origin: switch(
                "ALLOW_CALLS_WITHOUT_ORIGIN",
                get("ALLOW_CALLS_WITHOUT_ORIGIN"),
                false,
            )?,
            rate_limit_per_hour: number(
                "RATE_LIMIT_PER_HOUR",
                get("RATE_LIMIT_PER_HOUR"),
                10,
                0,
                1_000_000,
            )?,
            retention_days: number("RETENTION_DAYS", get("RETENTION_DAYS"), 365, 1, 3650)?,
            thank_you_url: url("THANK_YOU_URL", get("THANK_YOU_URL"), "/thank-you")?,
            form_url: url("FORM_URL", get("FORM_URL"), "/book")?,
            store_timeout: store_timeout(get("STORE_TIMEOUT_MS"))?,
            match_key_secret: get("MATCH_KEY_SECRET").map(|v| v.trim().to_owned()),
            client_address_header: header_name(get("CLIENT_ADDRESS_HEADER"))?,
            cdn_secret: cdn_secret(get("CDN_SECRET"), get("CLIENT_ADDRESS_HEADER").is_some())?,
            human_check: human_check(&get)?,
        })
    }
}

fn origins(raw: &str) -> Result<Vec<String>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains('/') && !host.contains(char::is_whitespace) => {
                    Ok(origin.to_owned())
                }
                _ => Err(ConfigError {
                    variable: "ALLOWED_ORIGINS",
                    message: format!(
                        "{origin:?} is not an origin like https://www.example.com (scheme and host, no path)"
                    ),
                }),
            }
        })
        .collect()
}

fn human_check(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<HumanCheckConfig>, ConfigError> {
    let Some(secret) = get("TURNSTILE_SECRET").map(|s| s.trim().to_owned()) else {
        return Ok(None);
    };
    if secret.contains(char::is_whitespace) {
        return Err(ConfigError {
            variable: "TURNSTILE_SECRET",
            message: "is a Turnstile secret key, without spaces".into(),
        });
    }
    let verify_url = get("TURNSTILE_VERIFY_URL")
        .map_or_else(|| SITEVERIFY_URL.to_owned(), |u| u.trim().to_owned());
    // Judged on the parsed URL's own scheme and host, never a prefix of
    // the text (`http://localhost:1@elsewhere/` is elsewhere), and with no
    // user part, which the secret's request has no use for.
    let parsed = verify_url.parse::<hyper::Uri>().ok().filter(|uri| {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let host = uri.host().unwrap_or_default();
        let loopback = ["127.0.0.1", "localhost", "[::1]"].contains(&host);
        !authority.contains('@')
            && !host.is_empty()
            && match uri.scheme_str() {
                Some("https") => true,
                Some("http") => loopback,
                _ => false,
            }
    });
    let Some(parsed) = parsed else {
        return Err(ConfigError {
            variable: "TURNSTILE_VERIFY_URL",
            message: format!(
                "{verify_url:?} is not an https URL (http only to a loopback address, for tests)"
            ),
        });
    };
    Ok(Some(HumanCheckConfig {
        secret,
        verify_url: parsed,
        timeout: Duration::from_millis(number(
            "TURNSTILE_TIMEOUT_MS",
            get("TURNSTILE_TIMEOUT_MS"),
            2000,
            200,
            5000,
        )?),
    }))
}

fn cdn_secret(value: Option<String>, header: bool) -> Result<Option<String>, ConfigError> {
    match (value, header) {
        (Some(secret), _) if secret.trim().len() < 32 => Err(ConfigError {
            variable: "CDN_SECRET",
            message: "must be at least 32 characters".into(),
        }),
        (None, true) => Err(ConfigError {
            variable: "CDN_SECRET",
            message: "is required with CLIENT_ADDRESS_HEADER: without it anyone could name their own address".into(),
        }),
        (secret, _) => Ok(secret.map(|s| s.trim().to_owned())),
    }
}

fn header_name(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(raw) = value else { return Ok(None) };
    let name = raw.trim().to_ascii_lowercase();
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(Some(name))
    } else {
        Err(ConfigError {
            variable: "CLIENT_ADDRESS_HEADER",
            message: format!("{raw:?} is not a header name like CloudFront-Viewer-Address"),
        })
    }
}

fn url(
    variable: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<String, ConfigError> {
    let url = value.unwrap_or_else(|| default.to_owned());
    let ok = (url.starts_with('/') && !url.starts_with("//"))
        || url.starts_with("https://")
        || url.starts_with("http://");
    if ok && !url.contains(char::is_whitespace) && !url.contains('#') {
        Ok(url)
    } else {
        Err(ConfigError {
            variable,
            message: format!("{url:?} is not an absolute URL or a path starting with /"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<BookingConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BookingConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_suit_local_use() {
        let c = config(&[]).unwrap();
        assert_eq!(c.rate_limit_per_hour, 10);
        assert!(!c.allow_null_origin && !c.allow_calls_without_origin);
        assert_eq!(c.thank_you_url, "/thank-you");
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("RATE_LIMIT_PER_HOUR", "ten"),
            ("RETENTION_DAYS", "0"),
            ("ALLOWED_ORIGINS", "example.com"),
            ("THANK_YOU_URL", "thanks"),
            ("BOOKINGS_TABLE", "a b"),
            ("STORE_TIMEOUT_MS", "5"),
            ("ALLOW_NULL_ORIGIN", "sometimes"),
            ("ALLOW_CALLS_WITHOUT_ORIGIN", "2"),
            ("CLIENT_ADDRESS_HEADER", "x forwarded"),
            ("CDN_SECRET", "short"),
            ("TURNSTILE_SECRET", "two words"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var);
            assert!(err.to_string().starts_with(var));
        }
    }

    #[test]
    fn a_cdn_address_header_needs_the_cdns_secret() {
        let err = config(&[("CLIENT_ADDRESS_HEADER", "CloudFront-Viewer-Address")]).unwrap_err();
        assert_eq!(err.variable, "CDN_SECRET");
        let c = config(&[
            ("CLIENT_ADDRESS_HEADER", "CloudFront-Viewer-Address"),
            ("CDN_SECRET", &"s".repeat(32)),
        ])
        .unwrap();
        assert_eq!(
            c.client_address_header.as_deref(),
            Some("cloudfront-viewer-address")
        );
    }

    #[test]
    fn zero_turns_rate_limiting_off() {
        assert_eq!(
            config(&[("RATE_LIMIT_PER_HOUR", "0")])
                .unwrap()
                .rate_limit_per_hour,
            0
        );
    }

    #[test]
    fn the_human_check_is_on_with_its_secret_and_verifies_over_https() {
        assert_eq!(config(&[]).unwrap().human_check, None);
        let on = config(&[("TURNSTILE_SECRET", "0x4AAAAAAA-secret")]).unwrap();
        let check = on.human_check.unwrap();
        assert_eq!(check.verify_url.to_string(), SITEVERIFY_URL);
        assert_eq!(check.timeout, Duration::from_secs(2));
        assert!(!format!("{check:?}").contains("0x4AAAAAAA-secret"));
        for (url, ok) in [
            ("http://127.0.0.1:4000/siteverify", true),
            ("https://verify.example/siteverify", true),
            ("http://verify.example/siteverify", false),
            ("ftp://127.0.0.1:4000/", false),
            ("https://a b/", false),
            ("http://[::1]:4000/siteverify", true),
            ("http://localhost:1@verify.example/siteverify", false),
            ("http://127.0.0.1:4000@verify.example/", false),
            ("https://user:pass@verify.example/siteverify", false),
            ("http://127.0.0.1.verify.example/", false),
        ] {
            let c = config(&[("TURNSTILE_SECRET", "s"), ("TURNSTILE_VERIFY_URL", url)]);
            assert_eq!(c.is_ok(), ok, "{url}");
            if !ok {
                assert_eq!(c.unwrap_err().variable, "TURNSTILE_VERIFY_URL");
            }
        }
    }
}
