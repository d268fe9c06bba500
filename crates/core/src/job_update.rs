//! What a job owner's update asks for, after the API validated it: the fields the store changes.

use crate::numbers::Decimal;

/// What an update asks for, after validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidatedUpdate {
    pub job_title: Option<String>,
    pub recurring: Option<bool>,
    /// Some(true) pause, Some(false) resume.
    pub pause: Option<bool>,
    pub time_frame: Option<i64>,
    pub job_cost_prediction: Option<Decimal>,
    pub timezone: Option<String>,
    pub time_interval: Option<i64>,
}
