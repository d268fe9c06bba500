//! Running a script from async code: the run gets its own blocking thread (the engine is
//! single-threaded and its host calls block on the network), so the caller's runtime never stalls.

use crate::ScriptError;
use crate::limits::Limits;
use crate::live_host::LiveHost;
use crate::record::ScriptRun;
use crate::sandbox::{Invocation, run};

/// Runs `invocation` with the live `host` on a blocking thread.
pub async fn run_live(invocation: Invocation, host: LiveHost, limits: Limits) -> Result<ScriptRun, ScriptError> {
    tokio::task::spawn_blocking(move || run(invocation, Box::new(host), &limits))
        .await
        .map_err(|e| ScriptError::Engine(format!("the script thread ended: {e}")))?
}

/// Replays `recorded` with `source` on a blocking thread.
pub async fn replay_blocking(source: String, recorded: ScriptRun, limits: Limits) -> Result<ScriptRun, ScriptError> {
    tokio::task::spawn_blocking(move || crate::replay::replay(&source, &recorded, &limits))
        .await
        .map_err(|e| ScriptError::Engine(format!("the replay thread ended: {e}")))?
}
