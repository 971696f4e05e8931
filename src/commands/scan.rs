//! `kb scan [FILE|-]`: which lines of a log match known fixes, grouped by note.
//!
//! The log is read line by line (bounded memory whatever its size). Each line is normalised
//! and matched against every recorded error held in memory ([`Matcher`]); lines with the same
//! constant parts are matched once (a bounded cache).

use super::Context;
use crate::cli::ScanArgs;
use crate::exit_codes::ExitCode;
use crate::matcher::{Matcher, Scratch};
use crate::normalize;
use crate::output;
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

/// Distinct normalised lines remembered before the cache is emptied.
const CACHE_LIMIT: usize = 50_000;
/// Longest line looked at (the rest of a longer line is ignored).
const MAX_LINE: usize = 4096;

#[derive(Debug, Serialize)]
struct Group {
    id: String,
    path: String,
    title: String,
    lines: u64,
    first_line: u64,
    last_line: u64,
    sample: String,
}

#[derive(Debug, Serialize)]
struct Report {
    lines: u64,
    matched: u64,
    unmatched: u64,
    notes: Vec<Group>,
}

pub fn run(ctx: &Context, args: ScanArgs) -> Result<ExitCode> {
    let vault = ctx.vault()?;
    let idx = super::open_index(ctx, &vault)?;
    let (input, total): (Box<dyn Read>, Option<u64>) = match &args.file {
        None => (Box::new(std::io::stdin().lock()), None),
        Some(p) if p.as_os_str() == "-" => (Box::new(std::io::stdin().lock()), None),
        Some(p) => {
            if p.is_dir() {
                anyhow::bail!(crate::error::KbError::InvalidInput(format!(
                    "{} is a folder: give a log file, or `-` to read stdin",
                    p.display()
                )));
            }
            let f =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            let len = f.metadata().map(|m| m.len()).ok();
            (Box::new(f), len)
        }
    };
    let progress = ctx.ui.shows_progress();
    let notes = idx
        .all()?
        .into_iter()
        .map(|n| crate::matcher::NoteErrors {
            rel: n.rel,
            title: n.title,
            errkeys: n.errkeys,
        })
        .collect();
    let matcher = Matcher::build(notes, idx.num_notes())?;
    let report = scan(&matcher, input, total, args.threshold, progress)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        ctx.ui.json(&mut out, &report)?;
    } else {
        print(ctx, &mut out, &report)?;
    }
    out.flush()?;
    Ok(ExitCode::found(report.matched > 0))
}

fn scan(
    matcher: &Matcher,
    input: Box<dyn Read>,
    total: Option<u64>,
    threshold: f32,
    progress: bool,
) -> Result<Report> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut lines_to_notes = LineMatcher {
        matcher,
        threshold,
        cache: HashMap::new(),
        scratch: Scratch::default(),
    };
    let mut groups = Groups::default();
    let mut buf = Vec::with_capacity(1024);
    let (mut lines, mut matched, mut bytes) = (0u64, 0u64, 0u64);
    let mut last_progress = Instant::now();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        lines += 1;
        bytes += n as u64;
        if progress && lines % 4096 == 0 && last_progress.elapsed() > Duration::from_millis(250) {
            last_progress = Instant::now();
            show_progress(lines, bytes, total, matched);
        }
        if matcher.is_empty() {
            continue;
        }
        buf.truncate(MAX_LINE);
        let raw = String::from_utf8_lossy(&buf);
        if let Some(note) = lines_to_notes.note_of(&raw) {
            groups.add(matcher, note, lines, &raw);
            matched += 1;
        }
    }
    if progress {
        eprint!("\r{:70}\r", "");
    }
    let mut notes = groups.groups;
    notes.sort_by(|a, b| b.lines.cmp(&a.lines).then(a.first_line.cmp(&b.first_line)));
    Ok(Report {
        lines,
        matched,
        unmatched: lines - matched,
        notes,
    })
}

/// `kb: scanned N lines, M MB (P%), K matched` over itself on stderr.
fn show_progress(lines: u64, bytes: u64, total: Option<u64>, matched: u64) {
    let pct = total
        .map(|t| format!(" ({:.0}%)", 100.0 * bytes as f64 / t.max(1) as f64))
        .unwrap_or_default();
    eprint!(
        "\rkb: scanned {lines} lines, {} MB{pct}, {matched} matched   ",
        bytes / 1_000_000
    );
}

/// Log lines to the note whose recorded error they match, each line form matched once (logs
/// repeat the same lines with other variables).
struct LineMatcher<'a> {
    matcher: &'a Matcher,
    threshold: f32,
    cache: HashMap<String, Option<usize>>,
    scratch: Scratch,
}

impl LineMatcher<'_> {
    /// The note (its position in the matcher) a log line matches, if any: lines of fewer
    /// than two constant words match nothing.
    fn note_of(&mut self, raw: &str) -> Option<usize> {
        let line = normalize::strip_log_prefix(raw.trim_end());
        let tokens = normalize::normalize(line);
        let words = tokens
            .iter()
            .filter(|t| !matches!(t, normalize::Token::Var(_)))
            .count();
        if words < 2 {
            return None;
        }
        let key = normalize::join(&tokens);
        if let Some(v) = self.cache.get(&key) {
            return *v;
        }
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        let v = self
            .matcher
            .best(&tokens, &mut self.scratch)
            .filter(|(_, sim)| *sim >= self.threshold)
            .map(|(note, _)| note);
        self.cache.insert(key, v);
        v
    }
}

/// The matched lines grouped by note, in the order the notes were first matched.
#[derive(Default)]
struct Groups {
    groups: Vec<Group>,
    by_note: HashMap<usize, usize>,
}

impl Groups {
    /// Line number `line` (text `raw`) matched note `note`.
    fn add(&mut self, matcher: &Matcher, note: usize, line: u64, raw: &str) {
        let groups = &mut self.groups;
        let g = *self.by_note.entry(note).or_insert_with(|| {
            let n = matcher.note(note);
            groups.push(Group {
                id: crate::vault::id_of(&n.rel).to_string(),
                path: n.rel.clone(),
                title: n.title.clone(),
                lines: 0,
                first_line: line,
                last_line: line,
                sample: output::one_line(raw.trim_end()),
            });
            groups.len() - 1
        });
        let group = &mut self.groups[g];
        group.lines += 1;
        group.last_line = line;
    }
}

fn print(ctx: &Context, out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let ui = &ctx.ui;
    for g in &r.notes {
        writeln!(
            out,
            "{}  {}  {}",
            ui.out(output::ID, &output::one_line(&g.id)),
            ui.out(output::TITLE, &output::one_line(&g.title)),
            ui.out(
                output::DIM,
                &if g.lines == 1 {
                    format!("1 line, line {}", g.first_line)
                } else {
                    format!(
                        "{}, lines {}-{}",
                        output::count(g.lines, "line"),
                        g.first_line,
                        g.last_line
                    )
                }
            ),
        )?;
        let sample: String = g.sample.chars().take(160).collect();
        writeln!(out, "   {sample}")?;
    }
    writeln!(
        out,
        "{}: {} matched {}, {} unmatched",
        output::count(r.lines, "line"),
        r.matched,
        output::count(r.notes.len() as u64, "note"),
        r.unmatched
    )
}
