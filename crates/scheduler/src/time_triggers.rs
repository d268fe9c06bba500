//! Time triggers: every active time job lives in memory ([`Timers`]), the loop sleeps until the earliest
//! occurrence and sends one task request per occurrence to the queue, with the deterministic occurrence
//! key `time:<unix ms>` so a restart that fires an occurrence again lands on the same task row. Next
//! occurrences are persisted in batches; job changes made through the API are followed by their update
//! time. After downtime the missed-occurrence policy applies: run the latest missed occurrence once
//! (default) or skip to the next one; occurrences missed within the catch-up window (a failover) all
//! run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::{mpsc, watch};
use triggerx_core::ids::JobId;
use triggerx_core::job::JobStatus;
use triggerx_core::time::{UnixMillis, now_millis};
use triggerx_queue::{FINAL_SETTLE_PATIENCE, SETTLE_PATIENCE, TaskQueueSender, TaskRequest};
use triggerx_store::{NextOccurrence, Store, StoreError, TimeSchedule};

use crate::timers::{TimerEntry, Timers};

/// Steps allowed when looking for the latest missed occurrence of a cron or specific schedule.
/// Occurrences fired in one turn of the loop. Behind schedule (more jobs due every second than the
/// dispatcher takes), every job is due again as soon as it fired: without a bound the loop never saw a
/// stop or a paused job again (found by `triggerx bench abuse`).
const MAX_FIRED_PER_TURN: usize = 1_000;

const MAX_CATCH_UP_STEPS: usize = 100_000;
/// Job changes are re-read with this overlap (writers' clocks and same-millisecond updates).
const CHANGE_OVERLAP_MS: i64 = 2_000;

/// What to do with occurrences that fell due while no scheduler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedPolicy {
    /// Run the latest missed occurrence once, then resume the schedule.
    #[default]
    RunLatest,
    /// Skip them all and resume with the next occurrence.
    Skip,
}

/// Time scheduler settings.
#[derive(Debug, Clone)]
pub struct TimeTriggerConfig {
    /// Missed-occurrence policy.
    pub missed: MissedPolicy,
    /// How often job changes are read from the store.
    pub follow_every: Duration,
    /// How often next occurrences and finished jobs are written.
    pub persist_every: Duration,
    /// Occurrences missed less than this long before start-up all run, in order (a scheduler taking
    /// over from one that died); older missed ones follow `missed`. Zero: `missed` decides alone.
    pub catch_up_window: Duration,
}

impl Default for TimeTriggerConfig {
    fn default() -> Self {
        TimeTriggerConfig {
            missed: MissedPolicy::RunLatest,
            follow_every: Duration::from_millis(500),
            persist_every: Duration::from_millis(200),
            catch_up_window: Duration::ZERO,
        }
    }
}

/// What the scheduler did.
#[derive(Debug)]
pub struct TimeTriggerStats {
    /// Jobs in memory.
    pub jobs: AtomicU64,
    /// Occurrences sent to the queue.
    pub fired: AtomicU64,
    /// Lateness (scheduled instant -> task request sent), microseconds.
    pub lateness_micros: Mutex<Histogram<u64>>,
}

impl Default for TimeTriggerStats {
    fn default() -> Self {
        TimeTriggerStats {
            jobs: AtomicU64::new(0),
            fired: AtomicU64::new(0),
            // Three significant figures over 1 µs .. 1 h cannot fail to construct.
            lateness_micros: Mutex::new(Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|_| {
                Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant figures are valid"))
            })),
        }
    }
}

/// Errors of the time scheduler.
#[derive(Debug, thiserror::Error)]
pub enum TimeTriggerError {
    /// Store access failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue to the dispatcher is gone.
    #[error("the task queue is closed")]
    QueueClosed,
}

enum Write {
    Next(NextOccurrence),
    Finish(JobId, JobStatus, i64),
}

/// The time scheduler.
pub struct TimeTriggers {
    store: Store,
    queue: TaskQueueSender,
    config: TimeTriggerConfig,
    stats: Arc<TimeTriggerStats>,
}

fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

impl TimeTriggers {
    /// A scheduler reading jobs from `store` and sending occurrences to `queue`.
    pub fn new(store: Store, queue: TaskQueueSender, config: TimeTriggerConfig) -> Self {
        TimeTriggers { store, queue, config, stats: Arc::new(TimeTriggerStats::default()) }
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<TimeTriggerStats> {
        self.stats.clone()
    }

    /// Loads every active time job and fires occurrences until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), TimeTriggerError> {
        let started = now_millis();
        let mut timers = Timers::default();
        let (writes, pending) = mpsc::unbounded_channel();
        let writer = tokio::spawn(persist(self.store.clone(), self.queue.clone(), pending, self.config.persist_every));
        for job in self.store.schedulable_time_jobs().await? {
            self.admit(&mut timers, &job, started, true, &writes);
        }
        tracing::info!(jobs = timers.len(), "time scheduler loaded its jobs");
        let mut changes_since = started - CHANGE_OVERLAP_MS;
        let mut follow = tokio::time::interval(self.config.follow_every);
        follow.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            self.stats.jobs.store(timers.len() as u64, Ordering::Relaxed);
            let wait = match timers.earliest() {
                Some(at) => Duration::from_micros(u64::try_from(at * 1000 - now_micros()).unwrap_or(0)),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {
                    if let Err(e) = self.fire_due(&mut timers, &writes).await {
                        break Err(e);
                    }
                }
                _ = follow.tick() => {
                    let polled_at = now_millis();
                    match self.store.time_jobs_changed_since(changes_since).await {
                        Ok(changed) => {
                            for job in &changed {
                                self.admit(&mut timers, job, polled_at, false, &writes);
                            }
                            changes_since = polled_at - CHANGE_OVERLAP_MS;
                        }
                        Err(e) => tracing::warn!(error = %e, "could not read job changes; retrying"),
                    }
                }
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break Ok(());
                    }
                }
            }
        };
        drop(writes);
        let _ = writer.await;
        result
    }

    /// Sends the occurrences due now, at most [`MAX_FIRED_PER_TURN`] (the loop comes back at once for
    /// the rest, after it looked at a stop and at job changes), and schedules each job's next one.
    async fn fire_due(
        &self,
        timers: &mut Timers,
        writes: &mpsc::UnboundedSender<Write>,
    ) -> Result<(), TimeTriggerError> {
        for _ in 0..MAX_FIRED_PER_TURN {
            let Some((job_id, at)) = timers.pop_due(now_millis()) else { break };
            let message = TaskRequest { job_id, occurrence_key: format!("time:{at}") };
            self.queue.send(message).await.map_err(|_| TimeTriggerError::QueueClosed)?;
            let late = now_micros() - at * 1000;
            self.stats.fired.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut histogram) = self.stats.lateness_micros.lock() {
                let _ = histogram.record(u64::try_from(late).unwrap_or(0).max(1));
            }
            metrics::histogram!("triggerx_time_trigger_lateness_seconds").record(late as f64 / 1e6);
            let Some(entry) = timers.get(&job_id) else { continue };
            let version = entry.schedule_version;
            match entry.following(at) {
                Some(next) => {
                    timers.reschedule(job_id, next);
                    let _ =
                        writes.send(Write::Next(NextOccurrence { job_id, at: Some(next), schedule_version: version }));
                }
                None => {
                    let done = timers.remove(&job_id).is_some_and(|e| e.schedule_done(at));
                    let _ = writes.send(Write::Next(NextOccurrence { job_id, at: None, schedule_version: version }));
                    let status = if done { JobStatus::Completed } else { JobStatus::Expired };
                    let _ = writes.send(Write::Finish(job_id, status, version));
                }
            }
        }
        Ok(())
    }

    /// Takes a job in (at start-up, or because it changed), drops it, or leaves it as it is.
    fn admit(
        &self,
        timers: &mut Timers,
        job: &TimeSchedule,
        now: UnixMillis,
        at_start: bool,
        writes: &mpsc::UnboundedSender<Write>,
    ) {
        if !job.status.is_schedulable() {
            timers.remove(&job.job_id);
            return;
        }
        // Unchanged schedule (a change through the API moves the version): leave the entry alone.
        if timers.get(&job.job_id).is_some_and(|e| e.schedule_version == job.schedule_version) {
            return;
        }
        let (schedule, tz) = match job.trigger.schedule(&job.timezone) {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::warn!(job_id = %job.job_id, error = %e, "unusable schedule; job not scheduled");
                return;
            }
        };
        let probe = TimerEntry::new(schedule, tz, job.expiration_time, 0, job.schedule_version);
        let persisted = job.trigger.next_execution_timestamp;
        let window = self.config.catch_up_window.as_millis() as i64;
        let next = match persisted {
            Some(at) if at >= now => Some(at),
            // Fires at once; each following missed occurrence is due too, so all of them run in order.
            Some(missed) if at_start && now - missed <= window => Some(missed),
            Some(missed) if at_start => match self.config.missed {
                MissedPolicy::RunLatest => probe.latest_missed(missed, now, MAX_CATCH_UP_STEPS).or_else(|| {
                    tracing::warn!(job_id = %job.job_id, "too many missed occurrences to find the latest; skipping them");
                    probe.next_after(now)
                }),
                MissedPolicy::Skip => probe.next_after(now),
            },
            _ => probe.next_after(now),
        };
        let version = job.schedule_version;
        match next {
            Some(next) => {
                if persisted != Some(next) {
                    let _ = writes.send(Write::Next(NextOccurrence {
                        job_id: job.job_id,
                        at: Some(next),
                        schedule_version: version,
                    }));
                }
                let mut entry = probe;
                entry.next = next;
                timers.insert(job.job_id, entry);
            }
            None => {
                timers.remove(&job.job_id);
                let _ = writes.send(Write::Next(NextOccurrence {
                    job_id: job.job_id,
                    at: None,
                    schedule_version: version,
                }));
                let _ = writes.send(Write::Finish(job.job_id, JobStatus::Expired, version));
            }
        }
    }
}

/// Writes next occurrences (the last one per job wins) and finished jobs in batches, each only once
/// the requests sent before it are safe (see [`TaskQueueSender::settle`]): a crash can then make a
/// restart fire an occurrence again (landing on its task), never skip one whose request was lost.
async fn persist(store: Store, queue: TaskQueueSender, mut pending: mpsc::UnboundedReceiver<Write>, every: Duration) {
    let mut next: HashMap<JobId, NextOccurrence> = HashMap::new();
    let mut finished = Vec::new();
    let mut open = true;
    while open {
        let deadline = tokio::time::Instant::now() + every;
        loop {
            match tokio::time::timeout_at(deadline, pending.recv()).await {
                Ok(Some(Write::Next(occurrence))) => {
                    next.insert(occurrence.job_id, occurrence);
                }
                Ok(Some(Write::Finish(job_id, status, version))) => finished.push((job_id, status, version)),
                Ok(None) => {
                    open = false;
                    break;
                }
                Err(_) => break,
            }
        }
        if next.is_empty() && finished.is_empty() {
            continue;
        }
        let patience = if open { SETTLE_PATIENCE } else { FINAL_SETTLE_PATIENCE };
        if !queue.settle(patience).await {
            if open {
                tracing::debug!(jobs = next.len(), "requests not yet handled; next occurrences wait");
                continue;
            }
            tracing::warn!(
                jobs = next.len(),
                "the last requests were not handled before stopping; their next occurrences are not \
                 recorded (a restart fires those occurrences again, onto the same tasks)"
            );
            break;
        }
        let batch: Vec<NextOccurrence> = next.drain().map(|(_, occurrence)| occurrence).collect();
        match store.set_next_executions(&batch).await {
            Ok(recorded) if recorded < batch.len() as u64 => tracing::debug!(
                skipped = batch.len() as u64 - recorded,
                "next occurrences of schedules changed meanwhile were not recorded"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, jobs = batch.len(), "could not persist next occurrences"),
        }
        for (job_id, status, version) in finished.drain(..) {
            match store.finish_time_job(job_id, status, version).await {
                Ok(true) => tracing::info!(%job_id, status = status.as_str(), "job finished"),
                Ok(false) => {}
                Err(e) => tracing::warn!(%job_id, error = %e, "could not finish the job"),
            }
        }
    }
}
