//! `kb misses`: the errors searched for that no note answers yet, most frequent first, with
//! when they were last seen: what the team should document next.

use super::Context;
use crate::cli::MissesArgs;
use crate::exit_codes::ExitCode;
use crate::misses::{self, Miss};
use crate::output;
use crate::search::{self, SearchRequest};
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Context, args: MissesArgs) -> Result<ExitCode> {
    let vault = ctx.vault()?;
    let mut list = misses::load(&vault);
    // A miss that a note answers by now (someone wrote it up: a note records the very error,
    // or a search for it finds a close one), in any vault searched, is done, unless --all.
    if !args.all && !list.is_empty() {
        let opened = super::open_library(ctx)?.shelves;
        let idxs: Vec<&crate::index::NoteIndex> = opened.iter().map(|o| &o.index).collect();
        let mut open = Vec::with_capacity(list.len());
        for m in list {
            if m.forms
                .iter()
                .any(|&f| idxs.iter().any(|i| i.records_error_form(f)))
            {
                continue;
            }
            let req = SearchRequest {
                // The words and codes without the quotes that group them for a web search.
                text: m.query.replace('"', " "),
                limit: 1,
                filter: Default::default(),
            };
            let prepared = search::prepare(&req.text);
            let hits = search::search_many(&idxs, &req, &prepared, &|| None)?;
            if !search::answers_as(m.paste, &hits) {
                open.push(m);
            }
        }
        list = open;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        ctx.ui.json(&mut out, &list)?;
    } else {
        let now = chrono::Utc::now();
        for Miss {
            query,
            count,
            last_seen,
            ..
        } in &list
        {
            writeln!(
                out,
                "{count}\t{}\t{}",
                crate::outcomes::ago(last_seen, now),
                output::one_line(query)
            )?;
        }
    }
    out.flush()?;
    if list.is_empty() && !ctx.ui.quiet() && !args.json {
        ctx.ui.tell("kb: no unanswered searches");
    }
    Ok(ExitCode::found(!list.is_empty()))
}
