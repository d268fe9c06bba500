//! `triggerx devnet` as a user runs it: two chains, every contract deployed on both, `cast` works against
//! the written addresses, and Ctrl-C leaves no chain running.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use triggerx_chain::deployment::Deployment;
use triggerx_devnet::anvil::find_tool;

fn cast(args: &[&str]) -> String {
    let output = Command::new(find_tool("cast").unwrap()).args(args).output().unwrap();
    assert!(output.status.success(), "cast {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[test]
fn devnet_deploys_both_chains_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("devnet.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "devnet",
            "--block-time",
            "0",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !out.is_file() {
        assert!(Instant::now() < deadline, "no deployment file after 120 s");
        assert!(child.try_wait().unwrap().is_none(), "devnet exited early");
        std::thread::sleep(Duration::from_millis(200));
    }
    let deployment = Deployment::read(&out).unwrap();
    assert_eq!(deployment.chains.len(), 2);
    let (l1, l2) = (&deployment.chains[0], &deployment.chains[1]);
    assert_ne!(l1.chain_id, l2.chain_id);
    for chain in [l1, l2] {
        for name in ["JobRegistry", "TriggerGasRegistry", "TaskExecutionHub", "Counter", "EventEmitter"] {
            assert!(chain.address(name).is_ok(), "{name} on chain {}", chain.chain_id);
        }
        assert_eq!(cast(&["chain-id", "--rpc-url", &chain.rpc_url]), chain.chain_id.to_string());
        let jobs = chain.address("JobRegistry").unwrap().to_string();
        assert_eq!(cast(&["call", &jobs, "getJobCounter()(uint256)", "--rpc-url", &chain.rpc_url]), "0");
        let gas = chain.address("TriggerGasRegistry").unwrap().to_string();
        let operator = cast(&["call", &gas, "operatorRole()(address)", "--rpc-url", &chain.rpc_url]);
        assert_eq!(operator.to_lowercase(), chain.address("TaskExecutionHub").unwrap().to_string().to_lowercase());
    }
    assert!(l1.address("KeeperRegistry").is_ok(), "keeper registration lives on L1");
    assert!(!deployment.accounts.is_empty());

    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "devnet did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(100));
    }
    for chain in [l1, l2] {
        let port = chain.rpc_url.rsplit(':').next().unwrap();
        let answered = std::net::TcpStream::connect_timeout(
            &format!("127.0.0.1:{port}").parse().unwrap(),
            Duration::from_millis(500),
        )
        .is_ok();
        assert!(!answered, "no anvil outlives the devnet (port {port})");
    }
}

#[test]
fn devnet_deploys_to_existing_chains_with_a_deployer_key() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let anvil = runtime
        .block_on(triggerx_devnet::anvil::spawn_anvil(&triggerx_devnet::anvil::AnvilOptions::automine(777)))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deployed.json");
    let status = Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .args(["devnet", "--rpc-url", &format!("l1={}", anvil.rpc_url), "--out", out.to_str().unwrap()])
        .env("TRIGGERX_DEPLOYER_KEY", &anvil.accounts[0].private_key)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let deployment = Deployment::read(&out).unwrap();
    assert_eq!(deployment.chains[0].chain_id, 777);
    assert!(deployment.chains[0].address("KeeperRegistry").is_ok());
    let missing_key = Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .args(["devnet", "--rpc-url", &format!("l1={}", anvil.rpc_url)])
        .env_remove("TRIGGERX_DEPLOYER_KEY")
        .output()
        .unwrap();
    assert!(!missing_key.status.success());
    assert!(String::from_utf8_lossy(&missing_key.stderr).contains("--deployer-key"));
    runtime.block_on(anvil.stop());
}
