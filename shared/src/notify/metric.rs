//! Metric lines in CloudWatch's embedded metric format: one JSON object on
//! stdout that Lambda's log delivery turns into a metric an alarm can watch,
//! with no extra API call.

use serde_json::json;
use time::OffsetDateTime;

/// The CloudWatch namespace of every frontdesk metric.
pub const NAMESPACE: &str = "frontdesk";

/// The metric counting emails that will never be sent.
pub const PERMANENT_FAILURES: &str = "EmailPermanentFailures";

/// The line recording one email that failed permanently. It names the booking
/// and the error code, and holds no personal data.
pub fn permanent_failure(at: OffsetDateTime, reference: &str, notice: &str, code: &str) -> String {
    json!({
        "_aws": {
            "Timestamp": at.unix_timestamp() * 1000,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Email"]],
                "Metrics": [{ "Name": PERMANENT_FAILURES, "Unit": "Count" }]
            }]
        },
        "Email": notice,
        PERMANENT_FAILURES: 1,
        "reference": reference,
        "code": code,
        "message": "email failed permanently; it is recorded on the booking and will not be retried"
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
    }
}
