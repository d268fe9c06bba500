//! Before a performer pays gas for a scripted task, it replays the dispatcher's recorded script run in
//! its own sandbox with the recorded host answers: the replay must give the same bytes, and a custom
//! script's call must be the one assigned. A mismatch refuses the task with the reason.

use alloy::primitives::{Address, Bytes};
use triggerx_p2p::{ScriptAttachment, TaskMessage};
use triggerx_script::{Limits, ScriptRun, replay_blocking};

/// Checks `script` against `task`; an error is the refusal reason.
pub async fn replay_matches(script: &ScriptAttachment, task: &TaskMessage) -> Result<(), String> {
    let recorded: ScriptRun = serde_json::from_str(&script.run_json)
        .map_err(|e| format!("script_replay_mismatch: unreadable record: {e}"))?;
    let replayed =
        replay_blocking(script.source.clone(), recorded, Limits::default()).await.map_err(|e| e.to_string())?;
    let (output, _) = replayed.result()?;
    if output.get("shouldExecute").is_some() {
        let calldata: Option<Bytes> = output.get("calldata").and_then(|c| c.as_str()).and_then(|c| c.parse().ok());
        let target: Option<Address> =
            output.get("targetContract").and_then(|c| c.as_str()).and_then(|c| c.trim().parse().ok());
        if calldata.as_ref() != Some(&task.calldata) {
            return Err("script_replay_mismatch: the assigned calldata is not the script's".into());
        }
        if target.is_some_and(|t| t != task.assignment.target) {
            return Err("script_replay_mismatch: the assigned target is not the script's".into());
        }
    }
    Ok(())
}
