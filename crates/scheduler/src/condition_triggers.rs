//! Condition triggers: each job reads its value every poll interval (ticks aligned to multiples of
//! the interval, so jobs on the same source and interval share one read), compares it with its limits
//! and fires on each transition into true, never on every tick while true. The n-th firing of a job
//! has the occurrence key `condition:<n>`, and the state (armed, firings, last firing) is persisted, so
//! a restart neither repeats nor loses a transition. A cool-down delays a firing until it has passed
//! (if the condition still holds then). A source that fails is reported on the job (error, failures in
//! a row) and changes no state.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use triggerx_core::condition::ConditionType;
use triggerx_core::ids::{JobId, TriggerKind};
use triggerx_core::job::{ConditionState, Job, JobStatus, Trigger};
use triggerx_core::numbers::Decimal;
use triggerx_core::time::{UnixMillis, now_millis};
use triggerx_queue::{FINAL_SETTLE_PATIENCE, TaskQueueSender, TaskRequest};
use triggerx_store::{Store, StoreError};

use crate::condition_sources::{Extraction, FetchLimits, Reading, SourceKey, SourceReader, plan};

/// Job changes are re-read with this overlap (writers' clocks and same-millisecond updates).
const CHANGE_OVERLAP_MS: i64 = 2_000;
/// Failures in a row after which a source is logged as failing (it is on the job from the first).
const FAILING_AFTER: i64 = 3;

/// Condition scheduler settings.
#[derive(Debug, Clone)]
pub struct ConditionTriggerConfig {
    /// How often job changes are read from the store.
    pub follow_every: Duration,
    /// How often changed states are written.
    pub persist_every: Duration,
    /// A job's last value is written at most this often when nothing else about it changed.
    pub value_report_every: Duration,
    /// Timeouts and size limits of reads.
    pub limits: FetchLimits,
    /// Chains oracle sources may call: (chain id, RPC URL).
    pub chains: Vec<(u64, String)>,
}

impl Default for ConditionTriggerConfig {
    fn default() -> Self {
        ConditionTriggerConfig {
            follow_every: Duration::from_millis(500),
            persist_every: Duration::from_millis(200),
            value_report_every: Duration::from_secs(10),
            limits: FetchLimits::default(),
            chains: Vec::new(),
        }
    }
}

/// What the condition scheduler did.
#[derive(Debug, Default)]
pub struct ConditionTriggerStats {
    /// Jobs watched.
    pub jobs: AtomicU64,
    /// Distinct sources watched.
    pub sources: AtomicU64,
    /// Reads of sources.
    pub reads: AtomicU64,
    /// Reads that failed.
    pub failed_reads: AtomicU64,
    /// Job evaluations.
    pub evaluations: AtomicU64,
    /// Task requests sent.
    pub fired: AtomicU64,
}

/// Errors of the condition scheduler.
#[derive(Debug, thiserror::Error)]
pub enum ConditionTriggerError {
    /// Store access failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The settings are unusable.
    #[error("{0}")]
    Config(String),
    /// The queue to the dispatcher is gone.
    #[error("the task queue is closed")]
    QueueClosed,
}

struct Watch {
    source: SourceKey,
    extraction: Extraction,
    condition: ConditionType,
    lower: Option<Decimal>,
    upper: Option<Decimal>,
    interval_ms: i64,
    cooldown_ms: i64,
    recurring: bool,
    expiration: UnixMillis,
    fingerprint: String,
    state: ConditionState,
    due: UnixMillis,
    /// State changed in a way that must be written soon.
    dirty: bool,
    /// Only the last value changed since the last write.
    value_dirty: bool,
    written_at: UnixMillis,
}

fn fingerprint(job: &Job) -> String {
    match &job.spec.trigger {
        Trigger::Condition(c) => {
            format!("{c:?}|{}|{}|{}", job.spec.recurring, job.spec.expiration_time, job.status.as_str())
        }
        _ => String::new(),
    }
}

/// The first tick of a job with this interval after `now` (multiples of the interval since the epoch).
fn next_tick(now: UnixMillis, interval_ms: i64) -> UnixMillis {
    (now / interval_ms + 1) * interval_ms
}

/// The condition scheduler.
pub struct ConditionTriggers {
    store: Store,
    queue: TaskQueueSender,
    config: ConditionTriggerConfig,
    stats: Arc<ConditionTriggerStats>,
}

#[derive(Default)]
struct Book {
    jobs: HashMap<JobId, Watch>,
    due: BTreeSet<(UnixMillis, JobId)>,
    /// Jobs due whose source read has not started.
    waiting: HashMap<SourceKey, Vec<JobId>>,
    /// Jobs whose source read is under way.
    reading: HashMap<SourceKey, Vec<JobId>>,
}

impl Book {
    fn remove(&mut self, job_id: &JobId) -> Option<Watch> {
        let watch = self.jobs.remove(job_id)?;
        self.due.remove(&(watch.due, *job_id));
        Some(watch)
    }

    fn sources(&self) -> HashSet<&SourceKey> {
        self.jobs.values().map(|w| &w.source).collect()
    }
}

impl ConditionTriggers {
    /// A scheduler reading jobs from `store` and sending occurrences to `queue`.
    pub fn new(store: Store, queue: TaskQueueSender, config: ConditionTriggerConfig) -> Self {
        ConditionTriggers { store, queue, config, stats: Arc::new(ConditionTriggerStats::default()) }
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<ConditionTriggerStats> {
        self.stats.clone()
    }

    /// Loads every active condition job and watches the values until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), ConditionTriggerError> {
        let reader = Arc::new(
            SourceReader::new(self.config.limits.clone(), &self.config.chains)
                .map_err(ConditionTriggerError::Config)?,
        );
        let started = now_millis();
        let mut book = Book::default();
        let mut finished = Vec::new();
        for job in self.store.schedulable_jobs(TriggerKind::Condition).await? {
            self.admit(&mut book, &job, started, &mut finished);
        }
        self.resend_unrecorded_firings(&book).await?;
        self.keep_sockets(&reader, &book);
        tracing::info!(jobs = book.jobs.len(), "condition scheduler loaded its jobs");
        let mut changes_since = started - CHANGE_OVERLAP_MS;
        let mut follow = tokio::time::interval(self.config.follow_every);
        follow.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut persist = tokio::time::interval(self.config.persist_every);
        persist.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reads: JoinSet<(SourceKey, Result<Reading, String>)> = JoinSet::new();
        let result = loop {
            self.stats.jobs.store(book.jobs.len() as u64, Ordering::Relaxed);
            let wait = match book.due.first() {
                Some((at, _)) => Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0)),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {
                    self.start_due_reads(&mut book, &reader, &mut reads);
                }
                Some(done) = reads.join_next(), if !reads.is_empty() => {
                    let Ok((source, reading)) = done else { continue };
                    if let Err(e) = self.evaluate(&mut book, &source, &reading, &mut finished).await {
                        break Err(e);
                    }
                    if let Some(waiting) = book.waiting.remove(&source) {
                        self.start_read(&mut book, &reader, &mut reads, source, waiting);
                    }
                }
                _ = follow.tick() => {
                    let polled_at = now_millis();
                    match self.store.jobs_changed_since(TriggerKind::Condition, changes_since).await {
                        Ok(changed) => {
                            for job in &changed {
                                self.admit(&mut book, job, polled_at, &mut finished);
                            }
                            changes_since = polled_at - CHANGE_OVERLAP_MS;
                            if !changed.is_empty() {
                                self.keep_sockets(&reader, &book);
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "could not read job changes; retrying"),
                    }
                    let expired: Vec<JobId> =
                        book.jobs.iter().filter(|(_, w)| w.expiration <= polled_at).map(|(id, _)| *id).collect();
                    for job_id in expired {
                        book.remove(&job_id);
                        finished.push((job_id, JobStatus::Expired));
                    }
                }
                _ = persist.tick() => {
                    self.write_states(&mut book, &mut finished, false).await;
                }
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break Ok(());
                    }
                }
            }
        };
        reads.abort_all();
        self.write_states(&mut book, &mut finished, true).await;
        result
    }

    fn keep_sockets(&self, reader: &SourceReader, book: &Book) {
        let sources = book.sources();
        self.stats.sources.store(sources.len() as u64, Ordering::Relaxed);
        let sockets = sources
            .into_iter()
            .filter_map(|s| match s {
                SourceKey::Websocket(url) => Some(url.clone()),
                _ => None,
            })
            .collect();
        reader.keep_sockets(&sockets);
    }

    /// Moves every job due now to its source's read (started unless one is under way).
    fn start_due_reads(
        &self,
        book: &mut Book,
        reader: &Arc<SourceReader>,
        reads: &mut JoinSet<(SourceKey, Result<Reading, String>)>,
    ) {
        let now = now_millis();
        let mut due_sources: Vec<SourceKey> = Vec::new();
        while let Some(&(at, job_id)) = book.due.first() {
            if at > now {
                break;
            }
            book.due.remove(&(at, job_id));
            let Some(watch) = book.jobs.get_mut(&job_id) else { continue };
            watch.due = next_tick(now, watch.interval_ms);
            book.due.insert((watch.due, job_id));
            let waiting = book.waiting.entry(watch.source.clone()).or_default();
            if waiting.is_empty() {
                due_sources.push(watch.source.clone());
            }
            waiting.push(job_id);
        }
        for source in due_sources {
            if book.reading.contains_key(&source) {
                continue;
            }
            if let Some(waiting) = book.waiting.remove(&source) {
                self.start_read(book, reader, reads, source, waiting);
            }
        }
    }

    fn start_read(
        &self,
        book: &mut Book,
        reader: &Arc<SourceReader>,
        reads: &mut JoinSet<(SourceKey, Result<Reading, String>)>,
        source: SourceKey,
        jobs: Vec<JobId>,
    ) {
        book.reading.insert(source.clone(), jobs);
        let reader = reader.clone();
        self.stats.reads.fetch_add(1, Ordering::Relaxed);
        reads.spawn(async move {
            let reading = reader.read(&source).await;
            (source, reading)
        });
    }

    /// Evaluates the jobs that waited for this read of `source`.
    async fn evaluate(
        &self,
        book: &mut Book,
        source: &SourceKey,
        reading: &Result<Reading, String>,
        finished: &mut Vec<(JobId, JobStatus)>,
    ) -> Result<(), ConditionTriggerError> {
        let Some(jobs) = book.reading.remove(source) else { return Ok(()) };
        if reading.is_err() {
            self.stats.failed_reads.fetch_add(1, Ordering::Relaxed);
        }
        let now = now_millis();
        // Jobs with the same route read the same value from one reading: extract once per route.
        let mut extracted: HashMap<String, Result<Decimal, String>> = HashMap::new();
        for job_id in jobs {
            let Some(watch) = book.jobs.get_mut(&job_id) else { continue };
            self.stats.evaluations.fetch_add(1, Ordering::Relaxed);
            let value = match (reading, &watch.extraction) {
                (Err(e), _) => Err(e.clone()),
                (Ok(r), Extraction::Route(route)) => {
                    extracted.entry(route.clone()).or_insert_with(|| watch.extraction.value(r)).clone()
                }
                (Ok(r), extraction) => extraction.value(r),
            };
            watch.state.last_checked_at = Some(now);
            let value = match value {
                Err(error) => {
                    watch.state.source_failures += 1;
                    if watch.state.source_error.as_deref() != Some(error.as_str()) {
                        watch.dirty = true;
                    }
                    if watch.state.source_failures == FAILING_AFTER {
                        tracing::warn!(%job_id, %error, "condition source keeps failing");
                        watch.dirty = true;
                    }
                    watch.state.source_error = Some(error);
                    continue;
                }
                Ok(value) => value,
            };
            if watch.state.source_failures > 0 {
                if watch.state.source_failures >= FAILING_AFTER {
                    tracing::info!(%job_id, failures = watch.state.source_failures, "condition source recovered");
                }
                watch.state.source_failures = 0;
                watch.state.source_error = None;
                watch.dirty = true;
            }
            if watch.state.last_value.as_ref() != Some(&value) {
                watch.value_dirty = true;
            }
            let holds = watch.condition.holds(&value, watch.lower.as_ref(), watch.upper.as_ref());
            watch.state.last_value = Some(value);
            if !holds {
                if !watch.state.armed {
                    watch.state.armed = true;
                    watch.dirty = true;
                }
                continue;
            }
            let cooled = watch.state.last_fired_at.is_none_or(|at| now - at >= watch.cooldown_ms);
            if !watch.state.armed || !cooled {
                continue;
            }
            let occurrence = watch.state.transitions + 1;
            let mut fired = watch.state.clone();
            fired.transitions = occurrence;
            fired.armed = false;
            fired.last_fired_at = Some(now);
            // Written before the request goes out: a scheduler taking over knows this firing (and sends
            // it again if it never got its task), so its next transition gets the next number.
            if let Err(e) = self.store.save_condition_states(&[(job_id, fired.clone())]).await {
                tracing::warn!(%job_id, error = %e, "could not record a firing; trying on the next read");
                continue;
            }
            watch.state = fired;
            let message = TaskRequest { job_id, occurrence_key: format!("condition:{occurrence}") };
            self.queue.send(message).await.map_err(|_| ConditionTriggerError::QueueClosed)?;
            self.stats.fired.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%job_id, occurrence, value = %watch.state.last_value.as_ref().map(Decimal::as_str).unwrap_or(""), "condition met");
            if !watch.recurring {
                finished.push((job_id, JobStatus::Completed));
            }
        }
        Ok(())
    }

    /// Sends again the last recorded firing of every job whose task row does not exist (its request
    /// was lost with the scheduler that recorded it); it lands on its task if it was only late.
    async fn resend_unrecorded_firings(&self, book: &Book) -> Result<(), ConditionTriggerError> {
        let fired: Vec<(JobId, String)> = book
            .jobs
            .iter()
            .filter(|(_, w)| w.state.transitions > 0)
            .map(|(id, w)| (*id, format!("condition:{}", w.state.transitions)))
            .collect();
        if fired.is_empty() {
            return Ok(());
        }
        let existing = self.store.existing_occurrences(&fired).await?;
        for (job_id, occurrence_key) in fired.into_iter().filter(|f| !existing.contains(f)) {
            tracing::info!(%job_id, occurrence = %occurrence_key, "sending again a recorded firing that has no task");
            self.queue
                .send(TaskRequest { job_id, occurrence_key })
                .await
                .map_err(|_| ConditionTriggerError::QueueClosed)?;
        }
        Ok(())
    }

    /// Takes a job in (at start-up, or because it changed), drops it, or leaves it as it is.
    fn admit(&self, book: &mut Book, job: &Job, now: UnixMillis, finished: &mut Vec<(JobId, JobStatus)>) {
        let Trigger::Condition(trigger) = &job.spec.trigger else { return };
        let job_id = job.spec.job_id;
        let fingerprint = fingerprint(job);
        if book.jobs.get(&job_id).is_some_and(|w| w.fingerprint == fingerprint) {
            return;
        }
        let previous = book.remove(&job_id);
        if !job.status.is_schedulable() {
            return;
        }
        if job.spec.expiration_time <= now {
            finished.push((job_id, JobStatus::Expired));
            return;
        }
        let (source, extraction) = match plan(trigger) {
            Ok(planned) => planned,
            Err(e) => {
                tracing::warn!(%job_id, error = %e, "unusable condition source; job not watched");
                return;
            }
        };
        // What this scheduler knows is newer than what it last wrote.
        let state = previous
            .map(|w| w.state)
            .or_else(|| job.condition_state.clone())
            .unwrap_or(ConditionState { armed: true, ..Default::default() });
        let interval_ms = trigger.poll_interval_ms.max(1);
        let due = next_tick(now, interval_ms);
        book.due.insert((due, job_id));
        book.jobs.insert(
            job_id,
            Watch {
                source,
                extraction,
                condition: trigger.condition_type,
                lower: trigger.lower_limit.clone(),
                upper: trigger.upper_limit.clone(),
                interval_ms,
                cooldown_ms: trigger.cooldown_ms,
                recurring: job.spec.recurring,
                expiration: job.spec.expiration_time,
                fingerprint,
                state,
                due,
                dirty: false,
                value_dirty: false,
                written_at: now,
            },
        );
    }

    /// Writes changed states (firings and failures at once, values at most every
    /// `value_report_every`) and finishes jobs that are done.
    async fn write_states(&self, book: &mut Book, finished: &mut Vec<(JobId, JobStatus)>, everything: bool) {
        // Firings are already written; other changes (and finishing a one-shot job) wait until the
        // requests sent so far are safe. While running this only looks (the loop must keep reading
        // sources) and tries again on the next round.
        let patience = if everything { FINAL_SETTLE_PATIENCE } else { Duration::ZERO };
        if !self.queue.settle(patience).await {
            if everything {
                tracing::warn!(
                    "the last task requests were not handled before stopping; their firings are not recorded"
                );
            }
            return;
        }
        let now = now_millis();
        let report_ms = self.config.value_report_every.as_millis() as i64;
        let mut batch = Vec::new();
        for (job_id, watch) in book.jobs.iter_mut() {
            let value_due = watch.value_dirty && (everything || now - watch.written_at >= report_ms);
            if watch.dirty || value_due {
                batch.push((*job_id, watch.state.clone()));
                watch.dirty = false;
                watch.value_dirty = false;
                watch.written_at = now;
            }
        }
        // A finished job's last firing is written before it is marked finished.
        for (job_id, _) in finished.iter() {
            if let Some(watch) = book.remove(job_id) {
                batch.push((*job_id, watch.state));
            }
        }
        if let Err(e) = self.store.save_condition_states(&batch).await {
            tracing::warn!(error = %e, jobs = batch.len(), "could not save condition states; retrying");
            for (job_id, _) in &batch {
                if let Some(watch) = book.jobs.get_mut(job_id) {
                    watch.dirty = true;
                }
            }
            return;
        }
        for (job_id, status) in finished.drain(..) {
            match self.store.finish_job(job_id, status).await {
                Ok(true) => tracing::info!(%job_id, status = status.as_str(), "condition job finished"),
                Ok(false) => {}
                Err(e) => tracing::warn!(%job_id, error = %e, "could not finish a condition job"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_align_to_the_interval() {
        assert_eq!(next_tick(1_000, 1_000), 2_000);
        assert_eq!(next_tick(1_999, 1_000), 2_000);
        assert_eq!(next_tick(12_345, 5_000), 15_000);
    }
}
