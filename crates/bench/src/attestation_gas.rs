//! `triggerx bench attestation-gas`: the gas of `AttestationCenter.submitTask` on a local anvil, from
//! receipts of real transactions, for 4, 16 and 64 registered operators: every attester signing (the
//! performer is always a non-signer) and a third of the attesters not signing. Keys, signatures and
//! the submission are made by the Rust `triggerx-attestation` crate, as the aggregator makes them. The
//! first settlement also pays the first writes of the task counter and the settled-task bitmap word.

use std::collections::BTreeMap;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use triggerx_attestation::{
    BlsSecretKey, ExecutionRecord, Operator, SettledTask, assemble, attestation_message, settlement_id,
    sign_registration,
};
use triggerx_chain::attestation::submit_task_calldata;
use triggerx_chain::bindings::AttestationCenter;
use triggerx_chain::deploy::{signer_from_key, wallet_provider};
use triggerx_chain::sender::{SenderConfig, TxSender};
use triggerx_devnet::anvil::{AnvilOptions, spawn_anvil};

/// Operator set sizes measured.
const SIZES: [usize; 3] = [4, 16, 64];
/// The L1 registry the proofs of possession name (no L1 is needed to measure the L2 side).
const REGISTRY_CHAIN_ID: u64 = 1;

/// Gas of calldata: 4 per zero byte, 16 per other byte (EIP-2028).
fn calldata_gas(input: &[u8]) -> u64 {
    input.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum()
}

/// Runs the measurement and prints a table.
pub async fn run() -> anyhow::Result<()> {
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await?;
    let admin_key = anvil.accounts[0].private_key.clone();
    let provider = wallet_provider(&anvil.rpc_url, &admin_key)?;
    let chain_id = provider.get_chain_id().await?;
    let registry = Address::repeat_byte(0x5e);
    let plain = alloy::providers::ProviderBuilder::new().connect_http(anvil.rpc_url.parse()?).erased();
    let submitter =
        TxSender::new(plain, signer_from_key(&anvil.accounts[1].private_key)?, SenderConfig::default()).await?;
    let mut rows = Vec::new();
    for n in SIZES {
        // One provider for every transaction of the admin key (each provider keeps its own nonce).
        let contract =
            AttestationCenter::deploy(&provider, anvil.accounts[0].address, U256::from(REGISTRY_CHAIN_ID), registry)
                .await?;
        let center = *contract.address();
        let secrets: Vec<BlsSecretKey> = (0..n).map(|_| BlsSecretKey::random()).collect();
        let mut operators = BTreeMap::new();
        for (i, secret) in secrets.iter().enumerate() {
            let (id, address) = (i as u64 + 1, Address::from_word(U256::from(0x1000 + i).into()));
            let public = secret.public_key();
            let proof = sign_registration(secret, REGISTRY_CHAIN_ID, registry, address);
            contract
                .addOperator(
                    U256::from(id),
                    address,
                    public.g1_words(),
                    public.g2_words(),
                    proof.words(),
                    1u128.try_into()?,
                )
                .send()
                .await?
                .get_receipt()
                .await?;
            operators.insert(id, Operator { key: public, power: 1 });
        }
        let third = (n - 1) / 3;
        let cases = [("first settlement, all sign", 0), ("all sign", 0), ("a third do not sign", third)];
        for (task_id, (label, absent)) in (1u64..).zip(cases) {
            // A task as the aggregator settles it: the first attempt of a hub task id, the proof and
            // data of a canonical execution record.
            let record = ExecutionRecord {
                chainId: U256::from(chain_id),
                taskId: U256::from(task_id),
                attempt: 1,
                txHash: keccak256(format!("tx {task_id}")),
                ..Default::default()
            };
            let task = SettledTask {
                task_id: settlement_id(record.taskId, record.attempt),
                performer_id: U256::from(1),
                performer: Address::from_word(U256::from(0x1000).into()),
                proof_of_task: record.proof_of_task(),
                data: record.settlement_data(),
                task_definition_id: 1,
            };
            let message = attestation_message(chain_id, center, &task, true);
            // Operator 1 performed; operators 2..=1+absent stay silent.
            let signatures =
                (2 + absent as u64..=n as u64).map(|id| (id, secrets[id as usize - 1].sign(message))).collect();
            let submission = assemble(message, true, &operators, 1, &signatures, (2, 3))?;
            let input = submit_task_calldata(&task, &submission);
            let data_gas = calldata_gas(&input);
            let request = TransactionRequest::default().with_to(center).with_input(input).with_gas_limit(2_000_000);
            let receipt = submitter.send_and_confirm(request).await?;
            anyhow::ensure!(receipt.status(), "submitTask reverted ({n} operators, {label})");
            let non_signers = submission.non_signer_ids.len();
            rows.push((n, label, non_signers, receipt.gas_used, data_gas, receipt.gas_used - 21_000 - data_gas));
        }
    }
    anvil.stop().await;
    println!(
        "| operators | case | non-signers (performer included) | transaction gas | calldata gas | execution gas |"
    );
    println!("|---|---|---|---|---|---|");
    for (n, label, non_signers, total, data, execution) in &rows {
        println!("| {n} | {label} | {non_signers} | {total} | {data} | {execution} |");
    }
    for n in SIZES {
        let of = |label: &str| rows.iter().find(|r| r.0 == n && r.1 == label).map(|r| (r.2, r.5));
        if let (Some((all_ns, all)), Some((third_ns, third))) = (of("all sign"), of("a third do not sign")) {
            let per = (third as f64 - all as f64) / (third_ns - all_ns).max(1) as f64;
            println!("{n} operators: {per:.0} execution gas per extra non-signer");
        }
    }
    Ok(())
}
