-- PostgreSQL twin of migrations/sqlite/0015_web.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines).
-- Web status page (`[web]`): sign-in links and sessions. Owned by web/ (the `sentinel-web` crate);
-- the core's `/sentinel web` writes the links. Times are Unix milliseconds (UTC). No token is ever
-- stored: only its SHA-256, hex-encoded.

-- One single-use sign-in link, issued privately in chat to one person.
CREATE TABLE web_links (
    token_hash TEXT    PRIMARY KEY,    -- sha256(token), hex
    actor      TEXT    NOT NULL,       -- JSON of the chat actor who asked (platform, id, name, groups)
    person     TEXT    NOT NULL,       -- their [people] key or display name, for logs
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT                  -- set once, by the sign-in that consumed it
);
CREATE INDEX web_links_expires ON web_links (expires_at);

-- One browser session, created by consuming a link. Rights are the person's roles at sign-in.
CREATE TABLE web_sessions (
    token_hash TEXT    PRIMARY KEY,    -- sha256(cookie value), hex
    person     TEXT    NOT NULL,
    role       TEXT    NOT NULL,       -- anyone | responder | commander | admin, resolved at sign-in
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
