//! DynamoDB down, silent or throttling: the booking API answers 503 with
//! `Retry-After` within the configured timeout, never hangs, never a 500.
//! Where the write may have happened (no answer in time), the 503 says so,
//! and sending the request again is safe. A missing table is no outage but
//! a deployment to fix: a 500, without `Retry-After`; and the notifier's
//! ledger reports it on every write rather than taking it for success.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use frontdesk_shared::booking::Reference;
use frontdesk_shared::notify::{ClaimToken, Delivery, Notice, NoticeLedger, Recorded};
use frontdesk_shared::store::dynamodb::DynamoNoticeLedger;
use frontdesk_shared::store::StoreError;
use frontdesk_tests::proxy::{forward, serve, HoldingProxy};
use frontdesk_tests::{
    call, dynamodb_client_at, dynamodb_endpoint, json_request, nth_booking,
    router_over_dynamodb_at, valid_booking, Backend, DynamoTables, StoreHandle, TestApp, CLIENT,
};
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

/// A 503 problem with `Retry-After`; its detail.
fn assert_503(response: &frontdesk_tests::TestResponse) -> String {
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
    response.json()["detail"].as_str().unwrap().to_owned()
}

/// A 503 that says the request was not saved (`not saved`), or that it may
/// have been (`could not confirm`).
fn assert_503_saying(response: &frontdesk_tests::TestResponse, says: &str) {
    let detail = assert_503(response);
    assert!(detail.contains(says), "{detail}");
}

/// A 503 that claims no save: "not saved" when the SDK knows nothing was
/// sent; "could not confirm" when its retries ended at its deadline, which
/// cannot tell a refused connection from a lost answer. Both are true.
fn assert_unavailable(response: &frontdesk_tests::TestResponse) {
    let detail = assert_503(response);
    assert!(
        detail.contains("not saved") || detail.contains("could not confirm"),
        "{detail}"
    );
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
    // The request went out and nothing came back: it may have been applied.
    assert_503_saying(&response, "could not confirm");
    assert_eq!(response.json()["type"], "urn:frontdesk:problem:unconfirmed");
    assert!(
        elapsed >= Duration::from_millis(TIMEOUT_MS / 2),
        "answered in {elapsed:?}: the timeout, not something else, should end the wait"
    );
    holder.abort();
}

/// DynamoDB's answer to a request over its throughput.
fn throttled() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/x-amz-json-1.0")],
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#,
    )
        .into_response()
}

/// DynamoDB Local behind a proxy that throttles every request whose body
/// holds `marker`, and forwards the rest.
async fn throttling_where(marker: &'static str) -> String {
    let (client, upstream) = (reqwest::Client::new(), dynamodb_endpoint());
    let proxy = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (client, upstream) = (client.clone(), upstream.clone());
            async move {
                if String::from_utf8_lossy(&body).contains(marker) {
                    throttled()
                } else {
                    forward(&client, &upstream, method, &uri, &headers, body).await
                }
            }
        },
    );
    serve(proxy).await
}

#[tokio::test]
async fn throttling_answers_503() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let throttle = axum::Router::new().fallback(|| async { throttled() });
    let server = tokio::spawn(async move { axum::serve(listener, throttle).await });
    let (response, _) = post_against(format!("http://127.0.0.1:{port}")).await;
    assert_unavailable(&response);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_comes_too_late_is_unconfirmed_and_the_same_key_returns_it() {
    let tables = DynamoTables::create().await;
    let holding = HoldingProxy::start(&dynamodb_endpoint(), "TransactWriteItems").await;
    let timeout = TIMEOUT_MS.to_string();
    let app = router_over_dynamodb_at(
        holding.endpoint(),
        &[
            ("STORE_TIMEOUT_MS", &timeout),
            ("BOOKINGS_TABLE", &tables.bookings),
            ("GUARDS_TABLE", &tables.guards),
            ("MARKETING_TABLE", &tables.marketing),
        ],
    )
    .await;
    let key = "6f1d2c3b-4a59-4e68-9f7a-8b9c0d1e2f3a";
    let request = || {
        let mut request = json_request(&nth_booking(61));
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        request
    };
    let first = call(&app, request(), CLIENT.into()).await;
    assert_503_saying(&first, "could not confirm");
    assert!(first.json()["detail"]
        .as_str()
        .unwrap()
        .contains("again is safe"));
    assert_eq!(tables.count().await, 1, "DynamoDB applied it");
    holding.release();

    // Sent again with the same key: the booking that was stored, once.
    holding.release();
    let again = call(&app, request(), CLIENT.into()).await;
    assert_eq!(again.status, 201, "{:?}", again.json());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let reference = again.json()["reference"].as_str().unwrap().to_owned();
    assert!(tables.item(&reference).await.is_some());
    assert_eq!(tables.count().await, 1);
}

/// A table that is not there is the deployment's fault, not the moment's:
/// DynamoDB's `ResourceNotFoundException` is a 500 for an operator to fix
/// (its metric line alarms as internal), not a 503 inviting a retry that
/// cannot succeed.
#[tokio::test]
async fn a_missing_table_is_a_500_not_an_invitation_to_retry() {
    let app = router_over_dynamodb_at(
        dynamodb_endpoint(),
        &[
            ("BOOKINGS_TABLE", "frontdesk-no-such-bookings"),
            ("GUARDS_TABLE", "frontdesk-no-such-guards"),
            // Time enough for DynamoDB Local's answer on a busy machine.
            ("STORE_TIMEOUT_MS", "30000"),
        ],
    )
    .await;
    let response = call(&app, json_request(&valid_booking()), CLIENT.into()).await;
    assert_eq!(
        response.status,
        500,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("retry-after"), None);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
}

/// The notifier's writes to a table that is not there fail as the
/// misconfiguration they are: none is taken for "the booking expired
/// meanwhile", which would leave a sent email unrecorded and send it again.
#[tokio::test]
async fn a_ledger_over_a_missing_table_reports_every_write() {
    let client = dynamodb_client_at(dynamodb_endpoint(), Duration::from_secs(30)).await;
    let ledger = DynamoNoticeLedger::new(client, "frontdesk-no-such-bookings");
    let reference = Reference::parse("CCL-0000-0000").unwrap();
    let (token, at) = (ClaimToken::new(), time::OffsetDateTime::now_utc());
    let writes = [
        ledger
            .mark_sent(&reference, Notice::Staff, "message-1", at)
            .await,
        ledger
            .mark_failed(&reference, Notice::Patient, "MessageRejected", at)
            .await,
        ledger
            .hold(
                &reference,
                Notice::Staff,
                &token,
                "SendingPausedException",
                at,
            )
            .await,
        ledger.release(&reference, Notice::Staff, &token).await,
        ledger
            .record_delivery(
                &reference,
                Notice::Staff,
                "message-1",
                Delivery::Delivered,
                None,
                at,
            )
            .await
            .map(|_| ()),
    ];
    for (n, write) in writes.into_iter().enumerate() {
        assert!(
            matches!(write, Err(StoreError::Misconfigured(_))),
            "write {n}: {write:?}"
        );
    }
}

/// A delivery event is recorded in two steps: the conditional update, and,
/// when its condition fails, a probe that tells "not sent yet" from "nothing
/// to change". Either step throttled is an error to retry the event on;
/// taken for "nothing to change", the event would be dropped.
#[tokio::test]
async fn a_throttled_delivery_record_is_an_error_to_retry_never_unchanged() {
    let app = TestApp::spawn(Backend::DynamoDb).await;
    let StoreHandle::Dynamo(tables) = &app.store else {
        unreachable!("a DynamoDB test app")
    };
    let answer = app.post_json(&valid_booking()).await;
    assert_eq!(answer.status, 201);
    let reference = Reference::parse(answer.json()["reference"].as_str().unwrap()).unwrap();
    let at = app.clock.now();
    app.store
        .ledger()
        .mark_sent(&reference, Notice::Staff, "message-1", at)
        .await
        .unwrap();
    let reference = &reference;
    let through = |marker: &'static str| async move {
        let client =
            dynamodb_client_at(throttling_where(marker).await, Duration::from_secs(30)).await;
        DynamoNoticeLedger::new(client, &tables.bookings)
    };
    let record = |ledger: DynamoNoticeLedger, message_id: &'static str| async move {
        ledger
            .record_delivery(
                reference,
                Notice::Staff,
                message_id,
                Delivery::Delivered,
                None,
                at,
            )
            .await
    };

    // The update itself throttled.
    let outcome = record(through("SET #delivery").await, "message-1").await;
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    // The update's condition failed (another message), and the probe throttled.
    let outcome = record(through("\"REMOVE #owed, #detail\"").await, "message-other").await;
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    // Retried with DynamoDB answering, the event is recorded.
    let outcome = record(through("no request holds this").await, "message-1").await;
    assert_eq!(outcome.unwrap(), Recorded::Applied);
    assert_eq!(
        app.store
            .notice(reference.as_str(), Notice::Staff)
            .await
            .delivery
            .as_deref(),
        Some("delivered")
    );
}
