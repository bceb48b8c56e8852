-- PostgreSQL twin of migrations/sqlite/0013_github_pull.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines) and AUTOINCREMENT ids are identity columns.
-- GitHub pull mode (bot/src/github/pull): how far each polled listing has been read. Written in the
-- same transaction as the inbox events the poll found. Times are Unix milliseconds (UTC).
CREATE TABLE github_pull_cursors (
    endpoint  TEXT    PRIMARY KEY,            -- the listing's path, e.g. /repos/acme/app/dependabot/alerts
    etag      TEXT,                           -- the first page's ETag, sent back as If-None-Match
    watermark TEXT,                           -- the newest `updated_at` seen (RFC 3339, as GitHub writes it)
    polled_at BIGINT NOT NULL                -- when the listing was last read
);
