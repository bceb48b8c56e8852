-- GitHub pull mode (bot/src/github/pull): how far each polled listing has been read. Written in the
-- same transaction as the inbox events the poll found. Times are Unix milliseconds (UTC).
CREATE TABLE github_pull_cursors (
    endpoint  TEXT    PRIMARY KEY,            -- the listing's path, e.g. /repos/acme/app/dependabot/alerts
    etag      TEXT,                           -- the first page's ETag, sent back as If-None-Match
    watermark TEXT,                           -- the newest `updated_at` seen (RFC 3339, as GitHub writes it)
    polled_at INTEGER NOT NULL                -- when the listing was last read
);
