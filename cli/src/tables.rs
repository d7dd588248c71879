//! DynamoDB tables created from the definitions in `infra/template.yaml`, so
//! that local tables, test tables and deployed tables cannot drift apart.

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TableDescription,
    TimeToLiveSpecification, TimeToLiveStatus,
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
/// The template's logical ID of the desk's audit table.
pub const AUDIT: &str = "AuditTable";
/// The template's logical ID of the marketing register.
pub const MARKETING: &str = "MarketingTable";

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
    /// It existed with the template's keys but lacked what a table made by
    /// an earlier run or version may lack, which was added: its TTL (a run
    /// stopped between creating and enabling TTL), its indexes (a table
    /// made before they were defined).
    Repaired {
        /// The TTL was switched on.
        ttl: bool,
        /// How many indexes were added.
        indexes: usize,
    },
}

impl std::fmt::Display for Ensured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Created => f.write_str("created"),
            Self::Kept => f.write_str("kept (it already matches)"),
            Self::Repaired { ttl, indexes } => {
                let indexes = match indexes {
                    0 => None,
                    1 => Some("its missing index added".to_owned()),
                    n => Some(format!("its {n} missing indexes added")),
                };
                match (ttl, indexes) {
                    (true, Some(indexes)) => write!(f, "kept, its TTL switched on and {indexes}"),
                    (true, None) => f.write_str("kept, and its TTL switched on"),
                    (false, Some(indexes)) => write!(f, "kept, and {indexes}"),
                    (false, None) => f.write_str("kept (it already matches)"),
                }
            }
        }
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
    "ResourcePolicy",
];

/// A list item as the local loader reads it: the value an `!If` would
/// take with its condition true (locally every conditional index exists),
/// `None` for `!Ref AWS::NoValue`.
fn unconditional(value: &Value) -> Option<&Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "If" => tagged
            .value
            .as_sequence()
            .and_then(|branches| branches.get(1))
            .and_then(unconditional),
        Value::Tagged(tagged)
            if tagged.tag == "Ref" && tagged.value.as_str() == Some("AWS::NoValue") =>
        {
            None
        }
        other => Some(other),
    }
}

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
    indexes: Vec<IndexDefinition>,
}

/// A global secondary index as the template defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IndexDefinition {
    name: String,
    key: Vec<(String, KeyType)>,
    projection: ProjectionType,
    attributes: Vec<String>,
}

impl IndexDefinition {
    fn parse(value: &Value) -> Result<Self, String> {
        let mut key = Vec::new();
        let member = |name: &str| {
            value
                .get(name)
                .ok_or_else(|| format!("an index without {name}"))
        };
        for element in list(member("KeySchema")?, "KeySchema")? {
            key.push((
                field(element, "AttributeName")?.to_owned(),
                KeyType::from(field(element, "KeyType")?),
            ));
        }
        if let Some(map) = value.as_mapping() {
            for key in map.keys() {
                let key = key.as_str().unwrap_or_default();
                if !["IndexName", "KeySchema", "Projection"].contains(&key) {
                    return Err(format!(
                        "index property {key} is not understood by the table loader"
                    ));
                }
            }
        }
        let projection = value
            .get("Projection")
            .ok_or_else(|| "an index without Projection".to_owned())?;
        let attributes = match projection.get("NonKeyAttributes") {
            Some(attributes) => list(attributes, "NonKeyAttributes")?
                .iter()
                .map(|a| {
                    a.as_str()
                        .map(str::to_owned)
                        .ok_or("NonKeyAttributes holds a non-string")
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        Ok(Self {
            name: field(value, "IndexName")?.to_owned(),
            key,
            projection: ProjectionType::from(field(projection, "ProjectionType")?),
            attributes,
        })
    }

    /// How it reads in a difference: name, key and projection.
    fn describe(&self) -> String {
        let key: Vec<String> = self.key.iter().map(|(n, t)| format!("{n} {t}")).collect();
        let mut attributes = self.attributes.clone();
        attributes.sort();
        format!(
            "{} ({}; {} {})",
            self.name,
            key.join(", "),
            self.projection,
            attributes.join(" ")
        )
    }

    fn of_table(index: &aws_sdk_dynamodb::types::GlobalSecondaryIndexDescription) -> Self {
        let projection = index.projection();
        Self {
            name: index.index_name().unwrap_or_default().to_owned(),
            key: index
                .key_schema()
                .iter()
                .map(|k| (k.attribute_name().to_owned(), k.key_type().clone()))
                .collect(),
            projection: projection
                .and_then(|p| p.projection_type())
                .cloned()
                .unwrap_or(ProjectionType::All),
            attributes: projection
                .map(|p| p.non_key_attributes().to_vec())
                .unwrap_or_default(),
        }
    }

    fn key_schema(&self) -> Result<Vec<KeySchemaElement>, aws_sdk_dynamodb::error::BuildError> {
        self.key
            .iter()
            .map(|(attribute, kind)| {
                KeySchemaElement::builder()
                    .attribute_name(attribute)
                    .key_type(kind.clone())
                    .build()
            })
            .collect()
    }

    fn projection(&self) -> Projection {
        Projection::builder()
            .projection_type(self.projection.clone())
            .set_non_key_attributes((!self.attributes.is_empty()).then(|| self.attributes.clone()))
            .build()
    }
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
            indexes: Vec::new(),
        };
        for (key, value) in map {
            let key = key.as_str().unwrap_or_default();
            match key {
                "BillingMode" => {
                    definition.billing_mode = BillingMode::from(text(value, key).map_err(err)?)
                }
                "AttributeDefinitions" => {
                    for def in list(value, key)
                        .map_err(err)?
                        .iter()
                        .filter_map(unconditional)
                    {
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
                "GlobalSecondaryIndexes" => {
                    for index in list(value, key)
                        .map_err(err)?
                        .iter()
                        .filter_map(unconditional)
                    {
                        definition
                            .indexes
                            .push(IndexDefinition::parse(index).map_err(err)?);
                    }
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
        // DynamoDB lists only the attributes of keys: a table's own, and its
        // indexes'. One that lacks an index the template has (and `ensure`
        // adds) lacks that index's attributes too.
        let keyed = |name: &str| {
            self.key.iter().any(|(n, _)| n == name)
                || self.indexes.iter().any(|index| {
                    table
                        .global_secondary_indexes()
                        .iter()
                        .any(|has| has.index_name() == Some(index.name.as_str()))
                        && index.key.iter().any(|(n, _)| n == name)
                })
        };
        let wanted: BTreeMap<&str, String> = self
            .attributes
            .iter()
            .filter(|(n, _)| keyed(n))
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
        for has in table.global_secondary_indexes() {
            let has = IndexDefinition::of_table(has);
            match self.indexes.iter().find(|wants| wants.name == has.name) {
                Some(wants) => differ("index", has.describe(), wants.describe()),
                None => differ("index", has.describe(), "no such index".into()),
            }
        }
        differences
    }

    /// The template's indexes `table` does not have yet.
    fn missing_indexes(&self, table: &TableDescription) -> Vec<&IndexDefinition> {
        self.indexes
            .iter()
            .filter(|wants| {
                !table
                    .global_secondary_indexes()
                    .iter()
                    .any(|has| has.index_name() == Some(wants.name.as_str()))
            })
            .collect()
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
    let mut ttl_enabled = false;
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
    // An index still being built (by an earlier run stopped while waiting)
    // is waited for, not taken as ready.
    for index in table.global_secondary_indexes() {
        if index.index_status() != Some(&IndexStatus::Active) {
            let index = index.index_name().unwrap_or_default();
            wait_for_index(client, name, index)
                .await
                .map_err(dynamo("waiting for an index of"))?;
        }
    }
    // DynamoDB adds one index per UpdateTable, each after the last is active.
    let mut added = 0;
    for index in definition.missing_indexes(&table) {
        let action = CreateGlobalSecondaryIndexAction::builder()
            .index_name(&index.name)
            .set_key_schema(Some(
                index
                    .key_schema()
                    .map_err(|e| dynamo("adding an index to")(e.to_string()))?,
            ))
            .projection(index.projection())
            .build()
            .map_err(|e| dynamo("adding an index to")(e.to_string()))?;
        client
            .update_table()
            .table_name(name)
            .set_attribute_definitions(Some(
                definition
                    .attribute_definitions()
                    .map_err(|e| dynamo("adding an index to")(e.to_string()))?
                    .into_iter()
                    .filter(|a| {
                        let name = a.attribute_name();
                        definition.key.iter().any(|(n, _)| n == name)
                            || index.key.iter().any(|(n, _)| n == name)
                    })
                    .collect(),
            ))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(action).build(),
            )
            .send()
            .await
            .map_err(|e| dynamo("adding an index to")(explain(&e)))?;
        wait_for_index(client, name, &index.name)
            .await
            .map_err(dynamo("waiting for an index of"))?;
        added += 1;
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
            ttl_enabled = true;
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
    if ensured == Ensured::Kept && (ttl_enabled || added > 0) {
        ensured = Ensured::Repaired {
            ttl: ttl_enabled,
            indexes: added,
        };
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
    request =
        request.set_attribute_definitions(Some(definition.attribute_definitions().map_err(err)?));
    for index in &definition.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(index.key_schema().map_err(err)?))
                .projection(index.projection())
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

impl TableDefinition {
    /// The template's attribute definitions, as DynamoDB takes them.
    fn attribute_definitions(
        &self,
    ) -> Result<Vec<AttributeDefinition>, aws_sdk_dynamodb::error::BuildError> {
        self.attributes
            .iter()
            .map(|(attribute, kind)| {
                AttributeDefinition::builder()
                    .attribute_name(attribute)
                    .attribute_type(kind.clone())
                    .build()
            })
            .collect()
    }
}

/// Waits, up to five minutes, until the index `index` of `table` is active.
async fn wait_for_index(client: &Client, table: &str, index: &str) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| explain(&e))?;
        let status = described
            .table()
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .find(|i| i.index_name() == Some(index))
            .and_then(|i| i.index_status().cloned());
        if status == Some(IndexStatus::Active) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("index {index} is not active after five minutes"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
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
        let bookings = TableDefinition::from_template(BOOKINGS).unwrap();
        let indexes: Vec<&str> = bookings.indexes.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            indexes,
            [
                "inbox",
                "inbox_by_specialty",
                "by_subject_email",
                "by_subject_phone"
            ],
            "the !If indexes are read"
        );
        for attribute in ["desk_lane", "subject_email", "subject_phone"] {
            assert!(bookings.attributes.contains_key(attribute), "{attribute}");
        }
        let audit = TableDefinition::from_template(AUDIT).unwrap();
        assert_eq!(audit.indexes.len(), 1);
        let content = properties(CONTENT).unwrap();
        assert_eq!(content["KeySchema"].as_sequence().map(Vec::len), Some(2));
        assert!(content.get("StreamSpecification").is_none());
        assert!(properties("Nope").is_err());
    }
}
