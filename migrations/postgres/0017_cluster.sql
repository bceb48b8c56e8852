-- PostgreSQL twin of migrations/sqlite/0017_cluster.sql: the same tables and columns; every integer
-- and time is BIGINT (read as i64 on both engines).
-- Several instances on one database (issue 14 §2/§3): who is running, and who leads each
-- cluster-wide periodic job. Times are Unix milliseconds (UTC).

-- One row per instance name. Alive = stopped_at IS NULL and heartbeat_at within 3 heartbeats.
CREATE TABLE instances (
    name         TEXT    PRIMARY KEY,   -- cluster.instance
    host         TEXT    NOT NULL,
    pid          BIGINT  NOT NULL,
    version      TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    heartbeat_at BIGINT  NOT NULL,
    stopped_at   BIGINT                 -- set by a clean shutdown
);

-- One row per singleton periodic job (GitHub pull, webhook reconciliation, housekeeping): the
-- instance holding its lease runs its rounds; another takes it over once the lease expired.
CREATE TABLE cluster_jobs (
    name        TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    lease_until BIGINT  NOT NULL,
    fence       BIGINT  NOT NULL        -- bumped on every change of owner
);
