-- The big JSON columns compress with LZ4 instead of PostgreSQL's default, pglz. A webhook payload is
-- ~10 KB, so every inbox row is compressed when it is stored (TOAST, above ~2 KB), and pglz took more
-- than half of the server's CPU time under a burst of distinct alerts (perf, bench/docs/cluster.md);
-- LZ4 compresses about as well for JSON at a fraction of the cost. Existing values are not rewritten;
-- new ones use LZ4. Needs PostgreSQL 14 or later built with LZ4 (Debian's, Ubuntu's and the managed
-- services' are); elsewhere the columns keep pglz and the migration only says so.
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN SELECT * FROM (VALUES
        ('inbox', 'payload'),
        ('outbox', 'message'),
        ('alerts', 'data'),
        ('plugin_state', 'value'),
        ('github_requests', 'body'),
        ('github_requests', 'partial')
    ) AS c(tab, name) LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET COMPRESSION lz4', col.tab, col.name);
    END LOOP;
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'LZ4 is not available on this server (it needs PostgreSQL 14+ built with LZ4): the JSON columns keep pglz';
END
$$;
