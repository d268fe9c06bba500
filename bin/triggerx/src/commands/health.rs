//! `triggerx health`: the check-in server and liveness monitor with its alert channels.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use triggerx_health::alerts::{EmailChannel, TelegramChannel, WebhookChannel};
use triggerx_health::{AlertChannels, HealthConfig};

use crate::cli::HealthArgs;
use crate::commands::devnet::wait_for_stop;
use crate::commands::open_store;

/// Runs the health service until Ctrl-C.
pub async fn run(data_dir: &Path, database_url: Option<&str>, args: HealthArgs) -> anyhow::Result<()> {
    if args.offline_after == 0 || args.alert_after == 0 {
        anyhow::bail!("--offline-after and --alert-after must be positive numbers of seconds");
    }
    let channels = AlertChannels {
        telegram: args.telegram_token.clone().map(|token| TelegramChannel {
            base_url: args.telegram_url.clone(),
            token,
            default_chat_id: args.telegram_chat_id,
        }),
        email: args.smtp_host.clone().map(|host| EmailChannel {
            host,
            port: args.smtp_port,
            starttls: args.smtp_starttls,
            from: args.smtp_from.clone(),
            default_to: args.smtp_to.clone(),
        }),
        webhook: args.webhook_url.clone().map(|url| WebhookChannel { url }),
    };
    let enabled: Vec<&str> = [
        ("telegram", channels.telegram.is_some()),
        ("email", channels.email.is_some()),
        ("webhook", channels.webhook.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let config = HealthConfig {
        listen: args.listen,
        offline_after: Duration::from_secs(args.offline_after),
        alert_after: Duration::from_secs(args.alert_after),
        channels,
        ..HealthConfig::default()
    };
    let store = open_store(data_dir, database_url).await?;
    let running = triggerx_health::spawn(store, config).await.context("starting the health service")?;
    println!(
        "health: check-ins at http://{}/health; alerts via {}",
        running.address,
        if enabled.is_empty() { "nothing (no channel configured)".to_string() } else { enabled.join(", ") }
    );
    wait_for_stop().await?;
    running.stop();
    eprintln!("health stopped");
    Ok(())
}
