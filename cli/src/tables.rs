//! DynamoDB tables created from the definitions in `infra/template.yaml`, so
//! that local tables, test tables and deployed tables cannot drift apart.

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde_norway::Value;

/// The SAM template, compiled in: the one definition of every table.
pub const TEMPLATE: &str = include_str!("../../infra/template.yaml");

/// The template's logical ID of the bookings table.
pub const BOOKINGS: &str = "BookingsTable";
/// The template's logical ID of the guards table.
pub const GUARDS: &str = "GuardsTable";
/// The template's logical ID of the content table.
pub const CONTENT: &str = "ContentTable";

/// A table definition could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The template does not parse, or a table's definition is not understood.
    #[error("infra/template.yaml, {resource}: {message}")]
    Template {
        /// The logical ID of the resource.
        resource: String,
        /// What is wrong.
        message: String,
    },
    /// DynamoDB refused to create the table.
    #[error("creating table {table}: {message}")]
    Create {
        /// The table's name.
        table: String,
        /// DynamoDB's answer.
        message: String,
    },
}

/// Properties of a table that only matter in AWS (DynamoDB Local ignores or lacks them).
const AWS_ONLY: &[&str] = &[
    "PointInTimeRecoverySpecification",
    "SSESpecification",
    "DeletionProtectionEnabled",
    "Tags",
    "TableName",
    "ContributorInsightsSpecification",
];

/// Creates the table defined as `logical_id` in the template under `name`,
/// waits until it is active (at once on DynamoDB Local, up to a few minutes
/// in AWS) and enables its TTL.
pub async fn create(client: &Client, logical_id: &str, name: &str) -> Result<(), TableError> {
    let properties = properties(logical_id)?;
    let err = |message: String| TableError::Template {
        resource: logical_id.to_owned(),
        message,
    };
    let map = properties
        .as_mapping()
        .ok_or_else(|| err("Properties is not a mapping".into()))?;
    let mut request = client.create_table().table_name(name);
    let mut ttl = None;
    for (key, value) in map {
        let key = key.as_str().unwrap_or_default();
        match key {
            "BillingMode" => {
                request = request.billing_mode(BillingMode::from(text(value, key).map_err(err)?))
            }
            "AttributeDefinitions" => {
                for def in list(value, key).map_err(err)? {
                    request = request.attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name(field(def, "AttributeName").map_err(err)?)
                            .attribute_type(ScalarAttributeType::from(
                                field(def, "AttributeType").map_err(err)?,
                            ))
                            .build()
                            .map_err(|e| err(e.to_string()))?,
                    );
                }
            }
            "KeySchema" => {
                for element in key_schema(value).map_err(err)? {
                    request = request.key_schema(element);
                }
            }
            "StreamSpecification" => {
                request = request.stream_specification(
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::from(
                            field(value, "StreamViewType").map_err(err)?,
                        ))
                        .build()
                        .map_err(|e| err(e.to_string()))?,
                );
            }
            "TimeToLiveSpecification" => {
                if value.get("Enabled").and_then(Value::as_bool) == Some(true) {
                    ttl = Some(field(value, "AttributeName").map_err(err)?.to_owned());
                }
            }
            other if AWS_ONLY.contains(&other) => {}
            other => {
                return Err(err(format!(
                    "property {other} is not understood by the table loader"
                )))
            }
        }
    }
    let create_err = |e: String| TableError::Create {
        table: name.to_owned(),
        message: e,
    };
    request
        .send()
        .await
        .map_err(|e| create_err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    client
        .wait_until_table_exists()
        .table_name(name)
        .wait(std::time::Duration::from_secs(300))
        .await
        .map_err(|e| create_err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    if let Some(attribute) = ttl {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| create_err(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| create_err(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    }
    Ok(())
}

/// The `Properties` of a table resource in the template.
pub fn properties(logical_id: &str) -> Result<Value, TableError> {
    let err = |message: String| TableError::Template {
        resource: logical_id.to_owned(),
        message,
    };
    let template: Value = serde_norway::from_str(TEMPLATE).map_err(|e| err(e.to_string()))?;
    let resource = template
        .get("Resources")
        .and_then(|r| r.get(logical_id))
        .ok_or_else(|| err("no such resource".into()))?;
    if resource.get("Type").and_then(Value::as_str) != Some("AWS::DynamoDB::Table") {
        return Err(err("not an AWS::DynamoDB::Table".into()));
    }
    resource
        .get("Properties")
        .cloned()
        .ok_or_else(|| err("no Properties".into()))
}

fn text<'a>(value: &'a Value, name: &str) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("{name} is not a string"))
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a str, String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name} is missing or not a string"))
}

fn list<'a>(value: &'a Value, name: &str) -> Result<&'a Vec<Value>, String> {
    value
        .as_sequence()
        .ok_or_else(|| format!("{name} is not a list"))
}

fn key_schema(value: &Value) -> Result<Vec<KeySchemaElement>, String> {
    list(value, "KeySchema")?
        .iter()
        .map(|element| {
            KeySchemaElement::builder()
                .attribute_name(field(element, "AttributeName")?)
                .key_type(KeyType::from(field(element, "KeyType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_defines_every_table() {
        for id in [BOOKINGS, GUARDS] {
            let p = properties(id).unwrap();
            assert_eq!(
                p.get("BillingMode").and_then(Value::as_str),
                Some("PAY_PER_REQUEST")
            );
            assert!(p.get("TimeToLiveSpecification").is_some());
        }
        assert!(properties(BOOKINGS)
            .unwrap()
            .get("StreamSpecification")
            .is_some());
        let content = properties(CONTENT).unwrap();
        assert_eq!(content["KeySchema"].as_sequence().map(Vec::len), Some(2));
        assert!(content.get("StreamSpecification").is_none());
        assert!(properties("Nope").is_err());
    }
}
