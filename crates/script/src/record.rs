//! What a run records: each host call with its answer, in order, and the run's input and output, so a
//! replay with the same answers can be compared byte for byte. Secret values never appear: the record
//! holds `<secret:NAME>` where the script got a secret, in answers and in later requests alike.

use serde::{Deserialize, Serialize};

/// A call the script made to the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HostRequest {
    /// An HTTP request.
    Fetch {
        /// The URL.
        url: String,
        /// GET or POST.
        method: String,
        /// Request headers, as the script gave them.
        headers: std::collections::BTreeMap<String, String>,
        /// Request body, if any.
        body: Option<String>,
    },
    /// A read-only contract call.
    EthCall {
        /// The chain (empty: the job's target chain).
        chain_id: String,
        /// The contract.
        to: String,
        /// The calldata, hex.
        data: String,
    },
    /// A secret the owner set on the job.
    Secret {
        /// Its name.
        name: String,
    },
}

/// What the host answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HostAnswer {
    /// An HTTP response (body cut to the answer cap).
    Fetch {
        /// Status code.
        status: u16,
        /// Body text.
        body: String,
    },
    /// The call's return data, hex.
    EthCall {
        /// `0x...`.
        result: String,
    },
    /// A secret's placeholder (`<secret:NAME>`; the value itself is never recorded).
    Secret {
        /// The placeholder in a record, the value in a live run's answer to the script.
        value: String,
    },
    /// The call was refused or failed; the script sees this as a thrown Error.
    Error {
        /// Why.
        message: String,
    },
}

/// One host call and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCall {
    /// What the script asked.
    pub request: HostRequest,
    /// What it got.
    pub answer: HostAnswer,
}

/// A finished run: what went in, every host call, what came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptRun {
    /// keccak256 of the script's bytes, `0x...`.
    pub script_hash: String,
    /// The input object given to `main` (trigger data, job, arguments).
    pub input: serde_json::Value,
    /// The host's clock for the run, Unix milliseconds (what `Date.now()` returns).
    pub now_ms: i64,
    /// The seed of `Math.random`.
    pub seed: u32,
    /// The job's storage as the run saw it.
    pub storage: std::collections::BTreeMap<String, String>,
    /// Host calls in order.
    pub calls: Vec<HostCall>,
    /// `JSON.stringify({output, storageUpdates})` of the run: the bytes replays must reproduce.
    pub result_json: String,
    /// Console lines (kept for the person reading the task; not part of the comparison).
    #[serde(default)]
    pub logs: Vec<String>,
    /// Interrupt checks used (fuel).
    #[serde(default)]
    pub fuel_used: u64,
    /// Bytes the script's heap held when it finished (engine and harness included).
    #[serde(default)]
    pub memory_bytes: u64,
}

impl ScriptRun {
    /// The script's output value and its storage updates, parsed from `result_json`.
    pub fn result(&self) -> Result<(serde_json::Value, std::collections::BTreeMap<String, Option<String>>), String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Result {
            output: serde_json::Value,
            storage_updates: std::collections::BTreeMap<String, Option<String>>,
        }
        let parsed: Result = serde_json::from_str(&self.result_json).map_err(|e| e.to_string())?;
        Ok((parsed.output, parsed.storage_updates))
    }
}
