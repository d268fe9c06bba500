//! `triggerx apikey create|list|revoke`.

use std::path::Path;

use anyhow::Context;

use crate::cli::ApikeyCommand;
use crate::commands::open_store;

/// Runs an `apikey` subcommand.
pub async fn run(data_dir: &Path, database_url: Option<&str>, command: ApikeyCommand) -> anyhow::Result<()> {
    let store = open_store(data_dir, database_url).await?;
    match command {
        ApikeyCommand::Create(args) => {
            let created = store
                .create_api_key(args.owner.as_deref(), args.admin, args.rate_limit)
                .await
                .context("creating the API key")?;
            let role = created.info.owner.clone().map(|o| format!("owner {o}")).unwrap_or_else(|| "admin".into());
            println!("{}", created.key);
            eprintln!(
                "created API key #{} ({role}, {} requests/minute); it is not shown again",
                created.info.id, created.info.rate_limit
            );
        }
        ApikeyCommand::List => {
            let keys = store.list_api_keys().await?;
            println!(
                "{:>4}  {:<14} {:<44} {:<7} {:>10} {:>10} {:>8}",
                "id", "prefix", "owner", "active", "limit/min", "ok", "failed"
            );
            for k in keys {
                println!(
                    "{:>4}  {:<14} {:<44} {:<7} {:>10} {:>10} {:>8}",
                    k.id,
                    format!("{}…", k.key_prefix),
                    k.owner.unwrap_or_else(|| "(admin)".into()),
                    if k.is_active { "yes" } else { "REVOKED" },
                    k.rate_limit,
                    k.success_count,
                    k.failed_count
                );
            }
        }
        ApikeyCommand::Revoke { key } => {
            let found = store.find_api_key(&key).await.with_context(|| format!("finding API key '{key}'"))?;
            store.update_api_key(found.id, Some(false), None).await?;
            eprintln!("revoked API key #{} ({}…)", found.id, found.key_prefix);
        }
    }
    store.close().await;
    Ok(())
}
