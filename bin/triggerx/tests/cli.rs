//! The `triggerx` binary as a user runs it: API keys, the API server, and clear errors with non-zero exits.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn triggerx(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triggerx"));
    command.arg("--data-dir").arg(data_dir).env_remove("TRIGGERX_DATABASE_URL").env("NO_COLOR", "1");
    command
}

#[test]
fn apikey_create_list_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let created = triggerx(dir.path())
        .args(["apikey", "create", "--owner", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "--rate-limit", "30"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let key = String::from_utf8(created.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("TGRX-"), "{key}");
    let listed = triggerx(dir.path()).args(["apikey", "list"]).output().unwrap();
    let table = String::from_utf8(listed.stdout).unwrap();
    assert!(table.contains("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") && table.contains("30"), "{table}");
    assert!(!table.contains(&key), "the secret is never listed");
    let revoked = triggerx(dir.path()).args(["apikey", "revoke", &key]).output().unwrap();
    assert!(revoked.status.success());
    let table = String::from_utf8(triggerx(dir.path()).args(["apikey", "list"]).output().unwrap().stdout).unwrap();
    assert!(table.contains("REVOKED"), "{table}");
}

#[test]
fn bad_input_gives_a_clear_message_and_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (vec!["apikey", "create"], "--owner"),
        (vec!["apikey", "create", "--owner", "0x1234"], "owner"),
        (vec!["apikey", "create", "--admin", "--rate-limit", "0"], "rate_limit"),
        (vec!["apikey", "revoke", "not-a-key"], "key"),
        (vec!["apikey", "revoke", "TGRX-00000000-0000-0000-0000-000000000000"], "not found"),
        (vec!["--database-url", "mysql://nope", "apikey", "list"], "neither sqlite:// nor postgres://"),
        (vec!["api", "--listen", "not-an-address"], "invalid"),
    ] {
        let output = triggerx(dir.path()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} must fail");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn api_starts_prints_an_admin_key_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = triggerx(dir.path())
        .args(["api", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut admin_key = None;
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(key) = line.trim().strip_prefix("admin key:") {
            admin_key = Some(key.trim().to_string());
        }
        if line.contains("Ctrl-C") {
            break;
        }
    }
    let admin_key = admin_key.expect("the first start prints an admin key");
    assert_eq!(std::fs::read_to_string(dir.path().join("admin-key")).unwrap().trim(), admin_key);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let health = client.get(format!("http://127.0.0.1:{port}/api/health")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let keys = client
            .get(format!("http://127.0.0.1:{port}/api/admin/api-keys"))
            .header("x-api-key", &admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(keys.status(), 200);
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
