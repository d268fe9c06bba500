//! The jobs listening to one (contract, event) source, indexed so a log finds its candidate jobs
//! without evaluating every job's filter: jobs whose filter confines an unsigned parameter to a range
//! are kept sorted by the range's low end (with the running maximum of the high ends), so a value
//! finds the ranges containing it by binary search; other jobs are always candidates. The index only
//! prunes: each candidate's own filter still decides.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::U256;
use triggerx_core::ids::JobId;

/// Where a job's filter confines the log: the decoding shape, the parameter, and the inclusive range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeKey {
    /// Jobs of the same shape decode a log alike.
    pub shape: String,
    /// Parameter position.
    pub parameter: usize,
    /// Lowest matching value.
    pub low: U256,
    /// Highest matching value.
    pub high: U256,
}

struct Ranged<T> {
    shape: String,
    parameter: usize,
    entries: Vec<(U256, U256, JobId, Arc<T>)>,
    running_high: Vec<U256>,
}

/// The listeners of one source.
pub struct SourceIndex<T> {
    jobs: BTreeMap<JobId, (Option<RangeKey>, Arc<T>)>,
    plain: Vec<(JobId, Arc<T>)>,
    ranged: Vec<Ranged<T>>,
    dirty: bool,
}

impl<T> Default for SourceIndex<T> {
    fn default() -> Self {
        SourceIndex { jobs: BTreeMap::new(), plain: Vec::new(), ranged: Vec::new(), dirty: false }
    }
}

impl<T> SourceIndex<T> {
    /// Adds (or replaces) a job.
    pub fn insert(&mut self, job_id: JobId, range: Option<RangeKey>, item: Arc<T>) {
        self.jobs.insert(job_id, (range, item));
        self.dirty = true;
    }

    /// Drops a job.
    pub fn remove(&mut self, job_id: &JobId) {
        if self.jobs.remove(job_id).is_some() {
            self.dirty = true;
        }
    }

    /// Whether no job listens.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    fn rebuild(&mut self) {
        self.plain.clear();
        self.ranged.clear();
        for (job_id, (range, item)) in &self.jobs {
            let Some(range) = range else {
                self.plain.push((*job_id, item.clone()));
                continue;
            };
            let group =
                match self.ranged.iter_mut().position(|g| g.shape == range.shape && g.parameter == range.parameter) {
                    Some(position) => &mut self.ranged[position],
                    None => {
                        self.ranged.push(Ranged {
                            shape: range.shape.clone(),
                            parameter: range.parameter,
                            entries: Vec::new(),
                            running_high: Vec::new(),
                        });
                        let last = self.ranged.len() - 1;
                        &mut self.ranged[last]
                    }
                };
            group.entries.push((range.low, range.high, *job_id, item.clone()));
        }
        for group in &mut self.ranged {
            group.entries.sort_by_key(|e| e.0);
            let mut high = U256::ZERO;
            group.running_high = group
                .entries
                .iter()
                .map(|e| {
                    high = high.max(e.1);
                    high
                })
                .collect();
        }
        self.dirty = false;
    }

    /// The jobs a log may match: every job without a range, and the ranged jobs whose range holds the
    /// log's value (`value_of(any job of the group, parameter)` decodes it; `None`: no ranged job).
    pub fn candidates(&mut self, mut value_of: impl FnMut(&T, usize) -> Option<U256>) -> Vec<(JobId, Arc<T>)> {
        if self.dirty {
            self.rebuild();
        }
        let mut found = self.plain.clone();
        for group in &self.ranged {
            let Some((_, _, _, representative)) = group.entries.first() else { continue };
            let Some(value) = value_of(representative, group.parameter) else { continue };
            let mut position = group.entries.partition_point(|e| e.0 <= value);
            while position > 0 {
                position -= 1;
                if group.running_high[position] < value {
                    break;
                }
                let (_, high, job_id, item) = &group.entries[position];
                if *high >= value {
                    found.push((*job_id, item.clone()));
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(low: u64, high: u64) -> Option<RangeKey> {
        Some(RangeKey { shape: "s".into(), parameter: 2, low: U256::from(low), high: U256::from(high) })
    }

    #[test]
    fn finds_exactly_the_ranges_holding_the_value_plus_unranged_jobs() {
        let mut index = SourceIndex::<u32>::default();
        let id = |n: u64| JobId(U256::from(n));
        index.insert(id(1), key(0, 4), Arc::new(1));
        index.insert(id(2), key(5, 9), Arc::new(2));
        index.insert(id(3), key(0, 100), Arc::new(3));
        index.insert(id(4), None, Arc::new(4));
        index.insert(id(5), key(7, 7), Arc::new(5));
        let ids = |index: &mut SourceIndex<u32>, v: u64| {
            let mut found: Vec<u32> = index.candidates(|_, _| Some(U256::from(v))).iter().map(|(_, i)| **i).collect();
            found.sort_unstable();
            found
        };
        assert_eq!(ids(&mut index, 3), vec![1, 3, 4]);
        assert_eq!(ids(&mut index, 7), vec![2, 3, 4, 5]);
        assert_eq!(ids(&mut index, 500), vec![4]);
        index.remove(&id(3));
        assert_eq!(ids(&mut index, 3), vec![1, 4]);
    }
}
