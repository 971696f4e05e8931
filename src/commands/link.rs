//! `kb link "new error" [NOTE]`: attach a new variant of an error to the note that fixes it.

use super::Context;
use crate::cli::LinkArgs;
use crate::error::KbError;
use crate::exit_codes::ExitCode;
use crate::index::NoteIndex;
use crate::output;
use crate::search::{self, SearchRequest};
use crate::vault;
use anyhow::{bail, Result};
use std::io::Write;

/// Candidates shown when the note is to be chosen.
const CANDIDATES: usize = 5;

pub fn run(ctx: &Context, args: LinkArgs) -> Result<ExitCode> {
    let error = super::arg_or_stdin(&args.error)?;
    let error = error.trim_end_matches(['\r', '\n']).to_string();
    if error.trim().is_empty() {
        bail!(KbError::InvalidInput("the error text is empty".into()));
    }
    let error = super::screen_secrets(ctx, &error, args.redact);
    let vault = ctx.vault_for_writing()?;
    let mut ws = super::open_workspace(ctx, &vault)?;
    let idx = ws.index();
    let rel = match &args.note {
        Some(n) => idx.resolve(n)?,
        None => match choose(ctx, idx, &error, args.best)? {
            Some(rel) => rel,
            None => return Ok(ExitCode::NothingFound),
        },
    };
    let added = super::attach_and_report(ctx, &mut ws, &rel, &error)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}\t{}", vault::id_of(&rel), vault.abs(&rel).display())?;
    Ok(ExitCode::found(added))
}

/// Pick the note among the best matches: the first with `--best`, else ask on a terminal.
fn choose(ctx: &Context, idx: &NoteIndex, error: &str, best: bool) -> Result<Option<String>> {
    let req = SearchRequest {
        text: error.to_string(),
        limit: CANDIDATES,
        filter: Default::default(),
    };
    let hits = search::search(idx, &req)?;
    if hits.is_empty() {
        bail!(KbError::InvalidInput(
            "no note resembles this error: name the note, or record a new one with `kb add`".into()
        ));
    }
    if best {
        return Ok(Some(hits[0].note.rel.clone()));
    }
    if !ctx.interactive() {
        bail!(KbError::InvalidInput(
            "which note? off a terminal, name the NOTE or pass --best".into()
        ));
    }
    let ui = &ctx.ui;
    let mut err = std::io::stderr().lock();
    for (i, h) in hits.iter().enumerate() {
        writeln!(
            err,
            "  {} {}  {}  {}",
            ui.err(output::DIM, &format!("{}.", i + 1)),
            ui.err(output::ID, &output::one_line(h.note.id())),
            output::one_line(&h.note.title),
            ui.err(
                output::DIM,
                &format!("(similarity {:.2})", h.explanation.error_similarity)
            )
        )?;
    }
    drop(err);
    let answer = output::ask(&format!(
        "Attach the error to which note? [1-{}, Enter = 1, q = quit] ",
        hits.len()
    ));
    if answer.eq_ignore_ascii_case("q") {
        return Ok(None);
    }
    let n: usize = if answer.is_empty() {
        1
    } else {
        answer.parse().unwrap_or(0)
    };
    match hits.get(n.wrapping_sub(1)) {
        Some(h) => Ok(Some(h.note.rel.clone())),
        None => bail!(KbError::InvalidInput(format!(
            "'{answer}' is not one of the choices"
        ))),
    }
}
