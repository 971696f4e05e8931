//! `kb link "new error" [NOTE]`: attach a new variant of an error to the note that fixes it.

use super::Context;
use crate::cli::LinkArgs;
use crate::error::KbError;
use crate::exit_codes::ExitCode;
use crate::frontmatter;
use crate::index::NoteIndex;
use crate::normalize;
use crate::note::Note;
use crate::output::{self, paint};
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
    let mut idx = super::open_index(ctx, &vault)?;
    let rel = match &args.note {
        Some(n) => idx.resolve(n)?,
        None => match choose(ctx, &idx, &error, args.best)? {
            Some(rel) => rel,
            None => return Ok(ExitCode::NothingFound),
        },
    };
    let added = attach(ctx, &mut idx, &rel, &error)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}\t{}", vault::id_of(&rel), vault.abs(&rel).display())?;
    Ok(ExitCode::found(added))
}

/// Pick the note among the best matches: the first with `--best`, else ask on a terminal.
fn choose(ctx: &Context, idx: &NoteIndex, error: &str, best: bool) -> Result<Option<String>> {
    let req = SearchRequest {
        text: error.to_string(),
        limit: CANDIDATES,
        tags: Vec::new(),
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
    let c = ctx.color_err;
    let mut err = std::io::stderr().lock();
    for (i, h) in hits.iter().enumerate() {
        writeln!(
            err,
            "  {} {}  {}  {}",
            paint(c, output::DIM, &format!("{}.", i + 1)),
            paint(c, output::ID, &output::one_line(h.note.id())),
            output::one_line(&h.note.title),
            paint(
                c,
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

/// Append `error` to the note's `errors:` (unless its normalised form is already there), set
/// `updated:`, re-index and commit. Returns whether the note changed.
///
/// The read-modify-write runs under the vault's note lock and is verified by reading the note
/// back, so concurrent links to one note all land.
pub fn attach(ctx: &Context, idx: &mut NoteIndex, rel: &str, error: &str) -> Result<bool> {
    let vault = idx.vault().clone();
    vault.require_vault()?;
    let lock = vault.lock_notes()?;
    let text = super::read_note_text(&vault, rel)?;
    let note = Note::parse(&text, vault::stem_of(rel));
    let key = normalize::key(error);
    if note.all_errors().any(|e| normalize::key(e) == key) {
        if !ctx.quiet {
            output::status(&format!(
                "kb: {} already holds this error (same constant parts); nothing changed",
                vault::id_of(rel)
            ));
        }
        return Ok(false);
    }
    let new = frontmatter::append_error(&text, error, &super::now_rfc3339()).map_err(|reason| {
        KbError::FrontMatterEdit {
            path: rel.to_string(),
            reason,
        }
    })?;
    vault.replace_note(rel, new.as_bytes())?;
    let back = super::read_note_text(&vault, rel)?;
    let wanted = error.trim();
    if back != new
        || !Note::parse(&back, vault::stem_of(rel))
            .errors
            .iter()
            .any(|e| e.trim() == wanted)
    {
        bail!(KbError::FrontMatterEdit {
            path: rel.to_string(),
            reason: "the note read back does not hold the new error".into()
        });
    }
    drop(lock);
    super::record_written(
        ctx,
        idx,
        &[rel.to_string()],
        &format!(
            "Link error to {}: {}",
            vault::id_of(rel),
            output::one_line(error)
        ),
    );
    if !ctx.quiet {
        output::status(&format!("kb: error attached to {}", vault::id_of(rel)));
    }
    Ok(true)
}
