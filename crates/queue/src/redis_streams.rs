//! The queue as a Redis stream: schedulers append entries (`XADD`), dispatchers read them through a
//! consumer group (`XREADGROUP`) and acknowledge an entry (`XACK`) only after its task row exists. An
//! entry read but never acknowledged (its dispatcher died, or creating the task failed) is delivered
//! again: a restarted consumer first re-reads its own pending entries, and entries idle longer than
//! `claim_idle` are claimed from any consumer (`XAUTOCLAIM`). Task rows are unique per (job,
//! occurrence), so a redelivery never runs an occurrence twice.
//!
//! A publisher keeps every request in an outbox until the store shows its task row (the
//! [`OccurrenceLedger`]): sending never blocks on Redis (a background flusher appends, retrying while
//! Redis is away), a request Redis lost (a restart without persistence) is appended again, and
//! [`RedisPublisher::settle`] says a request is safe only once its row exists. The stream is trimmed
//! only below the oldest entry not yet acknowledged.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use redis::streams::{StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamReadOptions, StreamReadReply};
use tokio::sync::Notify;
use tokio::time::Instant;
use triggerx_core::ids::JobId;
use triggerx_core::ledger::OccurrenceLedger;

use crate::{QueueError, TaskRequest};

/// Entries appended per round trip.
const FLUSH_BATCH: usize = 500;
/// How often `settle` asks the ledger again while waiting.
const SETTLE_POLL: Duration = Duration::from_millis(50);

/// Where the stream lives and how it is consumed.
#[derive(Debug, Clone)]
pub struct RedisQueueConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// Stream key.
    pub stream: String,
    /// Consumer group of the dispatchers.
    pub group: String,
    /// Entries unacknowledged this long are claimed by another consumer.
    pub claim_idle: Duration,
    /// A request whose task row has not appeared this long after it was appended is appended again
    /// (Redis may have lost it; a duplicate lands on the same task row).
    pub republish_after: Duration,
    /// Requests a publisher holds at most before `send` waits (Redis unreachable for long).
    pub max_outbox: usize,
}

impl RedisQueueConfig {
    /// The defaults for `url`: stream `triggerx:task-requests`, group `dispatchers`.
    pub fn new(url: &str) -> Self {
        RedisQueueConfig {
            url: url.to_string(),
            stream: "triggerx:task-requests".to_string(),
            group: "dispatchers".to_string(),
            claim_idle: Duration::from_secs(30),
            republish_after: Duration::from_secs(15),
            max_outbox: 1_000_000,
        }
    }
}

/// How long one Redis command may take; longer than any `XREADGROUP BLOCK` this queue issues (the
/// client's default of 500 ms made a blocking read of 500 ms time out whenever the stream was idle).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

async fn connect(url: &str) -> Result<ConnectionManager, QueueError> {
    let client = redis::Client::open(url)?;
    let config = redis::aio::ConnectionManagerConfig::new().set_response_timeout(Some(RESPONSE_TIMEOUT));
    Ok(ConnectionManager::new_with_config(client, config).await?)
}

#[derive(Default)]
struct Outbox {
    /// Every request not yet known to have its task row, with when it was last appended.
    entries: HashMap<TaskRequest, Option<Instant>>,
    /// Requests to append (new ones, and ones to append again).
    unsent: VecDeque<TaskRequest>,
}

struct Shared {
    config: RedisQueueConfig,
    ledger: Arc<dyn OccurrenceLedger>,
    outbox: Mutex<Outbox>,
    wake: Notify,
    room: Notify,
}

impl Shared {
    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        // A poisoned lock only means a thread panicked holding it; the outbox itself is intact.
        self.outbox.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Appends task requests to the stream (cheap to clone; the flusher stops with the last clone).
#[derive(Clone)]
pub struct RedisPublisher {
    shared: Arc<Shared>,
    /// The flusher runs while a clone of this lives.
    _alive: Arc<()>,
}

impl RedisPublisher {
    /// Connects to the stream's Redis; `ledger` tells which requests have their task rows.
    pub async fn connect(config: &RedisQueueConfig, ledger: Arc<dyn OccurrenceLedger>) -> Result<Self, QueueError> {
        let conn = connect(&config.url).await?;
        let shared = Arc::new(Shared {
            config: config.clone(),
            ledger,
            outbox: Mutex::new(Outbox::default()),
            wake: Notify::new(),
            room: Notify::new(),
        });
        let alive = Arc::new(());
        tokio::spawn(flush(shared.clone(), Arc::downgrade(&alive), conn));
        Ok(RedisPublisher { shared, _alive: alive })
    }

    /// The stream key.
    pub fn stream(&self) -> &str {
        &self.shared.config.stream
    }

    /// Takes one request into the outbox; the flusher appends it. Waits only while the outbox is full.
    pub async fn publish(&self, message: &TaskRequest) -> Result<(), QueueError> {
        loop {
            let room = self.shared.room.notified();
            {
                let mut outbox = self.shared.outbox();
                if outbox.entries.len() < self.shared.config.max_outbox || outbox.entries.contains_key(message) {
                    if outbox.entries.insert(message.clone(), None).is_none() {
                        outbox.unsent.push_back(message.clone());
                    }
                    break;
                }
            }
            tracing::warn!("the task request outbox is full (redis unreachable?); waiting");
            room.await;
        }
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Waits up to `patience` until every request taken so far has its task row. Requests whose row
    /// is overdue are appended again.
    pub async fn settle(&self, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        loop {
            let waiting: Vec<TaskRequest> = self.shared.outbox().entries.keys().cloned().collect();
            if waiting.is_empty() {
                return true;
            }
            match self.shared.ledger.recorded(&waiting).await {
                Ok(recorded) => {
                    let mut outbox = self.shared.outbox();
                    for request in &recorded {
                        outbox.entries.remove(request);
                    }
                    let overdue = self.shared.config.republish_after;
                    let mut again = Vec::new();
                    for (request, sent) in outbox.entries.iter_mut() {
                        if sent.is_some_and(|at| at.elapsed() >= overdue) {
                            *sent = None;
                            again.push(request.clone());
                        }
                    }
                    if !again.is_empty() {
                        tracing::warn!(
                            requests = again.len(),
                            "task requests without a task row; appending them again"
                        );
                        outbox.unsent.extend(again);
                        self.shared.wake.notify_one();
                    }
                    let empty = outbox.entries.is_empty();
                    drop(outbox);
                    self.shared.room.notify_waiters();
                    if empty {
                        return true;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not ask the store which task requests arrived"),
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(SETTLE_POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }

    /// Requests taken but not yet known to have a task row.
    pub fn unsettled(&self) -> usize {
        self.shared.outbox().entries.len()
    }
}

/// Appends the outbox's unsent requests, retrying with back-off while Redis is unreachable; stops when
/// the last publisher is gone.
async fn flush(live: Arc<Shared>, alive: Weak<()>, mut conn: ConnectionManager) {
    let mut backoff = Duration::from_millis(100);
    while alive.strong_count() > 0 {
        let batch: Vec<TaskRequest> = {
            let mut outbox = live.outbox();
            let take = outbox.unsent.len().min(FLUSH_BATCH);
            outbox.unsent.drain(..take).collect()
        };
        if batch.is_empty() {
            // Wake at least now and then to notice the last publisher going away.
            let _ = tokio::time::timeout(Duration::from_secs(1), live.wake.notified()).await;
            continue;
        }
        let mut pipe = redis::pipe();
        for request in &batch {
            let fields = [("job_id", request.job_id.to_string()), ("occurrence_key", request.occurrence_key.clone())];
            pipe.cmd("XADD").arg(&live.config.stream).arg("*").arg(&fields).ignore();
        }
        match pipe.query_async::<()>(&mut conn).await {
            Ok(()) => {
                backoff = Duration::from_millis(100);
                let now = Instant::now();
                let mut outbox = live.outbox();
                for request in batch {
                    if let Some(sent) = outbox.entries.get_mut(&request) {
                        *sent = Some(now);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, requests = batch.len(), "could not append task requests to redis; retrying");
                {
                    let mut outbox = live.outbox();
                    for request in batch.into_iter().rev() {
                        outbox.unsent.push_front(request);
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// The smallest stream id after `id` (`ms-seq` -> `ms-(seq+1)`); `id` itself when it does not parse.
fn next_id(id: &str) -> String {
    match id.split_once('-').and_then(|(ms, seq)| Some((ms, seq.parse::<u64>().ok()?))) {
        Some((ms, seq)) => format!("{ms}-{}", seq.saturating_add(1)),
        None => id.to_string(),
    }
}

/// One entry handed to a consumer: acknowledge it once its task row exists.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Stream entry id.
    pub id: String,
    /// The request.
    pub message: TaskRequest,
}

/// A dispatcher's side of the consumer group.
pub struct RedisConsumer {
    conn: ConnectionManager,
    config: RedisQueueConfig,
    name: String,
    /// While re-reading its own pending entries after a (re)start: the id to read after ("0" first).
    /// Each read moves it on, so an entry that stays pending cannot hold the consumer in replay.
    replay_after: Option<String>,
    last_claim: Instant,
}

fn parse(entry: &StreamId) -> Result<Delivery, QueueError> {
    let field = |name: &str| -> Result<String, QueueError> {
        entry.get::<String>(name).ok_or_else(|| QueueError::Malformed(entry.id.clone(), format!("no {name} field")))
    };
    let job_id = field("job_id")?;
    let job_id =
        JobId::parse(&job_id, "job_id").map_err(|e| QueueError::Malformed(entry.id.clone(), e.message.clone()))?;
    Ok(Delivery { id: entry.id.clone(), message: TaskRequest { job_id, occurrence_key: field("occurrence_key")? } })
}

async fn create_group(conn: &mut ConnectionManager, config: &RedisQueueConfig) -> Result<(), QueueError> {
    let created: Result<(), redis::RedisError> = conn.xgroup_create_mkstream(&config.stream, &config.group, "0").await;
    match created {
        Err(e) if e.code() != Some("BUSYGROUP") => Err(e.into()),
        _ => Ok(()),
    }
}

impl RedisConsumer {
    /// Joins the group (creating the stream and the group from the stream's start if needed) as
    /// consumer `name` (keep it stable across restarts so the consumer's pending entries come back).
    pub async fn connect(config: &RedisQueueConfig, name: &str) -> Result<Self, QueueError> {
        let mut conn = connect(&config.url).await?;
        create_group(&mut conn, config).await?;
        Ok(RedisConsumer {
            conn,
            config: config.clone(),
            name: name.to_string(),
            replay_after: Some("0".into()),
            last_claim: Instant::now(),
        })
    }

    /// The next entries: this consumer's own unacknowledged ones first, then entries other consumers
    /// left idle too long, then new ones (waiting up to `block` for them). Malformed entries are
    /// acknowledged and dropped with a warning. A stream or group Redis lost (a restart) is made again.
    pub async fn next(&mut self, block: Duration) -> Result<Vec<Delivery>, QueueError> {
        let entries = match self.read_some(block).await {
            Err(QueueError::Redis(e)) if e.code() == Some("NOGROUP") => {
                tracing::warn!(stream = %self.config.stream, "the task stream's group is gone (redis restarted?); making it again");
                create_group(&mut self.conn, &self.config).await?;
                self.replay_after = Some("0".into());
                return Ok(Vec::new());
            }
            other => other?,
        };
        let mut deliveries = Vec::with_capacity(entries.len());
        for entry in &entries {
            match parse(entry) {
                Ok(delivery) => deliveries.push(delivery),
                Err(e) => {
                    tracing::warn!(error = %e, "dropping a malformed task request");
                    self.ack(&entry.id).await?;
                }
            }
        }
        Ok(deliveries)
    }

    async fn read_some(&mut self, block: Duration) -> Result<Vec<StreamId>, QueueError> {
        if let Some(after) = self.replay_after.clone() {
            let reply = self.read(&after, None).await?;
            self.replay_after = reply.last().map(|e| e.id.clone());
            return Ok(reply);
        }
        if self.last_claim.elapsed() >= self.config.claim_idle / 2 {
            self.last_claim = Instant::now();
            let options = StreamAutoClaimOptions::default().count(100);
            let reply: StreamAutoClaimReply = self
                .conn
                .xautoclaim_options(
                    &self.config.stream,
                    &self.config.group,
                    &self.name,
                    self.config.claim_idle.as_millis() as u64,
                    "0-0",
                    options,
                )
                .await?;
            if !reply.claimed.is_empty() {
                tracing::info!(entries = reply.claimed.len(), "claimed task requests left idle");
                return Ok(reply.claimed);
            }
        }
        self.read(">", Some(block)).await
    }

    async fn read(&mut self, from: &str, block: Option<Duration>) -> Result<Vec<StreamId>, QueueError> {
        let mut options = StreamReadOptions::default().group(&self.config.group, &self.name).count(100);
        if let Some(block) = block {
            options = options.block(block.as_millis() as usize);
        }
        let reply: Option<StreamReadReply> = self.conn.xread_options(&[&self.config.stream], &[from], &options).await?;
        Ok(reply.map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect()).unwrap_or_default())
    }

    /// Acknowledges an entry: its task row exists.
    pub async fn ack(&mut self, id: &str) -> Result<(), QueueError> {
        let _: i64 = self.conn.xack(&self.config.stream, &self.config.group, &[id]).await?;
        Ok(())
    }

    /// Trims the stream below the oldest entry the group still needs (pending, or not yet delivered);
    /// returns how many entries went. Acknowledged entries are the only ones ever trimmed.
    pub async fn trim_acknowledged(&mut self) -> Result<u64, QueueError> {
        let groups: redis::streams::StreamInfoGroupsReply = self.conn.xinfo_groups(&self.config.stream).await?;
        let Some(group) = groups.groups.iter().find(|g| g.name == self.config.group) else { return Ok(0) };
        if groups.groups.len() > 1 {
            // Another group's readers may still need older entries.
            return Ok(0);
        }
        let pending: redis::streams::StreamPendingReply =
            self.conn.xpending(&self.config.stream, &self.config.group).await?;
        let keep_from = match &pending {
            redis::streams::StreamPendingReply::Data(data) if data.count > 0 => data.start_id.clone(),
            _ => next_id(&group.last_delivered_id),
        };
        let removed: u64 = redis::cmd("XTRIM")
            .arg(&self.config.stream)
            .arg("MINID")
            .arg(&keep_from)
            .query_async(&mut self.conn)
            .await?;
        Ok(removed)
    }
}
