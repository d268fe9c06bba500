//! The keeper's three keys: the controller key (sends transactions; its address is the registered
//! operator), the consensus key (signs P2P messages and check-ins) and the BLS key (attestations).
//! They are read from encrypted keystore files (Web3 Secret Storage, scrypt + AES-128-CTR, the format
//! of geth and foundry) or, in dev mode only, from hex in the config.

use std::path::{Path, PathBuf};

use alloy::primitives::keccak256;
use alloy::signers::local::PrivateKeySigner;
use triggerx_chain::deploy::signer_from_key;
use triggerx_chain::keepers::BlsRegistration;

use crate::KeeperError;
pub use triggerx_attestation::BlsSecretKey;

/// File names `write_keystores` uses.
pub const CONTROLLER_KEYSTORE: &str = "controller.json";
/// Consensus keystore file name.
pub const CONSENSUS_KEYSTORE: &str = "consensus.json";
/// BLS keystore file name.
pub const BLS_KEYSTORE: &str = "bls.json";

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Encrypted keystore files (one password opens all three).
    Keystores {
        /// Controller keystore.
        controller: PathBuf,
        /// Consensus keystore.
        consensus: PathBuf,
        /// BLS keystore.
        bls: PathBuf,
    },
    /// Hex keys written in the config (dev mode: local networks only).
    Dev {
        /// Controller key.
        controller: String,
        /// Consensus key.
        consensus: String,
        /// BLS key.
        bls: String,
    },
}

impl KeySource {
    /// Whether loading needs a password.
    pub fn needs_password(&self) -> bool {
        matches!(self, KeySource::Keystores { .. })
    }
}

/// The loaded keys.
#[derive(Debug, Clone)]
pub struct KeeperKeys {
    /// Sends transactions.
    pub controller: PrivateKeySigner,
    /// Signs messages and check-ins.
    pub consensus: PrivateKeySigner,
    /// Signs attestations.
    pub bls: BlsSecretKey,
}

/// Makes `path` readable and writable by its owner only (eth_keystore writes with the umask's mode).
fn owner_only(path: &Path) -> Result<(), KeeperError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| KeeperError::Config(format!("restricting {}: {e}", path.display())))?;
    }
    Ok(())
}

fn hex_key(signer: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(signer.to_bytes()))
}

impl KeeperKeys {
    /// Fresh random keys (the controller may be given: an existing funded account).
    pub fn generate(controller: Option<PrivateKeySigner>) -> Self {
        KeeperKeys {
            controller: controller.unwrap_or_else(PrivateKeySigner::random),
            consensus: PrivateKeySigner::random(),
            bls: BlsSecretKey::random(),
        }
    }

    /// The BLS key as `KeeperRegistry.register` takes it, with the proof of possession for this
    /// operator (the controller address) at `registry` on `chain_id`.
    pub fn bls_registration(&self, chain_id: u64, registry: alloy::primitives::Address) -> BlsRegistration {
        BlsRegistration::new(&self.bls, chain_id, registry, self.controller.address())
    }

    /// Loads the keys; `password` opens keystores (ignored for dev keys).
    pub fn load(source: &KeySource, password: &str) -> Result<Self, KeeperError> {
        match source {
            KeySource::Dev { controller, consensus, bls } => Ok(KeeperKeys {
                controller: signer_from_key(controller)
                    .map_err(|e| KeeperError::Config(format!("keys.controller_key: {e}")))?,
                consensus: signer_from_key(consensus)
                    .map_err(|e| KeeperError::Config(format!("keys.consensus_key: {e}")))?,
                bls: BlsSecretKey::from_hex(bls).map_err(|e| KeeperError::Config(format!("keys.bls_key: {e}")))?,
            }),
            KeySource::Keystores { controller, consensus, bls } => {
                let controller = decrypt(controller, password)?;
                let consensus = decrypt(consensus, password)?;
                let bls_bytes = decrypt(bls, password)?;
                Ok(KeeperKeys {
                    controller: signer_from_bytes(&controller, "controller")?,
                    consensus: signer_from_bytes(&consensus, "consensus")?,
                    bls: BlsSecretKey::from_bytes(&bls_bytes)?,
                })
            }
        }
    }

    /// Writes the three keys as keystores encrypted with `password` into `dir` (created if needed),
    /// readable by their owner only (0600); refuses to overwrite existing files.
    pub fn write_keystores(&self, dir: &Path, password: &str) -> Result<KeySource, KeeperError> {
        std::fs::create_dir_all(dir).map_err(|e| KeeperError::Config(format!("creating {}: {e}", dir.display())))?;
        let mut rng = rand::thread_rng();
        let secrets: [(&str, Vec<u8>); 3] = [
            (CONTROLLER_KEYSTORE, self.controller.to_bytes().to_vec()),
            (CONSENSUS_KEYSTORE, self.consensus.to_bytes().to_vec()),
            (BLS_KEYSTORE, self.bls.to_bytes().to_vec()),
        ];
        for (name, _) in &secrets {
            if dir.join(name).exists() {
                return Err(KeeperError::Config(format!("{} exists; not overwriting a key", dir.join(name).display())));
            }
        }
        for (name, secret) in &secrets {
            let path = dir.join(name);
            eth_keystore::encrypt_key(dir, &mut rng, secret, password, Some(name))
                .map_err(|e| KeeperError::Config(format!("writing {}: {e}", path.display())))?;
            owner_only(&path)?;
        }
        Ok(KeySource::Keystores {
            controller: dir.join(CONTROLLER_KEYSTORE),
            consensus: dir.join(CONSENSUS_KEYSTORE),
            bls: dir.join(BLS_KEYSTORE),
        })
    }

    /// The controller key as hex.
    pub fn controller_hex(&self) -> String {
        hex_key(&self.controller)
    }

    /// The consensus key as hex.
    pub fn consensus_hex(&self) -> String {
        hex_key(&self.consensus)
    }

    /// The BLS key as hex.
    pub fn bls_hex(&self) -> String {
        format!("0x{}", alloy::hex::encode(self.bls.to_bytes()))
    }

    /// A stable libp2p identity seed derived from the consensus key (the peer id survives restarts).
    pub fn p2p_identity_seed(&self) -> [u8; 32] {
        let mut material = b"triggerx-p2p-identity".to_vec();
        material.extend_from_slice(self.consensus.to_bytes().as_slice());
        keccak256(material).0
    }
}

fn decrypt(path: &Path, password: &str) -> Result<Vec<u8>, KeeperError> {
    if !path.exists() {
        return Err(KeeperError::Config(format!("keystore {} does not exist", path.display())));
    }
    eth_keystore::decrypt_key(path, password).map_err(|e| {
        let why = match e {
            eth_keystore::KeystoreError::MacMismatch => "wrong password".to_string(),
            other => other.to_string(),
        };
        KeeperError::Config(format!("keystore {}: {why}", path.display()))
    })
}

fn signer_from_bytes(bytes: &[u8], which: &str) -> Result<PrivateKeySigner, KeeperError> {
    PrivateKeySigner::from_slice(bytes).map_err(|e| KeeperError::Config(format!("{which} keystore: not a key ({e})")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keystores_round_trip_and_a_wrong_password_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let keys = KeeperKeys::generate(None);
        let source = keys.write_keystores(dir.path(), "correct horse").unwrap();
        let loaded = KeeperKeys::load(&source, "correct horse").unwrap();
        assert_eq!(loaded.controller.address(), keys.controller.address());
        assert_eq!(loaded.consensus.address(), keys.consensus.address());
        assert_eq!(loaded.bls.public_key(), keys.bls.public_key());
        assert_eq!(loaded.p2p_identity_seed(), keys.p2p_identity_seed());

        let wrong = KeeperKeys::load(&source, "wrong").unwrap_err().to_string();
        assert!(wrong.contains("wrong password") && wrong.contains(CONTROLLER_KEYSTORE), "{wrong}");
        let again = keys.write_keystores(dir.path(), "x").unwrap_err().to_string();
        assert!(again.contains("not overwriting"), "{again}");
        let text = std::fs::read_to_string(dir.path().join(CONSENSUS_KEYSTORE)).unwrap();
        assert!(!text.contains(&alloy::hex::encode(keys.consensus.to_bytes())), "the key is stored encrypted");
        #[cfg(unix)]
        for name in [CONTROLLER_KEYSTORE, CONSENSUS_KEYSTORE, BLS_KEYSTORE] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name} is readable by its owner only (review M6e)");
        }
    }

    #[test]
    fn a_keeper_configuration_does_not_print_its_keys() {
        let keys = KeeperKeys::generate(None);
        let config = crate::KeeperConfig {
            controller_key: keys.controller_hex(),
            consensus_key: keys.consensus_hex(),
            dispatcher: alloy::primitives::Address::ZERO,
            chains: Vec::new(),
            p2p: Default::default(),
            health_url: None,
            checkin_interval: std::time::Duration::from_secs(1),
            bls_key: Some(keys.bls_hex()),
            faults: Default::default(),
        };
        let printed = format!("{config:?}");
        for key in [keys.controller_hex(), keys.consensus_hex(), keys.bls_hex()] {
            assert!(!printed.contains(key.trim_start_matches("0x")), "review M6d: {printed}");
        }
        assert!(printed.contains("<redacted>"));
    }
}
