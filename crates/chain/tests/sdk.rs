//! The TriggerX TypeScript SDK's contract flow against our contracts on anvil, through the SDK's own
//! ABI files (contracts/sdk-abi, copied from the SDK): every function, event and error the SDK knows
//! exists in ours with the same inputs and outputs (only the UUPS-proxy machinery is left out: our
//! registries are plain contracts), and the SDK's calls (`JobRegistry.createJob`,
//! `TriggerGasRegistry.depositETH`, `getBalance`) work exactly as before, the job then executing
//! through the hub with a signed assignment.
#![allow(clippy::unwrap_used, clippy::too_many_arguments)]

use std::collections::BTreeSet;
use triggerx_testbed::transactions::landed;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, U256, keccak256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::SignerSync;
use alloy::sol;
use alloy::sol_types::{SolCall, SolEvent};
use triggerx_chain::bindings::{Counter, TaskExecutionHub};
use triggerx_chain::deploy::{ChainRole, deploy_chain, signer_from_key, wallet_provider};
use triggerx_chain::hub::{assignment_call, trust_dispatcher};
use triggerx_chain::sender::{SenderConfig, TxSender};
use triggerx_core::assignment::Assignment;
use triggerx_devnet::anvil::{AnvilOptions, spawn_anvil};

sol!(
    #[sol(rpc)]
    SdkJobRegistry,
    "../../contracts/sdk-abi/JobRegistry.json"
);
sol!(
    #[sol(rpc)]
    SdkGasRegistry,
    "../../contracts/sdk-abi/GasRegistry.json"
);

/// Members of the SDK's ABIs that belong to the UUPS proxy (OpenZeppelin's UUPSUpgradeable,
/// ERC1967Utils, Initializable), which our plain registries do not have.
const PROXY_ONLY: [&str; 14] = [
    "UPGRADE_INTERFACE_VERSION",
    "initialize",
    "proxiableUUID",
    "upgradeToAndCall",
    "Initialized",
    "Upgraded",
    "AddressEmptyCode",
    "ERC1967InvalidImplementation",
    "ERC1967NonPayable",
    "FailedCall",
    "InvalidInitialization",
    "NotInitializing",
    "UUPSUnauthorizedCallContext",
    "UUPSUnsupportedProxiableUUID",
];

type Member = (String, String, Vec<String>, Vec<String>);

fn members(abi: &serde_json::Value) -> BTreeSet<Member> {
    let types = |list: Option<&serde_json::Value>| -> Vec<String> {
        list.and_then(|l| l.as_array())
            .map(|l| l.iter().map(|p| p["type"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    };
    abi.as_array()
        .unwrap()
        .iter()
        .filter(|m| matches!(m["type"].as_str(), Some("function" | "event" | "error")))
        .map(|m| {
            (
                m["type"].as_str().unwrap().to_string(),
                m["name"].as_str().unwrap().to_string(),
                types(m.get("inputs")),
                types(m.get("outputs")),
            )
        })
        .collect()
}

#[test]
fn every_member_the_sdk_knows_is_in_our_registries() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts");
    for (sdk, ours) in [("JobRegistry", "JobRegistry"), ("GasRegistry", "TriggerGasRegistry")] {
        let read = |path: std::path::PathBuf| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let theirs = members(&read(root.join(format!("sdk-abi/{sdk}.json"))));
        let mine = members(&read(root.join(format!("artifacts/{ours}.json")))["abi"]);
        let missing: Vec<&Member> = theirs.difference(&mine).filter(|m| !PROXY_ONLY.contains(&m.1.as_str())).collect();
        assert!(missing.is_empty(), "{ours} lacks what the SDK calls: {missing:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdks_create_job_and_deposit_work_and_the_job_executes() {
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await.unwrap();
    let chain = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await.unwrap();
    let (user, keeper, dispatcher) = (&anvil.accounts[1], &anvil.accounts[2], &anvil.accounts[3]);
    let counter = chain.address("Counter").unwrap();
    let user_wallet = wallet_provider(&anvil.rpc_url, &user.private_key).unwrap();

    // What the SDK's createJob sends for a time job: name, type 1, time frame, target, abi.encode(interval).
    let jobs = SdkJobRegistry::new(chain.contracts.job_registry, user_wallet.clone());
    let data = alloy::sol_types::SolValue::abi_encode(&U256::from(30));
    let receipt = landed(jobs.createJob("sdk job".into(), 1, U256::from(3600), counter, data.into())).await.unwrap();
    let created = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| SdkJobRegistry::JobCreated::decode_log(&l.inner).ok())
        .expect("JobCreated as the SDK decodes it");
    let job_id = created.jobId;
    assert_eq!(created.jobOwner, user.address);
    assert_eq!(jobs.getJobOwner(job_id).call().await.unwrap(), user.address);
    assert!(jobs.isJobActive(job_id).call().await.unwrap());

    // What the SDK's deposit sends: depositETH(amount) with the amount as value.
    let gas = SdkGasRegistry::new(chain.contracts.gas_registry, user_wallet.clone());
    let amount = U256::from(10u128.pow(17));
    gas.depositETH(amount).value(amount).send().await.unwrap().get_receipt().await.unwrap();
    assert_eq!(gas.getBalance(user.address).call().await.unwrap(), amount);

    // A keeper executes the job through the hub with a dispatcher's assignment; the owner pays.
    let hub = chain.contracts.hub;
    let admin = wallet_provider(&anvil.rpc_url, &anvil.accounts[0].private_key).unwrap();
    landed(TaskExecutionHub::new(hub, admin).updateKeepers(vec![keeper.address], vec![])).await.unwrap();
    trust_dispatcher(&anvil.rpc_url, &anvil.accounts[0].private_key, hub, dispatcher.address).await.unwrap();
    let call: Bytes = Counter::incrementByCall { by: U256::from(3) }.abi_encode().into();
    let assignment = Assignment {
        taskId: U256::from(1),
        jobId: job_id,
        occurrence: keccak256("time:1"),
        performer: keeper.address,
        target: counter,
        callHash: keccak256(&call),
        maxFee: U256::from(10u128.pow(16)),
        keeperFee: U256::from(1000),
        deadline: triggerx_core::time::now_millis() as u64 / 1000 + 60,
        attempt: 1,
    };
    let signature =
        signer_from_key(&dispatcher.private_key).unwrap().sign_hash_sync(&assignment.digest(31338, hub)).unwrap();
    let input = assignment_call(&assignment, &call, &Bytes::from(signature.as_bytes().to_vec())).abi_encode();
    let plain = ProviderBuilder::new().connect_http(anvil.rpc_url.parse().unwrap()).erased();
    let sender = TxSender::new(plain.clone(), signer_from_key(&keeper.private_key).unwrap(), SenderConfig::default())
        .await
        .unwrap();
    let receipt = sender.send_and_confirm(TransactionRequest::default().with_to(hub).with_input(input)).await.unwrap();
    assert!(receipt.status());
    assert_eq!(Counter::new(counter, plain.clone()).number().call().await.unwrap(), U256::from(3));
    assert!(gas.getBalance(user.address).call().await.unwrap() < amount, "the SDK's balance read shows the charge");
    anvil.stop().await;
}
