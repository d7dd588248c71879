//! The content API over each store: every route answers the shipped
//! content, answers revalidate with ETags, a push shows up once the cache
//! expires, a warm cache reads nothing, and Markdown cannot carry markup.

use frontdesk_shared::content::ContentStore;
use frontdesk_tests::content::{content_copy, edit, ContentApp, ContentHandle};
use frontdesk_tests::relay::Relay;
use frontdesk_tests::{for_each_backend, Backend, TestResponse};
use serde_json::Value;

for_each_backend!(
    every_route_answers_the_shipped_content,
    the_net_page_keeps_its_lists_structured,
    the_current_etag_gets_304_and_a_push_gets_a_new_one,
    unknown_slugs_methods_and_paths_get_problems,
    raw_html_in_markdown_comes_out_escaped,
    consultants_filter_by_specialty,
);

const NET: &str = "/v1/conditions/neuroendocrine-tumours";

fn assert_cacheable_json(response: &TestResponse) {
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
    let etag = response.header("etag").expect("an ETag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
        "a strong ETag: {etag}"
    );
    let cache_control = response.header("cache-control").expect("Cache-Control");
    assert!(cache_control.contains("public"), "{cache_control}");
    assert!(cache_control.contains("s-maxage="), "{cache_control}");
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["name"].as_str().expect("a name").to_owned())
        .collect()
}

async fn every_route_answers_the_shipped_content(backend: Backend) {
    let app = ContentApp::spawn(backend).await;

    let conditions = app.get("/v1/conditions").await;
    assert_cacheable_json(&conditions);
    let list = conditions.json()["conditions"].clone();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["slug"], "neuroendocrine-tumours");
    assert_eq!(list[0]["title"], "Neuroendocrine tumours (NETs)");
    assert!(list[0]["summary"].as_str().unwrap().len() > 40);
    assert!(
        list[0].get("sections").is_none(),
        "the list carries summaries only"
    );

    let page = app.get(NET).await;
    assert_cacheable_json(&page);
    assert_eq!(page.json()["slug"], "neuroendocrine-tumours");

    // The clinic has named no consultants and priced nothing yet.
    let consultants = app.get("/v1/consultants").await;
    assert_cacheable_json(&consultants);
    assert_eq!(consultants.json(), serde_json::json!({ "consultants": [] }));
    let prices = app.get("/v1/prices").await;
    assert_cacheable_json(&prices);
    assert_eq!(
        prices.json(),
        serde_json::json!({ "currency": "GBP", "rows": [] })
    );

    let support = app.get("/v1/support-services").await;
    assert_cacheable_json(&support);
    let services = support.json()["support_services"].clone();
    let titles: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Counselling", "Group sessions"]);
    for service in services.as_array().unwrap() {
        assert_eq!(
            service["audience"],
            serde_json::json!(["patients", "families"])
        );
        assert!(service["description"]["html"]
            .as_str()
            .unwrap()
            .starts_with("<p>"));
        assert!(!service["description"]["markdown"]
            .as_str()
            .unwrap()
            .is_empty());
    }

    let site = app.get("/v1/site").await;
    assert_cacheable_json(&site);
    let site = site.json();
    assert_eq!(site["name"], "Cancer Centre London");
    assert_eq!(site["hospital"], "Parkside Hospital");
    assert_eq!(site["phone"], "020 8247 3351");
    assert_eq!(site["phone_e164"], "+442082473351");

    // The consent wording the form shows, exactly, with its version and hash.
    let consent = app.get("/v1/consent").await;
    assert_cacheable_json(&consent);
    let consent = consent.json();
    assert_eq!(consent["version"], "2026-11");
    assert_eq!(
        consent["contact"],
        "Cancer Centre London may contact me by phone or email about this request."
    );
    assert_eq!(consent["sha256"].as_str().unwrap().len(), 64);
    assert!(consent["published_at"].is_string(), "the push's time");

    let privacy = app.get("/v1/privacy").await;
    assert_cacheable_json(&privacy);
    let privacy = privacy.json();
    let headings: Vec<&str> = privacy["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert!(headings.contains(&"Your rights"), "{headings:?}");
    assert!(headings.contains(&"How long we keep it"), "{headings:?}");

    // HEAD answers as GET does, without the body.
    let head = app
        .send(
            axum::http::Request::head("/v1/site")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert!(head.header("etag").is_some());
}

async fn the_net_page_keeps_its_lists_structured(backend: Backend) {
    let app = ContentApp::spawn(backend).await;
    let page = app.get(NET).await.json();

    let types = names(&page["types"]);
    for expected in [
        "Gastroenteropancreatic NETs (GEP NETs)",
        "Gastrointestinal NETs (GI NETs)",
        "Pancreatic NETs (pNETs)",
        "Pulmonary NETs",
    ] {
        assert!(types.contains(&expected.to_owned()), "{types:?}");
    }
    assert!(page["types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["detail"].as_str().unwrap().contains("rare")));

    assert_eq!(
        names(&page["tests"]),
        ["Blood tests", "Urine tests", "Biopsy"]
    );
    let scans = names(&page["scans"]);
    assert_eq!(scans.len(), 5);
    for scan in ["Ultrasound", "(CT)", "(MRI)", "(PET)", "Octreotide"] {
        assert!(scans.iter().any(|s| s.contains(scan)), "{scan}: {scans:?}");
    }
    assert_eq!(
        names(&page["treatments"]),
        [
            "Surgery",
            "Embolisation",
            "Chemotherapy",
            "Radiotherapy",
            "Radiofrequency ablation"
        ]
    );
    assert!(page["treatments"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("spread"));

    let symptoms = page["symptoms"].as_array().unwrap();
    assert_eq!(symptoms.len(), 2, "by site and by hormone");
    assert!(symptoms[1]["symptoms"]
        .as_array()
        .unwrap()
        .contains(&Value::from("Low blood sugar")));

    let sections = page["sections"].as_array().unwrap();
    let ids: Vec<&str> = sections.iter().map(|s| s["id"].as_str().unwrap()).collect();
    for id in [
        "what-are-neuroendocrine-tumours",
        "functioning-tumours",
        "types-of-net",
        "symptoms",
        "see-a-doctor-promptly",
        "diagnosis",
        "treatment",
        "book-an-appointment",
    ] {
        assert!(ids.contains(&id), "{id}: {ids:?}");
    }
    let booking = sections.last().unwrap();
    assert!(booking["markdown"]
        .as_str()
        .unwrap()
        .contains("020 8247 3351"));
    assert!(booking["html"]
        .as_str()
        .unwrap()
        .contains("<a href=\"tel:+442082473351\">020 8247 3351</a>"));
    assert_eq!(page["updated"], "2026-11-24");
}

async fn the_current_etag_gets_304_and_a_push_gets_a_new_one(backend: Backend) {
    let content = content_copy();
    let app = ContentApp::with_content(backend, content.path()).await;
    let first = app.get(NET).await;
    let etag = first.header("etag").unwrap().to_owned();
    let site_etag = app.get("/v1/site").await.header("etag").unwrap().to_owned();
    let list_etag = app
        .get("/v1/conditions")
        .await
        .header("etag")
        .unwrap()
        .to_owned();

    let again = app.get_with(NET, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty(), "a 304 has no body");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert!(again.header("cache-control").is_some());
    assert_eq!(
        app.get_with(NET, &[("if-none-match", "\"stale\", W/\"other\"")])
            .await
            .status,
        200
    );

    edit(
        &content.path().join("conditions/neuroendocrine-tumours.md"),
        "Rare, usually slow-growing tumours",
        "Rare and usually slow-growing tumours",
    );
    let report = app.store.push(content.path()).await;
    assert_eq!((report.changed, report.unchanged), (1, 6), "{report}");
    app.expire_cache();

    let changed = app.get_with(NET, &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, 200);
    let new_etag = changed.header("etag").unwrap();
    assert_ne!(new_etag, etag);
    assert!(changed.json()["summary"]
        .as_str()
        .unwrap()
        .starts_with("Rare and usually"));
    // The list shows the summary too, so it changed with the page.
    let list = app
        .get_with("/v1/conditions", &[("if-none-match", &list_etag)])
        .await;
    assert_eq!(list.status, 200);
    // What did not change still revalidates.
    let site = app
        .get_with("/v1/site", &[("if-none-match", &site_etag)])
        .await;
    assert_eq!(site.status, 304);
}

fn assert_problem(response: &TestResponse, status: u16) -> Value {
    assert_eq!(
        response.status,
        status,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let problem = response.json();
    assert_eq!(problem["status"], status);
    problem
}

async fn unknown_slugs_methods_and_paths_get_problems(backend: Backend) {
    let app = ContentApp::spawn(backend).await;
    let problem = assert_problem(&app.get("/v1/conditions/cardiology").await, 404);
    assert!(problem["detail"].as_str().unwrap().contains("cardiology"));
    assert_problem(&app.get("/v1/consultants/fixture-nobody").await, 404);
    assert_problem(&app.get("/v1/nothing").await, 404);

    for (method, path) in [
        ("POST", "/v1/conditions"),
        ("PUT", NET),
        ("DELETE", "/v1/site"),
        ("PATCH", "/v1/prices"),
        ("POST", "/v1/support-services"),
        ("DELETE", "/v1/consultants"),
    ] {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.send(request).await;
        assert_problem(&response, 405);
        assert_eq!(
            response.header("allow"),
            Some("GET, HEAD"),
            "{method} {path}"
        );
    }

    let problem = assert_problem(&app.get("/v1/consultants?specialty=%3Cb%3E").await, 400);
    assert_eq!(problem["errors"][0]["field"], "specialty");
}

async fn consultants_filter_by_specialty(backend: Backend) {
    let content = content_copy();
    std::fs::copy(
        frontdesk_tests::content::fixture("content-consultant/fixture-consultant.md"),
        content.path().join("consultants/fixture-consultant.md"),
    )
    .unwrap();
    let app = ContentApp::with_content(backend, content.path()).await;

    let all = app.get("/v1/consultants").await.json();
    assert_eq!(all["consultants"].as_array().unwrap().len(), 1);
    assert_eq!(all["consultants"][0]["slug"], "fixture-consultant");
    assert!(all["consultants"][0].get("biography").is_none());
    let net = app
        .get("/v1/consultants?specialty=neuroendocrine-tumours")
        .await;
    assert_cacheable_json(&net);
    assert_eq!(net.json(), all);
    let none = app.get("/v1/consultants?specialty=fixture-elsewhere").await;
    assert_eq!(none.json(), serde_json::json!({ "consultants": [] }));
    assert_ne!(none.header("etag"), net.header("etag"));

    let one = app.get("/v1/consultants/fixture-consultant").await;
    assert_cacheable_json(&one);
    let one = one.json();
    assert_eq!(one["name"], "Dr Fixture Consultant");
    assert!(one["biography"]["html"]
        .as_str()
        .unwrap()
        .contains("<strong>fixture</strong>"));
}

async fn raw_html_in_markdown_comes_out_escaped(backend: Backend) {
    let content = content_copy();
    edit(
        &content.path().join("conditions/neuroendocrine-tumours.md"),
        "Some NETs make hormones of their own.",
        "Some NETs make hormones of their own. <script>alert('fixture')</script>\n\n\
         <img src=x onerror=\"alert('fixture')\">\n\nMore text.",
    );
    let app = ContentApp::with_content(backend, content.path()).await;
    let page = app.get(NET).await.json();
    let section = page["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "functioning-tumours")
        .unwrap()
        .clone();
    let html = section["html"].as_str().unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert('fixture')&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("&lt;img src=x onerror="), "{html}");
    // The source is returned as written, for editors and other renderers.
    assert!(section["markdown"]
        .as_str()
        .unwrap()
        .contains("<script>alert('fixture')</script>"));
}

/// Many requests on a warm cache: the first reads the table once, the rest
/// read nothing, however many arrive at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_cache_makes_one_dynamodb_request_for_many_requests() {
    let store = ContentHandle::create(Backend::DynamoDb).await;
    store
        .push(&frontdesk_tests::content::shipped_content())
        .await;
    let before = store.requests().unwrap();
    let app = std::sync::Arc::new(ContentApp::over(store));

    let routes = [
        "/v1/conditions",
        NET,
        "/v1/consultants",
        "/v1/consultants?specialty=neuroendocrine-tumours",
        "/v1/support-services",
        "/v1/prices",
        "/v1/site",
    ];
    let mut tasks = Vec::new();
    for i in 0..70 {
        let app = std::sync::Arc::clone(&app);
        let path = routes[i % routes.len()];
        tasks.push(tokio::spawn(async move { app.get(path).await.status }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    for path in routes.iter().cycle().take(140) {
        assert_eq!(app.get(path).await.status, 200);
    }
    assert_eq!(
        app.store.requests().unwrap() - before,
        1,
        "210 requests, one DynamoDB read"
    );

    // Past its time to live, the next request reads once more.
    app.expire_cache();
    for path in routes {
        assert_eq!(app.get(path).await.status, 200);
    }
    assert_eq!(app.store.requests().unwrap() - before, 2);
}

/// DynamoDB gone: the copy held is served on; with no copy, 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_table_serves_the_copy_held_or_503() {
    let handle = ContentHandle::create(Backend::DynamoDb).await;
    handle
        .push(&frontdesk_tests::content::shipped_content())
        .await;
    let ContentHandle::Dynamo { table, .. } = &handle else {
        unreachable!()
    };
    let relay = Relay::start(&frontdesk_tests::dynamodb_endpoint()).await;
    let client = frontdesk_tests::dynamodb_client_at(
        relay.endpoint(),
        std::time::Duration::from_millis(1500),
    )
    .await;
    let store = frontdesk_shared::store::dynamodb::DynamoContentStore::new(client, table);
    assert!(store.documents().await.is_ok(), "the relay relays");

    // No copy held yet: 503 with Retry-After.
    relay.cut();
    let cold = ContentApp::over_store(std::sync::Arc::new(store.clone()));
    let response = cold.get(NET).await;
    assert_problem(&response, 503);
    assert_eq!(response.header("retry-after"), Some("5"));

    // A copy held: served on while the table is unreachable, past its time to live.
    relay.restore();
    let warm = ContentApp::over_store(std::sync::Arc::new(store));
    let etag = warm.get(NET).await.header("etag").unwrap().to_owned();
    relay.cut();
    warm.expire_cache();
    let stale = warm.get(NET).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.header("etag"), Some(etag.as_str()));
}
