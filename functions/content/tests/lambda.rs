//! The content bootstrap as Lambda runs it: the real binary, a loopback
//! Lambda Runtime API handing it API Gateway HTTP API events, and a DynamoDB
//! Local table that the shipped content was pushed to.

use frontdesk_content::ROUTES;
use frontdesk_tests::content::{content_copy, fixture, shipped_content, ContentApp, ContentHandle};
use frontdesk_tests::lambda::{Bootstrap, GatewayAnswer, HttpEvent};
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

/// A DynamoDB Local table that `dir` was pushed to, and the content
/// bootstrap running over it.
async fn content_lambda(dir: &std::path::Path) -> (ContentHandle, Bootstrap) {
    let store = ContentHandle::create(Backend::DynamoDb).await;
    store.push(dir).await;
    let ContentHandle::Dynamo { table, .. } = &store else {
        unreachable!("a DynamoDB store")
    };
    let lambda = Bootstrap::start(
        env!("CARGO_BIN_EXE_content"),
        "content",
        &[("CONTENT_TABLE", table.as_str())],
    )
    .await;
    (store, lambda)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_serves_content_with_etags_and_problems() {
    let (_store, mut lambda) = content_lambda(&shipped_content()).await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_answers_every_kind_of_request_as_its_router_does_in_process() {
    // One table holds the content for both: reading it changes nothing.
    let content = content_copy();
    std::fs::copy(
        fixture("content-consultant").join("fixture-consultant.md"),
        content.path().join("consultants/fixture-consultant.md"),
    )
    .expect("the consultant fixture");
    let (store, mut lambda) = content_lambda(content.path()).await;
    let app = ContentApp::over(store);
    let page = "/v1/conditions/neuroendocrine-tumours";
    let etag = app
        .get(page)
        .await
        .header("etag")
        .expect("an ETag")
        .to_owned();

    let matching = [("if-none-match", etag.as_str())];
    let stale = [("if-none-match", "\"not-this-one\"")];
    let listed = [("if-none-match", "\"a\", \"b\"")];
    let wildcard = [("if-none-match", "*")];
    let from_site = [("origin", "https://www.clinic.example")];
    let preflight = [
        ("origin", "https://www.clinic.example"),
        ("access-control-request-method", "GET"),
    ];
    let mut cases: Vec<HttpEvent> = ROUTES
        .iter()
        .map(|route| {
            let path = match *route {
                "/v1/conditions/{slug}" => page,
                "/v1/consultants/{slug}" => "/v1/consultants/fixture-consultant",
                other => other,
            };
            get(path, "", &from_site)
        })
        .collect();
    cases.extend([
        get(page, "", &matching),
        get(page, "", &stale),
        get(page, "", &listed),
        get(page, "", &wildcard),
        get("/v1/consultants", "specialty=neuroendocrine-tumours", &[]),
        get("/v1/consultants", "specialty=Not%20A%20Slug", &[]),
        get("/v1/consultants", "specialty=", &[]),
        get("/v1/conditions/no-such-condition", "", &[]),
        get("/v1/conditions/Not_A_Slug", "", &[]),
        get("/v1/nothing-here", "", &[]),
        HttpEvent {
            method: "HEAD",
            ..get(page, "", &[])
        },
        HttpEvent {
            method: "POST",
            ..get(page, "", &[])
        },
        HttpEvent {
            method: "OPTIONS",
            ..get(page, "", &preflight)
        },
    ]);
    let mut statuses = std::collections::BTreeSet::new();
    for (n, event) in cases.iter().enumerate() {
        let id = format!("parity-{n}");
        let through_lambda = GatewayAnswer::from_lambda(&lambda.invoke(&id, event.json(&id)).await);
        let in_process = GatewayAnswer::from_router(&app.send(event.request()).await);
        statuses.insert(through_lambda.status);
        assert_eq!(
            through_lambda, in_process,
            "{} {}?{}: the bootstrap (left) and the router (right) differ",
            event.method, event.path, event.query
        );
    }
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        [200, 304, 400, 404, 405],
        "every kind of answer was compared"
    );
}
