//! `kb tags`: every tag with how many notes carry it, most used first.

use super::Context;
use crate::cli::TagsArgs;
use crate::exit_codes::ExitCode;
use crate::output;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Serialize)]
struct TagCount<'a> {
    tag: &'a str,
    notes: usize,
}

pub fn run(ctx: &Context, args: TagsArgs) -> Result<ExitCode> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for o in super::open_library(ctx)?.shelves {
        for n in o.index.all()? {
            for t in n.tags {
                *counts.entry(t).or_default() += 1;
            }
        }
    }
    let mut rows: Vec<TagCount> = counts
        .iter()
        .map(|(tag, &notes)| TagCount { tag, notes })
        .collect();
    rows.sort_by(|a, b| b.notes.cmp(&a.notes).then(a.tag.cmp(b.tag)));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        ctx.ui.json(&mut out, &rows)?;
    } else {
        for r in &rows {
            writeln!(
                out,
                "{:>6}  {}",
                r.notes,
                ctx.ui.out(output::ID, &output::one_line(r.tag))
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::found(!rows.is_empty()))
}
