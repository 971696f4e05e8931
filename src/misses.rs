//! Searches that found nothing: what to look up elsewhere, and what the team should document
//! next.
//!
//! A miss is remembered in the vault's `.kb/misses.jsonl` (local, never committed: `.kb/` is the
//! cache folder), one JSON line each, holding only the paste's constant parts (the words and codes
//! kb did not mask: no user names, paths, addresses or numbers of the customer's).

use crate::normalize::Token;
use crate::search::Prepared;
use crate::vault::Vault;
use serde::{Deserialize, Serialize};
use std::io::Write;

const FILE: &str = "misses.jsonl";
/// Words after which a message names an account: the next word is left out of a web query.
const ACCOUNT_WORDS: &[&str] = &["user", "username", "login", "account", "upn"];
/// Words that say what happened to an account, never its name (`account locked out`, `user
/// is disabled`): kept after an account word.
const ACCOUNT_STATES: &[&str] = &[
    "locked",
    "lockout",
    "disabled",
    "expired",
    "deleted",
    "blocked",
    "suspended",
    "not",
    "is",
    "has",
    "was",
    "does",
    "name",
    "names",
    "password",
    "profile",
    "cannot",
    "can",
    "could",
    "must",
    "already",
    "doesn",
    "control",
    "settings",
    "type",
];
/// Lines of the paste that make the web query.
const QUERY_LINES: usize = 2;
/// Words and codes of one line in the web query, and of the whole query (web search engines
/// read about 32 words), and its length in characters.
const QUERY_LINE_WORDS: usize = 16;
const QUERY_WORDS: usize = 32;
const QUERY_CHARS: usize = 200;
/// Pasted lines whose forms a miss keeps (a long log adds nothing after the first few).
const MISS_FORMS: usize = 32;
/// The misses file is cut back to its newest half past this size.
const MISS_FILE_BYTES: u64 = 512 * 1024;

/// `s` cut to at most `max` characters, at a character boundary.
pub fn clip(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The query to paste into a web search: each error line's constant parts, quoted when they are
/// several words, codes bare. Empty when nothing constant is left.
pub fn web_query(p: &Prepared) -> String {
    let mut parts: Vec<String> = Vec::new();
    let lines = p.lines.iter().filter(|l| l.is_error).chain(p.lines.iter());
    let mut seen = std::collections::HashSet::new();
    for line in lines {
        if parts.len() >= QUERY_LINES || !seen.insert(line.line) {
            continue;
        }
        let mut words: Vec<&str> = Vec::new();
        let mut codes: Vec<&str> = Vec::new();
        let mut after_account_word = false;
        for t in &line.tokens {
            // `for user jdoe`, `login kim` in a pasted error: the name is the customer's, not
            // the error's. Typed words name no one (`account locked out`), and a word that
            // says what happened to the account is not a name either.
            let skip = std::mem::replace(
                &mut after_account_word,
                p.is_error_paste()
                    && matches!(t, Token::Word(w) if ACCOUNT_WORDS.contains(&w.as_str())),
            ) && !matches!(t, Token::Word(w) if ACCOUNT_STATES.contains(&w.as_str()));
            match t {
                Token::Word(_) if skip => {}
                Token::Word(w) => words.push(w),
                Token::Code(c) => codes.push(c),
                Token::Var(_) => {}
            }
        }
        // A line of hundreds of words (a pasted document) gives its first few.
        let budget = QUERY_WORDS.saturating_sub(
            parts
                .iter()
                .map(|p: &String| p.split_whitespace().count())
                .sum::<usize>(),
        );
        words.truncate(QUERY_LINE_WORDS.min(budget));
        codes.truncate(4);
        let mut part = match words.len() {
            0 => String::new(),
            1 => words[0].to_string(),
            _ => format!("\"{}\"", words.join(" ")),
        };
        // Constants as programs print them (`STATUS_DISK_QUOTA_EXCEEDED`): read back by kb, an
        // upper-case identifier stays one code.
        for c in codes {
            if !part.is_empty() {
                part.push(' ');
            }
            if c.contains('_') {
                part.push_str(&c.to_uppercase());
            } else {
                part.push_str(c);
            }
        }
        if !part.is_empty() {
            parts.push(part);
        }
    }
    let mut query = parts.join(" ");
    if query.chars().count() > QUERY_CHARS {
        // Cut at a word, and close a quote left open.
        let cut = clip(&query, QUERY_CHARS);
        let cut = cut.rsplit_once(' ').map_or(cut, |(head, _)| head);
        let mut q = cut.trim_end_matches(['"', ' ']).to_string();
        if q.matches('"').count() % 2 == 1 {
            q.push('"');
        }
        query = q;
    }
    query
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Line {
    at: String,
    query: String,
    /// Whether the search was a pasted error (a note answers it only with a similar error).
    #[serde(default)]
    paste: bool,
    /// Hashes of the pasted lines' normalised forms ([`crate::matcher::LineIdentity`]): a note
    /// recording one of them answers the miss. (Hashes: nothing of the customer's is kept.)
    #[serde(default)]
    forms: Vec<u64>,
}

/// One error the vault had no answer for, however many times it was searched.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub query: String,
    pub paste: bool,
    #[serde(skip)]
    pub forms: Vec<u64>,
    pub count: usize,
    pub first_seen: String,
    pub last_seen: String,
}

/// Remember a miss (only in a vault: kb writes nowhere else).
pub fn remember(vault: &Vault, query: &str, p: &Prepared, at: &str) -> std::io::Result<()> {
    if query.is_empty() || !vault.is_vault() {
        return Ok(());
    }
    let dir = vault.state_dir();
    std::fs::create_dir_all(&dir)?;
    let line = serde_json::to_string(&Line {
        at: at.to_string(),
        query: query.to_string(),
        paste: p.needs_recorded_error(),
        forms: p
            .lines
            .iter()
            .take(MISS_FORMS)
            .map(|l| crate::matcher::paste_identity(&l.raw, &l.tokens).form)
            .collect(),
    })?;
    // One write of a whole line in append mode: concurrent searches do not interleave.
    let path = dir.join(FILE);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    f.write_all(format!("{line}\n").as_bytes())?;
    if f.metadata()?.len() > MISS_FILE_BYTES {
        drop(f);
        keep_newest_half(&path)?;
    }
    Ok(())
}

/// Cut the misses file back to its newest half (whole lines), replacing it atomically.
fn keep_newest_half(path: &std::path::Path) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let half = text.len() / 2;
    let start = text[half..].find('\n').map_or(text.len(), |i| half + i + 1);
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&text.as_bytes()[start..])?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The misses, most frequent first (then the most recent); lines that cannot be read are skipped.
pub fn load(vault: &Vault) -> Vec<Miss> {
    let Ok(text) = std::fs::read_to_string(vault.state_dir().join(FILE)) else {
        return Vec::new();
    };
    let mut by_query: std::collections::HashMap<String, Miss> = Default::default();
    for l in text.lines() {
        let Ok(line) = serde_json::from_str::<Line>(l) else {
            continue;
        };
        let m = by_query.entry(line.query.clone()).or_insert_with(|| Miss {
            query: line.query.clone(),
            paste: line.paste,
            forms: Vec::new(),
            count: 0,
            first_seen: line.at.clone(),
            last_seen: line.at.clone(),
        });
        m.count += 1;
        for f in line.forms {
            if !m.forms.contains(&f) {
                m.forms.push(f);
            }
        }
        if line.at > m.last_seen {
            m.last_seen = line.at.clone();
        }
        if line.at < m.first_seen {
            m.first_seen = line.at;
        }
    }
    let mut misses: Vec<Miss> = by_query.into_values().collect();
    misses.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| b.last_seen.cmp(&a.last_seen))
            .then_with(|| a.query.cmp(&b.query))
    });
    misses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_query_keeps_constant_parts_only() {
        let p = crate::search::prepare(
            "Cannot open \\\\FS01\\scans for user jsmith: Access is denied. Error 0x80070005 at 10.2.3.4",
        );
        let q = web_query(&p);
        assert!(q.contains("0x80070005"), "{q}");
        assert!(q.contains("access is denied"), "{q}");
        for private in ["jsmith", "fs01", "10.2.3.4", "scans"] {
            assert!(!q.to_lowercase().contains(private), "{private} in {q}");
        }
    }

    #[test]
    fn the_web_query_keeps_what_happened_to_an_account() {
        let typed = web_query(&crate::search::prepare("event 4740 account locked out"));
        assert!(typed.contains("locked"), "{typed}");
        let pasted = web_query(&crate::search::prepare(
            "The referenced account is currently locked out and may not be logged on to. Error 0x80070775",
        ));
        assert!(
            pasted.contains("locked") && pasted.contains("0x80070775"),
            "{pasted}"
        );
        let named = web_query(&crate::search::prepare(
            "Login failed for user kjansen. Reason: password expired. Error 18487",
        ));
        assert!(
            !named.contains("kjansen") && named.contains("expired"),
            "{named}"
        );
    }
}
