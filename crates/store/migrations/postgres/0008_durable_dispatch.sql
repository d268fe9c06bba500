-- Durable dispatch: each task's current attempt, its on-chain deadline and which dispatcher owns it
-- until when (a lease, so several dispatchers share one store and a dead one's tasks are taken over).
ALTER TABLE tasks ADD COLUMN attempt BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN deadline_at BIGINT;
ALTER TABLE tasks ADD COLUMN dispatcher TEXT;
ALTER TABLE tasks ADD COLUMN dispatcher_until BIGINT;
-- 1 once the hub's FunctionExecuted for the task is recorded: the chain's word is final.
ALTER TABLE tasks ADD COLUMN onchain_outcome BIGINT NOT NULL DEFAULT 0;

-- Every assignment of a task and how it ended (refused with a reason, broadcast, executed, lost).
CREATE TABLE task_attempts (
    task_id      BIGINT NOT NULL REFERENCES tasks(task_id),
    attempt      BIGINT NOT NULL,
    performer_id BIGINT NOT NULL,
    assigned_at  BIGINT NOT NULL,
    deadline_at  BIGINT NOT NULL,
    outcome      TEXT   NOT NULL DEFAULT 'assigned',
    reason       TEXT   NOT NULL DEFAULT '',
    tx_hash      TEXT   NOT NULL DEFAULT '',
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (task_id, attempt)
);

-- The store's random namespace: the upper bits of every on-chain task id it issues.
CREATE TABLE store_identity (
    singleton BIGINT PRIMARY KEY CHECK (singleton = 1),
    namespace TEXT   NOT NULL
);
