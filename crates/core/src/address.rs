//! EVM addresses: accepted lower-case, upper-case or EIP-55 checksummed; stored lower-case.

use alloy_primitives::Address;

use crate::FieldError;

/// Parses `text` as an address. Mixed case must be a valid EIP-55 checksum.
pub fn parse_address(text: &str, field: &str) -> Result<Address, FieldError> {
    let trimmed = text.trim();
    let Some(hex) = trimmed.strip_prefix("0x") else {
        return Err(FieldError::new("invalid_address", field, format!("'{trimmed}' must start with 0x")));
    };
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FieldError::new("invalid_address", field, format!("'{trimmed}' is not 20 bytes of hex")));
    }
    let uniform_case = hex.bytes().all(|b| !b.is_ascii_uppercase()) || hex.bytes().all(|b| !b.is_ascii_lowercase());
    if uniform_case {
        trimmed.parse::<Address>().map_err(|e| FieldError::new("invalid_address", field, e.to_string()))
    } else {
        Address::parse_checksummed(trimmed, None)
            .map_err(|_| FieldError::new("invalid_address", field, format!("'{trimmed}' has a wrong EIP-55 checksum")))
    }
}

/// Parses and renders the canonical stored form: `0x` + 40 lower-case hex digits.
pub fn normalize_address(text: &str, field: &str) -> Result<String, FieldError> {
    parse_address(text, field).map(|a| format!("{a:#x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lower_upper_and_checksummed() {
        let checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert_eq!(normalize_address(checksummed, "a").unwrap(), checksummed.to_lowercase());
        assert!(parse_address(&checksummed.to_lowercase(), "a").is_ok());
        assert!(parse_address(&format!("0x{}", checksummed[2..].to_uppercase()), "a").is_ok());
    }

    #[test]
    fn rejects_bad_checksum_and_shapes() {
        assert_eq!(
            parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "a").unwrap_err().code,
            "invalid_address"
        );
        assert!(parse_address("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "a").is_err());
        assert!(parse_address("0x1234", "a").is_err());
        assert!(parse_address("0xzzaeb6053f3e94c9b9a09f33669435e7ef1beaed", "a").is_err());
    }
}
