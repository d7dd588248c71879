//! The content store in SQLite: a `content` table of documents, replaced in
//! one transaction per push.

use super::{unavailable, EmbeddedBookingStore};
use crate::content::{Changes, ContentStore, Document, DocumentKey};
use crate::store::StoreError;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl ContentStore for EmbeddedBookingStore {
    async fn documents(&self) -> Result<Vec<Document>, StoreError> {
        self.with_conn(|conn| {
            let mut statement = conn
                .prepare("SELECT key, json, hash FROM content ORDER BY key")
                .map_err(unavailable)?;
            let rows = statement
                .query_map([], |row| {
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
