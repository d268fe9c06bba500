//! The Redis Streams queue on a real Redis and a real store: entries reach the group, an
//! unacknowledged entry comes back to its consumer after a restart, one a dead consumer left idle is
//! claimed by another, a request is safe only once its task row exists (and is appended again when
//! Redis lost it), a pending entry cannot hold a restarted consumer in replay, and trimming keeps
//! every entry not yet acknowledged.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use triggerx_api::wire::validate_job_chain;
use triggerx_core::ids::JobId;
use triggerx_queue::{RedisConsumer, RedisQueueConfig, TaskQueueSender, TaskRequest, redis_sender};
use triggerx_store::{Backend, NewTask, Store};
use triggerx_testbed::databases::fresh_store;
use triggerx_testbed::fixtures::time_job_input;

async fn store_with_job(dir: &std::path::Path, id: &str) -> Store {
    let store = fresh_store(Backend::Sqlite, dir).await.unwrap();
    let job = time_job_input(id, "0x00000000000000000000000000000000000000aa");
    store.create_jobs(&validate_job_chain(&[job], chrono::Utc::now()).unwrap()).await.unwrap();
    store
}

async fn sender_on(config: &RedisQueueConfig, store: &Store) -> TaskQueueSender {
    redis_sender(config, Arc::new(store.clone())).await.unwrap()
}

async fn make_task(store: &Store, request: &TaskRequest) {
    let new = NewTask {
        job_id: request.job_id,
        task_definition_id: None,
        occurrence_key: request.occurrence_key.clone(),
        task_performer_id: None,
    };
    store.create_task(&new).await.unwrap();
}

async fn read_until(consumer: &mut RedisConsumer, count: usize) -> Vec<triggerx_queue::Delivery> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < count && tokio::time::Instant::now() < deadline {
        got.extend(consumer.next(Duration::from_millis(100)).await.unwrap());
    }
    got
}

fn config() -> RedisQueueConfig {
    let url = std::env::var("TRIGGERX_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    RedisQueueConfig {
        stream: format!("triggerx-test:{unique}:{}", std::process::id()),
        claim_idle: Duration::from_millis(300),
        ..RedisQueueConfig::new(&url)
    }
}

fn request(i: u64) -> TaskRequest {
    TaskRequest { job_id: JobId::parse(&i.to_string(), "job_id").unwrap(), occurrence_key: format!("time:{i}") }
}

#[tokio::test]
async fn entries_are_redelivered_until_acknowledged() {
    let config = config();
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    let sender = sender_on(&config, &store).await;
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

#[tokio::test]
async fn a_request_is_safe_only_once_its_task_row_exists_and_a_lost_one_is_sent_again() {
    let config = RedisQueueConfig { republish_after: Duration::from_millis(300), ..config() };
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_job(dir.path(), "77").await;
    let sender = sender_on(&config, &store).await;
    let first = TaskRequest { job_id: JobId::parse("77", "job_id").unwrap(), occurrence_key: "time:1".into() };
    sender.send(first.clone()).await.unwrap();
    let mut consumer = RedisConsumer::connect(&config, "dispatcher").await.unwrap();
    let got = read_until(&mut consumer, 1).await;
    assert_eq!(got.len(), 1);
    assert!(!sender.settle(Duration::from_millis(200)).await, "in the stream but no task row yet: not safe");
    make_task(&store, &first).await;
    consumer.ack(&got[0].id).await.unwrap();
    assert!(sender.settle(Duration::from_secs(2)).await, "safe once its row exists");

    // Redis loses the stream (a restart without persistence) after the entry was appended.
    let second = TaskRequest { occurrence_key: "time:2".into(), ..first.clone() };
    sender.send(second.clone()).await.unwrap();
    let got = read_until(&mut consumer, 1).await;
    assert_eq!(got[0].message, second);
    let client = redis::Client::open(config.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL").arg(&config.stream).query_async(&mut conn).await.unwrap();
    assert!(!sender.settle(Duration::from_millis(500)).await, "lost before its row was made");
    // The consumer makes its group again and the publisher appends the request again.
    let mut again = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while again.is_empty() && tokio::time::Instant::now() < deadline {
        again = consumer.next(Duration::from_millis(100)).await.unwrap();
        let _ = sender.settle(Duration::from_millis(50)).await;
    }
    assert_eq!(again.iter().map(|d| d.message.clone()).collect::<Vec<_>>(), vec![second.clone()], "sent again");
    make_task(&store, &second).await;
    consumer.ack(&again[0].id).await.unwrap();
    assert!(sender.settle(Duration::from_secs(2)).await, "safe once its row exists");
}

#[tokio::test]
async fn a_pending_entry_cannot_hold_a_restarted_consumer_and_trimming_keeps_unacknowledged_entries() {
    let config = config();
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    let sender = sender_on(&config, &store).await;
    for i in 1..=3 {
        sender.send(request(i)).await.unwrap();
    }
    let mut consumer = RedisConsumer::connect(&config, "dispatcher").await.unwrap();
    let got = read_until(&mut consumer, 3).await;
    consumer.ack(&got[0].id).await.unwrap();
    drop(consumer);
    // Entries 2 and 3 stay pending (their requests keep failing). The restarted consumer replays them
    // once and then reads new entries: no live-lock on a poison entry.
    let mut restarted = RedisConsumer::connect(&config, "dispatcher").await.unwrap();
    let replayed = restarted.next(Duration::from_millis(100)).await.unwrap();
    assert_eq!(replayed.iter().map(|d| d.message.clone()).collect::<Vec<_>>(), vec![request(2), request(3)]);
    sender.send(request(4)).await.unwrap();
    let fresh = read_until(&mut restarted, 1).await;
    assert_eq!(fresh.iter().map(|d| d.message.clone()).collect::<Vec<_>>(), vec![request(4)], "new entries flow");
    sender.send(request(5)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    restarted.trim_acknowledged().await.unwrap();
    let client = redis::Client::open(config.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let left: u64 = redis::cmd("XLEN").arg(&config.stream).query_async(&mut conn).await.unwrap();
    assert_eq!(left, 4, "only the acknowledged entry 1 was trimmed: 2, 3 and 4 are pending, 5 unread");
    for delivery in replayed.iter().chain(&fresh) {
        restarted.ack(&delivery.id).await.unwrap();
    }
    restarted.trim_acknowledged().await.unwrap();
    let left: u64 = redis::cmd("XLEN").arg(&config.stream).query_async(&mut conn).await.unwrap();
    assert_eq!(left, 1, "entry 5 was never delivered: it stays");
}
