//! The predicted cost of one execution, shared by keepers (before they send) and the API's
//! `GET /api/fees` (before a job exists): gas estimated by the node x the node's current max fee per
//! gas + a fixed keeper fee.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;

use crate::ChainError;

/// Keeper fee added to every execution when none is configured, wei.
pub const DEFAULT_FIXED_FEE_WEI: u64 = 1_000_000_000_000;

/// Gas the hub spends around the forwarded call (the transaction's calldata, the assignment's checks
/// and signature, marking the task executed, holding the owner's fee in escrow for its verdict, the
/// event), measured on the devnet (the first `executeFunction` of `Counter.incrementBy`, cold storage:
/// 89,190 more than the same call made directly) and rounded up; a test keeps it above the real figure.
pub const HUB_OVERHEAD_GAS: u64 = 95_000;

/// Gas assumed for a call whose arguments are not known in advance (computed by a script).
pub const UNKNOWN_CALL_GAS: u64 = 200_000;

/// What one execution is expected to cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostPrediction {
    /// Gas the execution is expected to use.
    pub gas: u64,
    /// The node's current max fee per gas, wei.
    pub max_fee_per_gas: u128,
    /// The fixed keeper fee, wei.
    pub fixed_fee: U256,
    /// `gas x max_fee_per_gas + fixed_fee`, wei.
    pub cost: U256,
}

impl CostPrediction {
    /// The cost of `gas` at `max_fee_per_gas` plus `fixed_fee`.
    pub fn new(gas: u64, max_fee_per_gas: u128, fixed_fee: U256) -> Self {
        let cost = U256::from(gas) * U256::from(max_fee_per_gas) + fixed_fee;
        CostPrediction { gas, max_fee_per_gas, fixed_fee, cost }
    }
}

/// What to estimate.
#[derive(Debug, Clone)]
pub enum CostCall {
    /// The hub call itself, as the performing keeper would send it (exact: used by keepers).
    HubCall {
        /// The sending keeper.
        from: Address,
        /// `TaskExecutionHub`.
        hub: Address,
        /// Encoded `executeFunction` call.
        input: Bytes,
    },
    /// The target call as the hub would make it, plus [`HUB_OVERHEAD_GAS`] (used before a job exists).
    Forwarded {
        /// `TaskExecutionHub` (the caller the target sees).
        hub: Address,
        /// The job's target.
        target: Address,
        /// Encoded target call.
        input: Bytes,
    },
    /// A call whose arguments are unknown: [`UNKNOWN_CALL_GAS`] plus [`HUB_OVERHEAD_GAS`].
    Unknown,
}

/// Predicts the cost of `call`: the gas estimate and the fee estimate are asked of the node together.
pub async fn predict_cost(
    provider: &DynProvider,
    call: CostCall,
    fixed_fee: U256,
) -> Result<CostPrediction, ChainError> {
    let (request, overhead) = match call {
        CostCall::HubCall { from, hub, input } => {
            (Some(TransactionRequest::default().with_from(from).with_to(hub).with_input(input)), 0)
        }
        CostCall::Forwarded { hub, target, input } => {
            (Some(TransactionRequest::default().with_from(hub).with_to(target).with_input(input)), HUB_OVERHEAD_GAS)
        }
        CostCall::Unknown => (None, HUB_OVERHEAD_GAS + UNKNOWN_CALL_GAS),
    };
    let gas = async {
        match request {
            Some(request) => provider.estimate_gas(request).await.map_err(ChainError::from),
            None => Ok(0),
        }
    };
    let (gas, fees) = tokio::join!(gas, provider.estimate_eip1559_fees());
    Ok(CostPrediction::new(gas?.saturating_add(overhead), fees?.max_fee_per_gas, fixed_fee))
}
