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
    let cloned = sync::clone(&args.url, &dir, args.branch.as_deref(), &opts).map_err(|e| {
        crate::error::KbError::Clone {
            url: sync::redact(&args.url),
            source: Box::new(e),
        }
    })?;
    let vault = Vault::open(&dir)?;
    let (idx, report) = NoteIndex::rebuild(&vault)?;
    super::report_warnings(ctx, &report);
    if !cloned.ignored_links.is_empty() {
        ctx.ui.warn(&format!(
                "the repository holds symbolic links, which kb never follows (it reads and writes only real files of the vault): {}",
                cloned.ignored_links.join(", ")
            ),
        );
    }
    if let Some(head) = cloned.head_was_missing.as_ref().filter(|_| !ctx.ui.quiet()) {
        ctx.ui.tell(&format!(
            "kb: the remote's HEAD names '{head}', which it does not have; took its only branch, '{}'",
            cloned.branch.as_deref().unwrap_or("?")
        ));
    }
    if !ctx.ui.quiet() {
        let at = vault.root().display();
        let default = crate::context::default_vault();
        let is_default = std::fs::canonicalize(&default).is_ok_and(|d| d == vault.root());
        let how = if is_default {
            String::new()
        } else {
            format!("; use it with --dir {at} or KB_DIR (or name it in config.toml)")
        };
        match cloned.branch {
            None => ctx.ui.tell(&format!(
                "kb: cloned an empty repository into {at}: your first `kb add` and `kb sync` fill it{how}"
            )),
            Some(b) => ctx.ui.tell(&format!(
                "kb: cloned {} into {at} (branch {b}){how}",
                output::count(idx.num_notes(), "note")
            )),
        }
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
