//! `sentinel simulate <event> [payload.json]`: the way to check a set-up end to end. Signs a payload
//! with the configured (or generated) webhook secret and posts it like GitHub would.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use sentinel_bot::config::Config;
use sentinel_bot::ingress::{github, secret_file};

/// Arguments of `sentinel simulate`.
#[derive(Debug, clap::Args)]
pub struct Simulate {
    /// The `X-GitHub-Event`: dependabot_alert, code_scanning_alert, secret_scanning_alert,
    /// secret_scanning_alert_location, security_advisory, repository_advisory,
    /// repository_vulnerability_alert, workflow_run or ping.
    event: String,
    /// The body to send; a bundled sample for the event when omitted.
    payload: Option<PathBuf>,
    /// Sentinel's webhook URL (default: built from `http.listen`).
    #[arg(long)]
    url: Option<String>,
    /// The `X-GitHub-Delivery` id (default: a fresh random one; reuse one to see duplicate handling).
    #[arg(long)]
    delivery: Option<String>,
}

/// Bundled samples: real GitHub payloads (see samples/github/README.md for their source).
const SAMPLES: &[(&str, &str)] = &[
    (
        "dependabot_alert",
        include_str!("../samples/github/dependabot_alert.created.json"),
    ),
    (
        "code_scanning_alert",
        include_str!("../samples/github/code_scanning_alert.created.json"),
    ),
    (
        "secret_scanning_alert",
        include_str!("../samples/github/secret_scanning_alert.reopened.json"),
    ),
    (
        "secret_scanning_alert_location",
        include_str!("../samples/github/secret_scanning_alert_location.created.json"),
    ),
    (
        "security_advisory",
        include_str!("../samples/github/security_advisory.published.json"),
    ),
    (
        "repository_advisory",
        include_str!("../samples/github/repository_advisory.published.json"),
    ),
    (
        "repository_vulnerability_alert",
        include_str!("../samples/github/repository_vulnerability_alert.create.json"),
    ),
    (
        "workflow_run",
        include_str!("../samples/github/workflow_run.completed.json"),
    ),
    ("ping", include_str!("../samples/github/ping.json")),
];

/// Posts the payload and prints the answer. Exits 0 on a 2xx, 1 otherwise.
pub async fn run(config: &Config, args: Simulate) -> Result<ExitCode> {
    let body = match &args.payload {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => SAMPLES
            .iter()
            .find(|(event, _)| *event == args.event)
            .map(|(_, body)| body.as_bytes().to_vec())
            .with_context(|| {
                let known: Vec<&str> = SAMPLES.iter().map(|(e, _)| *e).collect();
                format!(
                    "no bundled sample for `{}`; give a payload file (samples: {})",
                    args.event,
                    known.join(", ")
                )
            })?,
    };
    let secret = match &config.github.webhook_secret {
        Some(secret) => secret.clone(),
        None => {
            let path = secret_file::path_for(&config.database.url);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "no github.webhook_secret configured and no generated one at {} (start `sentinel run` once)",
                    path.display()
                )
            })?;
            sentinel_bot::config::Secret::new(text.trim())
        }
    };
    let url = args
        .url
        .unwrap_or_else(|| format!("http://{}/webhooks/github", config.http.listen));
    let delivery = args.delivery.unwrap_or_else(random_delivery_id);
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("x-github-event", &args.event)
        .header("x-github-delivery", &delivery)
        .header("x-hub-signature-256", github::sign(&secret, &body))
        .header("user-agent", "GitHub-Hookshot/sentinel-simulate")
        .body(body)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}; is `sentinel run` running?"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("POST {url} ({} delivery {delivery}) → {status}\n{text}", args.event);
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn random_delivery_id() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the id still only has to be unique per run; the time serves.
    if getrandom::fill(&mut bytes).is_err() {
        return format!(
            "simulate-{}",
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
    }
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
