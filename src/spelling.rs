//! Spelling correction of typed words against the words the notes use.
//!
//! A word typed during a call that no note contains is most often a typo (`sheduler`). It is
//! replaced by the closest word the notes do contain (one edit away, two from eight letters on;
//! a swap of two letters is one edit), the most frequent one when several are as close, so the
//! corrected word then counts like any typed word: its own matches, its stem, and its
//! neighbours side by side.
//!
//! The words come from a [`Vocabulary`]: the index of every vault searched together, so a word
//! one vault knows is not "corrected" in another.

use crate::error::Result;

/// Words shorter than this are not corrected: one edit turns them into other real words.
const MIN_LEN: usize = 4;
/// From this many letters on, two edits are forgiven.
const TWO_EDITS_FROM: usize = 8;

/// The words the notes use, as written (lower-case).
pub trait Vocabulary {
    /// How many notes use `word`.
    fn notes_with(&self, word: &str) -> Result<u64>;
    /// The words at most `edits` edits from `word` (a swap of two letters is one), each with
    /// how many notes use it.
    fn words_near(&self, word: &str, edits: u8) -> Result<Vec<(String, u64)>>;
}

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

/// The word of the vocabulary closest to `word` (fewest edits, then most notes, then first
/// in alphabetical order), or None when no word is close enough.
pub fn correction(vocabulary: &impl Vocabulary, word: &str) -> Result<Option<String>> {
    if !correctable(word) {
        return Ok(None);
    }
    for edits in 1..=max_edits(word) {
        let best = vocabulary
            .words_near(word, edits)?
            .into_iter()
            .filter(|(k, _)| k != word)
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
        if let Some((k, _)) = best {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A vocabulary of a few words, with a plain edit distance (swaps count one).
    struct Words(BTreeMap<&'static str, u64>);

    fn distance(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    impl Vocabulary for Words {
        fn notes_with(&self, word: &str) -> Result<u64> {
            Ok(self.0.get(word).copied().unwrap_or(0))
        }
        fn words_near(&self, word: &str, edits: u8) -> Result<Vec<(String, u64)>> {
            Ok(self
                .0
                .iter()
                .filter(|(k, _)| distance(k, word) <= usize::from(edits))
                .map(|(k, n)| (k.to_string(), *n))
                .collect())
        }
    }

    #[test]
    fn the_closest_then_most_used_word_wins() {
        let v = Words(BTreeMap::from([
            ("scheduler", 3),
            ("schedulers", 9),
            ("printer", 5),
            ("pointer", 7),
            ("prf", 2),
        ]));
        // One edit beats two, however common the word two edits away.
        assert_eq!(
            correction(&v, "sheduler").unwrap().as_deref(),
            Some("scheduler")
        );
        // A swap is one edit; of two words one edit away, the more used.
        assert_eq!(
            correction(&v, "pirnter").unwrap().as_deref(),
            Some("printer")
        );
        // Short words and numbers are left alone.
        assert_eq!(correction(&v, "prt").unwrap(), None);
        assert_eq!(correction(&v, "printer2").unwrap(), None);
    }
}
