-- TriggerX schema, SQLite flavour. Integers are INTEGER (i64); flags are 0/1; uint256 ids and wei are decimal TEXT;
-- timestamps are Unix milliseconds.
CREATE TABLE users (
    user_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_address     TEXT    NOT NULL UNIQUE,
    account_balance  TEXT    NOT NULL DEFAULT '0',
    token_balance    TEXT    NOT NULL DEFAULT '0',
    email_id         TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    last_updated_at  INTEGER NOT NULL
);

CREATE TABLE jobs (
    job_id                        TEXT    PRIMARY KEY,
    user_id                       INTEGER NOT NULL REFERENCES users(user_id),
    user_address                  TEXT    NOT NULL,
    job_title                     TEXT    NOT NULL,
    task_definition_id            INTEGER NOT NULL,
    trigger_kind                  TEXT    NOT NULL,
    link_job_id                   TEXT,
    chain_status                  INTEGER NOT NULL,
    custom                        INTEGER NOT NULL,
    time_frame                    INTEGER NOT NULL,
    recurring                     INTEGER NOT NULL,
    status                        TEXT    NOT NULL,
    job_cost_prediction           TEXT    NOT NULL,
    timezone                      TEXT    NOT NULL,
    is_imua                       INTEGER NOT NULL,
    is_safe                       INTEGER NOT NULL,
    safe_name                     TEXT    NOT NULL,
    safe_address                  TEXT    NOT NULL,
    language                      TEXT    NOT NULL,
    created_chain_id              TEXT    NOT NULL,
    ether_balance                 TEXT    NOT NULL,
    token_balance                 TEXT    NOT NULL,
    expiration_time               INTEGER NOT NULL,
    target_chain_id               TEXT    NOT NULL,
    target_contract_address       TEXT    NOT NULL,
    target_function               TEXT    NOT NULL,
    abi                           TEXT    NOT NULL,
    arg_type                      INTEGER NOT NULL,
    arguments                     TEXT    NOT NULL,
    dynamic_arguments_script_url  TEXT    NOT NULL,
    created_at                    INTEGER NOT NULL,
    updated_at                    INTEGER NOT NULL,
    last_executed_at              INTEGER
);
CREATE INDEX jobs_by_user ON jobs (user_id, created_at);
CREATE INDEX jobs_by_status ON jobs (status);

CREATE TABLE time_jobs (
    job_id                    TEXT    PRIMARY KEY REFERENCES jobs(job_id),
    schedule_type             TEXT    NOT NULL,
    time_interval             INTEGER NOT NULL,
    cron_expression           TEXT    NOT NULL,
    specific_schedule         TEXT    NOT NULL,
    next_execution_timestamp  INTEGER
);
CREATE INDEX time_jobs_by_next ON time_jobs (next_execution_timestamp);

CREATE TABLE event_jobs (
    job_id                    TEXT PRIMARY KEY REFERENCES jobs(job_id),
    trigger_chain_id          TEXT NOT NULL,
    trigger_contract_address  TEXT NOT NULL,
    trigger_event             TEXT NOT NULL,
    topic0                    TEXT NOT NULL,
    event_filter_para_name    TEXT NOT NULL,
    event_filter_value        TEXT NOT NULL
);
CREATE INDEX event_jobs_by_source ON event_jobs (trigger_chain_id, trigger_contract_address);

CREATE TABLE condition_jobs (
    job_id              TEXT PRIMARY KEY REFERENCES jobs(job_id),
    condition_type      TEXT NOT NULL,
    upper_limit         TEXT,
    lower_limit         TEXT,
    value_source_type   TEXT NOT NULL,
    value_source_url    TEXT NOT NULL,
    selected_key_route  TEXT NOT NULL
);

CREATE TABLE tasks (
    task_id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    task_number              INTEGER,
    job_id                   TEXT    NOT NULL REFERENCES jobs(job_id),
    task_definition_id       INTEGER NOT NULL,
    occurrence_key           TEXT    NOT NULL,
    task_opx_cost            REAL    NOT NULL DEFAULT 0,
    task_cost_wei            TEXT    NOT NULL DEFAULT '0',
    execution_timestamp      INTEGER,
    execution_tx_hash        TEXT    NOT NULL DEFAULT '',
    task_performer_id        INTEGER,
    task_attester_ids        TEXT    NOT NULL DEFAULT '[]',
    proof_of_task            TEXT    NOT NULL DEFAULT '',
    tp_signature             TEXT    NOT NULL DEFAULT '',
    ta_signature             TEXT    NOT NULL DEFAULT '',
    task_submission_tx_hash  TEXT    NOT NULL DEFAULT '',
    task_status              TEXT    NOT NULL,
    task_error               TEXT    NOT NULL DEFAULT '',
    is_successful            INTEGER NOT NULL DEFAULT 0,
    is_accepted              INTEGER,
    tx_url                   TEXT    NOT NULL DEFAULT '',
    converted_arguments      TEXT    NOT NULL DEFAULT '[]',
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    UNIQUE (job_id, occurrence_key)
);
CREATE INDEX tasks_by_job ON tasks (job_id, task_id);
CREATE INDEX tasks_by_status ON tasks (task_status);

CREATE TABLE keepers (
    keeper_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    keeper_name         TEXT    NOT NULL DEFAULT '',
    keeper_address      TEXT    NOT NULL UNIQUE,
    consensus_address   TEXT    NOT NULL DEFAULT '',
    registered_tx       TEXT    NOT NULL DEFAULT '',
    operator_id         INTEGER,
    rewards_address     TEXT    NOT NULL DEFAULT '',
    rewards_booster     REAL    NOT NULL DEFAULT 1,
    voting_power        TEXT    NOT NULL DEFAULT '0',
    keeper_points       REAL    NOT NULL DEFAULT 0,
    connection_address  TEXT    NOT NULL DEFAULT '',
    peer_id             TEXT    NOT NULL DEFAULT '',
    strategies          TEXT    NOT NULL DEFAULT '[]',
    bls_public_key      TEXT    NOT NULL DEFAULT '',
    whitelisted         INTEGER NOT NULL DEFAULT 0,
    registered          INTEGER NOT NULL DEFAULT 0,
    online              INTEGER NOT NULL DEFAULT 0,
    version             TEXT    NOT NULL DEFAULT '',
    no_executed_tasks   INTEGER NOT NULL DEFAULT 0,
    no_attested_tasks   INTEGER NOT NULL DEFAULT 0,
    chat_id             INTEGER,
    email_id            TEXT    NOT NULL DEFAULT '',
    last_checked_in     INTEGER,
    uptime              INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash       TEXT    NOT NULL UNIQUE,
    key_prefix     TEXT    NOT NULL,
    owner          TEXT,
    is_admin       INTEGER NOT NULL,
    is_active      INTEGER NOT NULL,
    rate_limit     INTEGER NOT NULL,
    success_count  INTEGER NOT NULL DEFAULT 0,
    failed_count   INTEGER NOT NULL DEFAULT 0,
    last_used      INTEGER,
    created_at     INTEGER NOT NULL
);

CREATE TABLE script_storage (
    job_id  TEXT NOT NULL REFERENCES jobs(job_id),
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (job_id, key)
);

CREATE TABLE checkpoints (
    name        TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);
