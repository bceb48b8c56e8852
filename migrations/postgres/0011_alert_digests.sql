-- PostgreSQL twin of migrations/sqlite/0011_alert_digests.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines) and AUTOINCREMENT ids are identity columns.
-- Alert notifier, alert storms: the digests that list many new alerts in one message (see
-- `[plugins.alert_notifier.digest]`). Times are Unix milliseconds (UTC).

-- New alerts per channel, counted over the sliding window that tells a storm from ordinary traffic.
-- Rows older than the window are deleted as new ones arrive.
CREATE TABLE alert_arrivals (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel TEXT    NOT NULL,                   -- logical channel
    at      BIGINT NOT NULL
);
CREATE INDEX alert_arrivals_channel ON alert_arrivals (channel, at);

-- One row per digest of a channel: gathering alerts until `flush_at`, then posted as `parts`
-- messages keyed `digest:<id>:<part>`.
CREATE TABLE alert_digests (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel   TEXT    NOT NULL,                 -- logical channel
    state     TEXT    NOT NULL,                 -- gathering | posted
    opened_at BIGINT NOT NULL,
    flush_at  BIGINT NOT NULL,                 -- when it is posted (its timer's due time)
    posted_at BIGINT,
    parts     BIGINT NOT NULL DEFAULT 0        -- messages it was split into
);
-- At most one digest per channel gathers at a time.
CREATE UNIQUE INDEX alert_digests_gathering ON alert_digests (channel) WHERE state = 'gathering';
CREATE INDEX alert_digests_posted ON alert_digests (channel, posted_at);

-- The alerts a digest lists. An alert is listed at most once per channel, so nothing is shown twice.
-- `severity`, `repository` and `line` are fixed when the digest is posted: a re-rendered part keeps
-- its layout and size, and only each alert's state (and so its suffix) changes.
CREATE TABLE alert_digest_entries (
    alert_key    TEXT    NOT NULL REFERENCES alerts (key) ON DELETE CASCADE,
    channel      TEXT    NOT NULL,
    digest_id    BIGINT NOT NULL REFERENCES alert_digests (id) ON DELETE CASCADE,
    mentions     TEXT    NOT NULL DEFAULT '[]', -- JSON [Mention]: who its route mentions there
    part         BIGINT,                       -- 1-based message of the digest, once posted
    severity     TEXT,                          -- as listed
    repository   TEXT,                          -- as listed ('' for none)
    line         TEXT,                          -- the listed link and detail, without the state
    noted_change BIGINT NOT NULL DEFAULT 0,    -- last alert_changes.id shown or noted in the thread
    PRIMARY KEY (alert_key, channel)
);
CREATE INDEX alert_digest_entries_digest ON alert_digest_entries (digest_id, part);
