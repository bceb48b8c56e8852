-- Repeated rejections from one client are summed into one row; `count` says how many it stands for.
ALTER TABLE security_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
