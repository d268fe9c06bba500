//! `triggerx bench hub-gas`: the gas of `executeFunction` on a local anvil, receipts of real
//! transactions: the hub with signed single-use assignments against the hub before them
//! (`LegacyTaskExecutionHub`, the previous contract kept for this comparison), each calling
//! `Counter.incrementBy(5)` on a fresh Counter of its own for the same job. The first execution pays for cold storage (the owner's
//! balance slot, the hub's bitmap word, the keeper's first payment); later ones are the steady state;
//! a task id in a fresh bitmap word (every 256th) costs the new slot again.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::SignerSync;
use alloy::sol_types::SolCall;
use triggerx_chain::bindings::{Counter, LegacyTaskExecutionHub, TaskExecutionHub, TriggerGasRegistry};
use triggerx_chain::deploy::{ChainRole, deploy_chain, signer_from_key, wallet_provider};
use triggerx_chain::hub::{assignment_call, trust_dispatcher};
use triggerx_chain::jobs::{JobRegistration, deposit_gas, register_job};
use triggerx_chain::sender::{SenderConfig, TxSender};
use triggerx_core::assignment::Assignment;
use triggerx_devnet::anvil::{AnvilOptions, spawn_anvil};

/// Task ids measured on the new hub: the first ever, the next two (same bitmap word), then the first
/// of a new word.
const TASK_IDS: [u64; 4] = [1, 2, 3, 256];

/// Runs the measurement and prints a table.
pub async fn run() -> anyhow::Result<()> {
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await?;
    let admin_key = anvil.accounts[0].private_key.clone();
    let chain = deploy_chain(&anvil.rpc_url, &admin_key, ChainRole::L2).await?;
    let (admin, keeper, user, dispatcher) =
        (&anvil.accounts[0], &anvil.accounts[1], &anvil.accounts[2], &anvil.accounts[3]);
    let provider = wallet_provider(&anvil.rpc_url, &admin_key)?;
    // Each hub calls a Counter of its own, so neither finds the other's storage warm.
    let (jobs, counter) = (chain.contracts.job_registry, chain.address("Counter")?);
    let legacy_counter = *Counter::deploy(&provider).await?.address();
    let hub = chain.contracts.hub;

    // The hub before signed assignments, with a gas registry of its own.
    let legacy_gas = TriggerGasRegistry::deploy(&provider, admin.address, admin.address).await?;
    let legacy = LegacyTaskExecutionHub::deploy(&provider, admin.address, jobs, *legacy_gas.address()).await?;
    legacy_gas.setOperator(*legacy.address()).send().await?.get_receipt().await?;
    legacy.updateKeepers(vec![keeper.address], vec![]).send().await?.get_receipt().await?;
    TaskExecutionHub::new(hub, provider.clone())
        .updateKeepers(vec![keeper.address], vec![])
        .send()
        .await?
        .get_receipt()
        .await?;
    trust_dispatcher(&anvil.rpc_url, &admin_key, hub, dispatcher.address).await?;

    let job_id =
        register_job(&anvil.rpc_url, &user.private_key, jobs, &JobRegistration::interval("gas", counter, 60, 86_400))
            .await?;
    let deposit = U256::from(10u128.pow(18));
    deposit_gas(&anvil.rpc_url, &user.private_key, chain.contracts.gas_registry, deposit).await?;
    deposit_gas(&anvil.rpc_url, &user.private_key, *legacy_gas.address(), deposit).await?;

    let plain = alloy::providers::ProviderBuilder::new().connect_http(anvil.rpc_url.parse()?).erased();
    let sender = TxSender::new(plain.clone(), signer_from_key(&keeper.private_key)?, SenderConfig::default()).await?;
    let data: Bytes = Counter::incrementByCall { by: U256::from(5) }.abi_encode().into();
    let signer = signer_from_key(&dispatcher.private_key)?;
    let mut rows = Vec::new();
    for (i, task_id) in TASK_IDS.iter().enumerate() {
        let old = LegacyTaskExecutionHub::executeFunctionCall {
            jobId: job_id,
            amount: U256::from(1_000_000_000_000u64),
            target: legacy_counter,
            data: data.clone(),
        };
        let (old_gas, _) = gas_of(&sender, *legacy.address(), old.abi_encode()).await?;
        let assignment = Assignment {
            taskId: U256::from(*task_id),
            jobId: job_id,
            occurrence: keccak256(format!("time:{i}")),
            performer: keeper.address,
            target: counter,
            callHash: keccak256(&data),
            maxFee: U256::from(10u128.pow(16)),
            keeperFee: U256::from(1_000_000_000_000u64),
            deadline: u64::try_from(chrono::Utc::now().timestamp())? + 600,
            attempt: 1,
        };
        let signature = signer.sign_hash_sync(&assignment.digest(chain.chain_id, hub))?;
        let call = assignment_call(&assignment, &data, &Bytes::from(signature.as_bytes().to_vec()));
        let (new_gas, charged) = gas_of(&sender, hub, call.abi_encode()).await?;
        let label = match i {
            0 => "first execution (cold storage)".to_string(),
            3 => format!("task id {task_id} (a new bitmap word)"),
            _ => format!("execution {} (steady state)", i + 1),
        };
        rows.push((label, old_gas, new_gas, charged));
    }
    anvil.stop().await;
    println!(
        "| `executeFunction` of `Counter.incrementBy(5)` | hub before | hub with signed assignments | difference | gas the hub charges for |"
    );
    println!("|---|---|---|---|---|");
    for (label, old, new, charged) in rows {
        let charged = charged.map(|c| c.to_string()).unwrap_or_default();
        println!("| {label} | {old} | {new} | {:+} | {charged} |", new as i64 - old as i64);
    }
    Ok(())
}

/// The receipt's gas, and the gas the hub's `FunctionExecuted` says it charged for (new hub only).
async fn gas_of(sender: &TxSender, to: Address, input: Vec<u8>) -> anyhow::Result<(u64, Option<U256>)> {
    let request = TransactionRequest::default().with_to(to).with_input(input).with_gas_limit(1_000_000);
    let receipt = sender.send_and_confirm(request).await?;
    anyhow::ensure!(receipt.status(), "the execution through {to} reverted");
    let charged = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<triggerx_chain::bindings::TaskExecutionHub::FunctionExecuted>().ok())
        .map(|l| l.inner.data.gasUsed);
    Ok((receipt.gas_used, charged))
}
