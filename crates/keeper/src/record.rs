//! The canonical record of one execution, built from a mined hub transaction: by the performer from
//! its own receipt (what it states), and by every attester from the transaction and receipt it reads
//! itself (what it sees). Attesters approve only when the two are equal.

use alloy::consensus::Transaction as _;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::rpc::types::{Transaction, TransactionReceipt};
use alloy::sol_types::SolCall;
use triggerx_attestation::ExecutionRecord;
use triggerx_chain::bindings::TaskExecutionHub;
use triggerx_chain::hub::execution_in_receipt;
use triggerx_p2p::TaskMessage;

/// What the performer states about its execution of `task` (its receipt, and the calldata it was
/// assigned: the hub checked that calldata's hash).
pub fn stated_record(task: &TaskMessage, performer: Address, receipt: &TransactionReceipt) -> ExecutionRecord {
    let event = execution_in_receipt(receipt, task.hub, task.assignment.taskId);
    ExecutionRecord {
        chainId: U256::from(task.chain_id),
        hub: task.hub,
        taskId: task.assignment.taskId,
        jobId: task.assignment.jobId,
        occurrence: task.assignment.occurrence,
        attempt: task.attempt(),
        performer,
        txHash: receipt.transaction_hash,
        blockNumber: receipt.block_number.unwrap_or_default(),
        blockHash: receipt.block_hash.unwrap_or_default(),
        callHash: keccak256(&task.calldata),
        success: event.as_ref().is_some_and(|e| e.success),
        fee: event.map(|e| e.amount).unwrap_or_default(),
    }
}

/// What an attester sees of `task`'s execution in `tx` and `receipt` on the chain `chain_id`: every
/// field from the transaction itself (its sender, the assignment and calldata it carried, the hub's
/// event), or the reason it is not an execution of `task`.
pub fn observed_record(
    task: &TaskMessage,
    tx: &Transaction,
    receipt: &TransactionReceipt,
) -> Result<ExecutionRecord, String> {
    let sender = tx.inner.signer();
    if sender != task.performer() {
        return Err(format!("tx_not_from_performer: sent by {sender}, assigned to {}", task.performer()));
    }
    if tx.to() != Some(task.hub) {
        return Err("tx_not_to_hub: the transaction does not call the task's hub".into());
    }
    let call = TaskExecutionHub::executeFunctionCall::abi_decode(tx.input())
        .map_err(|_| "not_an_execution: the transaction is not executeFunction".to_string())?;
    if call.assignment != triggerx_chain::hub::hub_assignment(&task.assignment) {
        return Err("assignment_mismatch: the transaction carries another assignment".into());
    }
    if call.data != task.calldata {
        return Err("calldata_mismatch: the transaction carries other calldata than assigned".into());
    }
    if !receipt.status() {
        return Err("hub_call_reverted: the hub refused the transaction".into());
    }
    let event = execution_in_receipt(receipt, task.hub, task.assignment.taskId)
        .ok_or_else(|| "no_execution_event: the hub did not execute this task".to_string())?;
    if event.keeper != sender {
        return Err("wrong_keeper: the hub paid another keeper".into());
    }
    let charged = (event.gasUsed.saturating_mul(U256::from(receipt.effective_gas_price)))
        .saturating_add(task.assignment.keeperFee)
        .min(task.assignment.maxFee);
    if event.amount != charged {
        return Err(format!("fee_mismatch: charged {}, the hub's rule gives {charged}", event.amount));
    }
    Ok(ExecutionRecord {
        chainId: U256::from(task.chain_id),
        hub: task.hub,
        taskId: call.assignment.taskId,
        jobId: call.assignment.jobId,
        occurrence: call.assignment.occurrence,
        attempt: call.assignment.attempt,
        performer: sender,
        txHash: receipt.transaction_hash,
        blockNumber: receipt.block_number.unwrap_or_default(),
        blockHash: receipt.block_hash.unwrap_or(B256::ZERO),
        callHash: keccak256(&call.data),
        success: event.success,
        fee: event.amount,
    })
}

/// The first field in which `stated` differs from `observed`, if any.
pub fn first_difference(stated: &ExecutionRecord, observed: &ExecutionRecord) -> Option<&'static str> {
    let fields: [(&'static str, bool); 13] = [
        ("chain", stated.chainId == observed.chainId),
        ("hub", stated.hub == observed.hub),
        ("task_id", stated.taskId == observed.taskId),
        ("job_id", stated.jobId == observed.jobId),
        ("occurrence", stated.occurrence == observed.occurrence),
        ("attempt", stated.attempt == observed.attempt),
        ("performer", stated.performer == observed.performer),
        ("tx_hash", stated.txHash == observed.txHash),
        ("block_number", stated.blockNumber == observed.blockNumber),
        ("block_hash", stated.blockHash == observed.blockHash),
        ("call_hash", stated.callHash == observed.callHash),
        ("success", stated.success == observed.success),
        ("fee", stated.fee == observed.fee),
    ];
    fields.into_iter().find(|(_, same)| !same).map(|(name, _)| name)
}
