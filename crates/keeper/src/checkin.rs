//! Check-ins with the health service: the whole payload signed (EIP-191) by the consensus key, sent at
//! start and then every interval.

use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use triggerx_core::checkin::CheckIn;

/// Version reported in check-ins.
pub const KEEPER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Builds and signs a check-in for now.
pub fn signed_checkin(controller: Address, consensus: &PrivateKeySigner, peer_id: &str) -> Result<CheckIn, String> {
    let timestamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let mut checkin = CheckIn {
        keeper_address: format!("{controller:#x}"),
        consensus_address: format!("{:#x}", consensus.address()),
        version: KEEPER_VERSION.into(),
        timestamp,
        peer_id: peer_id.into(),
        signature: String::new(),
    };
    let signature = consensus.sign_message_sync(checkin.message().as_bytes()).map_err(|e| e.to_string())?;
    checkin.signature = format!("0x{}", alloy::hex::encode(signature.as_bytes()));
    Ok(checkin)
}

/// Sends one check-in; errors say what the health service answered.
pub async fn check_in(client: &reqwest::Client, health_url: &str, checkin: &CheckIn) -> Result<(), String> {
    let url = format!("{}/health", health_url.trim_end_matches('/'));
    let response = client.post(&url).json(checkin).send().await.map_err(|e| format!("{url}: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        let status = response.status();
        Err(format!("{url} answered {status}: {}", response.text().await.unwrap_or_default()))
    }
}

/// Checks in now and every `interval`, forever.
pub async fn run(
    health_url: &str,
    controller: Address,
    consensus: &PrivateKeySigner,
    peer_id: &str,
    interval: Duration,
) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        let result = match signed_checkin(controller, consensus, peer_id) {
            Ok(checkin) => check_in(&client, health_url, &checkin).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "check-in failed");
        }
    }
}
