//! Access rules over plain HTTP: nothing without a session, a link works once and only before it
//! expires, a GET never uses a link up, the cookie's attributes, the security headers, rights
//! that follow the person's incident role, and the security log of every sign-in and refusal.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use support::WebBot;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through `link` and returns the `Cookie` header value of the session.
async fn sign_in(link: &str) -> String {
    let response = client().post(link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/web");
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

async fn get(web: &WebBot, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}{path}", web.base));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn without_a_session_every_page_and_chart_redirects_and_shows_no_data() {
    let mut web = WebBot::start("").await;
    web.command_as("alice", "/incident declare critical Leaked deploy key")
        .await;
    for path in [
        "/web",
        "/web/alerts",
        "/web/audits",
        "/web/incidents/1",
        "/web/reports/2026-03",
        "/web/reports/2026-03/open.svg",
    ] {
        let response = get(&web, path, None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[LOCATION], "/web/welcome", "{path}");
        assert!(!response.text().await.unwrap().contains("Leaked"), "{path}");
        // A made-up session is no better.
        let forged = format!("sentinel_session={}", "ab".repeat(32));
        let response = get(&web, path, Some(&forged)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path} with a forged cookie");
    }
    web.stop().await;
}

#[tokio::test]
async fn a_link_works_once_and_a_get_does_not_use_it_up() {
    let mut web = WebBot::start("").await;
    let link = web.sign_in_link("alice").await;
    // Previewers and unfurlers GET the link: that must leave it usable.
    for _ in 0..2 {
        let response = client().get(&link).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.text().await.unwrap().contains("Sign in"));
    }
    let cookie = sign_in(&link).await;
    let now = get(&web, "/web", Some(&cookie)).await;
    assert_eq!(now.status(), StatusCode::OK);
    assert!(now.text().await.unwrap().contains("alice (responder)"));
    let again = client().post(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert!(again.headers().get(SET_COOKIE).is_none());
    assert!(again.text().await.unwrap().contains("used already"));
    let signed_in = web.security_log("web_sign_in").await;
    assert_eq!(signed_in.len(), 1, "{signed_in:?}");
    assert_eq!(signed_in[0].0, "console");
    assert!(
        signed_in[0].1.contains("alice") && signed_in[0].1.contains("responder"),
        "{signed_in:?}"
    );
    let refused = web.security_log("web_link_refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].1.contains("alice") && refused[0].1.contains("already used"),
        "{refused:?}"
    );
    assert!(
        !refused[0].1.contains(link.split("token=").nth(1).unwrap()),
        "never the token"
    );
    web.stop().await;
}

#[tokio::test]
async fn an_expired_or_made_up_link_is_refused_and_logged() {
    let mut web = WebBot::start("").await;
    let link = web.sign_in_link("bob").await;
    web.advance(chrono::Duration::minutes(11)).await;
    let response = client().post(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("expired"));
    let made_up = format!("{}/web/signin?token={}", web.base, "0".repeat(64));
    assert_eq!(
        client().post(&made_up).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let garbage = format!("{}/web/signin?token=<script>", web.base);
    assert_eq!(
        client().post(&garbage).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let refused = web.security_log("web_link_refused").await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(
        refused[0].1.contains("bob") && refused[0].1.contains("expired"),
        "{refused:?}"
    );
    assert!(web.security_log("web_sign_in").await.is_empty());
    web.stop().await;
}

#[tokio::test]
async fn a_session_expires_after_its_ttl() {
    let mut web = WebBot::start("").await;
    let link = web.sign_in_link("alice").await;
    let cookie = sign_in(&link).await;
    assert_eq!(get(&web, "/web", Some(&cookie)).await.status(), StatusCode::OK);
    web.advance(chrono::Duration::hours(12) + chrono::Duration::seconds(1))
        .await;
    assert_eq!(get(&web, "/web", Some(&cookie)).await.status(), StatusCode::SEE_OTHER);
    web.stop().await;
}

#[tokio::test]
async fn the_cookie_is_http_only_strict_scoped_and_secure_behind_tls() {
    let mut web = WebBot::start("").await;
    let link = web.sign_in_link("alice").await;
    let response = client().post(&link).send().await.unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/web", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http public_url: {cookie}");
    web.stop().await;

    // Behind TLS (public_url says https), the cookie is only ever sent over TLS.
    let mut tls = WebBot::start_with_public_url("https://sentinel.example.com").await;
    let link = tls.sign_in_link("alice").await;
    let response = client().post(&link).send().await.unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    tls.stop().await;
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let mut web = WebBot::start("").await;
    let link = web.sign_in_link("alice").await;
    let cookie = sign_in(&link).await;
    for (path, cookie) in [
        ("/web", Some(cookie.as_str())),
        ("/web/reports/2026-03/open.svg", Some(cookie.as_str())),
        ("/web/welcome", None),
        ("/web/assets/style.css", None),
    ] {
        let response = get(&web, path, cookie).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert_eq!(
            headers[CONTENT_SECURITY_POLICY],
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers[CACHE_CONTROL], "no-store", "{path}");
    }
    let svg = get(&web, "/web/reports/2026-03/open.svg", Some(&cookie)).await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let response = get(&web, &link.replacen(&web.base, "", 1), None).await;
    assert_eq!(
        response.headers()["referrer-policy"],
        "no-referrer",
        "the sign-in page leaks no token"
    );
    web.stop().await;
}

#[tokio::test]
async fn the_post_mortem_needs_the_role_the_chat_command_needs() {
    let mut web = WebBot::start("").await;
    web.command_as("alice", "/incident declare high Token in a public gist")
        .await;
    web.command_as("alice", "/incident postmortem 1").await;
    let alice = sign_in(&web.sign_in_link("alice").await).await;
    let bob = sign_in(&web.sign_in_link("bob").await).await;
    let as_alice = get(&web, "/web/incidents/1", Some(&alice)).await.text().await.unwrap();
    assert!(as_alice.contains("id=\"postmortem\""), "{as_alice}");
    let as_bob = get(&web, "/web/incidents/1", Some(&bob)).await.text().await.unwrap();
    assert!(
        as_bob.contains("Token in a public gist"),
        "anyone may read the incident and timeline"
    );
    assert!(!as_bob.contains("id=\"postmortem\""), "{as_bob}");
    assert!(as_bob.contains("needs the responder role"), "{as_bob}");
    web.stop().await;
}

#[tokio::test]
async fn what_people_wrote_is_escaped() {
    let mut web = WebBot::start("").await;
    web.command_as("alice", "/incident declare low <script>alert(1)</script> & <b>bold</b>")
        .await;
    let cookie = sign_in(&web.sign_in_link("alice").await).await;
    for path in ["/web", "/web/incidents/1"] {
        let body = get(&web, path, Some(&cookie)).await.text().await.unwrap();
        assert!(!body.contains("<script>alert(1)"), "{path}: {body}");
        let escaped = ["&lt;script&gt;alert(1)", "&#60;script&#62;alert(1)"];
        assert!(escaped.iter().any(|e| body.contains(e)), "{path}: {body}");
    }
    web.stop().await;
}

#[tokio::test]
async fn without_a_web_section_the_command_says_it_is_off() {
    let mut bot = sentinel_bot::harness::TestBot::start("", Vec::new).await.unwrap();
    let printed = bot.command("/sentinel web").await;
    assert!(
        printed.iter().any(|p| p.text.contains("web status page is off")),
        "{printed:?}"
    );
    bot.stop().await;
}

#[test]
fn the_documented_web_section_is_valid_when_uncommented() {
    let example = include_str!("../../config/sentinel.example.toml");
    let start = example.find("# [web]").expect("the example documents [web]");
    let section: String = example[start..]
        .lines()
        .take_while(|line| line.starts_with("# "))
        .map(|line| format!("{}\n", line.trim_start_matches("# ")))
        .collect();
    assert!(section.contains("public_url"), "{section}");
    let table = sentinel_bot::config::load::parse_table(&section, "example").unwrap();
    let config = sentinel_bot::config::load::from_table(table).unwrap();
    let web = config.web.as_ref().expect("[web] parsed");
    assert_eq!(web.link_ttl.std(), std::time::Duration::from_secs(600));
    assert_eq!(web.session_ttl.std(), std::time::Duration::from_secs(12 * 3600));
    assert!(web.is_https());
    assert!(sentinel_web::check(&config).is_empty());
}

#[test]
fn a_relative_public_url_is_a_config_error() {
    let table = sentinel_bot::config::load::parse_table("[web]\npublic_url = \"/status\"\n", "t").unwrap();
    let config = sentinel_bot::config::load::from_table(table).unwrap();
    let problems = sentinel_web::check(&config);
    assert_eq!(problems.len(), 1);
    assert!(problems[0].to_string().contains("web.public_url"), "{problems:?}");
}

#[tokio::test]
async fn the_chat_report_links_to_its_page() {
    let mut web = WebBot::start("").await;
    let printed = web.command_as("alice", "/audit report 2026-02").await;
    assert!(
        printed
            .iter()
            .any(|p| p.text.contains("http://sentinel.test/web/reports/2026-02")),
        "{printed:#?}"
    );
    web.stop().await;
}

#[tokio::test]
async fn the_audits_page_shows_what_each_automatic_check_found() {
    let mut web = WebBot::start("").await;
    // A sign-in is a security-log row, so the daily audit's security-log check finds it.
    let cookie = sign_in(&web.sign_in_link("alice").await).await;
    web.advance(chrono::Duration::minutes(1)).await;
    let printed = web.command_as("alice", "/audit run daily").await;
    assert!(printed.iter().any(|p| p.text.contains("Started")), "{printed:?}");
    let body = get(&web, "/web/audits", Some(&cookie)).await.text().await.unwrap();
    assert!(body.contains("What the check found"), "{body}");
    assert!(body.contains("security_log"), "the check is named: {body}");
    assert!(
        body.contains("1 security log entry since") && body.contains("web_sign_in ×1"),
        "its evidence, with the count: {body}"
    );
    assert!(body.contains("checked: needs a look"), "flagged, in words: {body}");
    assert!(
        body.contains("no authentication failures since"),
        "a check that passed says what it looked at: {body}"
    );
    assert!(
        body.contains("could not check: no repositories configured"),
        "and one that could not check says why: {body}"
    );
    web.stop().await;
}
