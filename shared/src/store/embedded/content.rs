//! The content store in SQLite: a `content` table of documents, replaced in
//! one transaction per push.

use super::{unavailable, EmbeddedBookingStore};
use crate::content::{Changes, ContentStore, Document, DocumentKey, Kind};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::params;

impl EmbeddedBookingStore {
    /// The documents `filter` (an SQL condition on `key`, with `?1` bound
    /// to `kind`) picks, in key order.
    async fn select(
        &self,
        filter: &'static str,
        kind: &'static str,
    ) -> Result<Vec<Document>, StoreError> {
        self.with_conn(move |conn| {
            let mut statement = conn
                .prepare(&format!(
                    "SELECT key, json, hash FROM content WHERE {filter} ORDER BY key"
                ))
                .map_err(unavailable)?;
            let rows = statement
                .query_map([kind], |row| {
                    Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
                })
                .map_err(unavailable)?;
            let mut documents = Vec::new();
            for row in rows {
                let (key, json, hash) = row.map_err(unavailable)?;
                documents.push(Document {
                    key: DocumentKey::parse(&key)?,
                    json,
                    hash,
                });
            }
            Ok(documents)
        })
        .await
    }
}

#[async_trait]
impl ContentStore for EmbeddedBookingStore {
    async fn documents(&self) -> Result<Vec<Document>, StoreError> {
        self.select("?1 = ?1", "").await
    }

    async fn documents_of(&self, kind: Kind) -> Result<Vec<Document>, StoreError> {
        // `kind` alone, or `kind/` and a slug.
        self.select(
            "key = ?1 OR substr(key, 1, length(?1) + 1) = ?1 || '/'",
            kind.as_str(),
        )
        .await
    }

    async fn apply(&self, changes: &Changes) -> Result<(), StoreError> {
        let changes = changes.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(unavailable)?;
            for document in &changes.put {
                tx.execute(
                    "INSERT OR REPLACE INTO content (key, json, hash) VALUES (?1, ?2, ?3)",
                    params![document.key.as_str(), document.json, document.hash],
                )
                .map_err(unavailable)?;
            }
            for key in &changes.remove {
                tx.execute("DELETE FROM content WHERE key = ?1", [key.as_str()])
                    .map_err(unavailable)?;
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }
}
