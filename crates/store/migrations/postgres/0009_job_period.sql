-- How often a job may fire at most, in milliseconds: its interval, the shortest gap of its cron
-- schedule, or its condition's poll interval; NULL for event jobs and specific instants. The
-- per-owner quota of fast jobs counts it. Existing cron jobs stay NULL (their gap is computed when a
-- job is created or changed).
ALTER TABLE jobs ADD COLUMN period_ms BIGINT;
UPDATE jobs SET period_ms = (SELECT t.time_interval * 1000 FROM time_jobs t
                             WHERE t.job_id = jobs.job_id AND t.schedule_type = 'interval')
WHERE period_ms IS NULL;
UPDATE jobs SET period_ms = (SELECT c.poll_interval_ms FROM condition_jobs c WHERE c.job_id = jobs.job_id)
WHERE period_ms IS NULL;
CREATE INDEX jobs_by_owner_period ON jobs (user_address, period_ms);
