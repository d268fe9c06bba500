//! The time scheduler on a real store: occurrences at the scheduled instants until the time frame ends,
//! a restart that neither loses nor duplicates occurrences, API changes (pause, resume, delete) followed
//! without a restart, cron with seconds in a time zone, one-shot instants, and progress recorded only
//! once the dispatcher has the request.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::Utc;
use triggerx_api::wire::CreateJobData;
use triggerx_core::ids::JobId;
use triggerx_core::job::JobStatus;
use triggerx_core::time::now_millis;
use triggerx_queue::{TaskQueueReceiver, in_process};
use triggerx_scheduler::{MissedPolicy, TimeTriggerConfig, TimeTriggers};
use triggerx_store::Store;
use triggerx_testbed::databases::fresh_store;
use triggerx_testbed::fixtures::create_job;
use triggerx_testbed::fixtures::time_job_input;

mod common;
use common::Running;

const OWNER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";

fn time_job(id: u64) -> CreateJobData {
    CreateJobData { time_interval: Some(1), ..time_job_input(&id.to_string(), OWNER) }
}

async fn create(store: &Store, job: CreateJobData) -> JobId {
    create_job(store, job).await.unwrap()
}

fn start(store: &Store, missed: MissedPolicy) -> (Running, TaskQueueReceiver) {
    let (queue, requests) = in_process();
    let config = TimeTriggerConfig { missed, follow_every: Duration::from_millis(100), ..Default::default() };
    let scheduler = TimeTriggers::new(store.clone(), queue, config);
    (Running::spawn(|stop| scheduler.run(stop)), requests)
}

/// A one-shot job `id` at the whole second about `in_ms` from now; returns it and that second.
async fn one_shot_in(store: &Store, id: u64, in_ms: i64) -> (JobId, i64) {
    let at_seconds = (Utc::now() + chrono::Duration::milliseconds(in_ms)).timestamp();
    let at = chrono::DateTime::from_timestamp(at_seconds, 0).unwrap();
    let job = CreateJobData {
        schedule_type: Some("specific".into()),
        time_interval: None,
        specific_schedule: Some(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        recurring: false,
        ..time_job(id)
    };
    (create(store, job).await, at_seconds)
}

/// Occurrence instants received for `job` within `within`.
async fn collect(requests: &mut TaskQueueReceiver, job: JobId, within: Duration) -> Vec<i64> {
    common::collect(requests, within)
        .await
        .into_iter()
        .filter(|(j, _)| *j == job)
        .map(|(_, key)| key.strip_prefix("time:").unwrap().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_job_runs_until_expiry_and_a_restart_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let job = create(&store, CreateJobData { time_frame: Some(6), ..time_job(1) }).await;
    let first = store.require_job(job).await.unwrap();
    let triggerx_core::job::Trigger::Time(t) = &first.spec.trigger else { panic!("time job") };
    let start_at = t.next_execution_timestamp.unwrap();

    let (running, mut requests) = start(&store, MissedPolicy::RunLatest);
    let until = start_at + 2_300 - now_millis();
    let mut seen = collect(&mut requests, job, Duration::from_millis(until.max(0) as u64)).await;
    running.stop().await;
    assert_eq!(seen, vec![start_at, start_at + 1_000, start_at + 2_000], "one request per instant");

    // Down across the occurrence at +3 s: the restart runs it once (the latest missed), then resumes.
    tokio::time::sleep(Duration::from_millis((start_at + 3_500 - now_millis()).max(0) as u64)).await;
    let (running, mut requests) = start(&store, MissedPolicy::RunLatest);
    seen.extend(collect(&mut requests, job, Duration::from_millis((start_at + 6_800 - now_millis()) as u64)).await);
    running.stop().await;
    let expected: Vec<i64> = (0..6).map(|k| start_at + k * 1_000).collect();
    assert_eq!(seen, expected, "every occurrence of the 6 s frame exactly once");
    assert_eq!(store.require_job(job).await.unwrap().status, JobStatus::Expired, "the frame ran out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_policy_drops_missed_occurrences() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let job = create(&store, CreateJobData { time_interval: Some(1), ..time_job(2) }).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let restart = now_millis();
    let (running, mut requests) = start(&store, MissedPolicy::Skip);
    let seen = collect(&mut requests, job, Duration::from_millis(1_300)).await;
    running.stop().await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0] > restart, "only occurrences after the restart: {seen:?} vs {restart}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_delete_are_followed_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let job = create(&store, time_job(3)).await;
    let (running, mut requests) = start(&store, MissedPolicy::RunLatest);
    assert!(!collect(&mut requests, job, Duration::from_millis(2_200)).await.is_empty());
    store.set_job_paused(job, true).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = collect(&mut requests, job, Duration::from_millis(10)).await;
    assert!(collect(&mut requests, job, Duration::from_millis(2_000)).await.is_empty(), "paused");
    store.set_job_paused(job, false).await.unwrap();
    assert!(!collect(&mut requests, job, Duration::from_millis(2_000)).await.is_empty(), "resumed");
    store.delete_job(job).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = collect(&mut requests, job, Duration::from_millis(10)).await;
    assert!(collect(&mut requests, job, Duration::from_millis(2_000)).await.is_empty(), "deleted");

    // A job created while the scheduler runs is picked up.
    let late = create(&store, time_job(4)).await;
    assert!(!collect(&mut requests, late, Duration::from_millis(2_500)).await.is_empty(), "new job followed");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_with_seconds_in_a_zone_and_one_shot_instants() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let cron = create(
        &store,
        CreateJobData {
            schedule_type: Some("cron".into()),
            time_interval: None,
            cron_expression: Some("*/2 * * * * *".into()),
            timezone: "Asia/Kolkata".into(),
            ..time_job(5)
        },
    )
    .await;
    let (one_shot, at_seconds) = one_shot_in(&store, 6, 2_000).await;
    let (running, mut requests) = start(&store, MissedPolicy::RunLatest);
    let mut cron_seen = Vec::new();
    let mut shot_seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(5_200);
    while let Ok(Some(request)) = tokio::time::timeout_at(deadline, requests.recv()).await {
        let instant: i64 = request.occurrence_key.strip_prefix("time:").unwrap().parse().unwrap();
        if request.job_id == cron {
            cron_seen.push(instant);
        } else if request.job_id == one_shot {
            shot_seen.push(instant);
        }
    }
    running.stop().await;
    assert!(cron_seen.len() >= 2, "{cron_seen:?}");
    assert!(cron_seen.iter().all(|t| t % 2_000 == 0), "on even seconds: {cron_seen:?}");
    assert!(cron_seen.windows(2).all(|w| w[1] - w[0] == 2_000), "{cron_seen:?}");
    assert_eq!(shot_seen, vec![at_seconds * 1000], "the one instant, once");
    assert_eq!(store.require_job(one_shot).await.unwrap().status, JobStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_occurrence_is_recorded_only_once_its_request_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let (one_shot, at_seconds) = one_shot_in(&store, 7, 1_500).await;
    let next = |job: triggerx_core::job::Job| match job.spec.trigger {
        triggerx_core::job::Trigger::Time(t) => t.next_execution_timestamp,
        _ => panic!("time job"),
    };

    // The request is sent but the dispatcher never gets to it (as if the process died first): the
    // one-shot is neither completed nor moved past its instant, so the restart fires it again.
    let (running, mut requests) = start(&store, MissedPolicy::RunLatest);
    tokio::time::sleep(Duration::from_millis((at_seconds * 1000 + 800 - now_millis()).max(0) as u64)).await;
    running.stop().await;
    let untouched = store.require_job(one_shot).await.unwrap();
    assert_eq!((untouched.status, next(untouched)), (JobStatus::Pending, Some(at_seconds * 1000)));
    let unhandled = requests.recv().await.unwrap();
    assert_eq!(unhandled.occurrence_key, format!("time:{}", at_seconds * 1000));
    drop(requests);

    // Restarted and handled this time: fired once more (the same occurrence), then recorded.
    let (running, mut requests) = start(&store, MissedPolicy::RunLatest);
    let seen = collect(&mut requests, one_shot, Duration::from_millis(1_000)).await;
    assert_eq!(seen, vec![at_seconds * 1000], "the same occurrence, once");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(store.require_job(one_shot).await.unwrap().status, JobStatus::Completed);
    running.stop().await;
}

/// Issue "Hostile input", item 8: the TypeScript SDK (`sdk-triggerx`) sends `"recurring": false` and
/// `"custom": true` for every time job, with the balances and the cost prediction as JSON numbers. The
/// original ran interval jobs until `time_frame` ended whatever `recurring` said; so does this server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_body_of_an_interval_job_runs_until_its_frame_ends() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let sdk_body = triggerx_testbed::fixtures::sdk_interval_job_body("77", OWNER, 1, 4);
    let job: CreateJobData = serde_json::from_value(sdk_body).unwrap();
    let job = create(&store, job).await;
    let first = store.require_job(job).await.unwrap();
    let triggerx_core::job::Trigger::Time(t) = &first.spec.trigger else { panic!("time job") };
    let start_at = t.next_execution_timestamp.unwrap();
    let (running, mut requests) = start(&store, MissedPolicy::RunLatest);
    let seen =
        collect(&mut requests, job, Duration::from_millis((start_at + 4_800 - now_millis()).max(0) as u64)).await;
    running.stop().await;
    assert!(seen.len() >= 3, "ran {} times, not once: {seen:?}", seen.len());
    assert_eq!(seen[..3], [start_at, start_at + 1_000, start_at + 2_000]);
    assert_eq!(store.require_job(job).await.unwrap().status, JobStatus::Expired, "until the frame ran out");
}

/// Found by `triggerx bench abuse`: with more jobs due every second than the dispatcher takes, every
/// job is due again as soon as it fired, and the loop never came back to see a stop (or a pause).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_behind_schedule_still_stops_and_follows_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let mut jobs = Vec::new();
    for id in 1..=1_500 {
        jobs.push(create(&store, time_job(id)).await);
    }
    // A dispatcher that takes 500 requests a second behind a short queue: the scheduler falls behind
    // for good.
    let (queue, mut requests) = triggerx_queue::in_process_with_capacity(100);
    let config = TimeTriggerConfig { follow_every: Duration::from_millis(100), ..Default::default() };
    let scheduler = TimeTriggers::new(store.clone(), queue, config);
    let running = Running::spawn(|stop| scheduler.run(stop));
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let consumer = tokio::spawn(async move {
        while let Some(request) = requests.recv().await {
            let _ = seen_tx.send(request.job_id);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let paused = jobs[0];
    store.set_job_paused(paused, true).await.unwrap();
    // Time for the scheduler to follow the pause and for the requests queued before it to drain, with
    // room for a loaded machine (2 s was once too short while the whole suite ran).
    tokio::time::sleep(Duration::from_secs(5)).await;
    while seen.try_recv().is_ok() {}
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut after_pause = 0;
    while let Ok(job) = seen.try_recv() {
        after_pause += usize::from(job == paused);
    }
    assert_eq!(after_pause, 0, "the paused job was followed while behind schedule");
    tokio::time::timeout(Duration::from_secs(10), running.stop()).await.expect("stopped within 10 s while behind");
    consumer.abort();
}
