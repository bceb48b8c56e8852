-- The delivery workers' two questions (`outbox::due`, `outbox::next_due`) read these columns of
-- every pending row of a platform, many times a second while messages wait. SQLite needs this index
-- to keep from reading every waiting message (see the SQLite migration of the same name); here
-- (messages are TOASTed out of line) it narrows the scan to the platform's pending rows.
CREATE INDEX outbox_waiting ON outbox (platform, channel, priority, next_attempt_at, lease_until, order_key, depends_on, op, state)
    WHERE state = 'pending';
