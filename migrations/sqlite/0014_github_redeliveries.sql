-- Webhook reconciliation (bot/src/github/reconcile.rs): the events whose failed webhook delivery
-- Sentinel asked GitHub to redeliver, so that a restart does not ask again. Times are Unix ms (UTC).
CREATE TABLE github_redeliveries (
    guid         TEXT    PRIMARY KEY,         -- the event's X-GitHub-Delivery, shared by its redeliveries
    hook         TEXT    NOT NULL,            -- the hook's API path, e.g. /repos/acme/app/hooks/123
    delivery_id  INTEGER NOT NULL,            -- the failed delivery the redelivery was asked for
    event        TEXT    NOT NULL,            -- its X-GitHub-Event
    asked_at     INTEGER NOT NULL,
    recovered_at INTEGER                      -- when a successful delivery of it was seen
);
