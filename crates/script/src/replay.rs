//! Replaying a recorded run: the same script and input, each host call answered from the record (the
//! request must equal the recorded one), and the result compared byte for byte. This is how a keeper
//! checks a run it did not make without trusting the network answers of whoever made it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use crate::ScriptError;
use crate::limits::Limits;
use crate::record::{HostAnswer, HostCall, HostRequest, ScriptRun};
use crate::sandbox::{Host, Invocation, run};

/// Answers host calls from a record, in order.
pub struct RecordedHost {
    calls: std::vec::IntoIter<HostCall>,
    index: usize,
    mismatch: Rc<RefCell<Option<String>>>,
}

impl RecordedHost {
    /// A host answering from `calls`; a request that differs from the record is noted in `mismatch`.
    pub fn new(calls: Vec<HostCall>, mismatch: Rc<RefCell<Option<String>>>) -> Self {
        RecordedHost { calls: calls.into_iter(), index: 0, mismatch }
    }
}

impl Host for RecordedHost {
    fn answer(&mut self, request: &HostRequest, _deadline: Instant) -> HostAnswer {
        self.index += 1;
        let found = self.calls.next();
        let problem = match &found {
            None => Some(format!("host call {} was not in the record", self.index)),
            Some(call) if &call.request != request => {
                Some(format!("host call {} asked something else than the record", self.index))
            }
            Some(_) => None,
        };
        match (problem, found) {
            (None, Some(call)) => call.answer,
            (problem, _) => {
                let message = problem.unwrap_or_default();
                let mut slot = self.mismatch.borrow_mut();
                if slot.is_none() {
                    *slot = Some(message.clone());
                }
                HostAnswer::Error { message }
            }
        }
    }
}

/// Replays `recorded` with `source` (whose hash must be the record's) and checks the result is the
/// same bytes. Returns the replayed run.
pub fn replay(source: &str, recorded: &ScriptRun, limits: &Limits) -> Result<ScriptRun, ScriptError> {
    let hash = crate::source::script_hash(source.as_bytes());
    if hash != recorded.script_hash {
        return Err(ScriptError::ReplayMismatch(format!(
            "the script's hash is {hash}, the record names {}",
            recorded.script_hash
        )));
    }
    let mismatch = Rc::new(RefCell::new(None));
    let host = RecordedHost::new(recorded.calls.clone(), mismatch.clone());
    let invocation = Invocation {
        source: source.to_string(),
        input: recorded.input.clone(),
        now_ms: recorded.now_ms,
        seed: recorded.seed,
        storage: recorded.storage.clone(),
        secrets: Default::default(),
    };
    let replayed = run(invocation, Box::new(host), limits)
        .map_err(|e| ScriptError::ReplayMismatch(format!("the replay failed where the record ran: {e}")))?;
    if let Some(problem) = mismatch.borrow().clone() {
        return Err(ScriptError::ReplayMismatch(problem));
    }
    if replayed.calls.len() != recorded.calls.len() {
        return Err(ScriptError::ReplayMismatch(format!(
            "the replay made {} host calls, the record {}",
            replayed.calls.len(),
            recorded.calls.len()
        )));
    }
    if replayed.result_json != recorded.result_json {
        return Err(ScriptError::ReplayMismatch("the replay's output differs from the recorded output".into()));
    }
    Ok(replayed)
}
