-- PostgreSQL twin of migrations/sqlite/0004_sla.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines) and AUTOINCREMENT ids are identity columns.
-- SLA escalator: each incident's deadlines and breaches, and silences. Times are Unix milliseconds (UTC).
-- Other plugins may read these tables (the audit scheduler counts breaches per month from
-- response_breached_at / resolution_breached_at); only the SLA escalator writes them.

-- One row per incident the SLA escalator has seen opened (incident.opened).
CREATE TABLE sla_incidents (
    incident_id            BIGINT PRIMARY KEY,        -- the incident commander's incident id
    title                  TEXT    NOT NULL,
    repository             TEXT,                       -- "org/repo" when the incident names one (silences match it)
    severity               TEXT    NOT NULL,           -- critical | high | medium | low, as currently planned
    policy                 TEXT    NOT NULL,           -- JSON snapshot of the policy in force for this incident
    generation             BIGINT NOT NULL,           -- bumped at each re-plan; timers of older plans are ignored
    state                  TEXT    NOT NULL,           -- open | resolved | closed
    started_at             BIGINT NOT NULL,           -- when the incident opened: start of both clocks
    acknowledged_at        BIGINT,                    -- first acknowledgement
    response_stopped_at    BIGINT,                    -- when the response clock stopped (ack, or a resolve/close before any ack)
    respond_by             BIGINT NOT NULL,           -- response deadline
    resolve_by             BIGINT NOT NULL,           -- resolution deadline (while resolved/closed: the one in force when it paused)
    response_breached_at   BIGINT,                    -- when a response breach was recorded (at most once)
    resolution_breached_at BIGINT,                    -- when a resolution breach was recorded (at most once)
    resolution_used_ms     BIGINT NOT NULL DEFAULT 0, -- resolution time used in earlier open periods (business ms for business-time policies)
    resolution_resumed_at  BIGINT,                    -- when the resolution clock last (re)started; NULL while resolved/closed
    level                  TEXT,                       -- the last level notified: team_lead | security_champion | repository_owner | emergency_contact
    updated_at             BIGINT NOT NULL
);
CREATE INDEX sla_incidents_open ON sla_incidents (state, incident_id);

-- `/sla silence`: pings for matching incidents are not posted until `until` (deadlines still are).
CREATE TABLE sla_silences (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pattern    TEXT    NOT NULL,                       -- "all" or a repository glob such as "acme/*"
    until      BIGINT NOT NULL,
    reason     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,                       -- [people] key or display name
    created_at BIGINT NOT NULL,
    lifted_at  BIGINT,                                -- `/sla unsilence`
    lifted_by  TEXT
);
CREATE INDEX sla_silences_until ON sla_silences (until);
