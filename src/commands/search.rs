//! `kb search QUERY`: the pasted error (or words) in, the notes that fixed it out.

use super::Context;
use crate::cli::SearchArgs;
use crate::exit_codes::ExitCode;
use crate::index::{NoteIndex, Snippets};
use crate::note::Note;
use crate::output;
use crate::search::{self, Explanation, Hit, SearchRequest};
use anyhow::{bail, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;

/// Lines of the Fix section shown under each result.
const FIX_LINES: usize = 3;

/// A hit: its rank, score and snippet, then the note as `kb show --json` shows it
/// ([`crate::view::NoteView`]).
#[derive(Serialize)]
struct JsonHit<'a> {
    rank: usize,
    score: f32,
    /// With an embedding model, for typed words: the cosine of the query to the note.
    #[serde(skip_serializing_if = "Option::is_none")]
    semantic: Option<f32>,
    snippet: String,
    #[serde(flatten)]
    note: crate::view::NoteView,
    #[serde(skip_serializing_if = "Option::is_none")]
    explain: Option<&'a Explanation>,
}

pub fn run(ctx: &Context, args: SearchArgs) -> Result<ExitCode> {
    let words: Vec<String> = args.query.iter().chain(&args.more).cloned().collect();
    let text = query_text(ctx, &words)?;
    if text.trim().is_empty() {
        bail!(crate::error::KbError::InvalidInput(
            "the query is empty: paste the error or type a few words".into()
        ));
    }
    let req = SearchRequest {
        text,
        limit: args.limit.unwrap_or(5).max(1),
        filter: args.filter.filter()?,
    };
    // Typed words are read by the model (when one is configured) on another thread while the
    // vaults are opened and searched by words; the model is loaded and the question read
    // while the query is prepared if its characters already tell it may be typed words (a
    // pasted error does not pay for a model it does not use).
    let start =
        |dir: &std::path::PathBuf| crate::embed::Early::start(dir.clone(), req.text.clone());
    let early = ctx
        .model
        .as_ref()
        .filter(|_| crate::query::may_be_typed_words(&req.text))
        .map(start);
    let prepared = search::prepare(&req.text);
    // A pasted error is not read by meaning: the thread started for it stops.
    let early = match early {
        _ if prepared.needs_recorded_error() => None,
        Some(e) => Some(e),
        None => ctx.model.as_ref().map(start),
    };
    let mut library = super::open_library(ctx)?.with_early(early);
    let (hits, reports) = library.search(&req, &prepared)?;
    for r in &reports {
        super::report_warnings(ctx, r);
    }
    super::warn_all(ctx, &library.take_notices());
    let opened = &library.shelves;
    // Misses are remembered in the vault writes go to (else the first one searched).
    let vault = ctx
        .vault()
        .unwrap_or_else(|_| opened[0].index.vault().clone());
    let plain = !args.json && (args.plain || (!ctx.stdout_tty && !args.long && !args.explain));
    let shown = Shown {
        labels: opened.iter().map(|o| o.label.as_deref()).collect(),
        details: if plain {
            Vec::new()
        } else {
            details_of(opened, &prepared, &hits)
        },
        authors: if plain {
            Vec::new()
        } else {
            authors_of(&library, &hits)
        },
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        print_json(&ctx.ui, &mut out, &hits, &shown, args.explain)?;
    } else if plain {
        print_plain(ctx, &mut out, &hits, &shown)?;
    } else {
        print_long(ctx, &mut out, &hits, &shown, args.explain)?;
    }
    out.flush()?;
    drop(out);
    if let Some(advice) = crate::library::advice(&prepared, &req.text, &hits, vault.is_vault()) {
        no_answer(ctx, &vault, &prepared, &advice, args.json);
    }
    super::background_checks(&mut library);
    // The process ends now: unmapping the indexes one by one would cost more than a tenth of
    // the search (the system frees them at exit in one go). Nothing of theirs needs flushing.
    std::mem::forget(library);
    Ok(ExitCode::found(!hits.is_empty()))
}

/// What the hits show beyond the index, by hit: their vault labels (by vault), the notes as
/// read now, who wrote them (both empty for the one-line form).
struct Shown<'a> {
    labels: Vec<Option<&'a str>>,
    details: Vec<Details>,
    authors: Vec<Option<crate::history::Authorship>>,
}

impl Shown<'_> {
    /// `team:windows/foo` with several vaults (an id `kb show` takes as it is).
    fn id(&self, h: &Hit) -> String {
        crate::library::qualified_id(self.labels[h.vault], h.note.id())
    }
}

/// The hits' snippets and fixes, read from the notes (one snippet maker for all: the query's
/// words, as the index analyses them).
fn details_of(opened: &[super::Opened], prepared: &search::Prepared, hits: &[Hit]) -> Vec<Details> {
    let generator = Snippets::new(&prepared.words, 200);
    hits.iter()
        .map(|h| details(&opened[h.vault].index, &generator, h))
        .collect()
}

/// Who wrote the hits: one lookup per vault.
fn authors_of(
    library: &crate::library::Library,
    hits: &[Hit],
) -> Vec<Option<crate::history::Authorship>> {
    let mut found: Vec<HashMap<String, crate::history::Authorship>> = library
        .shelves
        .iter()
        .enumerate()
        .map(|(v, _)| {
            let rels: Vec<&str> = hits
                .iter()
                .filter(|h| h.vault == v)
                .map(|h| h.note.rel.as_str())
                .collect();
            if rels.is_empty() {
                HashMap::new()
            } else {
                library.authorship(v, &rels)
            }
        })
        .collect();
    hits.iter()
        .map(|h| found[h.vault].remove(&h.note.rel))
        .collect()
}

fn print_json(
    ui: &crate::ui::Ui,
    out: &mut impl Write,
    hits: &[Hit],
    shown: &Shown,
    explain: bool,
) -> Result<()> {
    let rows: Vec<JsonHit> = hits
        .iter()
        .zip(&shown.details)
        .zip(&shown.authors)
        .enumerate()
        .map(|(i, ((h, d), who))| JsonHit {
            rank: i + 1,
            score: h.score,
            semantic: h.explanation.semantic,
            snippet: d.plain_snippet(),
            note: match &d.note {
                Some(n) => {
                    crate::view::NoteView::new(shown.labels[h.vault], &h.note.rel, n, who.as_ref())
                }
                // Gone since it was indexed: what the index knows.
                None => crate::view::NoteView {
                    vault: shown.labels[h.vault].map(str::to_string),
                    id: h.note.id().to_string(),
                    path: h.note.rel.clone(),
                    title: h.note.title.clone(),
                    tags: h.note.tags.clone(),
                    errors: Vec::new(),
                    fix: Vec::new(),
                    record: h.note.record.clone(),
                    author: None,
                    authored: None,
                    last_editor: None,
                    last_edited: None,
                },
            },
            explain: explain.then_some(&h.explanation),
        })
        .collect();
    ui.json(out, &rows)?;
    Ok(())
}

/// One line per hit, `id<TAB>title<TAB>path`; colour only when asked (`--color always`, for
/// `less -R` or `fzf --ansi`).
fn print_plain(ctx: &Context, out: &mut impl Write, hits: &[Hit], shown: &Shown) -> Result<()> {
    let ui = &ctx.ui;
    for h in hits {
        writeln!(
            out,
            "{}\t{}\t{}",
            ui.out(output::ID, &output::one_line(&shown.id(h))),
            ui.out(output::TITLE, &output::one_line(&h.note.title)),
            ui.out(output::DIM, &output::one_line(&h.note.rel))
        )?;
    }
    Ok(())
}

/// The full form: each hit with its record, snippet and fix; a decisive answer comes alone and
/// the weak hits far below it are one line each.
fn print_long(
    ctx: &Context,
    out: &mut impl Write,
    hits: &[Hit],
    shown: &Shown,
    explain: bool,
) -> Result<()> {
    let ui = &ctx.ui;
    if let Some(e) = hits.first().map(|h| &h.explanation).filter(|_| explain) {
        writeln!(out, "{} {}", ui.out(output::DIM, "read as:"), e.read_as)?;
        if !e.corrections.is_empty() {
            let fixed = e.corrections.join(", ");
            writeln!(out, "{} {fixed}", ui.out(output::DIM, "spelling:"))?;
        }
        writeln!(out)?;
    }
    let full = if explain {
        hits.len()
    } else {
        search::decisive(hits)
    };
    for (i, ((h, d), who)) in hits
        .iter()
        .zip(&shown.details)
        .zip(&shown.authors)
        .enumerate()
    {
        if i >= full {
            if i == full {
                writeln!(out, "{}", ui.out(output::DIM, "far weaker matches:"))?;
            }
            writeln!(
                out,
                "   {}  {}",
                ui.out(output::ID, &output::one_line(&shown.id(h))),
                ui.out(output::DIM, &output::one_line(&h.note.title))
            )?;
            continue;
        }
        let row = Row {
            rank: i + 1,
            hit: h,
            vault: shown.labels[h.vault],
            details: d,
            who: who.as_ref(),
        };
        print_hit(ctx, out, &row, explain)?;
    }
    Ok(())
}

/// The query: the arguments joined, or stdin for `-` / no arguments off a terminal.
fn query_text(ctx: &Context, args: &[String]) -> Result<String> {
    if args.is_empty() || (args.len() == 1 && args[0] == "-") {
        if args.is_empty() && ctx.stdin_tty {
            bail!(crate::error::KbError::InvalidInput(
                "no query given: paste the error as an argument, or pipe it in".into()
            ));
        }
        return super::read_stdin();
    }
    Ok(args.join(" "))
}

/// What a result shows beyond the index: read from the note itself.
struct Details {
    fragment: String,
    highlights: Vec<std::ops::Range<usize>>,
    fix: Vec<String>,
    /// The note as read now (None: gone since it was indexed).
    note: Option<Note>,
}

impl Details {
    fn plain_snippet(&self) -> String {
        output::one_line(&self.fragment)
    }

    fn painted_snippet(&self, ui: &crate::ui::Ui) -> String {
        let mut s = String::new();
        let mut at = 0;
        for r in &self.highlights {
            if r.start < at || r.end > self.fragment.len() {
                continue;
            }
            s.push_str(&output::one_line_keep_edges(&self.fragment[at..r.start]));
            s.push_str(&ui.out(output::MATCH, &output::one_line(&self.fragment[r.clone()])));
            at = r.end;
        }
        s.push_str(&output::one_line_keep_edges(&self.fragment[at..]));
        s.trim().to_string()
    }
}

fn details(idx: &NoteIndex, generator: &Snippets, hit: &Hit) -> Details {
    let Ok((bytes, _)) = idx.vault().read(&hit.note.rel) else {
        return Details {
            fragment: String::new(),
            highlights: Vec::new(),
            fix: Vec::new(),
            note: None,
        };
    };
    let note = Note::parse_bytes(&bytes, crate::vault::stem_of(&hit.note.rel));
    let (fragment, highlights) = generator.of(&note.body_text).unwrap_or_else(|| {
        let start: String = note.body_text.chars().take(200).collect();
        (start, Vec::new())
    });
    let fix = note
        .fix_section()
        .map(|s| {
            s.raw
                .lines()
                .map(output::one_line)
                .filter(|l| !l.is_empty())
                .take(FIX_LINES)
                .collect()
        })
        .unwrap_or_default();
    Details {
        fragment,
        highlights,
        fix,
        note: Some(note),
    }
}

/// Nothing answers the query (no hit, or for a pasted error no note recording a similar error):
/// remember the miss (`kb misses`), and say what to do next ([`crate::library::Advice`]: the
/// web search to try, and the command that starts a note with this error once it is solved).
/// With `--json` the same is one JSON object on stderr (stdout keeps the array of hits, which
/// scripts read as it is).
fn no_answer(
    ctx: &Context,
    vault: &crate::vault::Vault,
    prepared: &search::Prepared,
    advice: &crate::library::Advice,
    json: bool,
) {
    let _ = crate::misses::remember(vault, &advice.web_query, prepared, &super::now_rfc3339());
    if json {
        let obj = serde_json::json!({
            "answered": false,
            "reason": advice.reason,
            "web_query": advice.web_query,
            "add_command": advice.add_command,
        });
        eprintln!("{obj}");
        return;
    }
    if ctx.ui.quiet() {
        return;
    }
    ctx.ui.tell(if advice.reason == "no hit" {
        "kb: no note matches"
    } else {
        "kb: no note records an error like this one; the notes above only share some words"
    });
    if !advice.web_query.is_empty() {
        ctx.ui
            .tell(&format!("  search the web for: {}", advice.web_query));
    }
    if let Some(add) = &advice.add_command {
        ctx.ui.tell(&format!("  once it is solved: {add}"));
    }
}

/// One result as a terminal shows it.
struct Row<'a> {
    rank: usize,
    hit: &'a Hit,
    /// The vault's name, when several are searched.
    vault: Option<&'a str>,
    details: &'a Details,
    who: Option<&'a crate::history::Authorship>,
}

fn print_hit(ctx: &Context, out: &mut impl Write, row: &Row, explain: bool) -> std::io::Result<()> {
    let Row {
        rank,
        hit: h,
        vault,
        details: d,
        who,
    } = *row;
    let ui = &ctx.ui;
    let id = match vault {
        Some(v) => format!(
            "{}{}",
            ui.out(output::LABEL, &format!("{v}:")),
            ui.out(output::ID, &output::one_line(h.note.id()))
        ),
        None => ui.out(output::ID, &output::one_line(h.note.id())),
    };
    writeln!(
        out,
        "{} {}  {}",
        ui.out(output::DIM, &format!("{rank}.")),
        id,
        ui.out(output::TITLE, &output::one_line(&h.note.title)),
    )?;
    writeln!(
        out,
        "   {}",
        ui.out(output::DIM, &output::one_line(&h.note.rel))
    )?;
    let record = &h.note.record;
    let now = chrono::Utc::now();
    let who = who.map(|w| w.summary(now));
    let line = record.summary(now, who.as_deref());
    if !line.is_empty() {
        let style = if record.is_retired() || record.is_doubtful() {
            output::WARN
        } else {
            output::LABEL
        };
        writeln!(out, "   {}", ui.out(style, &line))?;
    }
    let snippet = d.painted_snippet(ui);
    if !snippet.is_empty() {
        writeln!(out, "   {snippet}")?;
    }
    for (i, line) in d.fix.iter().enumerate() {
        let label = if i == 0 { "Fix:" } else { "    " };
        writeln!(out, "   {} {line}", ui.out(output::LABEL, label))?;
    }
    if explain {
        print_explanation(ui, out, h)?;
    }
    writeln!(out)
}

/// `why: score ... = text ... + error similarity ...` and what moved the hit (`--explain`).
fn print_explanation(ui: &crate::ui::Ui, out: &mut impl Write, h: &Hit) -> std::io::Result<()> {
    let e = &h.explanation;
    writeln!(
        out,
        "   {} score {:.3} = text {:.3} (bm25 {:.2}{}) + error similarity {:.3} x {}",
        ui.out(output::DIM, "why:"),
        h.score,
        e.text_part,
        e.bm25,
        if e.fuzzy { ", typo-tolerant" } else { "" },
        e.error_similarity,
        search::ERROR_WEIGHT
    )?;
    if let (Some(m), Some(q)) = (&e.matched_error, &e.pasted_line) {
        writeln!(out, "        pasted:   {}", output::one_line(q))?;
        writeln!(out, "        recorded: {}", output::one_line(m))?;
    }
    if !e.codes.is_empty() {
        writeln!(out, "        codes in common: {}", e.codes.join(", "))?;
    }
    if let Some(s) = e.semantic {
        writeln!(
            out,
            "        semantic {s:.2} (meaning is {:.0}% of the text part, words the rest)",
            e.semantic_weight * 100.0
        )?;
    } else if e.not_embedded {
        writeln!(
            out,
            "        semantic: not embedded yet (`kb index` computes it); ranked by its words"
        )?;
    }
    if e.reordered_by_record {
        writeln!(
            out,
            "        moved among equal matches by its record (uses that worked or failed, retired)"
        )?;
    }
    if e.verbatim {
        writeln!(
            out,
            "        recorded verbatim: + {}",
            search::VERBATIM_WEIGHT
        )?;
    }
    Ok(())
}
