-- Alert notifier: GitHub security alerts and what happened to them. Times are Unix milliseconds (UTC).

-- One row per alert, keyed as the notifier keys it (`dependabot:org/app:20`, `security_advisory:GHSA-…`).
CREATE TABLE alerts (
    key           TEXT    PRIMARY KEY,
    source        TEXT    NOT NULL,             -- dependabot | code_scanning | secret_scanning | …
    repository    TEXT,                         -- owner/name; NULL for global advisories
    number        INTEGER,
    severity      TEXT    NOT NULL,             -- critical | high | medium | low
    state         TEXT    NOT NULL,             -- open | fixed | dismissed | resolved | withdrawn | failed
    title         TEXT    NOT NULL,
    data          TEXT    NOT NULL,             -- JSON Alert, as last seen
    -- JSON [{channel, mentions}]: where its message was posted, so later changes edit it there
    posted        TEXT    NOT NULL DEFAULT '[]',
    first_seen_at INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    closed_at     INTEGER                       -- set while the alert is closed
);

-- Every change posted about an alert. `dedup` is unique so the same change is never posted twice,
-- whatever number of times (and under whichever delivery ids) GitHub sends it.
CREATE TABLE alert_changes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_key TEXT    NOT NULL REFERENCES alerts (key) ON DELETE CASCADE,
    action    TEXT    NOT NULL,                 -- GitHub's action, or `acknowledged` / `incident_requested`
    state     TEXT    NOT NULL,                 -- the alert's state after the change
    actor     TEXT,
    note      TEXT    NOT NULL,                 -- the line posted in the alert's thread
    at        INTEGER NOT NULL,
    dedup     TEXT    NOT NULL UNIQUE
);
CREATE INDEX alert_changes_alert ON alert_changes (alert_key, id);
