//! `kb clone URL [DIR]`: start on a second machine.

use super::Context;
use crate::cli::CloneArgs;
use crate::exit_codes::ExitCode;
use crate::index::NoteIndex;
use crate::output;
use crate::sync;
use crate::vault::Vault;
use anyhow::{bail, Result};
use std::io::Write;
use std::path::PathBuf;

pub fn run(ctx: &Context, args: CloneArgs) -> Result<ExitCode> {
    let dir = args
        .dir
        .unwrap_or_else(|| PathBuf::from(repo_name(&args.url)));
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(crate::error::KbError::InvalidInput(format!(
            "{} already exists and is not empty",
            dir.display()
        )));
    }
    let opts = super::sync::options(ctx);
    sync::clone(&args.url, &dir, &opts)?;
    let vault = Vault::open(&dir)?;
    let (idx, report) = NoteIndex::rebuild(&vault)?;
    super::report_warnings(ctx, &report);
    if !ctx.quiet {
        output::status(&format!(
            "kb: cloned {} notes; use it with --dir {} or KB_DIR",
            idx.num_notes(),
            vault.root().display()
        ));
    }
    writeln!(std::io::stdout().lock(), "{}", vault.root().display())?;
    Ok(ExitCode::Success)
}

/// `notes` from `git@host:team/notes.git`, `https://host/team/notes`, `/srv/notes.git`.
fn repo_name(url: &str) -> String {
    let last = url
        .trim_end_matches('/')
        .rsplit(['/', ':', '\\'])
        .next()
        .unwrap_or("");
    let name = last.trim_end_matches(".git");
    if name.is_empty() {
        "kb".into()
    } else {
        name.into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_come_from_the_url() {
        assert_eq!(super::repo_name("git@host:team/notes.git"), "notes");
        assert_eq!(super::repo_name("https://host/team/kb-notes/"), "kb-notes");
        assert_eq!(super::repo_name("/srv/git/vault.git"), "vault");
    }
}
