//! Metric lines in CloudWatch's embedded metric format: one JSON object on
//! stdout that Lambda's log delivery turns into a metric an alarm can watch,
//! with no extra API call.

use serde_json::json;
use time::OffsetDateTime;

/// The CloudWatch namespace of every frontdesk metric.
pub const NAMESPACE: &str = "frontdesk";

/// The metric counting emails that will never be sent.
pub const PERMANENT_FAILURES: &str = "EmailPermanentFailures";

/// The metric counting attempts held by an account or set-up error: the
/// email is still owed, and waits for an operator.
pub const HELD: &str = "EmailsHeld";

/// One count of `metric`, under one dimension's `(name, value)`: the line
/// every metric of a single event shares.
fn one_of(at: OffsetDateTime, metric: &str, dimension: (&str, &str), message: &str) -> String {
    let (name, value) = dimension;
    let mut line = json!({
        "_aws": {
            "Timestamp": at.unix_timestamp() * 1000,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[name]],
                "Metrics": [{ "Name": metric, "Unit": "Count" }]
            }]
        },
        "message": message
    });
    line[name] = json!(value);
    line[metric] = json!(1);
    line.to_string()
}

/// The metric counting booking requests answered without being stored
/// because the store failed (a 503, or a 500): requests staff never hear of.
pub const BOOKINGS_NOT_STORED: &str = "BookingsNotStored";

/// Every `Outcome` a `BookingsNotStored` line names: its alarm must watch each.
pub const NOT_STORED_OUTCOMES: [&str; 3] = ["unavailable", "unconfirmed", "internal"];

/// The line recording one booking request that could not be stored;
/// `outcome` is `unavailable` (answered 503, nothing written), `unconfirmed`
/// (answered 503, the write may have happened) or `internal` (answered 500).
/// It holds no personal data and no reference (there is none yet).
pub fn booking_not_stored(at: OffsetDateTime, outcome: &str) -> String {
    one_of(
        at,
        BOOKINGS_NOT_STORED,
        ("Outcome", outcome),
        "booking request not stored; the client was told to send it again",
    )
}

/// The metric counting booking requests refused as abuse of the form (one
/// line each, its kind only): a spike is someone trying to turn the form
/// against strangers or patients.
pub const BOOKINGS_REFUSED: &str = "BookingsRefused";

/// Why a booking request was refused as the form's abuse, as its
/// `BookingsRefused` line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not from a page of an allowed origin (a 403).
    ForeignOrigin,
    /// No source address to charge it to (a 400).
    NoSource,
    /// Its source used its allowance (a 429).
    RateLimited,
    /// The human check's verifier rejected its token (a 403).
    HumanCheckFailed,
}

impl Refusal {
    /// Every kind: its alarm must watch each.
    pub const ALL: [Refusal; 4] = [
        Refusal::ForeignOrigin,
        Refusal::NoSource,
        Refusal::RateLimited,
        Refusal::HumanCheckFailed,
    ];

    /// The `Kind` dimension's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::ForeignOrigin => "foreign_origin",
            Refusal::NoSource => "no_source",
            Refusal::RateLimited => "rate_limited",
            Refusal::HumanCheckFailed => "human_check_failed",
        }
    }
}

/// The line recording one refused booking request, by kind only: no
/// address, no field, nothing personal.
pub fn booking_refused(at: OffsetDateTime, kind: Refusal) -> String {
    one_of(
        at,
        BOOKINGS_REFUSED,
        ("Kind", kind.as_str()),
        "booking request refused",
    )
}

/// The metric counting opt-ins to the clinic's news that a stored booking
/// gave but the register could not take (its table unreachable, or the
/// role without permission): an operator fixes the cause, and `frontdesk
/// tables backfill` registers them from the bookings, which keep the
/// opt-in until their retention ends.
pub const MARKETING_NOT_REGISTERED: &str = "MarketingNotRegistered";

/// The line recording one opt-in not registered, by channel only.
pub fn marketing_not_registered(at: OffsetDateTime, channel: &str) -> String {
    one_of(
        at,
        MARKETING_NOT_REGISTERED,
        ("Channel", channel),
        "opt-in not registered; the booking keeps it",
    )
}

/// The metric counting acknowledgements withheld on purpose (the address
/// had its three in a day): a rise is someone aiming the form at an address.
pub const ACKNOWLEDGEMENTS_WITHHELD: &str = "AcknowledgementsWithheld";

/// The line recording one acknowledgement withheld, by reason only.
pub fn acknowledgement_withheld(at: OffsetDateTime, why: crate::booking::Withheld) -> String {
    one_of(
        at,
        ACKNOWLEDGEMENTS_WITHHELD,
        ("Why", why.as_str()),
        "acknowledgement withheld",
    )
}

/// The metric counting bookings taken unverified because the human check
/// could not be completed: without a token (a form sent without its
/// script), or with a verifier that did not answer or refused the secret.
pub const BOOKINGS_UNVERIFIED: &str = "BookingsUnverified";

/// The line recording one booking taken unverified, by reason only.
pub fn booking_unverified(at: OffsetDateTime, why: crate::turnstile::Unchecked) -> String {
    one_of(
        at,
        BOOKINGS_UNVERIFIED,
        ("Why", why.as_str()),
        "booking taken unverified",
    )
}

/// The metric counting stored bookings a sweep could not read: their
/// emails may be owed, and no sweep can send them.
pub const BOOKINGS_UNREADABLE: &str = "BookingsUnreadable";

/// The line recording that a sweep skipped `count` unreadable bookings
/// (their references are in the log line beside it).
pub fn bookings_unreadable(at: OffsetDateTime, count: usize) -> String {
    json!({
        "_aws": {
            "Timestamp": at.unix_timestamp() * 1000,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [{ "Name": BOOKINGS_UNREADABLE, "Unit": "Count" }]
            }]
        },
        BOOKINGS_UNREADABLE: count,
        "message": "stored bookings could not be read; their emails may be owed"
    })
    .to_string()
}

/// The metric counting staff emails that did not reach the staff inbox.
pub const STAFF_UNDELIVERED: &str = "StaffEmailUndelivered";

/// Every `Why` a `StaffEmailUndelivered` line names: its alarm must watch each.
pub const UNDELIVERED_REASONS: [&str; 5] = ["refused", "bounced", "complained", "rejected", "late"];

/// The line recording one staff email that did not reach the staff inbox;
/// `why` is `refused` (SES refused it for good), `bounced`, `complained`,
/// `rejected` or `late` (no delivery reported in time).
pub fn staff_undelivered(at: OffsetDateTime, reference: &str, why: &str) -> String {
    json!({
        "_aws": {
            "Timestamp": at.unix_timestamp() * 1000,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Why"]],
                "Metrics": [{ "Name": STAFF_UNDELIVERED, "Unit": "Count" }]
            }]
        },
        "Why": why,
        STAFF_UNDELIVERED: 1,
        "reference": reference,
        "message": "the staff email did not reach the staff inbox; the fallback inbox is sent it if one is set"
    })
    .to_string()
}

/// The line recording one email that failed permanently. It names the booking
/// and the error code, and holds no personal data.
pub fn permanent_failure(at: OffsetDateTime, reference: &str, notice: &str, code: &str) -> String {
    email_metric(
        PERMANENT_FAILURES,
        at,
        reference,
        notice,
        code,
        "email failed permanently; it is recorded on the booking and will not be retried",
    )
}

/// The line recording one attempt held by the account or its set-up.
pub fn held(at: OffsetDateTime, reference: &str, notice: &str, code: &str) -> String {
    email_metric(
        HELD,
        at,
        reference,
        notice,
        code,
        "email held by the account or its set-up; it stays owed and is tried again",
    )
}

/// One count of `metric` for one email, by email kind.
fn email_metric(
    metric: &str,
    at: OffsetDateTime,
    reference: &str,
    notice: &str,
    code: &str,
    message: &str,
) -> String {
    json!({
        "_aws": {
            "Timestamp": at.unix_timestamp() * 1000,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Email"]],
                "Metrics": [{ "Name": metric, "Unit": "Count" }]
            }]
        },
        "Email": notice,
        metric: 1,
        "reference": reference,
        "code": code,
        "message": message
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_an_embedded_metric() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let line = permanent_failure(at, "CCL-7K3M-9Q2X", "patient", "MessageRejected");
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["_aws"]["Timestamp"], 1_800_000_000_000_i64);
        assert_eq!(
            value["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            PERMANENT_FAILURES
        );
        assert_eq!(value[PERMANENT_FAILURES], 1);
        assert_eq!(value["Email"], "patient");
        assert!(!line.contains('\n'));
        let held: serde_json::Value = serde_json::from_str(&held(
            at,
            "CCL-7K3M-9Q2X",
            "staff",
            "SendingPausedException",
        ))
        .unwrap();
        assert_eq!(
            held["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            HELD
        );
        assert_eq!(held[HELD], 1);
        assert_eq!(held["code"], "SendingPausedException");
        let lost: serde_json::Value =
            serde_json::from_str(&booking_not_stored(at, "unavailable")).unwrap();
        assert_eq!(
            lost["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
            "Outcome"
        );
        assert_eq!(lost[BOOKINGS_NOT_STORED], 1);
        assert_eq!(lost["Outcome"], "unavailable");
    }
}

#[cfg(test)]
mod one_event_lines {
    use super::*;

    #[test]
    fn a_line_counts_one_event_under_its_one_dimension() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let line: serde_json::Value =
            serde_json::from_str(&booking_refused(at, Refusal::RateLimited)).unwrap();
        assert_eq!(
            line,
            json!({
                "_aws": {
                    "Timestamp": 1_800_000_000_000i64,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Kind"]],
                        "Metrics": [{ "Name": BOOKINGS_REFUSED, "Unit": "Count" }]
                    }]
                },
                "Kind": "rate_limited",
                BOOKINGS_REFUSED: 1,
                "message": "booking request refused"
            })
        );
    }
}
