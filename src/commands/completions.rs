//! `kb completions SHELL` and `kb man`: both generated from the clap definition.

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::error::KbError;
use crate::exit_codes::ExitCode;
use anyhow::{Context as _, Result};
use clap::CommandFactory;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
use clap_complete::Shell;
use std::io::Write;

/// The shell code that completes kb's commands, flags, note ids and tags: on TAB the shell
/// asks kb itself (`COMPLETE=SHELL kb -- WORDS`), so ids and tags are the vault's current ones.
pub fn run_completions(args: CompletionsArgs) -> Result<ExitCode> {
    let shell: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::PowerShell => &Powershell,
        Shell::Elvish => &Elvish,
        other => {
            anyhow::bail!(KbError::InvalidInput(format!("no completion for {other}")))
        }
    };
    // The shell calls this very binary back (found by its path, so it need not be on PATH).
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .unwrap_or_else(|| "kb".into());
    let mut out = std::io::stdout().lock();
    shell.write_registration("COMPLETE", "kb", "kb", &exe, &mut out)?;
    out.flush()?;
    Ok(ExitCode::Success)
}

/// `kb man` prints kb(1); `kb man COMMAND` prints kb-COMMAND(1), which kb(1) refers to;
/// `kb man --out DIR` writes them all.
pub fn run_man(args: ManArgs) -> Result<ExitCode> {
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(Cli::command(), dir)
            .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
        return Ok(ExitCode::Success);
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let page = match &args.command {
        None => cmd,
        Some(name) => cmd
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| KbError::InvalidInput(format!("kb has no command '{name}'")))?,
    };
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(page).render(&mut out)?;
    out.flush()?;
    Ok(ExitCode::Success)
}
