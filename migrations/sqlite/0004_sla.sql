-- SLA escalator: each incident's deadlines and breaches, and silences. Times are Unix milliseconds (UTC).
-- Other plugins may read these tables (the audit scheduler counts breaches per month from
-- response_breached_at / resolution_breached_at); only the SLA escalator writes them.

-- One row per incident the SLA escalator has seen opened (incident.opened).
CREATE TABLE sla_incidents (
    incident_id            INTEGER PRIMARY KEY,        -- the incident commander's incident id
    title                  TEXT    NOT NULL,
    repository             TEXT,                       -- "org/repo" when the incident names one (silences match it)
    severity               TEXT    NOT NULL,           -- critical | high | medium | low, as currently planned
    policy                 TEXT    NOT NULL,           -- JSON snapshot of the policy in force for this incident
    generation             INTEGER NOT NULL,           -- bumped at each re-plan; timers of older plans are ignored
    state                  TEXT    NOT NULL,           -- open | resolved | closed
    started_at             INTEGER NOT NULL,           -- when the incident opened: start of both clocks
    acknowledged_at        INTEGER,                    -- first acknowledgement
    response_stopped_at    INTEGER,                    -- when the response clock stopped (ack, or a resolve/close before any ack)
    respond_by             INTEGER NOT NULL,           -- response deadline
    resolve_by             INTEGER NOT NULL,           -- resolution deadline (while resolved/closed: the one in force when it paused)
    response_breached_at   INTEGER,                    -- when a response breach was recorded (at most once)
    resolution_breached_at INTEGER,                    -- when a resolution breach was recorded (at most once)
    resolution_used_ms     INTEGER NOT NULL DEFAULT 0, -- resolution time used in earlier open periods (business ms for business-time policies)
    resolution_resumed_at  INTEGER,                    -- when the resolution clock last (re)started; NULL while resolved/closed
    level                  TEXT,                       -- the last level notified: team_lead | security_champion | repository_owner | emergency_contact
    updated_at             INTEGER NOT NULL
);
CREATE INDEX sla_incidents_open ON sla_incidents (state, incident_id);

-- `/sla silence`: pings for matching incidents are not posted until `until` (deadlines still are).
CREATE TABLE sla_silences (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern    TEXT    NOT NULL,                       -- "all" or a repository glob such as "acme/*"
    until      INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,                       -- [people] key or display name
    created_at INTEGER NOT NULL,
    lifted_at  INTEGER,                                -- `/sla unsilence`
    lifted_by  TEXT
);
CREATE INDEX sla_silences_until ON sla_silences (until);
