//! TriggerX services as child processes that a test can SIGKILL and start again with the same
//! command line; their output goes to a log file (appended across restarts). Dropping one interrupts
//! it (Ctrl-C) so it stops what it started, and kills it if it does not stop in time.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestbedError;

/// How long a dropped process may take to stop after Ctrl-C.
const STOP_PATIENCE: Duration = Duration::from_secs(30);

/// One service process.
pub struct ServiceProcess {
    /// A name for logs and messages.
    pub name: String,
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
}

impl ServiceProcess {
    /// Starts `program args` with `env` added, output appended to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: Vec<OsString>,
        env: Vec<(String, String)>,
        log: PathBuf,
    ) -> Result<ServiceProcess, TestbedError> {
        let mut process = ServiceProcess {
            name: name.to_string(),
            program: program.to_path_buf(),
            args,
            env,
            log,
            child: None,
            starts: 0,
        };
        process.start()?;
        Ok(process)
    }

    /// Starts it again if it is not running.
    pub fn start(&mut self) -> Result<(), TestbedError> {
        if self.is_running() {
            return Ok(());
        }
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .map_err(TestbedError::io(format!("opening {}", self.log.display())))
        };
        let (out, err) = (open()?, open()?);
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(TestbedError::io(format!("starting {}", self.name)))?;
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// Whether it runs now.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: it stops at once, writing nothing more.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Ctrl-C and waits up to `patience`; killed after that. Whether it stopped on its own.
    pub fn interrupt(&mut self, patience: Duration) -> bool {
        let Some(mut child) = self.child.take() else { return true };
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where its log is.
    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.interrupt(STOP_PATIENCE);
    }
}
