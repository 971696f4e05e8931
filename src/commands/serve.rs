//! `kb serve [--port N] [--bind ADDR]`: a read-only web view of the vaults kb would search.
//! The server itself is [`crate::web`].

use super::Context;
use crate::cli::ServeArgs;
use crate::exit_codes::ExitCode;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Context, args: ServeArgs) -> Result<ExitCode> {
    let set = ctx.search_set()?;
    if !args.bind.is_loopback() {
        ctx.ui.warn(&format!(
            "listening on {}: the notes are visible to every machine that reaches this address",
            args.bind
        ));
    }
    let opts = crate::web::Options {
        set,
        freshness: ctx.freshness(),
        model: ctx.model.clone(),
        bind: std::net::SocketAddr::new(args.bind, args.port),
    };
    let ui = ctx.ui;
    crate::web::serve(opts, move |bound| {
        let host = if bound.ip().is_unspecified() {
            std::net::SocketAddr::new([127, 0, 0, 1].into(), bound.port())
        } else {
            bound
        };
        // The address is the command's data (scripts and tests read it); the rest is talk.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "http://{host}/");
        let _ = out.flush();
        ui.say("kb serve: read-only; Ctrl-C stops it");
    })?;
    Ok(ExitCode::Success)
}
