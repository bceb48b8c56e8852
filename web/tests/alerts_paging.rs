//! `/web/alerts` lists the open alerts 100 a page: page 2 of 250 alerts holds the 101st to the
//! 200th most severe, with links both ways; the counts cover every page; a row's chat links show
//! on whichever page it is, and only the listed alerts' links are read; the repository filter
//! survives paging, percent-encoded however hostile; a page past the end is the last page, said
//! so, and a page that is not a number is refused with a message. The closed alerts of the last
//! 30 days are listed 100 at most, with how many there are in all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;

use sentinel_plugins::alert_notifier::view::Listing;
use sentinel_web::chat_links;
use support::alerts::{Seed, base, get, learned, main_of, posted, seed};
use support::{WebBot, sign_in};

/// The alerts' titles, zero-padded so no title is part of another.
fn title(n: usize) -> String {
    format!("Alert {n:03}")
}

fn key(n: usize) -> String {
    format!("alert:{n:03}")
}

/// 250 open alerts: 50 critical code-scanning ones (0–49), then 200 high Dependabot ones
/// (50–249), each older than the next, so the page order is 0, 1, 2, … 249. Alert 20 (page 1)
/// and alert 150 (page 2) were posted to Slack.
async fn seed_250(web: &WebBot) {
    for n in 0..250 {
        let (key, title) = (key(n), title(n));
        let (severity, source) = if n < 50 {
            ("critical", "code_scanning")
        } else {
            ("high", "dependabot")
        };
        let alert = Seed {
            key: &key,
            source,
            severity,
            title: &title,
            seen_ago: 1_000 - i64::try_from(n).unwrap(),
            ..base("unused")
        };
        seed(web, &alert, None).await;
    }
    learned(web, "slack", "C0INC", "https://acme.slack.com/archives/C0INC/p").await;
    posted(web, "slack", "C0INC", &key(20), "1700000000.000020").await;
    posted(web, "slack", "C0INC", &key(150), "1700000000.000150").await;
}

fn titles_in(main: &str) -> BTreeSet<usize> {
    (0..400).filter(|&n| main.contains(&title(n))).collect()
}

#[tokio::test]
async fn page_two_of_250_alerts_shows_its_slice_and_links_and_counts_them_all() {
    let mut web = WebBot::start("").await;
    seed_250(&web).await;
    let cookie = sign_in(&web.sign_in_link("alice").await).await;

    let first = main_of(&web, &cookie, "").await;
    assert_eq!(titles_in(&first), (0..100).collect(), "{first}");
    assert!(first.contains("<h2>Open alerts (250)</h2>"), "{first}");
    assert!(
        first.contains(
            r#"<span>alerts 1–100 of 250, page 1 of 3</span> <a href="/web/alerts?page=2" rel="next">Next</a></nav>"#
        ),
        "{first}"
    );
    assert!(!first.contains("Previous"), "{first}");
    assert!(
        first.contains("https://acme.slack.com/archives/C0INC/p1700000000000020"),
        "{first}"
    );
    assert!(!first.contains("p1700000000000150"), "{first}");

    let second = main_of(&web, &cookie, "?page=2").await;
    assert_eq!(titles_in(&second), (100..200).collect(), "{second}");
    for fragment in [
        // The counts are of every open alert, not of the page's.
        concat!(
            r#"<tbody><tr><td class="sev sev-critical">critical</td><td>code_scanning</td><td>50</td></tr>"#,
            r#"<tr><td class="sev sev-high">high</td><td>dependabot</td><td>200</td></tr></tbody>"#,
        ),
        "<h2>Open alerts (250)</h2>",
        concat!(
            r#"<span>alerts 101–200 of 250, page 2 of 3</span>"#,
            r#" <a href="/web/alerts?page=1" rel="prev">Previous</a> <a href="/web/alerts?page=3" rel="next">Next</a></nav>"#,
        ),
        // Alert 150's chat link, on page 2.
        concat!(
            r#"<td>Alert 150</td><td class="chat"><a href="https://acme.slack.com/archives/C0INC/p1700000000000150" "#,
            r#"rel="noopener noreferrer">Slack</a> </td>"#,
        ),
    ] {
        assert!(second.contains(fragment), "{fragment}\nnot in\n{second}");
    }
    assert_eq!(
        second.matches(r#"<nav class="pages""#).count(),
        2,
        "above and below the list"
    );
    assert!(!second.contains("p1700000000000020"), "{second}");

    let last = main_of(&web, &cookie, "?page=3").await;
    assert_eq!(titles_in(&last), (200..250).collect(), "{last}");
    assert!(
        last.contains(r#"<span>alerts 201–250 of 250, page 3 of 3</span> <a href="/web/alerts?page=2" rel="prev">Previous</a></nav>"#),
        "{last}"
    );
    web.stop().await;
}

#[tokio::test]
async fn only_the_listed_alerts_chat_links_are_read() {
    let web = WebBot::start("").await;
    seed_250(&web).await;
    let closed = Seed {
        state: "fixed",
        title: "Fixed an hour ago",
        closed_ago: Some(60),
        ..base("closed:1")
    };
    seed(&web, &closed, None).await;
    posted(&web, "slack", "C0INC", closed.key, "1700000000.000999").await;
    // A channel not learned yet, of an alert on page 1: page 2 does not even see it.
    posted(&web, "slack", "C0LATER", &key(30), "1700000000.000030").await;
    let listing = |offset| Listing {
        repository: None,
        limit: 100,
        offset,
        closed_since: sentinel_bot::harness::test_start() - chrono::Duration::days(30),
        closed_limit: 100,
    };
    let mut conn = web.bot().pool().acquire().await.unwrap();

    let (links, unlearned) = chat_links::for_alerts(&mut conn, &listing(100)).await.unwrap();
    let keys: BTreeSet<&str> = links.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from([key(150).as_str(), "closed:1"]));
    assert!(unlearned.is_empty(), "{unlearned:?}");

    let (links, unlearned) = chat_links::for_alerts(&mut conn, &listing(0)).await.unwrap();
    let keys: BTreeSet<&str> = links.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from([key(20).as_str(), "closed:1"]));
    assert_eq!(unlearned, vec![("slack".to_owned(), "C0LATER".to_owned())]);
    drop(conn);
    web.stop().await;
}

#[tokio::test]
async fn the_repository_filter_survives_paging_percent_encoded() {
    let mut web = WebBot::start("").await;
    let hostile = "evil/a&page=9 <b>\"#'%";
    for n in 0..150 {
        let (key, title) = (key(n), title(n));
        let alert = Seed {
            key: &key,
            repository: Some(hostile),
            title: &title,
            seen_ago: 1_000 - i64::try_from(n).unwrap(),
            ..base("unused")
        };
        seed(&web, &alert, None).await;
    }
    seed(&web, &base("elsewhere:1"), None).await;
    let cookie = sign_in(&web.sign_in_link("alice").await).await;
    let encoded = "evil%2Fa%26page%3D9+%3Cb%3E%22%23%27%25";

    let first = main_of(&web, &cookie, &format!("?repo={encoded}")).await;
    assert_eq!(titles_in(&first), (0..100).collect(), "{first}");
    assert!(first.contains("<h2>Open alerts (150)</h2>"), "{first}");
    // Percent-encoded as a query value, then escaped for HTML (`&` between the parameters too).
    let next = format!(r#"<a href="/web/alerts?repo={encoded}&#38;page=2" rel="next">Next</a>"#);
    assert!(first.contains(&next), "{next}\nnot in\n{first}");
    assert!(!first.contains("<b>"), "{first}");

    // Following the link as a browser would (its HTML escape undone) lands on page 2 of the same
    // repository.
    let href = format!("?repo={encoded}&page=2");
    let second = main_of(&web, &cookie, &href).await;
    assert_eq!(titles_in(&second), (100..150).collect(), "{second}");
    for fragment in [
        "<h1>Alerts in evil/a&#38;page=9 &#60;b&#62;&#34;#&#39;%</h1>",
        "<span>alerts 101–150 of 150, page 2 of 2</span>",
        &format!(r#"<a href="/web/alerts?repo={encoded}&#38;page=1" rel="prev">Previous</a>"#),
    ] {
        assert!(second.contains(fragment), "{fragment}\nnot in\n{second}");
    }
    assert!(!second.contains("An alert"), "the other repository's alert: {second}");
    web.stop().await;
}

#[tokio::test]
async fn a_page_past_the_end_is_the_last_and_a_page_that_is_no_number_is_refused() {
    let mut web = WebBot::start("").await;
    seed_250(&web).await;
    let cookie = sign_in(&web.sign_in_link("alice").await).await;

    let past = main_of(&web, &cookie, "?page=7").await;
    assert_eq!(titles_in(&past), (200..250).collect(), "{past}");
    for fragment in [
        r#"<p class="note">There is no page 7: there are 3 pages of open alerts, and this is the last.</p>"#,
        "<span>alerts 201–250 of 250, page 3 of 3</span>",
    ] {
        assert!(past.contains(fragment), "{fragment}\nnot in\n{past}");
    }

    for bad in ["0", "-1", "two", "1.5", "99999999999999999999999"] {
        let (status, body) = get(&web, &cookie, &format!("?page={bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("pages are numbered from 1"), "{bad}: {body}");
        assert!(!body.contains("Alert 000"), "{body}");
    }
    web.stop().await;
}

#[tokio::test]
async fn at_most_100_closed_alerts_are_listed_newest_first_with_their_count() {
    let mut web = WebBot::start("").await;
    for n in 0..120 {
        let (key, title) = (key(n), title(n));
        let alert = Seed {
            key: &key,
            state: "fixed",
            title: &title,
            seen_ago: 40 * 24 * 60,
            closed_ago: Some(i64::try_from(n).unwrap() + 1),
            ..base("unused")
        };
        seed(&web, &alert, None).await;
    }
    let cookie = sign_in(&web.sign_in_link("alice").await).await;
    let main = main_of(&web, &cookie, "").await;
    assert_eq!(titles_in(&main), (0..100).collect(), "newest first: {main}");
    assert!(
        main.contains(
            r#"<h2>Recently fixed or dismissed (30 days)</h2><p class="muted">The 100 most recent of 120.</p>"#
        ),
        "{main}"
    );
    assert!(main.find(&title(0)) < main.find(&title(99)), "{main}");
    assert!(
        !main.contains(r#"<nav class="pages""#),
        "one page of open alerts: {main}"
    );
    web.stop().await;
}
