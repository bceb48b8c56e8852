//! # sentinel-web: the read-only web status page
//!
//! Served by the same binary under `/web` when `[web]` is configured (off by default): what is
//! open now with live SLA clocks, alerts, one incident's timeline, audits and the security report
//! with charts. Every page reads through the plugins' own view functions (`…::view`), so the page
//! and the chat commands show the same data.
//!
//! Access: `/sentinel web` sends a single-use link privately in chat; opening it shows a sign-in
//! button whose POST uses the link up and sets the `sentinel_session` cookie. Rights are the person's
//! incident role at sign-in. Every sign-in and refused link is a security-log row.
//!
//! ## Layout
//! - [`access`]: sign-in, sessions and the role a page needs.
//! - [`store`]: the link and session tables.
//! - [`headers`]: the security headers every response under `/web` carries.
//! - [`assets`]: the stylesheet and the countdown script.
//! - [`pages`]: one module per page, with its template.
//! - [`charts`]: the report's SVG charts.
//! - [`chat_links`]: each alert's link to its chat message, and where channels open.
//! - [`format`]: times and durations in words.
//! - [`paging`]: a long list a page at a time, and the links between its pages.

pub mod access;
pub mod assets;
pub mod charts;
pub mod chat_links;
pub mod format;
pub mod headers;
pub mod pages;
pub mod paging;
pub mod store;

use std::sync::Arc;

use axum::routing::{get, post};
use chrono_tz::Tz;
use sentinel_bot::config::{Config, ConfigError, WebConfig};
use sentinel_bot::http::Routes;
use sentinel_plugins::incident_commander::IncidentConfig;
use sentinel_plugins::sla_escalator::Settings as SlaSettings;

/// What the web handlers need besides the core's [`sentinel_bot::http::AppState`]: the plugins'
/// settings, resolved once when the routes are built.
pub struct Web {
    /// `[web]`.
    pub config: WebConfig,
    /// The incident commander's roles and checklists.
    pub incidents: IncidentConfig,
    /// The SLA escalator's levels (who the next step pings).
    pub sla: SlaSettings,
    /// The zone reports are counted in.
    pub tz: Tz,
    /// Learns where chat channels open, for the alerts' chat links.
    pub chat_links: Arc<chat_links::Learner>,
}

/// Problems with `[web]`: `public_url` must be an absolute `http://` or `https://` address.
pub fn check(config: &Config) -> Vec<ConfigError> {
    let Some(web) = &config.web else {
        return Vec::new();
    };
    let url = web.public_url.trim().to_ascii_lowercase();
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Vec::new(),
        _ => vec![ConfigError::new(
            "web.public_url",
            "must be the absolute address people open Sentinel at, such as https://sentinel.example.com",
        )],
    }
}

/// The routes under `/web`, or `None` when `[web]` is not configured.
pub fn routes(config: &Config) -> Result<Option<Routes>, Vec<ConfigError>> {
    let Some(web) = config.web.clone() else {
        return Ok(None);
    };
    let problems = check(config);
    if !problems.is_empty() {
        return Err(problems);
    }
    let state = Arc::new(Web {
        config: web,
        incidents: sentinel_plugins::incident_commander::view::config(config)?,
        sla: sentinel_plugins::sla_escalator::view::settings(config)?,
        tz: sentinel_plugins::audit_scheduler::view::time_zone(config)?,
        chat_links: Arc::default(),
    });
    let router = Routes::new()
        .route("/web", get(pages::now::page))
        .route("/web/alerts", get(pages::alerts::page))
        .route("/web/audits", get(pages::audits::page))
        .route("/web/incidents/{id}", get(pages::incident::page))
        .route("/web/reports", get(pages::report::current))
        .route("/web/reports/{period}", get(pages::report::page))
        .route("/web/reports/{period}/{chart}", get(pages::report::chart))
        .route("/web/signin", get(access::signin_page).post(access::signin))
        .route("/web/signout", post(access::signout))
        .route("/web/welcome", get(access::welcome))
        .route(assets::STYLE_PATH, get(assets::style))
        .route(assets::SCRIPT_PATH, get(assets::script))
        .layer(axum::Extension(state))
        .layer(axum::middleware::from_fn(headers::secure));
    Ok(Some(router))
}
