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
    /// The request was erased at a patient's request (410): what the
    /// trail's `erased` entry says in its place.
    #[error("erased")]
    Erased {
        /// When, as staff read it (London time).
        at: String,
        /// Why.
        reason: String,
    },
    /// Someone changed the request first (409); it is now as given.
    #[error("changed by someone else first")]
    Conflict {
        /// Its state now.
        state: RequestState,
        /// Its version now.
        version: u64,
    },
    /// What an erasure would take is no longer what the admin was shown
    /// (a booking arrived or went since): nothing was erased (409).
    #[error("changed since it was shown")]
    Stale,
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
    /// The answer to a store failure, logged with its kind and the
    /// service's error code only: a store's message may quote what it
    /// stored, which is a patient's.
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        let answer = match &error {
            StoreError::Unavailable(_) => Self::Unavailable,
            StoreError::Unconfirmed(_) => Self::Unconfirmed,
            StoreError::Misconfigured(_) | StoreError::Corrupt(_) => Self::Internal,
        };
        tracing::error!(
            kind = error.kind(),
            code = error.code(),
            "the desk's store call failed"
        );
        answer
    }
}

#[cfg(test)]
mod tests {
    use crate::store::StoreError;

    #[test]
    fn only_a_code_is_kept_of_a_store_error() {
        let code = |why: &str| StoreError::Unavailable(why.to_owned()).code().to_owned();
        assert_eq!(
            code("ResourceNotFoundException: Requested resource not found"),
            "ResourceNotFoundException"
        );
        assert_eq!(code("stored desk data is unreadable: a note"), "none");
        assert_eq!(code("the change kept conflicting"), "none");
        assert_eq!(StoreError::Corrupt("x".into()).kind(), "corrupt");
    }
}
