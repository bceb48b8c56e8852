//! Prometheus metrics: counters updated where things happen, gauges read from the database at
//! scrape time (so they are right after a restart).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `kind` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// Event kind.
    pub kind: String,
}

/// `plugin` and `result` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandledLabels {
    /// Plugin name.
    pub plugin: String,
    /// `ok`, `retry` or `dead`.
    pub result: String,
}

/// `platform` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlatformLabel {
    /// Platform name.
    pub platform: String,
}

/// `work` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkLabel {
    /// The kind of claimed work: `outbox` or `github`.
    pub work: String,
}

/// `route` and `status` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The matched route (never the raw path, which could carry anything).
    pub route: String,
    /// The status code.
    pub status: u16,
}

/// `status` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// `valid`, `invalid` or `missing`.
    pub status: String,
}

/// `type` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    /// The violation type.
    pub r#type: String,
}

/// `task` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabel {
    /// The supervised background task (`dispatcher`, `delivery:slack`, …).
    pub task: String,
}

/// `writer` label: who took the database's write turn (`inbox`, `dispatcher`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriterLabel {
    /// The writing task.
    pub writer: String,
}

/// `instance` and `version` labels of `sentinel_instance_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceLabels {
    /// This instance's name (`cluster.instance`).
    pub instance: String,
    /// Sentinel's version.
    pub version: String,
}

/// `job` label: a singleton periodic job (`github_pull`, `github_reconcile`, `housekeeping`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabel {
    /// The job.
    pub job: String,
}

/// Seconds, from 100 µs to ~13 s (doubling): a synced commit takes a millisecond or so on an SSD,
/// and what matters is the tail.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

/// Every metric Sentinel exports.
pub struct Metrics {
    registry: Registry,
    /// Events written to the inbox, by kind.
    pub inbox_events: Family<KindLabel, Counter>,
    /// Inputs recognised as duplicates, by kind.
    pub inbox_duplicates: Family<KindLabel, Counter>,
    /// Plugin handlings, by plugin and result.
    pub handled: Family<HandledLabels, Counter>,
    /// Timers and schedule ticks fired.
    pub timers_fired: Counter,
    /// Messages delivered, by platform.
    pub delivered: Family<PlatformLabel, Counter>,
    /// Delivery attempts that will be retried, by platform.
    pub delivery_retries: Family<PlatformLabel, Counter>,
    /// Messages given up on, by platform.
    pub delivery_failures: Family<PlatformLabel, Counter>,
    /// Outcomes refused because this instance's claim on the row had been taken over by another
    /// instance (its lease ran out first), by kind of work.
    pub claims_lost: Family<WorkLabel, Counter>,
    /// Times a delivery worker woke up to look for messages, by platform.
    pub delivery_passes: Family<PlatformLabel, Counter>,
    /// Times the timer engine looked for due timers.
    pub timer_passes: Counter,
    /// Messages for a channel no platform reaches.
    pub unrouted_messages: Counter,
    /// HTTP requests, by route and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Webhook signature checks, by outcome.
    pub webhook_signatures: Family<StatusLabel, Counter>,
    /// Security violations, by type.
    pub security_violations: Family<TypeLabel, Counter>,
    /// Background tasks that stopped unexpectedly and were restarted, by task.
    pub task_restarts: Family<TaskLabel, Counter>,
    /// Events not yet handled by every plugin that wants them.
    pub inbox_pending: Gauge,
    /// (event, plugin) pairs parked as dead.
    pub dead_events: Gauge,
    /// Messages waiting for delivery.
    pub outbox_pending: Gauge,
    /// Messages given up on and still listed.
    pub outbox_failed: Gauge,
    /// Pending timers (schedules included).
    pub timers_pending: Gauge,
    /// How long a writer waited for the write turn ([`crate::store::WriteLock`]), by writer.
    pub write_turn_wait: Family<WriterLabel, Histogram>,
    /// How long a writer held the write turn (its transaction, commit and sync included), by writer.
    pub write_turn_held: Family<WriterLabel, Histogram>,
    /// GitHub pull mode: polling rounds over every configured listing, completed.
    pub github_pull_polls: Counter,
    /// GitHub pull mode: listings GitHub answered `304 Not Modified` (free of rate limit).
    pub github_pull_not_modified: Counter,
    /// GitHub pull mode: alert changes found and stored as new events (duplicates not counted).
    pub github_pull_events: Counter,
    /// GitHub pull mode: API requests made (pages included).
    pub github_pull_api_calls: Counter,
    /// Webhook reconciliation: rounds over every configured hook, completed.
    pub github_reconcile_rounds: Counter,
    /// Webhook reconciliation: redeliveries of failed webhook deliveries asked of GitHub.
    pub github_redeliveries_requested: Counter,
    /// Webhook reconciliation: asked-for events later seen delivered successfully.
    pub github_redeliveries_recovered: Counter,
    /// Always 1, labelled with this instance's name and version.
    pub instance_info: Family<InstanceLabels, Gauge>,
    /// Instances alive on the database (this one included).
    pub instances_alive: Gauge,
    /// 1 for each singleton job this instance leads, 0 for the others.
    pub cluster_jobs_held: Family<JobLabel, Gauge>,
    /// Work this instance has in flight (claims whose lease is running), by `work`.
    pub claims_held: Family<WorkLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let metrics = Self {
            inbox_events: Family::default(),
            inbox_duplicates: Family::default(),
            handled: Family::default(),
            timers_fired: Counter::default(),
            delivered: Family::default(),
            delivery_retries: Family::default(),
            delivery_failures: Family::default(),
            claims_lost: Family::default(),
            delivery_passes: Family::default(),
            timer_passes: Counter::default(),
            unrouted_messages: Counter::default(),
            http_requests: Family::default(),
            webhook_signatures: Family::default(),
            security_violations: Family::default(),
            task_restarts: Family::default(),
            inbox_pending: Gauge::default(),
            dead_events: Gauge::default(),
            outbox_pending: Gauge::default(),
            outbox_failed: Gauge::default(),
            timers_pending: Gauge::default(),
            write_turn_wait: Family::new_with_constructor(seconds_buckets),
            write_turn_held: Family::new_with_constructor(seconds_buckets),
            github_pull_polls: Counter::default(),
            github_pull_not_modified: Counter::default(),
            github_pull_events: Counter::default(),
            github_pull_api_calls: Counter::default(),
            github_reconcile_rounds: Counter::default(),
            github_redeliveries_requested: Counter::default(),
            github_redeliveries_recovered: Counter::default(),
            instance_info: Family::default(),
            instances_alive: Gauge::default(),
            cluster_jobs_held: Family::default(),
            claims_held: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sentinel_inbox_events",
            "Events written to the inbox",
            metrics.inbox_events.clone(),
        );
        registry.register(
            "sentinel_inbox_duplicates",
            "Inputs recognised as duplicates",
            metrics.inbox_duplicates.clone(),
        );
        registry.register(
            "sentinel_plugin_handlings",
            "Plugin handlings by result",
            metrics.handled.clone(),
        );
        registry.register(
            "sentinel_timers_fired",
            "Timers and schedule ticks fired",
            metrics.timers_fired.clone(),
        );
        registry.register(
            "sentinel_messages_delivered",
            "Messages delivered",
            metrics.delivered.clone(),
        );
        registry.register(
            "sentinel_delivery_retries",
            "Delivery attempts to be retried",
            metrics.delivery_retries.clone(),
        );
        registry.register(
            "sentinel_delivery_failures",
            "Messages given up on",
            metrics.delivery_failures.clone(),
        );
        registry.register(
            "sentinel_claims_lost",
            "Outcomes refused because another instance had taken the claimed work over",
            metrics.claims_lost.clone(),
        );
        registry.register(
            "sentinel_delivery_passes",
            "Times a delivery worker woke up to look for messages",
            metrics.delivery_passes.clone(),
        );
        registry.register(
            "sentinel_timer_passes",
            "Times the timer engine looked for due timers",
            metrics.timer_passes.clone(),
        );
        registry.register(
            "sentinel_unrouted_messages",
            "Messages for a channel no platform reaches",
            metrics.unrouted_messages.clone(),
        );
        registry.register(
            "sentinel_http_requests",
            "HTTP requests by route and status",
            metrics.http_requests.clone(),
        );
        registry.register(
            "webhook_signatures_verified",
            "Webhook signature checks by outcome",
            metrics.webhook_signatures.clone(),
        );
        registry.register(
            "security_violations",
            "Security violations by type",
            metrics.security_violations.clone(),
        );
        registry.register(
            "sentinel_task_restarts",
            "Background tasks that stopped unexpectedly and were restarted",
            metrics.task_restarts.clone(),
        );
        registry.register(
            "sentinel_inbox_pending",
            "Events waiting to be handled",
            metrics.inbox_pending.clone(),
        );
        registry.register(
            "sentinel_dead_events",
            "Event handlings parked as dead",
            metrics.dead_events.clone(),
        );
        registry.register(
            "sentinel_outbox_pending",
            "Messages waiting for delivery",
            metrics.outbox_pending.clone(),
        );
        registry.register(
            "sentinel_outbox_failed",
            "Messages given up on",
            metrics.outbox_failed.clone(),
        );
        registry.register(
            "sentinel_timers_pending",
            "Pending timers",
            metrics.timers_pending.clone(),
        );
        registry.register(
            "sentinel_write_turn_wait_seconds",
            "Time a writer waited for the database's write turn",
            metrics.write_turn_wait.clone(),
        );
        registry.register(
            "sentinel_write_turn_held_seconds",
            "Time a writer held the database's write turn, commit and sync included",
            metrics.write_turn_held.clone(),
        );
        let pull = [
            (
                "polls",
                "GitHub pull mode: polling rounds completed",
                &metrics.github_pull_polls,
            ),
            (
                "not_modified",
                "GitHub pull mode: listings answered 304 Not Modified",
                &metrics.github_pull_not_modified,
            ),
            (
                "events",
                "GitHub pull mode: alert changes stored as new events",
                &metrics.github_pull_events,
            ),
            (
                "api_calls",
                "GitHub pull mode: API requests made",
                &metrics.github_pull_api_calls,
            ),
        ];
        for (name, help, counter) in pull {
            registry.register(format!("sentinel_github_pull_{name}"), help, counter.clone());
        }
        let reconcile = [
            (
                "sentinel_github_reconcile_rounds",
                "Webhook reconciliation: rounds over the configured hooks completed",
                &metrics.github_reconcile_rounds,
            ),
            (
                "sentinel_github_redeliveries_requested",
                "Webhook reconciliation: redeliveries of failed webhook deliveries asked of GitHub",
                &metrics.github_redeliveries_requested,
            ),
            (
                "sentinel_github_redeliveries_recovered",
                "Webhook reconciliation: asked-for webhook events later delivered successfully",
                &metrics.github_redeliveries_recovered,
            ),
        ];
        for (name, help, counter) in reconcile {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "sentinel_instance_info",
            "This instance: its name and version",
            metrics.instance_info.clone(),
        );
        registry.register(
            "sentinel_instances_alive",
            "Instances alive on the database, this one included",
            metrics.instances_alive.clone(),
        );
        registry.register(
            "sentinel_cluster_jobs_held",
            "Singleton periodic jobs this instance leads (1) or not (0)",
            metrics.cluster_jobs_held.clone(),
        );
        registry.register(
            "sentinel_claims_held",
            "Work this instance has in flight: claims whose lease is running (outbox rows, GitHub requests)",
            metrics.claims_held.clone(),
        );
        Self { registry, ..metrics }
    }

    /// Counts a security violation of `kind`.
    pub fn security_violation(&self, kind: &str) {
        self.security_violations
            .get_or_create(&TypeLabel {
                r#type: kind.to_owned(),
            })
            .inc();
    }

    /// Records one write turn of `writer`: `asked` when it asked for the turn, `got` when it got
    /// it, and now (the turn just ended).
    pub fn write_turn(&self, writer: &str, asked: std::time::Instant, got: std::time::Instant) {
        let label = WriterLabel {
            writer: writer.to_owned(),
        };
        self.write_turn_wait
            .get_or_create(&label)
            .observe(got.duration_since(asked).as_secs_f64());
        self.write_turn_held
            .get_or_create(&label)
            .observe(got.elapsed().as_secs_f64());
    }

    /// Sets the cluster gauges: this instance's info, the instances alive, the jobs it leads, the
    /// work it has in flight.
    pub fn set_cluster(&self, instance: &str, cluster: &crate::cluster::ClusterView) {
        let (alive, held) = (cluster.alive, &cluster.jobs_held);
        for (work, count) in [
            (crate::store::claims::Work::Outbox, cluster.claims_held.outbox),
            (crate::store::claims::Work::GitHub, cluster.claims_held.github),
        ] {
            self.claims_held
                .get_or_create(&WorkLabel {
                    work: work.label().to_owned(),
                })
                .set(count);
        }
        self.instance_info
            .get_or_create(&InstanceLabels {
                instance: instance.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        self.instances_alive.set(i64::try_from(alive).unwrap_or(i64::MAX));
        for job in crate::store::cluster_jobs::ALL {
            let leads = held.iter().any(|name| name == job);
            self.cluster_jobs_held
                .get_or_create(&JobLabel { job: job.to_owned() })
                .set(i64::from(leads));
        }
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
