//! The Redis Streams queue on a real Redis: entries reach the group, an unacknowledged entry comes back
//! to its consumer after a restart, and one a dead consumer left idle is claimed by another.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use triggerx_core::ids::JobId;
use triggerx_queue::{RedisConsumer, RedisQueueConfig, TaskRequestMessage, redis_sender};

fn config() -> RedisQueueConfig {
    let url = std::env::var("TRIGGERX_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    RedisQueueConfig {
        stream: format!("triggerx-test:{unique}:{}", std::process::id()),
        claim_idle: Duration::from_millis(300),
        ..RedisQueueConfig::new(&url)
    }
}

fn request(i: u64) -> TaskRequestMessage {
    TaskRequestMessage { job_id: JobId::parse(&i.to_string(), "job_id").unwrap(), occurrence_key: format!("time:{i}") }
}

#[tokio::test]
async fn entries_are_redelivered_until_acknowledged() {
    let config = config();
    let sender = redis_sender(&config).await.unwrap();
    // Published before any consumer exists: the group starts at the stream's beginning.
    for i in 1..=3 {
        sender.send(request(i)).await.unwrap();
    }
    let mut first = RedisConsumer::connect(&config, "dispatcher-a").await.unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        got.extend(first.next(Duration::from_millis(200)).await.unwrap());
    }
    assert_eq!(got.iter().map(|d| d.message.clone()).collect::<Vec<_>>(), vec![request(1), request(2), request(3)]);
    first.ack(&got[0].id).await.unwrap();
    first.ack(&got[1].id).await.unwrap();
    drop(first);

    // The same consumer restarted re-reads its unacknowledged entry first.
    let mut again = RedisConsumer::connect(&config, "dispatcher-a").await.unwrap();
    let replayed = again.next(Duration::from_millis(200)).await.unwrap();
    assert_eq!(replayed.iter().map(|d| d.message.clone()).collect::<Vec<_>>(), vec![request(3)]);
    drop(again);

    // Another consumer claims it once it has been idle long enough; acknowledged, it is gone.
    let mut other = RedisConsumer::connect(&config, "dispatcher-b").await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut claimed = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while claimed.is_empty() && tokio::time::Instant::now() < deadline {
        claimed = other.next(Duration::from_millis(100)).await.unwrap();
    }
    assert_eq!(claimed.iter().map(|d| d.message.clone()).collect::<Vec<_>>(), vec![request(3)]);
    other.ack(&claimed[0].id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut rest = Vec::new();
    for _ in 0..4 {
        rest.extend(other.next(Duration::from_millis(100)).await.unwrap());
    }
    assert!(rest.is_empty(), "{rest:?}");
    sender.send(request(4)).await.unwrap();
    // Acknowledged as soon as it arrives, as the dispatcher does: otherwise a slow machine could let it
    // sit past `claim_idle`, and the consumer would rightly claim its own idle entry back.
    let mut fresh = Vec::new();
    for _ in 0..4 {
        for delivery in other.next(Duration::from_millis(100)).await.unwrap() {
            other.ack(&delivery.id).await.unwrap();
            fresh.push(delivery);
        }
    }
    assert_eq!(fresh.iter().map(|d| d.message.clone()).collect::<Vec<_>>(), vec![request(4)]);
}
