//! DynamoDB Local's stream read through the real DynamoDB Streams API and
//! turned into the `DynamoDbEvent` that Lambda would deliver, so the
//! notifier's handler sees the real record shape.

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::Duration;

/// Reads a table's stream from its start, remembering where it got to.
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
    region: String,
    iterators: HashMap<String, Option<String>>,
}

impl StreamReader {
    /// A reader of `table`'s stream (on DynamoDB Local, through
    /// `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`).
    pub async fn open(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Self {
        let arn = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .expect("describe table")
            .table
            .and_then(|t| t.latest_stream_arn)
            .expect("the table has a stream (infra/template.yaml)");
        let sdk = frontdesk_shared::aws::load(Duration::from_secs(5)).await;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "eu-west-2".into());
        Self {
            client: aws_sdk_dynamodbstreams::Client::new(&sdk),
            arn,
            region,
            iterators: HashMap::new(),
        }
    }

    async fn read_once(&mut self) -> Vec<Record> {
        let stream = self
            .client
            .describe_stream()
            .stream_arn(&self.arn)
            .send()
            .await
            .expect("describe stream")
            .stream_description
            .expect("a stream description");
        let mut records = Vec::new();
        for shard in stream.shards() {
            let id = shard.shard_id().expect("shard id").to_owned();
            if !self.iterators.contains_key(&id) {
                let iterator = self
                    .client
                    .get_shard_iterator()
                    .stream_arn(&self.arn)
                    .shard_id(&id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .expect("shard iterator")
                    .shard_iterator;
                self.iterators.insert(id.clone(), iterator);
            }
            let Some(Some(iterator)) = self.iterators.get(&id).cloned() else {
                continue;
            };
            let out = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await
                .expect("get records");
            records.extend(out.records().iter().cloned());
            self.iterators.insert(id, out.next_shard_iterator);
        }
        records
    }

    /// The next `count` records, as one Lambda event (waits up to ten seconds).
    pub async fn next_event(&mut self, count: usize) -> Event {
        self.collect(count, |_| true).await
    }

    /// The next `count` INSERT records (new bookings), skipping the rest.
    pub async fn next_inserts(&mut self, count: usize) -> Event {
        self.collect(count, |r| {
            r.event_name().map(|n| n.as_str()) == Some("INSERT")
        })
        .await
    }

    /// The next `count` records the notifier's event source mapping would
    /// pass it ([`notifier_filters`]), skipping the rest.
    pub async fn next_passed(&mut self, count: usize) -> Event {
        let filters = notifier_filters();
        let arn = self.arn.clone();
        let region = self.region.clone();
        self.collect(count, move |r| {
            passes(&filters, &lambda_record_of(r, &arn, &region))
        })
        .await
    }

    async fn collect(&mut self, count: usize, keep: impl Fn(&Record) -> bool) -> Event {
        let mut records = Vec::new();
        for _ in 0..100 {
            records.extend(self.read_once().await.into_iter().filter(|r| keep(r)));
            if records.len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(records.len(), count, "stream records");
        let value = json!({
            "Records": records.iter().map(|r| self.lambda_record(r)).collect::<Vec<_>>()
        });
        serde_json::from_value(value).expect("a DynamoDbEvent")
    }

    /// A stream record as Lambda's event source mapping delivers it.
    fn lambda_record(&self, record: &Record) -> Value {
        lambda_record_of(record, &self.arn, &self.region)
    }
}

/// The patterns of the notifier's stream event source in
/// `infra/template.yaml`: a record passes when any matches it.
pub fn notifier_filters() -> Vec<Value> {
    let template: serde_norway::Value =
        serde_norway::from_str(frontdesk_cli::tables::TEMPLATE).expect("the template parses");
    template["Resources"]["NotifierFunction"]["Properties"]["Events"]["NewBookings"]["Properties"]
        ["FilterCriteria"]["Filters"]
        .as_sequence()
        .expect("the notifier's filters")
        .iter()
        .map(|filter| {
            let pattern = filter["Pattern"].as_str().expect("a pattern");
            serde_json::from_str(pattern).expect("a JSON pattern")
        })
        .collect()
}

/// Whether Lambda's event filtering passes `record` (as the event source
/// mapping delivers it) through `filters`: any pattern matching it. Only
/// the syntax the template uses is read (objects of fields, lists of
/// literal values or `{"exists": true|false}`); anything else panics, so a
/// pattern the tests cannot evaluate is never taken to pass.
pub fn passes(filters: &[Value], record: &Value) -> bool {
    filters.iter().any(|pattern| matches(pattern, Some(record)))
}

fn matches(pattern: &Value, value: Option<&Value>) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(name, inner)| matches(inner, value.and_then(|v| v.get(name)))),
        Value::Array(alternatives) => alternatives.iter().any(|alternative| match alternative {
            Value::Object(rule) => match rule.get("exists").and_then(Value::as_bool) {
                Some(exists) if rule.len() == 1 => value.is_some() == exists,
                _ => panic!("a filter rule the tests cannot read: {alternative}"),
            },
            literal => value == Some(literal),
        }),
        other => panic!("a filter pattern the tests cannot read: {other}"),
    }
}

/// A stream record as Lambda's event source mapping delivers it.
fn lambda_record_of(record: &Record, arn: &str, region: &str) -> Value {
    let change = record.dynamodb().expect("a change");
    let image = |item: Option<&HashMap<String, AttributeValue>>| -> Value {
        Value::Object(
            item.map(|m| m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect())
                .unwrap_or_default(),
        )
    };
    let mut dynamodb = Map::new();
    if let Some(at) = change.approximate_creation_date_time() {
        dynamodb.insert(
            "ApproximateCreationDateTime".into(),
            json!(at.secs() as f64),
        );
    }
    dynamodb.insert("Keys".into(), image(change.keys()));
    if change.new_image().is_some() {
        dynamodb.insert("NewImage".into(), image(change.new_image()));
    }
    if change.old_image().is_some() {
        dynamodb.insert("OldImage".into(), image(change.old_image()));
    }
    dynamodb.insert("SequenceNumber".into(), json!(change.sequence_number()));
    dynamodb.insert("SizeBytes".into(), json!(change.size_bytes()));
    dynamodb.insert(
        "StreamViewType".into(),
        json!(change.stream_view_type().map(|t| t.as_str())),
    );
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventVersion": record.event_version(),
        "eventSource": record.event_source(),
        "awsRegion": record.aws_region().unwrap_or(region),
        "dynamodb": dynamodb,
        "eventSourceARN": arn,
    })
}

/// An attribute value in DynamoDB's JSON form.
fn attribute(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::L(v) => json!({ "L": v.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({
            "M": m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect::<Map<_, _>>()
        }),
        other => panic!("bookings hold no binary attributes: {other:?}"),
    }
}
