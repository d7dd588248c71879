//! A transaction that loses a race with another (`TransactionConflict`) is
//! retried, and a race that never ends becomes a 503.
//!
//! DynamoDB Local serialises transactions and never reports a conflict, so
//! here a loopback endpoint answers with DynamoDB's own cancellation shape.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use frontdesk_tests::{call, json_request, router_over_dynamodb_at, valid_booking, CLIENT};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

const CONFLICT: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict, None]","CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#;

/// An endpoint that reports a conflict `conflicts` times, then accepts; it counts requests.
async fn racing_endpoint(conflicts: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().fallback(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let (status, body) = if n < conflicts {
                (StatusCode::BAD_REQUEST, CONFLICT)
            } else {
                (StatusCode::OK, "{}")
            };
            (
                status,
                [("content-type", "application/x-amz-json-1.0")],
                body,
            )
                .into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://127.0.0.1:{port}"), seen)
}

async fn post_against(endpoint: String) -> frontdesk_tests::TestResponse {
    let app = router_over_dynamodb_at(endpoint, &[]).await;
    call(&app, json_request(&valid_booking()), CLIENT.into()).await
}

#[tokio::test]
async fn a_raced_transaction_is_retried_until_it_lands() {
    let (endpoint, seen) = racing_endpoint(2).await;
    let response = post_against(endpoint).await;
    assert_eq!(
        response.status,
        202,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "two conflicts, then the write"
    );
}

#[tokio::test]
async fn a_race_that_never_ends_is_a_503() {
    let (endpoint, seen) = racing_endpoint(usize::MAX).await;
    let response = post_against(endpoint).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("5"));
    assert_eq!(
        seen.load(Ordering::SeqCst),
        6,
        "a bounded number of attempts"
    );
}
