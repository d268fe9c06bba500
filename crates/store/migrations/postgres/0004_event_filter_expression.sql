-- Event jobs may filter on any parameter with an expression (`value > 1000 && to == 0x...`).
ALTER TABLE event_jobs ADD COLUMN event_filter TEXT NOT NULL DEFAULT '';
