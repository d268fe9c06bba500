//! Job routes: the original dbserver's paths plus clean REST routes, all owner-checked.

use crate::wire::{CreateJobData, JobUpdate, JobView, validate_job_chain};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use triggerx_core::address::normalize_address;
use triggerx_core::condition::ValueSourceType;
use triggerx_core::ids::JobId;
use triggerx_core::job::{Job, NewJob, Trigger};
use triggerx_core::paging::{PageInfo, PageQuery};
use triggerx_core::task::Task;
use triggerx_http::AddressPolicy;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, QueryOf, path_job_id};
use crate::routes::Message;
use crate::state::SharedState;

/// Response of `POST /api/jobs` (the original's shape).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreateJobsResponse {
    pub user_id: i64,
    pub account_balance: String,
    pub token_balance: String,
    pub job_ids: Vec<JobId>,
    pub task_definition_ids: Vec<i64>,
    pub time_frames: Vec<i64>,
}

/// A page of jobs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobsPage {
    pub jobs: Vec<JobView>,
    pub page: PageInfo,
}

/// A page of tasks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TasksPage {
    pub tasks: Vec<Task>,
    pub page: PageInfo,
}

/// Query of `GET /api/jobs`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListQuery {
    /// Only jobs of this owner (admins; owner keys always see only their own).
    pub owner: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// `PUT /api/jobs/{job_id}/lastexecuted` body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LastExecutedBody {
    /// RFC 3339; defaults to now.
    pub last_executed_at: Option<String>,
    /// Ignored (the original's clients send it).
    #[schema(value_type = Option<String>)]
    pub job_id: Option<serde_json::Value>,
}

/// One task's fee.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskFee {
    pub task_id: i64,
    pub task_opx_cost: f64,
}

/// Response of `GET /api/jobs/{job_id}/task-fees`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskFees {
    pub task_fees: Vec<TaskFee>,
}

/// Loads a job the caller may see: 404 if missing, 403 if another owner's.
pub(crate) async fn owned_job(state: &SharedState, caller: &Caller, job_id: JobId) -> ApiResult<Job> {
    let job = state.store.require_job(job_id).await?;
    caller.require_owner(&job.spec.user_address)?;
    Ok(job)
}

async fn jobs_page(state: &SharedState, owner: Option<&str>, query: PageQuery) -> ApiResult<JobsPage> {
    let page = query.page()?;
    let (jobs, total) = state.store.list_jobs(owner, false, page).await?;
    Ok(JobsPage { jobs: jobs.iter().map(JobView::from).collect(), page: PageInfo::new(page, total) })
}

/// Refuses condition sources that name an internal host (loopback, private, link-local, metadata) the
/// operator did not allow; names that resolve there are refused again by the scheduler at each read.
fn check_source_hosts(policy: &AddressPolicy, jobs: &[NewJob]) -> ApiResult<()> {
    for (index, job) in jobs.iter().enumerate() {
        let Trigger::Condition(condition) = &job.trigger else { continue };
        if !matches!(condition.value_source_type, ValueSourceType::Api | ValueSourceType::Websocket) {
            continue;
        }
        let field = format!("[{index}].value_source_url");
        let url = url::Url::parse(&condition.value_source_url)
            .map_err(|e| ApiError::bad("invalid_url", field.clone(), format!("not a URL: {e}")))?;
        policy.check_url(&url).map_err(|e| ApiError::bad("invalid_url", field, e.to_string()))?;
    }
    Ok(())
}

/// Holds an owner key to its quotas: live jobs, and jobs firing at the fast periods.
async fn check_quotas(state: &SharedState, owner: &str, validated: &[NewJob]) -> ApiResult<()> {
    let quotas = state.quotas;
    let adding = validated.len() as i64;
    let live = state.store.live_job_count(owner).await?;
    if live + adding > quotas.live {
        return Err(ApiError::QuotaExceeded(format!(
            "{owner} has {live} live jobs; this request would make {}, over the limit of {} per owner (delete \
             finished jobs, or ask the operator)",
            live + adding,
            quotas.live
        )));
    }
    let fast_adding =
        validated.iter().filter(|j| j.period_ms().is_some_and(|p| p <= quotas.fast_period_ms)).count() as i64;
    if fast_adding > 0 {
        let fast = state.store.fast_live_job_count(owner, quotas.fast_period_ms).await?;
        check_fast_quota(owner, fast, fast_adding, &quotas)?;
    }
    Ok(())
}

/// Refuses `adding` more fast jobs to an owner who has `fast` of them, when that is over the quota.
fn check_fast_quota(owner: &str, fast: i64, adding: i64, quotas: &crate::JobQuotas) -> ApiResult<()> {
    if fast + adding > quotas.fast {
        return Err(ApiError::QuotaExceeded(format!(
            "{owner} has {fast} live jobs firing every {} s or more often; this would make {}, over the limit of {} \
             per owner (use a longer interval, or ask the operator)",
            quotas.fast_period_ms / 1000,
            fast + adding,
            quotas.fast
        )));
    }
    Ok(())
}

/// Everything `POST /api/jobs` checks before the on-chain owners: the body, each job's rules, source
/// hosts, the caller's right to the owner, the owner's quota, and that this server serves the chains.
async fn admissible_jobs(state: &SharedState, caller: &Caller, body: serde_json::Value) -> ApiResult<Vec<NewJob>> {
    let body = match body {
        serde_json::Value::Array(items) => serde_json::Value::Array(items),
        object @ serde_json::Value::Object(_) => serde_json::Value::Array(vec![object]),
        other => {
            return Err(ApiError::bad("invalid_type", "body", format!("expected an array of jobs, found {other}")));
        }
    };
    let jobs: Vec<CreateJobData> = serde_path_to_error::deserialize(body).map_err(|e| {
        let field = e.path().to_string();
        ApiError::bad("invalid_type", field.trim_start_matches('.'), e.into_inner().to_string())
    })?;
    let mut validated = validate_job_chain(&jobs, Utc::now())?;
    check_source_hosts(&state.outbound, &validated)?;
    if let Some(first) = validated.first() {
        caller.require_owner(&first.user_address)?;
        if caller.owner_scope().is_some() {
            check_quotas(state, &first.user_address, &validated).await?;
        }
    }
    state.chains.chains_of_jobs(caller, &validated)?;
    pin_scripts(state, &mut validated).await?;
    Ok(validated)
}

/// Fetches the script of every scripted job and pins its hash on the job: the dispatcher refuses a
/// script that changed behind its URL afterwards. A script that cannot be fetched refuses the job.
async fn pin_scripts(state: &SharedState, jobs: &mut [NewJob]) -> ApiResult<()> {
    for (index, job) in jobs.iter_mut().enumerate() {
        if !job.task_definition_id.is_dynamic() {
            continue;
        }
        let source = state.scripts.fetch(&job.target.dynamic_arguments_script_url).await.map_err(|e| {
            ApiError::bad("script_unavailable", format!("[{index}].dynamic_arguments_script_url"), e.to_string())
        })?;
        job.target.script_hash = source.hash;
    }
    Ok(())
}

/// Checks a creation request as `POST /api/jobs` would, except that the jobs need not be on-chain yet;
/// stores nothing. The job CLI asks before it spends gas on a registration the API would refuse.
#[utoipa::path(post, path = "/api/jobs/check", tag = "jobs", request_body = Vec<CreateJobData>,
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn check_jobs(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> ApiResult<Json<Message>> {
    let validated = admissible_jobs(&state, &caller, body).await?;
    Ok(Json(Message::new(format!("{} job(s) would be accepted once on-chain", validated.len()))))
}

/// Creates one job, or a chain of linked jobs (job i runs before job i+1), all or nothing.
#[utoipa::path(post, path = "/api/jobs", tag = "jobs", request_body = Vec<CreateJobData>,
    responses((status = 200, body = CreateJobsResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_jobs(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> ApiResult<Json<CreateJobsResponse>> {
    let validated = admissible_jobs(&state, &caller, body).await?;
    state.chains.check_job_owners(&caller, &validated).await?;
    let created = state.store.create_jobs(&validated).await?;
    tracing::debug!(owner = %validated[0].user_address, jobs = created.jobs.len(), "jobs created");
    Ok(Json(CreateJobsResponse {
        user_id: created.user_id,
        account_balance: created.account_balance,
        token_balance: created.token_balance,
        job_ids: created.jobs.iter().map(|j| j.spec.job_id).collect(),
        task_definition_ids: created.jobs.iter().map(|j| j.spec.task_definition_id.number()).collect(),
        time_frames: created.jobs.iter().map(|j| j.spec.time_frame).collect(),
    }))
}

/// Lists jobs: an owner key sees its own; an admin sees all or one owner's.
#[utoipa::path(get, path = "/api/jobs", tag = "jobs", params(JobListQuery),
    responses((status = 200, body = JobsPage), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn list_jobs(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    QueryOf(query): QueryOf<JobListQuery>,
) -> ApiResult<Json<JobsPage>> {
    let asked = query.owner.as_deref().map(|o| normalize_address(o, "owner")).transpose()?;
    let owner = match (caller.owner_scope(), asked) {
        (Some(mine), Some(asked)) if mine != asked => {
            return Err(ApiError::Forbidden("this key belongs to another owner".into()));
        }
        (Some(mine), _) => Some(mine),
        (None, asked) => asked,
    };
    let page = PageQuery { limit: query.limit, offset: query.offset };
    Ok(Json(jobs_page(&state, owner.as_deref(), page).await?))
}

/// Jobs of the key's owner (all jobs for an admin key).
#[utoipa::path(get, path = "/api/jobs/by-apikey", tag = "jobs", params(PageQuery),
    responses((status = 200, body = JobsPage)), security(("api_key" = [])))]
pub async fn jobs_by_api_key(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    QueryOf(page): QueryOf<PageQuery>,
) -> ApiResult<Json<JobsPage>> {
    Ok(Json(jobs_page(&state, caller.owner_scope().as_deref(), page).await?))
}

/// Jobs of `user_address`.
#[utoipa::path(get, path = "/api/jobs/user/{user_address}", tag = "jobs", params(("user_address" = String, Path), PageQuery),
    responses((status = 200, body = JobsPage), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn jobs_of_user(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(user_address): Path<String>,
    QueryOf(page): QueryOf<PageQuery>,
) -> ApiResult<Json<JobsPage>> {
    let address = normalize_address(&user_address, "user_address")?;
    caller.require_owner(&address)?;
    Ok(Json(jobs_page(&state, Some(&address), page).await?))
}

/// One job of `user_address`.
#[utoipa::path(get, path = "/api/jobs/user/{user_address}/{job_id}", tag = "jobs",
    params(("user_address" = String, Path), ("job_id" = String, Path)),
    responses((status = 200, body = JobView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn job_of_user(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path((user_address, job_id)): Path<(String, String)>,
) -> ApiResult<Json<JobView>> {
    let address = normalize_address(&user_address, "user_address")?;
    caller.require_owner(&address)?;
    let job = owned_job(&state, &caller, path_job_id(&job_id)?).await?;
    if job.spec.user_address != address {
        return Err(ApiError::Forbidden(format!("job {job_id} does not belong to {address}")));
    }
    Ok(Json(JobView::from(&job)))
}

/// One job.
#[utoipa::path(get, path = "/api/jobs/{job_id}", tag = "jobs", params(("job_id" = String, Path)),
    responses((status = 200, body = JobView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_job(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(JobView::from(&owned_job(&state, &caller, path_job_id(&job_id)?).await?)))
}

/// Deletes a job (it is never scheduled again; its tasks stay).
#[utoipa::path(delete, path = "/api/jobs/{job_id}", tag = "jobs", params(("job_id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete_job(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> ApiResult<Json<Message>> {
    let job = owned_job(&state, &caller, path_job_id(&job_id)?).await?;
    state.store.delete_job(job.spec.job_id).await?;
    Ok(Json(Message::new(format!("job {} deleted", job.spec.job_id))))
}

/// Deletes a job (the original's path).
#[utoipa::path(put, path = "/api/jobs/delete/{job_id}", tag = "jobs", params(("job_id" = String, Path)),
    responses((status = 200, body = Message), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete_job_legacy(
    state: State<SharedState>,
    caller: Extension<Caller>,
    job_id: Path<String>,
) -> ApiResult<Json<Message>> {
    delete_job(state, caller, job_id).await
}

/// Updates title, recurring, status, time frame, cost prediction, time zone or interval.
#[utoipa::path(put, path = "/api/jobs/update/{job_id}", tag = "jobs", params(("job_id" = String, Path)),
    request_body = JobUpdate,
    responses((status = 200, body = JobView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn update_job(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
    JsonBody(update): JsonBody<JobUpdate>,
) -> ApiResult<Json<JobView>> {
    let update = update.validate()?;
    let job = owned_job(&state, &caller, path_job_id(&job_id)?).await?;
    // A shorter interval may make the job fast: the owner's fast quota holds for updates too.
    let quotas = state.quotas;
    let was_fast = job.spec.period_ms().is_some_and(|p| p <= quotas.fast_period_ms);
    if caller.owner_scope().is_some()
        && !was_fast
        && update.time_interval.is_some_and(|s| s.saturating_mul(1000) <= quotas.fast_period_ms)
    {
        let fast = state.store.fast_live_job_count(&job.spec.user_address, quotas.fast_period_ms).await?;
        check_fast_quota(&job.spec.user_address, fast, 1, &quotas)?;
    }
    Ok(Json(JobView::from(&state.store.update_job(job.spec.job_id, &update).await?)))
}

/// Pauses a job.
#[utoipa::path(post, path = "/api/jobs/{job_id}/pause", tag = "jobs", params(("job_id" = String, Path)),
    responses((status = 200, body = JobView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn pause_job(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> ApiResult<Json<JobView>> {
    let job = owned_job(&state, &caller, path_job_id(&job_id)?).await?;
    Ok(Json(JobView::from(&state.store.set_job_paused(job.spec.job_id, true).await?)))
}

/// Resumes a paused job.
#[utoipa::path(post, path = "/api/jobs/{job_id}/resume", tag = "jobs", params(("job_id" = String, Path)),
    responses((status = 200, body = JobView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn resume_job(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> ApiResult<Json<JobView>> {
    let job = owned_job(&state, &caller, path_job_id(&job_id)?).await?;
    Ok(Json(JobView::from(&state.store.set_job_paused(job.spec.job_id, false).await?)))
}

/// Records a job's last execution (services only: admin key).
#[utoipa::path(put, path = "/api/jobs/{job_id}/lastexecuted", tag = "jobs", params(("job_id" = String, Path)),
    request_body = LastExecutedBody,
    responses((status = 200, body = JobView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn set_last_executed(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
    JsonBody(body): JsonBody<LastExecutedBody>,
) -> ApiResult<Json<JobView>> {
    caller.require_admin()?;
    let job_id = path_job_id(&job_id)?;
    let at = match body.last_executed_at.as_deref() {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| ApiError::bad("invalid_timestamp", "last_executed_at", format!("'{text}' is not RFC 3339")))?
            .timestamp_millis(),
        None => triggerx_core::time::now_millis(),
    };
    state.store.set_job_last_executed(job_id, at).await?;
    Ok(Json(JobView::from(&state.store.require_job(job_id).await?)))
}

/// Fees of a job's tasks.
#[utoipa::path(get, path = "/api/jobs/{job_id}/task-fees", tag = "jobs", params(("job_id" = String, Path)),
    responses((status = 200, body = TaskFees), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn task_fees(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> ApiResult<Json<TaskFees>> {
    let job = owned_job(&state, &caller, path_job_id(&job_id)?).await?;
    let fees = state.store.task_fees(job.spec.job_id).await?;
    Ok(Json(TaskFees {
        task_fees: fees.into_iter().map(|(task_id, task_opx_cost)| TaskFee { task_id, task_opx_cost }).collect(),
    }))
}

/// Tasks of a job, oldest first.
#[utoipa::path(get, path = "/api/jobs/{job_id}/tasks", tag = "jobs", params(("job_id" = String, Path), PageQuery),
    responses((status = 200, body = TasksPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn tasks_of_job(
    state: State<SharedState>,
    caller: Extension<Caller>,
    job_id: Path<String>,
    query: QueryOf<PageQuery>,
) -> ApiResult<Json<TasksPage>> {
    crate::routes::tasks::tasks_of_job(state, caller, job_id, query).await
}
