-- The delivery workers ask two questions of every pending row of their platform, many times a
-- second while messages wait: which rows may go now (`outbox::due`), and when the next one may
-- (`outbox::next_due`). The columns they read come after `message` in a row, so answering them from
-- the table read every waiting message — spilled to overflow pages when it is large — on every
-- question: ~10 ms a question with 4,000 messages waiting, most of the CPU an alert cost end to end
-- (issue 17, bench/docs/e2e.md). This index holds every column the two questions read (the rowid
-- is the id), so they are answered without touching the rows; only the few rows picked are read.
CREATE INDEX outbox_waiting ON outbox (platform, channel, priority, next_attempt_at, lease_until, order_key, depends_on, op, state)
    WHERE state = 'pending';

-- The same for the chains' question ("is an earlier row of this chain still pending?"), asked for
-- each of those rows: with `state` in it, `outbox_order` answers it alone too.
DROP INDEX outbox_order;
CREATE INDEX outbox_order ON outbox (order_key, id, state) WHERE state = 'pending';
