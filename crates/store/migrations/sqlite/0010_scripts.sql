-- Scripts (dynamic arguments, custom script jobs): the keccak256 of the script pinned when the job was
-- created (a changed script is refused), the hosts its fetch calls may reach (comma-separated), the
-- recorded run of each task's script (its host calls and output, replayed by other keepers), and the
-- owner's secrets (never shown back).
ALTER TABLE jobs ADD COLUMN script_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN script_hosts TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN script_run TEXT;
CREATE TABLE script_secrets (
    job_id  TEXT NOT NULL REFERENCES jobs(job_id),
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (job_id, name)
);
