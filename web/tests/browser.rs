//! The status page in a real browser (headless Chromium): sign in through the link `/sentinel web`
//! sends, see an incident declared a moment earlier with its clocks, follow it to its timeline,
//! open the report and find its charts loaded; a used link is refused. Every page visited is
//! saved as `target/screenshots/*.png`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::WebBot;
use support::browser::{Browser, screenshot_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_follow_an_incident_to_its_timeline_and_see_the_report_charts() {
    let mut web = WebBot::start("").await;
    web.command_as("alice", "/incident declare high SQL injection in the login form")
        .await;
    web.advance(chrono::Duration::minutes(3)).await;
    // A daily audit, so the audits page (and its screenshot) shows what the automatic checks found.
    web.command_as("alice", "/audit run daily").await;
    let link = web.sign_in_link("alice").await;
    let mut browser = Browser::launch().await;

    // The link only shows a button: opening it uses nothing up.
    browser.goto(&link).await;
    assert!(browser.text().await.contains("Sign in"));
    browser.screenshot(&screenshot_path("signin")).await;
    browser.click("#signin").await;
    browser
        .wait_for("location.pathname === '/web' && document.readyState === 'complete'")
        .await;

    // Now: the incident, its severity, and its clocks counting down.
    let now = browser.text().await;
    assert!(now.contains("SQL injection in the login form"), "{now}");
    assert!(now.to_lowercase().contains("high"), "{now}");
    assert!(now.contains("Detection & Analysis"), "{now}");
    let clocks = browser
        .eval("Array.from(document.querySelectorAll('#incidents time.countdown')).map(t => t.textContent)")
        .await;
    let clocks: Vec<String> = serde_json::from_value(clocks).unwrap();
    assert_eq!(clocks.len(), 2, "respond-by and resolve-by: {clocks:?}");
    assert!(clocks.iter().all(|c| c.starts_with("in ")), "{clocks:?}");
    // The countdown script ran (the CSP allows it) and counts from the server's time, not the
    // browser's: the manual clock is months behind the real one, yet nothing reads "overdue".
    assert_eq!(browser.eval("document.body.dataset.clocks").await, "live");
    browser.screenshot(&screenshot_path("now")).await;

    // Follow the incident to its timeline.
    browser.click("#incidents a[href='/web/incidents/1']").await;
    browser
        .wait_for("location.pathname === '/web/incidents/1' && document.readyState === 'complete'")
        .await;
    let incident = browser.text().await;
    assert!(
        incident.contains("Incident #1 — SQL injection in the login form"),
        "{incident}"
    );
    assert!(incident.contains("Timeline"), "{incident}");
    assert!(
        incident.contains("alice"),
        "the timeline names who declared it: {incident}"
    );
    let entries = browser.eval("document.querySelectorAll('ul.timeline li').length").await;
    assert!(entries.as_u64().unwrap() >= 1, "{incident}");
    browser.screenshot(&screenshot_path("incident")).await;

    // The report: three charts, each an <img> that loaded under the page's CSP.
    browser.goto(&format!("{}/web/reports/2026-03", web.base)).await;
    browser
        .wait_for("Array.from(document.images).every(i => i.complete)")
        .await;
    let loaded = browser
        .eval("Array.from(document.images).filter(i => i.naturalWidth > 0).length")
        .await;
    assert_eq!(loaded.as_u64(), Some(3), "all three charts loaded");
    let report = browser.text().await;
    assert!(report.contains("Security report — March 2026"), "{report}");
    browser.screenshot(&screenshot_path("report")).await;

    // The SLA chart has a bar for the high incident (100% within SLA), the trends have lines.
    browser.goto(&format!("{}/web/reports/2026-03/sla.svg", web.base)).await;
    let svg = browser
        .eval("document.documentElement.outerHTML")
        .await
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(svg.contains("<svg"), "{svg}");
    assert!(svg.contains("d9480f"), "a bar in the high colour: {svg}");
    browser
        .goto(&format!("{}/web/reports/2026-03/times.svg", web.base))
        .await;
    let svg = browser.eval("document.documentElement.outerHTML").await;
    assert!(svg.as_str().unwrap().contains("<polyline"), "{svg}");

    // The other pages render for the same session.
    browser.goto(&format!("{}/web/alerts", web.base)).await;
    assert!(browser.text().await.contains("Alerts"));
    browser.screenshot(&screenshot_path("alerts")).await;
    browser.goto(&format!("{}/web/audits", web.base)).await;
    let audits = browser.text().await;
    assert!(audits.contains("What the check found"), "{audits}");
    assert!(audits.contains("security_log"), "{audits}");
    browser.screenshot(&screenshot_path("audits")).await;

    // The link was used: opening it again and pressing the button is refused.
    browser.goto(&link).await;
    browser.click("#signin").await;
    browser.wait_for("document.getElementById('problem') !== null").await;
    assert!(browser.text().await.contains("used already"));
    browser.screenshot(&screenshot_path("refused")).await;

    browser.close().await;
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_without_a_session_sees_no_data() {
    let mut web = WebBot::start("").await;
    web.command_as("alice", "/incident declare critical Leaked deploy key")
        .await;
    let mut browser = Browser::launch().await;
    for path in ["/web", "/web/incidents/1", "/web/alerts", "/web/reports/2026-03"] {
        browser.goto("about:blank").await;
        browser.navigate(&format!("{}{path}", web.base)).await;
        browser
            .wait_for("location.pathname === '/web/welcome' && document.readyState === 'complete'")
            .await;
        let text = browser.text().await;
        assert!(text.contains("/sentinel web"), "{path}: {text}");
        assert!(!text.contains("Leaked deploy key"), "{path}: {text}");
    }
    browser.screenshot(&screenshot_path("welcome")).await;
    browser.close().await;
    web.stop().await;
}
