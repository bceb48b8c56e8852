//! The GitHub tracking issue, against a fake GitHub API on 127.0.0.1 behind the core's real GitHub
//! worker: created with the incident, following every change, failures noted once.

use super::*;

const REPO: &str = "acme/security-incidents";
const ISSUES: &str = "/repos/acme/security-incidents/issues";
const ISSUE_7: &str = "/repos/acme/security-incidents/issues/7";
const ISSUE_7_URL: &str = "https://github.com/acme/security-incidents/issues/7";

/// People with GitHub logins (bob has none).
const PEOPLE_ON_GITHUB: &str = r#"
[people.alice]
github = "alice-gh"
[people.bob]
[people.carol]
github = "carol-gh"
"#;

fn reply(status: u16, body: Value) -> Reply {
    Reply::new(status, body)
}

/// The answer GitHub gives to a created issue 7.
fn created_7() -> Reply {
    reply(201, json!({ "number": 7, "html_url": ISSUE_7_URL, "state": "open" }))
}

/// The core's GitHub settings pointing at `fake`, plus `tracking`.
fn tracking_config(fake: &FakeGitHub, tracking: &str) -> String {
    format!(
        "{}[plugins.incident_commander.tracking_issue]\n{tracking}\n",
        support::github_section(fake)
    )
}

async fn start_tracking(fake: &FakeGitHub) -> TestBot {
    start_with(
        PEOPLE_ON_GITHUB,
        &tracking_config(fake, &format!("repository = \"{REPO}\"")),
    )
    .await
}

/// The keys of a request body, sorted.
fn keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn timeline_of(bot: &TestBot, id: i64, kind: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = $2 ORDER BY id")
        .bind(id)
        .bind(kind)
        .fetch_all(bot.bot().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_declared_incident_gets_a_tracking_issue_that_follows_every_change_and_the_post_mortem() {
    let fake = FakeGitHub::start().await.unwrap();
    fake.set(&format!("POST {ISSUES}"), vec![created_7()]);
    let mut bot = start_tracking(&fake).await;

    let out = bot
        .command_as("alice", "/incident declare high Leaked deploy token")
        .await;
    let posts = fake.bodies("POST", ISSUES);
    assert_eq!(posts.len(), 1, "{:#?}", fake.received());
    assert_eq!(posts[0]["title"], "[HIGH] Incident #1: Leaked deploy token");
    assert_eq!(posts[0]["labels"], json!(["security-incident", "severity:high"]));
    assert_eq!(posts[0]["assignees"], json!([]));
    assert_eq!(keys(&posts[0]), ["assignees", "body", "labels", "title"]);
    assert_eq!(
        posts[0]["body"],
        "Security incident #1, run in chat with Sentinel (`/incident show 1`). Sentinel keeps this \
         description, the state and the labels up to date; comments here are not read back.\n\
         \n\
         - **State:** open since 2026-03-02 09:00 UTC\n\
         - **Severity:** high\n\
         - **Commander:** —\n\
         - **Assignee:** —\n\
         - **Stage:** Detection & Analysis\n\
         - **Opened:** 2026-03-02 09:00 UTC by alice\n\
         \n\
         ### Linked alerts\n\
         - none\n\
         \n\
         <!-- sentinel:incident:1 -->\n"
    );
    // GitHub's answer puts the link on the message and the timeline; nothing changed meanwhile.
    let message = incident_message(&out, 1).unwrap();
    assert_eq!(
        field(&message, "Tracking issue"),
        format!("acme/security-incidents#7 — {ISSUE_7_URL}")
    );
    assert_eq!(
        timeline_of(&bot, 1, "tracking_issue").await,
        [format!(
            "created the tracking issue acme/security-incidents#7: {ISSUE_7_URL}"
        )]
    );
    assert!(fake.bodies("PATCH", ISSUE_7).is_empty());

    // People with a GitHub login become assignees; only what changed is sent.
    bot.command_as("alice", "/incident commander 1 alice").await;
    bot.command_as("alice", "/incident assign 1 bob").await;
    let patches = fake.bodies("PATCH", ISSUE_7);
    assert_eq!(patches.len(), 2, "{patches:#?}");
    assert_eq!(keys(&patches[0]), ["assignees", "body"]);
    assert_eq!(patches[0]["assignees"], json!(["alice-gh"]));
    let body = patches[0]["body"].as_str().unwrap();
    assert!(body.contains("- **Commander:** alice (@alice-gh)\n"), "{body}");
    // bob has no login: the body names him, the assignees stay.
    assert_eq!(keys(&patches[1]), ["body"]);
    assert!(patches[1]["body"].as_str().unwrap().contains("- **Assignee:** bob\n"));

    bot.advance(Duration::minutes(5)).await;
    bot.command_as("bob", "/incident ack 1").await;
    let ack = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&ack), ["body"]);
    assert!(
        ack["body"]
            .as_str()
            .unwrap()
            .contains("- **State:** acknowledged by bob at 2026-03-02 09:05 UTC\n")
    );

    // A severity change renames the issue and swaps the severity label.
    bot.command_as("alice", "/incident severity 1 critical").await;
    let severity = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&severity), ["body", "labels", "title"]);
    assert_eq!(severity["title"], "[CRITICAL] Incident #1: Leaked deploy token");
    assert_eq!(severity["labels"], json!(["security-incident", "severity:critical"]));

    // A checklist tick changes nothing the issue shows: no request.
    let before = fake.received().len();
    bot.command_as("bob", "/incident check 1 1").await;
    assert_eq!(fake.received().len(), before);

    bot.command_as("alice", "/incident stage 1 containment").await;
    let stage = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert!(
        stage["body"]
            .as_str()
            .unwrap()
            .contains("- **Stage:** Containment & Mitigation\n")
    );

    // Resolve closes the issue as completed, reopen opens it, close keeps it closed.
    bot.advance(Duration::minutes(30)).await;
    bot.command_as("alice", "/incident resolve 1 Revoked the token").await;
    let resolved = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&resolved), ["body", "state", "state_reason"]);
    assert_eq!(resolved["state"], "closed");
    assert_eq!(resolved["state_reason"], "completed");
    assert!(
        resolved["body"]
            .as_str()
            .unwrap()
            .contains("- **Summary:** Revoked the token\n")
    );
    bot.command_as("alice", "/incident reopen 1").await;
    let reopened = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&reopened), ["body", "state"]);
    assert_eq!(reopened["state"], "open");
    bot.command_as("alice", "/incident resolve 1").await;
    bot.command_as("alice", "/incident close 1").await;
    let closed = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&closed), ["body"]);
    assert!(
        closed["body"]
            .as_str()
            .unwrap()
            .contains("- **State:** closed by alice at 2026-03-02 09:35 UTC\n")
    );

    // The post-mortem goes to the channel and, as a comment, to the issue.
    let out = bot.command_as("alice", "/incident postmortem 1").await;
    assert_eq!(
        answer(&out),
        "Posted the post-mortem of incident #1 to #security-incidents and to the tracking issue \
         acme/security-incidents#7."
    );
    let comments = fake.bodies("POST", &format!("{ISSUE_7}/comments"));
    assert_eq!(comments.len(), 1);
    let comment = comments[0]["body"].as_str().unwrap();
    assert!(
        comment.starts_with("# Post-mortem: incident #1 — Leaked deploy token\n\n## Summary\nRevoked the token"),
        "{comment}"
    );
    assert_eq!(
        timeline_of(&bot, 1, "tracking_issue").await.last().unwrap(),
        "posted the post-mortem to the tracking issue acme/security-incidents#7"
    );

    // One issue, ever; no failure.
    assert_eq!(fake.bodies("POST", ISSUES).len(), 1);
    assert!(timeline_of(&bot, 1, "tracking_failed").await.is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn changes_made_before_github_answers_the_create_are_sent_once_the_issue_number_arrives() {
    let fake = FakeGitHub::start().await.unwrap();
    // The first attempt fails with a server error; the core's worker tries again a second later.
    fake.set(
        &format!("POST {ISSUES}"),
        vec![reply(502, json!({ "message": "Bad Gateway" })), created_7()],
    );
    let mut bot = start_tracking(&fake).await;

    bot.command_as("alice", "/incident declare medium Suspicious webhook deliveries")
        .await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 1);
    // While the create is unanswered nothing else is sent, and nothing is lost.
    bot.command_as("alice", "/incident commander 1 carol").await;
    bot.command_as("alice", "/incident resolve 1 Deliveries were from a test hook")
        .await;
    let out = bot.command_as("alice", "/incident postmortem 1").await;
    assert_eq!(
        answer(&out),
        "Posted the post-mortem of incident #1 to #security-incidents; the tracking issue in \
         acme/security-incidents gets it once GitHub has created it."
    );
    assert_eq!(fake.received().len(), 1, "{:#?}", fake.received());

    let out = bot.advance(Duration::seconds(2)).await;
    let posts = fake.bodies("POST", ISSUES);
    assert_eq!(posts.len(), 2, "the same create, retried");
    assert_eq!(posts[0], posts[1]);
    // The create was made with the incident as it was then; the difference follows it.
    assert_eq!(posts[0]["assignees"], json!([]));
    let patches = fake.bodies("PATCH", ISSUE_7);
    assert_eq!(patches.len(), 1, "{:#?}", fake.received());
    assert_eq!(keys(&patches[0]), ["assignees", "body", "state", "state_reason"]);
    assert_eq!(patches[0]["state"], "closed");
    assert_eq!(patches[0]["assignees"], json!(["carol-gh"]));
    let comments = fake.bodies("POST", &format!("{ISSUE_7}/comments"));
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("# Post-mortem: incident #1 — Suspicious webhook deliveries")
    );
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Tracking issue"),
        format!("acme/security-incidents#7 — {ISSUE_7_URL}")
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_refused_create_is_noted_once_and_tried_again_with_the_next_change() {
    let fake = FakeGitHub::start().await.unwrap();
    fake.set(
        &format!("POST {ISSUES}"),
        vec![
            reply(422, json!({ "message": "Validation Failed" })),
            reply(422, json!({ "message": "Validation Failed" })),
            created_7(),
        ],
    );
    let mut bot = start_tracking(&fake).await;

    let out = bot
        .command_as("alice", "/incident declare high Leaked deploy token")
        .await;
    assert_eq!(
        fake.bodies("POST", ISSUES).len(),
        1,
        "a refusal is not retried by the worker"
    );
    assert_eq!(
        notes(&out, 1),
        [
            "⚠️ Incident #1: Could not create the tracking issue in acme/security-incidents: GitHub answered 422 \
          Unprocessable Entity: Validation Failed. The incident goes on here. Sentinel tries again with the \
          incident's next change."
        ]
    );
    assert!(incident_message(&out, 1).is_some());

    // The next change tries again; the same failure is not announced twice.
    let out = bot.command_as("bob", "/incident ack 1").await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 2);
    assert_eq!(notes(&out, 1), ["✅ bob acknowledged incident #1."]);
    assert_eq!(state_of(&bot, 1).await, "acknowledged");
    assert_eq!(timeline_of(&bot, 1, "tracking_failed").await.len(), 2);

    // The third attempt works: one issue, created with the incident as it is now.
    let out = bot.command_as("alice", "/incident update 1 Token revoked").await;
    let posts = fake.bodies("POST", ISSUES);
    assert_eq!(posts.len(), 3);
    assert!(
        posts[2]["body"]
            .as_str()
            .unwrap()
            .contains("- **State:** acknowledged by bob at 2026-03-02 09:00 UTC\n")
    );
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Tracking issue"),
        format!("acme/security-incidents#7 — {ISSUE_7_URL}")
    );
    bot.command_as("alice", "/incident severity 1 low").await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 3, "no duplicate issue");
    assert_eq!(fake.bodies("PATCH", ISSUE_7).len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_create_that_failed_on_the_server_is_not_repeated_and_failed_updates_are_noted_once() {
    let fake = FakeGitHub::start().await.unwrap();
    fake.set(
        &format!("POST {ISSUES}"),
        vec![reply(500, json!({ "message": "Internal Server Error" }))],
    );
    let mut bot = start_tracking(&fake).await;

    bot.command_as("alice", "/incident declare critical Signing key exposed")
        .await;
    // The worker retries once (max_attempts = 2), then gives up.
    let out = bot.advance(Duration::seconds(2)).await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 2);
    assert_eq!(
        notes(&out, 1),
        [
            "⚠️ Incident #1: Could not create the tracking issue in acme/security-incidents: gave up after 2 attempts: \
          GitHub answered 500 Internal Server Error: Internal Server Error. The incident goes on here. Sentinel \
          will not try again, since GitHub may have created it anyway: check the repository."
        ]
    );
    // GitHub may hold an issue already: later changes never create a second one.
    bot.command_as("bob", "/incident ack 1").await;
    bot.command_as("alice", "/incident resolve 1").await;
    bot.advance(Duration::seconds(5)).await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 2);
    assert_eq!(state_of(&bot, 1).await, "resolved");
    assert_eq!(
        timeline_of(&bot, 1, "tracking_failed").await,
        [
            "Could not create the tracking issue in acme/security-incidents: gave up after 2 attempts: GitHub \
          answered 500 Internal Server Error: Internal Server Error"
        ]
    );

    // A second incident's issue is created; its updates fail, are noted once, and the update after
    // a failure sends every field.
    fake.set(
        &format!("POST {ISSUES}"),
        vec![reply(
            201,
            json!({ "number": 8, "html_url": "https://github.com/acme/security-incidents/issues/8" }),
        )],
    );
    let issue_8 = "/repos/acme/security-incidents/issues/8";
    fake.set(
        &format!("PATCH {issue_8}"),
        vec![reply(404, json!({ "message": "Not Found" }))],
    );
    bot.command_as("alice", "/incident declare high Second incident").await;
    let out = bot.command_as("bob", "/incident ack 2").await;
    assert_eq!(
        notes(&out, 2),
        [
            "✅ bob acknowledged incident #2.",
            "⚠️ Incident #2: Could not update the tracking issue acme/security-incidents#8: GitHub answered 404 \
             Not Found: Not Found. The incident goes on here. Sentinel sends the whole issue again with the \
             incident's next change."
        ]
    );
    let out = bot.command_as("alice", "/incident assign 2 carol").await;
    assert_eq!(notes(&out, 2), ["👤 alice assigned incident #2 to carol."]);
    let patches = fake.bodies("PATCH", issue_8);
    assert_eq!(patches.len(), 2);
    assert_eq!(keys(&patches[0]), ["body"]);
    assert_eq!(keys(&patches[1]), ["assignees", "body", "labels", "state", "title"]);
    assert_eq!(timeline_of(&bot, 2, "tracking_failed").await.len(), 2);

    // Once GitHub accepts again, a later failure is announced again.
    fake.set(
        &format!("PATCH {issue_8}"),
        vec![reply(200, json!({})), reply(500, json!({ "message": "boom" }))],
    );
    let out = bot.command_as("alice", "/incident commander 2 alice").await;
    assert!(notes(&out, 2).iter().all(|n| !n.starts_with("⚠️")), "{out:#?}");
    bot.command_as("alice", "/incident severity 2 critical").await;
    let out = bot.advance(Duration::seconds(2)).await;
    assert_eq!(notes(&out, 2).len(), 1, "{out:#?}");
    assert!(notes(&out, 2)[0].starts_with("⚠️ Incident #2: Could not update the tracking issue"));
    assert_eq!(state_of(&bot, 2).await, "acknowledged");
    bot.stop().await;
}

#[tokio::test]
async fn without_a_tracking_repository_no_github_request_is_made() {
    let fake = FakeGitHub::start().await.unwrap();
    let mut bot = start_with(PEOPLE_ON_GITHUB, &tracking_config(&fake, "labels = [\"incident\"]")).await;
    let out = bot.command_as("alice", "/incident declare high Token leak").await;
    let message = incident_message(&out, 1).unwrap();
    assert!(
        message.fields.iter().all(|f| f.name != "Tracking issue"),
        "{message:#?}"
    );
    bot.command_as("alice", "/incident commander 1 alice").await;
    bot.command_as("bob", "/incident ack 1").await;
    bot.command_as("alice", "/incident resolve 1 Fixed").await;
    let out = bot.command_as("alice", "/incident postmortem 1").await;
    assert_eq!(
        answer(&out),
        "Posted the post-mortem of incident #1 to #security-incidents."
    );
    bot.advance(Duration::minutes(1)).await;
    assert!(fake.received().is_empty(), "{:#?}", fake.received());
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incident_tracking").await, 0);
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM github_requests").await, 0);
    bot.stop().await;
}

#[tokio::test]
async fn a_tracking_repository_must_be_org_slash_repo() {
    for bad in [
        "security-incidents",
        "acme/",
        "acme/sec/incidents",
        "acme/sec incidents",
    ] {
        let text = format!("{PEOPLE}[plugins.incident_commander.tracking_issue]\nrepository = \"{bad}\"\n");
        let config = support::config(&text);
        let errors = IncidentConfig::from_config(&config, IncidentCommander::NAME).unwrap_err();
        assert_eq!(errors.len(), 1, "{bad}");
        assert_eq!(errors[0].key, "plugins.incident_commander.tracking_issue.repository");
        assert_eq!(
            errors[0].message,
            format!("`{bad}` is not a repository: expected `org/repo`, e.g. \"acme/security-incidents\"")
        );
    }
    let text = format!("{PEOPLE}[plugins.incident_commander.tracking_issue]\nrepository = \"acme/sec.incidents_1\"\n");
    let config = support::config(&text);
    let section = IncidentConfig::from_config(&config, IncidentCommander::NAME).unwrap();
    assert_eq!(section.tracking_issue.repository(), Some("acme/sec.incidents_1"));
}

/// GitHub created the issue but the answer was lost (a 502 here): before creating again, the
/// worker lists the repository's newest issues and finds this incident's by the marker its body
/// ends with. One issue, and the incident tracks it.
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_by_its_marker_and_not_created_twice() {
    let (fake, out) = lose_the_create_answer(json!([
        { "number": 8, "body": "someone else's", "created_at": "2026-03-02T09:00:01Z" },
        { "number": 7, "html_url": ISSUE_7_URL, "state": "open", "created_at": "2026-03-02T09:00:00Z",
          "body": "Security incident #1 …\n<!-- sentinel:incident:1 -->\n" },
    ]))
    .await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 1, "{:#?}", fake.received());
    let listing = fake.received().into_iter().find(|r| r.method == "GET").unwrap();
    assert_eq!(
        listing.target,
        format!("{ISSUES}?state=all&sort=created&direction=desc&per_page=100")
    );
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Tracking issue"),
        format!("acme/security-incidents#7 — {ISSUE_7_URL}")
    );
}

/// Declares incident 1 with GitHub answering its create 502 (then 201, issue 7) and `listing` as
/// the repository's newest issues; two seconds on (the worker's retry). The fake and what chat
/// got meanwhile.
async fn lose_the_create_answer(listing: Value) -> (FakeGitHub, Vec<Printed>) {
    let fake = FakeGitHub::start().await.unwrap();
    fake.set(
        &format!("POST {ISSUES}"),
        vec![reply(502, json!({ "message": "Bad Gateway" })), created_7()],
    );
    fake.set(&format!("GET {ISSUES}"), vec![reply(200, listing)]);
    let mut bot = start_tracking(&fake).await;
    bot.command_as("alice", "/incident declare high Leaked deploy token")
        .await;
    let out = bot.advance(Duration::seconds(2)).await;
    bot.stop().await;
    (fake, out)
}

/// An older issue with the same marker (another deployment's, or from before a reinstall, when
/// incident numbers started again) is not taken for this incident's: the create is sent again.
#[tokio::test]
async fn an_older_issue_with_the_same_marker_is_not_taken_for_the_lost_create() {
    let (fake, out) = lose_the_create_answer(json!([
        { "number": 3, "created_at": "2025-06-01T12:00:00Z", "body": "<!-- sentinel:incident:1 -->" }
    ]))
    .await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 2, "{:#?}", fake.received());
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Tracking issue"),
        format!("acme/security-incidents#7 — {ISSUE_7_URL}")
    );
}
