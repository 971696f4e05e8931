//! `kb init [DIR]`: create a vault, or adopt an existing folder of markdown.

use super::Context;
use crate::cli::InitArgs;
use crate::error::KbError;
use crate::exit_codes::ExitCode;
use crate::index::NoteIndex;
use crate::vault::{Vault, CONFIG_FILE, STATE_DIR};
use anyhow::{Context as _, Result};
use std::fs;
use std::path::{Path, PathBuf};

const KB_TOML: &str = "# kb vault settings, shared with everyone who syncs this vault.\n\
# See `kb --help`. Notes are the *.md files in this folder and below.\n";

/// The folder to make a vault: `kb init DIR`, else the vault every other command would use
/// (`--dir DIR`, `KB_DIR`, an enclosing vault, config.toml's, else `~/kb`). `kb --dir A init
/// B` with two different folders is refused, not guessed.
fn init_folder(ctx: &Context, arg: Option<PathBuf>) -> Result<PathBuf> {
    use crate::context::VaultSource;
    match (arg, ctx.vault_source) {
        (Some(p), VaultSource::Flag) if !same_folder(&p, &ctx.vault_dir) => {
            Err(KbError::InvalidInput(format!(
                "two folders given: `--dir {}` and `init {}`; give one",
                ctx.vault_dir.display(),
                p.display()
            ))
            .into())
        }
        (Some(p), _) => Ok(p),
        (None, _) => Ok(ctx.vault_dir.clone()),
    }
}

fn same_folder(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    a == b || canon(a) == canon(b)
}

pub fn run(ctx: &Context, args: InitArgs) -> Result<ExitCode> {
    let root = init_folder(ctx, args.path)?;
    fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let vault = Vault::open(&root)?;
    let repo = crate::git::init(vault.root())?;
    let mut created = Vec::new();
    let ignore = vault.root().join(".gitignore");
    let line = format!("/{STATE_DIR}/");
    let existing = fs::read_to_string(&ignore).unwrap_or_default();
    if !existing
        .lines()
        .any(|l| l.trim() == line || l.trim() == format!("{STATE_DIR}/"))
    {
        let mut text = existing.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("# kb's search index: a cache rebuilt from the notes\n");
        text.push_str(&line);
        text.push('\n');
        fs::write(&ignore, text).with_context(|| format!("cannot write {}", ignore.display()))?;
        created.push(".gitignore".to_string());
    }
    let toml = vault.root().join(CONFIG_FILE);
    if !toml.exists() {
        fs::write(&toml, KB_TOML).with_context(|| format!("cannot write {}", toml.display()))?;
        created.push(CONFIG_FILE.to_string());
    }
    let (idx, report) = NoteIndex::rebuild(&vault)?;
    super::report_warnings(ctx, &report);
    if !created.is_empty() {
        let fresh = repo.head().is_err();
        let msg = if fresh {
            "Start kb vault"
        } else {
            "Set up kb in this folder"
        };
        if let Some(id) = crate::git::commit_paths(&repo, vault.root(), &created, msg, None)? {
            ctx.ui.say(&format!("kb: committed {id} \"{msg}\""));
        }
    }
    ctx.ui.say(&format!(
        "kb: vault ready at {} ({} notes indexed)",
        vault.root().display(),
        idx.num_notes()
    ));
    Ok(ExitCode::Success)
}
