//! Nothing dies in silence: a panicking plugin is that plugin's failure on that event (rolled back,
//! retried, parked), a panicking chat adapter takes its delivery worker down only until the
//! supervisor restarts it, and both recover with nothing lost and nothing doubled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sentinel_bot::chat::{ChatAdapter, Delivered, Delivery, DeliveryError};
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::harness::{TestBot, test_start};
use sentinel_bot::ids::Platform;
use sentinel_bot::{Bot, BotOptions, Cx, Event, ManualClock, Message, NewEvent, Plugin, PluginError, Subscriptions};
use serde_json::json;

fn probe(delivery: &str) -> NewEvent {
    NewEvent::github("probe", delivery, json!({ "action": "created" }).to_string())
}

/// Posts "<name> saw <delivery>" for each probe; panics while `panics` remain.
struct Panicky {
    name: &'static str,
    panics: Arc<AtomicUsize>,
}

#[async_trait]
impl Plugin for Panicky {
    fn name(&self) -> &'static str {
        self.name
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: vec!["probe".into()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        let Event::GitHub(delivery) = event else { return Ok(()) };
        // Written before the panic: it must be rolled back with the rest of the plugin's work.
        cx.send(Message::new(
            "security-incidents",
            format!("{} saw {}", self.name, delivery.delivery),
        ))
        .await?;
        if self
            .panics
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("{} cannot cope with {}", self.name, delivery.delivery);
        }
        Ok(())
    }
}

fn panicky(name: &'static str, panics: usize) -> Arc<dyn Plugin> {
    Arc::new(Panicky {
        name,
        panics: Arc::new(AtomicUsize::new(panics)),
    })
}

#[tokio::test]
async fn a_panicking_plugin_is_rolled_back_retried_and_parked_while_the_dispatcher_carries_on() {
    let plugins = Arc::new(Mutex::new(Some(vec![
        panicky("steady", 0),
        panicky("flaky", 1),
        panicky("broken", usize::MAX),
    ])));
    let mut bot = TestBot::start("[pipeline]\nmax_attempts = 3\n", move || {
        plugins.lock().unwrap().take().unwrap_or_default()
    })
    .await
    .unwrap();

    bot.push(probe("d-1")).await;
    let texts = |printed: Vec<sentinel_bot::chat::console::Printed>| -> Vec<String> {
        printed.into_iter().map(|p| p.message.text).collect()
    };
    assert_eq!(
        texts(bot.pop()),
        ["steady saw d-1"],
        "the panics' messages were rolled back"
    );

    // The backoff passes: flaky succeeds on its second attempt, broken panics again.
    let printed = texts(bot.advance(chrono::Duration::seconds(2)).await);
    assert_eq!(printed, ["flaky saw d-1"]);
    bot.advance(chrono::Duration::seconds(4)).await;
    let dead: Vec<(String, String)> = sqlx::query_as("SELECT plugin, last_error FROM handling WHERE state = 'dead'")
        .fetch_all(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(
        dead,
        [("broken".to_owned(), "panicked: broken cannot cope with d-1".to_owned())],
        "parked as dead after max_attempts, with the panic's message"
    );

    // The dispatcher is alive and was never restarted.
    bot.push(probe("d-2")).await;
    let mut printed = texts(bot.pop());
    printed.sort();
    assert_eq!(printed, ["flaky saw d-2", "steady saw d-2"]);
    let tasks = bot.bot().shared().tasks.snapshot();
    assert!(tasks["dispatcher"].running);
    assert_eq!(tasks["dispatcher"].restarts, 0);
    bot.stop().await;
}

/// A chat adapter for Slack's platform that records what it delivered and panics on its first call.
struct PanicsOnce {
    calls: AtomicUsize,
    delivered: Mutex<Vec<String>>,
}

#[async_trait]
impl ChatAdapter for PanicsOnce {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("adapter bug");
        }
        let mut delivered = self.delivered.lock().unwrap();
        delivered.push(delivery.message.text.clone());
        Ok(Delivered {
            message_id: format!("m{}", delivered.len()),
        })
    }
}

#[tokio::test]
async fn a_chat_adapter_that_panics_once_is_restarted_and_delivers_everything_once() {
    let db = TestDb::new().await;
    let text = format!(
        "[database]\nurl = \"{}\"\n[chat]\nconsole = \"off\"\n[slack]\nbot_token = \"xoxb-test\"\n\
         post_interval = \"0s\"\n[channels.security-incidents]\nslack = \"C0INC\"\n",
        db.url()
    );
    let table = sentinel_bot::config::load::parse_table(&text, "test").unwrap();
    let config = sentinel_bot::config::load::from_table(table).unwrap();
    let adapter = Arc::new(PanicsOnce {
        calls: AtomicUsize::new(0),
        delivered: Mutex::new(Vec::new()),
    });
    let bot = Bot::start(BotOptions {
        config,
        clock: Arc::new(ManualClock::new(test_start())),
        plugins: vec![panicky("steady", 0)],
        adapters: vec![adapter.clone()],
        console: sentinel_bot::chat::console::ConsoleSink::Stdout,
        serve_http: false,
        routes: axum::Router::new(),
    })
    .await
    .unwrap();
    let ingest = bot.ingest().unwrap();
    for n in 1..=3 {
        ingest.submit(probe(&format!("d-{n}"))).await.unwrap();
    }

    // The worker dies on its first message; the supervisor shows it down, then restarts it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let tasks = bot.shared().tasks.snapshot();
        if tasks["delivery:slack"].restarts == 1 {
            assert_eq!(
                tasks["delivery:slack"].last_failure.as_deref(),
                Some("panicked: adapter bug")
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never restarted: {tasks:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bot.settle(Duration::from_secs(10)).await.unwrap();
    let mut delivered = adapter.delivered.lock().unwrap().clone();
    delivered.sort();
    assert_eq!(delivered, ["steady saw d-1", "steady saw d-2", "steady saw d-3"]);
    assert!(bot.shared().tasks.all_running());
    assert!(
        bot.shared()
            .metrics
            .encode()
            .contains("sentinel_task_restarts_total{task=\"delivery:slack\"} 1")
    );
    bot.shutdown(Duration::from_secs(5)).await;
}
