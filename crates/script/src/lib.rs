//! TriggerX scripts: users' JavaScript run in a QuickJS sandbox (no file system, environment, clock or
//! randomness beyond what the host passes in; memory, fuel and wall-clock caps), whose every host call
//! (fetch, eth_call, secrets) is recorded so another keeper replays the run to the same bytes.

pub mod blocking;
pub mod limits;
pub mod live_host;
pub mod outcome;
pub mod record;
pub mod replay;
pub mod sandbox;
pub mod source;

pub use blocking::{replay_blocking, run_live};
pub use limits::Limits;
pub use live_host::{FetchClient, LiveHost};
pub use outcome::{ScriptCall, ScriptOutcome, call_from_output, output_storage_updates};
pub use record::{HostAnswer, HostCall, HostRequest, ScriptRun};
pub use replay::{RecordedHost, replay};
pub use sandbox::{Host, Invocation, run};
pub use source::{ScriptSource, SourceConfig, script_hash};

/// Why a script did not give a usable result. The text is what the task and the job show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The script does not parse.
    #[error("script_syntax_error: {0}")]
    Syntax(String),
    /// The script threw (or a host call it made failed and it did not catch that).
    #[error("script_threw: {0}")]
    Threw(String),
    /// The script used its whole instruction budget.
    #[error("script_out_of_fuel: used more than {0} instruction steps")]
    OutOfFuel(u64),
    /// The script ran longer than its wall-clock cap.
    #[error("script_timeout: ran longer than {0} ms")]
    Timeout(u64),
    /// The script allocated more than its memory cap.
    #[error("script_out_of_memory: needed more than {0} bytes")]
    OutOfMemory(usize),
    /// The script awaited something that can never complete.
    #[error("script_never_finished: main(input) awaits a promise nothing resolves")]
    NeverFinished,
    /// The script's result cannot be used.
    #[error("script_bad_output: {0}")]
    BadOutput(String),
    /// The script cannot be fetched or does not match its pinned hash.
    #[error("script_unavailable: {0}")]
    Source(String),
    /// A replay with the recorded answers did not follow the recorded run.
    #[error("script_replay_mismatch: {0}")]
    ReplayMismatch(String),
    /// The engine could not be set up.
    #[error("script_engine_error: {0}")]
    Engine(String),
}
