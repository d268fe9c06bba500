//! `GET /api/fees`: the predicted cost of one execution in wei, made by the chain layer's cost
//! prediction (the one keepers use) against the job's chain: the node's gas estimate of the target call
//! as the hub makes it, plus the hub's overhead, x the node's current max fee, + the keeper fee.

use alloy::primitives::{Address, Bytes, U256};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use triggerx_chain::ChainError;
use triggerx_chain::cost::{CostCall, predict_cost};
use triggerx_core::TaskDefinitionId;
use triggerx_core::abi_args::{convert_arguments, encode_call, find_function, parse_abi};
use triggerx_core::address::normalize_address;
use triggerx_core::ids::ChainId;

pub use crate::chain_access::{ChainAccess, FeeConfig};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryOf;
use crate::state::SharedState;

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
    /// Max fee per gas the node quotes now, wei.
    pub gas_price_wei: String,
    /// `node_estimate` (the node estimated the call) or `assumed` (arguments unknown in advance, or the
    /// call reverts today: a fixed allowance is assumed).
    pub gas_source: String,
}

fn parse_args(text: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<serde_json::Value>>(text) {
        Ok(values) => {
            values.into_iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect()
        }
        Err(_) => text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
    }
}

/// The query's call, validated (a 400 names the bad field): target and calldata, or `None` when it is
/// not known in advance (dynamic arguments, or no target, ABI or function given).
fn target_call(query: &FeeQuery, definition: TaskDefinitionId) -> ApiResult<Option<(Address, Bytes)>> {
    let target = query
        .target_contract_address
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(|a| normalize_address(a, "target_contract_address"))
        .transpose()?;
    if definition.is_dynamic() {
        return Ok(None);
    }
    let (Some(abi_text), Some(function_name)) = (query.abi.as_deref(), query.target_function.as_deref()) else {
        return Ok(None);
    };
    let abi = parse_abi(abi_text, "abi")?;
    let args = query.args.as_deref().map(parse_args).unwrap_or_default();
    let function = find_function(&abi, function_name, Some(args.len()), "target_function")?;
    let values = convert_arguments(function, &args, "args")?;
    let input = encode_call(function, &values, "args")?;
    let Some(target) = target else {
        return Ok(None);
    };
    let target: Address =
        target.parse().map_err(|_| ApiError::bad("invalid_address", "target_contract_address", "not an address"))?;
    Ok(Some((target, input.into())))
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
    let chain_text =
        query.target_chain_id.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| {
            ApiError::bad("missing_field", "target_chain_id", "is required: fees depend on the chain")
        })?;
    let chain_id = ChainId::parse(chain_text, "target_chain_id")?;
    // Validate the whole query before touching the chain, so bad input is named even for unknown chains.
    let target = target_call(&query, definition)?;
    let (contracts, provider) = state.chains.get(chain_id.0, "target_chain_id")?;
    let call = match target {
        Some((target, input)) => CostCall::Forwarded { hub: contracts.contracts.hub, target, input },
        None => CostCall::Unknown,
    };
    let fees = &state.fees;
    let keeper_fee = U256::from(match definition {
        TaskDefinitionId::CustomScript => fees.custom_fee_wei,
        d if d.is_dynamic() => fees.dynamic_fee_wei,
        _ => fees.static_fee_wei,
    });
    let unavailable = |e: ChainError| ApiError::Unavailable(format!("chain {}: {e}", chain_id.0));
    let assumed = matches!(call, CostCall::Unknown);
    let prediction = match predict_cost(provider, call, keeper_fee).await {
        Ok(prediction) => (prediction, assumed),
        // The call reverts today (it may succeed when the trigger fires): assume the fixed allowance.
        Err(ChainError::Reverted { .. }) => {
            (predict_cost(provider, CostCall::Unknown, keeper_fee).await.map_err(unavailable)?, true)
        }
        Err(e) => return Err(unavailable(e)),
    };
    let (prediction, assumed) = prediction;
    let current = prediction.cost;
    let total = current * U256::from(fees.prediction_margin_percent) / U256::from(100);
    Ok(Json(FeeResponse {
        total_fee: total.to_string(),
        total_fee_wei: total.to_string(),
        current_total_fee: current.to_string(),
        current_total_fee_wei: current.to_string(),
        gas_estimate: prediction.gas,
        gas_price_wei: prediction.max_fee_per_gas.to_string(),
        gas_source: if assumed { "assumed" } else { "node_estimate" }.into(),
    }))
}
