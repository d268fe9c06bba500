-- Keeper liveness for the health service: when a keeper went offline, whether that was alerted, and the
-- keeper-signed timestamp of its last accepted check-in (check-ins must move forward: no replays).
ALTER TABLE keepers ADD COLUMN offline_since BIGINT;
ALTER TABLE keepers ADD COLUMN offline_alerted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE keepers ADD COLUMN last_checkin_signed_at BIGINT;
