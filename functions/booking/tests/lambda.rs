//! The booking bootstrap as Lambda runs it: the real binary, a loopback
//! Lambda Runtime API handing it API Gateway HTTP API events, DynamoDB Local
//! behind it.

use frontdesk_tests::lambda::{self, HttpEvent};
use frontdesk_tests::{nth_booking, DynamoTables};
use serde_json::Value;

struct Bootstrap(lambda::Bootstrap);

impl Bootstrap {
    async fn start(tables: &DynamoTables, vars: &[(&str, &str)]) -> Self {
        let mut all = vec![
            ("BOOKINGS_TABLE", tables.bookings.as_str()),
            ("GUARDS_TABLE", tables.guards.as_str()),
        ];
        all.extend_from_slice(vars);
        Self(lambda::Bootstrap::start(env!("CARGO_BIN_EXE_booking"), "booking", &all).await)
    }

    /// Invokes the function with a JSON body and returns its answer.
    async fn invoke(&mut self, id: &str, body: &Value, source_ip: &str) -> Value {
        self.invoke_raw(id, "application/json", &body.to_string(), false, source_ip)
            .await
    }

    /// Invokes the function with an HTTP API event and returns its answer.
    async fn invoke_raw(
        &mut self,
        id: &str,
        content_type: &str,
        body: &str,
        base64: bool,
        source_ip: &str,
    ) -> Value {
        let event = HttpEvent {
            method: "POST",
            path: "/v1/bookings",
            query: "",
            headers: &[("content-type", content_type), ("accept", "text/html")],
            body: Some((body, base64)),
            source_ip,
        };
        self.0.invoke(id, event.json(id)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_stores_a_booking_and_limits_by_api_gateway_source_ip() {
    let tables = DynamoTables::create().await;
    let mut lambda = Bootstrap::start(&tables, &[("RATE_LIMIT_PER_HOUR", "1")]).await;

    let created = lambda.invoke("req-1", &nth_booking(1), "203.0.113.5").await;
    assert_eq!(created["statusCode"], 201, "{created}");
    let body: Value = serde_json::from_str(created["body"].as_str().unwrap()).unwrap();
    let reference = body["reference"].as_str().unwrap();
    assert!(tables.item(reference).await.is_some(), "stored in DynamoDB");

    // The same address again is over its limit: the source came from the event.
    let limited = lambda.invoke("req-2", &nth_booking(2), "203.0.113.5").await;
    assert_eq!(limited["statusCode"], 429, "{limited}");
    assert!(
        limited["headers"]["retry-after"].as_str().is_some(),
        "{limited}"
    );
    assert_eq!(
        limited["headers"]["content-type"],
        "application/problem+json"
    );
    let other = lambda
        .invoke("req-3", &nth_booking(3), "198.51.100.20")
        .await;
    assert_eq!(other["statusCode"], 201, "{other}");
    assert_eq!(tables.count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_form_through_api_gateway_is_redirected_to_the_thank_you_page() {
    use base64::Engine;
    let tables = DynamoTables::create().await;
    let mut lambda = Bootstrap::start(
        &tables,
        &[("THANK_YOU_URL", "https://www.clinic.example/thank-you")],
    )
    .await;
    // API Gateway hands form bodies over base64-encoded.
    let form = frontdesk_tests::valid_form();
    let encoded = base64::engine::general_purpose::STANDARD.encode(form);
    let answer = lambda
        .invoke_raw(
            "req-form",
            "application/x-www-form-urlencoded",
            &encoded,
            true,
            "203.0.113.9",
        )
        .await;
    assert_eq!(answer["statusCode"], 303, "{answer}");
    let location = answer["headers"]["location"].as_str().unwrap();
    let reference = location
        .strip_prefix("https://www.clinic.example/thank-you?reference=")
        .expect(location);
    assert!(tables.item(reference).await.is_some());
}
