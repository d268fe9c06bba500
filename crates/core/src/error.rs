//! Errors of the domain layer: a validation failure always names the field that was wrong.

use serde::Serialize;

/// One rejected input field: what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Machine-readable code, e.g. `invalid_address`.
    pub code: &'static str,
    /// Path of the offending field, e.g. `jobs[0].target_contract_address`.
    pub field: String,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code, field: field.into(), message: message.into() }
    }

    /// The same error with `prefix.` put in front of its field path.
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() { prefix.to_string() } else { format!("{prefix}.{}", self.field) };
        self
    }
}

/// Errors of the core crate.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// An input field failed validation.
    #[error(transparent)]
    Invalid(#[from] FieldError),
}
