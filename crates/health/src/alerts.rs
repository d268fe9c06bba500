//! Alert channels: Telegram Bot API, SMTP e-mail and a generic JSON webhook. Base URLs and hosts are
//! configurable, so tests point them at local servers.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use triggerx_store::OfflineKeeper;

use crate::HealthError;

/// How long one alert delivery may take.
pub const ALERT_TIMEOUT: Duration = Duration::from_secs(10);

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The keeper has been offline longer than the alert delay.
    Offline,
    /// The keeper checked in again after an offline alert.
    BackOnline,
}

/// Telegram Bot API settings.
#[derive(Debug, Clone)]
pub struct TelegramChannel {
    /// API base URL (`https://api.telegram.org` in production).
    pub base_url: String,
    /// Bot token.
    pub token: String,
    /// Chat used when the keeper has not linked one.
    pub default_chat_id: Option<i64>,
}

/// SMTP settings.
#[derive(Debug, Clone)]
pub struct EmailChannel {
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// Use STARTTLS.
    pub starttls: bool,
    /// Sender address.
    pub from: String,
    /// Recipient when the keeper has no e-mail on record.
    pub default_to: Option<String>,
}

/// Webhook settings.
#[derive(Debug, Clone)]
pub struct WebhookChannel {
    /// URL receiving a JSON POST per alert.
    pub url: String,
}

/// Configured channels (any subset).
#[derive(Debug, Clone, Default)]
pub struct AlertChannels {
    pub telegram: Option<TelegramChannel>,
    pub email: Option<EmailChannel>,
    pub webhook: Option<WebhookChannel>,
}

/// The JSON a webhook receives.
#[derive(Debug, Serialize)]
struct WebhookBody<'a> {
    kind: AlertKind,
    keeper_id: i64,
    keeper_address: &'a str,
    last_checked_in: Option<i64>,
    text: &'a str,
}

fn text(kind: AlertKind, keeper: &OfflineKeeper) -> String {
    match kind {
        AlertKind::Offline => format!("TriggerX keeper {} is offline and not performing tasks.", keeper.keeper_address),
        AlertKind::BackOnline => format!("TriggerX keeper {} is back online.", keeper.keeper_address),
    }
}

impl AlertChannels {
    /// Sends one alert on every configured channel; returns the failures (each channel is tried).
    pub async fn send(&self, kind: AlertKind, keeper: &OfflineKeeper) -> Vec<HealthError> {
        let message = text(kind, keeper);
        let client = reqwest::Client::builder().timeout(ALERT_TIMEOUT).build().unwrap_or_default();
        let mut failures = Vec::new();
        if let Some(telegram) = &self.telegram
            && let Some(chat_id) = keeper.chat_id.or(telegram.default_chat_id)
        {
            let url = format!("{}/bot{}/sendMessage", telegram.base_url.trim_end_matches('/'), telegram.token);
            let body = serde_json::json!({"chat_id": chat_id, "text": message});
            if let Err(detail) = post(&client, &url, &body).await {
                failures.push(HealthError::Alert { channel: "telegram", detail });
            }
        }
        if let Some(webhook) = &self.webhook {
            let body = WebhookBody {
                kind,
                keeper_id: keeper.keeper_id,
                keeper_address: &keeper.keeper_address,
                last_checked_in: keeper.last_checked_in,
                text: &message,
            };
            if let Err(detail) = post(&client, &webhook.url, &body).await {
                failures.push(HealthError::Alert { channel: "webhook", detail });
            }
        }
        if let Some(email) = &self.email {
            let to = if keeper.email_id.is_empty() { email.default_to.clone() } else { Some(keeper.email_id.clone()) };
            if let Some(to) = to
                && let Err(detail) = send_email(email, &to, &message).await
            {
                failures.push(HealthError::Alert { channel: "email", detail });
            }
        }
        failures
    }
}

/// Posts `body` to `url`. Errors never carry the URL: a Telegram URL holds the bot token.
async fn post<T: Serialize>(client: &reqwest::Client, url: &str, body: &T) -> Result<(), String> {
    let response = client.post(url).json(body).send().await.map_err(|e| e.without_url().to_string())?;
    if response.status().is_success() { Ok(()) } else { Err(format!("answered {}", response.status())) }
}

async fn send_email(channel: &EmailChannel, to: &str, body: &str) -> Result<(), String> {
    let from: Mailbox = channel.from.parse().map_err(|e| format!("from address: {e}"))?;
    let to: Mailbox = to.parse().map_err(|e| format!("to address: {e}"))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject("TriggerX keeper alert")
        .body(body.to_string())
        .map_err(|e| e.to_string())?;
    let transport: AsyncSmtpTransport<Tokio1Executor> = if channel.starttls {
        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&channel.host)
            .map_err(|e| e.to_string())?
            .port(channel.port)
            .build()
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&channel.host)
            .port(channel.port)
            .timeout(Some(ALERT_TIMEOUT))
            .build()
    };
    transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review M6 (c): the bot token is part of the Telegram URL, and the URL went into the error text
    /// that is logged.
    #[tokio::test]
    async fn a_failed_telegram_alert_does_not_reveal_the_token() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
        let Ok(closed) = closed else { return };
        let channels = AlertChannels {
            telegram: Some(TelegramChannel {
                base_url: format!("http://{closed}"),
                token: "123456:SECRET-TOKEN".into(),
                default_chat_id: Some(1),
            }),
            email: None,
            webhook: None,
        };
        let keeper = OfflineKeeper {
            keeper_id: 1,
            keeper_address: "0x01".into(),
            chat_id: None,
            email_id: String::new(),
            last_checked_in: None,
        };
        let failures = channels.send(AlertKind::Offline, &keeper).await;
        assert_eq!(failures.len(), 1);
        let text = format!("{} {:?}", failures[0], failures[0]);
        assert!(!text.contains("SECRET-TOKEN"), "{text}");
    }
}
