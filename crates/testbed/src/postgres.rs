//! A private PostgreSQL server on a free port, in its own temporary data directory, that a test can
//! crash (immediate shutdown) and start again: the faults "PostgreSQL down" and "PostgreSQL restarted"
//! without touching the machine's shared server. Runs as the `postgres` user when started as root.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::TestbedError;
use crate::ports::{free_port, wait_for_port};

/// How long a start may take.
const START_PATIENCE: Duration = Duration::from_secs(60);

/// A running (or stopped) private server.
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
    as_postgres: bool,
}

fn server_binaries() -> Result<PathBuf, TestbedError> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| TestbedError::Tool("PostgreSQL server binaries not found (apt-get install postgresql)".into()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop().ok_or_else(|| TestbedError::Tool("no /usr/lib/postgresql/*/bin/postgres".into()))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false)
}

impl PrivatePostgres {
    /// Creates a data directory and starts the server.
    pub async fn start() -> Result<PrivatePostgres, TestbedError> {
        let bin = server_binaries()?;
        let dir = tempfile::Builder::new().prefix("triggerx-pg-").tempdir().map_err(TestbedError::io("temp dir"))?;
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()), "chown")?;
        }
        let data = dir.path().join("data");
        let mut initdb = command(as_postgres, &bin.join("initdb"));
        initdb.arg("-D").arg(&data).args(["-U", "postgres", "-A", "trust", "--no-sync", "--no-locale", "-E", "UTF8"]);
        run(&mut initdb, "initdb")?;
        let mut server = PrivatePostgres { dir, bin, port: free_port()?, child: None, as_postgres };
        server.resume().await?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Whether the server runs now.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Crashes the server (immediate shutdown: connections are cut, nothing is flushed cleanly; the
    /// next start recovers from the log).
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pid) = self.postmaster_pid() {
            let _ = Command::new("kill").args(["-QUIT", &pid.to_string()]).status();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server (again) on its port and waits until it accepts connections.
    pub async fn resume(&mut self) -> Result<(), TestbedError> {
        if self.child.is_some() {
            return Ok(());
        }
        let data = self.dir.path().join("data");
        let log = std::fs::File::create(self.dir.path().join("server.log")).map_err(TestbedError::io("server log"))?;
        let mut server = command(self.as_postgres, &self.bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "max_connections=300", "-c"])
            .arg(format!("unix_socket_directories={}", self.dir.path().display()))
            .stdout(Stdio::null())
            .stderr(log);
        let child = server.spawn().map_err(TestbedError::io("starting postgres"))?;
        self.child = Some(child);
        if !wait_for_port(self.port, START_PATIENCE).await {
            return Err(TestbedError::Tool(format!(
                "postgres did not listen on {} (see {})",
                self.port,
                self.log_path().display()
            )));
        }
        // Accepting TCP is not yet accepting queries: wait for the server to say it is ready.
        let ready = self.bin.join("pg_isready");
        for _ in 0..200 {
            let ok = Command::new(&ready)
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(TestbedError::Tool(format!("postgres on {} never became ready", self.port)))
    }

    /// The server's log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.dir.path().join("data").join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = self.postmaster_pid() {
                let _ = Command::new("kill").args(["-QUIT", &pid.to_string()]).status();
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn command(as_postgres: bool, program: &Path) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), TestbedError> {
    let output = command.output().map_err(TestbedError::io(what))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(TestbedError::Tool(format!("{what} failed: {}", String::from_utf8_lossy(&output.stderr))))
    }
}
