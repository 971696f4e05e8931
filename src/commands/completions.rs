//! `kb completions SHELL` and `kb man`: both generated from the clap definition.

use crate::cli::{Cli, CompletionsArgs};
use crate::exit_codes::ExitCode;
use anyhow::Result;
use clap::CommandFactory;
use std::io::Write;

pub fn run_completions(args: CompletionsArgs) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "kb", &mut out);
    out.flush()?;
    Ok(ExitCode::Success)
}

pub fn run_man() -> Result<ExitCode> {
    let man = clap_mangen::Man::new(Cli::command());
    let mut out = std::io::stdout().lock();
    man.render(&mut out)?;
    out.flush()?;
    Ok(ExitCode::Success)
}
