-- PostgreSQL's migration of this version makes its big JSON columns compress with LZ4. SQLite stores
-- text uncompressed and has nothing to change; this file keeps the two engines' versions in step.
SELECT 1;
