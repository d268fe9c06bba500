//! `POST /api/jobs` on a server that serves the job's chain: the job must be in that chain's
//! `JobRegistry` with the posted `user_address` as owner (403 for someone else's job, 400 for a job
//! that is not on-chain); nothing is stored for a refused job.
#![allow(clippy::unwrap_used)]

mod common;

use alloy::primitives::U256;
use serde_json::{Value, json};
use triggerx_chain::deploy::{ChainRole, deploy_chain};
use triggerx_chain::jobs::{JobRegistration, register_job};
use triggerx_devnet::anvil::{AnvilOptions, spawn_anvil};
use triggerx_store::Backend;
use triggerx_testbed::databases::fresh_store;
use triggerx_testbed::fixtures::TEST_ABI;

use crate::common::spawn_with_chains;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_on_chain_owner_can_post_a_job() {
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await.unwrap();
    let deployment = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    let key = store.create_api_key(None, true, None).await.unwrap().key;
    let api = spawn_with_chains(store.clone(), None, vec![deployment.clone()]).await;
    let (owner, stranger) = (&anvil.accounts[1], &anvil.accounts[2]);
    let counter = deployment.address("Counter").unwrap();
    let registration = JobRegistration::interval("poke", counter, 60, 3600);
    let job_id = register_job(&anvil.rpc_url, &owner.private_key, deployment.contracts.job_registry, &registration)
        .await
        .unwrap();
    let body = |job_id: U256, user: String| {
        json!([{
            "job_id": job_id.to_string(), "user_address": user, "job_title": "poke", "task_definition_id": 1,
            "time_frame": 3600, "recurring": true, "schedule_type": "interval", "time_interval": 60,
            "created_chain_id": "31338", "target_chain_id": "31338", "target_contract_address": format!("{counter:#x}"),
            "target_function": "increment", "abi": TEST_ABI, "arg_type": 1, "arguments": ["5"]
        }])
    };
    let client = reqwest::Client::new();
    let post = |body: Value| {
        let (client, key, url) = (client.clone(), key.clone(), format!("http://{}/api/jobs", api.address));
        async move {
            let response = client.post(url).header("X-Api-Key", key).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };

    let (status, refused) = post(body(job_id, format!("{:#x}", stranger.address))).await;
    assert_eq!(status, 403, "someone else's job: {refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("belongs to"), "{refused}");
    let (status, missing) = post(body(job_id + U256::from(1000), format!("{:#x}", owner.address))).await;
    assert_eq!((status, missing["error"]["code"].as_str()), (400, Some("job_not_on_chain")), "{missing}");
    assert_eq!(missing["error"]["field"], "[0].job_id");
    // Review C1: a chain the server does not serve used to skip the check (the stranger's post of the
    // owner's job id with "created_chain_id": "1" was stored). It is a 400 naming the field.
    let on_chains = |created: &str, target: &str| {
        let mut refused = body(job_id, format!("{:#x}", stranger.address));
        refused[0]["created_chain_id"] = json!(created);
        refused[0]["target_chain_id"] = json!(target);
        refused
    };
    for (created, target, field) in [
        ("1", "31338", "[0].created_chain_id"),
        ("31338", "1", "[0].target_chain_id"),
        ("", "1", "[0].target_chain_id"),
        ("x", "31338", "[0].created_chain_id"),
    ] {
        let (status, refused) = post(on_chains(created, target)).await;
        assert_eq!(status, 400, "created {created:?}, target {target:?}: {refused}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
    assert_eq!(store.list_jobs(None, true, Default::default()).await.unwrap().1, 0, "nothing stored");

    let (status, created) = post(body(job_id, format!("{:#x}", owner.address))).await;
    assert_eq!(status, 200, "the owner's own job: {created}");
    assert_eq!(created["job_ids"], json!([job_id.to_string()]));
}
