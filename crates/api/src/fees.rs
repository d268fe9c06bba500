//! `GET /api/fees`: the predicted cost of one execution in wei, from configured gas price and a gas
//! estimate of the hub call (base cost plus calldata). A later chain layer replaces the configured gas
//! price with the node's fee history.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use triggerx_core::TaskDefinitionId;
use triggerx_core::abi_args::{convert_arguments, encode_call, find_function, parse_abi};
use triggerx_core::address::normalize_address;
use triggerx_core::ids::ChainId;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryOf;
use crate::state::SharedState;

/// Gas of a hub call that forwards an empty call (hub bookkeeping, balance deduction, the call itself).
pub const BASE_EXECUTION_GAS: u64 = 120_000;
/// Gas per non-zero calldata byte (EIP-2028).
pub const GAS_PER_NONZERO_BYTE: u64 = 16;
/// Gas per zero calldata byte.
pub const GAS_PER_ZERO_BYTE: u64 = 4;
/// Gas assumed for a call whose arguments a script computes.
pub const DYNAMIC_CALL_GAS: u64 = 200_000;

/// Fee parameters (until the chain layer reads them from the node).
#[derive(Debug, Clone)]
pub struct FeeConfig {
    /// Gas price in wei; must be positive so a fee is never zero.
    pub gas_price_wei: u128,
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
            gas_price_wei: 1_000_000_000,
            static_fee_wei: 2_000_000_000_000,
            dynamic_fee_wei: 2_500_000_000_000,
            custom_fee_wei: 3_500_000_000_000,
            prediction_margin_percent: 120,
        }
    }
}

/// Query of `GET /api/fees` (the SDK's parameters).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeeQuery {
    pub ipfs_url: Option<String>,
    pub task_definition_id: Option<String>,
    pub target_chain_id: Option<String>,
    pub target_contract_address: Option<String>,
    pub target_function: Option<String>,
    /// JSON ABI of the target.
    pub abi: Option<String>,
    /// Static arguments: a JSON array of strings, or comma-separated.
    pub args: Option<String>,
}

/// Fee estimate, all amounts in wei as decimal strings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeeResponse {
    /// Predicted cost with the safety margin.
    pub total_fee: String,
    pub total_fee_wei: String,
    /// Expected cost of one execution now.
    pub current_total_fee: String,
    pub current_total_fee_wei: String,
    /// Gas the estimate assumes.
    pub gas_estimate: u64,
    /// Gas price the estimate assumes.
    pub gas_price_wei: String,
}

fn parse_args(text: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<serde_json::Value>>(text) {
        Ok(values) => {
            values.into_iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect()
        }
        Err(_) => text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
    }
}

/// Estimates gas for the query's call.
fn estimate_gas(query: &FeeQuery, definition: TaskDefinitionId) -> ApiResult<u64> {
    if let Some(chain) = query.target_chain_id.as_deref().filter(|c| !c.is_empty()) {
        ChainId::parse(chain, "target_chain_id")?;
    }
    if let Some(address) = query.target_contract_address.as_deref().filter(|a| !a.is_empty()) {
        normalize_address(address, "target_contract_address")?;
    }
    if definition.is_dynamic() {
        return Ok(BASE_EXECUTION_GAS + DYNAMIC_CALL_GAS);
    }
    let (Some(abi_text), Some(function_name)) = (query.abi.as_deref(), query.target_function.as_deref()) else {
        return Ok(BASE_EXECUTION_GAS + DYNAMIC_CALL_GAS);
    };
    let abi = parse_abi(abi_text, "abi")?;
    let args = query.args.as_deref().map(parse_args).unwrap_or_default();
    let function = find_function(&abi, function_name, Some(args.len()), "target_function")?;
    let values = convert_arguments(function, &args, "args")?;
    let calldata = encode_call(function, &values, "args")?;
    let calldata_gas: u64 =
        calldata.iter().map(|b| if *b == 0 { GAS_PER_ZERO_BYTE } else { GAS_PER_NONZERO_BYTE }).sum();
    Ok(BASE_EXECUTION_GAS + calldata_gas)
}

/// Predicted fee of one execution of a job like the one described.
#[utoipa::path(get, path = "/api/fees", tag = "fees", params(FeeQuery),
    responses((status = 200, body = FeeResponse), (status = 400, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_fees(
    State(state): State<SharedState>,
    QueryOf(query): QueryOf<FeeQuery>,
) -> ApiResult<Json<FeeResponse>> {
    let definition_text = query
        .task_definition_id
        .as_deref()
        .ok_or_else(|| ApiError::bad("missing_field", "task_definition_id", "is required"))?;
    let definition =
        definition_text.trim().parse::<i64>().ok().and_then(TaskDefinitionId::from_number).ok_or_else(|| {
            ApiError::bad(
                "invalid_task_definition_id",
                "task_definition_id",
                format!("'{definition_text}' is not one of 1..7"),
            )
        })?;
    if definition.is_dynamic() && query.ipfs_url.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::bad("missing_field", "ipfs_url", "dynamic jobs need the script URL"));
    }
    let gas = estimate_gas(&query, definition)?;
    let fees = &state.fees;
    let keeper_fee = match definition {
        TaskDefinitionId::CustomScript => fees.custom_fee_wei,
        d if d.is_dynamic() => fees.dynamic_fee_wei,
        _ => fees.static_fee_wei,
    };
    let current = u128::from(gas).saturating_mul(fees.gas_price_wei.max(1)).saturating_add(keeper_fee);
    let total = current.saturating_mul(fees.prediction_margin_percent) / 100;
    Ok(Json(FeeResponse {
        total_fee: total.to_string(),
        total_fee_wei: total.to_string(),
        current_total_fee: current.to_string(),
        current_total_fee_wei: current.to_string(),
        gas_estimate: gas,
        gas_price_wei: fees.gas_price_wei.to_string(),
    }))
}
