//! Fuzzes a job's ABI and arguments as the API and the dispatcher read them: ABI text, function name
//! and arguments (lines: ABI, name, then one argument per line), converted and encoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use triggerx_core::abi_args::{convert_arguments, encode_call, find_function, parse_abi, render_values};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let (Some(abi), Some(name)) = (lines.next(), lines.next()) else { return };
    let arguments: Vec<String> = lines.map(str::to_string).collect();
    let Ok(abi) = parse_abi(abi, "abi") else { return };
    let Ok(function) = find_function(&abi, name, Some(arguments.len()), "target_function") else { return };
    if let Ok(values) = convert_arguments(function, &arguments, "arguments") {
        let _ = render_values(&values);
        let _ = encode_call(function, &values, "arguments");
    }
});
