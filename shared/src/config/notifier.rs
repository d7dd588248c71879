//! The notifier's settings: who emails come from, where staff emails go,
//! and how long a send may take before another invocation may try it.

use super::{bookings_table, number, store_timeout, ConfigError};
use crate::booking::{Email, Slug};
use std::time::Duration;

/// What the staff email holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffEmail {
    /// The reference, when it came, and the link to its desk page: nothing
    /// about the patient, who is read about in the desk (the default).
    Summary,
    /// Every answer of the request, for a clinic without the desk.
    Full,
}

/// The notifier's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierConfig {
    /// `BOOKINGS_TABLE`: the DynamoDB table whose items carry each email's claim and sent mark.
    pub bookings_table: String,
    /// `GUARDS_TABLE`: where the hourly ceiling on acknowledgements counts.
    pub guards_table: String,
    /// `ACKNOWLEDGEMENTS_PER_HOUR`: the most acknowledgements sent in one
    /// clock hour, across every address; past it they are withheld and
    /// alarmed (bookings are still taken). `0` turns the ceiling off.
    pub acknowledgements_per_hour: u32,
    /// `MAIL_FROM`: the sending address, a verified SES identity (the
    /// display name is the clinic's, from the content).
    pub mail_from: Email,
    /// `STAFF_INBOX`: where staff emails go when no route names the booking's specialty.
    pub staff_inbox: Email,
    /// `STAFF_INBOX_ROUTES`: `slug=address` pairs, comma-separated, routing staff
    /// emails by the booking's specialty (`not_sure` may be routed too).
    pub staff_routes: Vec<(String, Email)>,
    /// `SES_CONFIGURATION_SET` (patients' emails) and
    /// `SES_STAFF_CONFIGURATION_SET` (staff notices; the patient one when unset).
    pub configuration_sets: crate::mail::ConfigurationSets,
    /// `STAFF_FALLBACK_INBOX`: where the staff notice goes again when the
    /// staff inbox bounced it, complained of it, or did not take it in time.
    pub staff_fallback_inbox: Option<Email>,
    /// `STAFF_DELIVERY_ALARM_MINUTES`: how long after it was sent a staff
    /// email may go without SES reporting its delivery before it alarms.
    pub staff_delivery_alarm_after: Duration,
    /// `MAIL_TIMEOUT_MS`: the most one send may take, retries included.
    pub mail_timeout: Duration,
    /// `STORE_TIMEOUT_MS`: the most one store call may take, retries included.
    pub store_timeout: Duration,
    /// `NOTIFY_CLAIM_SECONDS`: how long a claim on an email holds before
    /// another invocation may send it; longer than a send can take.
    pub claim_for: Duration,
    /// `STAFF_EMAIL`: `summary` (the default) or `full`.
    pub staff_email: StaffEmail,
    /// `DESK_URL`: where the desk is (`https://desk.clinic.example`), for
    /// the link a summary carries; required with `summary`.
    pub desk_url: Option<String>,
}

/// Values that let the local server start with no settings at all; Lambda has none.
pub const LOCAL_DEFAULTS: &[(&str, &str)] = &[
    ("MAIL_FROM", "frontdesk@localhost.localdomain"),
    ("STAFF_INBOX", "staff@localhost.localdomain"),
    ("DESK_URL", "http://127.0.0.1:3000"),
];

impl NotifierConfig {
    /// Reads the process environment; `MAIL_FROM` and `STAFF_INBOX` are required.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the process environment, with `LOCAL_DEFAULTS` for what is unset.
    pub fn local_from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .or_else(|| {
                    LOCAL_DEFAULTS
                        .iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| (*v).to_owned())
                })
        })
    }

    /// Reads settings through `lookup`; unset and empty variables take their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| {
            get(name).ok_or_else(|| ConfigError {
                variable: name,
                message: "is required".into(),
            })
        };
        let address = |name: &'static str, raw: &str| {
            Email::parse(raw).map_err(|_| ConfigError {
                variable: name,
                message: format!("{raw:?} is not an email address"),
            })
        };
        let mail_timeout = Duration::from_millis(number(
            "MAIL_TIMEOUT_MS",
            get("MAIL_TIMEOUT_MS"),
            5000,
            300,
            60_000,
        )?);
        let claim_for = Duration::from_secs(number(
            "NOTIFY_CLAIM_SECONDS",
            get("NOTIFY_CLAIM_SECONDS"),
            120,
            5,
            3600,
        )?);
        if claim_for <= mail_timeout * 2 {
            return Err(ConfigError {
                variable: "NOTIFY_CLAIM_SECONDS",
                message: format!(
                    "must be more than twice MAIL_TIMEOUT_MS ({} ms), or a slow send could be repeated",
                    mail_timeout.as_millis()
                ),
            });
        }
        let mail_from = address("MAIL_FROM", &required("MAIL_FROM")?)?;
        let staff_inbox = address("STAFF_INBOX", &required("STAFF_INBOX")?)?;
        let staff_email = match get("STAFF_EMAIL").as_deref().map(str::trim) {
            None | Some("summary") => StaffEmail::Summary,
            Some("full") => StaffEmail::Full,
            Some(other) => {
                return Err(ConfigError {
                    variable: "STAFF_EMAIL",
                    message: format!("{other:?} is not summary or full"),
                })
            }
        };
        let desk_url = get("DESK_URL")
            .map(|raw| desk_url(raw.trim()))
            .transpose()?;
        if staff_email == StaffEmail::Summary && desk_url.is_none() {
            return Err(ConfigError {
                variable: "DESK_URL",
                message: "is required when STAFF_EMAIL is summary (the email links to the desk)"
                    .into(),
            });
        }
        Ok(Self {
            staff_email,
            desk_url,
            bookings_table: bookings_table(get("BOOKINGS_TABLE"))?,
            guards_table: super::table_name(
                "GUARDS_TABLE",
                get("GUARDS_TABLE"),
                "frontdesk-guards",
            )?,
            acknowledgements_per_hour: number(
                "ACKNOWLEDGEMENTS_PER_HOUR",
                get("ACKNOWLEDGEMENTS_PER_HOUR"),
                100,
                0,
                100_000,
            )?,
            mail_from,
            staff_inbox,
            staff_routes: routes(get("STAFF_INBOX_ROUTES").as_deref().unwrap_or(""))?,
            configuration_sets: {
                let set = |variable: &'static str| {
                    get(variable)
                        .map(|name| configuration_set(variable, name.trim()))
                        .transpose()
                };
                let patient = set("SES_CONFIGURATION_SET")?;
                crate::mail::ConfigurationSets {
                    staff: set("SES_STAFF_CONFIGURATION_SET")?.or_else(|| patient.clone()),
                    patient,
                }
            },
            staff_fallback_inbox: get("STAFF_FALLBACK_INBOX")
                .map(|raw| address("STAFF_FALLBACK_INBOX", raw.trim()))
                .transpose()?,
            staff_delivery_alarm_after: Duration::from_secs(
                60 * number(
                    "STAFF_DELIVERY_ALARM_MINUTES",
                    get("STAFF_DELIVERY_ALARM_MINUTES"),
                    15,
                    1,
                    1440,
                )?,
            ),
            mail_timeout,
            store_timeout: store_timeout(get("STORE_TIMEOUT_MS"))?,
            claim_for,
        })
    }

    /// The staff inbox for a booking's specialty (its wire value).
    pub fn staff_inbox_for(&self, specialty: &str) -> &Email {
        self.staff_routes
            .iter()
            .find(|(slug, _)| slug == specialty)
            .map(|(_, inbox)| inbox)
            .unwrap_or(&self.staff_inbox)
    }
}

fn routes(raw: &str) -> Result<Vec<(String, Email)>, ConfigError> {
    let err = |message: String| ConfigError {
        variable: "STAFF_INBOX_ROUTES",
        message,
    };
    raw.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (slug, inbox) = pair
                .split_once('=')
                .ok_or_else(|| err(format!("{pair:?} is not slug=address")))?;
            let slug = slug.trim();
            if slug != crate::booking::Specialty::NOT_SURE && Slug::parse(slug).is_err() {
                return Err(err(format!("{slug:?} is not a condition slug or not_sure")));
            }
            let inbox = Email::parse(inbox.trim())
                .map_err(|_| err(format!("{:?} is not an email address", inbox.trim())))?;
            Ok((slug.to_owned(), inbox))
        })
        .collect()
}

/// A desk's base URL: `https://`, or `http://` on loopback (the local
/// server), without a trailing slash or anything that could break out of
/// an email's link.
fn desk_url(raw: &str) -> Result<String, ConfigError> {
    let url = raw.trim_end_matches('/');
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|origin| {
            url == *origin
                || url.starts_with(&format!("{origin}:"))
                || url.starts_with(&format!("{origin}/"))
        });
    let safe = url.chars().all(|c| {
        c.is_ascii_graphic()
            && !matches!(
                c,
                '"' | '<' | '>' | '\\' | '`' | '{' | '}' | '|' | '^' | '@'
            )
    });
    if (url.starts_with("https://") || local) && safe && url.len() > "https://".len() {
        Ok(url.to_owned())
    } else {
        Err(ConfigError {
            variable: "DESK_URL",
            message: format!("{raw:?} is not an https:// URL"),
        })
    }
}

fn configuration_set(variable: &'static str, name: &str) -> Result<String, ConfigError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ConfigError {
            variable,
            message: format!("{name:?} is not a configuration set name (1-64 of A-Z a-z 0-9 - _)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<NotifierConfig, ConfigError> {
        let map: HashMap<String, String> = [
            ("MAIL_FROM", "bookings@clinic.example"),
            ("STAFF_INBOX", "desk@clinic.example"),
            ("DESK_URL", "https://desk.clinic.example"),
        ]
        .iter()
        .chain(vars)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        NotifierConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn sender_and_staff_inbox_are_required() {
        for var in ["MAIL_FROM", "STAFF_INBOX"] {
            let err = config(&[(var, "")]).unwrap_err();
            assert_eq!(err.variable, var);
        }
    }

    #[test]
    fn routes_pick_the_inbox_by_specialty() {
        let c = config(&[(
            "STAFF_INBOX_ROUTES",
            "neuroendocrine-tumours = net@clinic.example, not_sure=triage@clinic.example",
        )])
        .unwrap();
        assert_eq!(
            c.staff_inbox_for("neuroendocrine-tumours").as_str(),
            "net@clinic.example"
        );
        assert_eq!(
            c.staff_inbox_for("not_sure").as_str(),
            "triage@clinic.example"
        );
        assert_eq!(
            c.staff_inbox_for("breast-cancer").as_str(),
            "desk@clinic.example"
        );
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("MAIL_FROM", "not an address"),
            ("STAFF_INBOX_ROUTES", "net-only"),
            ("STAFF_INBOX_ROUTES", "Bad Slug=a@b.example"),
            ("SES_CONFIGURATION_SET", "a b"),
            ("MAIL_TIMEOUT_MS", "1"),
            ("NOTIFY_CLAIM_SECONDS", "6"),
            ("STAFF_EMAIL", "brief"),
            ("DESK_URL", "http://desk.clinic.example"),
            ("DESK_URL", "https://desk.clinic.example/\"><script>"),
            ("DESK_URL", ""),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
        }
    }

    #[test]
    fn mail_from_is_the_sending_address_and_the_rest_has_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.mail_from.as_str(), "bookings@clinic.example");
        assert_eq!(
            c.configuration_sets,
            crate::mail::ConfigurationSets::default()
        );
        assert_eq!(c.staff_fallback_inbox, None);
        assert_eq!(c.staff_delivery_alarm_after, Duration::from_secs(15 * 60));
    }

    #[test]
    fn the_staff_email_is_a_summary_with_a_link_unless_told_full() {
        let c = config(&[("DESK_URL", "https://desk.clinic.example/")]).unwrap();
        assert_eq!(c.staff_email, StaffEmail::Summary);
        assert_eq!(c.desk_url.as_deref(), Some("https://desk.clinic.example"));
        let full = config(&[("STAFF_EMAIL", "full"), ("DESK_URL", "")]).unwrap();
        assert_eq!((full.staff_email, full.desk_url), (StaffEmail::Full, None));
        let local = config(&[("DESK_URL", "http://127.0.0.1:3000")]).unwrap();
        assert_eq!(local.desk_url.as_deref(), Some("http://127.0.0.1:3000"));
        assert!(config(&[("DESK_URL", "http://localhost.evil.example")]).is_err());
        assert!(config(&[("DESK_URL", "http://127.0.0.1:1@evil.example")]).is_err());
    }

    #[test]
    fn staff_notices_use_the_patient_set_unless_they_have_their_own() {
        let one = config(&[("SES_CONFIGURATION_SET", "frontdesk-prod")]).unwrap();
        assert_eq!(
            one.configuration_sets.staff.as_deref(),
            Some("frontdesk-prod")
        );
        let two = config(&[
            ("SES_CONFIGURATION_SET", "frontdesk-prod"),
            ("SES_STAFF_CONFIGURATION_SET", "frontdesk-prod-staff"),
        ])
        .unwrap();
        assert_eq!(
            two.configuration_sets.patient.as_deref(),
            Some("frontdesk-prod")
        );
        assert_eq!(
            two.configuration_sets.staff.as_deref(),
            Some("frontdesk-prod-staff")
        );
        let bad = config(&[("SES_STAFF_CONFIGURATION_SET", "no spaces")]).unwrap_err();
        assert_eq!(bad.variable, "SES_STAFF_CONFIGURATION_SET");
        let bad = config(&[("STAFF_FALLBACK_INBOX", "nobody")]).unwrap_err();
        assert_eq!(bad.variable, "STAFF_FALLBACK_INBOX");
    }
}
