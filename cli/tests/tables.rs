//! `frontdesk tables create` against DynamoDB Local: it can be run twice,
//! keeps a table that is already as the template defines it, names how one
//! that is not differs (and leaves it alone), and survives the retry that
//! follows a first `CreateTable` answered too late.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use frontdesk_cli::tables::{self, Ensured};
use frontdesk_tests::proxy::HoldingProxy;
use frontdesk_tests::{dynamodb_endpoint, logs};
use std::process::Command;
use std::time::Duration;

/// Three table names no other test uses.
fn names(label: &str) -> [String; 5] {
    let tag = format!(
        "{label}-{}-{}",
        std::process::id(),
        frontdesk_tests::random_tag()
    );
    ["bookings", "guards", "content", "audit", "marketing"].map(|kind| format!("{kind}-{tag}"))
}

/// Runs `frontdesk tables create` for `names` (bookings, guards, content,
/// audit, marketing) against `endpoint`: whether it succeeded, stdout, stderr.
fn tables_create(endpoint: &str, names: &[String; 5]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["tables", "create"])
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        .env("BOOKINGS_TABLE", &names[0])
        .env("GUARDS_TABLE", &names[1])
        .env("CONTENT_TABLE", &names[2])
        .env("AUDIT_TABLE", &names[3])
        .env("MARKETING_TABLE", &names[4])
        .output()
        .expect("frontdesk runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    logs::check_output("frontdesk tables create", &stdout);
    logs::check_output("frontdesk tables create", &stderr);
    (output.status.success(), stdout, stderr)
}

async fn client(endpoint: &str, timeout: Duration) -> aws_sdk_dynamodb::Client {
    let sdk = frontdesk_shared::aws::load(timeout).await;
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .build(),
    )
}

/// A `CreateTable` for an on-demand table with a hash key of `kind`.
fn create_keyed(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    key: &str,
    kind: ScalarAttributeType,
) -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(kind)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
}

#[tokio::test]
async fn run_twice_it_creates_the_tables_then_keeps_them() {
    let names = names("twice");
    let (ok, stdout, stderr) = tables_create(&dynamodb_endpoint(), &names);
    assert!(ok, "{stderr}");
    for name in &names {
        assert!(stdout.contains(&format!("{name} (")), "{stdout}");
    }
    assert_eq!(stdout.matches(": created").count(), 5, "{stdout}");

    let (ok, stdout, stderr) = tables_create(&dynamodb_endpoint(), &names);
    assert!(ok, "the second run fails: {stderr}");
    assert_eq!(stdout.matches(": kept (").count(), 5, "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[tokio::test]
async fn a_table_already_there_is_kept_or_its_difference_named() {
    let names = names("there");
    let client = client(&dynamodb_endpoint(), Duration::from_secs(30)).await;
    // The bookings table as the template defines it, but without its TTL
    // (as a run stopped between the two calls leaves it).
    let definition = tables::properties(tables::BOOKINGS).unwrap();
    let key = definition["KeySchema"][0]["AttributeName"]
        .as_str()
        .unwrap();
    let stream = aws_sdk_dynamodb::types::StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::from(
            definition["StreamSpecification"]["StreamViewType"]
                .as_str()
                .unwrap(),
        ))
        .build()
        .unwrap();
    create_keyed(&client, &names[0], key, ScalarAttributeType::S)
        .stream_specification(stream)
        .send()
        .await
        .expect("a bookings table");
    // A guards table keyed on another attribute.
    create_keyed(&client, &names[1], "id", ScalarAttributeType::N)
        .send()
        .await
        .expect("a guards table");

    let (ok, stdout, stderr) = tables_create(&dynamodb_endpoint(), &names);
    assert!(!ok, "a table that differs must fail the command: {stdout}");
    assert!(
        stdout.contains(&format!(
            "{} (BookingsTable in infra/template.yaml): kept, its TTL switched on and its 4 missing indexes added",
            names[0]
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} (", names[2])) && stdout.contains(": created"),
        "the content table is made though the guards table differs: {stdout}"
    );
    assert!(
        stderr.contains(&format!("table {} exists but is not GuardsTable", names[1]))
            && stderr.contains("key: table has id HASH, template has"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("ErrorMetadata") && !stderr.contains("{"),
        "{stderr}"
    );
    let bookings = client
        .describe_table()
        .table_name(&names[0])
        .send()
        .await
        .unwrap();
    let mut indexes: Vec<&str> = bookings
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .filter(|i| i.index_status() == Some(&aws_sdk_dynamodb::types::IndexStatus::Active))
        .filter_map(|i| i.index_name())
        .collect();
    indexes.sort();
    assert_eq!(
        indexes,
        [
            "by_subject_email",
            "by_subject_phone",
            "inbox",
            "inbox_by_specialty"
        ],
        "each added, and active"
    );
    let guards = client
        .describe_table()
        .table_name(&names[1])
        .send()
        .await
        .unwrap();
    assert_eq!(
        guards.table().unwrap().key_schema()[0].attribute_name(),
        "id",
        "the table that differs is left as it was"
    );
}

#[tokio::test]
async fn an_unreachable_dynamodb_is_one_readable_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (ok, stdout, stderr) = tables_create(&nowhere, &names("nowhere"));
    assert!(!ok);
    assert!(stdout.is_empty(), "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() <= 2, "{stderr}");
    assert!(
        lines[0].starts_with("frontdesk: reading table bookings-nowhere")
            && lines[0].contains("could not connect"),
        "{stderr}"
    );
    assert!(lines[1].contains("AWS_ENDPOINT_URL_DYNAMODB"), "{stderr}");
}

#[tokio::test]
async fn a_create_table_answered_too_late_is_retried_into_a_table_that_matches() {
    let proxy = HoldingProxy::start(&dynamodb_endpoint(), "CreateTable").await;
    // Each attempt may wait a second, so the first CreateTable, applied and
    // held, is timed out and sent again, and DynamoDB answers the second
    // "Cannot create preexisting table".
    let client = client(&proxy.endpoint(), Duration::from_secs(3)).await;
    let [bookings, ..] = names("late");
    let ensure = tokio::spawn({
        let bookings = bookings.clone();
        async move { tables::ensure(&client, tables::BOOKINGS, &bookings).await }
    });
    proxy.applied().await;
    proxy.applied().await;
    proxy.release();
    proxy.release();
    let ensured = ensure
        .await
        .unwrap()
        .expect("the retried create ends in a table");
    assert_ne!(ensured, Ensured::Created, "the retry found the table made");
    let (ok, stdout, stderr) = tables_create(
        &dynamodb_endpoint(),
        &[
            bookings.clone(),
            names("late2")[1].clone(),
            names("late3")[2].clone(),
            names("late4")[3].clone(),
            names("late5")[4].clone(),
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "{bookings} (BookingsTable in infra/template.yaml): kept ("
        )),
        "{stdout}"
    );
}
