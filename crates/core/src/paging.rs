//! Paging of list endpoints: `?limit=&offset=` with bounded sizes.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: i64 = 500;
/// Deepest offset a client may ask for: a database still reads every skipped row, so deeper pages
/// are reached by narrowing the list (owner, job), not by skipping.
pub const MAX_OFFSET: i64 = 100_000;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Page {
    /// Rows to return.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

impl Default for Page {
    fn default() -> Self {
        Page { limit: DEFAULT_PAGE_SIZE, offset: 0 }
    }
}

/// Query parameters of paged lists.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows to return (1..=500, default 50).
    pub limit: Option<i64>,
    /// Rows to skip (0..=100000, default 0).
    pub offset: Option<i64>,
}

impl PageQuery {
    /// Validates the query.
    pub fn page(self) -> Result<Page, FieldError> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            return Err(FieldError::new("invalid_page", "limit", format!("must be 1..={MAX_PAGE_SIZE}")));
        }
        let offset = self.offset.unwrap_or(0);
        if !(0..=MAX_OFFSET).contains(&offset) {
            return Err(FieldError::new("invalid_page", "offset", format!("must be 0..={MAX_OFFSET}")));
        }
        Ok(Page { limit, offset })
    }
}

/// Paging metadata returned beside a list.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct PageInfo {
    pub limit: i64,
    pub offset: i64,
    /// Total rows matching.
    pub total: i64,
    /// Offset of the next page, if there is one.
    pub next_offset: Option<i64>,
}

impl PageInfo {
    /// Metadata for `page` over `total` rows.
    pub fn new(page: Page, total: i64) -> Self {
        let next = page.offset + page.limit;
        PageInfo { limit: page.limit, offset: page.offset, total, next_offset: (next < total).then_some(next) }
    }
}
