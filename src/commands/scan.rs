//! `kb scan [FILE|-]`: which lines of a log match known fixes, grouped by note.
//!
//! The log is read line by line (bounded memory whatever its size). Each line is normalised;
//! lines with the same constant parts are looked up once (a bounded cache), so a log of many
//! repetitions of a few messages costs a few searches.

use super::Context;
use crate::cli::ScanArgs;
use crate::index::NoteIndex;
use crate::normalize;
use crate::output::{self, paint};
use crate::search::{self, SearchRequest};
use anyhow::{Context as _, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
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

pub fn run(ctx: &Context, args: ScanArgs) -> Result<i32> {
    let vault = ctx.require_vault()?;
    let idx = super::open_index(ctx, &vault)?;
    let (input, total): (Box<dyn Read>, Option<u64>) = match &args.file {
        None => (Box::new(std::io::stdin().lock()), None),
        Some(p) if p.as_os_str() == "-" => (Box::new(std::io::stdin().lock()), None),
        Some(p) => {
            let f =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            let len = f.metadata().map(|m| m.len()).ok();
            (Box::new(f), len)
        }
    };
    let progress = !ctx.quiet && std::io::stderr().is_terminal();
    let report = scan(&idx, input, total, args.threshold, progress)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print(ctx, &mut out, &report)?;
    }
    out.flush()?;
    Ok(if report.matched > 0 { 0 } else { 1 })
}

fn scan(
    idx: &NoteIndex,
    input: Box<dyn Read>,
    total: Option<u64>,
    threshold: f32,
    progress: bool,
) -> Result<Report> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut cache: HashMap<String, Option<usize>> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut by_rel: HashMap<String, usize> = HashMap::new();
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
        buf.truncate(MAX_LINE);
        let raw = String::from_utf8_lossy(&buf);
        let line = normalize::strip_log_prefix(raw.trim_end());
        let tokens = normalize::normalize(line);
        let words = tokens
            .iter()
            .filter(|t| !matches!(t, normalize::Token::Var(_)))
            .count();
        if words < 2 {
            continue;
        }
        let key = normalize::join(&tokens);
        let found = match cache.get(&key) {
            Some(v) => *v,
            None => {
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
                let v = lookup(idx, line, threshold, &mut groups, &mut by_rel)?;
                cache.insert(key, v);
                v
            }
        };
        if let Some(g) = found {
            let group = &mut groups[g];
            if group.lines == 0 {
                group.first_line = lines;
                group.sample = output::one_line(raw.trim_end());
            }
            group.lines += 1;
            group.last_line = lines;
            matched += 1;
        }
        if progress && last_progress.elapsed() > Duration::from_millis(250) {
            last_progress = Instant::now();
            let pct = total
                .map(|t| format!(" ({:.0}%)", 100.0 * bytes as f64 / t.max(1) as f64))
                .unwrap_or_default();
            eprint!(
                "\rkb: scanned {} lines, {} MB{pct}, {matched} matched   ",
                lines,
                bytes / 1_000_000
            );
        }
    }
    if progress {
        eprint!("\r{:60}\r", "");
    }
    groups.retain(|g| g.lines > 0);
    groups.sort_by(|a, b| b.lines.cmp(&a.lines).then(a.first_line.cmp(&b.first_line)));
    Ok(Report {
        lines,
        matched,
        unmatched: lines - matched,
        notes: groups,
    })
}

/// The group of the note whose recorded error this line matches, if any.
fn lookup(
    idx: &NoteIndex,
    line: &str,
    threshold: f32,
    groups: &mut Vec<Group>,
    by_rel: &mut HashMap<String, usize>,
) -> Result<Option<usize>> {
    let req = SearchRequest {
        text: line.to_string(),
        limit: 1,
        tags: Vec::new(),
    };
    let Some(hit) = search::search(idx, &req)?.into_iter().next() else {
        return Ok(None);
    };
    if hit.explanation.error_similarity < threshold {
        return Ok(None);
    }
    let rel = hit.note.rel.clone();
    let g = *by_rel.entry(rel.clone()).or_insert_with(|| {
        groups.push(Group {
            id: hit.note.id().to_string(),
            path: rel,
            title: hit.note.title.clone(),
            lines: 0,
            first_line: 0,
            last_line: 0,
            sample: String::new(),
        });
        groups.len() - 1
    });
    Ok(Some(g))
}

fn print(ctx: &Context, out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let c = ctx.color_out;
    for g in &r.notes {
        writeln!(
            out,
            "{}  {}  {}",
            paint(c, output::ID, &output::one_line(&g.id)),
            paint(c, output::TITLE, &output::one_line(&g.title)),
            paint(
                c,
                output::DIM,
                &format!("{} lines, {}-{}", g.lines, g.first_line, g.last_line)
            ),
        )?;
        let sample: String = g.sample.chars().take(160).collect();
        writeln!(out, "   {sample}")?;
    }
    writeln!(
        out,
        "{} lines: {} matched {} notes, {} unmatched",
        r.lines,
        r.matched,
        r.notes.len(),
        r.unmatched
    )
}
