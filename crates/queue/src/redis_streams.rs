//! The queue as a Redis stream: schedulers append entries (`XADD`), dispatchers read them through a
//! consumer group (`XREADGROUP`) and acknowledge an entry (`XACK`) only after its task row exists. An
//! entry read but never acknowledged (its dispatcher died, or creating the task failed) is delivered
//! again: a restarted consumer first re-reads its own pending entries, and entries idle longer than
//! `claim_idle` are claimed from any consumer (`XAUTOCLAIM`). Task rows are unique per (job,
//! occurrence), so a redelivery never runs an occurrence twice.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use redis::streams::{StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamReadOptions, StreamReadReply};
use triggerx_core::ids::JobId;

use crate::{QueueError, TaskRequestMessage};

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
    /// Entries the stream keeps at most (older acknowledged ones are trimmed, approximately).
    pub max_len: usize,
    /// How long a publisher retries before giving up on an unreachable Redis.
    pub publish_patience: Duration,
}

impl RedisQueueConfig {
    /// The defaults for `url`: stream `triggerx:task-requests`, group `dispatchers`.
    pub fn new(url: &str) -> Self {
        RedisQueueConfig {
            url: url.to_string(),
            stream: "triggerx:task-requests".to_string(),
            group: "dispatchers".to_string(),
            claim_idle: Duration::from_secs(30),
            max_len: 1_000_000,
            publish_patience: Duration::from_secs(30),
        }
    }
}

async fn connect(url: &str) -> Result<ConnectionManager, QueueError> {
    let client = redis::Client::open(url)?;
    Ok(ConnectionManager::new(client).await?)
}

/// Appends task requests to the stream.
#[derive(Clone)]
pub struct RedisPublisher {
    conn: ConnectionManager,
    config: RedisQueueConfig,
}

impl RedisPublisher {
    /// Connects to the stream's Redis.
    pub async fn connect(config: &RedisQueueConfig) -> Result<Self, QueueError> {
        Ok(RedisPublisher { conn: connect(&config.url).await?, config: config.clone() })
    }

    /// The stream key.
    pub fn stream(&self) -> &str {
        &self.config.stream
    }

    /// Appends one request, retrying with back-off while Redis is unreachable (up to the patience).
    pub async fn publish(&self, message: &TaskRequestMessage) -> Result<(), QueueError> {
        let started = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut conn = self.conn.clone();
            let fields = [("job_id", message.job_id.to_string()), ("occurrence_key", message.occurrence_key.clone())];
            let added: Result<String, _> = redis::cmd("XADD")
                .arg(&self.config.stream)
                .arg("MAXLEN")
                .arg("~")
                .arg(self.config.max_len)
                .arg("*")
                .arg(&fields)
                .query_async(&mut conn)
                .await;
            match added {
                Ok(_) => return Ok(()),
                Err(e) if started.elapsed() < self.config.publish_patience => {
                    tracing::warn!(error = %e, "could not append a task request to redis; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// One entry handed to a consumer: acknowledge it once its task row exists.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Stream entry id.
    pub id: String,
    /// The request.
    pub message: TaskRequestMessage,
}

/// A dispatcher's side of the consumer group.
pub struct RedisConsumer {
    conn: ConnectionManager,
    config: RedisQueueConfig,
    name: String,
    /// Own pending entries still to re-read after a restart ("0"), then new ones (">").
    replaying: bool,
    last_claim: tokio::time::Instant,
}

fn parse(entry: &StreamId) -> Result<Delivery, QueueError> {
    let field = |name: &str| -> Result<String, QueueError> {
        entry.get::<String>(name).ok_or_else(|| QueueError::Malformed(entry.id.clone(), format!("no {name} field")))
    };
    let job_id = field("job_id")?;
    let job_id =
        JobId::parse(&job_id, "job_id").map_err(|e| QueueError::Malformed(entry.id.clone(), e.message.clone()))?;
    Ok(Delivery {
        id: entry.id.clone(),
        message: TaskRequestMessage { job_id, occurrence_key: field("occurrence_key")? },
    })
}

impl RedisConsumer {
    /// Joins the group (creating the stream and the group from the stream's start if needed) as
    /// consumer `name` (keep it stable across restarts so the consumer's pending entries come back).
    pub async fn connect(config: &RedisQueueConfig, name: &str) -> Result<Self, QueueError> {
        let mut conn = connect(&config.url).await?;
        let created: Result<(), redis::RedisError> =
            conn.xgroup_create_mkstream(&config.stream, &config.group, "0").await;
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            return Err(e.into());
        }
        Ok(RedisConsumer {
            conn,
            config: config.clone(),
            name: name.to_string(),
            replaying: true,
            last_claim: tokio::time::Instant::now(),
        })
    }

    /// The next entries: this consumer's own unacknowledged ones first, then entries other consumers
    /// left idle too long, then new ones (waiting up to `block` for them). Malformed entries are
    /// acknowledged and dropped with a warning.
    pub async fn next(&mut self, block: Duration) -> Result<Vec<Delivery>, QueueError> {
        let entries = if self.replaying {
            let reply = self.read("0", None).await?;
            if reply.is_empty() {
                self.replaying = false;
            }
            reply
        } else if self.last_claim.elapsed() >= self.config.claim_idle / 2 {
            self.last_claim = tokio::time::Instant::now();
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
                tracing::info!(entries = reply.claimed.len(), "claimed task requests another dispatcher left");
            }
            reply.claimed
        } else {
            self.read(">", Some(block)).await?
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
}
