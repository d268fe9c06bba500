//! Mirrors the L1 keeper set into each `AttestationCenter`: every registered keeper is an operator
//! there with its L1 id, G1 key, proof of possession and voting power (all read back from the L1
//! registry, not from the store, so the center admits exactly what L1 admitted); unregistered keepers
//! are removed, and a changed voting power is a removal and an addition. An operator the center refuses
//! (its proof does not verify there) is logged and left out, so one bad key cannot stop the sync.

use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;
use alloy::sol_types::SolCall;
use triggerx_chain::ChainError;
use triggerx_chain::bindings::{AttestationCenter, KeeperRegistry};
use triggerx_core::keeper::Keeper;

use crate::{Administered, RegistrarError};

/// Brings the center's operators in line with `keepers`; returns how many operators changed.
pub(crate) async fn sync(
    center_contract: &Administered,
    registry: &KeeperRegistry::KeeperRegistryInstance<DynProvider>,
    keepers: &[Keeper],
) -> Result<usize, RegistrarError> {
    let center = AttestationCenter::new(center_contract.address, center_contract.provider.clone());
    let mut changes = 0;
    for keeper in keepers {
        let Some(id) = keeper.operator_id.and_then(|id| u64::try_from(id).ok()) else { continue };
        let id = U256::from(id);
        let address: Address = keeper.keeper_address.parse().map_err(|e| RegistrarError::Decode(format!("{e}")))?;
        let present = center.votingPower(id).call().await.map_err(ChainError::from)?;
        if !keeper.registered && present.is_zero() {
            continue;
        }
        let operator = registry.getOperator(address).call().await.map_err(ChainError::from)?;
        let wanted = if operator.registered { operator.votingPower } else { U256::ZERO };
        if wanted == present {
            continue;
        }
        if !present.is_zero() {
            let call = AttestationCenter::removeOperatorCall { operatorId: id, keyG1: operator.blsKeyG1 };
            center_contract.send(call.abi_encode()).await?;
            changes += 1;
        }
        if !wanted.is_zero() {
            let call = AttestationCenter::addOperatorCall {
                operatorId: id,
                operator: address,
                keyG1: operator.blsKeyG1,
                keyG2: operator.blsPublicKey,
                proof: operator.proofOfPossession,
                power: wanted.saturating_to(),
            };
            match center_contract.send(call.abi_encode()).await {
                Ok(()) => changes += 1,
                Err(e) => {
                    tracing::warn!(operator = %address, error = %e, "the attestation center refused a keeper")
                }
            }
        }
    }
    Ok(changes)
}
