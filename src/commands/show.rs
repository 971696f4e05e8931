//! `kb show ID`: print a note (or only its Fix section, or JSON), with the notes it links to
//! and the notes linking back to it.

use super::Context;
use crate::cli::ShowArgs;
use crate::exit_codes::ExitCode;
use crate::index::NoteIndex;
use crate::note::Note;
use crate::output;
use crate::vault;
use crate::view::NoteView;
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct JsonLink {
    target: String,
    /// The note it names, if it names one.
    id: Option<String>,
}

/// The note as `kb search --json` shows it ([`NoteView`]), and what only `show` adds.
#[derive(Serialize)]
struct JsonNote<'a> {
    #[serde(flatten)]
    note: NoteView,
    aliases: &'a [String],
    created: &'a Option<String>,
    updated: &'a Option<String>,
    links: Vec<JsonLink>,
    backlinks: Vec<&'a str>,
    text: &'a str,
}

pub fn run(ctx: &Context, args: ShowArgs) -> Result<ExitCode> {
    let vault = ctx.vault()?;
    let idx = super::open_index(ctx, &vault)?;
    let rel = idx.resolve(&args.id)?;
    let bytes = std::fs::read(vault.abs(&rel))?;
    let text = String::from_utf8_lossy(&bytes);
    let note = Note::parse(&text, vault::stem_of(&rel));
    if args.fix {
        return show_fix(ctx, &rel, &note, args.copy);
    }
    let links = resolve_links(&idx, &note);
    let backlinks = idx.backlinks(&rel)?;
    let who = crate::history::of_notes(vault.root(), idx.state_dir(), &[rel.as_str()]).remove(&rel);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        let j = JsonNote {
            note: NoteView::new(ctx.vault_label(), &rel, &note, who.as_ref()),
            aliases: &note.aliases,
            created: &note.created,
            updated: &note.updated,
            links,
            backlinks: backlinks.iter().map(|n| n.id()).collect(),
            text: &text,
        };
        ctx.ui.json(&mut out, &j)?;
        out.flush()?;
        return Ok(ExitCode::Success);
    }
    let mut page = output::sanitize(text.trim_start_matches('\u{feff}'));
    if !page.ends_with('\n') {
        page.push('\n');
    }
    // On a terminal, the note's neighbours follow it; piped, the note alone (as in the file).
    if ctx.stdout_tty {
        let ui = &ctx.ui;
        if !links.is_empty() {
            page.push_str(&format!("\n{}\n", ui.out(output::LABEL, "Links to:")));
            for l in &links {
                let shown = match &l.id {
                    Some(id) => ui.out(output::ID, id),
                    None => format!(
                        "{} {}",
                        output::one_line(&l.target),
                        ui.out(output::WARN, "(no such note)")
                    ),
                };
                page.push_str(&format!("  {shown}\n"));
            }
        }
        if let Some(w) = &who {
            let line = w.summary(chrono::Utc::now());
            page.push_str(&format!("\n{}\n", ui.out(output::DIM, &line)));
        }
        if !backlinks.is_empty() {
            page.push_str(&format!("\n{}\n", ui.out(output::LABEL, "Linked from:")));
            for n in &backlinks {
                page.push_str(&format!(
                    "  {}  {}\n",
                    ui.out(output::ID, &output::one_line(n.id())),
                    output::one_line(&n.title)
                ));
            }
        }
        drop(out);
        output::page(ctx.pager.as_deref(), &page)?;
        return Ok(ExitCode::Success);
    }
    out.write_all(page.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::Success)
}

fn resolve_links(idx: &NoteIndex, note: &Note) -> Vec<JsonLink> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for l in &note.links {
        if seen.contains(&l.target) {
            continue;
        }
        seen.push(l.target.clone());
        out.push(JsonLink {
            target: l.target.clone(),
            id: idx
                .resolve(&l.target)
                .ok()
                .map(|r| vault::id_of(&r).to_string()),
        });
    }
    out
}

fn show_fix(ctx: &Context, rel: &str, note: &Note, copy: bool) -> Result<ExitCode> {
    let Some(fix) = note.fix_section() else {
        ctx.ui
            .tell(&format!("kb: {} has no Fix section", vault::id_of(rel)));
        return Ok(ExitCode::NothingFound);
    };
    let text = output::sanitize(fix.raw.trim());
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    if copy {
        let how = output::copy_to_clipboard(&text)?;
        ctx.ui.say(&format!("kb: the fix is {how}"));
    }
    Ok(ExitCode::Success)
}
