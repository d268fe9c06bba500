//! `GET /api/fees` against a real anvil chain: the prediction is the chain layer's (node gas estimate and
//! max fee), unknown chains and bad input are 400s naming the field, an unreachable chain is a 503.
#![allow(clippy::unwrap_used)]

mod common;

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::sol_types::SolCall;
use serde_json::Value;
use triggerx_api::FeeConfig;
use triggerx_chain::bindings::Counter;
use triggerx_chain::cost::{CostCall, HUB_OVERHEAD_GAS, UNKNOWN_CALL_GAS, predict_cost};
use triggerx_chain::deploy::{ChainRole, deploy_chain};
use triggerx_devnet::anvil::{AnvilOptions, spawn_anvil};
use triggerx_store::Backend;
use triggerx_testbed::databases::fresh_store;

use crate::common::{spawn_with_chains, urlencode};

fn counter_abi() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/artifacts/Counter.json");
    let artifact: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    artifact["abi"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fees_are_predicted_on_the_jobs_chain() {
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await.unwrap();
    let deployment = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await.unwrap();
    let contracts = deployment.clone();
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    let key = store.create_api_key(None, true, None).await.unwrap().key;
    let fees = FeeConfig::default();
    let api = spawn_with_chains(store, None, vec![contracts.clone()]).await;
    let client = reqwest::Client::new();
    let get = |query: String| {
        let (client, key, url) = (client.clone(), key.clone(), format!("http://{}/api/fees?{query}", api.address));
        async move {
            let response = client.get(url).header("X-Api-Key", key).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let counter = deployment.address("Counter").unwrap();
    let static_query = |function: &str, args: &str| {
        format!(
            "task_definition_id=1&target_chain_id=31338&target_contract_address={counter}&target_function={function}&abi={}&args={}",
            urlencode(&counter_abi()),
            urlencode(args)
        )
    };

    // A static call: the node's estimate of the call as the hub makes it, plus the hub's overhead.
    let (status, fee) = get(static_query("incrementBy", r#"["5"]"#)).await;
    assert_eq!(status, 200, "{fee}");
    assert_eq!(fee["gas_source"], "node_estimate");
    let provider = ProviderBuilder::new().connect_http(anvil.rpc_url.parse().unwrap()).erased();
    let input = Counter::incrementByCall { by: U256::from(5) }.abi_encode();
    let direct = predict_cost(
        &provider,
        CostCall::Forwarded { hub: contracts.contracts.hub, target: counter, input: input.into() },
        U256::from(fees.static_fee_wei),
    )
    .await
    .unwrap();
    assert_eq!(fee["gas_estimate"], direct.gas, "{fee}");
    assert_eq!(fee["gas_price_wei"], direct.max_fee_per_gas.to_string());
    let current: U256 = fee["current_total_fee_wei"].as_str().unwrap().parse().unwrap();
    assert_eq!(current, direct.cost);
    let total: U256 = fee["total_fee_wei"].as_str().unwrap().parse().unwrap();
    assert_eq!(total, current * U256::from(120) / U256::from(100));

    // A call that reverts today (it may succeed when the trigger fires) and a dynamic job: the fixed allowance.
    let (status, fee) = get(static_query("fail", "[]")).await;
    assert_eq!((status, fee["gas_source"].as_str()), (200, Some("assumed")), "{fee}");
    assert_eq!(fee["gas_estimate"], HUB_OVERHEAD_GAS + UNKNOWN_CALL_GAS);
    let (status, fee) =
        get("task_definition_id=2&target_chain_id=31338&ipfs_url=https%3A%2F%2Fexample.org%2Fs.go".into()).await;
    assert_eq!((status, fee["gas_source"].as_str()), (200, Some("assumed")), "{fee}");

    // Bad input and unknown chains are 400s naming the field.
    let (status, bad) = get(static_query("incrementBy", r#"["-1"]"#)).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (400, Some("args[0]")), "{bad}");
    let (status, bad) = get(static_query("incrementBy", r#"["5"]"#).replace("31338", "5")).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("unsupported_chain")), "{bad}");
    assert!(bad["error"]["message"].as_str().unwrap().contains("31338"), "names the served chains: {bad}");
    let (status, bad) = get(static_query("incrementBy", r#"["5"]"#).replace("31338", "x")).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (400, Some("target_chain_id")), "{bad}");

    // The chain goes away: 503, not a made-up number.
    anvil.stop().await;
    let (status, down) = get(static_query("incrementBy", r#"["5"]"#)).await;
    assert_eq!(status, 503, "{down}");
    api.stop().await.unwrap();
}
