//! The report page's period links: the previous period always, the next one only once it has
//! begun (a link into the future would open an empty report).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use support::WebBot;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(web: &WebBot, path: &str, cookie: &str) -> String {
    let response = client()
        .get(format!("{}{path}", web.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// Signs `user` in and returns the session's `Cookie` header value.
async fn sign_in(web: &mut WebBot, user: &str) -> String {
    let link = web.sign_in_link(user).await;
    let response = client().post(&link).send().await.unwrap();
    assert_eq!(response.headers()[LOCATION], "/web");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_report_links_to_the_next_period_only_once_it_has_begun() {
    // The test clock stands at 2 March 2026.
    let mut web = WebBot::start("").await;
    let cookie = sign_in(&mut web, "alice").await;

    let march = page(&web, "/web/reports/2026-03", &cookie).await;
    assert!(march.contains(r#"href="/web/reports/2026-02""#), "{march}");
    assert!(!march.contains(r#"href="/web/reports/2026-04""#), "{march}");

    let february = page(&web, "/web/reports/2026-02", &cookie).await;
    assert!(february.contains(r#"href="/web/reports/2026-03""#), "{february}");

    let quarter = page(&web, "/web/reports/2026-Q1", &cookie).await;
    assert!(!quarter.contains(r#"href="/web/reports/2026-Q2""#), "{quarter}");

    // Once April has begun, March's report links to it (a new session: the first one expired).
    web.advance(chrono::Duration::days(31)).await;
    let cookie = sign_in(&mut web, "alice").await;
    let march = page(&web, "/web/reports/2026-03", &cookie).await;
    assert!(march.contains(r#"href="/web/reports/2026-04""#), "{march}");
    web.stop().await;
}
