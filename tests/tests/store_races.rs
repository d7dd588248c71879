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

/// An endpoint that reports a conflict `conflicts` times, then accepts; it
/// counts the booking's transactions (the opt-in's put that follows a
/// stored booking is accepted, and not counted).
async fn racing_endpoint(conflicts: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let transaction = headers
            .get("x-amz-target")
            .and_then(|t| t.to_str().ok())
            .is_some_and(|t| t.ends_with(".TransactWriteItems"));
        let n = if transaction {
            counter.fetch_add(1, Ordering::SeqCst)
        } else {
            usize::MAX
        };
        async move {
            let (status, body) = if transaction && n < conflicts {
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
    stored_after(endpoint, &seen, 3, "two conflicts, then the write").await;
}

/// Posts a booking against `endpoint` and checks that it was taken after
/// `attempts` requests to the store.
async fn stored_after(endpoint: String, seen: &AtomicUsize, attempts: usize, why: &str) {
    let response = post_against(endpoint).await;
    assert_eq!(
        response.status,
        202,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(seen.load(Ordering::SeqCst), attempts, "{why}");
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

/// An endpoint on which every item of an address's acknowledgement
/// counters (`ack#…`) is always held by another transaction, as when a
/// flood of requests names one address; a transaction without them is
/// accepted, and its items kept.
async fn flooded_address_endpoint() -> (
    String,
    Arc<AtomicUsize>,
    Arc<std::sync::Mutex<Option<serde_json::Value>>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(std::sync::Mutex::new(None));
    let (counter, kept) = (seen.clone(), accepted.clone());
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        counter.fetch_add(1, Ordering::SeqCst);
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let items = request["TransactItems"].as_array().unwrap().clone();
        let on_address = |item: &serde_json::Value| {
            item["Update"]["Key"]["pk"]["S"]
                .as_str()
                .is_some_and(|pk| pk.starts_with("ack#"))
        };
        let reasons: Vec<serde_json::Value> = items
            .iter()
            .map(|item| {
                if on_address(item) {
                    serde_json::json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
                } else {
                    serde_json::json!({"Code": "None"})
                }
            })
            .collect();
        let raced = items.iter().any(on_address);
        if !raced {
            *kept.lock().unwrap() = Some(request);
        }
        async move {
            let (status, body) = if raced {
                (
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({
                        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
                        "CancellationReasons": reasons,
                    })
                    .to_string(),
                )
            } else {
                (StatusCode::OK, "{}".to_owned())
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
    (format!("http://127.0.0.1:{port}"), seen, accepted)
}

/// Anyone who knows a patient's address can send requests naming it, so
/// its counters are the one part of a booking's write a stranger can keep
/// busy: the booking is stored all the same, without them, and its
/// acknowledgement withheld for staff to see why.
#[tokio::test]
async fn a_flood_on_the_patients_address_cannot_keep_the_patients_booking_out() {
    let (endpoint, seen, accepted) = flooded_address_endpoint().await;
    stored_after(
        endpoint,
        &seen,
        3,
        "two races on the address's counters, then the write without them",
    )
    .await;
    let written = accepted.lock().unwrap().clone().expect("a write landed");
    let items = written["TransactItems"].as_array().unwrap();
    let booking = items
        .iter()
        .find_map(|item| item["Put"]["Item"].get("acknowledgement_withheld"))
        .expect("the booking's put says why it is not acknowledged");
    assert_eq!(booking["S"], "address_busy");
    assert!(
        items
            .iter()
            .all(|item| !item.to_string().contains("\"ack#")),
        "{written}"
    );
}
