-- Counts changes to a time job's schedule (interval, time zone, time frame, recurring). A scheduler
-- records a next occurrence only for the version it computed it from, so it cannot overwrite the next
-- occurrence of a schedule the API changed meanwhile.
ALTER TABLE time_jobs ADD COLUMN schedule_version BIGINT NOT NULL DEFAULT 0;
