-- Schedulers follow job changes (create, update, pause, resume, delete) by their update time.
CREATE INDEX jobs_by_kind_and_update ON jobs (trigger_kind, updated_at);
