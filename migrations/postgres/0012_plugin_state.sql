-- PostgreSQL twin of migrations/sqlite/0012_plugin_state.sql: the same tables, columns, keys and indexes; every
-- integer and time is BIGINT (read as i64 on both engines) and AUTOINCREMENT ids are identity columns.
-- Per-plugin storage for small plugins that would rather not write a migration (`Cx::kv_get`,
-- `Cx::kv_set`, `Cx::kv_delete`): a few JSON values per plugin, keyed by the plugin's name and its
-- own key. Written inside the handler's transaction like everything else. Times are Unix
-- milliseconds (UTC). Owned by the core (bot/src/store/plugin_state.rs).
CREATE TABLE plugin_state (
    plugin     TEXT    NOT NULL,               -- the plugin's name (`Plugin::name`)
    key        TEXT    NOT NULL,               -- the plugin's own key
    value      TEXT    NOT NULL,               -- JSON
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (plugin, key)
);
