//! The keeper's TOML config file (`triggerx keeper --config FILE`): keys, dispatcher, health service,
//! P2P, the L1 registry (for `keeper register`) and the chains it executes on. Relative paths are
//! relative to the file. Fields a joined `triggerx up` provides may be left out (see `join`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::Address;
use serde::Deserialize;
use triggerx_chain::deploy::ChainDeployment;
use triggerx_p2p::P2pConfig;

use crate::keys::{KeeperKeys, KeySource};
use crate::{KeeperConfig, KeeperError};

/// Seconds between check-ins when the file gives none (the health service's default threshold is 70).
pub const DEFAULT_CHECKIN_SECONDS: u64 = 30;
/// Voting power registered when the file gives none.
pub const DEFAULT_VOTING_POWER: u64 = 100;

/// The file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeeperFile {
    /// A running `triggerx up`'s description (`up.json`): fills dispatcher, health URL, bootstrap
    /// peers, L1 and chains wherever this file leaves them out.
    pub join: Option<PathBuf>,
    /// Address whose task assignments are accepted.
    pub dispatcher: Option<Address>,
    /// Health service base URL.
    pub health_url: Option<String>,
    /// Seconds between check-ins.
    pub checkin_interval_secs: Option<u64>,
    /// No longer used: refused with an explanation (the fee is the hub's rule and the dispatcher's
    /// signed keeper fee, never the keeper's choice).
    pub fixed_fee_wei: Option<String>,
    /// Voting power `keeper register` asks for.
    pub voting_power: Option<u64>,
    /// Key files or dev keys.
    #[serde(default)]
    pub keys: KeysSection,
    /// P2P settings.
    #[serde(default)]
    pub p2p: P2pSection,
    /// L1 registry.
    pub l1: Option<L1Section>,
    /// Chains to execute on.
    #[serde(default)]
    pub chains: Vec<ChainDeployment>,
}

/// `[keys]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysSection {
    /// Controller keystore.
    pub controller: Option<PathBuf>,
    /// Consensus keystore.
    pub consensus: Option<PathBuf>,
    /// BLS keystore.
    pub bls: Option<PathBuf>,
    /// Allows hex keys in the file (local networks only).
    #[serde(default)]
    pub dev: bool,
    /// Dev-mode controller key.
    pub controller_key: Option<String>,
    /// Dev-mode consensus key.
    pub consensus_key: Option<String>,
    /// Dev-mode BLS key.
    pub bls_key: Option<String>,
}

/// `[p2p]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pSection {
    /// Listen multiaddress (default `/ip4/127.0.0.1/tcp/0`).
    pub listen: Option<String>,
    /// Peers to join through, each ending in `/p2p/<peer id>`.
    #[serde(default)]
    pub bootstrap: Vec<String>,
}

/// `[l1]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L1Section {
    /// L1 RPC URL.
    pub rpc_url: String,
    /// `KeeperRegistry` address.
    pub keeper_registry: Address,
}

fn config_error(path: &Path, message: impl std::fmt::Display) -> KeeperError {
    KeeperError::Config(format!("{}: {message}", path.display()))
}

impl KeeperFile {
    /// Reads and parses `path`, resolving relative paths against its directory.
    pub fn read(path: &Path) -> Result<KeeperFile, KeeperError> {
        let text = std::fs::read_to_string(path).map_err(|e| config_error(path, e))?;
        let mut file: KeeperFile = toml::from_str(&text).map_err(|e| config_error(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut Option<PathBuf>| {
            if let Some(p) = p.as_mut().filter(|p| p.is_relative()) {
                *p = base.join(&*p);
            }
        };
        resolve(&mut file.join);
        resolve(&mut file.keys.controller);
        resolve(&mut file.keys.consensus);
        resolve(&mut file.keys.bls);
        Ok(file)
    }

    /// Where the keys come from: all three keystores, or all three dev keys with `dev = true`.
    pub fn key_source(&self) -> Result<KeySource, KeeperError> {
        let k = &self.keys;
        let hex_given = k.controller_key.is_some() || k.consensus_key.is_some() || k.bls_key.is_some();
        if hex_given && !k.dev {
            return Err(KeeperError::Config(
                "keys: hex keys in the config need `dev = true` (local networks only); use keystore files".into(),
            ));
        }
        if k.dev {
            return match (&k.controller_key, &k.consensus_key, &k.bls_key) {
                (Some(controller), Some(consensus), Some(bls)) => Ok(KeySource::Dev {
                    controller: controller.clone(),
                    consensus: consensus.clone(),
                    bls: bls.clone(),
                }),
                _ => Err(KeeperError::Config("keys: dev mode needs controller_key, consensus_key and bls_key".into())),
            };
        }
        match (&k.controller, &k.consensus, &k.bls) {
            (Some(controller), Some(consensus), Some(bls)) => Ok(KeySource::Keystores {
                controller: controller.clone(),
                consensus: consensus.clone(),
                bls: bls.clone(),
            }),
            _ => Err(KeeperError::Config(
                "keys: give the keystore files controller, consensus and bls (or dev keys with dev = true)".into(),
            )),
        }
    }

    /// Refuses settings this version no longer takes.
    pub fn check_retired(&self) -> Result<(), KeeperError> {
        if self.fixed_fee_wei.is_some() {
            return Err(KeeperError::Config(
                "fixed_fee_wei: keepers no longer choose their fee; the hub charges gas used x gas price plus the \
                 keeper fee the dispatcher signs (remove the line)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The L1 registry (`keeper register` needs it).
    pub fn l1(&self) -> Result<&L1Section, KeeperError> {
        self.l1.as_ref().ok_or_else(|| KeeperError::Config("[l1] (rpc_url, keeper_registry) is missing".into()))
    }

    /// The node's settings with `keys`.
    pub fn node_config(&self, keys: &KeeperKeys) -> Result<KeeperConfig, KeeperError> {
        self.check_retired()?;
        let dispatcher = self.dispatcher.ok_or_else(|| KeeperError::Config("dispatcher is missing".into()))?;
        if self.chains.is_empty() {
            return Err(KeeperError::Config("no [[chains]] to execute on".into()));
        }
        let interval = self.checkin_interval_secs.unwrap_or(DEFAULT_CHECKIN_SECONDS);
        if interval == 0 {
            return Err(KeeperError::Config("checkin_interval_secs must be at least 1".into()));
        }
        let mut p2p = P2pConfig { identity_seed: Some(keys.p2p_identity_seed()), ..Default::default() };
        if let Some(listen) = &self.p2p.listen {
            p2p.listen = listen.parse().map_err(|e| KeeperError::Config(format!("p2p.listen: '{listen}' ({e})")))?;
        }
        p2p.bootstrap = self
            .p2p
            .bootstrap
            .iter()
            .map(|a| a.parse().map_err(|e| KeeperError::Config(format!("p2p.bootstrap: '{a}' ({e})"))))
            .collect::<Result<_, _>>()?;
        Ok(KeeperConfig {
            controller_key: keys.controller_hex(),
            consensus_key: keys.consensus_hex(),
            dispatcher,
            chains: self.chains.clone(),
            p2p,
            health_url: self.health_url.clone(),
            checkin_interval: Duration::from_secs(interval),
            bls_key: Some(keys.bls_hex()),
            faults: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<KeeperFile, KeeperError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keeper.toml");
        std::fs::write(&path, text).unwrap();
        KeeperFile::read(&path)
    }

    #[test]
    fn bad_files_are_refused_with_the_field_named() {
        let unknown = parse("dispatchr = \"0x0000000000000000000000000000000000000001\"").unwrap_err();
        assert!(unknown.to_string().contains("dispatchr"), "{unknown}");
        let raw = parse("[keys]\ncontroller_key = \"0x01\"\n").unwrap().key_source().unwrap_err();
        assert!(raw.to_string().contains("dev = true"), "{raw}");
        let partial = parse("[keys]\ncontroller = \"c.json\"\n").unwrap().key_source().unwrap_err();
        assert!(partial.to_string().contains("keystore files"), "{partial}");
        let fee = parse("fixed_fee_wei = \"lots\"").unwrap().check_retired().unwrap_err();
        assert!(fee.to_string().contains("fixed_fee_wei"), "{fee}");
        let keys = KeeperKeys::generate(None);
        let no_dispatcher = parse("").unwrap().node_config(&keys).unwrap_err();
        assert!(no_dispatcher.to_string().contains("dispatcher"), "{no_dispatcher}");
    }

    #[test]
    fn keystore_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keeper.toml");
        std::fs::write(&path, "[keys]\ncontroller = \"k/c.json\"\nconsensus = \"/abs/s.json\"\nbls = \"b.json\"\n")
            .unwrap();
        let KeySource::Keystores { controller, consensus, bls } =
            KeeperFile::read(&path).unwrap().key_source().unwrap()
        else {
            panic!("keystores expected")
        };
        assert_eq!(controller, dir.path().join("k/c.json"));
        assert_eq!(consensus, PathBuf::from("/abs/s.json"));
        assert_eq!(bls, dir.path().join("b.json"));
    }
}
