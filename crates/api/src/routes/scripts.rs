//! Script routes: `POST /api/code/validate` (the original's route) runs a script once in the sandbox and
//! returns its output or its error; `PUT|GET /api/jobs/{job_id}/secrets` sets a job's secrets (values
//! are never shown back, only names).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use triggerx_core::time::now_millis;
use triggerx_script::{HostCall, Invocation, Limits, LiveHost, run_live};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, path_job_id};
use crate::routes::jobs::owned_job;
use crate::state::SharedState;

/// Most bytes of a secret's value.
const MAX_SECRET_BYTES: usize = 4 * 1024;
/// Most bytes of a secret's name.
const MAX_SECRET_NAME: usize = 64;

/// `POST /api/code/validate` body: the script as text (`code`) or by URL (`url`), and what to run it with.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ValidateCode {
    /// The script's text.
    pub code: Option<String>,
    /// Or where it is (`ipfs://CID` or http(s)).
    pub url: Option<String>,
    /// The object passed to `main` (defaults to a manual trigger).
    #[schema(value_type = Option<Object>)]
    pub input: Option<serde_json::Value>,
    /// Hosts `fetch` may reach during this run.
    pub allowed_hosts: Vec<String>,
    /// Storage the run sees.
    pub storage: BTreeMap<String, String>,
}

/// What a validation run gave.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ValidateResult {
    /// Whether the script ran to a result.
    pub ok: bool,
    /// keccak256 of the script.
    pub script_hash: String,
    /// What `main` returned (when ok).
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    /// Storage the run would write (when ok).
    pub storage_updates: BTreeMap<String, Option<String>>,
    /// Why it failed (when not ok).
    pub error: Option<String>,
    /// Console lines.
    pub logs: Vec<String>,
    /// Host calls made, with their answers.
    #[schema(value_type = Vec<Object>)]
    pub calls: Vec<HostCall>,
    /// Fuel used (engine interrupt checks).
    pub fuel_used: u64,
}

/// Runs a script once in the sandbox, as a keeper would, and returns its output or its error. A script
/// error is a 200 with `ok: false`; a request that names no script is a 400.
#[utoipa::path(post, path = "/api/code/validate", tag = "scripts", request_body = ValidateCode,
    responses((status = 200, body = ValidateResult), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn validate_code(
    State(state): State<SharedState>,
    JsonBody(body): JsonBody<ValidateCode>,
) -> ApiResult<Json<ValidateResult>> {
    let source = match (body.code, body.url) {
        (Some(code), None) => code,
        (None, Some(url)) => {
            state.scripts.fetch(&url).await.map_err(|e| ApiError::bad("script_unavailable", "url", e.to_string()))?.text
        }
        _ => return Err(ApiError::bad("missing_field", "code", "give the script as `code` or as `url` (one of them)")),
    };
    if source.len() > triggerx_script::source::MAX_SCRIPT_BYTES {
        return Err(ApiError::bad(
            "too_long",
            "code",
            format!("at most {} bytes", triggerx_script::source::MAX_SCRIPT_BYTES),
        ));
    }
    let hash = triggerx_script::script_hash(source.as_bytes());
    let invocation = Invocation {
        source,
        input: body.input.unwrap_or_else(|| serde_json::json!({ "trigger": { "kind": "manual" } })),
        now_ms: now_millis(),
        seed: 1,
        storage: body.storage,
        secrets: BTreeMap::new(),
    };
    let host = LiveHost::new(&state.script_fetch, body.allowed_hosts, Default::default(), String::new());
    let result = match run_live(invocation, host, Limits::default()).await {
        Ok(run) => {
            let (output, storage_updates) = run.result().map_err(ApiError::Internal)?;
            ValidateResult {
                ok: true,
                script_hash: hash,
                output: Some(output),
                storage_updates,
                error: None,
                logs: run.logs,
                calls: run.calls,
                fuel_used: run.fuel_used,
            }
        }
        Err(e) => ValidateResult {
            ok: false,
            script_hash: hash,
            output: None,
            storage_updates: BTreeMap::new(),
            error: Some(e.to_string()),
            logs: Vec::new(),
            calls: Vec::new(),
            fuel_used: 0,
        },
    };
    Ok(Json(result))
}

/// The names of a job's secrets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecretNames {
    pub names: Vec<String>,
}

/// Sets (a string) or removes (null) secrets of a job its script reads with `secrets.get(name)`. Values
/// are never shown back; the response lists the names now set.
#[utoipa::path(put, path = "/api/jobs/{job_id}/secrets", tag = "scripts", params(("job_id" = String, Path)),
    request_body = Object,
    responses((status = 200, body = SecretNames), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn set_secrets(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
    JsonBody(body): JsonBody<BTreeMap<String, Option<String>>>,
) -> ApiResult<Json<SecretNames>> {
    let job = owned_job(&state, &caller, path_job_id(&job_id)?).await?;
    for (name, value) in &body {
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if name.is_empty() || name.len() > MAX_SECRET_NAME || !plain {
            return Err(ApiError::bad(
                "invalid_name",
                name.clone(),
                format!("a secret's name is 1..={MAX_SECRET_NAME} of A-Z a-z 0-9 _ -"),
            ));
        }
        if value.as_ref().is_some_and(|v| v.len() > MAX_SECRET_BYTES) {
            return Err(ApiError::bad("too_long", name.clone(), format!("at most {MAX_SECRET_BYTES} bytes")));
        }
    }
    let changes: Vec<(String, Option<String>)> = body.into_iter().collect();
    let names = state.store.set_script_secrets(job.spec.job_id, &changes).await?;
    Ok(Json(SecretNames { names }))
}

/// The names of a job's secrets (never their values).
#[utoipa::path(get, path = "/api/jobs/{job_id}/secrets", tag = "scripts", params(("job_id" = String, Path)),
    responses((status = 200, body = SecretNames), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn secret_names(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(job_id): Path<String>,
) -> ApiResult<Json<SecretNames>> {
    let job = owned_job(&state, &caller, path_job_id(&job_id)?).await?;
    Ok(Json(SecretNames { names: state.store.script_secret_names(job.spec.job_id).await? }))
}
