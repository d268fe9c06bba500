//! The health service over real HTTP with a real store: signed check-ins (forged, replayed, stale and
//! unregistered ones refused), offline after the threshold, exactly one alert per transition on each
//! channel. Telegram and the webhook are a local HTTP server, e-mail a local SMTP server.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use triggerx_core::checkin::CheckIn;
use triggerx_core::keeper::KeeperUpsert;
use triggerx_health::alerts::{EmailChannel, TelegramChannel, WebhookChannel};
use triggerx_health::{AlertChannels, HealthConfig};
use triggerx_store::Store;

type Captured = Arc<Mutex<Vec<String>>>;

async fn http_sink() -> (SocketAddr, Captured, Captured) {
    let telegram: Captured = Default::default();
    let webhook: Captured = Default::default();
    let app = axum::Router::new()
        .route(
            "/bottest-token/sendMessage",
            post(|State((t, _)): State<(Captured, Captured)>, Json(v): Json<Value>| async move {
                t.lock().unwrap().push(v["text"].as_str().unwrap().to_string());
                "{\"ok\":true}"
            }),
        )
        .route(
            "/hook",
            post(|State((_, w)): State<(Captured, Captured)>, Json(v): Json<Value>| async move {
                w.lock().unwrap().push(format!(
                    "{} {}",
                    v["kind"].as_str().unwrap(),
                    v["keeper_address"].as_str().unwrap()
                ));
                "ok"
            }),
        )
        .with_state((telegram.clone(), webhook.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, telegram, webhook)
}

/// A minimal SMTP server that accepts every message and keeps its body.
async fn smtp_sink() -> (SocketAddr, Captured) {
    let mails: Captured = Default::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut body = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().unwrap().push(std::mem::take(&mut body));
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (address, mails)
}

fn signed(keeper: &str, consensus: &PrivateKeySigner, timestamp: i64) -> CheckIn {
    let mut checkin = CheckIn {
        keeper_address: keeper.into(),
        consensus_address: format!("{:#x}", consensus.address()),
        version: "0.1.0".into(),
        timestamp,
        peer_id: "12D3KooWtest".into(),
        signature: String::new(),
    };
    let signature = consensus.sign_message_sync(checkin.message().as_bytes()).unwrap();
    checkin.signature = format!("0x{}", alloy::hex::encode(signature.as_bytes()));
    checkin
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_liveness_and_one_alert_per_transition() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(None, dir.path()).await.unwrap();
    let consensus = PrivateKeySigner::random();
    let keeper = "0x00000000000000000000000000000000000000aa";
    store
        .upsert_keeper(&KeeperUpsert {
            keeper_address: keeper.into(),
            consensus_address: Some(format!("{:#x}", consensus.address())),
            registered: Some(true),
            email_id: Some("ops@example.org".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    store.set_keeper_chat_id(keeper, 4242).await.unwrap();
    let (http, telegram, webhook) = http_sink().await;
    let (smtp, mails) = smtp_sink().await;
    let config = HealthConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        offline_after: Duration::from_secs(1),
        alert_after: Duration::from_secs(1),
        monitor_interval: Duration::from_millis(100),
        max_clock_skew: Duration::from_secs(60),
        channels: AlertChannels {
            telegram: Some(TelegramChannel {
                base_url: format!("http://{http}"),
                token: "test-token".into(),
                default_chat_id: None,
            }),
            email: Some(EmailChannel {
                host: "127.0.0.1".into(),
                port: smtp.port(),
                starttls: false,
                from: "triggerx@example.org".into(),
                default_to: None,
            }),
            webhook: Some(WebhookChannel { url: format!("http://{http}/hook") }),
        },
    };
    let health = triggerx_health::spawn(store.clone(), config).await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://{}/health", health.address);
    let post = |body: CheckIn| {
        let (client, url) = (client.clone(), url.clone());
        async move { client.post(url).json(&body).send().await.unwrap().status().as_u16() }
    };

    let first = signed(keeper, &consensus, now_secs());
    assert_eq!(post(first.clone()).await, 200);
    assert_eq!(post(first).await, 409, "a replayed check-in is refused");
    let mut forged = signed(keeper, &PrivateKeySigner::random(), now_secs() + 1);
    forged.consensus_address = format!("{:#x}", consensus.address());
    assert_eq!(post(forged).await, 401, "signed by someone else than the registered consensus key");
    assert_eq!(
        post(signed(keeper, &PrivateKeySigner::random(), now_secs() + 1)).await,
        403,
        "another consensus address"
    );
    let mut tampered = signed(keeper, &consensus, now_secs() + 1);
    tampered.version = "9.9.9".into();
    assert_eq!(post(tampered).await, 401, "the signature covers the whole payload");
    assert_eq!(post(signed(keeper, &consensus, now_secs() - 3600)).await, 400, "stale timestamp");
    assert_eq!(
        post(signed("0x00000000000000000000000000000000000000bb", &consensus, now_secs())).await,
        403,
        "not registered"
    );
    let k = store.keeper_by_address(keeper).await.unwrap().unwrap();
    assert!(k.online && k.last_checked_in.is_some());

    // A keeper registered after start is accepted: registration is looked up at check-in time.
    let late = PrivateKeySigner::random();
    store
        .upsert_keeper(&KeeperUpsert {
            keeper_address: "0x00000000000000000000000000000000000000cc".into(),
            consensus_address: Some(format!("{:#x}", late.address())),
            registered: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(post(signed("0x00000000000000000000000000000000000000cc", &late, now_secs())).await, 200);

    // Silence: offline after the threshold, then exactly one alert per channel.
    // The late keeper has no contacts: only the webhook hears of it; count our keeper's calls.
    let ours = |w: &Captured| w.lock().unwrap().iter().filter(|e| e.ends_with(keeper)).cloned().collect::<Vec<_>>();
    let sinks = || (telegram.lock().unwrap().len(), ours(&webhook).len(), mails.lock().unwrap().len());
    wait_until("one offline alert per channel", Duration::from_secs(10), || sinks() == (1, 1, 1)).await;
    assert!(!store.keeper_by_address(keeper).await.unwrap().unwrap().online, "marked offline");
    assert!(telegram.lock().unwrap()[0].contains("offline"));
    assert_eq!(ours(&webhook)[0], format!("offline {keeper}"));
    assert!(mails.lock().unwrap()[0].contains("offline"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sinks(), (1, 1, 1), "no repeated offline alert");

    // Back: exactly one "back online" alert per channel.
    assert_eq!(post(signed(keeper, &consensus, now_secs() + 2)).await, 200);
    wait_until("one back-online alert per channel", Duration::from_secs(10), || sinks() == (2, 2, 2)).await;
    assert!(telegram.lock().unwrap()[1].contains("back online"));
    assert_eq!(ours(&webhook)[1], format!("back_online {keeper}"));
    assert!(store.keeper_by_address(keeper).await.unwrap().unwrap().online);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sinks().0, 2);
    health.stop();
}
