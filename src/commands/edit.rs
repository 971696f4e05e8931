//! `kb edit ID`: open a note in the editor, then re-index and commit it.

use super::Context;
use crate::cli::EditArgs;
use crate::exit_codes::ExitCode;
use anyhow::Result;

pub fn run(ctx: &Context, args: EditArgs) -> Result<ExitCode> {
    let vault = ctx.vault_for_writing()?;
    let mut ws = super::open_workspace(ctx, &vault)?;
    let rel = ws.index().resolve(&args.id)?;
    Ok(ExitCode::found(super::edit_and_report(ctx, &mut ws, &rel)?))
}
