//! Secrets: files that hold them (keys, the admin API key, up.json) are written readable by the owner
//! only, and keys are read from a file or the environment, never from the command line.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

/// Writes `content` to `path` with mode 0600 (replacing the file; an existing file is tightened too).
pub fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))?;
    file.write_all(content.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The secret in `file` (trimmed), else in the environment variable `env`, else none.
pub fn read_secret(file: Option<&Path>, env: &str) -> anyhow::Result<Option<String>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let secret = text.trim().to_string();
        anyhow::ensure!(!secret.is_empty(), "{} is empty", path.display());
        return Ok(Some(secret));
    }
    Ok(std::env::var(env).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
}
