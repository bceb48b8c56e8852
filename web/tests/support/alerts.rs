//! The alert notifier's rows as the alerts page tests seed them, and the page as they read it.

use super::WebBot;

/// A minute in the table's Unix milliseconds.
pub const MINUTE: i64 = 60_000;

/// One alert row as the alert notifier stores it (its normalized alert as `data`).
pub struct Seed<'a> {
    pub key: &'a str,
    pub source: &'a str,
    pub repository: Option<&'a str>,
    pub number: Option<i64>,
    pub severity: &'a str,
    pub state: &'a str,
    pub title: &'a str,
    pub package: Option<&'a str>,
    pub url: Option<&'a str>,
    /// Minutes before the test's start.
    pub seen_ago: i64,
    pub closed_ago: Option<i64>,
}

/// Writes `alert` into `alerts`; `data` replaces its stored JSON.
pub async fn seed(web: &WebBot, alert: &Seed<'_>, data: Option<&str>) {
    let now = sentinel_bot::harness::test_start().timestamp_millis();
    let json = serde_json::json!({
        "key": alert.key, "source": alert.source, "repository": alert.repository, "number": alert.number,
        "severity": alert.severity, "state": alert.state, "title": alert.title,
        "summary": "A few sentences of detail that the page does not show.",
        "package": alert.package, "ecosystem": "npm", "url": alert.url,
    });
    sqlx::query(
        "INSERT INTO alerts (key, source, repository, number, severity, state, title, data, first_seen_at, updated_at, closed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)",
    )
    .bind(alert.key)
    .bind(alert.source)
    .bind(alert.repository)
    .bind(alert.number)
    .bind(alert.severity)
    .bind(alert.state)
    .bind(alert.title)
    .bind(data.map_or_else(|| json.to_string(), str::to_owned))
    .bind(now - alert.seen_ago * MINUTE)
    .bind(alert.closed_ago.map(|ago| now - ago * MINUTE))
    .execute(web.bot().pool())
    .await
    .unwrap();
}

/// Records that `key`'s message was posted in `channel` as `id`.
pub async fn posted(web: &WebBot, platform: &str, channel: &str, key: &str, id: &str) {
    sqlx::query(
        "INSERT INTO message_refs (platform, channel, message_key, platform_message_id, updated_at)
         VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(platform)
    .bind(channel)
    .bind(key)
    .bind(id)
    .execute(web.bot().pool())
    .await
    .unwrap();
}

/// Records `channel`'s address as learned.
pub async fn learned(web: &WebBot, platform: &str, channel: &str, base: &str) {
    sqlx::query("INSERT INTO chat_links (platform, channel, base_url, learned_at) VALUES ($1, $2, $3, 0)")
        .bind(platform)
        .bind(channel)
        .bind(base)
        .execute(web.bot().pool())
        .await
        .unwrap();
}

/// `/web/alerts{query}`: its status and body.
pub async fn get(web: &WebBot, cookie: &str, query: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(format!("{}/web/alerts{query}", web.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The page's `<main>`, on one line.
pub async fn main_of(web: &WebBot, cookie: &str, query: &str) -> String {
    let (status, body) = get(web, cookie, query).await;
    assert_eq!(status, 200, "{query}: {body}");
    let start = body.find("<main>").unwrap();
    let end = body.find("</main>").unwrap();
    // Without the template's line breaks, so each row reads as one string.
    body[start..end + "</main>".len()].replace('\n', "")
}

/// An open high Dependabot alert in `acme/app`, seen at the test's start.
pub fn base(key: &'static str) -> Seed<'static> {
    Seed {
        key,
        source: "dependabot",
        repository: Some("acme/app"),
        number: None,
        severity: "high",
        state: "open",
        title: "An alert",
        package: None,
        url: None,
        seen_ago: 0,
        closed_ago: None,
    }
}
