//! The caps every script runs under. Fuel counts QuickJS interrupt checks (one per 10,000 bytecode
//! branches and calls, counted by the engine itself), so a budget ends a script at the same point on
//! every keeper; the wall-clock cap only guards against slow host calls.

use std::time::Duration;

/// Limits of one script run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes the script's heap may hold.
    pub memory_bytes: usize,
    /// Most stack bytes (deep recursion ends in a RangeError, not a crash).
    pub stack_bytes: usize,
    /// Instruction budget, in interrupt checks of the engine (about 10,000 steps each).
    pub fuel: u64,
    /// Most wall-clock time for the whole run, host calls included.
    pub wall: Duration,
    /// Most host calls (fetch, eth_call, secrets) per run.
    pub host_calls: usize,
    /// Most bytes of one fetched body or call result kept and given to the script.
    pub answer_bytes: usize,
    /// Most bytes of the script's JSON output.
    pub output_bytes: usize,
    /// Most console lines kept (each cut to `LOG_LINE_BYTES`).
    pub log_lines: usize,
}

/// Bytes of one kept console line.
pub const LOG_LINE_BYTES: usize = 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 32 * 1024 * 1024,
            stack_bytes: 512 * 1024,
            fuel: 5_000,
            wall: Duration::from_secs(5),
            host_calls: 16,
            answer_bytes: 64 * 1024,
            output_bytes: 64 * 1024,
            log_lines: 50,
        }
    }
}
