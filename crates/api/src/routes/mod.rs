//! Route handlers, one file per resource.

pub mod apikeys;
pub mod jobs;
pub mod keepers;
pub mod leaderboard;
pub mod scripts;
pub mod system;
pub mod tasks;
pub mod users;

use serde::Serialize;

/// A plain confirmation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub message: String,
}

impl Message {
    /// A confirmation saying `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Message { message: text.into() }
    }
}
