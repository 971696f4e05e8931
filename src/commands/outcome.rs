//! `kb worked NOTE`, `kb failed NOTE` and `kb verify NOTE`: what happened when a fix was used on a
//! call, and that it was checked to still work. Each adds one line to the note's `outcomes:` (or
//! sets `verified:`), changes no other byte of the note, and commits it.

use super::Context;
use crate::cli::{FailedArgs, VerifyArgs, WorkedArgs};
use crate::error::KbError;
use crate::exit_codes::ExitCode;
use crate::frontmatter;
use crate::index::NoteIndex;
use crate::outcomes::Outcome;
use crate::vault;
use anyhow::{bail, Result};
use std::io::Write;

pub fn run_worked(ctx: &Context, args: WorkedArgs) -> Result<ExitCode> {
    let outcome = Outcome {
        at: super::now_rfc3339(),
        worked: true,
        ticket: non_empty(args.ticket),
        minutes: args.minutes,
        by: who(ctx),
        why: None,
    };
    record(ctx, &args.note, Change::Outcome(outcome))
}

pub fn run_failed(ctx: &Context, args: FailedArgs) -> Result<ExitCode> {
    let outcome = Outcome {
        at: super::now_rfc3339(),
        worked: false,
        ticket: non_empty(args.ticket),
        minutes: None,
        by: who(ctx),
        why: non_empty(args.why),
    };
    record(ctx, &args.note, Change::Outcome(outcome))
}

pub fn run_verify(ctx: &Context, args: VerifyArgs) -> Result<ExitCode> {
    record(ctx, &args.note, Change::Verified(super::now_rfc3339()))
}

enum Change {
    Outcome(Outcome),
    Verified(String),
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Who recorded it: the git identity of the vault (as its commits say), else the login name.
fn who(ctx: &Context) -> Option<String> {
    let from_git = ctx
        .vault()
        .ok()
        .and_then(|v| crate::git::open(v.root()))
        .and_then(|repo| crate::git::signatures(&repo).ok())
        .and_then(|(author, _)| author.name().ok().map(str::to_string))
        .filter(|n| n != crate::git::DEFAULT_NAME);
    from_git.or_else(|| {
        ["USER", "USERNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    })
}

fn record(ctx: &Context, note: &str, change: Change) -> Result<ExitCode> {
    let vault = ctx.vault_for_writing()?;
    let mut idx = super::open_index(ctx, &vault)?;
    let rel = idx.resolve(note)?;
    apply(ctx, &mut idx, &rel, change)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}\t{}", vault::id_of(&rel), vault.abs(&rel).display())?;
    Ok(ExitCode::Success)
}

/// Record one use of the note at `rel` (the picker's Ctrl-W and Ctrl-F): worked or failed, now,
/// by this person.
pub(super) fn record_use(
    ctx: &Context,
    idx: &mut NoteIndex,
    rel: &str,
    worked: bool,
) -> Result<()> {
    let outcome = Outcome {
        at: super::now_rfc3339(),
        worked,
        ticket: None,
        minutes: None,
        by: who(ctx),
        why: None,
    };
    apply(ctx, idx, rel, Change::Outcome(outcome))
}

/// Apply the change under the vault's note lock, check it by reading the note back, then
/// re-index and commit.
fn apply(ctx: &Context, idx: &mut NoteIndex, rel: &str, change: Change) -> Result<()> {
    let vault = idx.vault().clone();
    vault.require_vault()?;
    let rel = rel.to_string();
    let lock = vault.lock_notes()?;
    let text = super::read_note_text(&vault, &rel)?;
    let (new, message, expect) = match &change {
        Change::Outcome(o) => {
            let line = o.to_line();
            let new =
                frontmatter::edit_fields(&text, &[("outcomes", std::slice::from_ref(&line))], &[]);
            let verb = if o.worked { "Worked" } else { "Failed" };
            (new, format!("{verb}: {}", vault::id_of(&rel)), line)
        }
        Change::Verified(at) => {
            let new = frontmatter::edit_fields(&text, &[], &[("verified", at.clone())]);
            (new, format!("Verified: {}", vault::id_of(&rel)), at.clone())
        }
    };
    let new = new.map_err(|reason| KbError::FrontMatterEdit {
        path: rel.clone(),
        reason,
    })?;
    vault.replace_note(&rel, new.as_bytes())?;
    let back = super::read_note_text(&vault, &rel)?;
    let fm = crate::note::Note::parse(&back, vault::stem_of(&rel)).front_matter;
    let landed = match &change {
        Change::Outcome(_) => fm.outcomes.iter().any(|o| o.trim() == expect),
        Change::Verified(_) => fm.verified.as_deref() == Some(expect.as_str()),
    };
    if back != new || !landed {
        bail!(KbError::FrontMatterEdit {
            path: rel.clone(),
            reason: "the note read back does not hold the change".into()
        });
    }
    drop(lock);
    super::record_written(ctx, idx, std::slice::from_ref(&rel), &message);
    if !ctx.quiet {
        crate::output::status(&format!("kb: {message}"));
    }
    Ok(())
}
