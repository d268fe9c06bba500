//! Where scripts come from: an `ipfs://CID` read through a configurable gateway, or an http(s) URL,
//! fetched through the outbound guard with a size cap, and identified by the keccak256 of its bytes
//! (pinned when the job is created, so a script changed behind the URL is refused).

use std::time::Duration;

use triggerx_http::outbound::AddressPolicy;
use url::Url;

use crate::ScriptError;

/// Most bytes of a script.
pub const MAX_SCRIPT_BYTES: usize = 128 * 1024;

/// How scripts are fetched.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Gateway `ipfs://` URLs are read through (`{gateway}/ipfs/{cid}`).
    pub ipfs_gateway: String,
    /// Addresses script URLs may reach.
    pub policy: AddressPolicy,
    /// Time for one fetch.
    pub timeout: Duration,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            ipfs_gateway: "https://ipfs.io".into(),
            policy: AddressPolicy::public_only(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A fetched script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSource {
    /// Its text.
    pub text: String,
    /// keccak256 of its bytes.
    pub hash: String,
}

/// keccak256 of a script's bytes, `0x` and 64 hex digits.
pub fn script_hash(bytes: &[u8]) -> String {
    format!("{:#x}", alloy::primitives::keccak256(bytes))
}

impl SourceConfig {
    /// The http(s) URL a script URL is read from.
    pub fn resolve(&self, url: &str) -> Result<Url, ScriptError> {
        let url = url.trim();
        let text = match url.strip_prefix("ipfs://") {
            Some(rest) => {
                let rest = rest.trim_start_matches("ipfs/");
                let cid = rest.split('/').next().unwrap_or_default();
                if cid.is_empty() || !cid.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(ScriptError::Source(format!("'{url}' names no IPFS CID")));
                }
                format!("{}/ipfs/{rest}", self.ipfs_gateway.trim_end_matches('/'))
            }
            None => url.to_string(),
        };
        let parsed = Url::parse(&text).map_err(|e| ScriptError::Source(format!("'{url}' is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ScriptError::Source(format!("'{url}' is not an ipfs:// or http(s):// URL")));
        }
        Ok(parsed)
    }

    /// Fetches the script at `url` (at most [`MAX_SCRIPT_BYTES`], UTF-8).
    pub async fn fetch(&self, url: &str) -> Result<ScriptSource, ScriptError> {
        let resolved = self.resolve(url)?;
        self.policy.check_url(&resolved).map_err(|e| ScriptError::Source(e.to_string()))?;
        let client = self
            .policy
            .client(reqwest::Client::builder().timeout(self.timeout))
            .map_err(|e| ScriptError::Source(e.to_string()))?;
        let mut response =
            client.get(resolved.clone()).send().await.map_err(|e| ScriptError::Source(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(ScriptError::Source(format!("{url} answered {}", response.status())));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| ScriptError::Source(format!("{url}: {e}")))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_SCRIPT_BYTES {
                return Err(ScriptError::Source(format!("{url} is larger than {MAX_SCRIPT_BYTES} bytes")));
            }
        }
        let hash = script_hash(&bytes);
        let text = String::from_utf8(bytes).map_err(|_| ScriptError::Source(format!("{url} is not UTF-8 text")))?;
        Ok(ScriptSource { text, hash })
    }

    /// Fetches the script at `url` and checks it is the one pinned as `pinned` (empty: not pinned).
    pub async fn fetch_pinned(&self, url: &str, pinned: &str) -> Result<ScriptSource, ScriptError> {
        let source = self.fetch(url).await?;
        if !pinned.is_empty() && !source.hash.eq_ignore_ascii_case(pinned) {
            return Err(ScriptError::Source(format!(
                "the script at {url} changed since the job was created (hash {}, pinned {pinned})",
                source.hash
            )));
        }
        Ok(source)
    }
}
