//! The post-mortem of a scripted incident.

use super::*;

#[tokio::test]
async fn the_post_mortem_of_a_scripted_incident() {
    let mut bot = start("").await;
    bot.command_as("alice", "/incident declare high Leaked deploy token")
        .await;
    bot.push(domain_event(
        1,
        "sla.planned",
        json!({ "incident_id": 1, "severity": "high", "respond_by": "2026-03-02T09:30:00Z", "resolve_by": "2026-03-02T10:30:00Z" }),
    ))
    .await;
    bot.advance(Duration::minutes(5)).await;
    bot.command_as("bob", "/incident ack 1").await;
    bot.command_as("alice", "/incident commander 1 alice").await;
    bot.command_as("alice", "/incident assign 1 bob").await;
    bot.advance(Duration::minutes(10)).await;
    bot.command_as("alice", "/incident stage 1 containment").await;
    bot.advance(Duration::minutes(5)).await;
    bot.command_as("bob", "/incident check 1 2").await;
    bot.advance(Duration::minutes(40)).await;
    bot.command_as("alice", "/incident stage 1 recovery").await;
    bot.advance(Duration::minutes(60)).await;
    bot.command_as(
        "alice",
        "/incident resolve 1 Revoked the token and rotated every credential",
    )
    .await;
    bot.advance(Duration::minutes(30)).await;
    bot.command_as("alice", "/incident stage 1 lessons").await;
    bot.command_as("alice", "/incident check 1 document").await;

    let out = bot.command_as("alice", "/incident postmortem 1").await;
    assert_eq!(
        answer(&out),
        "Posted the post-mortem of incident #1 to #security-incidents."
    );
    let posted: Vec<&Printed> = out.iter().filter(|p| p.channel == CHANNEL).collect();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].kind, PrintedKind::New);
    assert_eq!(
        posted[0].message.title.as_deref(),
        Some("Post-mortem: incident #1 — Leaked deploy token")
    );
    let body = posted[0].message.body.clone().unwrap();
    assert_eq!(
        body,
        "# Post-mortem: incident #1 — Leaked deploy token

## Summary
Revoked the token and rotated every credential

- Severity: high
- State: resolved
- Commander: alice
- Assignee: bob
- Opened: 2026-03-02 09:00 UTC by alice
- Acknowledged: 2026-03-02 09:05 UTC by bob — time to acknowledge: 5m
- Resolved: 2026-03-02 11:00 UTC by alice — time to resolve: 2h

## SLA
- Response: met (deadline 2026-03-02 09:30 UTC)
- Resolution: breached (late by 30m) (deadline 2026-03-02 10:30 UTC)

## Time in each stage
- Detection & Analysis: 15m
- Containment & Mitigation: 45m
- Recovery: 1h 30m
- Lessons Learned: 0s (current)

## Linked alerts
- none

## Checklists
- Detection & Analysis: 0/4 done
  - [ ] Identify the nature and scope of the incident
  - [ ] Preserve evidence and logs
  - [ ] Assess potential data exposure
  - [ ] Document initial findings
- Containment & Mitigation: 1/5 done
  - [ ] Stop the affected service
  - [x] Rotate GitHub tokens (bob, 2026-03-02 09:20 UTC)
  - [ ] Generate a new webhook secret
  - [ ] Back up the logs for analysis
  - [ ] Clear temporary files
- Recovery: 0/6 done
  - [ ] Patch vulnerabilities
  - [ ] Update configurations
  - [ ] Rotate all credentials
  - [ ] Restart services
  - [ ] Verify system integrity
  - [ ] Resume normal operations
- Lessons Learned: 1/5 done

## Timeline
- 2026-03-02 09:00 UTC · alice · declared a high incident: Leaked deploy token
- 2026-03-02 09:00 UTC · sla · SLA planned (high): respond by 2026-03-02 09:30 UTC, resolve by 2026-03-02 10:30 UTC
- 2026-03-02 09:05 UTC · bob · acknowledged
- 2026-03-02 09:05 UTC · alice · named alice commander
- 2026-03-02 09:05 UTC · alice · assigned to bob
- 2026-03-02 09:15 UTC · alice · stage Detection & Analysis → Containment & Mitigation
- 2026-03-02 09:20 UTC · bob · ticked Containment & Mitigation 2. Rotate GitHub tokens
- 2026-03-02 10:00 UTC · alice · stage Containment & Mitigation → Recovery
- 2026-03-02 11:00 UTC · alice · resolved: Revoked the token and rotated every credential
- 2026-03-02 11:30 UTC · alice · stage Recovery → Lessons Learned
- 2026-03-02 11:30 UTC · alice · ticked Lessons Learned 1. Document incident details

## Lessons learned
- [x] Document incident details (alice, 2026-03-02 11:30 UTC)
- [ ] Update security procedures
- [ ] Enhance monitoring
- [ ] Conduct team training
- [ ] Review and test response plan
- What went well:
- What should change:
"
    );
    bot.stop().await;
}
