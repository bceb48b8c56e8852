-- Audit scheduler: checklist runs, who did each item, GitHub checks, report snapshots, and the
-- alert / incident facts the monthly report counts. Times are Unix milliseconds (UTC).
-- Other plugins may read these tables; only the audit scheduler writes them.

-- One posted checklist: a daily, weekly, monthly or quarterly audit.
CREATE TABLE audit_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule     TEXT    NOT NULL,            -- daily | weekly | monthly | quarterly
    due_at       INTEGER NOT NULL,            -- the schedule occurrence (or the time of a manual `/audit run`)
    started_at   INTEGER NOT NULL,
    late         INTEGER NOT NULL DEFAULT 0,  -- 1 when run after downtime
    started_by   TEXT,                        -- NULL for the schedule, else who typed `/audit run`
    since_at     INTEGER NOT NULL,            -- "since the last run" for checks such as failed workflows
    state        TEXT    NOT NULL DEFAULT 'open', -- open | complete
    completed_at INTEGER,
    reminded_at  INTEGER,
    escalated_at INTEGER,
    UNIQUE (schedule, due_at)
);
CREATE INDEX audit_runs_state ON audit_runs (state, schedule);

-- One checklist item of a run, and who did it.
CREATE TABLE audit_items (
    run_id    INTEGER NOT NULL REFERENCES audit_runs (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,               -- 1-based, as shown
    item      TEXT    NOT NULL,               -- short id, e.g. `dependabot`
    text      TEXT    NOT NULL,
    check_kind TEXT,                          -- the automatic check, NULL for a manual item
    state     TEXT    NOT NULL DEFAULT 'open', -- open | checking | checked | flagged | failed | done | skipped
    actor     TEXT,                           -- who ticked or skipped it (`Sentinel` for an automatic check)
    at        INTEGER,                        -- when
    note      TEXT,                           -- the note of `/audit done`, the reason of `/audit skip`
    evidence  TEXT,                           -- what the automatic check found, or "could not check: …"
    PRIMARY KEY (run_id, position),
    UNIQUE (run_id, item)
);

-- Monthly / quarterly reports: collected, posted, and filed as an issue.
CREATE TABLE audit_reports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    period       TEXT    NOT NULL,            -- `2026-03` or `2026-Q1`
    run_id       INTEGER REFERENCES audit_runs (id) ON DELETE SET NULL,
    requested_by TEXT,
    state        TEXT    NOT NULL DEFAULT 'collecting', -- collecting | posted
    created_at   INTEGER NOT NULL,
    posted_at    INTEGER,
    markdown     TEXT,                        -- the posted report
    issue_url    TEXT                         -- where it was filed on GitHub
);
CREATE INDEX audit_reports_period ON audit_reports (period, state);

-- Each GitHub API request a run or report made, matched to its `github.response` by correlation.
CREATE TABLE audit_requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    correlation TEXT    NOT NULL UNIQUE,
    run_id      INTEGER REFERENCES audit_runs (id) ON DELETE CASCADE,
    report_id   INTEGER REFERENCES audit_reports (id) ON DELETE CASCADE,
    item        TEXT    NOT NULL,             -- the item (run) or metric (report) it serves
    check_kind  TEXT    NOT NULL,             -- the request's purpose, e.g. `dependabot_alerts`, `hooks`
    repository  TEXT,
    state       TEXT    NOT NULL DEFAULT 'pending', -- pending | ok | failed
    response    TEXT,                         -- the github.response payload, JSON
    created_at  INTEGER NOT NULL,
    answered_at INTEGER
);
CREATE INDEX audit_requests_run ON audit_requests (run_id, item);
CREATE INDEX audit_requests_report ON audit_requests (report_id);

-- The report's numbers per period, so the next report shows the change.
CREATE TABLE audit_snapshots (
    period               TEXT    PRIMARY KEY, -- `2026-03` or `2026-Q1`
    open_dependabot      INTEGER,             -- NULL when unknown
    open_code_scanning   INTEGER,
    open_secret_scanning INTEGER,
    dependencies_updated INTEGER,
    patches_applied      INTEGER,
    open_high_critical   INTEGER,
    source               TEXT    NOT NULL,    -- github | records | mixed
    taken_at             INTEGER NOT NULL
);

-- Alerts as announced by alert.raised / alert.closed / alert.reopened (own copy, so the report does
-- not depend on another plugin's schema).
CREATE TABLE audit_alerts (
    key             TEXT    PRIMARY KEY,
    source          TEXT    NOT NULL,         -- dependabot | code_scanning | secret_scanning | …
    repository      TEXT,
    number          INTEGER,
    severity        TEXT,
    title           TEXT    NOT NULL,
    package         TEXT,
    cve             TEXT,
    ghsa            TEXT,
    url             TEXT,
    state           TEXT    NOT NULL,         -- open | closed
    created_at      INTEGER,                  -- when GitHub created the alert
    raised_at       INTEGER NOT NULL,         -- when Sentinel first announced it
    closed_at       INTEGER,
    close_action    TEXT                      -- fixed | dismissed | resolved | …
);
CREATE INDEX audit_alerts_closed ON audit_alerts (closed_at);

-- Incidents as announced by incident.* and sla.breached.
CREATE TABLE audit_incidents (
    id                  INTEGER PRIMARY KEY,  -- the incident commander's id
    title               TEXT    NOT NULL,
    severity            TEXT    NOT NULL,
    opened_at           INTEGER NOT NULL,
    acknowledged_at     INTEGER,
    resolved_at         INTEGER,
    closed_at           INTEGER,
    resolved_by         TEXT,
    summary             TEXT,
    response_breached   INTEGER NOT NULL DEFAULT 0,
    resolution_breached INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_incidents_resolved ON audit_incidents (resolved_at);
