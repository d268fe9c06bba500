//! The sandbox against hostile and ordinary scripts: escapes (files, environment, processes, modules,
//! internal addresses, hosts the job does not allow) are errors, budgets end runaway scripts, time and
//! randomness come from the input, and a replay with the recorded answers gives the same bytes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use triggerx_http::outbound::AddressPolicy;
use triggerx_script::{
    HostAnswer, HostRequest, Invocation, Limits, LiveHost, ScriptError, replay, replay_blocking, run, run_live,
};

fn invocation(source: &str) -> Invocation {
    Invocation {
        source: source.into(),
        input: serde_json::json!({ "trigger": { "kind": "time", "scheduledAt": 1_700_000_000_000i64 } }),
        now_ms: 1_700_000_000_000,
        seed: 7,
        storage: BTreeMap::new(),
        secrets: BTreeMap::new(),
    }
}

fn live(policy: AddressPolicy, hosts: &[&str]) -> LiveHost {
    LiveHost::new(
        &triggerx_script::FetchClient::new(policy),
        hosts.iter().map(|h| h.to_string()).collect(),
        Default::default(),
        "1".into(),
    )
}

/// A local price API (the third party a real script would read).
async fn price_server() -> String {
    let app = Router::new()
        .route("/price", get(|| async { r#"{"price":"1234.5"}"# }))
        .route("/big", get(|| async { "x".repeat(200 * 1024) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("127.0.0.1:{}", address.port())
}

async fn outcome(source: &str, host: LiveHost) -> Result<triggerx_script::ScriptRun, ScriptError> {
    run_live(invocation(source), host, Limits::default()).await
}

fn threw(result: Result<triggerx_script::ScriptRun, ScriptError>) -> String {
    match result {
        Err(ScriptError::Threw(message)) => message,
        other => panic!("expected a thrown error, got {other:?}"),
    }
}

#[tokio::test]
async fn escapes_are_errors_and_the_host_is_unharmed() {
    let public = || live(AddressPolicy::public_only(), &["*"]);
    // Files, environment, processes, modules: none of it exists in the engine.
    let file = threw(outcome("async function main() { return std.loadFile('/etc/passwd'); }", public()).await);
    assert!(file.contains("std is not defined"), "{file}");
    let require =
        threw(outcome("async function main() { return require('fs').readFileSync('/etc/passwd'); }", public()).await);
    assert!(require.contains("require is not defined"), "{require}");
    let import = threw(outcome("async function main() { const fs = await import('fs'); return fs; }", public()).await);
    assert!(import.to_lowercase().contains("module") || import.contains("fs"), "{import}");
    let env = threw(outcome("async function main() { return process.env.HOME; }", public()).await);
    assert!(env.contains("process is not defined"), "{env}");
    let spawn = threw(outcome("async function main() { return os.exec(['/bin/sh', '-c', 'id']); }", public()).await);
    assert!(spawn.contains("os is not defined"), "{spawn}");

    // Runaway scripts end on their budgets, quickly.
    let started = Instant::now();
    let looped = outcome("async function main() { for (;;) {} }", public()).await;
    assert!(matches!(looped, Err(ScriptError::OutOfFuel(_))), "{looped:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the fuel budget ends an endless loop: {:?}",
        started.elapsed()
    );
    let huge =
        outcome("async function main() { const a = new Uint8Array(1024 * 1024 * 1024); return a.length; }", public())
            .await;
    assert!(matches!(huge, Err(ScriptError::OutOfMemory(_))), "{huge:?}");
    let growing =
        outcome("async function main() { const a = []; for (;;) a.push('x'.repeat(1 << 20)); }", public()).await;
    assert!(matches!(growing, Err(ScriptError::OutOfMemory(_))), "{growing:?}");
    let deep =
        threw(outcome("function f(n) { return f(n + 1) + 1; } async function main() { return f(0); }", public()).await);
    assert!(deep.contains("RangeError") || deep.contains("stack"), "{deep}");
    let never = outcome("async function main() { await new Promise(() => {}); }", public()).await;
    assert_eq!(never, Err(ScriptError::NeverFinished));

    // The network: internal addresses never, other hosts only when the job allows them.
    let loopback = threw(
        outcome("async function main() { return (await fetch('http://127.0.0.1:6379/')).status; }", public()).await,
    );
    assert!(loopback.contains("internal address"), "{loopback}");
    let metadata = threw(
        outcome(
            "async function main() { return (await fetch('http://169.254.169.254/latest/meta-data/')).status; }",
            public(),
        )
        .await,
    );
    assert!(metadata.contains("internal address"), "{metadata}");
    let server = price_server().await;
    let allowed_elsewhere = live(AddressPolicy::with_loopback(), &["api.example.org"]);
    let not_allowed = threw(
        outcome(
            &format!("async function main() {{ return (await fetch('http://{server}/price')).status; }}"),
            allowed_elsewhere,
        )
        .await,
    );
    assert!(not_allowed.contains("not among the job's allowed hosts"), "{not_allowed}");
    let big = threw(
        outcome(
            &format!("async function main() {{ return (await fetch('http://{server}/big')).status; }}"),
            live(AddressPolicy::with_loopback(), &[&server]),
        )
        .await,
    );
    assert!(big.contains("larger than"), "{big}");

    // After all that, the same thread pool runs an ordinary script.
    let fine = outcome("async function main(input) { return [input.trigger.kind, 1 + 1]; }", public()).await.unwrap();
    assert_eq!(fine.result_json, r#"{"output":["time",2],"storageUpdates":{}}"#);
}

#[test]
fn syntax_errors_and_missing_main_are_named() {
    let host = || Box::new(triggerx_script::RecordedHost::new(Vec::new(), Default::default()));
    let syntax = run(invocation("function main( {"), host(), &Limits::default());
    assert!(matches!(syntax, Err(ScriptError::Syntax(_))), "{syntax:?}");
    let no_main = run(invocation("const x = 1;"), host(), &Limits::default());
    assert!(matches!(&no_main, Err(ScriptError::Threw(m)) if m.contains("no function main")), "{no_main:?}");
    let arrow = run(invocation("const main = (input) => ['ok'];"), host(), &Limits::default()).unwrap();
    assert_eq!(arrow.result_json, r#"{"output":["ok"],"storageUpdates":{}}"#);
}

#[test]
fn time_and_randomness_come_from_the_input() {
    let source = "async function main() { return [Date.now(), new Date().getTime(), Math.random(), \
                  new (Object.getPrototypeOf(new Date()).constructor)().getTime(), typeof WeakRef]; }";
    let host = || Box::new(triggerx_script::RecordedHost::new(Vec::new(), Default::default()));
    let first = run(invocation(source), host(), &Limits::default()).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let second = run(invocation(source), host(), &Limits::default()).unwrap();
    assert_eq!(first.result_json, second.result_json, "same input, same bytes");
    let (output, _) = first.result().unwrap();
    assert_eq!(output[0], 1_700_000_000_000i64);
    assert_eq!(output[1], 1_700_000_000_000i64);
    assert_eq!(output[3], 1_700_000_000_000i64, "the real Date is not reachable through the prototype");
    assert_eq!(output[4], "undefined");
    let mut other_seed = invocation(source);
    other_seed.seed = 8;
    let third = run(other_seed, host(), &Limits::default()).unwrap();
    assert_ne!(third.result_json, first.result_json, "the seed drives Math.random");
}

#[tokio::test]
async fn a_replay_with_the_recorded_answers_gives_the_same_bytes_without_the_network() {
    let server = price_server().await;
    let source = format!(
        "async function main(input) {{\n\
           const r = await fetch('http://{server}/price', {{ headers: {{ authorization: 'Bearer ' + secrets.get('api_key') }} }});\n\
           const price = (await r.json()).price;\n\
           const runs = Number(storage.get('runs') || '0') + 1;\n\
           storage.set('runs', runs);\n\
           console.log('price', price, 'runs', runs);\n\
           return [Math.round(Number(price) * 100), runs, Date.now()];\n\
         }}"
    );
    let mut live_invocation = invocation(&source);
    live_invocation.secrets.insert("api_key".into(), "s3cr3t-value".into());
    live_invocation.storage.insert("runs".into(), "4".into());
    let recorded =
        run_live(live_invocation, live(AddressPolicy::with_loopback(), &[&server]), Limits::default()).await.unwrap();
    assert_eq!(recorded.result_json, r#"{"output":[123450,5,1700000000000],"storageUpdates":{"runs":"5"}}"#);
    assert_eq!(recorded.calls.len(), 2, "the secret and the fetch");
    let text = serde_json::to_string(&recorded).unwrap();
    assert!(!text.contains("s3cr3t-value"), "a secret's value never enters the record: {text}");
    assert!(text.contains("Bearer <secret:api_key>"), "{text}");
    assert_eq!(recorded.logs, vec!["price 1234.5 runs 5".to_string()]);

    // Another keeper: no secrets, no price server reachable (a recorded host only), same bytes.
    let wire: triggerx_script::ScriptRun = serde_json::from_str(&text).unwrap();
    let replayed = replay_blocking(source.clone(), wire.clone(), Limits::default()).await.unwrap();
    assert_eq!(replayed.result_json.as_bytes(), recorded.result_json.as_bytes());

    // A record whose answer was changed, or a changed script, does not replay.
    let mut forged = wire.clone();
    forged.result_json = forged.result_json.replace("123450", "999900");
    assert!(matches!(replay(&source, &forged, &Limits::default()), Err(ScriptError::ReplayMismatch(_))));
    let mut other_answer = wire.clone();
    other_answer.calls[1].answer = HostAnswer::Fetch { status: 200, body: r#"{"price":"1"}"#.into() };
    assert!(matches!(replay(&source, &other_answer, &Limits::default()), Err(ScriptError::ReplayMismatch(_))));
    let mut other_request = wire.clone();
    if let HostRequest::Fetch { url, .. } = &mut other_request.calls[1].request {
        *url = "http://elsewhere/price".into();
    }
    assert!(matches!(replay(&source, &other_request, &Limits::default()), Err(ScriptError::ReplayMismatch(_))));
    let changed = source.replace("* 100", "* 10");
    assert!(matches!(replay(&changed, &wire, &Limits::default()), Err(ScriptError::ReplayMismatch(_))));
}
