//! Static call arguments: find `target_function` in a JSON ABI and convert string arguments to its
//! parameter types (every Solidity type: uintN/intN, address, bool, bytesN, bytes, string, arrays, tuples).

use alloy_dyn_abi::{DynSolType, DynSolValue, JsonAbiExt, Specifier};
use alloy_json_abi::{Function, JsonAbi};

use crate::FieldError;

/// Parses a JSON ABI (an array of items) given as text.
pub fn parse_abi(abi_json: &str, field: &str) -> Result<JsonAbi, FieldError> {
    if abi_json.trim().is_empty() {
        return Err(FieldError::new("invalid_abi", field, "the ABI is empty"));
    }
    serde_json::from_str::<JsonAbi>(abi_json)
        .map_err(|e| FieldError::new("invalid_abi", field, format!("not a JSON ABI array: {e}")))
}

/// Finds the function `target` in `abi`. `target` is a name (`increment`) or a full signature
/// (`setValue(uint256)`); a bare name that is overloaded is resolved by `arg_count` when given.
pub fn find_function<'a>(
    abi: &'a JsonAbi,
    target: &str,
    arg_count: Option<usize>,
    field: &str,
) -> Result<&'a Function, FieldError> {
    let target = target.trim();
    let name = target.split('(').next().unwrap_or(target);
    let candidates = abi.function(name).map(Vec::as_slice).unwrap_or_default();
    if candidates.is_empty() {
        return Err(FieldError::new("unknown_function", field, format!("function '{name}' is not in the ABI")));
    }
    if target.contains('(') {
        let wanted: String = target.chars().filter(|c| !c.is_whitespace()).collect();
        return candidates.iter().find(|f| f.signature() == wanted).ok_or_else(|| {
            FieldError::new("unknown_function", field, format!("no overload of '{name}' has signature '{wanted}'"))
        });
    }
    match (candidates, arg_count) {
        ([only], _) => Ok(only),
        (many, Some(count)) => {
            let mut matching = many.iter().filter(|f| f.inputs.len() == count);
            match (matching.next(), matching.next()) {
                (Some(f), None) => Ok(f),
                (None, _) => Err(FieldError::new(
                    "unknown_function",
                    field,
                    format!("no overload of '{name}' takes {count} arguments"),
                )),
                (Some(_), Some(_)) => Err(FieldError::new(
                    "ambiguous_function",
                    field,
                    format!("'{name}' is overloaded with {count} arguments; give the full signature"),
                )),
            }
        }
        (_, None) => Err(FieldError::new(
            "ambiguous_function",
            field,
            format!("'{name}' is overloaded; give the full signature"),
        )),
    }
}

/// Converts `args` (strings) to the parameter types of `function` (a `string` parameter takes its
/// argument verbatim). Errors name the argument: `field[i]` and the parameter's name and type.
pub fn convert_arguments(function: &Function, args: &[String], field: &str) -> Result<Vec<DynSolValue>, FieldError> {
    if args.len() != function.inputs.len() {
        return Err(FieldError::new(
            "argument_count",
            field,
            format!("{} takes {} arguments, {} given", function.signature(), function.inputs.len(), args.len()),
        ));
    }
    function
        .inputs
        .iter()
        .zip(args)
        .enumerate()
        .map(|(index, (param, arg))| {
            let arg_field = format!("{field}[{index}]");
            let ty: DynSolType = param
                .resolve()
                .map_err(|e| FieldError::new("invalid_abi", arg_field.clone(), format!("type '{}': {e}", param.ty)))?;
            // A string parameter is the argument as given: no trimming, and quotes are characters (the
            // list syntax of arrays and tuples applies only inside those). Found by a property test.
            if ty == DynSolType::String {
                return Ok(DynSolValue::String(arg.clone()));
            }
            ty.coerce_str(arg.trim()).map_err(|e| {
                let label = if param.name.is_empty() { String::new() } else { format!(" '{}'", param.name) };
                FieldError::new(
                    "invalid_argument",
                    arg_field,
                    format!("argument{label} '{arg}' is not a valid {}: {e}", ty.sol_type_name()),
                )
            })
        })
        .collect()
}

/// Encodes a call: selector + ABI-encoded converted arguments.
pub fn encode_call(function: &Function, values: &[DynSolValue], field: &str) -> Result<Vec<u8>, FieldError> {
    let calldata =
        function.abi_encode_input(values).map_err(|e| FieldError::new("invalid_argument", field, e.to_string()))?;
    if calldata.len() > MAX_CALLDATA_BYTES {
        return Err(FieldError::new(
            "too_long",
            field,
            format!("encode to {} bytes of calldata, at most {MAX_CALLDATA_BYTES}", calldata.len()),
        ));
    }
    Ok(calldata)
}

/// Longest calldata a job's call may have. The hub transaction wraps it with the assignment and its
/// signature, and nodes refuse transactions over 128 KiB (geth's `txMaxSize`), so a longer call could
/// never be sent; it also bounds the assignment message every keeper receives.
pub const MAX_CALLDATA_BYTES: usize = 120 * 1024;

/// Renders converted values back as canonical strings (what the task records as `converted_arguments`).
pub fn render_values(values: &[DynSolValue]) -> Vec<String> {
    values.iter().map(render_value).collect()
}

fn render_value(value: &DynSolValue) -> String {
    match value {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::FixedBytes(word, size) => format!("0x{}", alloy_primitives::hex::encode(&word[..*size])),
        DynSolValue::Address(a) => format!("{a:#x}"),
        DynSolValue::Function(f) => format!("0x{}", alloy_primitives::hex::encode(f.as_slice())),
        DynSolValue::Bytes(b) => format!("0x{}", alloy_primitives::hex::encode(b)),
        DynSolValue::String(s) => s.clone(),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            format!("[{}]", items.iter().map(render_value).collect::<Vec<_>>().join(","))
        }
        DynSolValue::Tuple(items) => format!("({})", items.iter().map(render_value).collect::<Vec<_>>().join(",")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABI: &str = r#"[
      {"type":"function","name":"increment","inputs":[],"outputs":[],"stateMutability":"nonpayable"},
      {"type":"function","name":"setAll","stateMutability":"nonpayable","outputs":[],"inputs":[
        {"name":"a","type":"uint8"},{"name":"b","type":"int256"},{"name":"who","type":"address"},
        {"name":"flag","type":"bool"},{"name":"tag","type":"bytes4"},{"name":"blob","type":"bytes"},
        {"name":"label","type":"string"},{"name":"list","type":"uint256[]"},{"name":"pair","type":"uint16[2]"},
        {"name":"t","type":"tuple","components":[{"name":"x","type":"uint64"},{"name":"y","type":"address"}]}]},
      {"type":"function","name":"over","inputs":[{"name":"a","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"},
      {"type":"function","name":"over","inputs":[{"name":"a","type":"uint256"},{"name":"b","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"}
    ]"#;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn converts_every_kind_of_type() {
        let abi = parse_abi(ABI, "abi").unwrap();
        let f = find_function(&abi, "setAll", Some(10), "target_function").unwrap();
        let args = strings(&[
            "255",
            "-5",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "true",
            "0xdeadbeef",
            "0x0102",
            "hello",
            "[1,2,3]",
            "[7,8]",
            "(9,0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed)",
        ]);
        let values = convert_arguments(f, &args, "arguments").unwrap();
        let rendered = render_values(&values);
        assert_eq!(rendered[0], "255");
        assert_eq!(rendered[1], "-5");
        assert_eq!(rendered[4], "0xdeadbeef");
        assert_eq!(rendered[7], "[1,2,3]");
        assert_eq!(rendered[9], "(9,0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed)");
        let calldata = encode_call(f, &values, "arguments").unwrap();
        assert_eq!(&calldata[..4], f.selector().as_slice());
    }

    #[test]
    fn a_call_over_the_calldata_limit_is_refused_naming_the_arguments() {
        let function = alloy_json_abi::Function::parse("function note(string text)").unwrap();
        let fits = convert_arguments(&function, &["x".repeat(MAX_CALLDATA_BYTES - 200)], "arguments").unwrap();
        assert!(encode_call(&function, &fits, "arguments").is_ok());
        let over = convert_arguments(&function, &["x".repeat(MAX_CALLDATA_BYTES)], "arguments").unwrap();
        let error = encode_call(&function, &over, "arguments").unwrap_err();
        assert_eq!((error.code, error.field.as_str()), ("too_long", "arguments"), "{error:?}");
    }

    #[test]
    fn errors_name_the_argument() {
        let abi = parse_abi(ABI, "abi").unwrap();
        let f = find_function(&abi, "setAll", None, "target_function").unwrap();
        let mut args = strings(&[
            "256",
            "1",
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "true",
            "0xdeadbeef",
            "0x",
            "s",
            "[]",
            "[1,2]",
            "(1,0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed)",
        ]);
        let err = convert_arguments(f, &args, "arguments").unwrap_err();
        assert_eq!(err.field, "arguments[0]");
        assert!(err.message.contains("'a'"), "{}", err.message);
        args[0] = "1".into();
        args[3] = "maybe".into();
        assert_eq!(convert_arguments(f, &args, "arguments").unwrap_err().field, "arguments[3]");
        assert_eq!(convert_arguments(f, &args[..2], "arguments").unwrap_err().code, "argument_count");
    }

    #[test]
    fn finds_functions_by_name_signature_and_arity() {
        let abi = parse_abi(ABI, "abi").unwrap();
        assert_eq!(find_function(&abi, "over", Some(2), "f").unwrap().inputs.len(), 2);
        assert_eq!(find_function(&abi, "over(uint256)", None, "f").unwrap().inputs.len(), 1);
        assert_eq!(find_function(&abi, "over", None, "f").unwrap_err().code, "ambiguous_function");
        assert_eq!(find_function(&abi, "missing", None, "f").unwrap_err().code, "unknown_function");
        assert_eq!(parse_abi("{not json", "abi").unwrap_err().code, "invalid_abi");
    }
}
