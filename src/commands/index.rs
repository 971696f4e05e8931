//! `kb index [--rebuild]`: bring the index up to date, or recreate it. With several vaults
//! configured, every vault searched (those of `--vault`, else all), one line each.

use super::Context;
use crate::cli::IndexArgs;
use crate::exit_codes::ExitCode;
use crate::index::{Check, NoteIndex};
use crate::vault::Vault;
use anyhow::Result;
use std::time::Instant;

pub fn run(ctx: &Context, args: IndexArgs) -> Result<ExitCode> {
    if ctx.vaults.is_empty() {
        // Nothing to do is success, as for git pull or rsync: cron and `set -e` scripts
        // run it on quiet days too.
        index_one(ctx, &ctx.vault()?, None, &args)?;
        return Ok(ExitCode::Success);
    }
    let mut failed = false;
    for (label, dir) in ctx.search_set()? {
        let name = label.as_deref().unwrap_or("?");
        match Vault::open(&dir)
            .map_err(anyhow::Error::from)
            .and_then(|v| index_one(ctx, &v, Some(name), &args))
        {
            Ok(_) => {}
            Err(e) => {
                failed = true;
                ctx.ui.error(&e.context(format!("vault '{name}'")));
            }
        }
    }
    Ok(if failed {
        ExitCode::Error
    } else {
        ExitCode::Success
    })
}

/// Index one vault and say what changed (`name`: its label among several); whether anything
/// did.
fn index_one(ctx: &Context, vault: &Vault, name: Option<&str>, args: &IndexArgs) -> Result<bool> {
    let start = Instant::now();
    let (idx, report) = if args.rebuild {
        NoteIndex::rebuild(vault)?
    } else {
        NoteIndex::open(vault, Check::Full)?
    };
    super::report_warnings(ctx, &report);
    if !ctx.ui.quiet() {
        let what = if report.rebuilt {
            "rebuilt".to_string()
        } else {
            format!(
                "{} added, {} changed, {} removed",
                report.added.len(),
                report.changed.len(),
                report.removed.len()
            )
        };
        let whose = name.map(|n| format!("{n}: ")).unwrap_or_default();
        ctx.ui.tell(&format!(
            "kb: {whose}{} notes indexed ({what}) in {} ms",
            idx.num_notes(),
            start.elapsed().as_millis()
        ));
    }
    Ok(report.rebuilt
        || !(report.added.is_empty() && report.changed.is_empty() && report.removed.is_empty()))
}
