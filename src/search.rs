//! Searching the notes with pasted text: candidates from the index, then a ranking that
//! knows nothing of the index.
//!
//! The query is analysed once ([`crate::query`]); a typed word no note of any searched vault
//! contains is replaced by the closest word they use ([`crate::spelling`]). Stage one gathers
//! candidates from each index ([`crate::index::SearchSet`]: BM25 with statistics shared by
//! every vault searched, 60 candidates whatever `--limit`, plus for a pasted error the notes
//! whose recorded errors share its rarest parts). Stage two, [`rank`], is pure: it re-ranks
//! the candidates by how well the paste's normalised lines match each note's recorded errors
//! (an idf-weighted Dice similarity of tokens plus a similarity of token pairs, which rewards
//! the same order), added to the BM25 score scaled to the best candidate's. The query is
//! classified first ([`Prepared::is_error_paste`]): for a pasted error or log line the
//! similarity is the main evidence; for a question or keywords it counts only when the match
//! is substantial.

use crate::error::Result;
use crate::index::{NoteIndex, NoteRef, SearchSet, StoredNote};
use crate::normalize::{self, Token};
pub use crate::query::{prepare, Prepared, ERROR_WEIGHT};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// What to search for.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub text: String,
    pub limit: usize,
    /// Which notes may be hits (tags, since).
    pub filter: crate::filter::Filter,
}

/// Why a hit ranked where it did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Explanation {
    /// BM25 of the candidate query, and the same scaled to the best candidate (0..1).
    pub bm25: f32,
    pub text_part: f32,
    /// Best similarity of a pasted line to one of the note's recorded errors (0..1).
    pub error_similarity: f32,
    /// The note's normalised error that matched best.
    pub matched_error: Option<String>,
    /// The pasted line that matched it (normalised).
    pub pasted_line: Option<String>,
    /// Identifying codes shared by the paste and the note.
    pub codes: Vec<String>,
    /// Whether typo-tolerant matching was used.
    pub fuzzy: bool,
    /// How the query was read: a pasted error (its similarity to recorded errors is the main
    /// evidence) or typed words (a question or keywords: text first).
    pub read_as: &'static str,
    /// Typed words no note contains, replaced by the closest word the notes use.
    pub corrections: Vec<String>,
    /// Whether the note records a pasted line verbatim (case, spacing and punctuation aside).
    pub verbatim: bool,
    /// Whether the note was moved among notes matching about equally well by its record
    /// (uses that worked or failed, retired).
    pub reordered_by_record: bool,
    /// The recorded error that matched carries other codes than the query's (none in
    /// common): another error with the same words; its similarity counts for less.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub other_code: bool,
    /// With an embedding model, for typed words: the cosine of the query to the note's best
    /// passage (None: no model, a pasted error, or the note not embedded yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic: Option<f32>,
    /// The share of the text part that meaning weighs ([`SEMANTIC_WEIGHT`]; 0 without it).
    #[serde(skip_serializing_if = "is_zero")]
    pub semantic_weight: f32,
    /// The note has no vectors of its current text yet (`kb index` computes them): it ranks
    /// by its words.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_embedded: bool,
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

/// One result.
#[derive(Debug, Clone)]
pub struct Hit {
    pub note: StoredNote,
    pub score: f32,
    /// Which of the searched indexes (vaults) holds the note: its position in the list given
    /// to [`search_many`] (0 for a single vault).
    pub vault: usize,
    pub explanation: Explanation,
}

/// Candidates gathered by BM25 before re-ranking (independent of `--limit`, so the best hit
/// does not change with it).
const CANDIDATES: usize = 60;

/// What a recorded line identical to a pasted one adds: enough to break a tie between notes
/// whose errors differ only in their variable parts, not to lift a worse match.
pub const VERBATIM_WEIGHT: f32 = 0.5;
/// A recorded error this similar to a paste answers it (see [`answers`]).
const CLOSE_ANSWER: f32 = 0.5;
/// Scores this close (a share of the best hit's score) are a tie that the notes' records order.
const TIE: f32 = 0.02;

/// For typed words with an embedding model: the share of a note's text part that is the
/// similarity of meaning (the rest is its words' BM25). Chosen on the development sets
/// (bench/EVAL.md).
pub const SEMANTIC_WEIGHT: f32 = 0.6;
/// The similarity of meaning counts by this power of its place between the candidates' mean
/// and the best: a sentence model's cosines are compressed (related notes sit close below the
/// best), so only the notes near the best should gain much from it. Chosen with
/// [`SEMANTIC_WEIGHT`] on the development sets: on the real notes, power 1 with weight 0.5
/// found 0.650 of the paraphrases first (0.883 in the top five), power 2 with weight 0.6
/// 0.750 (0.950), questions, pasted lines and symptoms unchanged (bench/EVAL.md).
pub const SEMANTIC_POWER: i32 = 2;
/// When the words single out one note, meaning weighs less: [`SEMANTIC_WEIGHT`] in full while
/// the best BM25 is at most this many times the second best, nothing from
/// [`WORDS_DECIDE`] times on, linearly between. On the real notes (questions, paraphrases,
/// pasted lines) and the symptoms, a BM25 leader 1.7 times ahead of the second was the right
/// note every time; without this, a short pasted line among 10,000 notes ("Error: Unsupported
/// column type", its note 2.6 times ahead by its words) went to a note nearer in meaning.
pub const WORDS_LEAD: f32 = 1.7;
/// See [`WORDS_LEAD`].
pub const WORDS_DECIDE: f32 = 2.5;

/// Search the index; hits best first.
pub fn search(idx: &NoteIndex, req: &SearchRequest) -> Result<Vec<Hit>> {
    search_many(&[idx], req, &prepare(&req.text), &|| None)
}

/// Search several indexes (vaults) as one: BM25 statistics (note counts, term frequencies,
/// field lengths), spelling and the weights of error tokens are those of all of them together,
/// so a note's score does not depend on which vault holds it; candidates come from each
/// index, and one ranking orders them all. Each hit's `vault` is its index's position in
/// `idxs`. With `meaning` (an embedding model's view of the query), typed words also find
/// the notes nearest in meaning, and their similarity weighs in the ranking; a pasted error
/// is ranked by its words and errors alone.
pub fn search_many<'m>(
    idxs: &[&NoteIndex],
    req: &SearchRequest,
    p: &Prepared,
    meaning: &dyn Fn() -> Option<&'m crate::embed::Semantic>,
) -> Result<Vec<Hit>> {
    if idxs.is_empty()
        || (p.words.is_empty() && p.key_tokens.is_empty() && p.masked_words.is_empty())
    {
        return Ok(Vec::new());
    }
    let set = SearchSet::new(idxs);
    let corrected = p.corrected(&set)?;
    let q = corrected.as_ref().unwrap_or(p);
    let want = CANDIDATES.max(req.limit);
    let tags = &req.filter.tags;
    let by_text = |typos| -> Result<Vec<_>> {
        (0..idxs.len())
            .map(|v| set.by_text(v, q, tags, want, typos))
            .collect()
    };
    let mut text = by_text(false)?;
    // Nothing matches in any vault: the words are retried with typos allowed.
    let fuzzy = text.iter().all(Vec::is_empty);
    if fuzzy {
        text = by_text(true)?;
    }
    // Several vaults: their text candidates compete for the places one index gives (their
    // BM25 share the statistics), so ranking reads as many notes as for one vault.
    if text.len() > 1 {
        let mut all: Vec<f32> = text.iter().flatten().map(|(s, _)| *s).collect();
        if all.len() > want {
            all.sort_by(|a, b| b.total_cmp(a));
            let cutoff = all[want - 1];
            for top in &mut text {
                top.retain(|(s, _)| *s >= cutoff);
            }
        }
    }
    // The notes found by their words (and, for a pasted error, by its recorded errors),
    // read and compared with the query's errors before its meaning is asked for: a question
    // read by the model on another thread has that long.
    let weights = TokenWeights::new(&set);
    let weight = |t: &str| weights.weight(t);
    let found =
        |vault: usize, r: NoteRef, bm25: f32, verbatim: bool| -> Result<Option<Candidate>> {
            let note = set.stored(vault, r)?;
            Ok(req.filter.keeps(&note).then(|| Candidate {
                errors: Some(error_match(q, &note, &weight)),
                note,
                vault,
                bm25,
                verbatim,
                fuzzy,
                semantic: None,
            }))
        };
    let mut candidates = Vec::new();
    let mut seen: Vec<HashSet<NoteRef>> = Vec::new();
    for (vault, top) in text.into_iter().enumerate() {
        // For a pasted error, the notes found by their recorded errors are candidates too,
        // wherever the text ranking put them.
        let (by_errors, verbatim) = if q.is_error_paste() {
            set.by_errors(vault, q, tags)?
        } else {
            Default::default()
        };
        let mut these: HashSet<NoteRef> = top.iter().map(|(_, r)| *r).collect();
        let errors_only: Vec<(f32, NoteRef)> = by_errors
            .into_iter()
            .filter(|r| these.insert(*r))
            .map(|r| (0.0, r))
            .collect();
        for (bm25, r) in top.into_iter().chain(errors_only) {
            candidates.extend(found(vault, r, bm25, verbatim.contains(&r))?);
        }
        seen.push(these);
    }
    let meaning = if q.needs_recorded_error() {
        None
    } else {
        meaning()
    };
    if let Some(m) = meaning {
        // The notes nearest in meaning are candidates too, whatever their words.
        for (vault, seen) in seen.iter_mut().enumerate() {
            let Some(s) = m.stores[vault].as_ref() else {
                continue;
            };
            for (i, _) in s.nearest(&m.probe, want) {
                if let Some(r) = set.by_path(vault, s.rel(i))? {
                    if seen.insert(r) {
                        candidates.extend(found(vault, r, 0.0, false)?);
                    }
                }
            }
        }
        for c in &mut candidates {
            c.semantic = m.stores[c.vault].as_ref().map(|s| {
                s.find(&c.note.rel)
                    .filter(|&i| s.hash(i) == c.note.hash)
                    .map(|i| s.score(i, &m.probe))
            });
        }
    }
    let mut hits = rank(q, candidates, &weight);
    // Tags are part of every candidate query too; here every hit passes the whole filter (a
    // filter field added later cannot be skipped by one front end).
    hits.retain(|h| req.filter.keeps(&h.note));
    hits.truncate(req.limit);
    Ok(hits)
}

/// A note the index offers for the query.
pub struct Candidate {
    pub note: StoredNote,
    /// The position of its vault among those searched.
    pub vault: usize,
    /// BM25 of the text query (0 for a note found by its recorded errors alone).
    pub bm25: f32,
    /// Whether it records one of the pasted lines verbatim.
    pub verbatim: bool,
    /// Whether typos had to be allowed to find it.
    pub fuzzy: bool,
    /// With meaning in the ranking: the cosine of the query to the note (None inside: the
    /// note is not embedded yet). None: meaning is not used for this query.
    pub semantic: Option<Option<f32>>,
    /// Its recorded errors compared with the query already ([`error_match`]; None: [`rank`]
    /// compares them).
    pub errors: Option<ErrorMatch>,
}

/// Orders the candidates for the query, best first: the text part (BM25 scaled to the best
/// candidate's), plus the similarity of the paste to the note's recorded errors (`weight`
/// gives a normalised error token's weight), plus the verbatim bonus; notes matching about
/// equally well are then ordered by their record. Pure: everything comes in as arguments.
pub fn rank(p: &Prepared, candidates: Vec<Candidate>, weight: &dyn Fn(&str) -> f32) -> Vec<Hit> {
    let best = candidates.iter().map(|c| c.bm25).fold(0.0f32, f32::max);
    let best = if best > 0.0 { best } else { 1.0 };
    let meaning = Similarities::of(&candidates);
    let query_level = Explanation {
        read_as: if p.is_error_paste() {
            "a pasted error"
        } else {
            "typed words"
        },
        corrections: p
            .corrections
            .iter()
            .map(|(w, c)| format!("{w} -> {c}"))
            .collect(),
        ..Explanation::default()
    };
    let mut hits: Vec<Hit> = candidates
        .into_iter()
        .map(|c| {
            let mut ex = Explanation {
                bm25: c.bm25,
                text_part: c.bm25 / best,
                fuzzy: c.fuzzy,
                verbatim: c.verbatim,
                ..query_level.clone()
            };
            if let Some(sem) = c.semantic {
                meaning.fuse(&mut ex, sem);
            }
            c.errors
                .unwrap_or_else(|| error_match(p, &c.note, weight))
                .explain(&mut ex);
            let score = ex.text_part
                + p.error_weight(ex.error_similarity)
                + if ex.verbatim { VERBATIM_WEIGHT } else { 0.0 };
            Hit {
                note: c.note,
                score,
                vault: c.vault,
                explanation: ex,
            }
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.vault.cmp(&b.vault))
            .then_with(|| a.note.rel.cmp(&b.note.rel))
    });
    order_ties_by_record(&mut hits);
    copies_after_originals(&mut hits);
    hits
}

/// The similarities of meaning among the candidates: what a note's similarity is measured
/// against.
struct Similarities {
    best: f32,
    mean: f32,
    /// The share of meaning for this query ([`SEMANTIC_WEIGHT`], less when the words decide:
    /// [`WORDS_LEAD`]).
    weight: f32,
}

impl Similarities {
    fn of(candidates: &[Candidate]) -> Similarities {
        let all: Vec<f32> = candidates
            .iter()
            .filter_map(|c| c.semantic.flatten())
            .collect();
        let (mut first, mut second) = (0.0f32, 0.0f32);
        for c in candidates {
            if c.bm25 > first {
                (first, second) = (c.bm25, first);
            } else if c.bm25 > second {
                second = c.bm25;
            }
        }
        // One note alone with any of the words: too little to compare, meaning weighs fully.
        let lead = if second > 0.0 { first / second } else { 1.0 };
        let words_decide = ((lead - WORDS_LEAD) / (WORDS_DECIDE - WORDS_LEAD)).clamp(0.0, 1.0);
        Similarities {
            best: all.iter().copied().fold(0.0f32, f32::max),
            mean: all.iter().sum::<f32>() / all.len().max(1) as f32,
            weight: SEMANTIC_WEIGHT * (1.0 - words_decide),
        }
    }

    /// The text part of typed words with meaning: BM25 (scaled to the best candidate's) and
    /// the similarity of meaning, from 0 at the candidates' mean (what any note of the vault
    /// reaches: its level depends on the model) to 1 at the best, raised to
    /// [`SEMANTIC_POWER`] and weighed by `weight`. A note not embedded yet keeps
    /// its words' part.
    fn fuse(&self, ex: &mut Explanation, semantic: Option<f32>) {
        ex.semantic_weight = self.weight;
        let Some(s) = semantic else {
            ex.not_embedded = true;
            return;
        };
        ex.semantic = Some(s);
        let part = if self.best > self.mean {
            ((s - self.mean) / (self.best - self.mean))
                .max(0.0)
                .powi(SEMANTIC_POWER)
        } else {
            0.0
        };
        ex.text_part = (1.0 - self.weight) * ex.text_part + self.weight * part;
    }
}

/// A sync's conflict copy (`name.conflict-DATE-COMMIT.md`) holds the other side's version of a
/// note: it never ranks above the note it copies (the copy is moved to just after it; a
/// copy whose note is not among the hits stays where it is).
fn copies_after_originals(hits: &mut Vec<Hit>) {
    let mut i = 0;
    while i < hits.len() {
        let original = crate::vault::conflict_original(&hits[i].note.rel);
        let later = original.and_then(|o| {
            hits.iter()
                .enumerate()
                .skip(i + 1)
                .find(|(_, h)| h.note.rel == o && h.vault == hits[i].vault)
                .map(|(j, _)| j)
        });
        match later {
            Some(j) => {
                let copy = hits.remove(i);
                hits.insert(j, copy);
                // Whatever moved into place i is looked at next.
            }
            None => i += 1,
        }
    }
}

/// Whether the hits answer the query: any hit for typed words; for a pasted error, a note whose
/// recorded error resembles it (similarity from [`CLOSE_ANSWER`]) or that shares a code with it.
/// Words like `failed` or `user` find some note for almost any paste; that is not an answer.
pub fn answers(p: &Prepared, hits: &[Hit]) -> bool {
    answers_as(p.needs_recorded_error(), hits)
}

/// [`answers`], for a query known to be a pasted error (`paste`) or typed words.
pub fn answers_as(paste: bool, hits: &[Hit]) -> bool {
    if !paste {
        return !hits.is_empty();
    }
    hits.iter()
        .any(|h| h.explanation.error_similarity >= CLOSE_ANSWER || !h.explanation.codes.is_empty())
}

/// How many of the hits to show in full: 1 when the first is decisive (a recorded error the
/// query matches closely, or verbatim, at least [`DECISIVE_RATIO`] times the next score),
/// else all. The others are far weaker matches, worth a line each at most.
pub fn decisive(hits: &[Hit]) -> usize {
    let (Some(first), Some(second)) = (hits.first(), hits.get(1)) else {
        return hits.len();
    };
    let close = first.explanation.verbatim || first.explanation.error_similarity >= 0.8;
    if close && first.score >= DECISIVE_RATIO * second.score.max(0.0) {
        1
    } else {
        hits.len()
    }
}

/// How far ahead of the next hit a close match must be to come alone.
const DECISIVE_RATIO: f32 = 2.0;

/// Notes that match about equally well (scores within [`TIE`] of the best of their group) are
/// ordered by what their record says: a fix that worked more often first, a retired note last.
/// A better match is never put below a worse one.
fn order_ties_by_record(hits: &mut [Hit]) {
    let top = hits.first().map_or(0.0, |h| h.score);
    let mut start = 0;
    while start < hits.len() {
        let lead = hits[start].score;
        let end = start
            + hits[start..]
                .iter()
                .take_while(|h| lead - h.score <= TIE * top)
                .count();
        let group = &mut hits[start..end];
        start = end;
        let standing = group[0].note.record.standing();
        if group.iter().all(|h| h.note.record.standing() == standing) {
            continue;
        }
        let before: Vec<String> = group.iter().map(|h| h.note.rel.clone()).collect();
        group.sort_by_key(|h| std::cmp::Reverse(h.note.record.standing()));
        for (h, was) in group.iter_mut().zip(&before) {
            if h.note.rel != *was {
                h.explanation.reordered_by_record = true;
            }
        }
    }
}

/// idf-like weights of normalised error tokens, from how many notes of the searched vaults
/// record each.
struct TokenWeights<'a> {
    set: &'a SearchSet<'a>,
    n: f32,
    cache: RefCell<HashMap<String, f32>>,
}

impl<'a> TokenWeights<'a> {
    fn new(set: &'a SearchSet<'a>) -> Self {
        TokenWeights {
            set,
            n: set.num_notes().max(1) as f32,
            cache: Default::default(),
        }
    }

    fn weight(&self, token: &str) -> f32 {
        if normalize::is_placeholder(token) {
            return normalize::PLACEHOLDER_WEIGHT;
        }
        if let Some(w) = self.cache.borrow().get(token) {
            return *w;
        }
        let df = self.set.notes_with_error_token(token) as f32;
        let w = normalize::token_weight(token, self.n, df);
        self.cache.borrow_mut().insert(token.to_string(), w);
        w
    }
}

/// How well the query matches a note's recorded errors (the error fields of an
/// [`Explanation`]).
#[derive(Clone, Debug, Default)]
pub struct ErrorMatch {
    pub similarity: f32,
    pub matched_error: Option<String>,
    pub pasted_line: Option<String>,
    pub codes: Vec<String>,
    pub other_code: bool,
}

impl ErrorMatch {
    fn explain(self, ex: &mut Explanation) {
        ex.error_similarity = self.similarity;
        ex.matched_error = self.matched_error;
        ex.pasted_line = self.pasted_line;
        ex.codes = self.codes;
        ex.other_code = self.other_code;
    }
}

/// How well the paste matches the note's recorded errors.
pub fn error_match(p: &Prepared, note: &StoredNote, weight: &dyn Fn(&str) -> f32) -> ErrorMatch {
    let mut m = ErrorMatch::default();
    let codes: Vec<&str> = note
        .errkeys
        .iter()
        .flat_map(|k| k.split(' '))
        .filter(|t| p.codes.iter().any(|c| c == t))
        .collect();
    for c in codes {
        if !m.codes.iter().any(|x| x == c) {
            m.codes.push(c.to_string());
        }
    }
    let mut best = 0.0f32;
    for line in &p.lines {
        let q: Vec<&str> = line.tokens.iter().map(Token::text).collect();
        for key in &note.errkeys {
            let e: Vec<&str> = key.split(' ').collect();
            let s = crate::matcher::line_similarity(&q, &e, line.is_error, weight);
            if s > best {
                best = s;
                m.matched_error = Some(key.clone());
                m.pasted_line = Some(q.join(" "));
            }
        }
    }
    // `windows update error 0x80070002` is not `windows update error 0x800f081f`: codes name
    // errors, so a recorded error whose codes are all others is another error.
    if !p.codes.is_empty() && m.codes.is_empty() {
        if let Some(key) = &m.matched_error {
            let has_code = key
                .split(' ')
                .any(|t| matches!(normalize::normalize(t).as_slice(), [Token::Code(_)]));
            if has_code {
                best *= OTHER_CODE_FACTOR;
                m.other_code = true;
            }
        }
    }
    m.similarity = best;
    m
}

/// What a recorded error's similarity keeps when it carries other codes than the query's.
const OTHER_CODE_FACTOR: f32 = 0.3;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcomes::Record;

    fn note(rel: &str, errkeys: Vec<String>, status: Option<&str>) -> StoredNote {
        StoredNote {
            rel: rel.to_string(),
            title: rel.to_string(),
            tags: Vec::new(),
            errkeys,
            created: None,
            updated: None,
            stamp: Default::default(),
            hash: 0,
            record: Record::new(status, None, &[], &[]),
        }
    }

    fn candidate(note: StoredNote, vault: usize, bm25: f32) -> Candidate {
        Candidate {
            note,
            vault,
            bm25,
            verbatim: false,
            fuzzy: false,
            semantic: None,
            errors: None,
        }
    }

    #[test]
    fn a_paste_ranks_the_note_recording_its_error_above_a_better_text_match() {
        let p = prepare("Error 0x80070005: access is denied while installing C:\\Temp\\setup.msi");
        let key: Vec<&str> = p.lines[0].tokens.iter().map(Token::text).collect();
        let hits = rank(
            &p,
            vec![
                candidate(note("wordy.md", Vec::new(), None), 0, 10.0),
                candidate(note("fix.md", vec![key.join(" ")], None), 1, 2.0),
            ],
            &|_| 1.0,
        );
        assert_eq!(hits[0].note.rel, "fix.md");
        assert_eq!(hits[0].vault, 1);
        assert!(hits[0].explanation.error_similarity > 0.9);
        assert_eq!(hits[0].explanation.codes, ["0x80070005"]);
        // The text part is scaled to the best candidate's BM25.
        assert_eq!(hits[1].explanation.text_part, 1.0);
        assert!((hits[0].explanation.text_part - 0.2).abs() < 1e-6);
    }

    #[test]
    fn equal_matches_are_ordered_by_their_record_and_a_better_match_stays_first() {
        let p = prepare("printer offline after update");
        let hits = rank(
            &p,
            vec![
                candidate(note("a-retired.md", Vec::new(), Some("retired")), 0, 5.0),
                candidate(note("b-plain.md", Vec::new(), None), 0, 5.0),
                candidate(
                    note("c-best-retired.md", Vec::new(), Some("retired")),
                    0,
                    9.0,
                ),
            ],
            &|_| 1.0,
        );
        let order: Vec<&str> = hits.iter().map(|h| h.note.rel.as_str()).collect();
        assert_eq!(order, ["c-best-retired.md", "b-plain.md", "a-retired.md"]);
        assert!(hits[1].explanation.reordered_by_record);
        assert!(!hits[0].explanation.reordered_by_record);
    }

    fn with_meaning(rel: &str, bm25: f32, semantic: f32) -> Candidate {
        Candidate {
            semantic: Some(Some(semantic)),
            ..candidate(note(rel, Vec::new(), None), 0, bm25)
        }
    }

    #[test]
    fn typed_words_with_meaning_lift_the_note_nearest_in_meaning_over_a_close_word_match() {
        let p = prepare("mail keeps asking me to log in again");
        let hits = rank(
            &p,
            vec![
                with_meaning("words.md", 10.0, 0.30),
                with_meaning("meaning.md", 8.0, 0.60),
                with_meaning("neither.md", 1.0, 0.20),
            ],
            &|_| 1.0,
        );
        assert_eq!(hits[0].note.rel, "meaning.md");
        let e = &hits[0].explanation;
        assert_eq!(e.semantic, Some(0.60));
        assert!((e.semantic_weight - SEMANTIC_WEIGHT).abs() < 1e-6);
        // 0.4 x 8/10 + 0.6 x 1 (the best similarity, squared).
        assert!((e.text_part - 0.92).abs() < 1e-5, "{}", e.text_part);
        // At the candidates' mean (0.367) or below, meaning adds nothing.
        let words = hits.iter().find(|h| h.note.rel == "words.md").unwrap();
        assert!((words.explanation.text_part - 0.4).abs() < 1e-5);
    }

    #[test]
    fn when_the_words_single_out_one_note_meaning_weighs_less_then_nothing() {
        let p = prepare("Error: Unsupported column type");
        let lead = |first: f32| {
            rank(
                &p,
                vec![
                    with_meaning("by-words.md", first, 0.30),
                    with_meaning("by-meaning.md", 10.0, 0.36),
                    with_meaning("other.md", 5.0, 0.10),
                ],
                &|_| 1.0,
            )
        };
        // 1.5 times the second: meaning in full, and it wins.
        let hits = lead(15.0);
        assert_eq!(hits[0].note.rel, "by-meaning.md");
        assert!((hits[0].explanation.semantic_weight - SEMANTIC_WEIGHT).abs() < 1e-6);
        // Halfway between WORDS_LEAD and WORDS_DECIDE: half the weight.
        let hits = lead(10.0 * (WORDS_LEAD + WORDS_DECIDE) / 2.0);
        assert!((hits[0].explanation.semantic_weight - SEMANTIC_WEIGHT / 2.0).abs() < 1e-5);
        // 2.6 times the second: the words decide.
        let hits = lead(26.0);
        assert_eq!(hits[0].note.rel, "by-words.md");
        assert_eq!(hits[0].explanation.semantic_weight, 0.0);
        // A single note with any of the words: nothing to compare, meaning in full.
        let hits = rank(
            &p,
            vec![
                with_meaning("only.md", 3.0, 0.10),
                with_meaning("near.md", 0.0, 0.50),
                with_meaning("far.md", 0.0, 0.05),
            ],
            &|_| 1.0,
        );
        assert!((hits[0].explanation.semantic_weight - SEMANTIC_WEIGHT).abs() < 1e-6);
        assert_eq!(hits[0].note.rel, "near.md");
    }
}
