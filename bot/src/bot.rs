//! Assembling and running the bot: store, pipeline tasks, adapters and HTTP server, with an orderly
//! shutdown (HTTP drains first, then the inbox writer, then the workers).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::store::DbPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::builtin::Builtin;
use crate::chat::console::{ConsoleAdapter, ConsoleSink};
use crate::chat::webhook::WebhookAdapter;
use crate::chat::{ChatAdapter, Directory, Routing};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::http::client::TrustedProxies;
use crate::http::rejections::{self, Rejections};
use crate::http::server::Limits;
use crate::http::{self, AppState};
use crate::ids::Platform;
use crate::ingress::discord_gateway::Gateway;
use crate::ingress::slack_socket::SocketMode;
use crate::metrics::Metrics;
use crate::pipeline::ingest::{self, Ingest};
use crate::pipeline::router::{Router as EventRouter, RouterError};
use crate::pipeline::{Shared, Shutdown, Wakers, delivery, dispatcher, timer_engine};
use crate::plugin::Plugin;
use crate::store::{self, Engine, StoreError, timers, to_ms};
use crate::supervisor::{self, Tasks};

/// Everything the bot is made of.
pub struct BotOptions {
    /// The configuration.
    pub config: Config,
    /// The clock.
    pub clock: SharedClock,
    /// The plugins, in dispatch order.
    pub plugins: Vec<Arc<dyn Plugin>>,
    /// Adapters besides the console and the generic webhook, which come from config.
    pub adapters: Vec<Arc<dyn ChatAdapter>>,
    /// Where the console adapter writes.
    pub console: ConsoleSink,
    /// Serve HTTP on `http.listen`.
    pub serve_http: bool,
    /// Ingress routes (GitHub, Slack, Discord) merged into the server.
    pub routes: axum::Router<AppState>,
}

/// The bot could not start.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// Plugins declared conflicting things.
    #[error("plugins: {0}")]
    Router(#[from] RouterError),
    /// A schedule could not be armed.
    #[error("schedule `{owner}/{name}`: {source}")]
    Schedule {
        /// The plugin.
        owner: String,
        /// The schedule.
        name: String,
        /// Why.
        source: timers::ScheduleError,
    },
    /// The HTTP address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// An adapter could not be built.
    #[error("chat adapter: {0}")]
    Adapter(String),
}

/// A running bot.
pub struct Bot {
    pool: DbPool,
    shared: Arc<Shared>,
    router: Arc<EventRouter>,
    wakers: Wakers,
    ingest: Option<Ingest>,
    ingest_task: Option<JoinHandle<()>>,
    stop_ingest: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    stop_workers: watch::Sender<bool>,
    shutdown: Shutdown,
    http: Option<(SocketAddr, watch::Sender<bool>, JoinHandle<()>)>,
}

impl Bot {
    /// Opens the store, arms schedules, starts every task and (when asked) the HTTP server.
    pub async fn start(options: BotOptions) -> Result<Self, BotError> {
        let config = Arc::new(options.config);
        let pool = store::open_with_lease(
            &config.database.url,
            config.database.busy_timeout.std(),
            Some(config.cluster.lease.std()),
            Some(&config.cluster.instance_name()),
        )
        .await?;
        if Engine::of_pool(&pool) == Engine::Sqlite {
            // One process per SQLite file: every claim left in it belongs to the previous run, which
            // is dead. Expire them now (not after the lease), keeping the owner, so the rows it had
            // in flight are taken over at once and looked for before being sent again. PostgreSQL:
            // a dead instance's claims run out after `cluster.lease`.
            let mut conn = pool.acquire().await.map_err(StoreError::from)?;
            let expired = store::claims::expire_all(&mut conn).await.map_err(StoreError::from)?;
            if expired > 0 {
                tracing::info!(expired, "took over the claims the previous run left in flight");
            }
        }
        let directory = Arc::new(Directory::from_config(&config));
        let shared = Arc::new(Shared {
            clock: options.clock.clone(),
            routing: Routing::from_config(&config),
            directory: directory.clone(),
            metrics: Arc::new(Metrics::new()),
            config: config.clone(),
            writes: store::WriteLock::default(),
            ingest_waiting: Default::default(),
            tasks: Tasks::default(),
            instance: config.cluster.instance_name(),
        });
        crate::cluster::register(&pool, &shared)
            .await
            .map_err(StoreError::from)?;

        let (builtin, specs_slot) = Builtin::new();
        let mut plugins: Vec<Arc<dyn Plugin>> = vec![Arc::new(builtin)];
        plugins.extend(options.plugins);
        let router = Arc::new(EventRouter::new(plugins)?);
        let _ = specs_slot.set(router.command_specs().to_vec());
        arm_schedules(&pool, &router, &shared).await?;

        let wakers = Wakers::default();
        let (stop_workers, shutdown) = Shutdown::new();
        let (stop_ingest, ingest_closing) = Shutdown::new();
        let (ingest, writer) = ingest::writer(
            pool.clone(),
            shared.clone(),
            wakers.dispatcher.clone(),
            config.pipeline.ingest_batch,
            ingest_closing.clone(),
        );
        let ingest_task = supervised("inbox_writer", &shared, &ingest_closing, move || writer.clone().run());

        let mut adapters = options.adapters;
        if config.console_enabled() {
            adapters.push(Arc::new(ConsoleAdapter::new(options.console, directory.clone())));
        }
        if let Some(webhook) = &config.chat.webhook {
            let adapter = WebhookAdapter::new(
                webhook.url.clone(),
                webhook.token.clone(),
                config.outbox.request_timeout.std(),
                directory.clone(),
            )
            .map_err(|err| BotError::Adapter(err.to_string()))?;
            adapters.push(Arc::new(adapter));
        }

        let (p, s, r, w, d) = (&pool, &shared, &router, &wakers, &shutdown);
        let mut workers = vec![
            supervised("dispatcher", s, d, {
                let (p, s, r, w, d) = (p.clone(), s.clone(), r.clone(), w.clone(), d.clone());
                move || dispatcher::run(p.clone(), s.clone(), r.clone(), w.clone(), d.clone())
            }),
            supervised("timer_engine", s, d, {
                let (p, s, w, d) = (p.clone(), s.clone(), w.clone(), d.clone());
                move || timer_engine::run(p.clone(), s.clone(), w.clone(), d.clone())
            }),
            supervised("heartbeat", s, d, {
                let (p, s, d) = (p.clone(), s.clone(), d.clone());
                move || crate::cluster::heartbeat(p.clone(), s.clone(), d.clone())
            }),
            supervised("housekeeping", s, d, {
                let (p, s, d) = (p.clone(), s.clone(), d.clone());
                move || housekeeping(p.clone(), s.clone(), d.clone())
            }),
            // Always runs: without a token it answers every request at once with an error.
            supervised("github_worker", s, d, {
                let (p, s, w, d) = (p.clone(), s.clone(), w.clone(), d.clone());
                move || crate::github::worker::run(p.clone(), s.clone(), w.clone(), d.clone())
            }),
        ];
        if config.github.pull.enabled() {
            let endpoints = crate::github::pull::endpoints::endpoints(&config, |event| router.wants_github(event));
            let endpoints = Arc::new(endpoints);
            let (p, s, w, d) = (p.clone(), s.clone(), wakers.dispatcher.clone(), d.clone());
            let task = move || crate::github::pull::run(p.clone(), s.clone(), endpoints.clone(), w.clone(), d.clone());
            workers.push(supervised("github_pull", &shared, &shutdown, task));
        }
        if config.github.reconcile.enabled() {
            let (p, s, d) = (p.clone(), s.clone(), d.clone());
            let task = move || crate::github::reconcile::run(p.clone(), s.clone(), d.clone());
            workers.push(supervised("github_reconcile", &shared, &shutdown, task));
        }
        if config.slack_socket_enabled() {
            // Stopped with the inbox writer, like the HTTP server: whatever it takes is stored first.
            let socket = SocketMode::new(
                &config.slack,
                ingest.clone(),
                router.clone(),
                config.outbox.request_timeout.std(),
            )
            .map_err(|err| BotError::Adapter(err.to_string()))?;
            let socket = Arc::new(socket);
            for n in 0..config.slack.socket_connections {
                let (socket, stop) = (socket.clone(), ingest_closing.clone());
                let task = move || socket.clone().run(stop.clone());
                workers.push(supervised(&format!("slack_socket:{n}"), &shared, &ingest_closing, task));
            }
        }
        if config.discord_gateway_enabled() {
            // Stopped with the inbox writer too: an interaction it takes is stored first.
            let gateway = Gateway::new(
                &config.discord,
                options.clock.clone(),
                ingest.clone(),
                router.clone(),
                config.outbox.request_timeout.std(),
            )
            .map_err(|err| BotError::Adapter(err.to_string()))?;
            let (gateway, stop) = (Arc::new(gateway), ingest_closing.clone());
            let task = move || gateway.clone().run(stop.clone());
            workers.push(supervised("discord_gateway", &shared, &ingest_closing, task));
        }
        for adapter in adapters {
            let name = format!("delivery:{}", adapter.platform());
            let (p, s, wake, d) = (p.clone(), s.clone(), wakers.delivery.clone(), d.clone());
            let task = move || delivery::run(p.clone(), s.clone(), adapter.clone(), wake.clone(), d.clone());
            workers.push(supervised(&name, &shared, &shutdown, task));
        }

        let mut bot = Self {
            pool,
            shared,
            router,
            wakers,
            ingest: Some(ingest),
            ingest_task: Some(ingest_task),
            stop_ingest,
            workers,
            stop_workers,
            shutdown,
            http: None,
        };
        if options.serve_http {
            bot.serve(options.routes).await?;
        }
        Ok(bot)
    }

    async fn serve(&mut self, routes: axum::Router<AppState>) -> Result<(), BotError> {
        let Some(ingest) = self.ingest.clone() else {
            return Ok(());
        };
        let addr = self.shared.config.http.listen.clone();
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| BotError::Listen {
                addr: addr.clone(),
                source,
            })?;
        let local = listener
            .local_addr()
            .map_err(|source| BotError::Listen { addr, source })?;
        let settings = &self.shared.config.http;
        let rejections = Arc::new(Rejections::new(self.shared.clock.clone(), settings));
        let app = http::app(
            AppState {
                pool: self.pool.clone(),
                shared: self.shared.clone(),
                ingest,
                router: self.router.clone(),
                proxies: Arc::new(TrustedProxies::new(
                    &settings.trusted_proxies,
                    &settings.client_ip_header,
                )),
                rejections: rejections.clone(),
            },
            routes,
        );
        let limits = Limits::from_config(settings);
        let (stop, stopped) = watch::channel(false);
        let (pool, shared) = (self.pool.clone(), self.shared.clone());
        let task = tokio::spawn(async move {
            tokio::select! {
                () = http::server::run(listener, app, limits, stopped) => {}
                () = rejections::flush_periodically(pool.clone(), shared.clone(), rejections.clone()) => {}
            }
            rejections::write(&pool, &shared, rejections.take_ended(true)).await;
        });
        tracing::info!(addr = %local, "listening");
        self.warn_about_config();
        self.http = Some((local, stop, task));
        Ok(())
    }

    /// Says at start-up what `check-config` warns about: a listener open to other hosts, logical
    /// channels a plugin posts to that a configured platform has no id for.
    fn warn_about_config(&self) {
        let posts: Vec<(String, String)> = self
            .router
            .plugins()
            .iter()
            .flat_map(|plugin| plugin.channels().into_iter().map(|c| (plugin.name().to_owned(), c)))
            .collect();
        for warning in crate::config::warnings::warnings(&self.shared.config, &posts) {
            tracing::warn!(key = %warning.key, "{}", warning.message);
        }
    }

    /// The address the HTTP server listens on.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|(addr, _, _)| *addr)
    }

    /// The inbox writer handle (none after shutdown began).
    pub fn ingest(&self) -> Option<Ingest> {
        self.ingest.clone()
    }

    /// The database.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Clock, config, routing, metrics.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A signal that fires when the bot begins shutting down its workers.
    pub fn shutdown_signal(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Wakes every pipeline task, after rows were written outside the pipeline (benchmarks, or
    /// `sentinel dead retry` run in-process). Out-of-process changes are picked up within 5 s anyway.
    pub fn wake_all(&self) {
        self.wakers.dispatcher.wake();
        self.wakers.timers.wake();
        self.wakers.delivery.wake();
        self.wakers.github.wake();
    }

    /// Waits until nothing is due: no event to dispatch, no timer to fire, no message to deliver, no
    /// GitHub request to perform (things waiting for a retry time or a future due time don't count).
    /// For tests and the demo.
    pub async fn settle(&self, limit: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let now = to_ms(self.shared.clock.now());
            let platforms = self.platforms();
            // `IN ('')` when no platform is routed: no outbox row counts then.
            let list = if platforms.is_empty() {
                "''".to_owned()
            } else {
                store::placeholders(2, platforms.len())
            };
            let sql = format!(
                "SELECT (SELECT COUNT(*) FROM inbox WHERE state = 'pending' AND (retry_at IS NULL OR retry_at <= $1))
                      + (SELECT COUNT(*) FROM timers WHERE due_at <= $1)
                      + (SELECT COUNT(*) FROM outbox o WHERE o.state = 'pending' AND o.next_attempt_at <= $1
                           AND o.platform IN ({list})
                           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.state = 'pending' AND e.id < o.id
                                             AND (e.order_key = o.order_key OR e.order_key = o.depends_on)))
                      + (SELECT COUNT(*) FROM github_requests WHERE state = 'pending' AND next_attempt_at <= $1)"
            );
            // Only placeholders are generated; every value is bound.
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(now);
            for platform in &platforms {
                query = query.bind(*platform);
            }
            let busy: i64 = query.fetch_one(&self.pool).await.map_err(|err| err.to_string())?;
            if busy == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("still busy after {limit:?}: {busy} items due"));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn platforms(&self) -> Vec<&'static str> {
        self.shared
            .routing
            .platforms()
            .into_iter()
            .map(Platform::as_str)
            .collect()
    }

    /// Stops the bot: the HTTP server stops accepting and finishes in-flight requests, the inbox
    /// writer stores what it was given, then the workers stop (each within `grace`).
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some((_, stop, mut task)) = self.http.take() {
            let _ = stop.send(true);
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                // Dropping the server drops its connections, and with them their hold on the inbox writer.
                tracing::warn!("http server did not drain in time; closing its connections");
                task.abort();
                let _ = task.await;
            }
        }
        // Whoever still holds a handle (the console reading stdin, a client mid-request) gets
        // "shutting down" from now on; what was queued before is stored.
        // Closing first: dropping the last handle ends the writer at once, and were that seen before
        // the signal, its supervisor would report an unexpected end (and count a restart).
        let _ = self.stop_ingest.send(true);
        self.ingest = None;
        if let Some(task) = self.ingest_task.take()
            && tokio::time::timeout(grace, task).await.is_err()
        {
            tracing::warn!("inbox writer did not drain in time");
        }
        let _ = self.stop_workers.send(true);
        for task in self.workers.drain(..) {
            if tokio::time::timeout(grace, task).await.is_err() {
                tracing::warn!("a worker did not stop in time");
            }
        }
        // Stopped: seen gone at once by the other instances, which take this one's jobs at their next look.
        if let Err(err) = crate::cluster::deregister(&self.pool, &self.shared).await {
            tracing::warn!(cause = ?err, "could not mark this instance stopped in the registry");
        }
        // Closing waits for every borrowed connection; a caller still holding one must not hang us.
        if tokio::time::timeout(grace, self.pool.close()).await.is_err() {
            tracing::warn!("database connections still in use at shutdown");
        }
    }
}

async fn arm_schedules(pool: &DbPool, router: &EventRouter, shared: &Shared) -> Result<(), BotError> {
    let now = shared.clock.now();
    let mut conn = pool.acquire().await.map_err(StoreError::from)?;
    for plugin in router.plugins() {
        let schedules = plugin.schedules();
        for schedule in &schedules {
            timers::ensure_schedule(&mut conn, plugin.name(), schedule, now)
                .await
                .map_err(|source| BotError::Schedule {
                    owner: plugin.name().to_owned(),
                    name: schedule.name.clone(),
                    source,
                })?;
        }
        let names: Vec<String> = schedules.into_iter().map(|s| s.name).collect();
        timers::retire_schedules(&mut conn, plugin.name(), &names)
            .await
            .map_err(StoreError::from)?;
    }
    Ok(())
}

/// Runs a background task under the supervisor (see [`crate::supervisor`]).
fn supervised<F, Fut>(name: &str, shared: &Shared, stop: &Shutdown, make: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    supervisor::spawn(name, shared.tasks.clone(), shared.metrics.clone(), stop.clone(), make)
}

/// Deletes handled events, delivered messages and answered GitHub requests older than
/// `pipeline.retain`, and instances gone for [`store::instances::FORGET_AFTER`], hourly — on one
/// instance of the cluster at a time (the singleton job `housekeeping`).
async fn housekeeping(pool: DbPool, shared: Arc<Shared>, mut shutdown: Shutdown) {
    let hour = chrono::Duration::hours(1);
    loop {
        let next = if crate::cluster::lead(&pool, &shared, store::cluster_jobs::HOUSEKEEPING, hour).await {
            prune(&pool, &shared).await;
            shared.clock.now() + hour
        } else {
            crate::cluster::look_again(&shared, hour)
        };
        let clock = shared.clock.clone();
        tokio::select! {
            _ = clock.sleep_until(next) => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// One round of housekeeping.
async fn prune(pool: &DbPool, shared: &Shared) {
    let now = shared.clock.now();
    let before = now - shared.config.pipeline.retain.chrono();
    let result = async {
        let _turn = shared.writes.turn().await;
        let mut conn = pool.acquire().await?;
        let events = store::inbox::prune(&mut conn, before).await?;
        let messages = store::outbox::prune(&mut conn, before).await?;
        let github = crate::github::store::prune(&mut conn, before).await?;
        let instances = store::instances::prune(&mut conn, now - store::instances::FORGET_AFTER).await?;
        Ok::<_, sqlx::Error>((events, messages, github, instances))
    }
    .await;
    match result {
        Ok((events, messages, github, instances)) if events + messages + github + instances > 0 => {
            tracing::info!(
                events,
                messages,
                github,
                instances,
                "pruned old events, messages, github requests and gone instances"
            );
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(cause = ?err, "pruning failed"),
    }
}
