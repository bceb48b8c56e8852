//! `/web/alerts` shows exactly what it should, byte for byte: counts by severity and source, open
//! alerts most severe and then oldest first, each with its GitHub link (only `https://` ones) and
//! its chat links (only channels whose address is learned), recently closed alerts newest first,
//! and every text from outside escaped. The page is made fast for issue 16's benchmark; this test
//! pins what it shows so that no speed-up changes what a reader sees.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::alerts::{Seed, base, learned, main_of, posted, seed};
use support::{WebBot, sign_in};

#[tokio::test]
async fn the_alerts_page_shows_every_alert_as_before_escaped_and_in_order() {
    let mut web = WebBot::start("").await;
    let prototype = Seed {
        number: Some(7),
        severity: "critical",
        title: "Prototype <pollution> & \"quotes\" in 'lodash'",
        package: Some("lodash<1>"),
        url: Some("https://github.com/acme/app/security/dependabot/7?a=1&b=\"2\""),
        seen_ago: 120,
        ..base("dependabot:acme/app:7")
    };
    let scanning = Seed {
        source: "code_scanning",
        repository: Some("acme/web"),
        number: Some(3),
        title: "SQL injection",
        url: Some("javascript:alert(1)"),
        seen_ago: 60,
        ..base("code_scanning:acme/web:3")
    };
    let secret = Seed {
        source: "security_advisory",
        repository: None,
        severity: "critical",
        title: "Advisory without a repository",
        url: Some("https://github.com/advisories/GHSA-xxxx"),
        seen_ago: 180,
        ..base("security_advisory:GHSA-xxxx")
    };
    let unreadable = Seed {
        severity: "medium",
        title: "Stored data unreadable",
        seen_ago: 30,
        ..base("dependabot:acme/app:9")
    };
    let odd = Seed {
        severity: "informational",
        source: "secret_scanning",
        number: Some(12),
        title: "Odd severity",
        seen_ago: 10,
        ..base("secret_scanning:acme/app:12")
    };
    let fixed = Seed {
        severity: "low",
        state: "fixed",
        number: Some(2),
        title: "Fixed yesterday",
        package: Some("minimist"),
        url: Some("https://github.com/acme/app/security/dependabot/2"),
        seen_ago: 3 * 24 * 60,
        closed_ago: Some(24 * 60),
        ..base("dependabot:acme/app:2")
    };
    let dismissed = Seed {
        state: "dismissed",
        number: Some(1),
        title: "Dismissed an hour ago",
        seen_ago: 5 * 24 * 60,
        closed_ago: Some(60),
        ..base("dependabot:acme/app:1")
    };
    let long_ago = Seed {
        state: "fixed",
        title: "Fixed 40 days ago",
        seen_ago: 50 * 24 * 60,
        closed_ago: Some(40 * 24 * 60),
        ..base("dependabot:acme/app:0")
    };
    for alert in [&prototype, &scanning, &secret, &odd, &fixed, &dismissed, &long_ago] {
        seed(&web, alert, None).await;
    }
    seed(&web, &unreadable, Some("{not json")).await;
    learned(&web, "slack", "C0INC", "https://acme.slack.com/archives/C0INC/p").await;
    learned(
        &web,
        "discord",
        "100000000000000010",
        "https://discord.com/channels/400000000000000004/100000000000000010/",
    )
    .await;
    posted(&web, "slack", "C0INC", prototype.key, "1700000000.000100").await;
    posted(
        &web,
        "discord",
        "100000000000000010",
        prototype.key,
        "500000000000000002",
    )
    .await;
    posted(&web, "slack", "C0NOTLEARNED", scanning.key, "1700000000.000200").await;
    posted(&web, "slack", "C0INC", fixed.key, "1700000000.000300").await;
    posted(&web, "slack", "C0INC", secret.key, "17\"><script>.1").await;

    let cookie = sign_in(&web.sign_in_link("alice").await).await;
    let all = main_of(&web, &cookie, "").await;
    for fragment in [
        r#"<option value="acme/app" >acme/app</option><option value="acme/web" >acme/web</option>"#,
        // Counted by severity (most severe first, unknown ones last) and source.
        concat!(
            r#"<tbody><tr><td class="sev sev-critical">critical</td><td>dependabot</td><td>1</td></tr>"#,
            r#"<tr><td class="sev sev-critical">critical</td><td>security_advisory</td><td>1</td></tr>"#,
            r#"<tr><td class="sev sev-high">high</td><td>code_scanning</td><td>1</td></tr>"#,
            r#"<tr><td class="sev sev-medium">medium</td><td>dependabot</td><td>1</td></tr>"#,
            r#"<tr><td class="sev sev-informational">informational</td><td>secret_scanning</td><td>1</td></tr></tbody>"#,
        ),
        "<h2>Open alerts (5)</h2>",
        // Everything from outside escaped; the chat links in the platforms' order.
        concat!(
            r#"<tr><td class="sev sev-critical">critical</td><td>dependabot</td><td>acme/app</td>"#,
            r#"<td><a href="https://github.com/acme/app/security/dependabot/7?a=1&#38;b=&#34;2&#34;" rel="noreferrer noopener">"#,
            r#"Prototype &#60;pollution&#62; &#38; &#34;quotes&#34; in &#39;lodash&#39; #7 (lodash&#60;1&#62;)</a></td>"#,
            r#"<td class="chat"><a href="https://discord.com/channels/400000000000000004/100000000000000010/500000000000000002" rel="noopener noreferrer">Discord</a> "#,
            r#"<a href="https://acme.slack.com/archives/C0INC/p1700000000000100" rel="noopener noreferrer">Slack</a> </td>"#,
            r#"<td>2026-03-02 07:00 UTC</td></tr>"#,
        ),
        // No repository; a message id of another shape gives no chat link.
        concat!(
            r#"<tr><td class="sev sev-critical">critical</td><td>security_advisory</td><td>—</td>"#,
            r#"<td><a href="https://github.com/advisories/GHSA-xxxx" rel="noreferrer noopener">Advisory without a repository</a></td>"#,
            r#"<td class="chat"></td><td>2026-03-02 06:00 UTC</td></tr>"#,
        ),
        // Not an https:// address: no link; a channel not learned yet: no chat link.
        concat!(
            r#"<tr><td class="sev sev-high">high</td><td>code_scanning</td><td>acme/web</td>"#,
            r#"<td>SQL injection #3</td><td class="chat"></td><td>2026-03-02 08:00 UTC</td></tr>"#,
        ),
        concat!(
            r#"<tr><td class="sev sev-medium">medium</td><td>dependabot</td><td>acme/app</td>"#,
            r#"<td>Stored data unreadable</td><td class="chat"></td><td>2026-03-02 08:30 UTC</td></tr>"#,
        ),
        concat!(
            r#"<tr><td class="sev sev-informational">informational</td><td>secret_scanning</td><td>acme/app</td>"#,
            r#"<td>Odd severity #12</td><td class="chat"></td><td>2026-03-02 08:50 UTC</td></tr>"#,
        ),
        // Closed within 30 days, newest first, with their state.
        concat!(
            r#"<tr><td class="sev sev-high">high</td><td>dependabot</td><td>acme/app</td>"#,
            r#"<td>Dismissed an hour ago #1</td><td class="chat"></td><td>dismissed</td><td>2026-03-02 08:00 UTC</td></tr>"#,
            r#"<tr><td class="sev sev-low">low</td><td>dependabot</td><td>acme/app</td>"#,
            r#"<td><a href="https://github.com/acme/app/security/dependabot/2" rel="noreferrer noopener">Fixed yesterday #2 (minimist)</a></td>"#,
            r#"<td class="chat"><a href="https://acme.slack.com/archives/C0INC/p1700000000000300" rel="noopener noreferrer">Slack</a> </td>"#,
            r#"<td>fixed</td><td>2026-03-01 09:00 UTC</td></tr></tbody>"#,
        ),
    ] {
        assert!(all.contains(fragment), "{fragment}\nnot in\n{all}");
    }
    let order: Vec<usize> = [
        "Advisory without a repository",
        "Prototype &#60;",
        "SQL injection",
        "Stored data unreadable",
        "Odd severity",
        "Dismissed an hour ago",
        "Fixed yesterday",
    ]
    .iter()
    .map(|title| all.find(title).unwrap_or_else(|| panic!("{title} in {all}")))
    .collect();
    assert!(order.is_sorted(), "most severe, then oldest first: {order:?}\n{all}");
    assert!(!all.contains("Fixed 40 days ago"), "{all}");
    assert!(!all.contains("<script>"), "{all}");

    let narrowed = main_of(&web, &cookie, "?repo=acme/web").await;
    for fragment in [
        "<h1>Alerts in acme/web</h1>",
        r#"<option value="acme/app" >acme/app</option><option value="acme/web" selected>acme/web</option>"#,
        "<h2>Open alerts (1)</h2>",
        "SQL injection #3",
        r#"<h2>Recently fixed or dismissed (30 days)</h2><p class="empty">None.</p>"#,
    ] {
        assert!(narrowed.contains(fragment), "{fragment}\nnot in\n{narrowed}");
    }
    assert!(!narrowed.contains("Prototype"), "{narrowed}");
    web.stop().await;
}
