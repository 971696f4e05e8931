//! `kb show ID`: print a note (or only its Fix section, or JSON).

use super::Context;
use crate::cli::ShowArgs;
use crate::note::Note;
use crate::output;
use crate::vault;
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct JsonNote<'a> {
    id: &'a str,
    path: &'a str,
    title: &'a str,
    tags: &'a [String],
    errors: &'a [String],
    aliases: &'a [String],
    created: &'a Option<String>,
    updated: &'a Option<String>,
    links: Vec<&'a str>,
    fix: Option<&'a str>,
    text: &'a str,
}

pub fn run(ctx: &Context, args: ShowArgs) -> Result<i32> {
    let vault = ctx.require_vault()?;
    let idx = super::open_index(ctx, &vault)?;
    let rel = idx.resolve(&args.id)?;
    let bytes = std::fs::read(vault.abs(&rel))?;
    let text = String::from_utf8_lossy(&bytes);
    let note = Note::parse(&text, vault::stem_of(&rel));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        let j = JsonNote {
            id: vault::id_of(&rel),
            path: &rel,
            title: &note.title,
            tags: &note.tags,
            errors: &note.errors,
            aliases: &note.aliases,
            created: &note.created,
            updated: &note.updated,
            links: note.links.iter().map(|l| l.target.as_str()).collect(),
            fix: note.fix_section().map(|s| s.raw.trim()),
            text: &text,
        };
        serde_json::to_writer_pretty(&mut out, &j)?;
        writeln!(out)?;
    } else if args.fix {
        match note.fix_section() {
            Some(s) => writeln!(out, "{}", output::sanitize(s.raw.trim()))?,
            None => {
                out.flush()?;
                output::status(&format!("kb: {} has no Fix section", vault::id_of(&rel)));
                return Ok(1);
            }
        }
    } else {
        let text = output::sanitize(text.trim_start_matches('\u{feff}'));
        write!(out, "{text}")?;
        if !text.ends_with('\n') {
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(0)
}
