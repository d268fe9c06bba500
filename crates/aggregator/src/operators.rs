//! The operator set the `AttestationCenter` verifies against, as the aggregator needs it: every
//! operator id with its address, voting power and both BLS keys. Ids, addresses, G1 keys and powers
//! come from the center's own `OperatorAdded` / `OperatorRemoved` events; the G2 keys from the L1
//! registry the operators registered on (the center stores only a hash of the G1 key). The set is
//! checked against the center's total voting power, so a submission is never built from a stale set.

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use triggerx_attestation::{BlsPublicKey, Operator};
use triggerx_chain::ChainError;
use triggerx_chain::bindings::{AttestationCenter, KeeperRegistry};

use crate::AggregatorError;

/// The center's operators.
#[derive(Debug, Clone, Default)]
pub struct OperatorSet {
    /// Operators by id.
    pub operators: BTreeMap<u64, Operator>,
    /// Operator ids by address.
    pub ids: HashMap<Address, u64>,
    /// Each operator's consensus address (the key its P2P messages are signed with).
    pub consensus: HashMap<u64, Address>,
    /// The center's quorum share (numerator, denominator).
    pub quorum: (u128, u128),
}

impl OperatorSet {
    /// Whether `sender` is the consensus key of operator `id` (an attestation in its name must be
    /// signed with it, so nobody can pre-empt an operator's verdict with a forged one).
    pub fn speaks_for(&self, sender: Address, id: u64) -> bool {
        self.consensus.get(&id) == Some(&sender)
    }

    /// The id of `address`, if it is an operator.
    pub fn id_of(&self, address: Address) -> Option<u64> {
        self.ids.get(&address).copied()
    }

    /// Reads the set of the center at `center` (events from `from_block`) with G2 keys from `registry`.
    pub async fn load(
        center_provider: &DynProvider,
        center: Address,
        from_block: u64,
        registry: &KeeperRegistry::KeeperRegistryInstance<DynProvider>,
    ) -> Result<OperatorSet, AggregatorError> {
        let filter = Filter::new()
            .address(center)
            .event_signature(vec![
                AttestationCenter::OperatorAdded::SIGNATURE_HASH,
                AttestationCenter::OperatorRemoved::SIGNATURE_HASH,
            ])
            .from_block(from_block);
        let mut logs = center_provider.get_logs(&filter).await.map_err(ChainError::from)?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let mut live: BTreeMap<u64, (Address, [U256; 2], u128)> = BTreeMap::new();
        for log in &logs {
            if let Ok(added) = AttestationCenter::OperatorAdded::decode_log(&log.inner) {
                let id: u64 = added.operatorId.saturating_to();
                live.insert(id, (added.operator, added.keyG1, added.votingPower.saturating_to()));
            } else if let Ok(removed) = AttestationCenter::OperatorRemoved::decode_log(&log.inner) {
                live.remove(&removed.operatorId.saturating_to());
            }
        }
        let mut set = OperatorSet::default();
        for (id, (address, key_g1, power)) in live {
            let registered = registry.getOperator(address).call().await.map_err(ChainError::from)?;
            if registered.blsKeyG1 != key_g1 {
                return Err(AggregatorError::OutOfSync(format!(
                    "operator {id}'s G1 key differs between L1 and the center"
                )));
            }
            let key = BlsPublicKey::from_words(&key_g1, &registered.blsPublicKey)?;
            set.operators.insert(id, Operator { key, power });
            set.ids.insert(address, id);
            set.consensus.insert(id, registered.consensusAddress);
        }
        let contract = AttestationCenter::new(center, center_provider.clone());
        let total: u128 = contract.totalVotingPower().call().await.map_err(ChainError::from)?.saturating_to();
        let counted: u128 = set.operators.values().map(|o| o.power).sum();
        if total != counted {
            return Err(AggregatorError::OutOfSync(format!(
                "the center's events give voting power {counted}, the center holds {total}"
            )));
        }
        set.quorum = triggerx_chain::attestation::quorum_share(center_provider, center).await?;
        Ok(set)
    }
}
