//! A private Redis server on a free port that a test can kill and start again (empty: it keeps
//! nothing on disk, like the machine's Redis), for the fault "Redis down".

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::TestbedError;
use crate::ports::{free_port, wait_for_port};

/// A running (or stopped) private Redis.
pub struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts a server.
    pub async fn start() -> Result<PrivateRedis, TestbedError> {
        let mut server = PrivateRedis { port: free_port()?, child: None };
        server.resume().await?;
        Ok(server)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Whether the server runs now.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL): everything in it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again, empty) on its port.
    pub async fn resume(&mut self) -> Result<(), TestbedError> {
        if self.child.is_some() {
            return Ok(());
        }
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| TestbedError::Tool(format!("starting redis-server (apt-get install redis-server): {e}")))?;
        self.child = Some(child);
        if wait_for_port(self.port, Duration::from_secs(20)).await {
            Ok(())
        } else {
            Err(TestbedError::Tool(format!("redis-server did not listen on {}", self.port)))
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
