-- Where a chat channel's messages open in a browser, learned once per channel by the web page
-- (owned by web/, the `sentinel-web` crate) so it links each alert to its chat message without
-- asking the platform while it renders. A message's address is `base_url` followed by its id in
-- the platform's link form (Slack: `p` is in the base and the ts follows without its dot;
-- Discord: the message id). Times are Unix milliseconds (UTC).
CREATE TABLE chat_links (
    platform   TEXT    NOT NULL,      -- slack | discord, as in message_refs
    channel    TEXT    NOT NULL,      -- the platform's channel id, as in message_refs
    base_url   TEXT    NOT NULL,      -- https://acme.slack.com/archives/C0123/p | https://discord.com/channels/{guild}/{channel}/
    learned_at BIGINT NOT NULL,
    PRIMARY KEY (platform, channel)
);
