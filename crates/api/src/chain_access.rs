//! The chains this API server serves (fee prediction, on-chain ownership checks) and the keeper fees it
//! quotes.

use std::collections::HashMap;

use alloy::providers::DynProvider;
use triggerx_chain::ChainError;
use triggerx_chain::cost::DEFAULT_FIXED_FEE_WEI;
use triggerx_chain::deploy::ChainDeployment;

use crate::error::{ApiError, ApiResult};

/// Keeper fees and the prediction margin.
#[derive(Debug, Clone)]
pub struct FeeConfig {
    /// Keeper fee per static execution, in wei.
    pub static_fee_wei: u128,
    /// Keeper fee per dynamic execution, in wei.
    pub dynamic_fee_wei: u128,
    /// Keeper fee per custom-script execution, in wei.
    pub custom_fee_wei: u128,
    /// Prediction margin in percent applied to `total_fee` (the original used 120).
    pub prediction_margin_percent: u128,
}

impl Default for FeeConfig {
    fn default() -> Self {
        FeeConfig {
            static_fee_wei: u128::from(DEFAULT_FIXED_FEE_WEI),
            dynamic_fee_wei: 2_500_000_000_000,
            custom_fee_wei: 3_500_000_000_000,
            prediction_margin_percent: 120,
        }
    }
}

/// The chains the API predicts fees on (and, later, checks job ownership on), by chain id.
#[derive(Clone, Default)]
pub struct ChainAccess {
    chains: HashMap<u64, (ChainDeployment, DynProvider)>,
}

impl ChainAccess {
    /// Connects (lazily: no request is made yet) to every chain in `chains`.
    pub fn new(chains: &[ChainDeployment]) -> Result<ChainAccess, ChainError> {
        let mut map = HashMap::new();
        for chain in chains {
            map.insert(chain.chain_id, (chain.clone(), chain.provider()?));
        }
        Ok(ChainAccess { chains: map })
    }

    /// True when this server serves no chain (it then cannot check job ownership on-chain).
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty()
    }

    /// The chain `chain_id`, or a 400 naming `field` and the configured chains.
    pub fn get(&self, chain_id: u64, field: &str) -> ApiResult<&(ChainDeployment, DynProvider)> {
        self.chains.get(&chain_id).ok_or_else(|| {
            let mut known: Vec<u64> = self.chains.keys().copied().collect();
            known.sort_unstable();
            ApiError::bad(
                "unsupported_chain",
                field,
                format!("chain {chain_id} is not served here (served: {known:?})"),
            )
        })
    }
}
