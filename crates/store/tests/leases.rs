//! The store's leases: one holder at a time until expiry or release.

use triggerx_store::Backend;
use triggerx_testbed::databases::fresh_store;

#[tokio::test]
async fn one_holder_until_expiry_or_release() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(store.acquire_lease("triggers", "a", 200).await.unwrap_or(false));
    assert!(!store.acquire_lease("triggers", "b", 200).await.unwrap_or(true), "a holds it");
    assert!(store.acquire_lease("triggers", "a", 200).await.unwrap_or(false), "a renews");
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    assert!(store.acquire_lease("triggers", "b", 200).await.unwrap_or(false), "a's lease expired");
    assert_eq!(store.lease_holder("triggers").await.ok().flatten().map(|(h, _)| h).as_deref(), Some("b"));
    store.release_lease("triggers", "b").await.unwrap_or_else(|e| panic!("{e}"));
    assert!(store.acquire_lease("triggers", "a", 200).await.unwrap_or(false), "released");
}
