//! Spelling correction of typed words against the words the notes use.
//!
//! A word typed during a call that no note contains is most often a typo (`sheduler`). It is
//! replaced by the closest word the notes do contain (one edit away, two from eight letters on;
//! a swap of two letters is one edit), the most frequent one when several are as close, so the
//! corrected word then counts like any typed word: its own matches, its stem, and its
//! neighbours side by side.

use std::collections::HashMap;
use tantivy::query::FuzzyTermQuery;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// Words shorter than this are not corrected: one edit turns them into other real words.
const MIN_LEN: usize = 4;
/// From this many letters on, two edits are forgiven.
const TWO_EDITS_FROM: usize = 8;

/// Whether a word may be corrected at all (long enough, not a number or a code).
pub fn correctable(word: &str) -> bool {
    word.chars().count() >= MIN_LEN && !word.chars().any(|c| c.is_ascii_digit())
}

/// The edits forgiven in a word of this length.
pub fn max_edits(word: &str) -> u8 {
    if word.chars().count() >= TWO_EDITS_FROM {
        2
    } else {
        1
    }
}

/// The word of `field` closest to `word` (fewest edits, then most notes), or None when no
/// word is close enough. `word` is lower-case, as the field's terms are.
pub fn correction(
    searcher: &Searcher,
    field: Field,
    word: &str,
) -> tantivy::Result<Option<String>> {
    if !correctable(word) {
        return Ok(None);
    }
    for edits in 1..=max_edits(word) {
        let query = FuzzyTermQuery::new(Term::from_field_text(field, word), edits, true);
        let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(field)?;
            let mut stream = inverted.terms().search(query.automaton()?).into_stream()?;
            while stream.advance() {
                *found.entry(stream.key().to_vec()).or_default() +=
                    u64::from(stream.value().doc_freq);
            }
        }
        let best = found
            .into_iter()
            .filter_map(|(k, n)| String::from_utf8(k).ok().map(|k| (n, k)))
            .filter(|(_, k)| k != word)
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
        if let Some((_, k)) = best {
            return Ok(Some(k));
        }
    }
    Ok(None)
}
