//! Field-level validation errors, collected so that a patient sees every
//! problem with the form at once rather than one per submission.

use serde::Serialize;

/// One bad field: the wire name of the field and a message a patient understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's wire name, as the form and the JSON body spell it.
    pub field: String,
    /// A plain-language sentence about what to change.
    pub message: String,
}

/// Every field error of one request, in the order the fields were checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with `field`; only the first problem of a field is kept.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if !self.0.iter().any(|e| e.field == field) {
            self.0.push(FieldError {
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }

    /// Runs a parse step and records its error under `field`, keeping the value on success.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// True when no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `field` has a problem recorded.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// The recorded errors.
    pub fn as_slice(&self) -> &[FieldError] {
        &self.0
    }

    /// Consumes the collection into its errors.
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}
