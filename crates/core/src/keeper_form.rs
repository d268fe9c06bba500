//! The keeper sign-up form's proof of origin: the exact text a keeper signs (EIP-191 personal message
//! over every field it sets) and recovery of the signer, so only the keeper changes its own record.

use std::str::FromStr;

use alloy_primitives::{Address, Signature};

use crate::FieldError;
use crate::address::parse_address;
use crate::keeper::KeeperForm;

/// How far `signed_at` may be from the server's clock, in seconds.
pub const FORM_SIGNATURE_WINDOW_SECONDS: i64 = 300;

impl KeeperForm {
    /// The text the keeper signs: every field but the signature, addresses lower-case, absent fields empty.
    pub fn message(&self) -> String {
        format!(
            "TriggerX keeper form\nkeeper: {}\nname: {}\nrewards: {}\nemail: {}\nsigned_at: {}",
            self.keeper_address.trim().to_lowercase(),
            self.keeper_name.trim(),
            self.rewards_address.as_deref().unwrap_or("").trim().to_lowercase(),
            self.email_id.as_deref().unwrap_or("").trim(),
            self.signed_at.unwrap_or_default()
        )
    }

    /// The address that signed the form, checked to be fresh at `now` (unix seconds).
    pub fn signer(&self, now: i64) -> Result<Address, FieldError> {
        parse_address(&self.keeper_address, "keeper_address")?;
        let Some(signature) = self.signature.as_deref() else {
            return Err(FieldError::new(
                "missing_signature",
                "signature",
                "a keeper form needs the keeper's signature (or an admin key)",
            ));
        };
        let Some(signed_at) = self.signed_at else {
            return Err(FieldError::new("missing_field", "signed_at", "the unix time the form was signed is required"));
        };
        if (now - signed_at).abs() > FORM_SIGNATURE_WINDOW_SECONDS {
            return Err(FieldError::new(
                "stale_signature",
                "signed_at",
                format!("must be within {FORM_SIGNATURE_WINDOW_SECONDS} s of the server's clock ({now})"),
            ));
        }
        let signature = Signature::from_str(signature.trim())
            .map_err(|e| FieldError::new("invalid_signature", "signature", format!("not a 65-byte signature: {e}")))?;
        signature
            .recover_address_from_msg(self.message().as_bytes())
            .map_err(|e| FieldError::new("invalid_signature", "signature", format!("cannot recover the signer: {e}")))
    }
}
