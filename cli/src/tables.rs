//! DynamoDB tables created from the definitions in `infra/template.yaml`, so
//! that local tables, test tables and deployed tables cannot drift apart.

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableDescription, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use frontdesk_shared::aws::explain;
use serde_norway::Value;
use std::collections::BTreeMap;

/// The SAM template, compiled in: the one definition of every table.
pub const TEMPLATE: &str = include_str!("../../infra/template.yaml");

/// The template's logical ID of the bookings table.
pub const BOOKINGS: &str = "BookingsTable";
/// The template's logical ID of the guards table.
pub const GUARDS: &str = "GuardsTable";
/// The template's logical ID of the content table.
pub const CONTENT: &str = "ContentTable";

/// The bound on one table operation, retries included: creating a table
/// is slower than reading an item, most of all on a busy DynamoDB Local.
pub const CONTROL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A table could not be made to match its definition.
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
    /// DynamoDB could not be asked, or refused.
    #[error("{action} table {table}: {reason}\n  (is DynamoDB reachable at AWS_ENDPOINT_URL_DYNAMODB, or are AWS_REGION and credentials set? --verbose shows the SDK's error)")]
    Dynamo {
        /// What was being done (`creating`, `reading`, `enabling TTL on`).
        action: &'static str,
        /// The table's name.
        table: String,
        /// Why, in one line.
        reason: String,
    },
    /// A table of that name exists with another definition; it is left as it is.
    #[error("table {table} exists but is not {resource} of infra/template.yaml: {}\n  (delete the table, or name another one in the environment variable for it)", differences.join("; "))]
    Differs {
        /// The table's name.
        table: String,
        /// The template's logical ID.
        resource: String,
        /// Each difference, as `what: table has X, template has Y`.
        differences: Vec<String>,
    },
}

/// What `ensure` did with a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// It did not exist and was created.
    Created,
    /// It existed with the template's definition and was kept as it is.
    Kept,
    /// It existed with the template's keys but without its TTL, which was
    /// switched on (a run stopped between creating and enabling TTL).
    TtlEnabled,
}

impl std::fmt::Display for Ensured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Created => "created",
            Self::Kept => "kept (it already matches)",
            Self::TtlEnabled => "kept, and its TTL switched on",
        })
    }
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

/// A table as the template defines it: the part DynamoDB Local can hold,
/// which `ensure` creates and compares with a table that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// The template's logical ID.
    pub logical_id: String,
    billing_mode: BillingMode,
    attributes: BTreeMap<String, ScalarAttributeType>,
    key: Vec<(String, KeyType)>,
    stream: Option<StreamViewType>,
    ttl: Option<String>,
}

impl TableDefinition {
    /// Reads the definition of `logical_id` from the template.
    pub fn from_template(logical_id: &str) -> Result<Self, TableError> {
        let properties = properties(logical_id)?;
        let err = |message: String| TableError::Template {
            resource: logical_id.to_owned(),
            message,
        };
        let map = properties
            .as_mapping()
            .ok_or_else(|| err("Properties is not a mapping".into()))?;
        let mut definition = Self {
            logical_id: logical_id.to_owned(),
            billing_mode: BillingMode::Provisioned,
            attributes: BTreeMap::new(),
            key: Vec::new(),
            stream: None,
            ttl: None,
        };
        for (key, value) in map {
            let key = key.as_str().unwrap_or_default();
            match key {
                "BillingMode" => {
                    definition.billing_mode = BillingMode::from(text(value, key).map_err(err)?)
                }
                "AttributeDefinitions" => {
                    for def in list(value, key).map_err(err)? {
                        definition.attributes.insert(
                            field(def, "AttributeName").map_err(err)?.to_owned(),
                            ScalarAttributeType::from(field(def, "AttributeType").map_err(err)?),
                        );
                    }
                }
                "KeySchema" => {
                    for element in list(value, key).map_err(err)? {
                        definition.key.push((
                            field(element, "AttributeName").map_err(err)?.to_owned(),
                            KeyType::from(field(element, "KeyType").map_err(err)?),
                        ));
                    }
                }
                "StreamSpecification" => {
                    definition.stream = Some(StreamViewType::from(
                        field(value, "StreamViewType").map_err(err)?,
                    ))
                }
                "TimeToLiveSpecification" => {
                    if value.get("Enabled").and_then(Value::as_bool) == Some(true) {
                        definition.ttl =
                            Some(field(value, "AttributeName").map_err(err)?.to_owned());
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
        Ok(definition)
    }

    /// How an existing table differs from this definition (empty when it
    /// matches), leaving the TTL aside.
    fn differences(&self, table: &TableDescription) -> Vec<String> {
        let mut differences = Vec::new();
        let mut differ = |what: &str, has: String, wants: String| {
            if has != wants {
                differences.push(format!("{what}: table has {has}, template has {wants}"));
            }
        };
        let key: Vec<String> = table
            .key_schema()
            .iter()
            .map(|k| format!("{} {}", k.attribute_name(), k.key_type()))
            .collect();
        let wanted_key: Vec<String> = self.key.iter().map(|(n, t)| format!("{n} {t}")).collect();
        differ("key", key.join(", "), wanted_key.join(", "));
        let attributes: BTreeMap<&str, String> = table
            .attribute_definitions()
            .iter()
            .map(|a| (a.attribute_name(), a.attribute_type().to_string()))
            .collect();
        let wanted: BTreeMap<&str, String> = self
            .attributes
            .iter()
            .map(|(n, t)| (n.as_str(), t.to_string()))
            .collect();
        let show = |attributes: BTreeMap<&str, String>| {
            let listed: Vec<String> = attributes.iter().map(|(n, t)| format!("{n} {t}")).collect();
            listed.join(", ")
        };
        differ("attributes", show(attributes), show(wanted));
        let billing = table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .cloned()
            .unwrap_or(BillingMode::Provisioned);
        differ(
            "billing mode",
            billing.to_string(),
            self.billing_mode.to_string(),
        );
        let show = |view: Option<&StreamViewType>| {
            view.map_or("no stream".to_owned(), |v| format!("stream {v}"))
        };
        let stream = table
            .stream_specification()
            .filter(|s| s.stream_enabled())
            .and_then(|s| s.stream_view_type());
        differ("stream", show(stream), show(self.stream.as_ref()));
        differences
    }
}

/// Makes the table `name` hold the template's definition of `logical_id`:
/// creates it when it is missing, keeps it when it matches, switches on a
/// missing TTL, and refuses (changing nothing) when it differs. Safe to run
/// any number of times, and after a first attempt that DynamoDB applied but
/// answered too late (its retry meets a table "already there").
pub async fn ensure(client: &Client, logical_id: &str, name: &str) -> Result<Ensured, TableError> {
    let definition = TableDefinition::from_template(logical_id)?;
    let dynamo = |action: &'static str| {
        move |reason: String| TableError::Dynamo {
            action,
            table: name.to_owned(),
            reason,
        }
    };
    let mut ensured = Ensured::Kept;
    let exists = match client.describe_table().table_name(name).send().await {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(e) => return Err(dynamo("reading")(explain(&e))),
    };
    if !exists {
        match create_request(client, &definition, name)?.send().await {
            Ok(_) => ensured = Ensured::Created,
            // Made between the read and now: by this call's own first
            // attempt, answered too late, or by someone else. It is
            // compared below like any table that exists.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => return Err(dynamo("creating")(explain(&e))),
        }
    }
    let table = client
        .wait_until_table_exists()
        .table_name(name)
        .wait(std::time::Duration::from_secs(300))
        .await
        .map_err(|e| dynamo("waiting for")(waiting(&e)))?
        .into_result()
        .map_err(|e| dynamo("waiting for")(explain(&e)))?
        .table
        .ok_or_else(|| dynamo("reading")("DynamoDB described no table".into()))?;
    let differs = |differences| TableError::Differs {
        table: name.to_owned(),
        resource: logical_id.to_owned(),
        differences,
    };
    let differences = definition.differences(&table);
    if !differences.is_empty() {
        return Err(differs(differences));
    }
    let ttl = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| dynamo("reading the TTL of")(explain(&e)))?;
    let ttl = ttl.time_to_live_description();
    let enabled = ttl
        .filter(|t| {
            matches!(
                t.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
        })
        .and_then(|t| t.attribute_name());
    match (enabled, &definition.ttl) {
        (Some(has), Some(wants)) if has == wants => {}
        (None, None) => {}
        (None, Some(wants)) => {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(wants)
                        .enabled(true)
                        .build()
                        .map_err(|e| dynamo("enabling TTL on")(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| dynamo("enabling TTL on")(explain(&e)))?;
            if ensured == Ensured::Kept {
                ensured = Ensured::TtlEnabled;
            }
        }
        (has, wants) => {
            let show =
                |ttl: Option<&str>| ttl.map_or("no TTL".to_owned(), |a| format!("TTL on {a}"));
            return Err(differs(vec![format!(
                "ttl: table has {}, template has {}",
                show(has),
                show(wants.as_deref())
            )]));
        }
    }
    Ok(ensured)
}

/// The `CreateTable` request for a definition.
fn create_request(
    client: &Client,
    definition: &TableDefinition,
    name: &str,
) -> Result<aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder, TableError>
{
    let err = |e: aws_sdk_dynamodb::error::BuildError| TableError::Template {
        resource: definition.logical_id.clone(),
        message: e.to_string(),
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(definition.billing_mode.clone());
    for (attribute, kind) in &definition.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(kind.clone())
                .build()
                .map_err(err)?,
        );
    }
    for (attribute, kind) in &definition.key {
        request = request.key_schema(
            KeySchemaElement::builder()
                .attribute_name(attribute)
                .key_type(kind.clone())
                .build()
                .map_err(err)?,
        );
    }
    if let Some(view) = &definition.stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view.clone())
                .build()
                .map_err(err)?,
        );
    }
    Ok(request)
}

/// Why waiting for a table to be active ended without it.
fn waiting(error: &aws_sdk_dynamodb::waiters::table_exists::WaitUntilTableExistsError) -> String {
    use aws_smithy_runtime_api::client::waiters::error::WaiterError;
    match error {
        WaiterError::ExceededMaxWait(_) => "not active after five minutes".into(),
        WaiterError::OperationFailed(failed) => explain(failed.error()),
        other => other.to_string(),
    }
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
