//! Task routes: services create tasks and report executions (admin keys); owners read their tasks.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use triggerx_core::TaskDefinitionId;
use triggerx_core::address::normalize_address;
use triggerx_core::paging::{PageInfo, PageQuery};
use triggerx_core::task::{CreateTaskRequest, Task, TaskExecutionUpdate};
use triggerx_store::NewTask;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, QueryOf, path_job_id, path_number};
use crate::routes::jobs::{TasksPage, owned_job};
use crate::state::SharedState;

async fn owned_task(state: &SharedState, caller: &Caller, task_id: &str) -> ApiResult<Task> {
    let id = path_number(task_id, "task_id")?;
    let task = state.store.task(id).await?.ok_or_else(|| ApiError::NotFound(format!("task {id}")))?;
    owned_job(state, caller, task.job_id).await?;
    Ok(task)
}

/// Creates the task of one occurrence (services only). The same occurrence key returns the existing
/// task with 200 instead of 201: an occurrence never gets two tasks.
#[utoipa::path(post, path = "/api/tasks", tag = "tasks", request_body = CreateTaskRequest,
    responses((status = 201, body = Task), (status = 200, body = Task), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_task(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<CreateTaskRequest>,
) -> ApiResult<(StatusCode, Json<Task>)> {
    caller.require_admin()?;
    let task_definition_id = body
        .task_definition_id
        .map(|n| {
            TaskDefinitionId::from_number(n).ok_or_else(|| {
                ApiError::bad("invalid_task_definition_id", "task_definition_id", format!("{n} is not one of 1..7"))
            })
        })
        .transpose()?;
    let occurrence_key = match body.occurrence_key.as_deref().map(str::trim) {
        Some("") => return Err(ApiError::bad("invalid_occurrence_key", "occurrence_key", "must not be empty")),
        Some(key) if key.len() > 256 => {
            return Err(ApiError::bad("invalid_occurrence_key", "occurrence_key", "at most 256 characters"));
        }
        Some(key) => key.to_string(),
        None => format!("manual:{}", uuid_like()),
    };
    let request =
        NewTask { job_id: body.job_id, task_definition_id, occurrence_key, task_performer_id: body.task_performer_id };
    let (task, created) = state.store.create_task(&request).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(task)))
}

fn uuid_like() -> String {
    use sha2::Digest;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let counter = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    hex::encode(&sha2::Sha256::digest(format!("{nanos}:{counter}:{}", std::process::id()))[..12])
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One task.
#[utoipa::path(get, path = "/api/tasks/{task_id}", tag = "tasks", params(("task_id" = i64, Path)),
    responses((status = 200, body = Task), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_task(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(task_id): Path<String>,
) -> ApiResult<Json<Task>> {
    Ok(Json(owned_task(&state, &caller, &task_id).await?))
}

/// Tasks of a job (the original's path).
#[utoipa::path(get, path = "/api/tasks/job/{job_id}", tag = "tasks", params(("job_id" = String, Path), PageQuery),
    responses((status = 200, body = TasksPage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn tasks_of_job(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
    QueryOf(query): QueryOf<PageQuery>,
) -> ApiResult<Json<TasksPage>> {
    let job = owned_job(&state, &caller, path_job_id(&job_id)?).await?;
    let page = query.page()?;
    let (tasks, total) = state.store.tasks_of_job(job.spec.job_id, page).await?;
    Ok(Json(TasksPage { tasks, page: PageInfo::new(page, total) }))
}

/// Most recent tasks (an owner key sees only its own).
#[utoipa::path(get, path = "/api/tasks/recent", tag = "tasks", params(PageQuery),
    responses((status = 200, body = TasksPage), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn recent_tasks(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    QueryOf(query): QueryOf<PageQuery>,
) -> ApiResult<Json<TasksPage>> {
    let page = query.page()?;
    let (tasks, total) = state.store.recent_tasks(caller.owner_scope().as_deref(), page).await?;
    Ok(Json(TasksPage { tasks, page: PageInfo::new(page, total) }))
}

/// Tasks of a user's jobs, newest first.
#[utoipa::path(get, path = "/api/tasks/user/{user_address}", tag = "tasks",
    params(("user_address" = String, Path), PageQuery),
    responses((status = 200, body = TasksPage), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn tasks_of_user(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(user_address): Path<String>,
    QueryOf(query): QueryOf<PageQuery>,
) -> ApiResult<Json<TasksPage>> {
    let address = normalize_address(&user_address, "user_address")?;
    caller.require_owner(&address)?;
    let page = query.page()?;
    let (tasks, total) = state.store.recent_tasks(Some(&address), page).await?;
    Ok(Json(TasksPage { tasks, page: PageInfo::new(page, total) }))
}

/// Records a performer's execution report (services only).
#[utoipa::path(put, path = "/api/tasks/execution/{task_id}", tag = "tasks", params(("task_id" = i64, Path)),
    request_body = TaskExecutionUpdate,
    responses((status = 200, body = Task), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn update_execution(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(task_id): Path<String>,
    JsonBody(update): JsonBody<TaskExecutionUpdate>,
) -> ApiResult<Json<Task>> {
    caller.require_admin()?;
    let id = path_number(&task_id, "task_id")?;
    Ok(Json(state.store.update_task_execution(id, &update).await?))
}

/// `POST /api/admin/tasks` body.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRunRequest {
    #[schema(value_type = String)]
    pub job_id: triggerx_core::ids::JobId,
    /// Occurrence identity; a fresh one when absent.
    pub occurrence_key: Option<String>,
}

/// Answer of `POST /api/admin/tasks`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TaskRunQueued {
    #[schema(value_type = String)]
    pub job_id: triggerx_core::ids::JobId,
    pub occurrence_key: String,
    pub status: String,
}

/// Requests one run of a job now (admin key). Answers 202 once queued; the task then shows up in
/// `GET /api/jobs/{job_id}/tasks` under the occurrence key. 503 when no dispatcher runs with this API.
#[utoipa::path(post, path = "/api/admin/tasks", tag = "admin", request_body = TaskRunRequest,
    responses((status = 202, body = TaskRunQueued), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn request_task(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<TaskRunRequest>,
) -> ApiResult<(StatusCode, Json<TaskRunQueued>)> {
    caller.require_admin()?;
    let job = state.store.require_job(body.job_id).await?;
    if !job.status.is_schedulable() {
        return Err(ApiError::Conflict(format!("job {} is {}", body.job_id, job.status.as_str())));
    }
    let queue = state
        .task_queue
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no dispatcher runs with this API (start `triggerx up`)".into()))?;
    let occurrence_key = match body.occurrence_key.as_deref().map(str::trim) {
        Some("") => return Err(ApiError::bad("invalid_occurrence_key", "occurrence_key", "must not be empty")),
        Some(key) => key.to_string(),
        None => format!("manual:{}", uuid_like()),
    };
    let message = triggerx_queue::TaskRequest { job_id: body.job_id, occurrence_key: occurrence_key.clone() };
    queue.send(message).await.map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok((StatusCode::ACCEPTED, Json(TaskRunQueued { job_id: body.job_id, occurrence_key, status: "queued".into() })))
}
