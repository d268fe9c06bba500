//! Subcommand implementations.

mod aggregator;
mod api;
mod apikey;
mod devnet;
mod dispatcher;
mod dispatcher_key;
mod health;
mod keeper;
mod registrar;
mod scheduler;
mod script;
mod secret_file;
mod task;
mod up;

use std::path::Path;

use anyhow::Context;
use triggerx_store::Store;

use crate::cli::{Cli, Command};

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Up(args) => up::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Scheduler(args) => scheduler::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Job(command) => triggerx_client::owner::run(&global.data_dir, command).await,
        Command::Task(command) => task::run(&global.data_dir, command).await,
        Command::Script(command) => script::run(command).await,
        Command::Api(args) => api::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Apikey(command) => apikey::run(&global.data_dir, global.database_url.as_deref(), command).await,
        Command::Devnet(args) => devnet::run(&global.data_dir, args).await,
        Command::Health(args) => health::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Keeper(args) => keeper::run(&global.data_dir, args).await,
        Command::Dispatcher(args) => dispatcher::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Aggregator(args) => aggregator::run(&global.data_dir, args).await,
        Command::Registrar(args) => registrar::run(&global.data_dir, global.database_url.as_deref(), args).await,
        Command::Chaos(args) => triggerx_bench::chaos::run(&global.data_dir, args).await,
        Command::Bench(command) => triggerx_bench::run(&global.data_dir, command).await,
    }
}

/// Opens the store the global options name.
pub async fn open_store(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<Store> {
    let what = database_url.map(redact).unwrap_or_else(|| data_dir.display().to_string());
    Store::open(database_url, data_dir).await.with_context(|| format!("opening the database ({what})"))
}

/// Hides the secrets of a URL (password, tokens, keys) for messages and logs.
pub use triggerx_core::redact::redact_url as redact;
