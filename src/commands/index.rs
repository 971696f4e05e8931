//! `kb index [--rebuild]`: bring the index up to date, or recreate it.

use super::Context;
use crate::cli::IndexArgs;
use crate::exit_codes::ExitCode;
use crate::index::{Check, NoteIndex};
use crate::output;
use anyhow::Result;
use std::time::Instant;

pub fn run(ctx: &Context, args: IndexArgs) -> Result<ExitCode> {
    let vault = ctx.vault()?;
    let start = Instant::now();
    let (idx, report) = if args.rebuild {
        NoteIndex::rebuild(&vault)?
    } else {
        NoteIndex::open(&vault, Check::Full)?
    };
    super::report_warnings(ctx, &report);
    if !ctx.quiet {
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
        output::status(&format!(
            "kb: {} notes indexed ({what}) in {} ms",
            idx.num_notes(),
            start.elapsed().as_millis()
        ));
    }
    let changed = report.rebuilt
        || !(report.added.is_empty() && report.changed.is_empty() && report.removed.is_empty());
    Ok(ExitCode::found(changed))
}
