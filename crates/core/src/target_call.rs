//! The call a job's target makes with a given argument list: one encoding for static arguments and
//! for the arguments a script returns (ABI parsed, function found, arguments converted, calldata
//! encoded and capped), so both kinds of job are held to exactly the same rules.

use alloy_primitives::Address;

use crate::abi_args::{convert_arguments, encode_call, find_function, parse_abi, render_values};
use crate::job::Target;

/// `target.function(arguments)`, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetCall {
    /// The chain it goes to.
    pub chain_id: u64,
    /// The contract called.
    pub contract: Address,
    /// Selector and ABI-encoded arguments.
    pub calldata: Vec<u8>,
    /// The arguments as converted for the ABI (shown on the task).
    pub converted_arguments: Vec<String>,
}

/// The chain id of `target`, or why it is not one.
pub fn target_chain_id(target: &Target) -> Result<u64, String> {
    target.chain_id.parse().map_err(|_| format!("invalid_chain_id: '{}' is not a chain id", target.chain_id))
}

/// Encodes `target.function(arguments)`; the error text names what is wrong (the argument, for a
/// wrong shape).
pub fn encode_target_call(target: &Target, arguments: &[String]) -> Result<TargetCall, String> {
    let chain_id = target_chain_id(target)?;
    let contract: Address = target
        .contract_address
        .parse()
        .map_err(|_| format!("invalid_address: '{}' is not an address", target.contract_address))?;
    let abi = parse_abi(&target.abi, "abi").map_err(|e| e.to_string())?;
    let function =
        find_function(&abi, &target.function, Some(arguments.len()), "target_function").map_err(|e| e.to_string())?;
    let values = convert_arguments(function, arguments, "arguments").map_err(|e| e.to_string())?;
    let calldata = encode_call(function, &values, "arguments").map_err(|e| e.to_string())?;
    Ok(TargetCall { chain_id, contract, calldata, converted_arguments: render_values(&values) })
}
