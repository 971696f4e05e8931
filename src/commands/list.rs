//! `kb list`: the notes, newest first.

use super::Context;
use crate::cli::ListArgs;
use crate::exit_codes::ExitCode;
use crate::filter::date_of;
use crate::index::StoredNote;
use crate::output;
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct JsonNote<'a> {
    /// The vault's name, when several vaults are listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    vault: Option<&'a str>,
    id: &'a str,
    path: &'a str,
    title: &'a str,
    tags: &'a [String],
    created: &'a Option<String>,
    updated: &'a Option<String>,
}

pub fn run(ctx: &Context, args: ListArgs) -> Result<ExitCode> {
    let opened = super::open_library(ctx)?.shelves;
    let filter = args.filter.filter()?;
    let mut notes: Vec<(String, Option<&str>, StoredNote)> = Vec::new();
    for o in &opened {
        for n in o.index.all()? {
            if filter.keeps(&n) {
                notes.push((date_of(&n), o.label.as_deref(), n));
            }
        }
    }
    notes.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.rel.cmp(&b.2.rel))
    });
    if let Some(n) = args.limit {
        notes.truncate(n);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        let rows: Vec<JsonNote> = notes
            .iter()
            .map(|(_, vault, n)| JsonNote {
                vault: *vault,
                id: n.id(),
                path: &n.rel,
                title: &n.title,
                tags: &n.tags,
                created: &n.created,
                updated: &n.updated,
            })
            .collect();
        ctx.ui.json(&mut out, &rows)?;
    } else {
        let ui = &ctx.ui;
        for (when, vault, n) in &notes {
            let date: String = when.chars().take(10).collect();
            let tags = if n.tags.is_empty() {
                String::new()
            } else {
                format!(
                    "  {}",
                    ui.out(output::DIM, &format!("#{}", n.tags.join(" #")))
                )
            };
            let id = match vault {
                Some(v) => format!("{v}:{}", n.id()),
                None => n.id().to_string(),
            };
            writeln!(
                out,
                "{}  {}  {}{tags}",
                ui.out(output::DIM, &date),
                ui.out(output::ID, &output::one_line(&id)),
                output::one_line(&n.title)
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::found(!notes.is_empty()))
}
