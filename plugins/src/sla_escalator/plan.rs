//! Planning: from an incident's snapshot and clocks, every timer it needs — the chain's pings and
//! reminders, the warnings and the two deadlines — each with a stable key under
//! `incident:{id}:respond:` or `incident:{id}:resolve:`, so that an acknowledgement cancels the
//! first group and a resolve both.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::policy::{Level, Snapshot};

/// The two clocks of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Time to acknowledge.
    Response,
    /// Time to resolve.
    Resolution,
}

impl Clock {
    /// The contract's `kind`: `response` or `resolution`.
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::Response => "response",
            Clock::Resolution => "resolution",
        }
    }
}

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum What {
    /// Notify a level: the first notification of a step (`repeat` 0) or one of its reminders.
    Ping {
        /// The step, from 1.
        step: u32,
        /// 0 for the step's first notification, then 1, 2, … for reminders.
        repeat: u32,
        /// How many reminders the step has in this plan.
        repeats: u32,
        /// Whom.
        level: Level,
    },
    /// Warn that a deadline is near.
    Warning {
        /// Which deadline.
        clock: Clock,
        /// How much of its time has passed, in percent.
        percent: u32,
    },
    /// The deadline passed.
    Breach {
        /// Which deadline.
        clock: Clock,
    },
}

/// A timer's payload: which incident, which plan, what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerPayload {
    /// The incident.
    pub incident: i64,
    /// The plan generation it belongs to; a timer of an older plan is ignored.
    pub generation: i64,
    /// What to do.
    #[serde(flatten)]
    pub what: What,
}

/// One timer of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The timer key.
    pub key: String,
    /// When it fires.
    pub at: DateTime<Utc>,
    /// What it does.
    pub what: What,
}

/// The resolution clock while it runs: resumed at an instant, with some time already used in
/// earlier open periods (before a resolve and reopen), in the policy's kind of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Running {
    /// When it last started.
    pub since: DateTime<Utc>,
    /// Time used before that.
    pub used: chrono::Duration,
}

/// An incident's clocks, as planning needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clocks {
    /// When the incident opened: the start of the response clock and of the chain.
    pub started_at: DateTime<Utc>,
    /// True until an acknowledgement (or a resolve) stops the response clock.
    pub response_running: bool,
    /// True once the response deadline was recorded as breached.
    pub response_breached: bool,
    /// The resolution clock, when it runs.
    pub resolution: Option<Running>,
    /// True once the resolution deadline was recorded as breached.
    pub resolution_breached: bool,
}

/// The response deadline.
pub fn respond_by(snapshot: &Snapshot, calendar: &BusinessCalendar, started_at: DateTime<Utc>) -> DateTime<Utc> {
    calendar.add(started_at, snapshot.policy.respond.span(calendar.day_length()))
}

/// The resolution deadline of a running resolution clock.
pub fn resolve_by(snapshot: &Snapshot, calendar: &BusinessCalendar, running: Running) -> DateTime<Utc> {
    let total = snapshot.policy.resolve.span(calendar.day_length());
    calendar.add(running.since, total.minus(running.used))
}

/// Every timer the incident needs now, soonest first.
pub fn plan(incident: i64, snapshot: &Snapshot, calendar: &BusinessCalendar, clocks: &Clocks) -> Vec<Planned> {
    let day = calendar.day_length();
    let policy = &snapshot.policy;
    let mut out = Vec::new();
    if clocks.response_running {
        let mut starts: Vec<(DateTime<Utc>, &super::policy::Step)> = policy
            .steps
            .iter()
            .map(|step| (calendar.add(clocks.started_at, step.after.span(day)), step))
            .collect();
        // Stable, so steps starting together keep their configured order.
        starts.sort_by_key(|(at, _)| *at);
        for (i, (first, step)) in starts.iter().enumerate() {
            let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let next_start = starts.get(i + 1).map(|(at, _)| *at);
            let mut times = vec![*first];
            if let Some(every) = step.repeat_every.filter(|every| !every.is_zero()) {
                let mut at = *first;
                for _ in 0..step.repeat {
                    at = calendar.add(at, every.span(day));
                    // The next step supersedes this one's reminders.
                    if next_start.is_some_and(|next| at >= next) {
                        break;
                    }
                    times.push(at);
                }
            }
            let repeats = u32::try_from(times.len() - 1).unwrap_or(0);
            for (repeat, at) in times.into_iter().enumerate() {
                let repeat = u32::try_from(repeat).unwrap_or(u32::MAX);
                out.push(Planned {
                    key: format!("incident:{incident}:respond:ping:{number}:{repeat}"),
                    at,
                    what: What::Ping {
                        step: number,
                        repeat,
                        repeats,
                        level: step.notify,
                    },
                });
            }
        }
        if !clocks.response_breached {
            let total = policy.respond.span(day);
            for fraction in &policy.warn_at {
                let percent = percent(*fraction);
                out.push(Planned {
                    key: format!("incident:{incident}:respond:warn:{percent}"),
                    at: calendar.add(clocks.started_at, total.scale(*fraction)),
                    what: What::Warning {
                        clock: Clock::Response,
                        percent,
                    },
                });
            }
            out.push(Planned {
                key: format!("incident:{incident}:respond:breach"),
                at: respond_by(snapshot, calendar, clocks.started_at),
                what: What::Breach { clock: Clock::Response },
            });
        }
    }
    if let Some(running) = clocks.resolution
        && !clocks.resolution_breached
    {
        let total = policy.resolve.span(day);
        for fraction in &policy.warn_at {
            let percent = percent(*fraction);
            let target = total.scale(*fraction).amount;
            // A warning whose moment passed in an earlier open period is not repeated.
            if target > running.used {
                let left = total.scale(*fraction).minus(running.used);
                out.push(Planned {
                    key: format!("incident:{incident}:resolve:warn:{percent}"),
                    at: calendar.add(running.since, left),
                    what: What::Warning {
                        clock: Clock::Resolution,
                        percent,
                    },
                });
            }
        }
        out.push(Planned {
            key: format!("incident:{incident}:resolve:breach"),
            at: resolve_by(snapshot, calendar, running),
            what: What::Breach {
                clock: Clock::Resolution,
            },
        });
    }
    out.sort_by_key(|p| p.at);
    out
}

fn percent(fraction: f64) -> u32 {
    // Validated to lie between 0 and 1.
    (fraction * 100.0).round().clamp(0.0, 100.0) as u32
}

/// Drops what a fresh plan should not do about its past: of the pings already due only the latest
/// is kept (one notification now rather than a burst, worded as the first of its step), and only
/// when `ping_past` (a new incident, or one whose severity rose); a warning already due is kept
/// only when its deadline is still ahead (the latest one per clock). Deadlines already past are
/// kept, so the breach is recorded. Whatever is kept from the past is due `now`, in plan order.
pub fn collapse(planned: Vec<Planned>, now: DateTime<Utc>, ping_past: bool) -> Vec<Planned> {
    let latest_past = |pred: &dyn Fn(&What) -> bool| {
        planned
            .iter()
            .filter(|p| p.at <= now && pred(&p.what))
            .map(|p| p.key.clone())
            .last()
    };
    let is_ping = |w: &What| matches!(w, What::Ping { .. });
    let warning_of = |clock: Clock| move |w: &What| matches!(w, What::Warning { clock: c, .. } if *c == clock);
    let deadline_ahead = |clock: Clock| planned.iter().any(|p| p.what == What::Breach { clock } && p.at > now);
    let keep_ping = if ping_past { latest_past(&is_ping) } else { None };
    let keep_response_warning = deadline_ahead(Clock::Response)
        .then(|| latest_past(&warning_of(Clock::Response)))
        .flatten();
    let keep_resolution_warning = deadline_ahead(Clock::Resolution)
        .then(|| latest_past(&warning_of(Clock::Resolution)))
        .flatten();
    let kept = [keep_ping, keep_response_warning, keep_resolution_warning];
    planned
        .into_iter()
        .filter(|p| p.at > now || matches!(p.what, What::Breach { .. }) || kept.contains(&Some(p.key.clone())))
        .map(|mut p| {
            if p.at <= now {
                p.at = now;
                if let What::Ping { repeat, .. } = &mut p.what {
                    *repeat = 0;
                }
            }
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla_escalator::config::BusinessHoursConfig;
    use crate::sla_escalator::policy::default_policy;
    use sentinel_bot::Severity;

    fn snapshot(severity: Severity) -> Snapshot {
        Snapshot {
            severity,
            policy: default_policy(severity),
            business_hours: BusinessHoursConfig::default(),
        }
    }

    fn start() -> DateTime<Utc> {
        sentinel_bot::harness::test_start()
    }

    fn open(started_at: DateTime<Utc>) -> Clocks {
        Clocks {
            started_at,
            response_running: true,
            response_breached: false,
            resolution: Some(Running {
                since: started_at,
                used: chrono::Duration::zero(),
            }),
            resolution_breached: false,
        }
    }

    fn offsets(planned: &[Planned]) -> Vec<(i64, String)> {
        planned
            .iter()
            .map(|p| {
                let key = p.key.trim_start_matches("incident:7:").to_owned();
                ((p.at - start()).num_minutes(), key)
            })
            .collect()
    }

    #[test]
    fn a_high_incident_plans_its_chain_warnings_and_deadlines() {
        let snap = snapshot(Severity::High);
        let cal = match snap.calendar() {
            Ok(cal) => cal,
            Err(err) => panic!("{err}"),
        };
        let planned = plan(7, &snap, &cal, &open(start()));
        let expected: Vec<(i64, String)> = [
            (0, "respond:ping:1:0"),
            (30, "respond:ping:1:1"),
            (60, "respond:ping:2:0"),
            (120, "respond:ping:2:1"),
            (180, "respond:ping:2:2"),
            (180, "respond:warn:75"),
            (240, "respond:breach"),
            (7 * 24 * 60 * 3 / 4, "resolve:warn:75"),
            (7 * 24 * 60, "resolve:breach"),
        ]
        .into_iter()
        .map(|(m, k)| (m, k.to_owned()))
        .collect();
        assert_eq!(offsets(&planned), expected);
    }

    #[test]
    fn reminders_stop_where_the_next_step_starts() {
        let mut snap = snapshot(Severity::High);
        snap.policy.steps[0].repeat = 5;
        let cal = match snap.calendar() {
            Ok(cal) => cal,
            Err(err) => panic!("{err}"),
        };
        let pings: Vec<String> = plan(7, &snap, &cal, &open(start()))
            .into_iter()
            .filter(|p| p.key.contains(":ping:1:"))
            .map(|p| p.key)
            .collect();
        assert_eq!(pings, ["incident:7:respond:ping:1:0", "incident:7:respond:ping:1:1"]);
    }

    #[test]
    fn a_reopened_resolution_clock_resumes_with_the_time_it_had_left() {
        let snap = snapshot(Severity::Critical);
        let cal = match snap.calendar() {
            Ok(cal) => cal,
            Err(err) => panic!("{err}"),
        };
        // 20 of the 24 hours were used before the resolve; reopened 3 days later.
        let reopened = start() + chrono::Duration::days(3);
        let clocks = Clocks {
            response_running: false,
            resolution: Some(Running {
                since: reopened,
                used: chrono::Duration::hours(20),
            }),
            ..open(start())
        };
        let planned = plan(7, &snap, &cal, &clocks);
        // The 75 % warning (at 18 h used) already passed; only the deadline, 4 h after the reopen, is left.
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].key, "incident:7:resolve:breach");
        assert_eq!(planned[0].at, reopened + chrono::Duration::hours(4));
    }

    #[test]
    fn collapsing_a_late_plan_keeps_one_ping_the_live_warning_and_past_deadlines() {
        let snap = snapshot(Severity::Critical);
        let cal = match snap.calendar() {
            Ok(cal) => cal,
            Err(err) => panic!("{err}"),
        };
        let planned = plan(7, &snap, &cal, &open(start()));
        let now = start() + chrono::Duration::minutes(50);
        let kept = collapse(planned.clone(), now, true);
        assert!(matches!(kept[0].what, What::Ping { step: 1, repeat: 0, .. }));
        assert_eq!(
            offsets(&kept),
            [
                (50, "respond:ping:1:3".to_owned()),
                (50, "respond:warn:75".to_owned()),
                (60, "respond:breach".to_owned()),
                (18 * 60, "resolve:warn:75".to_owned()),
                (24 * 60, "resolve:breach".to_owned()),
            ]
        );
        // Past the response deadline its warning goes, its breach stays; without ping_past no ping.
        let later = start() + chrono::Duration::minutes(70);
        let kept = collapse(planned, later, false);
        assert_eq!(
            offsets(&kept),
            [
                (70, "respond:breach".to_owned()),
                (18 * 60, "resolve:warn:75".to_owned()),
                (24 * 60, "resolve:breach".to_owned()),
            ]
        );
    }
}
