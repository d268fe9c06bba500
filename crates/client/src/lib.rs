//! A client of the TriggerX REST API, for the job owner's CLI ([`owner`]: `triggerx job ...`, with its
//! arguments), `triggerx task run`, the demo and the test networks: calls with the key, refusals turned into errors that name the field, and the few
//! flows they share (create jobs, read a job's tasks, wait for a task to end).

pub mod owner;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use triggerx_core::ids::JobId;

/// Errors of the client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The API could not be reached.
    #[error("calling the API at {url}: {source}")]
    Unreachable {
        /// The API's base URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The API refused the request.
    #[error("the API refused: {status}: {message}{}", field.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
    Refused {
        /// HTTP status.
        status: u16,
        /// The error code (`invalid_address`, ...).
        code: String,
        /// The message.
        message: String,
        /// The field named, if any.
        field: Option<String>,
    },
    /// A task did not end in time.
    #[error("no outcome within {0:?} (last status: {1})")]
    Timeout(Duration, String),
}

/// The API at `url`, called with `key`.
#[derive(Debug, Clone)]
pub struct ApiClient {
    url: String,
    key: String,
    http: reqwest::Client,
}

impl ApiClient {
    /// A client of the API at `url` (its base, e.g. `http://127.0.0.1:9002`) using `key`.
    pub fn new(url: &str, key: &str) -> Self {
        ApiClient { url: url.trim_end_matches('/').to_string(), key: key.to_string(), http: reqwest::Client::new() }
    }

    /// The API's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method path` with an optional JSON body; the JSON answer, or the refusal as an error.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.url)).header("x-api-key", &self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response =
            request.send().await.map_err(|source| ClientError::Unreachable { url: self.url.clone(), source })?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let error = &answer["error"];
            return Err(ClientError::Refused {
                status: status.as_u16(),
                code: error["code"].as_str().unwrap_or("").to_string(),
                message: error["message"].as_str().unwrap_or("(no message)").to_string(),
                field: error["field"].as_str().filter(|f| !f.is_empty()).map(str::to_string),
            });
        }
        Ok(answer)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `POST /api/jobs` with these job bodies (the SDK's `CreateJobData`).
    /// `POST /api/jobs/check`: would the API accept these jobs once they are on-chain? Stores nothing.
    pub async fn check_jobs(&self, jobs: &[Value]) -> Result<Value, ClientError> {
        self.call(reqwest::Method::POST, "/api/jobs/check", Some(&json!(jobs))).await
    }

    pub async fn create_jobs(&self, jobs: &[Value]) -> Result<Value, ClientError> {
        self.call(reqwest::Method::POST, "/api/jobs", Some(&json!(jobs))).await
    }

    /// The most recent `limit` tasks of a job (oldest first).
    pub async fn tasks_of(&self, job: JobId, limit: u32) -> Result<Vec<Value>, ClientError> {
        let page = self.get(&format!("/api/jobs/{job}/tasks?limit={limit}")).await?;
        Ok(page["tasks"].as_array().cloned().unwrap_or_default())
    }

    /// Asks for one occurrence of `job` now (admin key); the occurrence key the API queued.
    pub async fn run_task(&self, job: JobId, occurrence: Option<&str>) -> Result<String, ClientError> {
        let mut body = json!({ "job_id": job.to_string() });
        if let Some(key) = occurrence {
            body["occurrence_key"] = Value::String(key.to_string());
        }
        let answer = self.call(reqwest::Method::POST, "/api/admin/tasks", Some(&body)).await?;
        Ok(answer["occurrence_key"].as_str().unwrap_or_default().to_string())
    }

    /// Waits until the task of `job`'s `occurrence` is final (calling `on_status` whenever its status
    /// changes) and returns it.
    pub async fn wait_for_task(
        &self,
        job: JobId,
        occurrence: &str,
        patience: Duration,
        mut on_status: impl FnMut(&Value),
    ) -> Result<Value, ClientError> {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            let tasks = self.tasks_of(job, 500).await?;
            if let Some(task) = tasks.iter().find(|t| t["occurrence_key"].as_str() == Some(occurrence)) {
                let status = task["task_status"].as_str().unwrap_or_default().to_string();
                if status != last {
                    on_status(task);
                    last = status.clone();
                }
                if status == "executed" || status == "failed" {
                    return Ok(task.clone());
                }
            }
            if started.elapsed() > patience {
                return Err(ClientError::Timeout(patience, last));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
