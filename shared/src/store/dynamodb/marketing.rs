//! The marketing register's DynamoDB adapter: one item per channel and
//! address tag in `MarketingTable`, and the repair that registers the
//! opt-ins of stored bookings the register missed.

use super::{booking_of_item, classify, n, s, unless_condition_failed, DynamoBookingStore};
use crate::booking::record::rfc3339;
use crate::booking::Reference;
use crate::rights::marketing::{MarketingRegister, OptIn, OptInRecord};
use crate::store::StoreError;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

impl DynamoBookingStore {
    /// The marketing table, or the error of a store built without one.
    pub(super) fn marketing(&self) -> Result<&str, StoreError> {
        self.marketing_table
            .as_deref()
            .ok_or_else(|| StoreError::Misconfigured("no marketing table is configured".into()))
    }

    /// Registers the opt-ins of stored bookings that the register has no
    /// entry for (a put that failed when they were stored): each put only
    /// where no entry is (a later opt-in, or a withdrawal's marker, stays).
    /// How many were registered.
    pub async fn register_missing(
        &self,
        key: &crate::match_key::MatchKey,
        now: time::OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let table = self.marketing()?.to_owned();
        let mut registered = 0;
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.bookings_table)
                .filter_expression(
                    "(marketing_email = :yes OR marketing_sms = :yes) AND expires_at > :now",
                )
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":now", n(now.unix_timestamp()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            for item in page.items() {
                let booking = booking_of_item(item.clone())?;
                let tags = crate::booking::SubjectTags::of(&booking.details, key);
                for opt_in in OptIn::of_booking(&booking, &tags) {
                    let item = serde_dynamo::to_item(opt_in.record())
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let result = self
                        .client
                        .put_item()
                        .table_name(&table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(pk)")
                        .send()
                        .await;
                    // An entry there already (a later opt-in, or a marker) stays.
                    if unless_condition_failed(result)?.is_some() {
                        registered += 1;
                    }
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(registered),
            }
        }
    }
}

#[async_trait]
impl MarketingRegister for DynamoBookingStore {
    async fn opt_ins(&self, keys: &[String]) -> Result<Vec<OptIn>, StoreError> {
        let table = self.marketing()?;
        let mut found = Vec::new();
        for key in keys {
            let item = self
                .client
                .get_item()
                .table_name(table)
                .key("pk", s(key))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| classify(&e))?
                .item;
            if let Some(item) = item {
                found.extend(opt_in_record(item)?.live()?);
            }
        }
        Ok(found)
    }

    async fn withdraw(
        &self,
        key: &str,
        at: time::OffsetDateTime,
    ) -> Result<Option<OptIn>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(self.marketing()?)
            .key("pk", s(key))
            .update_expression("SET withdrawn_at = :at REMOVE address")
            .condition_expression("attribute_exists(address)")
            .expression_attribute_values(":at", s(&rfc3339(at)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        // Nothing live under the key (the condition fails): nothing to withdraw.
        match unless_condition_failed(result)?.and_then(|out| out.attributes) {
            Some(item) if !item.is_empty() => opt_in_record(item)?.live(),
            _ => Ok(None),
        }
    }

    async fn remove_from(&self, key: &str, bookings: &[Reference]) -> Result<bool, StoreError> {
        // A condition's IN takes at most 100 values.
        for chunk in bookings.chunks(100) {
            let mut delete = self
                .client
                .delete_item()
                .table_name(self.marketing()?)
                .key("pk", s(key))
                .expression_attribute_names("#reference", "reference");
            let mut values = Vec::with_capacity(chunk.len());
            for (i, reference) in chunk.iter().enumerate() {
                values.push(format!(":r{i}"));
                delete =
                    delete.expression_attribute_values(format!(":r{i}"), s(reference.as_str()));
            }
            let result = delete
                .condition_expression(format!("#reference IN ({})", values.join(", ")))
                .send()
                .await;
            // Absent, or another booking's: not this erasure's to remove.
            if unless_condition_failed(result)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn remove(&self, key: &str) -> Result<Option<OptIn>, StoreError> {
        let old = self
            .client
            .delete_item()
            .table_name(self.marketing()?)
            .key("pk", s(key))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| classify(&e))?
            .attributes;
        match old {
            Some(item) if !item.is_empty() => opt_in_record(item)?.live(),
            _ => Ok(None),
        }
    }
}

/// An item of the marketing table.
fn opt_in_record(item: HashMap<String, AttributeValue>) -> Result<OptInRecord, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}
