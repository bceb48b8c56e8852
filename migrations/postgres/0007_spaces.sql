-- PostgreSQL twin of migrations/sqlite/0007_spaces.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines) and AUTOINCREMENT ids are identity columns.
-- Per-incident spaces (`Cx::open_space`): a Slack channel or Discord thread per (platform, key).
-- Owned by the core (bot/src/store/spaces.rs). Times are Unix milliseconds (UTC).
-- Plugins may read: `key` (the plugin's space key), `platform`, `channel_id` (NULL until opened).
CREATE TABLE spaces (
    platform     TEXT    NOT NULL,           -- console | webhook | slack | discord
    key          TEXT    NOT NULL,           -- the plugin's space key (`incident-12`)
    name         TEXT    NOT NULL,           -- the name it was asked for with
    parent       TEXT    NOT NULL,           -- the platform channel id it was opened from
    channel_id   TEXT,                       -- the platform's id of the space; NULL until opened
    requested_at BIGINT NOT NULL,           -- when a plugin asked for it (in its transaction)
    created_at   BIGINT,                    -- when the platform confirmed it
    PRIMARY KEY (platform, key)
);

-- An outbox row with op = 'space' opens a space: its JSON request (key, name, parent, members).
-- Messages to a space have channel = 'space:<key>' and share the opening row's order_key, so they
-- are delivered after it; the real channel id is read from `spaces` at delivery.
ALTER TABLE outbox ADD COLUMN space TEXT;
