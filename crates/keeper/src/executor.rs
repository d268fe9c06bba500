//! Executing one task on one chain: deadline check, call encoding, cost prediction, the owner's balance
//! check, `TaskExecutionHub.executeFunction` through the transaction sender, and the report.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};
use triggerx_chain::ChainError;
use triggerx_chain::bindings::{JobRegistry, TaskExecutionHub, TriggerGasRegistry};
use triggerx_chain::contracts::ChainContracts;
use triggerx_chain::cost::{CostCall, predict_cost};
use triggerx_chain::sender::{SenderConfig, TxSender};
use triggerx_core::abi_args::{convert_arguments, encode_call, find_function, parse_abi, render_values};
use triggerx_p2p::{ExecutionReport, TaskMessage};

/// Gas limit = estimate x this / 100.
const GAS_MARGIN_PERCENT: u64 = 130;

/// Connected access to one chain.
pub struct ChainAccess {
    config: ChainContracts,
    provider: DynProvider,
    sender: TxSender,
}

/// A report for a task refused before any transaction.
pub fn refusal(task: &TaskMessage, performer: Address, reason: &str) -> ExecutionReport {
    ExecutionReport {
        task_id: task.task_id,
        job_id: task.job_id.clone(),
        attempt: task.attempt,
        performer,
        status: "failed".into(),
        reason: reason.into(),
        tx_hash: None,
        block_number: None,
        gas_used: None,
        amount_charged: "0".into(),
        converted_arguments: Vec::new(),
        broadcast_at_micros: None,
    }
}

/// The current time in Unix microseconds.
pub fn now_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

fn now_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl ChainAccess {
    /// Connects with the keeper's controller key.
    pub async fn connect(config: &ChainContracts, controller: PrivateKeySigner) -> Result<ChainAccess, ChainError> {
        let url = config.rpc_url.parse().map_err(|e| ChainError::Invalid(format!("{}: {e}", config.rpc_url)))?;
        let provider = ProviderBuilder::new().connect_http(url).erased();
        let sender = TxSender::new(provider.clone(), controller, SenderConfig::default()).await?;
        Ok(ChainAccess { config: config.clone(), provider, sender })
    }

    /// Executes `task` and says how it went; `on_broadcast` hears the interim report (status
    /// `executing`, with the transaction hash) as soon as the hub transaction is broadcast.
    pub async fn execute(
        &self,
        task: &TaskMessage,
        performer: Address,
        fixed_fee: U256,
        on_broadcast: tokio::sync::mpsc::UnboundedSender<ExecutionReport>,
    ) -> ExecutionReport {
        match self.try_execute(task, performer, fixed_fee, on_broadcast).await {
            Ok(report) => report,
            Err(e) => {
                let reason = match e {
                    ChainError::Reverted { reason } => format!("reverted: {reason}"),
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
        fixed_fee: U256,
        on_broadcast: tokio::sync::mpsc::UnboundedSender<ExecutionReport>,
    ) -> Result<ExecutionReport, ChainError> {
        if now_millis() > task.deadline {
            return Ok(refusal(task, performer, "deadline_passed"));
        }
        let abi = parse_abi(&task.abi, "abi").map_err(|e| ChainError::Invalid(e.to_string()))?;
        let function = find_function(&abi, &task.target_function, Some(task.arguments.len()), "target_function")
            .map_err(|e| ChainError::Invalid(e.to_string()))?;
        let values = convert_arguments(function, &task.arguments, "arguments")
            .map_err(|e| ChainError::Invalid(e.to_string()))?;
        let data = encode_call(function, &values, "arguments").map_err(|e| ChainError::Invalid(e.to_string()))?;
        let job_id: U256 = task.job_id.parse().map_err(|e| ChainError::Invalid(format!("job id: {e}")))?;

        // Predict the cost: gas of the hub call x the current max fee + the fixed fee.
        let call = |amount: U256| TaskExecutionHub::executeFunctionCall {
            jobId: job_id,
            amount,
            target: task.target,
            data: data.clone().into(),
        };
        let probe =
            CostCall::HubCall { from: performer, hub: self.config.hub, input: call(U256::ZERO).abi_encode().into() };
        // The reads are independent: run them together (they sit between dispatch and broadcast).
        let owner_balance = async {
            let owner =
                JobRegistry::new(self.config.job_registry, self.provider.clone()).getJobOwner(job_id).call().await?;
            TriggerGasRegistry::new(self.config.gas_registry, self.provider.clone()).getBalance(owner).call().await
        };
        let (prediction, balance) = tokio::join!(predict_cost(&self.provider, probe, fixed_fee), owner_balance);
        let (prediction, balance) = (prediction?, balance?);
        let (gas, cost) = (prediction.gas, prediction.cost);
        if balance < cost {
            return Ok(refusal(task, performer, "insufficient_balance"));
        }

        let request = TransactionRequest::default()
            .with_to(self.config.hub)
            .with_input(call(cost).abi_encode())
            .with_gas_limit(gas.saturating_mul(GAS_MARGIN_PERCENT) / 100);
        let sent = self.sender.send(request).await?;
        let broadcast_at = now_micros();
        let _ = on_broadcast.send(ExecutionReport {
            status: "executing".into(),
            tx_hash: Some(sent.hash),
            amount_charged: cost.to_string(),
            broadcast_at_micros: Some(broadcast_at),
            ..refusal(task, performer, "")
        });
        let receipt = self.sender.confirm(sent).await?;
        let executed =
            receipt.inner.logs().iter().find_map(|l| TaskExecutionHub::FunctionExecuted::decode_log(&l.inner).ok());
        let (status, reason) = match (&executed, receipt.status()) {
            (Some(event), true) if event.success => ("executed", String::new()),
            (Some(event), true) => ("failed", format!("target_reverted: {}", event.returnData)),
            _ => ("failed", "hub_call_reverted".to_string()),
        };
        Ok(ExecutionReport {
            task_id: task.task_id,
            job_id: task.job_id.clone(),
            attempt: task.attempt,
            performer,
            status: status.into(),
            reason,
            tx_hash: Some(receipt.transaction_hash),
            block_number: receipt.block_number,
            gas_used: Some(receipt.gas_used),
            amount_charged: cost.to_string(),
            converted_arguments: render_values(&values),
            broadcast_at_micros: Some(broadcast_at),
        })
    }
}
