//! `kb edit ID`: open a note in the editor, then re-index and commit it.

use super::Context;
use crate::cli::EditArgs;
use crate::exit_codes::ExitCode;
use crate::index::NoteIndex;
use crate::note::Note;
use crate::output;
use crate::vault;
use anyhow::Result;

pub fn run(ctx: &Context, args: EditArgs) -> Result<ExitCode> {
    let vault = ctx.vault_for_writing()?;
    let mut idx = super::open_index(ctx, &vault)?;
    let rel = idx.resolve(&args.id)?;
    Ok(ExitCode::found(edit_rel(ctx, &mut idx, &rel)?))
}

/// Open the note at `rel` in the editor; if it changed, re-index and commit it. Returns
/// whether it changed.
pub fn edit_rel(ctx: &Context, idx: &mut NoteIndex, rel: &str) -> Result<bool> {
    let vault = idx.vault().clone();
    vault.require_vault()?;
    let path = vault.abs(rel);
    let before = std::fs::read(&path)?;
    crate::editor::edit(ctx.editor.as_deref(), &path)?;
    let after = std::fs::read(&path).unwrap_or_default();
    if after == before {
        if !ctx.quiet {
            output::status(&format!("kb: {} unchanged", vault::id_of(rel)));
        }
        return Ok(false);
    }
    let rels = [rel.to_string()];
    let title = Note::parse_bytes(&after, vault::stem_of(rel)).title;
    super::record_written(
        ctx,
        idx,
        &rels,
        &format!("Edit note: {}", output::one_line(&title)),
    );
    Ok(true)
}
