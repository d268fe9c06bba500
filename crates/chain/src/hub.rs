//! The `TaskExecutionHub` seen from Rust: the `executeFunction` call for a signed assignment, its
//! `FunctionExecuted` event as a typed execution, and revert data named by the hub's errors.

use alloy::primitives::{Address, B256, Bytes};
use alloy::rpc::types::Log;
use alloy::sol_types::{SolEvent, SolInterface};
use triggerx_core::assignment::Assignment;

use crate::bindings::TaskExecutionHub;
use crate::watcher::LogFilter;

/// The hub's struct for a core assignment (the same fields, in the same order).
pub fn hub_assignment(a: &Assignment) -> TaskExecutionHub::Assignment {
    TaskExecutionHub::Assignment {
        taskId: a.taskId,
        jobId: a.jobId,
        occurrence: a.occurrence,
        performer: a.performer,
        target: a.target,
        callHash: a.callHash,
        maxFee: a.maxFee,
        keeperFee: a.keeperFee,
        deadline: a.deadline,
        attempt: a.attempt,
    }
}

/// `executeFunction(assignment, calldata, signature)`.
pub fn assignment_call(a: &Assignment, calldata: &Bytes, signature: &Bytes) -> TaskExecutionHub::executeFunctionCall {
    TaskExecutionHub::executeFunctionCall {
        assignment: hub_assignment(a),
        data: calldata.clone(),
        signature: signature.clone(),
    }
}

/// The watcher filter for a hub's `FunctionExecuted` events.
pub fn executions_filter(hub: Address) -> LogFilter {
    LogFilter { address: Some(hub), topic0: Some(TaskExecutionHub::FunctionExecuted::SIGNATURE_HASH) }
}

/// One execution the hub recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubExecution {
    /// The decoded event.
    pub event: TaskExecutionHub::FunctionExecuted,
    /// The transaction that emitted it.
    pub tx_hash: B256,
    /// Its block.
    pub block_number: u64,
}

/// Decodes a `FunctionExecuted` log (None for other logs).
pub fn decode_execution(log: &Log) -> Option<HubExecution> {
    let event = TaskExecutionHub::FunctionExecuted::decode_log(&log.inner).ok()?.data;
    Some(HubExecution { event, tx_hash: log.transaction_hash?, block_number: log.block_number? })
}

/// The hub's `FunctionExecuted` for `task_id` in `receipt`, emitted by `hub` (the performer's own
/// receipt, an attester's, the registrar's when it releases the fee).
pub fn execution_in_receipt(
    receipt: &alloy::rpc::types::TransactionReceipt,
    hub: Address,
    task_id: alloy::primitives::U256,
) -> Option<TaskExecutionHub::FunctionExecuted> {
    receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == hub)
        .filter_map(|log| TaskExecutionHub::FunctionExecuted::decode_log(&log.inner).ok())
        .map(|log| log.data)
        .find(|event| event.taskId == task_id)
}

/// A node's revert message with the hub's custom error named when its data is one (e.g.
/// `AlreadyExecuted(12)`), otherwise the message as it was.
pub fn describe_hub_error(message: &str) -> String {
    // Nodes quote the selector and then the whole data: the longest hex run is the data.
    let hex = message
        .match_indices("0x")
        .map(|(at, _)| message[at + 2..].chars().take_while(|c| c.is_ascii_hexdigit()).collect::<String>())
        .max_by_key(String::len)
        .unwrap_or_default();
    let Ok(data) = alloy::hex::decode(&hex) else { return message.to_string() };
    match TaskExecutionHub::TaskExecutionHubErrors::abi_decode(&data) {
        Ok(error) => format!("{error:?}"),
        Err(_) => message.to_string(),
    }
}

/// Makes the hub at `hub` trust `dispatcher`'s assignments (signed by the hub admin's key); does
/// nothing when it already does.
pub async fn trust_dispatcher(
    rpc_url: &str,
    admin_key: &str,
    hub: Address,
    dispatcher: Address,
) -> Result<(), crate::ChainError> {
    let contract = TaskExecutionHub::new(hub, crate::deploy::wallet_provider(rpc_url, admin_key)?);
    if contract.isDispatcher(dispatcher).call().await? {
        return Ok(());
    }
    contract.setDispatcher(dispatcher, true).send().await?.get_receipt().await?;
    Ok(())
}

/// Whether the hub at `hub` trusts `dispatcher`'s assignments.
pub async fn trusts_dispatcher(rpc_url: &str, hub: Address, dispatcher: Address) -> Result<bool, crate::ChainError> {
    let url = rpc_url.parse().map_err(|e| crate::ChainError::Invalid(format!("{rpc_url}: {e}")))?;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(url);
    Ok(TaskExecutionHub::new(hub, provider).isDispatcher(dispatcher).call().await?)
}
