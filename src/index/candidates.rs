//! Candidates for a query from one or several indexes searched as one: the tantivy side of
//! [`crate::search`], which ranks what this returns without knowing tantivy.
//!
//! BM25 over a disjunction of the query's constant parts: identifying codes weigh most, then
//! title, tags, body and recorded error text, close to plain BM25 of title + body; a word
//! matched in the form typed adds a little to its stem's match, and for typed words, two
//! neighbours found side by side add more. Terms held by a large share of the notes only add
//! to the candidates' scores. For a pasted error, the notes whose recorded errors share its
//! rarest tokens, or record one of its lines (verbatim or with other variable parts), are
//! candidates of their own. When nothing matches, words are retried with typos allowed.
//!
//! Statistics (note counts, term frequencies, field lengths) are those of every index of the
//! set together, so a note's score does not depend on which vault holds it, and the words
//! the notes use ([`Vocabulary`]) are those of all of them.

use super::{Fields, NoteIndex, StoredNote};
use crate::error::Result;
use crate::normalize;
use crate::query::Prepared;
use crate::spelling::{self, Vocabulary};
use std::collections::{HashMap, HashSet};
use tantivy::collector::TopDocs;
use tantivy::postings::Postings;
use tantivy::query::{
    Bm25StatisticsProvider, Bm25Weight, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, DocSet, Searcher, Term};

/// Candidates gathered by recorded errors alone for a pasted error, from at most this many of
/// its rarest tokens, each held by at most this share of the notes.
const ERROR_CANDIDATES: usize = 50;
const ERROR_QUERY_TOKENS: usize = 6;
const COMMON_ERROR_TOKEN: f64 = 0.05;
/// Weight of a word matched in the form typed, on top of its stem's match.
const EXACT_WEIGHT: f32 = 0.5;
/// A term held by more than this share of the notes only adds to the candidates' scores (in a
/// set of at least [`COMMON_TERM_MIN_NOTES`] notes).
const COMMON_TERM_SHARE: f64 = 0.2;
const COMMON_TERM_MIN_NOTES: u64 = 2_000;
/// Weight of two typed words found side by side.
const PAIR_WEIGHT: f32 = 0.75;
/// Weight added to a code or number of the query (`0x800f081f`, `4740`) found in a note's
/// title or text, when it is rare in the notes (held by at most [`RARE_CODE_SHARE`] of them,
/// or [`RARE_CODE_NOTES`]): it names the problem, where the words around it (`windows update
/// error`) are shared by many notes.
const RARE_CODE_WEIGHT: f32 = 2.0;
const RARE_CODE_SHARE: f64 = 0.01;
const RARE_CODE_NOTES: u64 = 3;

/// A note found in one index of a [`SearchSet`] (valid for that set only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NoteRef(DocAddress);

/// Several opened indexes (vaults) searched as one; one index is a set of one.
pub struct SearchSet<'a> {
    idxs: &'a [&'a NoteIndex],
    searchers: Vec<Searcher>,
}

impl<'a> SearchSet<'a> {
    pub fn new(idxs: &'a [&'a NoteIndex]) -> SearchSet<'a> {
        SearchSet {
            idxs,
            searchers: idxs.iter().map(|i| i.searcher()).collect(),
        }
    }

    /// How many notes the set holds.
    pub fn num_notes(&self) -> u64 {
        self.searchers.iter().map(Searcher::num_docs).sum()
    }

    /// How many notes record an error holding this normalised token.
    pub fn notes_with_error_token(&self, token: &str) -> u64 {
        let field = self.fields().errkey;
        self.doc_freq(&Term::from_field_text(field, token))
    }

    /// The stored note behind a candidate of index `vault`.
    pub fn stored(&self, vault: usize, note: NoteRef) -> Result<StoredNote> {
        self.idxs[vault].stored(&self.searchers[vault], note.0)
    }

    /// The note of index `vault` at `rel`, if indexed.
    pub fn by_path(&self, vault: usize, rel: &str) -> Result<Option<NoteRef>> {
        let q = tantivy::query::TermQuery::new(
            self.idxs[vault].path_term(rel),
            tantivy::schema::IndexRecordOption::Basic,
        );
        let hits = self.searchers[vault].search(
            &q,
            &tantivy::collector::TopDocs::with_limit(1).order_by_score(),
        )?;
        Ok(hits.first().map(|(_, a)| NoteRef(*a)))
    }

    /// Index `vault`'s `want` best notes for `q` by text, with their BM25, best first; with
    /// `typos`, each word may be misspelt (and most words must match). Only notes carrying
    /// every tag of `tags`.
    pub fn by_text(
        &self,
        vault: usize,
        q: &Prepared,
        tags: &[String],
        want: usize,
        typos: bool,
    ) -> Result<Vec<(f32, NoteRef)>> {
        let searcher = &self.searchers[vault];
        let f = self.fields();
        let tags = TagFilter { field: f.tag, tags };
        let (retrieving, deferred) = self.split_common(weighted_terms(f, q));
        let collector = TopDocs::with_limit(want).order_by_score();
        let mut top = searcher.search_with_statistics_provider(
            &build_query(f, &tags, q, typos, &retrieving),
            &collector,
            self,
        )?;
        if !typos {
            self.add_candidate_scores(vault, q, &deferred, &mut top)?;
        }
        Ok(top.into_iter().map(|(s, a)| (s, NoteRef(a))).collect())
    }

    /// For a pasted error, index `vault`'s notes whose recorded errors share its rarest
    /// constant parts, and those recording one of the pasted lines verbatim or with only
    /// other variable parts (however common its words); with the tag filter. Also which of
    /// them record a line verbatim.
    pub fn by_errors(
        &self,
        vault: usize,
        q: &Prepared,
        tags: &[String],
    ) -> Result<(Vec<NoteRef>, HashSet<NoteRef>)> {
        let searcher = &self.searchers[vault];
        let f = self.fields();
        let tags = TagFilter { field: f.tag, tags };
        let mut found = Vec::new();
        let collector = TopDocs::with_limit(ERROR_CANDIDATES).order_by_score();
        if let Some(eq) = self.error_key_query(&tags, q) {
            found.extend(searcher.search(&eq, &collector)?);
        }
        let (exact, keyed) = identity_queries(f, &tags, q);
        let same_lines = searcher.search(&exact, &collector)?;
        let verbatim = same_lines.iter().map(|(_, a)| NoteRef(*a)).collect();
        found.extend(same_lines);
        found.extend(searcher.search(&keyed, &collector)?);
        Ok((
            found.into_iter().map(|(_, a)| NoteRef(a)).collect(),
            verbatim,
        ))
    }

    fn fields(&self) -> &Fields {
        // Every index has the same schema.
        self.idxs[0].fields()
    }

    fn doc_freq(&self, term: &Term) -> u64 {
        self.searchers
            .iter()
            .map(|s| s.doc_freq(term).unwrap_or(0))
            .sum()
    }

    /// Splits the terms into those that gather candidates and those, held by a large share of
    /// the notes (`the`, `for`), that only add to the candidates' scores afterwards: they
    /// barely change which notes come first but make the union walk most of the index. A
    /// query of common words only, or a small set, keeps every term in the union.
    fn split_common(&self, terms: Vec<WeightedTerm>) -> (Vec<WeightedTerm>, Vec<WeightedTerm>) {
        let n = self.num_notes();
        if n < COMMON_TERM_MIN_NOTES {
            return (terms, Vec::new());
        }
        let limit = (n as f64 * COMMON_TERM_SHARE) as u64;
        let (common, rare): (Vec<_>, Vec<_>) = terms
            .into_iter()
            .partition(|(t, _)| self.doc_freq(t) > limit);
        if rare.is_empty() {
            (common, Vec::new())
        } else {
            (rare, common)
        }
    }

    /// Adds to each candidate's text score what the union left out: the common terms (see
    /// [`SearchSet::split_common`]) and the typed query's neighbouring words found side by
    /// side (BM25 of the pair as a phrase, as tantivy scores a phrase); then re-orders the
    /// candidates. Only the candidates' postings are read: a phrase query over the index
    /// would walk the positions of most notes for a pair of common words.
    fn add_candidate_scores(
        &self,
        vault: usize,
        p: &Prepared,
        common: &[WeightedTerm],
        top: &mut [(f32, DocAddress)],
    ) -> Result<()> {
        if top.is_empty() {
            return Ok(());
        }
        let searcher = &self.searchers[vault];
        let exact = self.fields().exact;
        let mut evidence: Vec<(Vec<Term>, f32)> =
            common.iter().map(|(t, b)| (vec![t.clone()], *b)).collect();
        for [a, b] in p.pairs() {
            let pair = vec![
                Term::from_field_text(exact, a),
                Term::from_field_text(exact, b),
            ];
            evidence.push((pair, PAIR_WEIGHT));
        }
        let rare = (self.num_notes() as f64 * RARE_CODE_SHARE).max(RARE_CODE_NOTES as f64) as u64;
        for code in p.identifiers() {
            let term = Term::from_field_text(exact, &code);
            if self.doc_freq(&term) <= rare {
                evidence.push((vec![term], RARE_CODE_WEIGHT));
            }
        }
        if evidence.is_empty() {
            return Ok(());
        }
        let mut order: Vec<(usize, DocAddress)> =
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
            let bm25 = Bm25Weight::for_terms(self, &terms)?.boost_by(boost);
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

    /// The pasted error's rarest constant tokens against the notes' normalised recorded
    /// errors (with the tag filter); None when every token is common. Common tokens
    /// (`failed`, `the`) would only make the union long: the similarity weighs them
    /// afterwards anyway.
    fn error_key_query(&self, tags: &TagFilter, p: &Prepared) -> Option<BooleanQuery> {
        let field = self.fields().errkey;
        let common = (self.num_notes() as f64 * COMMON_ERROR_TOKEN).max(50.0) as u64;
        let mut rare: Vec<(u64, &String)> = p
            .key_tokens
            .iter()
            .filter(|t| !normalize::is_placeholder(t))
            .filter_map(|t| {
                let df = self.doc_freq(&Term::from_field_text(field, t));
                (df > 0 && df <= common).then_some((df, t))
            })
            .collect();
        if rare.is_empty() {
            return None;
        }
        rare.sort();
        rare.truncate(ERROR_QUERY_TOKENS);
        let keys: Vec<Clause> = rare
            .into_iter()
            .map(|(_, t)| {
                let term = Term::from_field_text(field, t);
                (Occur::Should, weighted_term(&term, 1.0))
            })
            .collect();
        Some(tags.apply(Box::new(BooleanQuery::new(keys))))
    }
}

/// BM25 statistics of the whole set.
impl Bm25StatisticsProvider for SearchSet<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        self.searchers
            .iter()
            .map(|s| s.total_num_tokens(field))
            .sum()
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.searchers.iter().map(|s| s.total_num_docs()).sum()
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.searchers.iter().map(|s| s.doc_freq(term)).sum()
    }
}

/// The words of every note of the set, as written.
impl Vocabulary for SearchSet<'_> {
    fn notes_with(&self, word: &str) -> Result<u64> {
        let field = self.fields().exact;
        Ok(self.doc_freq(&Term::from_field_text(field, word)))
    }

    fn words_near(&self, word: &str, edits: u8) -> Result<Vec<(String, u64)>> {
        let field = self.fields().exact;
        let query = FuzzyTermQuery::new(Term::from_field_text(field, word), edits, true);
        let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
        for searcher in &self.searchers {
            for segment in searcher.segment_readers() {
                let inverted = segment.inverted_index(field)?;
                let mut stream = inverted
                    .terms()
                    .search(query.automaton()?)
                    .into_stream()
                    .map_err(tantivy::TantivyError::from)?;
                while stream.advance() {
                    *found.entry(stream.key().to_vec()).or_default() +=
                        u64::from(stream.value().doc_freq);
                }
            }
        }
        Ok(found
            .into_iter()
            .filter_map(|(k, n)| String::from_utf8(k).ok().map(|k| (k, n)))
            .collect())
    }
}

/// A term of the text score and its weight.
type WeightedTerm = (Term, f32);

/// One clause of a boolean query.
type Clause = (Occur, Box<dyn Query>);

/// Only notes carrying every one of these tags.
struct TagFilter<'a> {
    field: Field,
    tags: &'a [String],
}

impl TagFilter<'_> {
    /// `q`, restricted to the notes carrying every tag.
    fn apply(&self, q: Box<dyn Query>) -> BooleanQuery {
        let mut clauses: Vec<Clause> = vec![(Occur::Must, q)];
        clauses.extend(self.tags.iter().map(|t| {
            let q = TermQuery::new(
                Term::from_field_text(self.field, &t.to_lowercase()),
                IndexRecordOption::Basic,
            );
            (Occur::Must, Box::new(q) as Box<dyn Query>)
        }));
        BooleanQuery::new(clauses)
    }
}

/// Queries for the notes recording a pasted line verbatim, and with the same normalised form
/// ([`crate::matcher::line_identity`]), with the tag filter.
fn identity_queries(f: &Fields, tags: &TagFilter, p: &Prepared) -> (BooleanQuery, BooleanQuery) {
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
    (
        tags.apply(Box::new(BooleanQuery::new(exact))),
        tags.apply(Box::new(BooleanQuery::new(keyed))),
    )
}

/// Close to plain BM25 of title + body (measured on real notes, bench/EVAL.md): the title a
/// little above the body; recorded error text low, since the body holds it already.
fn text_fields(f: &Fields) -> [(Field, f32); 4] {
    [
        (f.title, 1.2),
        (f.tags, 1.0),
        (f.errors, 0.3),
        (f.body, 1.0),
    ]
}

/// Every term of the text score with its weight: each word in each text field, codes, the
/// words masking removed, and the words as typed.
fn weighted_terms(f: &Fields, p: &Prepared) -> Vec<WeightedTerm> {
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

fn weighted_term(t: &Term, boost: f32) -> Box<dyn Query> {
    let q = TermQuery::new(t.clone(), IndexRecordOption::WithFreqs);
    Box::new(BoostQuery::new(Box::new(q), boost))
}

fn build_query(
    f: &Fields,
    tags: &TagFilter,
    p: &Prepared,
    fuzzy: bool,
    retrieving: &[WeightedTerm],
) -> BooleanQuery {
    let text_fields = text_fields(f);
    let text_part: Box<dyn Query> = if fuzzy {
        // One clause per word (any field, one or two typos), and most words must match:
        // a typo is forgiven, a query of unrelated words is not.
        let words: Vec<Clause> = p
            .words
            .iter()
            .filter_map(|w| fuzzy_word(&text_fields, w))
            .map(|q| (Occur::Should, q))
            .collect();
        let need = (words.len() * 2).div_ceil(3).max(1);
        Box::new(BooleanQuery::with_minimum_required_clauses(words, need))
    } else {
        let should: Vec<Clause> = retrieving
            .iter()
            .map(|(t, boost)| (Occur::Should, weighted_term(t, *boost)))
            .collect();
        Box::new(BooleanQuery::new(should))
    };
    tags.apply(text_part)
}

/// A word with the typos [`spelling`] forgives, in any text field; None for short words and
/// numbers, where a typo cannot be told from another word.
fn fuzzy_word(text_fields: &[(Field, f32)], w: &str) -> Option<Box<dyn Query>> {
    if !spelling::correctable(w) {
        return None;
    }
    let distance = spelling::max_edits(w);
    let per_field: Vec<Clause> = text_fields
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
