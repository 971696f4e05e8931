//! Matching lines against recorded errors: the thresholds and the line similarity that
//! `kb search`, `kb link`, the duplicate check of `kb add` and `kb scan` share, and the
//! [`Matcher`] that `kb scan` uses to match many lines against every recorded error at once.
//!
//! A search per log line would cost a millisecond each: a 100 MB log has a million lines. The
//! matcher instead loads every note's normalised errors from the index once, keeps a small
//! inverted index of their tokens in memory, and for each line scores the recorded errors that
//! share its rarer tokens, then compares the best few with the same similarity that
//! `kb search` uses ([`normalize::similarity`]).

use crate::error::Result;
use crate::normalize::{self, Token};
use std::collections::HashMap;

/// A recorded error this similar to a new note's error is the same error (`kb add` warns).
pub const DUPLICATE_SIMILARITY: f32 = 0.9;
/// How similar a log line must be to a recorded error for `kb scan` to report it.
pub const SCAN_THRESHOLD: f32 = 0.75;

/// Similarity of a pasted line to a recorded error (0..1): [`normalize::similarity`], lowered
/// for a line that does not read as an error unless the two are the same (a log's routine
/// line resembling a recorded error is weaker evidence; the very same line is not).
pub fn line_similarity<'a>(
    line: &[&'a str],
    recorded: &[&'a str],
    line_is_error: bool,
    weight: impl Fn(&str) -> f32,
) -> f32 {
    let s = normalize::similarity(line, recorded, weight);
    if line_is_error {
        s
    } else {
        s * s.sqrt()
    }
}

/// What identifies a recorded error line exactly, for the index: a hash of the line verbatim
/// (case, spacing and punctuation aside) and a hash of its normalised form. A paste yields the
/// same ([`paste_identity`]), so the notes recording the very line, or the very error with
/// other variable parts, are found whatever their words' frequencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineIdentity {
    pub verbatim: u64,
    pub form: u64,
}

/// The identity of a recorded line and its normalised key.
pub fn line_identity(line: &str, key: &str) -> LineIdentity {
    LineIdentity {
        verbatim: verbatim_hash(line),
        form: xxhash_rust::xxh3::xxh3_64(key.as_bytes()),
    }
}

/// The identity of a pasted line (raw text and its normalised tokens).
pub fn paste_identity(raw: &str, tokens: &[Token]) -> LineIdentity {
    line_identity(raw, &normalize::join(tokens))
}

fn verbatim_hash(line: &str) -> u64 {
    let line = normalize::strip_log_prefix(line).to_lowercase();
    let words: Vec<&str> = line
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    xxhash_rust::xxh3::xxh3_64(words.join(" ").as_bytes())
}

/// A note that recorded errors come from.
#[derive(Debug, Clone)]
pub struct MatchNote {
    pub rel: String,
    pub title: String,
}

struct Key {
    tokens: Vec<u32>,
    note: u32,
}

/// Every recorded error of a vault, ready to match lines against.
pub struct Matcher {
    notes: Vec<MatchNote>,
    keys: Vec<Key>,
    vocab: HashMap<String, u32>,
    words: Vec<String>,
    weights: Vec<f32>,
    /// token -> keys holding it; empty for tokens too common to select candidates.
    postings: Vec<Vec<u32>>,
    /// Notes in the index (with or without recorded errors), for the token weights.
    notes_total: f32,
}

/// A note's recorded errors in their normalised form, for [`Matcher::build`].
pub struct NoteErrors {
    pub rel: String,
    pub title: String,
    pub errkeys: Vec<String>,
}

/// Recorded errors compared exactly with a line, after candidate scoring.
const CANDIDATES: usize = 16;
/// A token held by more than this share of the recorded errors does not select candidates
/// (it still counts in the similarity).
const COMMON_SHARE: f32 = 0.05;

impl Matcher {
    /// Build from every note's normalised errors (`notes`: as the index stores them) among
    /// `notes_total` notes in all (with or without recorded errors).
    pub fn build(notes: Vec<NoteErrors>, notes_total: u64) -> Result<Matcher> {
        let mut m = Matcher {
            notes: Vec::new(),
            keys: Vec::new(),
            vocab: HashMap::new(),
            words: Vec::new(),
            weights: Vec::new(),
            postings: Vec::new(),
            notes_total: 1.0,
        };
        // How many recorded errors hold each token (which tokens select candidates), and how
        // many notes (the token weights, the same as search's: idf among all notes).
        let mut df: Vec<u32> = Vec::new();
        let mut note_df: Vec<u32> = Vec::new();
        for note in notes {
            if note.errkeys.is_empty() {
                continue;
            }
            let n = m.notes.len() as u32;
            let mut in_note: Vec<u32> = Vec::new();
            for key in &note.errkeys {
                let mut tokens = Vec::new();
                for t in key.split(' ').filter(|t| !t.is_empty()) {
                    let id = m.intern(t, &mut df);
                    tokens.push(id);
                }
                let mut distinct = tokens.clone();
                distinct.sort_unstable();
                distinct.dedup();
                for id in distinct {
                    df[id as usize] += 1;
                    in_note.push(id);
                }
                m.keys.push(Key { tokens, note: n });
            }
            in_note.sort_unstable();
            in_note.dedup();
            note_df.resize(df.len(), 0);
            for id in in_note {
                note_df[id as usize] += 1;
            }
            m.notes.push(MatchNote {
                rel: note.rel,
                title: note.title,
            });
        }
        let common = ((m.keys.len() as f32 * COMMON_SHARE) as u32).max(50);
        m.notes_total = notes_total.max(1) as f32;
        m.weights = m
            .words
            .iter()
            .zip(&note_df)
            .map(|(w, &d)| normalize::token_weight(w, m.notes_total, d as f32))
            .collect();
        m.postings = vec![Vec::new(); m.words.len()];
        for (k, key) in m.keys.iter().enumerate() {
            for &t in &key.tokens {
                let list = &mut m.postings[t as usize];
                if df[t as usize] <= common
                    && !normalize::is_placeholder(&m.words[t as usize])
                    && list.last() != Some(&(k as u32))
                {
                    list.push(k as u32);
                }
            }
        }
        Ok(m)
    }

    fn intern(&mut self, t: &str, df: &mut Vec<u32>) -> u32 {
        if let Some(&id) = self.vocab.get(t) {
            return id;
        }
        let id = self.words.len() as u32;
        self.vocab.insert(t.to_string(), id);
        self.words.push(t.to_string());
        df.push(0);
        id
    }

    pub fn note(&self, i: usize) -> &MatchNote {
        &self.notes[i]
    }

    /// Whether any note has a recorded error.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The note whose recorded error is most similar to these tokens, with the similarity.
    /// `scratch` is reused between calls (one score per recorded error).
    pub fn best(&self, tokens: &[Token], scratch: &mut Scratch) -> Option<(usize, f32)> {
        scratch.scores.resize(self.keys.len(), 0.0);
        let ids: Vec<Option<u32>> = tokens
            .iter()
            .map(|t| self.vocab.get(t.text()).copied())
            .collect();
        for id in ids.iter().flatten() {
            let w = self.weights[*id as usize];
            for &k in &self.postings[*id as usize] {
                let s = &mut scratch.scores[k as usize];
                if *s == 0.0 {
                    scratch.touched.push(k);
                }
                *s += w;
            }
        }
        let mut top: Vec<(f32, u32)> = scratch
            .touched
            .iter()
            .map(|&k| (scratch.scores[k as usize], k))
            .collect();
        for &k in &scratch.touched {
            scratch.scores[k as usize] = 0.0;
        }
        scratch.touched.clear();
        if top.is_empty() {
            return None;
        }
        let n = top.len().min(CANDIDATES);
        top.select_nth_unstable_by(n - 1, |a, b| b.0.total_cmp(&a.0));
        top.truncate(n);
        let line: Vec<&str> = tokens.iter().map(Token::text).collect();
        let weight = |t: &str| match self.vocab.get(t) {
            Some(&id) => self.weights[id as usize],
            None => normalize::token_weight(t, self.notes_total, 0.0),
        };
        top.iter()
            .map(|&(_, k)| {
                let key = &self.keys[k as usize];
                let rec: Vec<&str> = key
                    .tokens
                    .iter()
                    .map(|&t| self.words[t as usize].as_str())
                    .collect();
                (
                    key.note as usize,
                    normalize::similarity(&line, &rec, weight),
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }
}

/// Reusable buffers for [`Matcher::best`].
#[derive(Default)]
pub struct Scratch {
    scores: Vec<f32>,
    touched: Vec<u32>,
}
