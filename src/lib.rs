//! kb: an external brain for tech support.
//!
//! Fix notes are markdown files in a git repository (the vault); a tantivy index derived from
//! them finds the note that fixed an error from a pasted message whose variable parts differ.
//!
//! Layout: [`cli`] is the clap definition; [`context`] resolves flags and environment once;
//! [`commands`] holds one module per command; the domain modules ([`note`], [`frontmatter`],
//! [`vault`], [`index`], [`normalize`], [`search`], [`embed`], [`git`], [`editor`]) know
//! nothing of clap or terminals, except [`output`] which owns terminal presentation.

pub mod analysis;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod config;
pub mod context;
pub mod cores;
pub mod editor;
pub mod embed;
pub mod error;
pub mod exit_codes;
pub mod filter;
pub mod frontmatter;
pub mod git;
pub mod history;
pub mod index;
pub mod library;
pub mod matcher;
pub mod mcp;
pub mod misses;
pub mod normalize;
pub mod note;
pub mod outcomes;
pub mod output;
pub mod progress;
pub mod query;
pub mod search;
pub mod secrets;
pub mod spelling;
pub mod sync;
pub mod ui;
pub mod usage;
pub mod vault;
pub mod view;
pub mod wait;
pub mod web;
pub mod workspace;

use clap::Parser;
use exit_codes::ExitCode;
use std::io::Write;

/// Parse the command line, run the command, and return the process exit status.
pub fn run() -> i32 {
    // Asked by the shell for completions (`COMPLETE=bash kb -- kb show ...`): answer and exit.
    clap_complete::CompleteEnv::with_factory(<cli::Cli as clap::CommandFactory>::command)
        .complete();
    // A bug must not look like a crash of the person's tools: one clear message with the source
    // location (compiled in, whatever the debug info), and grep's status for trouble (2).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("kb: internal error{place}: {what}");
        eprintln!("kb: this is a bug in kb, not in your notes (nothing was lost); please report it with the command you ran");
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            default_hook(info);
        }
    }));
    match std::panic::catch_unwind(|| run_args(std::env::args_os())) {
        Ok(code) => code.code(),
        Err(_) => ExitCode::Error.code(),
    }
}

/// [`run`] for a given argument vector (the first item is the program name).
pub fn run_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    if let Some(e) = usage::unknown_flag(&mut <cli::Cli as clap::CommandFactory>::command(), &args)
    {
        return usage_error(&e);
    }
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => return usage_error(&e),
    };
    let ctx = context::Context::from_cli(&cli);
    wait::set(ctx.lock_wait);
    git::set_program_setting(ctx.git.clone());
    for w in &ctx.warnings {
        ctx.ui.warn(w);
    }
    ctx.ui.install_progress();
    match commands::run(&ctx, cli.command) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::Success,
        Err(e) => {
            ctx.ui.error(&e);
            ExitCode::Error
        }
    }
}

/// clap's message for a usage error, with kb's `kb: ` prefix on its first line (help and
/// version requests go to stdout and succeed).
fn usage_error(e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::Success;
    }
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let text = if color {
        e.render().ansi().to_string()
    } else {
        e.render().to_string()
    };
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "kb: {text}");
    ExitCode::Error
}

/// A closed pipe (`kb search x | head -1`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
