-- Per-plugin storage for small plugins that would rather not write a migration (`Cx::kv_get`,
-- `Cx::kv_set`, `Cx::kv_delete`): a few JSON values per plugin, keyed by the plugin's name and its
-- own key. Written inside the handler's transaction like everything else. Times are Unix
-- milliseconds (UTC). Owned by the core (bot/src/store/plugin_state.rs).
CREATE TABLE plugin_state (
    plugin     TEXT    NOT NULL,               -- the plugin's name (`Plugin::name`)
    key        TEXT    NOT NULL,               -- the plugin's own key
    value      TEXT    NOT NULL,               -- JSON
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (plugin, key)
);
