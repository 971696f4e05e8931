//! Searching the index with pasted text.
//!
//! The query is always data: it is normalised ([`crate::normalize`]) and tokenized by kb, and
//! the tantivy query is built term by term, so no character of it is syntax.
//!
//! Ranking has two stages. Stage one gathers candidates with BM25 over a disjunction of the
//! query's constant parts (60 candidates, whatever `--limit`): identifying codes weigh most,
//! then title, tags, body and recorded error text, close to plain BM25 of title + body; a word
//! matched in the form typed adds a little to its stem's match, and for typed words, two
//! neighbours found side by side add more. Stage
//! two re-ranks the candidates by how well the paste's normalised lines match each note's
//! recorded errors (an idf-weighted Dice similarity of tokens plus a similarity of token pairs,
//! which rewards the same order), added to the BM25 score scaled to the best candidate's. The
//! query is classified first ([`Prepared::is_error_paste`]): for a pasted error or log line the
//! similarity is the main evidence; for a question or keywords it counts only when the match
//! is substantial. A typed word no note contains is replaced by the closest word the notes use
//! ([`crate::spelling`]); when nothing matches at all, words are retried with one typo allowed.

use crate::error::Result;
use crate::index::{NoteIndex, StoredNote};
use crate::normalize::{self, PasteLine, Token, Var};
use crate::spelling;
use std::collections::{HashMap, HashSet};
use tantivy::collector::TopDocs;
use tantivy::postings::Postings;
use tantivy::query::{
    Bm25StatisticsProvider, Bm25Weight, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TokenStream;
use tantivy::DocSet;
use tantivy::{Searcher, Term};

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
/// Candidates gathered by recorded errors alone for a pasted error, from at most this many of
/// its rarest tokens, each held by at most this share of the notes.
const ERROR_CANDIDATES: usize = 50;
const ERROR_QUERY_TOKENS: usize = 6;
const COMMON_ERROR_TOKEN: f64 = 0.05;
/// At most this many distinct words and error tokens go into the query.
const MAX_TERMS: usize = 96;
/// At most this many words of a typed query get typo tolerance.
const MAX_TYPO_WORDS: usize = 4;
/// At most this many masked words go into the query (searched in title and body only, as
/// plain words: they are not constant parts of the error).
const MAX_MASKED_WORDS: usize = 24;
/// Weight of the error similarity against the scaled BM25 (which is at most 1).
pub const ERROR_WEIGHT: f32 = 3.0;

/// The analysed query, reusable for snippets and explanations.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub lines: Vec<PasteLine>,
    /// Stemmed words for the text fields.
    pub words: Vec<String>,
    /// The same words as written (lower-cased), for the `exact` field.
    pub exact_words: Vec<String>,
    /// Normalised error tokens (no placeholders) for the error-key field.
    pub key_tokens: Vec<String>,
    pub codes: Vec<String>,
    /// Words of the paste that masking removed (names in paths, quoted identifiers): weak
    /// evidence that still tells apart notes whose errors differ only there.
    pub masked_words: Vec<String>,
    /// The words of a typed query in order, as written: neighbours (`command line`, `open
    /// files`) found side by side in a note bring it closer to the question.
    pub sequence: Vec<String>,
    /// Typed words no note contains, and the notes' word used in their place.
    pub corrections: Vec<(String, String)>,
    /// [`reads_as_paste`] of the lines, decided once.
    error_paste: bool,
}

/// Whether pasted lines read as a pasted error or log rather than a question or a few
/// keywords: a line holds an error code or variable parts kb masked (paths, addresses,
/// identifiers, several numbers...), or reads as an error and is a sentence long (a few
/// keywords that happen to include `timeout` or `failed` are still keywords).
fn reads_as_paste(lines: &[PasteLine]) -> bool {
    lines.iter().any(|l| {
        let machine = |t: &Token| match t {
            Token::Code(_) => true,
            // A lone number is common in words too (`python 3`); paths, addresses, dates,
            // identifiers and several numbers are what programs print.
            Token::Var(Var::Num) => false,
            Token::Var(_) => true,
            Token::Word(_) => false,
        };
        let numbers = l
            .tokens
            .iter()
            .filter(|t| **t == Token::Var(Var::Num))
            .count();
        l.tokens.iter().any(machine)
            || numbers >= 2
            || (l.is_error && l.tokens.len() >= PASTE_MIN_TOKENS)
    })
}

impl Prepared {
    /// Whether the query reads as a pasted error ([`reads_as_paste`]) rather than typed words.
    pub fn is_error_paste(&self) -> bool {
        self.error_paste
    }

    /// What a similarity to a recorded error adds to the score. For a pasted error it is the
    /// main evidence; for words typed as a question only a substantial match counts (a word
    /// shared with some command line in a code block is not evidence).
    pub fn error_weight(&self, similarity: f32) -> f32 {
        if self.is_error_paste() || similarity >= QUESTION_MIN_SIMILARITY {
            ERROR_WEIGHT * similarity
        } else {
            0.0
        }
    }
}

/// A line that reads as an error is a pasted message from this many tokens on.
const PASTE_MIN_TOKENS: usize = 5;

/// For a query that does not read as an error, the similarity to a recorded error below which
/// it adds nothing.
const QUESTION_MIN_SIMILARITY: f32 = 0.5;

/// Analyse pasted text.
pub fn prepare(text: &str) -> Prepared {
    let mut lines = normalize::normalize_paste(text);
    // A long paste: the lines that carry an error are the ones to match.
    if lines.len() > 1 && lines.iter().any(|l| l.is_error) {
        lines.sort_by_key(|l| !l.is_error);
        let errors = lines.iter().filter(|l| l.is_error).count();
        lines.truncate(errors.clamp(1, 40));
        lines.sort_by_key(|l| l.line);
    }
    let mut analyzer = crate::index::text_analyzer();
    let mut as_written = crate::index::exact_analyzer();
    let mut words = Vec::new();
    let mut exact_words = Vec::new();
    let mut key_tokens = Vec::new();
    let mut codes = Vec::new();
    for line in &lines {
        for t in &line.tokens {
            match t {
                Token::Var(_) => continue,
                Token::Code(c) => push_unique(&mut codes, c),
                Token::Word(_) => {}
            }
            push_unique(&mut key_tokens, t.text());
            let mut stream = analyzer.token_stream(t.text());
            while stream.advance() {
                push_unique(&mut words, &stream.token().text);
            }
            let mut stream = as_written.token_stream(t.text());
            while stream.advance() {
                push_unique(&mut exact_words, &stream.token().text);
            }
        }
    }
    words.truncate(MAX_TERMS);
    exact_words.truncate(MAX_TERMS);
    key_tokens.truncate(MAX_TERMS);
    let mut p = Prepared {
        lines,
        words,
        exact_words,
        key_tokens,
        codes,
        masked_words: Vec::new(),
        sequence: Vec::new(),
        corrections: Vec::new(),
        error_paste: false,
    };
    p.error_paste = reads_as_paste(&p.lines);
    // Numbers typed in words are words (`python 3`, `windows 11`); in a paste they vary.
    let typed = !p.is_error_paste();
    let head: String = text.chars().take(4_000).collect();
    let mut stream = analyzer.token_stream(&head);
    while stream.advance() && p.masked_words.len() < MAX_MASKED_WORDS {
        let w = &stream.token().text;
        // Names and short product words (`uvicorn`, `4k`); bare numbers only when typed.
        let wordlike = (w.chars().count() >= 2 && w.chars().any(|c| c.is_alphabetic()))
            || (typed && w.chars().all(|c| c.is_ascii_digit()) && w.len() <= 4);
        if wordlike && !p.words.contains(w) && !p.codes.contains(w) {
            push_unique(&mut p.masked_words, w);
        }
    }
    if typed {
        let mut stream = as_written.token_stream(&head);
        while stream.advance() && p.sequence.len() <= MAX_PAIRS {
            p.sequence.push(stream.token().text.clone());
        }
    }
    p
}

impl Prepared {
    /// The query with typed words that no note contains replaced by the closest word the
    /// notes use (see [`crate::spelling`]); None when nothing needs correcting. A paste is
    /// copied, not typed: it is left as it is.
    fn corrected(&self, searcher: &Searcher, exact: Field) -> Result<Option<Prepared>> {
        if self.is_error_paste() {
            return Ok(None);
        }
        // Cloned only once a word needs correcting (most queries have none).
        let mut fixed: Option<Prepared> = None;
        for w in &self.exact_words {
            let done = fixed.as_ref().map_or(0, |f| f.corrections.len());
            if done >= MAX_TYPO_WORDS || !spelling::correctable(w) {
                continue;
            }
            if searcher.doc_freq(&Term::from_field_text(exact, w))? > 0 {
                continue;
            }
            let Some(c) = spelling::correction(searcher, exact, w)? else {
                continue;
            };
            let fixed = fixed.get_or_insert_with(|| self.clone());
            let (old_stem, new_stem) = (stem(w), stem(&c));
            for x in fixed.words.iter_mut() {
                if *x == old_stem {
                    x.clone_from(&new_stem);
                }
            }
            for x in fixed
                .exact_words
                .iter_mut()
                .chain(fixed.sequence.iter_mut())
            {
                if x == w {
                    x.clone_from(&c);
                }
            }
            fixed.corrections.push((w.clone(), c));
        }
        Ok(fixed)
    }

    /// Neighbouring words of a typed query, each pair once.
    fn pairs(&self) -> Vec<[&str; 2]> {
        let mut pairs: Vec<[&str; 2]> = Vec::new();
        for w in self.sequence.windows(2) {
            let pair = [w[0].as_str(), w[1].as_str()];
            if w[0] != w[1] && !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
        pairs
    }
}

/// A word's stem, as the text fields hold it.
fn stem(word: &str) -> String {
    let mut analyzer = crate::index::text_analyzer();
    let mut stream = analyzer.token_stream(word);
    let mut out = String::new();
    while stream.advance() {
        out.push_str(&stream.token().text);
    }
    out
}

/// Word pairs of a typed query looked for side by side (a question is a sentence at most).
const MAX_PAIRS: usize = 16;
/// Weight of a word matched in the form typed, on top of its stem's match.
const EXACT_WEIGHT: f32 = 0.5;
/// What a recorded line identical to a pasted one adds: enough to break a tie between notes
/// whose errors differ only in their variable parts, not to lift a worse match.
pub const VERBATIM_WEIGHT: f32 = 0.5;
/// A term held by more than this share of the notes only adds to the candidates' scores (in a
/// vault of at least [`COMMON_TERM_MIN_NOTES`] notes).
const COMMON_TERM_SHARE: f64 = 0.2;
const COMMON_TERM_MIN_NOTES: u64 = 2_000;
/// A recorded error this similar to a paste answers it (see [`answers`]).
const CLOSE_ANSWER: f32 = 0.5;
/// Scores this close (a share of the best hit's score) are a tie that the notes' records order.
const TIE: f32 = 0.02;
/// Weight of two typed words found side by side.
const PAIR_WEIGHT: f32 = 0.75;

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

/// Search the index; hits best first.
pub fn search(idx: &NoteIndex, req: &SearchRequest) -> Result<Vec<Hit>> {
    let prepared = prepare(&req.text);
    search_prepared(idx, req, &prepared)
}

pub fn search_prepared(idx: &NoteIndex, req: &SearchRequest, p: &Prepared) -> Result<Vec<Hit>> {
    search_many(&[idx], req, p)
}

/// Search several indexes (vaults) as one: BM25 statistics (document counts, term
/// frequencies, field lengths) are those of all of them together, so a note's score does not
/// depend on which vault holds it; candidates come from each index, and one ranking orders
/// them all. Each hit's `vault` is its index's position in `idxs`.
pub fn search_many(idxs: &[&NoteIndex], req: &SearchRequest, p: &Prepared) -> Result<Vec<Hit>> {
    if p.words.is_empty() && p.key_tokens.is_empty() && p.masked_words.is_empty() {
        return Ok(Vec::new());
    }
    let searchers: Vec<Searcher> = idxs.iter().map(|i| i.searcher()).collect();
    let stats = Statistics(&searchers);
    let mut found: Vec<Candidates> = Vec::with_capacity(idxs.len());
    // (`found` is trimmed below when there are several vaults.)
    for (idx, searcher) in idxs.iter().zip(&searchers) {
        found.push(candidates(idx, searcher, &stats, req, p)?);
    }
    // Several vaults: the text candidates of all of them compete for the same number of
    // places one index gives (their BM25 share the statistics), so ranking reads as many
    // notes as for one vault.
    if found.len() > 1 {
        let want = CANDIDATES.max(req.limit);
        let mut all: Vec<f32> = found
            .iter()
            .flat_map(|c| c.top[..c.by_text].iter().map(|(s, _)| *s))
            .collect();
        if all.len() > want {
            all.sort_by(|a, b| b.total_cmp(a));
            let cutoff = all[want - 1];
            for c in &mut found {
                let errors = c.top.split_off(c.by_text);
                c.top.retain(|(s, _)| *s >= cutoff);
                c.by_text = c.top.len();
                c.top.extend(errors);
            }
        }
    }
    // The text part of every score is scaled to the best candidate of all the vaults.
    let best = found
        .iter()
        .filter_map(|c| c.top.first().map(|(s, _)| *s))
        .fold(0.0f32, f32::max);
    let best = if best > 0.0 { best } else { 1.0 };
    let mut hits = Vec::new();
    for (v, ((idx, searcher), c)) in idxs.iter().zip(&searchers).zip(found).enumerate() {
        rank(idx, searcher, p, c, best, v, &mut hits)?;
    }
    // Tags are part of every query; a date limit is applied to the candidates.
    if req.filter.since.is_some() {
        hits.retain(|h| req.filter.keeps(&h.note));
    }
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.vault.cmp(&b.vault))
            .then_with(|| a.note.rel.cmp(&b.note.rel))
    });
    order_ties_by_record(&mut hits);
    hits.truncate(req.limit);
    Ok(hits)
}

/// BM25 statistics of several indexes taken together (one index: its own).
struct Statistics<'a>(&'a [Searcher]);

impl Bm25StatisticsProvider for Statistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        self.0.iter().map(|s| s.total_num_tokens(field)).sum()
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.0.iter().map(|s| s.total_num_docs()).sum()
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.0.iter().map(|s| s.doc_freq(term)).sum()
    }
}

/// What one index offers for a query: its candidates with their BM25 (against the shared
/// statistics), and what the ranking needs to know of them.
struct Candidates {
    p: Option<Prepared>,
    /// The text candidates, best first, then those found by their recorded errors alone.
    top: Vec<(f32, tantivy::DocAddress)>,
    /// How many of `top` are text candidates.
    by_text: usize,
    verbatim: HashSet<tantivy::DocAddress>,
    fuzzy: bool,
}

fn candidates(
    idx: &NoteIndex,
    searcher: &Searcher,
    stats: &Statistics,
    req: &SearchRequest,
    p: &Prepared,
) -> Result<Candidates> {
    let corrected = p.corrected(searcher, idx.fields().exact)?;
    let q = corrected.as_ref().unwrap_or(p);
    let want = CANDIDATES.max(req.limit);
    let mut fuzzy = false;
    let (retrieving, deferred) = split_common(stats, weighted_terms(idx, q));
    let collector = TopDocs::with_limit(want).order_by_score();
    let mut top = searcher.search_with_statistics_provider(
        &build_query(idx, req, q, false, &retrieving),
        &collector,
        stats,
    )?;
    if top.is_empty() {
        fuzzy = true;
        top = searcher.search_with_statistics_provider(
            &build_query(idx, req, q, true, &retrieving),
            &collector,
            stats,
        )?;
    }
    if !fuzzy {
        add_candidate_scores(idx, searcher, stats, q, &deferred, &mut top)?;
    }
    // For a pasted error, the notes whose recorded errors share its rarest constant parts are
    // candidates of their own, wherever the text ranking put them; so are the notes recording
    // one of the pasted lines verbatim or with only other variable parts (however common its
    // words), and the verbatim ones win ties.
    let mut verbatim: HashSet<tantivy::DocAddress> = HashSet::new();
    let by_text = top.len();
    if q.is_error_paste() {
        let mut seen: HashSet<tantivy::DocAddress> = top.iter().map(|(_, a)| *a).collect();
        let mut found = Vec::new();
        if let Some(eq) = error_key_query(idx, searcher, req, q) {
            found.extend(
                searcher.search(&eq, &TopDocs::with_limit(ERROR_CANDIDATES).order_by_score())?,
            );
        }
        let (exact, keyed) = identity_queries(idx, req, q);
        let collector = TopDocs::with_limit(ERROR_CANDIDATES).order_by_score();
        let same_lines = searcher.search(&exact, &collector)?;
        verbatim.extend(same_lines.iter().map(|(_, a)| *a));
        found.extend(same_lines);
        found.extend(searcher.search(&keyed, &collector)?);
        for (_, a) in found {
            if seen.insert(a) {
                top.push((0.0, a));
            }
        }
    }
    Ok(Candidates {
        p: corrected,
        top,
        by_text,
        verbatim,
        fuzzy,
    })
}

/// Score one index's candidates (the text part scaled to `best`, plus the error similarity and
/// the verbatim bonus) into `hits`.
fn rank(
    idx: &NoteIndex,
    searcher: &Searcher,
    original: &Prepared,
    c: Candidates,
    best: f32,
    vault: usize,
    hits: &mut Vec<Hit>,
) -> Result<()> {
    let p = c.p.as_ref().unwrap_or(original);
    let weights = TokenWeights::new(searcher, idx.fields().errkey);
    let query_level = Explanation {
        fuzzy: c.fuzzy,
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
    for (bm25, addr) in c.top {
        let note = idx.stored(searcher, addr)?;
        let mut ex = Explanation {
            bm25,
            text_part: bm25 / best,
            ..query_level.clone()
        };
        error_match(p, &note, &weights, &mut ex);
        ex.verbatim = c.verbatim.contains(&addr);
        let score = ex.text_part
            + p.error_weight(ex.error_similarity)
            + if ex.verbatim { VERBATIM_WEIGHT } else { 0.0 };
        hits.push(Hit {
            note,
            score,
            vault,
            explanation: ex,
        });
    }
    Ok(())
}

/// Whether the hits answer the query: any hit for typed words; for a pasted error, a note whose
/// recorded error resembles it (similarity from [`CLOSE_ANSWER`]) or that shares a code with it.
/// Words like `failed` or `user` find some note for almost any paste; that is not an answer.
pub fn answers(p: &Prepared, hits: &[Hit]) -> bool {
    answers_as(p.is_error_paste(), hits)
}

/// [`answers`], for a query known to be a pasted error (`paste`) or typed words.
pub fn answers_as(paste: bool, hits: &[Hit]) -> bool {
    if !paste {
        return !hits.is_empty();
    }
    hits.iter()
        .any(|h| h.explanation.error_similarity >= CLOSE_ANSWER || !h.explanation.codes.is_empty())
}

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

/// Queries for the notes recording a pasted line verbatim, and with the same normalised form
/// ([`crate::matcher::line_identity`]), with the request's tag filter.
fn identity_queries(
    idx: &NoteIndex,
    req: &SearchRequest,
    p: &Prepared,
) -> (BooleanQuery, BooleanQuery) {
    let f = idx.fields();
    let mut exact: Vec<Clause> = Vec::new();
    let mut keyed: Vec<Clause> = Vec::new();
    for line in &p.lines {
        let id = crate::matcher::paste_identity(&line.raw, &line.tokens);
        let term = |field, h| -> Clause {
            let q = TermQuery::new(Term::from_field_u64(field, h), IndexRecordOption::Basic);
            (Occur::Should, Box::new(q))
        };
        exact.push(term(f.verbatim, id.verbatim));
        keyed.push(term(f.errform, id.form));
    }
    let with_tags = |clauses: Vec<Clause>| {
        let mut all: Vec<Clause> = vec![(Occur::Must, Box::new(BooleanQuery::new(clauses)))];
        all.extend(tag_filters(idx, req));
        BooleanQuery::new(all)
    };
    (with_tags(exact), with_tags(keyed))
}

/// A term of the text score and its weight.
type WeightedTerm = (Term, f32);

/// One clause of a boolean query.
type Clause = (Occur, Box<dyn Query>);

fn term_query(field: Field, text: &str, boost: f32) -> Box<dyn Query> {
    let q = TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    );
    Box::new(BoostQuery::new(Box::new(q), boost))
}

/// Adds to each candidate's text score what the union left out: the common terms (see
/// [`split_common`]) and the typed query's neighbouring words found side by side (BM25 of the
/// pair as a phrase, as tantivy scores a phrase); then re-orders the candidates. Only the
/// candidates' postings are read: a phrase query over the index would walk the positions of
/// most notes for a pair of common words.
fn add_candidate_scores(
    idx: &NoteIndex,
    searcher: &Searcher,
    stats: &dyn Bm25StatisticsProvider,
    p: &Prepared,
    common: &[(Term, f32)],
    top: &mut [(f32, tantivy::DocAddress)],
) -> Result<()> {
    if top.is_empty() {
        return Ok(());
    }
    let exact = idx.fields().exact;
    let mut evidence: Vec<(Vec<Term>, f32)> =
        common.iter().map(|(t, b)| (vec![t.clone()], *b)).collect();
    for [a, b] in p.pairs() {
        let pair = vec![
            Term::from_field_text(exact, a),
            Term::from_field_text(exact, b),
        ];
        evidence.push((pair, PAIR_WEIGHT));
    }
    if evidence.is_empty() {
        return Ok(());
    }
    let mut order: Vec<(usize, tantivy::DocAddress)> =
        top.iter().enumerate().map(|(i, (_, a))| (i, *a)).collect();
    order.sort_by_key(|(_, a)| (a.segment_ord, a.doc_id));
    let (mut pos_a, mut pos_b) = (Vec::new(), Vec::new());
    for (terms, boost) in evidence {
        if terms
            .iter()
            .any(|t| searcher.doc_freq(t).is_ok_and(|n| n == 0))
        {
            continue;
        }
        let field = terms[0].field();
        let bm25 = Bm25Weight::for_terms(stats, &terms)?.boost_by(boost);
        let record = if terms.len() > 1 {
            IndexRecordOption::WithFreqsAndPositions
        } else {
            IndexRecordOption::WithFreqs
        };
        // Candidates per segment, in document order: postings only move forward.
        for group in order.chunk_by(|x, y| x.1.segment_ord == y.1.segment_ord) {
            let reader = searcher.segment_reader(group[0].1.segment_ord);
            let inverted = reader.inverted_index(field)?;
            let mut postings = Vec::with_capacity(terms.len());
            for t in &terms {
                match inverted
                    .read_postings(t, record)
                    .map_err(tantivy::TantivyError::from)?
                {
                    Some(p) => postings.push(p),
                    None => break,
                }
            }
            if postings.len() < terms.len() {
                continue;
            }
            let norms = reader.get_fieldnorms_reader(field)?;
            for &(i, addr) in group {
                let doc = addr.doc_id;
                if postings.iter_mut().any(|p| p.seek(doc) != doc) {
                    continue;
                }
                let freq = if let [first, second] = postings.as_mut_slice() {
                    first.positions(&mut pos_a);
                    second.positions(&mut pos_b);
                    pos_a
                        .iter()
                        .filter(|&&x| pos_b.binary_search(&(x + 1)).is_ok())
                        .count() as u32
                } else {
                    postings[0].term_freq()
                };
                if freq > 0 {
                    top[i].0 += bm25.score(norms.fieldnorm_id(doc), freq);
                }
            }
        }
    }
    top.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(())
}

/// Close to plain BM25 of title + body (measured on real notes, bench/EVAL.md): the title a
/// little above the body; recorded error text low, since the body holds it already.
fn text_fields(f: &crate::index::Fields) -> [(Field, f32); 4] {
    [
        (f.title, 1.2),
        (f.tags, 1.0),
        (f.errors, 0.3),
        (f.body, 1.0),
    ]
}

/// Every term of the text score with its weight: each word in each text field, codes, the
/// words masking removed, and the words as typed.
fn weighted_terms(idx: &NoteIndex, p: &Prepared) -> Vec<(Term, f32)> {
    let f = idx.fields();
    let mut terms = Vec::new();
    for w in &p.words {
        for (field, boost) in text_fields(f) {
            terms.push((Term::from_field_text(field, w), boost));
        }
    }
    for c in &p.codes {
        terms.push((Term::from_field_text(f.codes, c), 4.0));
    }
    for w in &p.masked_words {
        terms.push((Term::from_field_text(f.body, w), 1.0));
        terms.push((Term::from_field_text(f.title, w), 1.0));
    }
    // A word in the very form typed counts a little more than a word of the same stem
    // (`installed` is closer to `installed` than to `installing`).
    for w in &p.exact_words {
        terms.push((Term::from_field_text(f.exact, w), EXACT_WEIGHT));
    }
    terms
}

/// Splits the terms into those that gather candidates and those, held by a large share of the
/// notes (`the`, `for`), that only add to the candidates' scores afterwards: they barely change
/// which notes come first but make the union walk most of the index. A query of common words
/// only, or a small vault, keeps every term in the union.
fn split_common(
    stats: &dyn Bm25StatisticsProvider,
    terms: Vec<WeightedTerm>,
) -> (Vec<WeightedTerm>, Vec<WeightedTerm>) {
    let n = stats.total_num_docs().unwrap_or(0);
    if n < COMMON_TERM_MIN_NOTES {
        return (terms, Vec::new());
    }
    let limit = (n as f64 * COMMON_TERM_SHARE) as u64;
    let (common, rare): (Vec<_>, Vec<_>) = terms
        .into_iter()
        .partition(|(t, _)| stats.doc_freq(t).is_ok_and(|df| df > limit));
    if rare.is_empty() {
        (common, Vec::new())
    } else {
        (rare, common)
    }
}

fn weighted_term(t: &Term, boost: f32) -> Box<dyn Query> {
    let q = TermQuery::new(t.clone(), IndexRecordOption::WithFreqs);
    Box::new(BoostQuery::new(Box::new(q), boost))
}

fn build_query(
    idx: &NoteIndex,
    req: &SearchRequest,
    p: &Prepared,
    fuzzy: bool,
    retrieving: &[(Term, f32)],
) -> BooleanQuery {
    let f = idx.fields();
    let text_fields = text_fields(f);
    let text_part: Box<dyn Query> = if fuzzy {
        // One clause per word (any field, one or two typos), and most words must match:
        // a typo is forgiven, a query of unrelated words is not.
        let words: Vec<(Occur, Box<dyn Query>)> = p
            .words
            .iter()
            .filter_map(|w| fuzzy_word(&text_fields, w))
            .map(|q| (Occur::Should, q))
            .collect();
        let need = (words.len() * 2).div_ceil(3).max(1);
        Box::new(BooleanQuery::with_minimum_required_clauses(words, need))
    } else {
        let should: Vec<(Occur, Box<dyn Query>)> = retrieving
            .iter()
            .map(|(t, boost)| (Occur::Should, weighted_term(t, *boost)))
            .collect();
        Box::new(BooleanQuery::new(should))
    };
    let mut clauses = vec![(Occur::Must, text_part)];
    clauses.extend(tag_filters(idx, req));
    BooleanQuery::new(clauses)
}

/// The pasted error's rarest constant tokens against the notes' normalised recorded errors
/// (with the request's tag filter); None when every token is common. Common tokens (`failed`,
/// `the`) would only make the union long: the similarity weighs them afterwards anyway.
fn error_key_query(
    idx: &NoteIndex,
    searcher: &Searcher,
    req: &SearchRequest,
    p: &Prepared,
) -> Option<BooleanQuery> {
    let f = idx.fields();
    let common = (searcher.num_docs() as f64 * COMMON_ERROR_TOKEN).max(50.0) as u64;
    let mut rare: Vec<(u64, &String)> = p
        .key_tokens
        .iter()
        .filter(|t| !normalize::is_placeholder(t))
        .filter_map(|t| {
            let df = searcher
                .doc_freq(&Term::from_field_text(f.errkey, t))
                .ok()?;
            (df > 0 && df <= common).then_some((df, t))
        })
        .collect();
    if rare.is_empty() {
        return None;
    }
    rare.sort();
    rare.truncate(ERROR_QUERY_TOKENS);
    let keys: Vec<(Occur, Box<dyn Query>)> = rare
        .into_iter()
        .map(|(_, t)| (Occur::Should, term_query(f.errkey, t, 1.0)))
        .collect();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Must, Box::new(BooleanQuery::new(keys)))];
    clauses.extend(tag_filters(idx, req));
    Some(BooleanQuery::new(clauses))
}

fn tag_filters(idx: &NoteIndex, req: &SearchRequest) -> Vec<(Occur, Box<dyn Query>)> {
    req.filter
        .tags
        .iter()
        .map(|t| {
            let q = TermQuery::new(
                Term::from_field_text(idx.fields().tag, &t.to_lowercase()),
                IndexRecordOption::Basic,
            );
            (Occur::Must, Box::new(q) as Box<dyn Query>)
        })
        .collect()
}

/// A word with the typos [`spelling`] forgives, in any text field; None for short words and
/// numbers, where a typo cannot be told from another word.
fn fuzzy_word(text_fields: &[(Field, f32)], w: &str) -> Option<Box<dyn Query>> {
    if !spelling::correctable(w) {
        return None;
    }
    let distance = spelling::max_edits(w);
    let per_field: Vec<(Occur, Box<dyn Query>)> = text_fields
        .iter()
        .map(|&(field, boost)| {
            let q = FuzzyTermQuery::new(Term::from_field_text(field, w), distance, true);
            (
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(q), boost)) as Box<dyn Query>,
            )
        })
        .collect();
    Some(Box::new(BooleanQuery::new(per_field)))
}

/// idf-like weights of normalised error tokens, from the error-key field's document frequencies.
struct TokenWeights<'a> {
    searcher: &'a Searcher,
    field: Field,
    n: f32,
    cache: std::cell::RefCell<HashMap<String, f32>>,
}

impl<'a> TokenWeights<'a> {
    fn new(searcher: &'a Searcher, field: Field) -> Self {
        TokenWeights {
            searcher,
            field,
            n: searcher.num_docs().max(1) as f32,
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
        let df = self
            .searcher
            .doc_freq(&Term::from_field_text(self.field, token))
            .unwrap_or(0) as f32;
        let w = normalize::token_weight(token, self.n, df);
        self.cache.borrow_mut().insert(token.to_string(), w);
        w
    }
}

/// Fill in how well the paste matches the note's recorded errors.
fn error_match(p: &Prepared, note: &StoredNote, weights: &TokenWeights, ex: &mut Explanation) {
    let codes: Vec<&str> = note
        .errkeys
        .iter()
        .flat_map(|k| k.split(' '))
        .filter(|t| p.codes.iter().any(|c| c == t))
        .collect();
    for c in codes {
        if !ex.codes.iter().any(|x| x == c) {
            ex.codes.push(c.to_string());
        }
    }
    let mut best = 0.0f32;
    for line in &p.lines {
        let q: Vec<&str> = line.tokens.iter().map(Token::text).collect();
        for key in &note.errkeys {
            let e: Vec<&str> = key.split(' ').collect();
            let s = crate::matcher::line_similarity(&q, &e, line.is_error, |t| weights.weight(t));
            if s > best {
                best = s;
                ex.matched_error = Some(key.clone());
                ex.pasted_line = Some(q.join(" "));
            }
        }
    }
    ex.error_similarity = best;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_errors_are_told_from_questions_and_keywords() {
        for q in [
            "Error 0x80070005: access is denied",
            "/usr/bin/python3: No module named pip",
            "Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106",
            "vpn error 809",
            "ModuleNotFoundError: No module named 'uvicorn.protocols.websockets'",
        ] {
            assert!(prepare(q).is_error_paste(), "{q}");
        }
        for q in [
            "outlook keeps asking for password",
            "asyncio subprocess timeout kill",
            "printer failed",
            "how do I list open files in python",
            "does the mac come with python 3 once xcode is installed",
        ] {
            assert!(!prepare(q).is_error_paste(), "{q}");
        }
    }

    #[test]
    fn masked_names_stay_as_weak_words() {
        let p = prepare("ModuleNotFoundError: No module named 'uvicorn.protocols.websockets'");
        assert!(
            p.masked_words.contains(&"uvicorn".to_string()),
            "{:?}",
            p.masked_words
        );
        assert!(!p.words.contains(&"uvicorn".to_string()));
        // Numbers typed in words are words; in a paste they vary.
        assert!(prepare("does the mac come with python 3")
            .masked_words
            .contains(&"3".to_string()));
        let paste = prepare("connect ECONNREFUSED 10.0.0.5:5432 after 3 tries");
        assert!(!paste.masked_words.iter().any(|w| w == "3" || w == "5432"));
        // A paste masked to nothing still has words to search with.
        let p = prepare("'B2B' 'C:\\Temp\\x.log'");
        assert!(!p.masked_words.is_empty());
    }

    #[test]
    fn only_a_substantial_match_counts_for_a_question() {
        let q = prepare("asyncio subprocess timeout kill");
        assert_eq!(q.error_weight(0.43), 0.0);
        assert!(q.error_weight(0.9) > 0.0);
        let e = prepare("Error 0x80070005: access is denied");
        assert!(e.error_weight(0.43) > 0.0);
    }
}
