//! One script run in a fresh QuickJS runtime: the harness (`prelude.js`) is installed, the user's
//! script evaluated, `main(input)` called and awaited, under the memory, stack, fuel and wall-clock
//! caps of [`Limits`]. The engine has no file system, process, environment or module loader at all;
//! the only way out is the one host function, whose every call is recorded.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Instant;

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Function, Promise, Runtime, Value};

use crate::ScriptError;
use crate::limits::{LOG_LINE_BYTES, Limits};
use crate::record::{HostAnswer, HostCall, HostRequest, ScriptRun};

const PRELUDE: &str = include_str!("prelude.js");

/// Answers a script's host calls (a live host reaches the network; a recorded one replays answers).
pub trait Host {
    /// The answer to `request`; `deadline` is when the run's wall-clock cap ends.
    fn answer(&mut self, request: &HostRequest, deadline: Instant) -> HostAnswer;
}

/// What one run is given.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The script's text.
    pub source: String,
    /// The object passed to `main`.
    pub input: serde_json::Value,
    /// What `Date.now()` returns, Unix milliseconds.
    pub now_ms: i64,
    /// The seed of `Math.random`.
    pub seed: u32,
    /// The job's stored key-value pairs.
    pub storage: BTreeMap<String, String>,
    /// The job's secrets (values never enter the record).
    pub secrets: BTreeMap<String, String>,
}

/// The placeholder a secret's value is recorded as.
pub fn secret_placeholder(name: &str) -> String {
    format!("<secret:{name}>")
}

struct RunState {
    host: Box<dyn Host>,
    calls: Vec<HostCall>,
    logs: Vec<String>,
    secrets: BTreeMap<String, String>,
    limits: Limits,
    deadline: Instant,
}

impl RunState {
    /// Replaces every secret value in `text` by its placeholder.
    fn mask(&self, text: &str) -> String {
        let mut masked = text.to_string();
        for (name, value) in &self.secrets {
            if !value.is_empty() {
                masked = masked.replace(value.as_str(), &secret_placeholder(name));
            }
        }
        masked
    }

    fn handle(&mut self, kind: &str, request_json: &str) -> String {
        if kind == "log" {
            if self.logs.len() < self.limits.log_lines {
                let line: String = serde_json::from_str::<String>(request_json).unwrap_or_default();
                let mut line = self.mask(&line);
                if line.len() > LOG_LINE_BYTES {
                    let mut cut = LOG_LINE_BYTES;
                    while !line.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    line.truncate(cut);
                }
                self.logs.push(line);
            }
            return "null".into();
        }
        let parsed = parse_request(kind, request_json);
        let request = match parsed {
            Ok(r) => r,
            Err(message) => return answer_json(&HostAnswer::Error { message }),
        };
        // Requests are recorded (and compared on replay) with secrets masked.
        let recorded_request: HostRequest = serde_json::to_string(&request)
            .ok()
            .and_then(|t| serde_json::from_str(&self.mask(&t)).ok())
            .unwrap_or_else(|| request.clone());
        let answer = if self.calls.len() >= self.limits.host_calls {
            HostAnswer::Error { message: format!("more than {} host calls", self.limits.host_calls) }
        } else if let HostRequest::Secret { name } = &request {
            match self.secrets.get(name) {
                Some(value) => HostAnswer::Secret { value: value.clone() },
                // A replay has no secrets: the recorded placeholder stands in.
                None => self.host.answer(&request, self.deadline),
            }
        } else {
            // The live host sends the real request; the record keeps the masked one.
            let answer = self.host.answer(&request, self.deadline);
            cap_answer(answer, self.limits.answer_bytes)
        };
        let recorded_answer = match (&request, &answer) {
            (HostRequest::Secret { name }, HostAnswer::Secret { .. }) => {
                HostAnswer::Secret { value: secret_placeholder(name) }
            }
            _ => answer.clone(),
        };
        if self.calls.len() < self.limits.host_calls {
            self.calls.push(HostCall { request: recorded_request, answer: recorded_answer });
        }
        answer_json(&answer)
    }
}

fn parse_request(kind: &str, json: &str) -> Result<HostRequest, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("bad host request: {e}"))?;
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    match kind {
        "fetch" => {
            let headers = value
                .get("headers")
                .and_then(|h| h.as_object())
                .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default();
            let body = value.get("body").and_then(|b| b.as_str()).map(str::to_string);
            Ok(HostRequest::Fetch { url: field("url"), method: field("method"), headers, body })
        }
        "eth_call" => Ok(HostRequest::EthCall { chain_id: field("chainId"), to: field("to"), data: field("data") }),
        "secret" => Ok(HostRequest::Secret { name: field("name") }),
        other => Err(format!("unknown host call '{other}'")),
    }
}

fn cap_answer(answer: HostAnswer, cap: usize) -> HostAnswer {
    match &answer {
        HostAnswer::Fetch { body, .. } if body.len() > cap => {
            HostAnswer::Error { message: format!("response body larger than {cap} bytes") }
        }
        HostAnswer::EthCall { result } if result.len() > cap => {
            HostAnswer::Error { message: format!("call result larger than {cap} bytes") }
        }
        _ => answer,
    }
}

fn answer_json(answer: &HostAnswer) -> String {
    let value = match answer {
        HostAnswer::Fetch { status, body } => serde_json::json!({ "status": status, "body": body }),
        HostAnswer::EthCall { result } => serde_json::json!({ "result": result }),
        HostAnswer::Secret { value } => serde_json::json!({ "value": value }),
        HostAnswer::Error { message } => serde_json::json!({ "error": message }),
    };
    value.to_string()
}

/// Why the interrupt handler stopped the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Fuel,
    Wall,
}

/// Runs `invocation` against `host` under `limits`. Every failure is a [`ScriptError`]; nothing the
/// script does can panic or hang the caller past the wall-clock cap (host calls get the deadline too).
pub fn run(invocation: Invocation, host: Box<dyn Host>, limits: &Limits) -> Result<ScriptRun, ScriptError> {
    let engine = |e: rquickjs::Error| ScriptError::Engine(e.to_string());
    let runtime = Runtime::new().map_err(engine)?;
    runtime.set_memory_limit(limits.memory_bytes);
    runtime.set_max_stack_size(limits.stack_bytes);
    let started = Instant::now();
    let deadline = started + limits.wall;
    let fuel = Rc::new(RefCell::new((0u64, None::<Stop>)));
    {
        let fuel = fuel.clone();
        let budget = limits.fuel;
        runtime.set_interrupt_handler(Some(Box::new(move || {
            let Ok(mut state) = fuel.try_borrow_mut() else { return true };
            state.0 += 1;
            if state.0 > budget {
                state.1 = Some(Stop::Fuel);
            } else if Instant::now() > deadline {
                state.1 = Some(Stop::Wall);
            }
            state.1.is_some()
        })));
    }
    let context = Context::full(&runtime).map_err(engine)?;
    let state = Rc::new(RefCell::new(RunState {
        host,
        calls: Vec::new(),
        logs: Vec::new(),
        secrets: invocation.secrets.clone(),
        limits: limits.clone(),
        deadline,
    }));
    let storage_json = serde_json::to_string(&invocation.storage).map_err(|e| ScriptError::Engine(e.to_string()))?;
    let input_json = invocation.input.to_string();
    let outcome = context.with(|ctx| -> Result<String, ScriptError> {
        let host_state = state.clone();
        let host_fn = Function::new(ctx.clone(), move |kind: String, request: String| -> String {
            match host_state.try_borrow_mut() {
                Ok(mut s) => s.handle(&kind, &request),
                Err(_) => answer_json(&HostAnswer::Error { message: "host call re-entered".into() }),
            }
        })
        .map_err(engine)?;
        let install: Function = ctx.eval(PRELUDE).map_err(engine)?;
        let runner: Function = install
            .call((host_fn, invocation.now_ms as f64, invocation.seed, storage_json))
            .map_err(|e| describe(&ctx, e, limits, &fuel))?;
        let mut options = EvalOptions::default();
        options.strict = false;
        options.filename = Some("script.js".into());
        ctx.eval_with_options::<Value, _>(invocation.source.as_bytes().to_vec(), options).map_err(
            |e| match describe(&ctx, e, limits, &fuel) {
                ScriptError::Threw(m) if m.starts_with("SyntaxError") => ScriptError::Syntax(m),
                other => other,
            },
        )?;
        let input: Value = ctx.json_parse(input_json).map_err(engine)?;
        let promise: Promise = runner.call((input,)).map_err(|e| describe(&ctx, e, limits, &fuel))?;
        match promise.finish::<String>() {
            Ok(result) => Ok(result),
            Err(rquickjs::Error::WouldBlock) => Err(ScriptError::NeverFinished),
            Err(e) => Err(describe(&ctx, e, limits, &fuel)),
        }
    });
    let fuel_used = fuel.borrow().0;
    let memory_bytes = runtime.memory_usage().malloc_size.max(0) as u64;
    let result_json = outcome?;
    if result_json.len() > limits.output_bytes {
        return Err(ScriptError::BadOutput(format!("the output is larger than {} bytes", limits.output_bytes)));
    }
    let (calls, logs) = {
        let mut finished = state.borrow_mut();
        (std::mem::take(&mut finished.calls), std::mem::take(&mut finished.logs))
    };
    Ok(ScriptRun {
        script_hash: crate::source::script_hash(invocation.source.as_bytes()),
        input: invocation.input,
        now_ms: invocation.now_ms,
        seed: invocation.seed,
        storage: invocation.storage,
        calls,
        result_json,
        logs,
        fuel_used,
        memory_bytes,
    })
}

/// The error an engine failure stands for: the budget that ran out, else the thrown value's text.
fn describe(
    ctx: &Ctx<'_>,
    error: rquickjs::Error,
    limits: &Limits,
    fuel: &Rc<RefCell<(u64, Option<Stop>)>>,
) -> ScriptError {
    let thrown = match error {
        rquickjs::Error::Exception => thrown_text(ctx),
        rquickjs::Error::Allocation => return ScriptError::OutOfMemory(limits.memory_bytes),
        other => other.to_string(),
    };
    match fuel.borrow().1 {
        Some(Stop::Fuel) => return ScriptError::OutOfFuel(limits.fuel * INTERRUPT_STEPS),
        Some(Stop::Wall) => return ScriptError::Timeout(limits.wall.as_millis() as u64),
        None => {}
    }
    if thrown.contains("out of memory") {
        return ScriptError::OutOfMemory(limits.memory_bytes);
    }
    ScriptError::Threw(thrown)
}

/// Engine steps between two interrupt checks (QuickJS's `JS_INTERRUPT_COUNTER_INIT`).
const INTERRUPT_STEPS: u64 = 10_000;

fn thrown_text(ctx: &Ctx<'_>) -> String {
    let value = ctx.catch();
    if let Some(exception) = value.as_exception() {
        let message = exception.message().unwrap_or_default();
        let name: String = exception.get("name").unwrap_or_else(|_| "Error".into());
        return format!("{name}: {message}");
    }
    match ctx.json_stringify(value.clone()) {
        Ok(Some(text)) => text.to_string().unwrap_or_else(|_| "a value".into()),
        _ => "a value that is not an Error".into(),
    }
}
