//! `kb sync`: notes follow the person across machines and teammates through git.

use super::Context;
use crate::cli::SyncArgs;
use crate::exit_codes::ExitCode;
use crate::index::Check;
use crate::output;
use crate::sync::{self, SyncOptions, SyncReport};
use crate::workspace::Workspace;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Context, args: SyncArgs) -> Result<ExitCode> {
    if ctx.vaults.is_empty() {
        let (report, reindexed) = sync_one(ctx, &args)?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        if args.json {
            ctx.ui.json(
                &mut out,
                &Json {
                    vault: None,
                    report: &report,
                    reindexed,
                },
            )?;
        } else if !ctx.ui.quiet() {
            // -q: nothing on a quiet day (cron mails what a job prints); errors still show.
            print(ctx, &mut out, &report, args.verbose)?;
            if reindexed > 0 {
                writeln!(out, "re-indexed {reindexed} notes")?;
            }
        }
        out.flush()?;
        // Nothing to exchange is success, as for git pull, git push or rsync.
        return Ok(ExitCode::Success);
    }
    sync_all(ctx, &args)
}

#[derive(serde::Serialize)]
struct Json<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    vault: Option<&'a str>,
    #[serde(flatten)]
    report: &'a SyncReport,
    /// Notes re-read into the index (exactly those git says changed).
    reindexed: usize,
}

/// Sync the vault the context names; the report and how many notes were re-indexed.
fn sync_one(ctx: &Context, args: &SyncArgs) -> Result<(SyncReport, usize)> {
    let vault = ctx.vault_for_writing()?;
    let team = super::team_config(ctx, &vault);
    let opts = SyncOptions {
        default_url: team.remote.clone(),
        remote: args.remote.clone(),
        allow_secrets: args.allow_secrets,
        ..options(ctx)
    };
    if ctx.ui.shows_progress() {
        ctx.ui.tell("kb: syncing...");
    }
    let (mut ws, opened) = Workspace::open(&vault, Check::Trust)?;
    super::report_warnings(ctx, &opened);
    let synced = ws.sync(&opts)?;
    match &synced.indexed {
        Ok(r) => super::report_warnings(ctx, r),
        Err(e) => ctx.ui.warn(&format!("synced, but the index could not take the changes now ({e}); the next kb command indexes them"),
        ),
    }
    Ok((synced.report, synced.reindexed))
}

/// Several vaults: every writable one that has a remote (those of `--vault`, else all), one
/// report each; a vault that fails is reported and the others still sync.
fn sync_all(ctx: &Context, args: &SyncArgs) -> Result<ExitCode> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut json = Vec::new();
    let (mut failed, mut synced) = (0, 0);
    for spec in &ctx.vaults {
        let one = ctx.for_vault(spec);
        if spec.read_only {
            ctx.ui
                .say(&format!("kb: {}: read-only, not synced", spec.name));
            continue;
        }
        // A vault named with --vault, or a remote named with --remote, owes an answer: the
        // sync says what is wrong (exit 2) rather than skipping it.
        let named = ctx.vaults_named || args.remote.is_some();
        if !named && !has_remote(&one, args) {
            ctx.ui
                .say(&format!("kb: {}: no remote, not synced", spec.name));
            continue;
        }
        match sync_one(&one, args) {
            Ok((report, reindexed)) => {
                synced += 1;
                if args.json {
                    json.push(serde_json::to_value(Json {
                        vault: Some(&spec.name),
                        report: &report,
                        reindexed,
                    })?);
                } else if !ctx.ui.quiet() {
                    writeln!(
                        out,
                        "{}",
                        ctx.ui.out(output::LABEL, &format!("[{}]", spec.name))
                    )?;
                    print(ctx, &mut out, &report, args.verbose)?;
                    if reindexed > 0 {
                        writeln!(out, "re-indexed {reindexed} notes")?;
                    }
                }
            }
            Err(e) => {
                failed += 1;
                let e = e.context(format!("vault '{}'", spec.name));
                if args.json {
                    json.push(serde_json::json!({"vault": spec.name, "error": format!("{e:#}")}));
                }
                ctx.ui.error(&e);
            }
        }
    }
    if args.json {
        ctx.ui.json(&mut out, &json)?;
    }
    out.flush()?;
    if failed > 0 {
        return Ok(ExitCode::Error);
    }
    if synced == 0 && !ctx.ui.quiet() {
        ctx.ui.tell("kb: no writable vault with a remote to sync");
    }
    Ok(ExitCode::Success)
}

/// Whether a vault has somewhere to sync to: a git remote, or the team's `remote` in kb.toml.
fn has_remote(ctx: &Context, args: &SyncArgs) -> bool {
    let Ok(vault) = ctx.vault() else {
        return true; // let the sync say what is wrong
    };
    if super::team_config(ctx, &vault).remote.is_some() {
        return true;
    }
    crate::git::open(vault.root()).is_some_and(|r| match &args.remote {
        Some(name) => r.find_remote(name).is_ok(),
        None => r.remotes().is_ok_and(|rs| !rs.is_empty()),
    })
}

/// How this person reaches remotes: git or libgit2, their keys, the timeout, and whether
/// someone is there to answer a password prompt.
pub(super) fn options(ctx: &Context) -> SyncOptions {
    SyncOptions {
        remote: None,
        ssh_dir: ctx.home.as_ref().map(|h| h.join(".ssh")),
        allow_secrets: false,
        default_url: None,
        backend: ctx.git_backend(),
        timeout: ctx.sync_timeout,
        interactive: ctx.stdin_tty && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    }
}

/// Paths listed under each line of the report unless `--verbose` asks for all.
const SHOWN: usize = 10;

/// The paths of a list, the first [`SHOWN`] unless `all`, then `... and N more`.
fn list<'a>(
    out: &mut impl Write,
    paths: impl Iterator<Item = &'a String>,
    all: bool,
) -> std::io::Result<()> {
    let paths: Vec<&String> = paths.collect();
    let shown = if all { paths.len() } else { SHOWN };
    for p in paths.iter().take(shown) {
        writeln!(out, "     {}", output::one_line(p))?;
    }
    if paths.len() > shown {
        writeln!(
            out,
            "     ... and {} more (--verbose lists them all)",
            paths.len() - shown
        )?;
    }
    Ok(())
}

fn print(
    ctx: &Context,
    out: &mut impl Write,
    r: &SyncReport,
    verbose: bool,
) -> std::io::Result<()> {
    let ui = &ctx.ui;
    let summary = |ch: &sync::Changes| {
        format!(
            "{} added, {} changed, {} removed",
            ch.added.len(),
            ch.changed.len(),
            ch.removed.len()
        )
    };
    writeln!(out, "synced {} with {}/{}", r.branch, r.remote, r.branch)?;
    if !r.committed.is_empty() {
        writeln!(
            out,
            "committed {} edited outside kb",
            output::count(r.committed.len() as u64, "note")
        )?;
    }
    writeln!(out, "in:  {}", summary(&r.incoming))?;
    list(out, r.incoming.all(), verbose)?;
    let out_line = if r.pushed {
        summary(&r.outgoing)
    } else {
        "nothing to send".to_string()
    };
    writeln!(out, "out: {out_line}")?;
    list(out, r.outgoing.all(), verbose)?;
    if !r.merged.is_empty() {
        writeln!(out, "merged changes from both sides: {}", r.merged.len())?;
        list(out, r.merged.iter(), verbose)?;
    }
    for p in &r.conflict_copies {
        let original = crate::vault::conflict_original(p).unwrap_or_else(|| p.clone());
        writeln!(
            out,
            "{} {} was changed on both sides; the other side's version is kept as {}",
            ui.out(output::WARN, "conflict:"),
            output::one_line(&original),
            output::one_line(p)
        )?;
    }
    if !r.conflict_copies.is_empty() {
        writeln!(
            out,
            "  to resolve: compare each pair (`diff NOTE COPY`), keep what should stay in the note (`kb edit ID`), delete the copy, then `kb sync`"
        )?;
    }
    Ok(())
}
