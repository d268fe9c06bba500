//! What a script's output means for the job: for dynamic-argument jobs (task definitions 2, 4, 6) the
//! argument list, converted with the job's ABI exactly like static arguments (a wrong shape is an error
//! naming the argument); for custom script jobs (7) `{shouldExecute, targetContract, calldata,
//! storageUpdates, metadata}`, where `shouldExecute: false` skips the occurrence.

use alloy::primitives::{Address, Bytes};
use serde_json::Value;
use triggerx_core::abi_args::MAX_CALLDATA_BYTES;
use triggerx_core::job::Target;
use triggerx_core::target_call::encode_target_call;

use crate::ScriptError;

/// The call a script decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCall {
    /// The contract called.
    pub target: Address,
    /// The calldata.
    pub calldata: Bytes,
    /// The arguments as converted for the ABI (dynamic-argument jobs), shown on the task.
    pub converted_arguments: Vec<String>,
}

/// What an occurrence does after its script ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptOutcome {
    /// Make this call.
    Call(ScriptCall),
    /// Do nothing this time (custom scripts returning `shouldExecute: false`), with the reason shown.
    Skip(String),
}

fn bad(message: impl Into<String>) -> ScriptError {
    ScriptError::BadOutput(message.into())
}

/// One output element as the text static arguments are given in.
fn argument_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The outcome of `output` for a job calling `target`; `custom` for task definition 7.
pub fn call_from_output(target: &Target, custom: bool, output: &Value) -> Result<ScriptOutcome, ScriptError> {
    if custom { custom_call(target, output) } else { argument_call(target, output) }
}

fn argument_call(target: &Target, output: &Value) -> Result<ScriptOutcome, ScriptError> {
    let list = match output {
        Value::Array(items) => items,
        Value::Object(o) => match o.get("arguments") {
            Some(Value::Array(items)) => items,
            _ => return Err(bad("main(input) must return the argument list (an array), or {arguments: [...]}")),
        },
        other => return Err(bad(format!("main(input) must return the argument list (an array), not {other}"))),
    };
    let arguments: Vec<String> = list.iter().map(argument_text).collect();
    let call = encode_target_call(target, &arguments).map_err(bad)?;
    Ok(ScriptOutcome::Call(ScriptCall {
        target: call.contract,
        calldata: call.calldata.into(),
        converted_arguments: call.converted_arguments,
    }))
}

fn custom_call(target: &Target, output: &Value) -> Result<ScriptOutcome, ScriptError> {
    let Value::Object(fields) = output else {
        return Err(bad("main(input) must return {shouldExecute, targetContract, calldata, storageUpdates, metadata}"));
    };
    let should = match fields.get("shouldExecute") {
        Some(Value::Bool(b)) => *b,
        _ => return Err(bad("shouldExecute must be true or false")),
    };
    if !should {
        let why = match fields.get("metadata") {
            Some(Value::Null) | None => String::new(),
            Some(Value::String(s)) => format!(": {s}"),
            Some(other) => format!(": {other}"),
        };
        let mut reason = format!("skipped: the script returned shouldExecute false{why}");
        reason.truncate(1024);
        return Ok(ScriptOutcome::Skip(reason));
    }
    let contract = match fields.get("targetContract") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        None | Some(Value::Null) if !target.contract_address.is_empty() => target.contract_address.clone(),
        _ => return Err(bad("targetContract must be an address")),
    };
    let address: Address =
        contract.parse().map_err(|_| bad(format!("targetContract '{contract}' is not an address")))?;
    if let Ok(job_target) = target.contract_address.parse::<Address>()
        && job_target != Address::ZERO
        && job_target != address
    {
        return Err(bad(format!("targetContract {address:#x} is not the job's target {job_target:#x}")));
    }
    let calldata: Bytes = match fields.get("calldata") {
        Some(Value::String(s)) => s.trim().parse().map_err(|_| bad("calldata must be 0x-prefixed hex"))?,
        _ => return Err(bad("calldata must be 0x-prefixed hex")),
    };
    if calldata.len() > MAX_CALLDATA_BYTES {
        return Err(bad(format!("calldata is larger than {MAX_CALLDATA_BYTES} bytes")));
    }
    Ok(ScriptOutcome::Call(ScriptCall { target: address, calldata, converted_arguments: Vec::new() }))
}

/// The storage updates a custom script returned in its output (`storageUpdates: {key: value|null}`).
pub fn output_storage_updates(output: &Value) -> Result<Vec<(String, Option<String>)>, ScriptError> {
    match output.get("storageUpdates") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => {
            Ok(map.iter().map(|(k, v)| (k.clone(), if v.is_null() { None } else { Some(argument_text(v)) })).collect())
        }
        Some(_) => Err(bad("storageUpdates must be an object of key: value")),
    }
}
