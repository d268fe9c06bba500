-- Which scheduler process runs the triggers: a lease its holder renews; another process takes over
-- once it has expired.
CREATE TABLE scheduler_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
