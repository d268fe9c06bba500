//! Subcommand implementations.

mod api;
mod apikey;
mod bench_api;
mod bench_chain;
mod bench_conditions;
mod bench_events;
mod bench_hub_gas;
mod bench_jobs;
mod bench_keeper;
mod bench_time;
mod chaos;
mod demo;
mod devnet;
mod dispatcher;
mod dispatcher_key;
mod health;
mod job;
mod keeper;
mod registrar;
mod scheduler;
mod secret_file;
mod task;
mod triggers;
mod up;

use std::path::Path;

use anyhow::Context;
use triggerx_store::Store;

use crate::cli::{BenchCommand, Cli, Command};

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Up(args) => up::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Scheduler(args) => scheduler::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Job(command) => job::run(&global.data_dir, command).await,
        Command::Task(command) => task::run(&global.data_dir, command).await,
        Command::Api(args) => api::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Apikey(command) => apikey::run(&global.data_dir, global.database_url.as_deref(), command).await,
        Command::Devnet(args) => devnet::run(&global.data_dir, args).await,
        Command::Health(args) => health::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Keeper(args) => keeper::run(&global.data_dir, args).await,
        Command::Dispatcher(args) => dispatcher::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Registrar(args) => registrar::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Chaos(args) => chaos::run(&global.data_dir, args).await,
        Command::Bench(BenchCommand::Api(args)) => bench_api::run(args).await,
        Command::Bench(BenchCommand::Keeper(args)) => bench_keeper::run(args).await,
        Command::Bench(BenchCommand::HubGas) => bench_hub_gas::run().await,
        Command::Bench(BenchCommand::Events(args)) => bench_events::run(args).await,
        Command::Bench(BenchCommand::Time(args)) => bench_time::run(args).await,
        Command::Bench(BenchCommand::Conditions(args)) => bench_conditions::run(args).await,
        Command::Bench(BenchCommand::PriceServer(args)) => bench_conditions::serve_prices(args).await,
        Command::Bench(BenchCommand::Chain(args)) => bench_chain::run(&global.data_dir, args).await,
    }
}

/// Opens the store the global options name.
pub async fn open_store(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Store> {
    let what = database_url.map(redact).unwrap_or_else(|| data_dir.display().to_string());
    Store::open(database_url, data_dir).await.with_context(|| format!("opening the database ({what})"))
}

/// Hides a password in a database URL for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
