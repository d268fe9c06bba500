//! The in-memory timer set of the time scheduler: one entry per active time job and a binary heap of
//! (instant, generation) so the earliest occurrence is found in O(1) and rescheduling is O(log n).
//! Replaced or removed entries leave stale heap items behind; their generation no longer matches and
//! they are skipped when they surface.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono_tz::Tz;
use triggerx_core::ids::JobId;
use triggerx_core::schedule::Schedule;
use triggerx_core::time::{UnixMillis, to_datetime};

/// One scheduled job.
#[derive(Debug)]
pub struct TimerEntry {
    /// Its schedule.
    pub schedule: Schedule,
    /// The zone the schedule is read in.
    pub tz: Tz,
    /// No occurrence after this instant.
    pub expiration: UnixMillis,
    /// Next occurrence.
    pub next: UnixMillis,
    /// The stored schedule version it was built from: every change to what decides when the job
    /// fires (interval, time zone, time frame) moves it, and the scheduler's writes are
    /// checked against it.
    pub schedule_version: i64,
    generation: u64,
}

impl TimerEntry {
    /// A new entry firing first at `next`.
    pub fn new(schedule: Schedule, tz: Tz, expiration: UnixMillis, next: UnixMillis, schedule_version: i64) -> Self {
        TimerEntry { schedule, tz, expiration, next, schedule_version, generation: 0 }
    }

    /// The first occurrence strictly after `after` inside the time frame.
    pub fn next_after(&self, after: UnixMillis) -> Option<UnixMillis> {
        self.schedule
            .next_after(to_datetime(after), self.tz)
            .map(|d| d.timestamp_millis())
            .filter(|n| *n <= self.expiration)
    }

    /// The occurrence after the one at `fired`. Time jobs run on their schedule until their time frame
    /// ends whatever `recurring` says, as the original did (the TypeScript SDK sends `recurring: false`
    /// for every time job); a specific schedule runs each of its instants once.
    pub fn following(&self, fired: UnixMillis) -> Option<UnixMillis> {
        self.next_after(fired)
    }

    /// Whether, with no occurrence after `fired`, the schedule itself is done (its last instant fired:
    /// the job completed) rather than cut off by the time frame (the job expired).
    pub fn schedule_done(&self, fired: UnixMillis) -> bool {
        self.schedule.next_after(to_datetime(fired), self.tz).is_none()
    }

    /// The latest occurrence at or before `now`, starting from the missed one at `missed` (at most
    /// `max_steps` steps for schedules without arithmetic; `None` beyond that).
    pub fn latest_missed(&self, missed: UnixMillis, now: UnixMillis, max_steps: usize) -> Option<UnixMillis> {
        if let Schedule::Interval { seconds } = self.schedule {
            let period = i64::try_from(seconds).ok()?.checked_mul(1000)?;
            let latest = missed + (now - missed) / period * period;
            return Some(latest.min(self.expiration));
        }
        let mut latest = missed;
        for _ in 0..max_steps {
            match self.next_after(latest) {
                Some(n) if n <= now => latest = n,
                _ => return Some(latest),
            }
        }
        None
    }
}

/// All timers.
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(UnixMillis, u64)>>,
    by_generation: HashMap<u64, JobId>,
    entries: HashMap<JobId, TimerEntry>,
    next_generation: u64,
}

impl Timers {
    /// Jobs scheduled.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no job is scheduled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry of `job_id`.
    pub fn get(&self, job_id: &JobId) -> Option<&TimerEntry> {
        self.entries.get(job_id)
    }

    /// Schedules `entry` (replacing any entry of the job).
    pub fn insert(&mut self, job_id: JobId, mut entry: TimerEntry) {
        self.next_generation += 1;
        entry.generation = self.next_generation;
        self.heap.push(Reverse((entry.next, entry.generation)));
        self.by_generation.insert(entry.generation, job_id);
        if let Some(old) = self.entries.insert(job_id, entry) {
            self.by_generation.remove(&old.generation);
        }
    }

    /// Moves the job's next occurrence to `next`.
    pub fn reschedule(&mut self, job_id: JobId, next: UnixMillis) {
        if let Some(mut entry) = self.entries.remove(&job_id) {
            self.by_generation.remove(&entry.generation);
            entry.next = next;
            self.insert(job_id, entry);
        }
    }

    /// Drops the job.
    pub fn remove(&mut self, job_id: &JobId) -> Option<TimerEntry> {
        let entry = self.entries.remove(job_id)?;
        self.by_generation.remove(&entry.generation);
        Some(entry)
    }

    /// The earliest live occurrence, discarding stale heap items on the way.
    pub fn earliest(&mut self) -> Option<UnixMillis> {
        while let Some(Reverse((at, generation))) = self.heap.peek().copied() {
            if self.by_generation.contains_key(&generation) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Takes the earliest occurrence if it is due at `now`: the job and the instant.
    pub fn pop_due(&mut self, now: UnixMillis) -> Option<(JobId, UnixMillis)> {
        let at = self.earliest().filter(|at| *at <= now)?;
        let Reverse((_, generation)) = self.heap.pop()?;
        let job_id = *self.by_generation.get(&generation)?;
        Some((job_id, at))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn interval(seconds: u64, next: UnixMillis) -> TimerEntry {
        TimerEntry::new(Schedule::Interval { seconds }, Tz::UTC, i64::MAX / 2, next, 0)
    }

    fn id(n: u64) -> JobId {
        JobId(alloy::primitives::U256::from(n))
    }

    #[test]
    fn pops_in_time_order_and_skips_replaced_and_removed_entries() {
        let mut timers = Timers::default();
        timers.insert(id(1), interval(1, 3_000));
        timers.insert(id(2), interval(1, 1_000));
        timers.insert(id(3), interval(1, 2_000));
        timers.reschedule(id(2), 5_000);
        timers.remove(&id(3));
        assert_eq!(timers.pop_due(10_000), Some((id(1), 3_000)));
        assert_eq!(timers.pop_due(4_000), None, "job 2 moved to 5 000");
        assert_eq!(timers.pop_due(10_000), Some((id(2), 5_000)));
        assert_eq!(timers.pop_due(i64::MAX), None);
        assert_eq!(timers.len(), 2, "popping does not remove the entries; rescheduling does");
    }

    #[test]
    fn latest_missed_occurrence() {
        let entry = interval(10, 0);
        assert_eq!(entry.latest_missed(1_000, 35_500, 10), Some(31_000));
        assert_eq!(entry.latest_missed(1_000, 1_000, 10), Some(1_000));
        let cron = TimerEntry::new(
            Schedule::cron("*/5 * * * * *", "c").unwrap(),
            Tz::UTC,
            i64::MAX / 2,
            0,
            entry.schedule_version,
        );
        assert_eq!(cron.latest_missed(5_000, 23_000, 100), Some(20_000));
        assert_eq!(cron.latest_missed(5_000, 1_000_000, 3), None, "too many steps");
    }
}
