//! `POST /api/jobs` on a server that serves the job's chain: the job must be in that chain's
//! `JobRegistry` with the posted `user_address` as owner (403 for someone else's job, 400 for a job
//! that is not on-chain); nothing is stored for a refused job.
#![allow(clippy::unwrap_used)]

mod common;

use alloy::primitives::{Address, U256};
use serde_json::{Value, json};
use triggerx_chain::deploy::{ChainDeployment, ChainRole, deploy_chain};
use triggerx_chain::jobs::{JobRegistration, register_job};
use triggerx_devnet::anvil::{AnvilInstance, AnvilOptions, spawn_anvil};
use triggerx_store::{Backend, Store};
use triggerx_testbed::databases::fresh_store;
use triggerx_testbed::fixtures::TEST_ABI;

use crate::common::spawn_with_chains;

/// An anvil chain with the contracts deployed and a fresh SQLite store.
async fn chain_and_store() -> (AnvilInstance, ChainDeployment, Store, tempfile::TempDir) {
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await.unwrap();
    let deployment = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    (anvil, deployment, store, dir)
}

/// The body posting on-chain job `job_id` (an interval job on `counter`) for `user`.
fn job_body(job_id: U256, user: &str, counter: Address) -> Value {
    json!([{
        "job_id": job_id.to_string(), "user_address": user, "job_title": "poke", "task_definition_id": 1,
        "time_frame": 3600, "recurring": true, "schedule_type": "interval", "time_interval": 60,
        "created_chain_id": "31338", "target_chain_id": "31338", "target_contract_address": format!("{counter:#x}"),
        "target_function": "increment", "abi": TEST_ABI, "arg_type": 1, "arguments": ["5"]
    }])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_on_chain_owner_can_post_a_job() {
    let (anvil, deployment, store, _dir) = chain_and_store().await;
    let key = store.create_api_key(None, true, None).await.unwrap().key;
    let api = spawn_with_chains(store.clone(), None, vec![deployment.clone()]).await;
    let (owner, stranger) = (&anvil.accounts[1], &anvil.accounts[2]);
    let counter = deployment.address("Counter").unwrap();
    let registration = JobRegistration::interval("poke", counter, 60, 3600);
    let job_id = register_job(&anvil.rpc_url, &owner.private_key, deployment.contracts.job_registry, &registration)
        .await
        .unwrap();
    let body = |job_id: U256, user: String| job_body(job_id, &user, counter);
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

/// Review H7: one owner key could create jobs without bound (60,000 a minute at the default rate), each
/// firing every second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_key_is_held_to_its_quotas_of_live_and_fast_jobs() {
    let (anvil, deployment, store, _dir) = chain_and_store().await;
    let owner = &anvil.accounts[1];
    let owner_text = format!("{:#x}", owner.address);
    let key = store.create_api_key(Some(&owner_text), false, None).await.unwrap().key;
    let config = triggerx_api::ApiConfig {
        chains: vec![deployment.clone()],
        quotas: triggerx_api::JobQuotas { live: 3, fast: 1, fast_period_ms: 10_000 },
        ..triggerx_api::ApiConfig::on(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    };
    let api = triggerx_api::spawn(store.clone(), config).await.unwrap();
    let counter = deployment.address("Counter").unwrap();
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    let mut ids = Vec::new();
    let intervals = [60, 5, 2, 60, 60];
    for interval in intervals {
        let registration = JobRegistration::interval("poke", counter, 60, 3600);
        let job_id = register_job(&anvil.rpc_url, &owner.private_key, deployment.contracts.job_registry, &registration)
            .await
            .unwrap();
        let mut body = job_body(job_id, &owner_text, counter);
        body[0]["time_interval"] = json!(interval);
        let response = client
            .post(format!("http://{}/api/jobs", api.address))
            .header("X-Api-Key", &key)
            .json(&body)
            .send()
            .await
            .unwrap();
        answers.push((response.status().as_u16(), response.json::<Value>().await.unwrap()));
        ids.push(job_id);
    }
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [200, 200, 429, 200, 429], "{answers:?}");
    for refused in [2, 4] {
        assert_eq!(answers[refused].1["error"]["code"], "quota_exceeded", "{}", answers[refused].1);
    }
    let message = |i: usize| answers[i].1["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message(2).contains("firing every 10 s"),
        "the second job every 2 s is over the fast quota: {}",
        message(2)
    );
    assert!(message(4).contains("live jobs"), "{}", message(4));
    assert_eq!(store.live_job_count(&owner_text).await.unwrap(), 3, "the refused ones were not stored");
    assert_eq!(store.fast_live_job_count(&owner_text, 10_000).await.unwrap(), 1);
    // Nor does an update make a job fast past the quota.
    let update = |id: U256, interval: i64| {
        client
            .put(format!("http://{}/api/jobs/update/{id}", api.address))
            .header("X-Api-Key", &key)
            .json(&json!({"time_interval": interval}))
            .send()
    };
    let faster = update(ids[3], 2).await.unwrap();
    assert_eq!(faster.status().as_u16(), 429, "{:?}", faster.text().await);
    let slower = update(ids[3], 120).await.unwrap();
    assert_eq!(slower.status().as_u16(), 200, "{:?}", slower.text().await);
    assert_eq!(store.fast_live_job_count(&owner_text, 10_000).await.unwrap(), 1);
    // A deleted job frees its place.
    let deleted = client
        .delete(format!("http://{}/api/jobs/{}", api.address, ids[0]))
        .header("X-Api-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    assert_eq!(store.live_job_count(&owner_text).await.unwrap(), 2);
}
