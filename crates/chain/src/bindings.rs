//! Typed contract bindings, generated at compile time from `contracts/artifacts/*.json` (ABI and
//! bytecode committed by `scripts/build-contracts.sh`), so Rust builds need neither Node nor solc.

#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    JobRegistry,
    "../../contracts/artifacts/JobRegistry.json"
);
sol!(
    #[sol(rpc)]
    TriggerGasRegistry,
    "../../contracts/artifacts/TriggerGasRegistry.json"
);
sol!(
    #[sol(rpc, all_derives)]
    TaskExecutionHub,
    "../../contracts/artifacts/TaskExecutionHub.json"
);
sol!(
    #[sol(rpc)]
    KeeperRegistry,
    "../../contracts/artifacts/KeeperRegistry.json"
);
sol!(
    #[sol(rpc, all_derives)]
    AttestationCenter,
    "../../contracts/artifacts/AttestationCenter.json"
);

sol!(
    #[sol(rpc)]
    LegacyTaskExecutionHub,
    "../../contracts/artifacts/LegacyTaskExecutionHub.json"
);
sol!(
    #[sol(rpc)]
    GuardedCounter,
    "../../contracts/artifacts/GuardedCounter.json"
);
sol!(
    #[sol(rpc)]
    Counter,
    "../../contracts/artifacts/Counter.json"
);
sol!(
    #[sol(rpc)]
    EventEmitter,
    "../../contracts/artifacts/EventEmitter.json"
);
