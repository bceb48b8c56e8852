-- PostgreSQL twin of migrations/sqlite/0009_outbox_order.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines) and AUTOINCREMENT ids are identity columns.
-- Delivery order only where it matters, the most severe first, and attempts whose outcome is unknown.
--
-- `order_key` is now a chain: the messages of one key (a post and its edits), or the replies under one
-- parent, are delivered strictly in id order; an unkeyed message is a chain of its own. `depends_on`
-- names one more chain a row waits for: the parent's (a keyed reply), or a space's opening row (a
-- message to `space:<key>`). Among rows that may go, the highest `priority` (the message's severity)
-- goes first. `outcome_unknown` marks a row whose last attempt may have been carried out (the answer
-- was lost): the next attempt looks for it on the platform before posting again.
ALTER TABLE outbox ADD COLUMN depends_on TEXT;
ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN outcome_unknown BIGINT NOT NULL DEFAULT 0;

-- Pending rows written before this migration get the new chains (delivered rows keep theirs).
UPDATE outbox SET order_key = order_key || '|open' WHERE state = 'pending' AND op = 'space';
UPDATE outbox
SET order_key = platform || ':' || channel || '|' ||
        CASE WHEN op = 'post' THEN COALESCE(message_key, thread_key, '#' || idempotency_key)
             ELSE '#' || idempotency_key END,
    depends_on = CASE
        WHEN op = 'post' AND message_key IS NOT NULL AND thread_key IS NOT NULL
            THEN platform || ':' || channel || '|' || thread_key
        WHEN channel LIKE 'space:%' THEN platform || ':' || channel || '|open'
        END
WHERE state = 'pending' AND op != 'space';

CREATE INDEX outbox_depends ON outbox (depends_on, id) WHERE state = 'pending';
