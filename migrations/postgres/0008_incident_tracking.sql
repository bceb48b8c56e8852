-- PostgreSQL twin of migrations/sqlite/0008_incident_tracking.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines) and AUTOINCREMENT ids are identity columns.
-- Incident commander: the GitHub tracking issue of each incident, when
-- `[plugins.incident_commander.tracking_issue] repository` is set.
-- Owned by plugins/src/incident_commander (store.rs, tracking.rs). Times are Unix milliseconds (UTC).
-- Other plugins may read repository, issue_number, html_url and state (read-only).
CREATE TABLE incident_tracking (
    incident_id    BIGINT PRIMARY KEY REFERENCES incidents (id),
    repository     TEXT    NOT NULL,           -- org/repo the issue lives in (kept if the config changes later)
    state          TEXT    NOT NULL,           -- creating (POST sent, no answer yet) | tracked (issue known) | failed (the create failed)
    issue_number   BIGINT,                    -- GitHub's issue number, once the create was answered
    html_url       TEXT,                       -- the issue's page
    synced         TEXT,                       -- JSON of the issue fields last sent (title, body, state, labels, assignees);
                                               -- NULL: unknown after a failed update, so the next update sends every field
    sent_seq       BIGINT NOT NULL DEFAULT 0, -- number of the latest update request sent (correlation `incident:<id>:patch:<n>`)
    applied_seq    BIGINT NOT NULL DEFAULT 0, -- highest update number GitHub answered 2xx
    postmortem     BIGINT NOT NULL DEFAULT 0, -- 1: a post-mortem was asked for before the issue number was known
    retry_create   BIGINT NOT NULL DEFAULT 0, -- 1: the failed create certainly created nothing (4xx, no token); the next change tries again
    failure_noted  BIGINT NOT NULL DEFAULT 0, -- 1: the channel was told about a failure; reset by the next success
    last_error     TEXT,                       -- the latest failure, as the GitHub worker reported it
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
