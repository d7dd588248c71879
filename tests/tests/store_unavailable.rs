//! DynamoDB down, silent or throttling: the booking API answers 503 with
//! `Retry-After` within the configured timeout, never hangs, never a 500.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use frontdesk_tests::{call, json_request, router_over_dynamodb_at, valid_booking, CLIENT};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// The configured bound on one store call, in milliseconds.
const TIMEOUT_MS: u64 = 1000;

async fn post_against(endpoint: String) -> (frontdesk_tests::TestResponse, Duration) {
    let timeout = TIMEOUT_MS.to_string();
    let app = router_over_dynamodb_at(endpoint, &[("STORE_TIMEOUT_MS", &timeout)]).await;
    let started = Instant::now();
    // Ten times the configured bound: past that the request has hung.
    let response = tokio::time::timeout(
        Duration::from_millis(TIMEOUT_MS * 10),
        call(&app, json_request(&valid_booking()), CLIENT.into()),
    )
    .await
    .expect("the booking API hung on an unavailable store");
    (response, started.elapsed())
}

fn assert_unavailable(response: &frontdesk_tests::TestResponse) {
    assert_eq!(
        response.status,
        503,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("retry-after"), Some("5"));
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    assert!(response.json()["detail"]
        .as_str()
        .unwrap()
        .contains("not saved"));
}

#[tokio::test]
async fn a_closed_port_answers_503_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let (response, _) = post_against(format!("http://127.0.0.1:{port}")).await;
    assert_unavailable(&response);
}

#[tokio::test]
async fn a_store_that_never_answers_times_out_into_503() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts connections, reads nothing, answers nothing.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let (response, elapsed) = post_against(format!("http://127.0.0.1:{port}")).await;
    assert_unavailable(&response);
    assert!(
        elapsed >= Duration::from_millis(TIMEOUT_MS / 2),
        "answered in {elapsed:?}: the timeout, not something else, should end the wait"
    );
    holder.abort();
}

#[tokio::test]
async fn throttling_answers_503() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let throttle = axum::Router::new().fallback(|| async {
        (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.0")],
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
        )
            .into_response()
    });
    let server = tokio::spawn(async move { axum::serve(listener, throttle).await });
    let (response, _) = post_against(format!("http://127.0.0.1:{port}")).await;
    assert_unavailable(&response);
    server.abort();
}
