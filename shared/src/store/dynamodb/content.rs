//! The content store on DynamoDB: one item per document in a single
//! partition, so the whole content is one `Query`, and a push is one
//! `TransactWriteItems` per 100 changes.

use super::{classify, s};
use crate::content::{Changes, ContentStore, Document, DocumentKey, Kind};
use crate::store::StoreError;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

/// The partition every document is in: the content is small and read whole.
const PARTITION: &str = "content";

/// The most actions one DynamoDB transaction takes.
const TRANSACTION_MAX: usize = 100;

/// Content documents in a DynamoDB table (`pk`, `sk` = the document key).
#[derive(Debug, Clone)]
pub struct DynamoContentStore {
    client: Client,
    table: String,
}

impl DynamoContentStore {
    /// A store over `client`, which `main` builds once.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(StoreError::Corrupt(format!(
            "a content item without {name}"
        ))),
    }
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Misconfigured(e.to_string())
}

impl DynamoContentStore {
    /// The documents whose keys begin with `prefix` (all of them for an
    /// empty one), every page of the `Query` read.
    async fn query(&self, prefix: &str) -> Result<Vec<Document>, StoreError> {
        let mut documents = Vec::new();
        let mut start = None;
        let mut values = HashMap::from([(":pk".to_owned(), s(PARTITION))]);
        let condition = if prefix.is_empty() {
            "pk = :pk"
        } else {
            values.insert(":prefix".to_owned(), s(prefix));
            "pk = :pk AND begins_with(sk, :prefix)"
        };
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            for item in page.items() {
                documents.push(Document {
                    key: DocumentKey::parse(text(item, "sk")?)?,
                    json: text(item, "json")?.to_owned(),
                    hash: text(item, "hash")?.to_owned(),
                });
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(documents),
            }
        }
    }
}

#[async_trait]
impl ContentStore for DynamoContentStore {
    async fn documents(&self) -> Result<Vec<Document>, StoreError> {
        self.query("").await
    }

    async fn documents_of(&self, kind: Kind) -> Result<Vec<Document>, StoreError> {
        // Keys are `kind` or `kind/slug`; a kind whose name begins another's
        // (none does today) is filtered out here.
        let mut documents = self.query(kind.as_str()).await?;
        documents.retain(|document| document.key.kind() == Some(kind));
        Ok(documents)
    }

    async fn apply(&self, changes: &Changes) -> Result<(), StoreError> {
        let mut actions = Vec::with_capacity(changes.put.len() + changes.remove.len());
        for document in &changes.put {
            let put = Put::builder()
                .table_name(&self.table)
                .item("pk", s(PARTITION))
                .item("sk", s(document.key.as_str()))
                .item("json", s(&document.json))
                .item("hash", s(&document.hash))
                .build()
                .map_err(build_error)?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        for key in &changes.remove {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("pk", s(PARTITION))
                .key("sk", s(key.as_str()))
                .build()
                .map_err(build_error)?;
            actions.push(TransactWriteItem::builder().delete(delete).build());
        }
        for chunk in actions.chunks(TRANSACTION_MAX) {
            self.client
                .transact_write_items()
                .set_transact_items(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify(&e))?;
        }
        Ok(())
    }
}
