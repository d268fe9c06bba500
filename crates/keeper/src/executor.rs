//! Executing one assigned task on one chain: the assignment is for this chain's hub and still valid,
//! the owner can pay the predicted fee (refused with `insufficient_balance`, and no transaction,
//! otherwise), then `TaskExecutionHub.executeFunction(assignment, calldata, signature)` through the
//! transaction sender, and the report. The hub checks everything again on-chain; the keeper checks
//! first so it does not pay gas for a transaction that would revert.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use triggerx_chain::ChainError;
use triggerx_chain::bindings::{JobRegistry, TriggerGasRegistry};
use triggerx_chain::cost::{CostCall, predict_cost};
use triggerx_chain::deploy::ChainDeployment;
use triggerx_chain::hub::{assignment_call, describe_hub_error};
use triggerx_chain::sender::{SenderConfig, TxSender};
use triggerx_p2p::messages::ReportStatus;
use triggerx_p2p::{ExecutionReport, TaskMessage, bounded_reason};

/// Gas limit = estimate x this / 100.
const GAS_MARGIN_PERCENT: u64 = 130;

/// Connected access to one chain.
pub struct ChainAccess {
    config: ChainDeployment,
    provider: DynProvider,
    sender: TxSender,
}

/// A report for a task refused before any transaction.
pub fn refusal(task: &TaskMessage, performer: Address, reason: &str) -> ExecutionReport {
    ExecutionReport {
        task_id: task.task_id,
        attempt: task.attempt(),
        performer,
        status: ReportStatus::Refused,
        reason: reason.into(),
        tx_hash: None,
        block_number: None,
        gas_used: None,
        broadcast_at_micros: None,
        record: None,
    }
}

/// The current time in Unix microseconds.
pub fn now_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

fn now_secs() -> u64 {
    now_micros() / 1_000_000
}

impl ChainAccess {
    /// The chain and its contracts.
    pub fn deployment(&self) -> &ChainDeployment {
        &self.config
    }

    /// The chain's provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Connects with the keeper's controller key.
    pub async fn connect(config: &ChainDeployment, controller: PrivateKeySigner) -> Result<ChainAccess, ChainError> {
        let provider = config.provider()?;
        let sender = TxSender::new(provider.clone(), controller, SenderConfig::default()).await?;
        Ok(ChainAccess { config: config.clone(), provider, sender })
    }

    /// Executes `task` and says how it went; `on_broadcast` hears the interim report (status
    /// `executing`, with the transaction hash) as soon as the hub transaction is broadcast.
    pub async fn execute(
        &self,
        task: &TaskMessage,
        performer: Address,
        on_broadcast: tokio::sync::mpsc::UnboundedSender<ExecutionReport>,
    ) -> ExecutionReport {
        match self.try_execute(task, performer, on_broadcast).await {
            Ok(report) => report,
            Err(e) => {
                let reason = match e {
                    ChainError::Reverted { reason } => format!("reverted: {}", describe_hub_error(&reason)),
                    other => other.to_string(),
                };
                refusal(task, performer, &reason)
            }
        }
    }

    async fn try_execute(
        &self,
        task: &TaskMessage,
        performer: Address,
        on_broadcast: tokio::sync::mpsc::UnboundedSender<ExecutionReport>,
    ) -> Result<ExecutionReport, ChainError> {
        if task.hub != self.config.contracts.hub {
            return Ok(refusal(task, performer, "unknown_hub"));
        }
        if now_secs() > task.assignment.deadline {
            return Ok(refusal(task, performer, "deadline_passed"));
        }
        let input = assignment_call(&task.assignment, &task.calldata, &task.signature).abi_encode();
        let probe = CostCall::HubCall { from: performer, hub: self.config.contracts.hub, input: input.clone().into() };
        // The reads are independent: run them together (they sit between dispatch and broadcast).
        let owner_balance = async {
            let owner = JobRegistry::new(self.config.contracts.job_registry, self.provider.clone())
                .getJobOwner(task.job_id())
                .call()
                .await?;
            TriggerGasRegistry::new(self.config.contracts.gas_registry, self.provider.clone())
                .getBalance(owner)
                .call()
                .await
        };
        let keeper_fee = task.assignment.keeperFee;
        let (prediction, balance) = tokio::join!(predict_cost(&self.provider, probe, keeper_fee), owner_balance);
        // Every execution costs at least the fee: a balance below it is the reason, whatever the
        // estimate (which reverts then) says.
        let balance = balance?;
        if balance < keeper_fee {
            return Ok(refusal(task, performer, "insufficient_balance"));
        }
        let prediction = prediction?;
        // The hub charges at most the signed maximum.
        let fee: U256 = prediction.cost.min(task.assignment.maxFee);
        if balance < fee {
            return Ok(refusal(task, performer, "insufficient_balance"));
        }

        let request = TransactionRequest::default()
            .with_to(self.config.contracts.hub)
            .with_input(input)
            .with_gas_limit(prediction.gas.saturating_mul(GAS_MARGIN_PERCENT) / 100);
        let sent = self.sender.send(request).await?;
        let broadcast_at = now_micros();
        let _ = on_broadcast.send(ExecutionReport {
            status: ReportStatus::Executing,
            tx_hash: Some(sent.hash),
            broadcast_at_micros: Some(broadcast_at),
            ..refusal(task, performer, "")
        });
        let receipt = self.sender.confirm(sent).await?;
        let executed = triggerx_chain::hub::execution_in_receipt(&receipt, task.hub, task.assignment.taskId);
        let (status, reason) = match (&executed, receipt.status()) {
            (Some(event), true) if event.success => (ReportStatus::Executed, String::new()),
            (Some(event), true) => {
                (ReportStatus::Failed, bounded_reason(format!("target_reverted: {}", event.returnData)))
            }
            _ => (ReportStatus::Failed, "hub_call_reverted".to_string()),
        };
        Ok(ExecutionReport {
            task_id: task.task_id,
            attempt: task.attempt(),
            performer,
            status,
            reason,
            tx_hash: Some(receipt.transaction_hash),
            block_number: receipt.block_number,
            gas_used: Some(receipt.gas_used),
            broadcast_at_micros: Some(broadcast_at),
            record: Some(Box::new(crate::record::stated_record(task, performer, &receipt))),
        })
    }
}
