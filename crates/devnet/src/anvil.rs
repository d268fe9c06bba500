//! Local chains: finds the `anvil` binary (PATH or the project's `node_modules`) and runs it as a child
//! process that is killed when its handle is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use alloy::providers::{Provider, ProviderBuilder};
use serde::Deserialize;
use tokio::process::{Child, Command};

use triggerx_chain::ChainError;
use triggerx_chain::deployment::DevAccount;

/// Environment variable naming the anvil binary explicitly.
pub const ANVIL_ENV: &str = "TRIGGERX_ANVIL";
/// How long anvil may take to answer after start.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start anvil.
#[derive(Debug, Clone)]
pub struct AnvilOptions {
    /// Chain id.
    pub chain_id: u64,
    /// Port; `None` picks a free one.
    pub port: Option<u16>,
    /// Seconds between blocks; `None` mines on every transaction (automine).
    pub block_time: Option<f64>,
    /// Funded accounts to create.
    pub accounts: u32,
}

impl AnvilOptions {
    /// An automining chain with 10 accounts on a free port.
    pub fn automine(chain_id: u64) -> Self {
        AnvilOptions { chain_id, port: None, block_time: None, accounts: 10 }
    }
}

/// A running anvil; killed on drop.
#[derive(Debug)]
pub struct AnvilInstance {
    child: Child,
    /// HTTP RPC URL.
    pub rpc_url: String,
    /// Chain id.
    pub chain_id: u64,
    /// Funded accounts.
    pub accounts: Vec<DevAccount>,
    _config_dir: tempfile_dir::TempDir,
}

mod tempfile_dir {
    //! A directory removed on drop (anvil writes its account list there).
    use std::path::{Path, PathBuf};

    /// The directory.
    #[derive(Debug)]
    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(tag: &str) -> std::io::Result<TempDir> {
            let unique = format!(
                "triggerx-{tag}-{}-{}",
                std::process::id(),
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
            );
            let dir = std::env::temp_dir().join(unique);
            std::fs::create_dir_all(&dir)?;
            Ok(TempDir(dir))
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[derive(Deserialize)]
struct AnvilConfigOut {
    available_accounts: Vec<Address>,
    private_keys: Vec<String>,
}

/// Finds a Foundry tool (`anvil`, `forge`, `cast`): `$TRIGGERX_ANVIL` for anvil, then the native binary
/// in a `node_modules` of the working directory, the executable's directory or an ancestor, then PATH. The npm launcher script is
/// never used, so killing the child kills the chain.
pub fn find_tool(name: &str) -> Result<PathBuf, ChainError> {
    if name == "anvil"
        && let Ok(explicit) = std::env::var(ANVIL_ENV)
    {
        return Ok(PathBuf::from(explicit));
    }
    let platform =
        format!("{name}-{}-{}", std::env::consts::OS, if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" });
    // The working directory's ancestors, then the executable's (target/release/triggerx in a checkout).
    let starts =
        [std::env::current_dir().ok(), std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf))];
    for start in starts.into_iter().flatten() {
        for d in start.ancestors() {
            let native = d.join("node_modules/@foundry-rs").join(&platform).join("bin").join(name);
            if native.is_file() {
                return Ok(native);
            }
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for p in std::env::split_paths(&paths) {
            let candidate = p.join(name);
            if candidate.is_file() {
                // node_modules/.bin/<tool> is the npm launcher; prefer the native binary beside it.
                let resolved = std::fs::canonicalize(&candidate).unwrap_or(candidate.clone());
                if resolved.extension().is_some_and(|e| e == "mjs" || e == "js")
                    && let Some(modules) = resolved.ancestors().find(|a| a.ends_with("@foundry-rs"))
                {
                    let native = modules.join(&platform).join("bin").join(name);
                    if native.is_file() {
                        return Ok(native);
                    }
                }
                return Ok(candidate);
            }
        }
    }
    Err(ChainError::Tool(format!(
        "`{name}` not found: run `npm install` in the repository (installs @foundry-rs/{name}) or put {name} on PATH"
    )))
}

fn free_port() -> Result<u16, ChainError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|source| ChainError::Io { context: "finding a free port".into(), source })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| ChainError::Io { context: "finding a free port".into(), source })
}

/// Starts anvil and waits until it answers.
pub async fn spawn_anvil(options: &AnvilOptions) -> Result<AnvilInstance, ChainError> {
    let binary = find_tool("anvil")?;
    let port = match options.port {
        Some(p) => p,
        None => free_port()?,
    };
    let config_dir = tempfile_dir::TempDir::new("anvil")
        .map_err(|source| ChainError::Io { context: "creating a temporary directory".into(), source })?;
    let config_out = config_dir.path().join("accounts.json");
    let mut command = Command::new(&binary);
    command
        .arg("--port")
        .arg(port.to_string())
        .arg("--host")
        .arg("127.0.0.1")
        .arg("--chain-id")
        .arg(options.chain_id.to_string())
        .arg("--accounts")
        .arg(options.accounts.to_string())
        .arg("--config-out")
        .arg(&config_out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(seconds) = options.block_time {
        command.arg("--block-time").arg(seconds.to_string());
    }
    let mut child = command.spawn().map_err(|e| ChainError::Tool(format!("starting {}: {e}", binary.display())))?;
    let rpc_url = format!("http://127.0.0.1:{port}");
    let provider = ProviderBuilder::new()
        .connect_http(rpc_url.parse().map_err(|e| ChainError::Invalid(format!("{rpc_url}: {e}")))?);
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(ChainError::Tool(format!("anvil exited at start ({status}); is port {port} free?")));
        }
        if provider.get_chain_id().await.is_ok() && config_out.is_file() {
            break;
        }
        if started.elapsed() > STARTUP_TIMEOUT {
            return Err(ChainError::Tool(format!("anvil did not answer on {rpc_url} within {STARTUP_TIMEOUT:?}")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(&config_out)
        .map_err(|source| ChainError::Io { context: format!("reading {}", config_out.display()), source })?;
    let config: AnvilConfigOut =
        serde_json::from_str(&text).map_err(|e| ChainError::Tool(format!("anvil's account list: {e}")))?;
    let accounts = config
        .available_accounts
        .into_iter()
        .zip(config.private_keys)
        .map(|(address, private_key)| DevAccount { address, private_key })
        .collect();
    Ok(AnvilInstance { child, rpc_url, chain_id: options.chain_id, accounts, _config_dir: config_dir })
}

impl AnvilInstance {
    /// Stops the chain.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
