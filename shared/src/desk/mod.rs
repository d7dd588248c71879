//! The staff desk's domain: where each request is in its workflow, who
//! moved it and why, what the inbox lists, and the audit trail of every
//! look and change.
//!
//! The desk is the system of record for a request once it is stored: its
//! state and history live on the booking itself, with a version so that of
//! two staff changing one request at once exactly one wins. Every change
//! is written in one transaction with its audit entry.

pub mod audit;
pub mod consultants;
pub mod error;
pub mod inbox;
pub mod record;
pub mod workflow;

pub use audit::{AuditAction, AuditEntry, AuditId, AuditPage, Reason};
pub use consultants::Consultants;
pub use error::DeskError;
pub use inbox::{Cursor, DeskRequest, InboxPage, InboxQuery, InboxRow};
pub use workflow::{Appointment, Move, Note, Place, RequestState, Staff, Step, MOVES};

use crate::booking::Reference;
use crate::store::StoreError;
use async_trait::async_trait;

/// What a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Applied, with its audit entry; the request is now at `version`.
    Applied {
        /// The request's version after the change.
        version: u64,
    },
    /// Someone changed the request first: nothing was written. The
    /// request as it is now, for the one who lost to see.
    Conflict {
        /// Its state now.
        state: RequestState,
        /// Its version now.
        version: u64,
    },
    /// No request has this reference (or it has expired).
    NotFound,
}

/// The desk's view of stored requests: the inbox's pages, one request's
/// page, and the workflow's changes. Each read of a request's page and
/// each change is audited by the store in the same call, stamped with the
/// store's own clock, so no caller can forget it or backdate it.
#[async_trait]
pub trait RequestInbox: Send + Sync {
    /// One page of the inbox, newest first: one index query, never a scan.
    /// Requests past their retention are not listed.
    async fn page(&self, query: &InboxQuery) -> Result<InboxPage, StoreError>;

    /// Records that `by` opened the request on the audit trail, then reads
    /// it: a page nobody could audit is not shown. `None` for no request,
    /// or one past its retention.
    async fn open(
        &self,
        reference: &Reference,
        by: &Staff,
    ) -> Result<Option<DeskRequest>, StoreError>;

    /// Applies `step` to the request if it is still at `version` and in
    /// `step.from()`, together with its audit entry, or neither.
    async fn change(
        &self,
        reference: &Reference,
        version: u64,
        step: &Step,
    ) -> Result<Changed, StoreError>;
}

/// The most entries one page of the audit trail holds.
pub const AUDIT_PAGE_MAX: u16 = 100;

/// The append-only record of who did what on the desk, kept for
/// `AUDIT_RETENTION_DAYS`. Entries are only ever added.
#[async_trait]
pub trait AuditTrail: Send + Sync {
    /// Adds an entry (a sign-in, an export), stamped now, with an id that
    /// never collides; answers the entry written.
    async fn record(
        &self,
        by: &Staff,
        action: AuditAction,
        reference: Option<&Reference>,
    ) -> Result<AuditEntry, StoreError>;

    /// The entries about one request, newest first.
    async fn of_request(
        &self,
        reference: &Reference,
        after: Option<&AuditId>,
        limit: u16,
    ) -> Result<AuditPage, StoreError>;

    /// Every entry of the desk, newest first.
    async fn whole(&self, after: Option<&AuditId>, limit: u16) -> Result<AuditPage, StoreError>;
}

/// The desk's ports, as one store holds them: the requests, the trail,
/// and erasure, which writes both at once.
pub trait DeskStore: RequestInbox + AuditTrail + crate::rights::Eraser {}

impl<T: RequestInbox + AuditTrail + crate::rights::Eraser> DeskStore for T {}

/// A store could not make an entry's id: the machine gave no randomness.
pub fn no_randomness(_: getrandom::Error) -> StoreError {
    StoreError::Unavailable("no randomness for an audit entry's id".into())
}
