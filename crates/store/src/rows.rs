//! Decoding stored rows back into domain values, with errors that name the corrupt column.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::StoreError;

/// Reads a column, naming it on failure.
pub(crate) fn get<T>(row: &AnyRow, column: &'static str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get::<T, _>(column).map_err(|e| StoreError::Corrupt { column, detail: e.to_string() })
}

/// Reads a 0/1 flag column.
pub(crate) fn flag(row: &AnyRow, column: &'static str) -> Result<bool, StoreError> {
    Ok(get::<i64>(row, column)? != 0)
}

/// Reads a nullable 0/1 flag column.
pub(crate) fn optional_flag(row: &AnyRow, column: &'static str) -> Result<Option<bool>, StoreError> {
    Ok(get::<Option<i64>>(row, column)?.map(|v| v != 0))
}

/// Reads a JSON-encoded column.
pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &'static str) -> Result<T, StoreError> {
    let text: String = get(row, column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt { column, detail: e.to_string() })
}

/// Builds a corruption error for a value that decoded but does not parse.
pub(crate) fn corrupt(column: &'static str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { column, detail: detail.to_string() }
}

/// Encodes a flag for storage.
pub(crate) fn as_flag(value: bool) -> i64 {
    i64::from(value)
}
