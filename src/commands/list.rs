//! `kb list`: the notes, newest first.

use super::Context;
use crate::cli::ListArgs;
use crate::exit_codes::ExitCode;
use crate::index::StoredNote;
use crate::output::{self, paint};
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

/// Which notes a listing keeps: all of these tags, and changed since a date.
struct Filter {
    tags: Vec<String>,
    since: Option<String>,
}

impl Filter {
    /// `when`: the note's date ([`when`]).
    fn matches(&self, n: &StoredNote, when: &str) -> bool {
        self.tags.iter().all(|t| n.tags.iter().any(|x| x == t))
            && self.since.as_deref().is_none_or(|s| when >= s)
    }
}

/// Sort key: the newest of updated / created, else the file's modification time.
fn when(n: &StoredNote) -> String {
    let fm = [n.updated.as_deref(), n.created.as_deref()]
        .into_iter()
        .flatten()
        .max()
        .map(str::to_string);
    fm.unwrap_or_else(|| {
        chrono::DateTime::from_timestamp_nanos(n.stamp.mtime as i64)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    })
}

/// `2026-11-01` as it is; `7d`, `2w`, `3m`, `1y` as that long before today.
fn parse_since(s: &str) -> Result<String> {
    let s = s.trim();
    if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Ok(s.to_string());
    }
    let bad = || {
        crate::error::KbError::InvalidInput(format!(
            "--since {s}: give a date (2026-11-01) or an age (7d, 2w, 3m, 1y)"
        ))
    };
    let Some(unit) = s.chars().last() else {
        anyhow::bail!(bad());
    };
    let num = &s[..s.len() - unit.len_utf8()];
    let per = match unit {
        'd' => 1,
        'w' => 7,
        'm' => 30,
        'y' => 365,
        _ => anyhow::bail!(bad()),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    // An age reaching before any date chrono can hold means "everything".
    let start = n
        .checked_mul(per)
        .filter(|d| *d >= 0)
        .and_then(chrono::Duration::try_days)
        .and_then(|d| chrono::Utc::now().checked_sub_signed(d));
    Ok(match start {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None if n >= 0 => "0000-00-00".to_string(),
        None => anyhow::bail!(bad()),
    })
}

pub fn run(ctx: &Context, args: ListArgs) -> Result<ExitCode> {
    let opened = super::open_indexes(ctx)?;
    let filter = Filter {
        tags: args.tags.iter().map(|t| t.to_lowercase()).collect(),
        since: args.since.as_deref().map(parse_since).transpose()?,
    };
    let mut notes: Vec<(String, Option<&str>, StoredNote)> = Vec::new();
    for o in &opened {
        for n in o.index.all()? {
            let w = when(&n);
            if filter.matches(&n, &w) {
                notes.push((w, o.label.as_deref(), n));
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
        output::json(&mut out, &rows)?;
    } else {
        let c = ctx.color_out;
        for (when, vault, n) in &notes {
            let date: String = when.chars().take(10).collect();
            let tags = if n.tags.is_empty() {
                String::new()
            } else {
                format!(
                    "  {}",
                    paint(c, output::DIM, &format!("#{}", n.tags.join(" #")))
                )
            };
            let id = match vault {
                Some(v) => format!("{v}:{}", n.id()),
                None => n.id().to_string(),
            };
            writeln!(
                out,
                "{}  {}  {}{tags}",
                paint(c, output::DIM, &date),
                paint(c, output::ID, &output::one_line(&id)),
                output::one_line(&n.title)
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::found(!notes.is_empty()))
}
