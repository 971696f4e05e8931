//! `kb worked NOTE`, `kb failed NOTE` and `kb verify NOTE`: what happened when a fix was used on a
//! call, and that it was checked to still work. Each adds one line to the note's `outcomes:` (or
//! sets `verified:`), changes no other byte of the note, and commits it.

use super::Context;
use crate::cli::{FailedArgs, VerifyArgs, WorkedArgs};
use crate::exit_codes::ExitCode;
use crate::outcomes::Outcome;
use crate::vault;
use anyhow::Result;
use std::io::Write;

pub fn run_worked(ctx: &Context, args: WorkedArgs) -> Result<ExitCode> {
    let outcome = Outcome {
        at: super::now_rfc3339(),
        worked: true,
        ticket: non_empty(args.ticket),
        minutes: args.minutes,
        by: super::who(ctx),
        why: None,
    };
    add_to_record(ctx, &args.note, Change::Outcome(outcome))
}

pub fn run_failed(ctx: &Context, args: FailedArgs) -> Result<ExitCode> {
    let outcome = Outcome {
        at: super::now_rfc3339(),
        worked: false,
        ticket: non_empty(args.ticket),
        minutes: None,
        by: super::who(ctx),
        why: non_empty(args.why),
    };
    add_to_record(ctx, &args.note, Change::Outcome(outcome))
}

pub fn run_verify(ctx: &Context, args: VerifyArgs) -> Result<ExitCode> {
    add_to_record(ctx, &args.note, Change::Verified(super::now_rfc3339()))
}

enum Change {
    Outcome(Outcome),
    Verified(String),
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn add_to_record(ctx: &Context, note: &str, change: Change) -> Result<ExitCode> {
    let vault = ctx.vault_for_writing()?;
    let mut ws = super::open_workspace(ctx, &vault)?;
    let rel = ws.index().resolve(note)?;
    let stored = match &change {
        Change::Outcome(o) => ws.record_outcome(&rel, o)?,
        Change::Verified(at) => ws.verify(&rel, at)?,
    };
    super::report_stored(ctx, &stored);
    ctx.ui.say(&format!("kb: {}", stored.message));
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}\t{}", vault::id_of(&rel), vault.abs(&rel).display())?;
    Ok(ExitCode::Success)
}
