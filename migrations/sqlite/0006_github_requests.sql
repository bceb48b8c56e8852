-- GitHub API requests plugins committed with their handlers (`Cx::github`). The core's GitHub worker
-- performs each due row and answers it with one `github.response` domain event (inbox dedup key
-- `github-response:<id>`), written in the same transaction that marks the row done.
-- Times are Unix milliseconds (UTC). Owned by the core (bot/src/github/store.rs); plugins read their
-- answers from the event, not from this table.
CREATE TABLE github_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    requester       TEXT    NOT NULL,               -- the plugin that asked
    correlation     TEXT    NOT NULL,               -- the plugin's own id, echoed in the response
    method          TEXT    NOT NULL,               -- GET | POST | PATCH
    path            TEXT    NOT NULL,               -- below github.api_url, with its query
    body            TEXT,                           -- JSON body of a POST or PATCH
    paginate        INTEGER NOT NULL DEFAULT 0,     -- 1: follow Link rel="next", concatenating pages
    state           TEXT    NOT NULL DEFAULT 'pending', -- pending | done
    attempts        INTEGER NOT NULL DEFAULT 0,     -- failed attempts so far
    next_attempt_at INTEGER NOT NULL,               -- not before (retry backoff, rate-limit pause)
    last_error      TEXT,
    cursor          TEXT,                           -- a paginated request's next page, once past page 1
    partial         TEXT,                           -- JSON array of the entries fetched before `cursor`
    pages           INTEGER NOT NULL DEFAULT 0,     -- pages fetched before `cursor`
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
);
CREATE INDEX github_requests_pending ON github_requests (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX github_requests_done_at ON github_requests (done_at) WHERE state = 'done';
