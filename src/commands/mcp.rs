//! `kb mcp [--allow-write]`: serve the vaults kb would search to an AI assistant over the Model
//! Context Protocol (stdio). The server itself is [`crate::mcp`].

use super::Context;
use crate::cli::McpArgs;
use crate::exit_codes::ExitCode;
use anyhow::Result;

pub fn run(ctx: &Context, args: McpArgs) -> Result<ExitCode> {
    let set = ctx.search_set()?;
    // Writes go where the CLI's go; none when that vault is read-only or not a vault.
    let target = ctx
        .vault_for_writing()
        .ok()
        .filter(|v| v.is_vault())
        .map(|v| v.root().to_path_buf());
    let allow_write = args.allow_write || ctx.mcp_allow_write;
    let git = match ctx.git_backend() {
        crate::sync::Backend::Git(p) => Some(p),
        crate::sync::Backend::Libgit2 => None,
    };
    eprintln!(
        "kb mcp: serving {} over stdio{}",
        set.iter()
            .map(|(l, d)| l.clone().unwrap_or_else(|| d.display().to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        if allow_write {
            " (writes allowed)"
        } else {
            " (read-only)"
        }
    );
    crate::mcp::serve(crate::mcp::Options {
        set,
        target,
        freshness: ctx.freshness(),
        model: ctx.model.clone(),
        allow_write,
        git,
    })?;
    Ok(ExitCode::Success)
}
