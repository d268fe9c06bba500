//! The outbound policy against real local servers: a name that resolves to loopback (DNS rebinding's
//! end state) and a redirect to an internal address are refused; allowed ranges are reachable.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use triggerx_http::AddressPolicy;

async fn serve(bind: &str, router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

/// This machine's host name when it resolves to an internal address (as `vm -> 127.0.0.1` in
/// /etc/hosts): a name the URL check cannot see through, only the resolver can.
async fn internal_host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?.trim().to_string();
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 80)).await.ok()?.collect();
    (!resolved.is_empty() && resolved.iter().all(|a| triggerx_http::outbound::is_internal(a.ip()))).then_some(name)
}

#[tokio::test]
async fn a_name_resolving_to_an_internal_address_is_refused_at_connection_time() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = Router::new().route(
        "/secret",
        get(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { "{\"SecretAccessKey\": \"wJalr\"}" }
        }),
    );
    let address = serve("0.0.0.0:0", router).await;
    let Some(name) = internal_host_name().await else {
        eprintln!("skipped: this machine's host name does not resolve to an internal address");
        return;
    };
    let url = format!("http://{name}:{}/secret", address.port());
    let guarded = AddressPolicy::public_only().client(reqwest::Client::builder()).unwrap();
    let error = guarded.get(&url).send().await.unwrap_err();
    let chain = format!("{:?}", error);
    assert!(chain.contains("Internal {"), "{chain}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the server was never reached");
    // The same request through a policy that allows the range reaches it.
    let allowed = AddressPolicy::allowing(["0.0.0.0/0".parse().unwrap()]).client(reqwest::Client::builder()).unwrap();
    assert!(allowed.get(&url).send().await.unwrap().status().is_success());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirects_to_internal_addresses_are_not_followed() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let secret = serve(
        "127.0.0.1:0",
        Router::new().route(
            "/secret",
            get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { "secret" }
            }),
        ),
    )
    .await;
    // 127.0.0.2 stands for an allowed (public) host that answers with a redirect inwards.
    let target = format!("http://127.0.0.1:{}/secret", secret.port());
    let redirecting =
        serve("127.0.0.2:0", Router::new().route("/", get(move || async move { Redirect::temporary(&target) }))).await;
    let policy = AddressPolicy::allowing(["127.0.0.2/32".parse().unwrap()]);
    let client = policy.client(reqwest::Client::builder()).unwrap();
    let error = client.get(format!("http://{redirecting}/")).send().await.unwrap_err();
    assert!(error.is_redirect(), "{error:?}");
    assert!(format!("{error:?}").contains("Internal {"), "{error:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    // Without the redirect the allowed host is served.
    let direct = reqwest::Client::new().get(format!("http://{redirecting}/")).send().await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "an unguarded client follows it: {}", direct.status());
}
