-- Condition jobs: per-job poll interval and cool-down, oracle sources (a view call), and what the
-- scheduler last saw (value, failures) and did (firings), so a restart neither repeats nor loses a
-- transition and a failing source shows on the job.
ALTER TABLE condition_jobs ADD COLUMN poll_interval_ms BIGINT NOT NULL DEFAULT 1000;
ALTER TABLE condition_jobs ADD COLUMN cooldown_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE condition_jobs ADD COLUMN oracle_chain_id TEXT NOT NULL DEFAULT '';
ALTER TABLE condition_jobs ADD COLUMN oracle_function TEXT NOT NULL DEFAULT '';
ALTER TABLE condition_jobs ADD COLUMN oracle_arguments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE condition_jobs ADD COLUMN oracle_decimals BIGINT NOT NULL DEFAULT 0;
ALTER TABLE condition_jobs ADD COLUMN armed BIGINT NOT NULL DEFAULT 1;
ALTER TABLE condition_jobs ADD COLUMN transitions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE condition_jobs ADD COLUMN last_fired_at BIGINT;
ALTER TABLE condition_jobs ADD COLUMN last_value TEXT;
ALTER TABLE condition_jobs ADD COLUMN last_checked_at BIGINT;
ALTER TABLE condition_jobs ADD COLUMN source_error TEXT;
ALTER TABLE condition_jobs ADD COLUMN source_failures BIGINT NOT NULL DEFAULT 0;
