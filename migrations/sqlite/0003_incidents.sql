-- Incident commander: incidents, their linked alerts, stage checklists and timelines.
-- Owned by plugins/src/incident_commander (store.rs). Times are Unix milliseconds (UTC).

-- One row per incident. Other plugins may read it (read-only); the audit scheduler uses
-- id, severity, state, opened_at, acknowledged_at, resolved_at, closed_at, response_breached and
-- resolution_breached for MTTA / MTTR and SLA compliance.
CREATE TABLE incidents (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT, -- the number people type: /incident show 3
    title               TEXT    NOT NULL,
    severity            TEXT    NOT NULL,  -- critical | high | medium | low (current; changes are on the timeline)
    state               TEXT    NOT NULL,  -- open | acknowledged | resolved | closed
    stage               TEXT    NOT NULL,  -- detection | containment | investigation | recovery | lessons
    commander           TEXT,              -- [people] key or display name
    assignee            TEXT,              -- [people] key or display name
    repository          TEXT,              -- org/repo of the first linked alert, when opened from one
    grouping_key        TEXT,              -- later alerts with this key link here while the incident is active
    summary             TEXT,              -- the resolution summary
    opened_at           INTEGER NOT NULL,
    opened_by           TEXT    NOT NULL,  -- a person, or `sentinel` when opened from an alert
    acknowledged_at     INTEGER,           -- the first acknowledgement (kept across reopen: MTTA counts the first)
    acknowledged_by     TEXT,
    resolved_at         INTEGER,           -- the latest resolution; NULL while not resolved (reopen clears it)
    resolved_by         TEXT,
    closed_at           INTEGER,           -- NULL unless closed (reopen clears it)
    closed_by           TEXT,
    respond_by          INTEGER,           -- SLA deadlines from sla.planned, when known
    resolve_by          INTEGER,
    response_breached   INTEGER NOT NULL DEFAULT 0, -- 1 once sla.breached (kind response) arrived
    resolution_breached INTEGER NOT NULL DEFAULT 0, -- 1 once sla.breached (kind resolution) arrived
    updated_at          INTEGER NOT NULL
);
CREATE INDEX incidents_state ON incidents (state);
CREATE INDEX incidents_grouping ON incidents (grouping_key) WHERE state IN ('open', 'acknowledged');

-- Alerts linked to an incident, with their latest known state.
CREATE TABLE incident_alerts (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    alert_key   TEXT    NOT NULL,           -- the alert notifier's key
    source      TEXT    NOT NULL,           -- dependabot | code_scanning | secret_scanning | …
    repository  TEXT    NOT NULL,
    number      INTEGER,
    title       TEXT    NOT NULL,
    severity    TEXT    NOT NULL,
    state       TEXT    NOT NULL,           -- open | fixed | dismissed | resolved | …
    url         TEXT,
    linked_at   INTEGER NOT NULL,
    PRIMARY KEY (incident_id, alert_key)
);
CREATE INDEX incident_alerts_key ON incident_alerts (alert_key);

-- Each stage's checklist, copied from config when the incident first enters the stage (so later
-- config edits never renumber an incident's items), with who ticked each item and when.
CREATE TABLE incident_checks (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    stage       TEXT    NOT NULL,
    position    INTEGER NOT NULL,           -- 1-based within the stage
    item        TEXT    NOT NULL,
    checked_by  TEXT,
    checked_at  INTEGER,
    PRIMARY KEY (incident_id, stage, position)
);

-- Stage visits, for the time spent in each stage. `left_at` is NULL for the current stage while
-- the incident is not closed.
CREATE TABLE incident_stages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    stage       TEXT    NOT NULL,
    entered_at  INTEGER NOT NULL,
    left_at     INTEGER
);
CREATE INDEX incident_stages_incident ON incident_stages (incident_id, id);

-- Everything that happened to an incident, in order: actions, updates, stage changes, checklist
-- ticks, alert changes, SLA warnings, escalations and breaches.
CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,           -- a person, `github`, `sentinel` or `sla`
    kind        TEXT    NOT NULL,           -- declared | opened | acknowledged | assigned | commander | update | severity | stage | check | resolved | reopened | closed | escalate | alert_linked | alert_closed | alert_reopened | sla_planned | sla_warning | sla_ping | sla_breached | postmortem
    text        TEXT    NOT NULL
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id);
