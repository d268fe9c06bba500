//! `triggerx script run FILE`: a job script run once on this machine exactly as the dispatcher runs it
//! (same sandbox, caps and host calls), so a user sees its output, storage writes and host calls, or
//! the error a task would show, before creating the job.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use alloy::providers::{Provider, ProviderBuilder};
use anyhow::{Context, bail};
use triggerx_script::{FetchClient, Invocation, Limits, LiveHost, run_live};

use crate::cli::{ScriptCommand, ScriptRunArgs};

/// Runs a `triggerx script` subcommand.
pub async fn run(command: ScriptCommand) -> anyhow::Result<()> {
    match command {
        ScriptCommand::Run(args) => run_file(args).await,
    }
}

fn json_arg(text: &Option<String>, flag: &str) -> anyhow::Result<Option<serde_json::Value>> {
    text.as_deref().map(|t| serde_json::from_str(t).with_context(|| format!("{flag} is not JSON: {t}"))).transpose()
}

async fn run_file(args: ScriptRunArgs) -> anyhow::Result<()> {
    let source = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    if source.len() > triggerx_script::source::MAX_SCRIPT_BYTES {
        bail!(
            "{} is larger than {} bytes, the most a job script may be",
            args.file.display(),
            triggerx_script::source::MAX_SCRIPT_BYTES
        );
    }
    let input = match (json_arg(&args.input, "--input")?, json_arg(&args.args, "--args")?) {
        (Some(input), _) => input,
        (None, user_args) => serde_json::json!({ "trigger": { "kind": "manual" }, "args": user_args }),
    };
    let storage: BTreeMap<String, String> = match json_arg(&args.storage, "--storage")? {
        None => BTreeMap::new(),
        Some(value) => serde_json::from_value(value).context("--storage must be an object of string values")?,
    };
    let mut chains = HashMap::new();
    let mut default_chain = String::new();
    if let Some(url) = &args.rpc_url {
        let provider =
            ProviderBuilder::new().connect_http(url.parse().with_context(|| format!("--rpc-url {url}"))?).erased();
        let chain_id = provider.get_chain_id().await.with_context(|| format!("reading the chain id from {url}"))?;
        default_chain = chain_id.to_string();
        chains.insert(default_chain.clone(), provider);
    }
    let policy = if args.allow_internal {
        triggerx_scheduler::AddressPolicy::allowing(["0.0.0.0/0", "::/0"].iter().filter_map(|r| r.parse().ok()))
    } else {
        triggerx_scheduler::AddressPolicy::public_only()
    };
    let host = LiveHost::new(&FetchClient::new(policy), args.allow_hosts.clone(), chains, default_chain);
    let invocation = Invocation {
        source,
        input,
        now_ms: triggerx_core::time::now_millis(),
        seed: 1,
        storage,
        secrets: BTreeMap::new(),
    };
    let started = Instant::now();
    let run = run_live(invocation, host, Limits::default()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let elapsed = started.elapsed();
    let (output, updates) = run.result().map_err(|e| anyhow::anyhow!("{e}"))?;
    for line in &run.logs {
        println!("console: {line}");
    }
    for (index, call) in run.calls.iter().enumerate() {
        println!("host call {}: {}", index + 1, serde_json::to_string(call)?);
    }
    if !updates.is_empty() {
        println!("storage updates: {}", serde_json::to_string(&updates)?);
    }
    println!("output: {}", serde_json::to_string_pretty(&output)?);
    println!(
        "ran in {:.1} ms, {} host calls, fuel {} of {}, script {}",
        elapsed.as_secs_f64() * 1000.0,
        run.calls.len(),
        run.fuel_used,
        Limits::default().fuel,
        run.script_hash
    );
    Ok(())
}
