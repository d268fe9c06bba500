//! Store behaviour, each test run against both SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use chrono::Utc;
use triggerx_api::wire::{CreateJobData, JobUpdate, validate_job_chain};
use triggerx_core::ids::JobId;
use triggerx_core::job::{JobStatus, Trigger};
use triggerx_core::keeper::KeeperUpsert;
use triggerx_core::paging::Page;
use triggerx_core::task::{TaskExecutionUpdate, TaskStatus};
use triggerx_store::{Backend, NewTask, NextOccurrence, Store, StoreError, TaskSettlement};
use triggerx_testbed::databases::fresh_store;
use triggerx_testbed::fixtures::time_job_input;

const OWNER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
const OTHER: &str = "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359";

fn time_job(id: &str, owner: &str) -> CreateJobData {
    time_job_input(id, owner)
}

fn condition_job(id: &str, owner: &str) -> CreateJobData {
    CreateJobData {
        task_definition_id: Some(5),
        schedule_type: None,
        time_interval: None,
        condition_type: Some("between".into()),
        lower_limit: Some(triggerx_core::numbers::Decimal::parse("10.5", "").unwrap()),
        upper_limit: Some(triggerx_core::numbers::Decimal::parse("20", "").unwrap()),
        value_source_type: Some("api".into()),
        value_source_url: Some("http://127.0.0.1:1/price".into()),
        selected_key_route: Some("data.price".into()),
        ..time_job(id, owner)
    }
}

async fn store(backend: Backend, dir: &tempfile::TempDir) -> Store {
    fresh_store(backend, dir.path()).await.expect("fresh store")
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(triggerx_store::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(triggerx_store::Backend::Postgres).await })*
        }
    };
}

both_backends!(
    creates_and_reads_a_chain,
    chain_is_all_or_nothing,
    lists_by_owner_with_paging,
    updates_pause_resume_delete,
    a_schedule_change_is_not_overwritten_by_a_scheduler,
    tasks_are_unique_per_occurrence,
    keepers_upsert_and_count,
    settlements_are_recorded_once_and_credit_the_keepers,
    api_keys_hash_and_revoke,
    ids_come_from_the_database_under_concurrency,
);

async fn creates_and_reads_a_chain(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let huge = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    let jobs = validate_job_chain(&[time_job(huge, OWNER), condition_job("7", OWNER)], Utc::now()).unwrap();
    let created = s.create_jobs(&jobs).await.unwrap();
    assert_eq!(created.jobs.len(), 2);
    let head = s.job(JobId::parse(huge, "").unwrap()).await.unwrap().expect("head stored");
    assert_eq!(head.spec.job_id.to_string(), huge, "uint256 ids survive the round trip");
    assert_eq!(head.link_job_id.map(|l| l.to_string()).as_deref(), Some("7"));
    assert_eq!(head.chain_status, 1);
    assert_eq!(head.status, JobStatus::Pending);
    assert!(
        matches!(&head.spec.trigger, Trigger::Time(t) if t.time_interval == 10 && t.next_execution_timestamp.is_some())
    );
    let tail = s.require_job(JobId::parse("7", "").unwrap()).await.unwrap();
    assert_eq!(tail.chain_status, 2);
    match &tail.spec.trigger {
        Trigger::Condition(c) => {
            assert_eq!(c.lower_limit.as_ref().unwrap().as_str(), "10.5");
            assert_eq!(c.selected_key_route, "data.price");
        }
        other => panic!("expected a condition trigger, got {other:?}"),
    }
    assert_eq!(tail.spec, jobs[1], "everything validated is stored");
    let user = s.user_by_address(OWNER).await.unwrap().unwrap();
    assert_eq!(user.job_ids.len(), 2);
    assert_eq!(user.user_points, 20.0);
}

async fn chain_is_all_or_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let existing = validate_job_chain(&[time_job("2", OWNER)], Utc::now()).unwrap();
    s.create_jobs(&existing).await.unwrap();
    // The second element collides with job 2: job 1 must not be left behind.
    let chain = validate_job_chain(&[time_job("1", OWNER), time_job("2", OWNER)], Utc::now()).unwrap();
    let err = s.create_jobs(&chain).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("[1].job_id")), "{err}");
    assert!(s.job(JobId::parse("1", "").unwrap()).await.unwrap().is_none(), "no partial chain");
    let (all, total) = s.list_jobs(None, true, Page::default()).await.unwrap();
    assert_eq!((all.len(), total), (1, 1));
    assert_eq!(s.user_by_address(OWNER).await.unwrap().unwrap().user_points, 10.0, "points not credited twice");
}

async fn lists_by_owner_with_paging(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    for i in 1..=5 {
        s.create_jobs(&validate_job_chain(&[time_job(&i.to_string(), OWNER)], Utc::now()).unwrap()).await.unwrap();
    }
    s.create_jobs(&validate_job_chain(&[time_job("100", OTHER)], Utc::now()).unwrap()).await.unwrap();
    let (page1, total) = s.list_jobs(Some(OWNER), false, Page { limit: 2, offset: 0 }).await.unwrap();
    assert_eq!(total, 5);
    assert_eq!(page1.len(), 2);
    let (page3, _) = s.list_jobs(Some(OWNER), false, Page { limit: 2, offset: 4 }).await.unwrap();
    assert_eq!(page3.len(), 1);
    assert!(page1.iter().chain(&page3).all(|j| j.spec.user_address == OWNER));
    let (others, total_other) = s.list_jobs(Some(OTHER), false, Page::default()).await.unwrap();
    assert_eq!((others.len(), total_other), (1, 1));
}

async fn updates_pause_resume_delete(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let id = JobId::parse("42", "").unwrap();
    s.create_jobs(&validate_job_chain(&[time_job("42", OWNER)], Utc::now()).unwrap()).await.unwrap();
    let update = JobUpdate {
        job_title: Some("renamed".into()),
        time_interval: Some(30),
        time_frame: Some(7200),
        ..Default::default()
    };
    let updated = s.update_job(id, &update.validate().unwrap()).await.unwrap();
    assert_eq!(updated.spec.job_title, "renamed");
    assert_eq!(updated.spec.expiration_time, updated.created_at + 7_200_000);
    let stored = s.require_job(id).await.unwrap();
    assert!(matches!(&stored.spec.trigger, Trigger::Time(t) if t.time_interval == 30));
    assert_eq!(s.set_job_paused(id, true).await.unwrap().status, JobStatus::Paused);
    assert_eq!(s.require_job(id).await.unwrap().status, JobStatus::Paused);
    assert_eq!(s.set_job_paused(id, false).await.unwrap().status, JobStatus::Pending);
    s.delete_job(id).await.unwrap();
    assert_eq!(s.require_job(id).await.unwrap().status, JobStatus::Deleted);
    assert!(matches!(s.set_job_paused(id, false).await, Err(StoreError::Conflict(_))));
    let (visible, _) = s.list_jobs(Some(OWNER), false, Page::default()).await.unwrap();
    assert!(visible.is_empty(), "deleted jobs are not listed");
    assert!(matches!(s.delete_job(JobId::parse("43", "").unwrap()).await, Err(StoreError::NotFound(_))));
}

/// A scheduler's write of the next occurrence (or of the end of the run) computed from the schedule it
/// read loses against a schedule change made meanwhile; pausing, which changes no schedule, does not
/// move the version or the next occurrence.
async fn a_schedule_change_is_not_overwritten_by_a_scheduler(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let id = JobId::parse("7", "").unwrap();
    s.create_jobs(&validate_job_chain(&[time_job("7", OWNER)], Utc::now()).unwrap()).await.unwrap();
    let read = s.schedulable_time_jobs().await.unwrap().pop().unwrap();
    assert_eq!(read.schedule_version, 0);
    let scheduler_next = read.trigger.next_execution_timestamp.unwrap() + 10_000;

    let update = JobUpdate { time_interval: Some(600), ..Default::default() };
    s.update_job(id, &update.validate().unwrap()).await.unwrap();
    let changed = s.schedulable_time_jobs().await.unwrap().pop().unwrap();
    assert_eq!(changed.schedule_version, 1);
    let api_next = changed.trigger.next_execution_timestamp.unwrap();

    let stale = NextOccurrence { job_id: id, at: Some(scheduler_next), schedule_version: 0 };
    assert_eq!(s.set_next_executions(&[stale]).await.unwrap(), 0);
    assert!(!s.finish_time_job(id, JobStatus::Expired, 0).await.unwrap());
    let kept = s.schedulable_time_jobs().await.unwrap().pop().unwrap();
    assert_eq!((kept.trigger.next_execution_timestamp, kept.status), (Some(api_next), JobStatus::Pending));

    let current = NextOccurrence { job_id: id, at: Some(api_next + 3_600_000), schedule_version: 1 };
    assert_eq!(s.set_next_executions(&[current]).await.unwrap(), 1);
    s.set_job_paused(id, true).await.unwrap();
    s.set_job_paused(id, false).await.unwrap();
    let resumed = s.schedulable_time_jobs().await.unwrap().pop().unwrap();
    assert_eq!(resumed.schedule_version, 1);
    assert_eq!(resumed.trigger.next_execution_timestamp, Some(api_next + 3_600_000));
    assert!(s.finish_time_job(id, JobStatus::Expired, 1).await.unwrap());
    assert_eq!(s.require_job(id).await.unwrap().status, JobStatus::Expired);
}

async fn tasks_are_unique_per_occurrence(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let id = JobId::parse("9", "").unwrap();
    s.create_jobs(&validate_job_chain(&[time_job("9", OWNER)], Utc::now()).unwrap()).await.unwrap();
    let request = NewTask {
        job_id: id,
        task_definition_id: None,
        occurrence_key: "t:1700000000000".into(),
        task_performer_id: None,
    };
    let (first, created) = s.create_task(&request).await.unwrap();
    assert!(created);
    let (again, created_again) = s.create_task(&request).await.unwrap();
    assert!(!created_again, "the same occurrence never makes a second task");
    assert_eq!(first.task_id, again.task_id);
    let hash = format!("0x{}", "ab".repeat(32));
    let report = TaskExecutionUpdate {
        task_performer_id: Some(3),
        execution_tx_hash: Some(hash.clone()),
        task_opx_cost: Some(0.001),
        task_cost_wei: Some("1000000000000000".into()),
        converted_arguments: Some(vec!["5".into()]),
        ..Default::default()
    };
    let executed = s.update_task_execution(first.task_id, &report).await.unwrap();
    assert_eq!(executed.task_status, TaskStatus::Executed);
    assert_eq!(executed.execution_tx_hash, hash);
    let job = s.require_job(id).await.unwrap();
    assert!(job.last_executed_at.is_some());
    assert_eq!(job.status, JobStatus::Running);
    let fail = TaskExecutionUpdate { task_status: Some(TaskStatus::Failed), ..Default::default() };
    assert!(
        matches!(s.update_task_execution(first.task_id, &fail).await, Err(StoreError::Conflict(_))),
        "executed is final"
    );
    let (tasks, total) = s.tasks_of_job(id, Page::default()).await.unwrap();
    assert_eq!((tasks.len(), total), (1, 1));
    assert_eq!(s.task_fees(id).await.unwrap(), vec![(first.task_id, 0.001)]);
    let (mine, _) = s.recent_tasks(Some(OWNER), Page::default()).await.unwrap();
    assert_eq!(mine.len(), 1);
    let (theirs, _) = s.recent_tasks(Some(OTHER), Page::default()).await.unwrap();
    assert!(theirs.is_empty());
}

async fn keepers_upsert_and_count(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let first = s
        .upsert_keeper(&KeeperUpsert {
            keeper_address: OWNER.to_uppercase().replace("0X", "0x"),
            voting_power: Some("100".into()),
            registered: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let second = s
        .upsert_keeper(&KeeperUpsert {
            keeper_address: OWNER.into(),
            keeper_name: Some("alpha".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.keeper_id, second.keeper_id, "same address, same keeper");
    assert_eq!(second.voting_power, "100", "absent fields keep their values");
    assert!(second.registered);
    assert_eq!(s.increment_keeper_tasks(first.keeper_id).await.unwrap(), 1);
    assert_eq!(s.add_keeper_points(first.keeper_id, 2.5).await.unwrap(), 2.5);
    assert!(matches!(s.add_keeper_points(999, 1.0).await, Err(StoreError::NotFound(_))));
    let board = s.keeper_leaderboard(None, Page::default()).await.unwrap();
    assert_eq!(board[0].keeper_points, 2.5);
    assert!(s.upsert_keeper(&KeeperUpsert { keeper_address: "0x12".into(), ..Default::default() }).await.is_err());
}

async fn api_keys_hash_and_revoke(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let created = s.create_api_key(Some(OWNER), false, Some(5)).await.unwrap();
    assert!(created.key.starts_with("TGRX-"));
    let found = s.api_key_by_secret(&created.key).await.unwrap().unwrap();
    assert_eq!(found.owner.as_deref(), Some(OWNER));
    assert_eq!(found.rate_limit, 5);
    assert!(s.api_key_by_secret("TGRX-not-a-key").await.unwrap().is_none());
    let revoked = s.update_api_key(found.id, Some(false), None).await.unwrap();
    assert!(!revoked.is_active);
    s.record_api_key_usage(found.id, 3, 1, 1_000).await.unwrap();
    let listed = s.list_api_keys().await.unwrap();
    assert_eq!((listed[0].success_count, listed[0].failed_count), (3, 1));
    assert!(s.create_api_key(None, false, None).await.is_err(), "a user key needs an owner");
    assert!(s.create_api_key(None, true, Some(0)).await.is_err(), "rate limit must be positive");
}

async fn ids_come_from_the_database_under_concurrency(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    s.create_jobs(&validate_job_chain(&[time_job("5", OWNER)], Utc::now()).unwrap()).await.unwrap();
    let job = JobId::parse("5", "").unwrap();
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let request = NewTask {
                    job_id: job,
                    task_definition_id: None,
                    occurrence_key: format!("k{i}"),
                    task_performer_id: None,
                };
                s.create_task(&request).await.unwrap().0.task_id
            })
        })
        .collect();
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "every concurrent insert got its own id");
}

async fn settlements_are_recorded_once_and_credit_the_keepers(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let s = store(backend, &dir).await;
    let keeper = |n: u8| KeeperUpsert { keeper_address: format!("0x{:040x}", n), ..Default::default() };
    let (performer, attester) =
        (s.upsert_keeper(&keeper(1)).await.unwrap(), s.upsert_keeper(&keeper(2)).await.unwrap());
    s.upsert_keeper(&KeeperUpsert { rewards_booster: Some(1.5), ..keeper(2) }).await.unwrap();
    let id = JobId::parse("9", "").unwrap();
    s.create_jobs(&validate_job_chain(&[time_job("9", OWNER)], Utc::now()).unwrap()).await.unwrap();
    let new = |key: &str| NewTask {
        job_id: id,
        task_definition_id: None,
        occurrence_key: key.into(),
        task_performer_id: Some(performer.keeper_id),
    };
    let (accepted, _) = s.create_task(&new("t:1")).await.unwrap();
    let (rejected, _) = s.create_task(&new("t:2")).await.unwrap();
    let settlement = |task_id: i64, accepted: bool, number: i64| TaskSettlement {
        task_id,
        accepted,
        attempt: 0,
        task_number: number,
        attester_ids: vec![attester.keeper_id],
        ta_signature: "0xab".into(),
        submission_tx_hash: format!("0x{number:064x}"),
    };
    assert!(s.record_settlement(&settlement(accepted.task_id, true, 1)).await.unwrap());
    assert!(!s.record_settlement(&settlement(accepted.task_id, true, 1)).await.unwrap(), "the second time is a no-op");
    assert!(s.record_settlement(&settlement(rejected.task_id, false, 2)).await.unwrap());
    assert!(!s.record_settlement(&settlement(999, true, 3)).await.unwrap(), "an unknown task");
    let other_attempt = TaskSettlement { attempt: 4, ..settlement(rejected.task_id, true, 4) };
    assert!(!s.record_settlement(&other_attempt).await.unwrap(), "not the task's current attempt");
    let rejected_row = s.task(rejected.task_id).await.unwrap().unwrap();
    assert!(rejected_row.task_error.starts_with("rejected_by_attesters"), "{}", rejected_row.task_error);
    let task = s.task(accepted.task_id).await.unwrap().unwrap();
    assert_eq!(
        (task.is_accepted, task.task_number, task.task_attester_ids.clone()),
        (Some(true), Some(1), vec![attester.keeper_id])
    );
    assert_eq!(s.task(rejected.task_id).await.unwrap().unwrap().is_accepted, Some(false));
    let performer = s.keeper_by_address(&performer.keeper_address).await.unwrap().unwrap();
    let attester = s.keeper_by_address(&attester.keeper_address).await.unwrap().unwrap();
    assert_eq!(performer.keeper_points, triggerx_store::PERFORMER_POINTS, "only the accepted task pays the performer");
    assert_eq!(attester.keeper_points, 2.0 * 1.5 * triggerx_store::ATTESTER_POINTS, "two verdicts at booster 1.5");
    assert_eq!(attester.no_attested_tasks, 2);
}
