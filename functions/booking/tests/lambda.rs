//! The booking bootstrap as Lambda runs it: the real binary, a loopback
//! Lambda Runtime API handing it API Gateway HTTP API events, DynamoDB Local
//! behind it.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_tests::{nth_booking, DynamoTables};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};

/// A Runtime API that hands out queued events and collects the answers.
#[derive(Clone)]
struct RuntimeApi {
    events: Arc<Mutex<mpsc::Receiver<Value>>>,
    answers: mpsc::Sender<(String, Value)>,
}

async fn next(State(api): State<RuntimeApi>) -> impl IntoResponse {
    // Waits until the test queues an event, as Lambda does between invocations.
    let event = api.events.lock().await.recv().await.unwrap_or(Value::Null);
    let id = event["requestContext"]["requestId"]
        .as_str()
        .unwrap_or("none")
        .to_owned();
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_str(&id).unwrap(),
    );
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from_static("9999999999999"),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:eu-west-2:000000000000:function:booking"),
    );
    (headers, Json(event))
}

async fn answer(
    State(api): State<RuntimeApi>,
    Path((id, kind)): Path<(String, String)>,
    body: String,
) -> &'static str {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let _ = api.answers.send((format!("{id}/{kind}"), value)).await;
    "{}"
}

struct Bootstrap {
    child: Child,
    events: mpsc::Sender<Value>,
    answers: mpsc::Receiver<(String, Value)>,
}

impl Drop for Bootstrap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Bootstrap {
    async fn start(tables: &DynamoTables, vars: &[(&str, &str)]) -> Self {
        let (event_tx, event_rx) = mpsc::channel(16);
        let (answer_tx, answer_rx) = mpsc::channel(16);
        let api = RuntimeApi {
            events: Arc::new(Mutex::new(event_rx)),
            answers: answer_tx,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(answer))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut command = Command::new(env!("CARGO_BIN_EXE_booking"));
        command
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "booking")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .env("BOOKINGS_TABLE", &tables.bookings)
            .env("GUARDS_TABLE", &tables.guards)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in vars {
            command.env(name, value);
        }
        let child = command.spawn().expect("the bootstrap starts");
        Self {
            child,
            events: event_tx,
            answers: answer_rx,
        }
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
        let event = json!({
            "version": "2.0",
            "routeKey": "POST /v1/bookings",
            "rawPath": "/v1/bookings",
            "rawQueryString": "",
            "headers": {"content-type": content_type, "accept": "text/html"},
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "test",
                "domainName": "api.clinic.example",
                "domainPrefix": "api",
                "http": {
                    "method": "POST",
                    "path": "/v1/bookings",
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": "test"
                },
                "requestId": id,
                "routeKey": "POST /v1/bookings",
                "stage": "$default",
                "time": "24/Nov/2026:10:15:00 +0000",
                "timeEpoch": 1795500900000u64
            },
            "body": body,
            "isBase64Encoded": base64
        });
        self.events.send(event).await.unwrap();
        let (path, answer) =
            tokio::time::timeout(std::time::Duration::from_secs(20), self.answers.recv())
                .await
                .expect("the function answers")
                .expect("an answer");
        assert_eq!(path, format!("{id}/response"), "{answer}");
        answer
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
