//! `kb edit ID`: open a note in the editor, then re-index and commit it.

use super::Context;
use crate::cli::EditArgs;
use crate::index::NoteIndex;
use crate::note::Note;
use crate::output;
use crate::vault;
use anyhow::Result;

pub fn run(ctx: &Context, args: EditArgs) -> Result<i32> {
    let vault = ctx.vault()?;
    let mut idx = super::open_index(ctx, &vault)?;
    let rel = idx.resolve(&args.id)?;
    edit_rel(ctx, &mut idx, &rel)?;
    Ok(0)
}

/// Open the note at `rel` in the editor; if it changed, re-index and commit it.
pub fn edit_rel(ctx: &Context, idx: &mut NoteIndex, rel: &str) -> Result<()> {
    let vault = idx.vault().clone();
    let path = vault.abs(rel);
    let before = std::fs::read(&path)?;
    crate::editor::edit(ctx.editor.as_deref(), &path)?;
    let after = std::fs::read(&path).unwrap_or_default();
    if after == before {
        if !ctx.quiet {
            output::status(&format!("kb: {} unchanged", vault::id_of(rel)));
        }
        return Ok(());
    }
    let rels = [rel.to_string()];
    let report = idx.update_files(&rels)?;
    super::report_warnings(ctx, &report);
    let title = Note::parse_bytes(&after, vault::stem_of(rel)).title;
    super::commit(
        ctx,
        &vault,
        &rels,
        &format!("Edit note: {}", output::one_line(&title)),
    )?;
    Ok(())
}
