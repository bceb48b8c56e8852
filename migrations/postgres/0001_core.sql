-- PostgreSQL twin of migrations/sqlite/0001_core.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines) and AUTOINCREMENT ids are identity columns.
-- Sentinel core: the durable event pipeline. Times are Unix milliseconds (UTC).

-- Every input, written (and synced) before it is acknowledged. `dedup_key` makes replays harmless.
CREATE TABLE inbox (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedup_key   TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,               -- github | command | action | timer | schedule | domain
    name        TEXT    NOT NULL,               -- GitHub event, command, action id, timer key, schedule, domain kind
    owner       TEXT,                           -- the plugin a timer or schedule belongs to
    payload     TEXT    NOT NULL,               -- JSON
    received_at BIGINT NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending', -- pending | done
    retry_at    BIGINT,                        -- a failed plugin's next attempt; NULL = now
    passes      BIGINT NOT NULL DEFAULT 0,     -- dispatch passes that left it pending (then `handling` has rows)
    done_at     BIGINT
);
CREATE INDEX inbox_pending ON inbox (id) WHERE state = 'pending';
CREATE INDEX inbox_done_at ON inbox (done_at) WHERE state = 'done';

-- What each plugin made of each event: committed in the same transaction as the plugin's effects.
CREATE TABLE handling (
    event_id        BIGINT NOT NULL REFERENCES inbox (id) ON DELETE CASCADE,
    plugin          TEXT    NOT NULL,
    state           TEXT    NOT NULL,           -- done | retry | dead
    attempts        BIGINT NOT NULL,
    last_error      TEXT,
    next_attempt_at BIGINT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (event_id, plugin)
);
CREATE INDEX handling_dead ON handling (updated_at) WHERE state = 'dead';

-- Messages waiting to reach a platform, and those that did.
CREATE TABLE outbox (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key     TEXT    NOT NULL UNIQUE,
    platform            TEXT    NOT NULL,
    channel             TEXT    NOT NULL,       -- the platform's own channel id
    op                  TEXT    NOT NULL,       -- post | ephemeral
    message_key         TEXT,                   -- update-in-place identity
    thread_key          TEXT,                   -- the key of the message this one replies under
    order_key           TEXT    NOT NULL,       -- rows sharing it are delivered strictly in id order
    recipient           TEXT,                   -- the user an ephemeral reply is for
    response_url        TEXT,                   -- a platform's per-command reply address
    message             TEXT    NOT NULL,       -- JSON Message
    state               TEXT    NOT NULL DEFAULT 'pending', -- pending | delivered | failed
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT NOT NULL,
    last_error          TEXT,
    created_at          BIGINT NOT NULL,
    delivered_at        BIGINT,
    platform_message_id TEXT
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_order ON outbox (order_key, id) WHERE state = 'pending';

-- Where a keyed message landed on each platform, so later changes edit it or reply in its thread.
CREATE TABLE message_refs (
    platform            TEXT    NOT NULL,
    channel             TEXT    NOT NULL,
    message_key         TEXT    NOT NULL,
    platform_message_id TEXT    NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (platform, channel, message_key)
);

-- Durable timers. One-shot timers are deleted when they fire; schedules (cron set) re-arm.
CREATE TABLE timers (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    due_at     BIGINT NOT NULL,
    payload    TEXT    NOT NULL DEFAULT 'null',
    cron       TEXT,
    time_zone  TEXT,
    missed     TEXT,                            -- run_once | skip (schedules only)
    created_at BIGINT NOT NULL,
    UNIQUE (owner, key)
);
CREATE INDEX timers_due ON timers (due_at);

-- Security-relevant rejections and refusals: no secrets, no bodies.
CREATE TABLE security_log (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      BIGINT NOT NULL,
    kind    TEXT    NOT NULL,
    source  TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);
CREATE INDEX security_log_at ON security_log (at);
