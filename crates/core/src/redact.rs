//! Secrets out of URLs before they reach a log or an error message: the password of `user:pass@`,
//! query values whose name says secret (key, token, secret, password, auth, signature), and a
//! Telegram bot token in the path (`/bot<id>:<token>/`).

/// What replaces a secret.
const HIDDEN: &str = "***";
/// Query parameter names (lower case, as substrings) whose values are secrets.
const SECRET_NAMES: [&str; 7] = ["key", "token", "secret", "password", "passwd", "auth", "sig"];

/// `url` with its secrets replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let authority_end =
            out[scheme_end + 3..].find(['/', '?', '#']).map(|i| i + scheme_end + 3).unwrap_or(out.len());
        if let Some(at) = out[scheme_end + 3..authority_end].rfind('@') {
            let at = at + scheme_end + 3;
            if let Some(colon) = out[scheme_end + 3..at].find(':') {
                let colon = colon + scheme_end + 3;
                out.replace_range(colon + 1..at, HIDDEN);
            }
        }
    }
    // Telegram: /bot<digits>:<token>/...
    if let Some(start) = out.find("/bot") {
        let rest = &out[start + 4..];
        if let Some(colon) = rest.find(':')
            && colon > 0
            && rest[..colon].bytes().all(|b| b.is_ascii_digit())
        {
            let token_start = start + 4 + colon + 1;
            let token_end = out[token_start..].find(['/', '?', '#']).map(|i| i + token_start).unwrap_or(out.len());
            out.replace_range(token_start..token_end, HIDDEN);
        }
    }
    if let Some(query_start) = out.find('?') {
        let fragment = out[query_start..].find('#').map(|i| i + query_start).unwrap_or(out.len());
        let query: Vec<String> = out[query_start + 1..fragment]
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if SECRET_NAMES.iter().any(|s| name.to_ascii_lowercase().contains(s)) => {
                    format!("{name}={HIDDEN}")
                }
                _ => pair.to_string(),
            })
            .collect();
        out.replace_range(query_start + 1..fragment, &query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_tokens_and_keys_are_hidden() {
        assert_eq!(redact_url("redis://:hunter2@10.0.0.1:6379/0"), "redis://:***@10.0.0.1:6379/0");
        assert_eq!(redact_url("postgres://app:s3cret@db/triggerx"), "postgres://app:***@db/triggerx");
        assert_eq!(
            redact_url("postgres://app@db/triggerx"),
            "postgres://app@db/triggerx",
            "no password, nothing hidden"
        );
        assert_eq!(
            redact_url("https://api.telegram.org/bot123456:AAE-token_x/sendMessage"),
            "https://api.telegram.org/bot123456:***/sendMessage"
        );
        assert_eq!(
            redact_url("https://rpc.example/v1?apiKey=abc&chain=1&access_token=x#f"),
            "https://rpc.example/v1?apiKey=***&chain=1&access_token=***#f"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
    }
}
