//! The dispatcher's signing key: kept in a 0600 file so a restarted dispatcher signs with the same
//! address (the one the hubs trust and the keepers accept).

use std::path::Path;

use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use triggerx_chain::deploy::signer_from_key;

use crate::commands::secret_file::write_private;

/// File name of the dispatcher key in the data directory.
pub const DISPATCHER_KEY_FILE: &str = "dispatcher.key";

/// The key in `path`, or a new one written there.
pub fn load_or_create(path: &Path) -> anyhow::Result<PrivateKeySigner> {
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return signer_from_key(text.trim()).with_context(|| format!("{} holds no private key", path.display()));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let key = PrivateKeySigner::random();
    write_private(path, &format!("0x{}\n", alloy::hex::encode(key.to_bytes())))?;
    Ok(key)
}
