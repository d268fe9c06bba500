//! Releasing a settled execution's held fee on the hub that executed it: to the keeper when the
//! quorum accepted the execution, back to the job owner when it rejected it. Everything comes from the
//! chains, not the store: the settlement's `data` names the execution's chain and transaction, whose
//! receipt, block and input give the hub's task id, keeper, amount, job, attempt and execution time;
//! the hub checks them against what it held and against the verdict. On the center's chain the hub reads the center's
//! verdict itself; elsewhere the registrar relays it first (as it relays the keeper set).

use alloy::consensus::Transaction as _;
use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::{SolCall, SolValue};
use triggerx_attestation::split_settlement_id;
use triggerx_chain::ChainError;
use triggerx_chain::bindings::{JobRegistry, TaskExecutionHub};

use crate::{Administered, RegistrarError};

/// Releases the fee of the execution settled as `settlement_id` (`accepted` or not) whose settlement
/// `data` is `abi.encode(chainId, txHash)`; true when a fee was released now.
pub(crate) async fn release(
    hubs: &[Administered],
    settlement_id: U256,
    accepted: bool,
    data: &[u8],
) -> Result<bool, RegistrarError> {
    let Ok((chain_id, tx_hash)) = <(U256, B256)>::abi_decode(data) else {
        tracing::warn!(%settlement_id, "a settlement whose data names no execution; no fee to release");
        return Ok(false);
    };
    let Some(hub) = hubs.iter().find(|h| U256::from(h.chain_id) == chain_id) else {
        tracing::warn!(%chain_id, "a settled execution on a chain without a hub here");
        return Ok(false);
    };
    let (hub_task_id, attempt) = split_settlement_id(settlement_id);
    let contract = TaskExecutionHub::new(hub.address, hub.provider.clone());
    if !contract.isFeeHeld(hub_task_id).call().await.map_err(ChainError::from)? {
        return Ok(false);
    }
    let receipt = hub.provider.get_transaction_receipt(tx_hash).await.map_err(ChainError::from)?;
    let tx = hub.provider.get_transaction_by_hash(tx_hash).await.map_err(ChainError::from)?;
    let (Some(receipt), Some(tx)) = (receipt, tx) else {
        return Err(RegistrarError::Decode(format!("the settled execution {tx_hash} is not on chain {chain_id} yet")));
    };
    let event = triggerx_chain::hub::execution_in_receipt(&receipt, hub.address, hub_task_id);
    let call = TaskExecutionHub::executeFunctionCall::abi_decode(tx.input()).ok();
    let (Some(event), Some(call)) = (event, call) else {
        tracing::warn!(%settlement_id, tx = %tx_hash, "the settled transaction is not this task's execution");
        return Ok(false);
    };
    if call.assignment.attempt != attempt {
        // Another attempt's verdict (a false claim): the execution's own attempt releases its fee.
        return Ok(false);
    }
    let block = receipt.block_number.ok_or_else(|| RegistrarError::Decode(format!("{tx_hash} is not mined")))?;
    let executed_at = hub
        .provider
        .get_block_by_number(block.into())
        .await
        .map_err(ChainError::from)?
        .ok_or_else(|| RegistrarError::Decode(format!("block {block} of {tx_hash} is gone")))?
        .header
        .timestamp;
    let registry =
        JobRegistry::new(contract.jobRegistry().call().await.map_err(ChainError::from)?, hub.provider.clone());
    let owner = registry.getJobOwner(event.jobId).call().await.map_err(ChainError::from)?;
    if contract.verdictSource().call().await.map_err(ChainError::from)?.is_zero() {
        let relay =
            TaskExecutionHub::relayVerdictsCall { settlementIds: vec![settlement_id], accepted: vec![accepted] };
        if !went_through(hub.send(relay.abi_encode()).await, settlement_id)? {
            return Ok(false);
        }
    }
    let release = TaskExecutionHub::releaseFeeCall {
        taskId: hub_task_id,
        keeper: event.keeper,
        owner,
        attempt,
        amount: event.amount,
        executedAt: executed_at,
    };
    if !went_through(hub.send(release.abi_encode()).await, settlement_id)? {
        return Ok(false);
    }
    tracing::info!(
        task = %hub_task_id,
        attempt,
        accepted,
        to = %if accepted { event.keeper } else { owner },
        amount_wei = %event.amount,
        "fee released"
    );
    Ok(true)
}

/// Whether a transaction went through: a revert is the contract's final word (logged, and the batch
/// goes on: one fee the hub will not release must not stop every later settlement), any other error is
/// worth retrying.
fn went_through(sent: Result<(), ChainError>, settlement_id: U256) -> Result<bool, RegistrarError> {
    match sent {
        Ok(()) => Ok(true),
        Err(ChainError::Reverted { reason }) => {
            tracing::warn!(%settlement_id, reason, "the hub refused to release a fee");
            Ok(false)
        }
        Err(other) => Err(other.into()),
    }
}
