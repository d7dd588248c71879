//! The hourly ceiling on acknowledgements across every address: the
//! backstop against a distributed run that stays under each source's and
//! each address's own limit. Past it, acknowledgements are withheld (staff
//! are still told of every booking, and an alarm is raised); bookings are
//! never refused for it, so nobody can lock real patients out with it.

use crate::store::StoreError;
use async_trait::async_trait;
use std::sync::Arc;
use time::OffsetDateTime;

/// Where the ceiling's hourly counters are kept: the guards table in
/// DynamoDB, the guards table of the SQLite file locally.
#[async_trait]
pub trait AcknowledgementCounter: Send + Sync {
    /// Counts one acknowledgement in the clock hour `at` falls in, if
    /// fewer than `limit` were counted in it: `false` when it is full.
    async fn count(&self, at: OffsetDateTime, limit: u32) -> Result<bool, StoreError>;
}

/// The ceiling a notifier applies: a counter and how many an hour.
#[derive(Clone)]
pub struct Ceiling {
    /// Where it counts.
    pub counter: Arc<dyn AcknowledgementCounter>,
    /// Acknowledgements allowed per clock hour.
    pub per_hour: u32,
}

/// What every hourly counter's key starts with: the notifier may update
/// the guards table's items with this prefix only (the template's
/// `dynamodb:LeadingKeys` condition).
pub const HOUR_KEY_PREFIX: &str = "acks-per-hour#";

/// The key of the counter of the hour `at` falls in, and when it may go.
pub fn hour_key(at: OffsetDateTime) -> (String, i64) {
    let start = at.unix_timestamp().div_euclid(3600) * 3600;
    (format!("{HOUR_KEY_PREFIX}{start}"), start + 2 * 3600)
}
