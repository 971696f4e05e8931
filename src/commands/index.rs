//! `kb index [--rebuild]`: bring the index up to date, or recreate it. With several vaults
//! configured, every vault searched (those of `--vault`, else all), one line each.

use super::Context;
use crate::cli::IndexArgs;
use crate::embed::Model;
use crate::exit_codes::ExitCode;
use crate::index::{Check, NoteIndex};
use crate::vault::Vault;
use anyhow::Result;
use std::time::Instant;

pub fn run(ctx: &Context, args: IndexArgs) -> Result<ExitCode> {
    // The model is loaded once for every vault (an unusable one is an error after the
    // words are indexed: the index is still brought up to date).
    let mut model = Meaning::Named;
    if ctx.vaults.is_empty() {
        // Nothing to do is success, as for git pull or rsync: cron and `set -e` scripts
        // run it on quiet days too.
        index_one(ctx, &ctx.vault()?, None, &args, &mut model)?;
        return Ok(model.exit());
    }
    let mut failed = false;
    for (label, dir) in ctx.search_set()? {
        let name = label.as_deref().unwrap_or("?");
        match Vault::open(&dir)
            .map_err(anyhow::Error::from)
            .and_then(|v| index_one(ctx, &v, Some(name), &args, &mut model))
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
        model.exit()
    })
}

/// The embedding model of this run.
enum Meaning {
    /// Not loaded yet (loaded by the first vault, if one is configured).
    Named,
    Loaded(Box<Model>),
    /// None configured, or it could not be loaded (said once).
    Off {
        failed: bool,
    },
}

impl Meaning {
    fn get(&mut self, ctx: &Context) -> Option<&Model> {
        if let Meaning::Named = self {
            *self = match ctx.model.as_deref().map(Model::load) {
                None => Meaning::Off { failed: false },
                Some(Ok(m)) => Meaning::Loaded(Box::new(m)),
                Some(Err(e)) => {
                    ctx.ui.error(
                        &anyhow::Error::from(e)
                            .context("the notes are indexed by their words, but not by meaning"),
                    );
                    Meaning::Off { failed: true }
                }
            };
        }
        match self {
            Meaning::Loaded(m) => Some(m),
            _ => None,
        }
    }

    fn exit(&self) -> ExitCode {
        match self {
            Meaning::Off { failed: true } => ExitCode::Error,
            _ => ExitCode::Success,
        }
    }
}

/// Index one vault and say what changed (`name`: its label among several); whether anything
/// did.
fn index_one(
    ctx: &Context,
    vault: &Vault,
    name: Option<&str>,
    args: &IndexArgs,
    model: &mut Meaning,
) -> Result<bool> {
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
    if let Some(m) = model.get(ctx) {
        embed_one(ctx, &idx, m, name)?;
    }
    Ok(report.rebuilt
        || !(report.added.is_empty() && report.changed.is_empty() && report.removed.is_empty()))
}

/// Compute the vectors the vault's notes lack, and say what was done.
fn embed_one(ctx: &Context, idx: &NoteIndex, model: &Model, name: Option<&str>) -> Result<()> {
    let start = Instant::now();
    let r = crate::embed::update(idx, model);
    // Whoever claimed the work (a search that found notes without vectors) has it done, or
    // failed: the next search may claim it again.
    crate::embed::release(idx.state_dir());
    let r = r?;
    let whose = name.map(|n| format!("{n}: ")).unwrap_or_default();
    if r.embedded > 0 || r.dropped > 0 {
        let secs = start.elapsed().as_secs_f64();
        ctx.ui.say(&format!(
            "kb: {whose}{} embedded ({} passages) in {secs:.1} s ({:.0} notes/s), {} kept, {} dropped",
            crate::output::count(r.embedded as u64, "note"),
            r.passages,
            r.embedded as f64 / secs.max(1e-3),
            r.kept,
            r.dropped
        ));
    }
    Ok(())
}
