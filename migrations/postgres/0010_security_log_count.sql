-- PostgreSQL twin of migrations/sqlite/0010_security_log_count.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines) and AUTOINCREMENT ids are identity columns.
-- Repeated rejections from one client are summed into one row; `count` says how many it stands for.
ALTER TABLE security_log ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
