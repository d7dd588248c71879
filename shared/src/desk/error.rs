//! Why the desk refuses or fails a request; `problem.rs` maps each to HTTP.

use super::workflow::RequestState;
use crate::fields::FieldErrors;

/// A desk request that cannot be answered as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// No signed-in identity came with the request (401).
    #[error("not signed in")]
    Unauthenticated,
    /// Signed in, but not allowed this (403): not in a desk group, or a
    /// staff member on an admin route.
    #[error("not allowed")]
    Forbidden,
    /// No request has this reference (404).
    #[error("no such request")]
    NotFound,
    /// Someone changed the request first (409); it is now as given.
    #[error("changed by someone else first")]
    Conflict {
        /// Its state now.
        state: RequestState,
        /// Its version now.
        version: u64,
    },
    /// Bad fields in a change or a query (422 for a body, 400 for a query).
    #[error("invalid fields")]
    Invalid {
        /// Each bad field.
        errors: FieldErrors,
        /// Whether they are query parameters (400) rather than body fields (422).
        query: bool,
    },
    /// The body is not the JSON object the route takes (400).
    #[error("malformed body")]
    Malformed,
    /// The store cannot be reached just now (503).
    #[error("store unavailable")]
    Unavailable,
    /// The store did not confirm a change (503); reading the request tells.
    #[error("store did not confirm")]
    Unconfirmed,
    /// The store is misconfigured or holds unreadable data (500).
    #[error("internal error")]
    Internal,
}

impl From<crate::store::StoreError> for DeskError {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match error {
            StoreError::Unavailable(_) => Self::Unavailable,
            StoreError::Unconfirmed(_) => Self::Unconfirmed,
            StoreError::Misconfigured(_) | StoreError::Corrupt(_) => Self::Internal,
        }
    }
}
