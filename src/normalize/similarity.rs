//! How alike two normalised token sequences are, and how much each token weighs.

use super::*;

/// Weight of a placeholder in [`similarity`]: that a value stands there is part of a
/// message's shape, but says less than a word.
pub const PLACEHOLDER_WEIGHT: f32 = 0.5;

/// Inverse document frequency of a token found in `df` of `n` recorded errors.
pub fn idf(n: f32, df: f32) -> f32 {
    (1.0 + n / (df + 1.0)).ln().max(0.1)
}

/// The weight of a normalised token in [`similarity`]: a placeholder weighs
/// [`PLACEHOLDER_WEIGHT`], any other token its idf among `notes` notes, `df` of which record it
/// in their errors. Search, scan, link and the duplicate check of add all weigh tokens so.
pub fn token_weight(token: &str, notes: f32, df: f32) -> f32 {
    if is_placeholder(token) {
        PLACEHOLDER_WEIGHT
    } else {
        idf(notes, df)
    }
}

/// Similarity of two normalised token sequences in 0..1: a Dice coefficient of the tokens
/// weighted by `weight` (70%), and a Dice coefficient of adjacent pairs (30%), which rewards
/// the same order.
pub fn similarity<'a>(q: &[&'a str], e: &[&'a str], weight: impl Fn(&str) -> f32) -> f32 {
    use std::collections::HashMap;
    if q.is_empty() || e.is_empty() {
        return 0.0;
    }
    let mut counts: HashMap<&str, (u32, u32)> = HashMap::with_capacity(q.len() + e.len());
    for t in q {
        counts.entry(t).or_default().0 += 1;
    }
    for t in e {
        counts.entry(t).or_default().1 += 1;
    }
    let (mut shared, mut total) = (0.0f32, 0.0f32);
    for (t, (a, b)) in &counts {
        let wt = weight(t);
        shared += 2.0 * (*a.min(b)) as f32 * wt;
        total += (*a + *b) as f32 * wt;
    }
    let uni = if total > 0.0 { shared / total } else { 0.0 };
    let pairs = |s: &[&'a str]| -> HashMap<(&'a str, &'a str), u32> {
        let mut m = HashMap::with_capacity(s.len());
        for win in s.windows(2) {
            *m.entry((win[0], win[1])).or_insert(0) += 1;
        }
        m
    };
    let (pq, pe) = (pairs(q), pairs(e));
    let nq: u32 = pq.values().sum();
    let ne: u32 = pe.values().sum();
    let bi = if nq + ne == 0 {
        uni
    } else {
        let common: u32 = pq
            .iter()
            .map(|(k, a)| (*a).min(*pe.get(k).unwrap_or(&0)))
            .sum();
        2.0 * common as f32 / (nq + ne) as f32
    };
    0.7 * uni + 0.3 * bi
}
