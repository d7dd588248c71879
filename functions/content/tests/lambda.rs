//! The content bootstrap as Lambda runs it: the real binary, a loopback
//! Lambda Runtime API handing it API Gateway HTTP API events, and a DynamoDB
//! Local table that the shipped content was pushed to.

use frontdesk_tests::content::{shipped_content, ContentHandle};
use frontdesk_tests::lambda::{Bootstrap, HttpEvent};
use frontdesk_tests::Backend;
use serde_json::Value;

fn get<'a>(path: &'a str, query: &'a str, headers: &'a [(&'a str, &'a str)]) -> HttpEvent<'a> {
    HttpEvent {
        method: "GET",
        path,
        query,
        headers,
        body: None,
        source_ip: "203.0.113.7",
    }
}

fn body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().expect("a body")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_serves_content_with_etags_and_problems() {
    let store = ContentHandle::create(Backend::DynamoDb).await;
    store.push(&shipped_content()).await;
    let ContentHandle::Dynamo { table, .. } = &store else {
        unreachable!("a DynamoDB store")
    };
    let mut lambda = Bootstrap::start(
        env!("CARGO_BIN_EXE_content"),
        "content",
        &[("CONTENT_TABLE", table.as_str())],
    )
    .await;

    let path = "/v1/conditions/neuroendocrine-tumours";
    let page = lambda
        .invoke("req-1", get(path, "", &[]).json("req-1"))
        .await;
    assert_eq!(page["statusCode"], 200, "{page}");
    assert_eq!(body(&page)["title"], "Neuroendocrine tumours (NETs)");
    let etag = page["headers"]["etag"]
        .as_str()
        .expect("an ETag")
        .to_owned();
    assert!(page["headers"]["cache-control"]
        .as_str()
        .unwrap()
        .contains("s-maxage"));

    let headers = [("if-none-match", etag.as_str())];
    let again = lambda
        .invoke("req-2", get(path, "", &headers).json("req-2"))
        .await;
    assert_eq!(again["statusCode"], 304, "{again}");
    assert!(again["body"].as_str().unwrap_or_default().is_empty());

    let filtered = lambda
        .invoke(
            "req-3",
            get("/v1/consultants", "specialty=neuroendocrine-tumours", &[]).json("req-3"),
        )
        .await;
    assert_eq!(filtered["statusCode"], 200, "{filtered}");
    assert_eq!(body(&filtered), serde_json::json!({ "consultants": [] }));

    let missing = lambda
        .invoke("req-4", get("/v1/conditions/nope", "", &[]).json("req-4"))
        .await;
    assert_eq!(missing["statusCode"], 404, "{missing}");
    assert_eq!(
        missing["headers"]["content-type"],
        "application/problem+json"
    );
}
