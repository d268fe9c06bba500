//! TriggerX's benchmarks and its chaos run, as `triggerx bench ...` and `triggerx chaos`: each command
//! with its arguments next to it. Tooling like the binary (errors are `anyhow`), not used by services.

pub mod abuse;
pub mod api;
pub mod attestation_gas;
pub mod attestation_latency;
pub mod chain;
pub mod chaos;
pub mod conditions;
pub mod events;
pub mod hub_gas;
pub mod jobs;
pub mod keeper;
pub mod script;
pub mod time;

use std::path::Path;

use clap::Subcommand;

use crate::abuse::BenchAbuseArgs;
use crate::api::BenchApiArgs;
use crate::attestation_latency::BenchAttestationLatencyArgs;
use crate::chain::BenchChainArgs;
use crate::conditions::{BenchConditionsArgs, PriceServerArgs};
use crate::events::BenchEventsArgs;
use crate::keeper::BenchKeeperArgs;
use crate::script::BenchScriptArgs;
use crate::time::BenchTimeArgs;

/// `triggerx bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Abuse the API while one owner's jobs fire: random keys, methods and malformed bodies, slow
    /// connections; server errors, memory growth and a legitimate client's latency.
    Abuse(BenchAbuseArgs),
    /// Load-test the REST API on a fresh database: job creations/s, then GET /api/jobs/{id} requests/s and latency.
    Api(BenchApiArgs),
    /// Measure the chain layer on a local anvil: sender transactions/s (one signer) and watcher logs/s.
    Chain(BenchChainArgs),
    /// Measure one keeper on a local anvil: tasks executed/s and dispatch-to-broadcast latency.
    Keeper(BenchKeeperArgs),
    /// Measure the gas of `executeFunction` on a local anvil: the hub with signed assignments against
    /// the hub before them, the same call, first and later executions.
    HubGas,
    /// Measure the gas of `AttestationCenter.submitTask` on a local anvil: 4, 16 and 64 operators,
    /// all attesters signing and a third not signing.
    AttestationGas,
    /// Blocks from each execution's receipt to its settlement on a running `triggerx up`: p50, p99, max.
    AttestationLatency(BenchAttestationLatencyArgs),
    /// Measure the script sandbox: cold start, warm run, scripts/s on every core, heap per script.
    Script(BenchScriptArgs),
    /// Measure the time scheduler: lateness of occurrences with many active jobs, and memory.
    Time(BenchTimeArgs),
    /// Measure the event scheduler: many jobs, many matching logs in one block, block-to-request latency.
    Events(BenchEventsArgs),
    /// Measure the condition scheduler: many jobs over many HTTP sources, CPU busy.
    Conditions(BenchConditionsArgs),
    /// The moving price sources `bench conditions` reads (run by it as a child process).
    #[command(hide = true)]
    PriceServer(PriceServerArgs),
}

/// Runs a `bench` subcommand.
pub async fn run(data_dir: &Path, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Abuse(args) => abuse::run(args).await,
        BenchCommand::Api(args) => api::run(args).await,
        BenchCommand::Keeper(args) => keeper::run(args).await,
        BenchCommand::HubGas => hub_gas::run().await,
        BenchCommand::AttestationGas => attestation_gas::run().await,
        BenchCommand::AttestationLatency(args) => attestation_latency::run(data_dir, args).await,
        BenchCommand::Events(args) => events::run(args).await,
        BenchCommand::Time(args) => time::run(args).await,
        BenchCommand::Script(args) => script::run_bench(args).await,
        BenchCommand::Conditions(args) => conditions::run(args).await,
        BenchCommand::PriceServer(args) => conditions::serve_prices(args).await,
        BenchCommand::Chain(args) => chain::run(data_dir, args).await,
    }
}
