//! `/web` lists every open incident with its own checklist progress and its own next escalation
//! step (both read for all incidents at once, so each row must get its incident's figures).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use support::WebBot;

/// The `<tr>` of incident `id` in the incidents table.
fn row(page: &str, id: i64) -> &str {
    let anchor = format!(r#"<td><a href="/web/incidents/{id}">#{id}</a></td>"#);
    let start = page.find(&anchor).unwrap_or_else(|| panic!("no row for #{id}: {page}"));
    let end = page[start..].find("</tr>").unwrap();
    &page[start..start + end]
}

#[tokio::test]
async fn each_incident_row_shows_its_own_checklist_progress_and_next_escalation() {
    let mut web = WebBot::start("").await;
    web.command_as("alice", "/incident declare critical Leaked deploy key")
        .await;
    web.command_as("alice", "/incident declare critical Stale admin account")
        .await;
    web.command_as("alice", "/incident declare high Token in a public gist")
        .await;
    web.command_as("alice", "/incident check 2 1").await;
    web.command_as("alice", "/incident ack 3").await;

    let link = web.sign_in_link("alice").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.post(&link).send().await.unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let response = client
        .get(format!("{}/web", web.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();

    let (one, two, three) = (row(&page, 1), row(&page, 2), row(&page, 3));
    assert!(one.contains(r#"<td class="progress">0/"#), "{one}");
    assert!(two.contains(r#"<td class="progress">1/"#), "{two}");
    assert!(three.contains(r#"<td class="progress">0/"#), "{three}");
    // Unanswered incidents have a pending escalation ping; the acknowledged one has none.
    assert!(one.contains(" → "), "{one}");
    assert!(two.contains(" → "), "{two}");
    assert!(!three.contains(" → "), "{three}");
    web.stop().await;
}
