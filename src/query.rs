//! The analysed query: pasted text or typed words, read once into what the index looks up
//! (stems, words as written, error tokens, codes) and what the ranking compares (normalised
//! lines). Pure: the words are cut by the index's own analysers ([`crate::analysis::Analyzer`]),
//! and spelling is corrected against any [`Vocabulary`].
//!
//! The query is always data: it is normalised ([`crate::normalize`]) and tokenized by kb, and
//! the index query is built term by term from it, so no character of it is syntax.

use crate::analysis::Analyzer;
use crate::error::Result;
use crate::normalize::{self, PasteLine, Token, Var};
use crate::spelling::{self, Vocabulary};

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
    /// The text holds what only programs print ([`machine_shaped`]).
    machine: bool,
}

/// Whether some word of `text` has a shape only programs print, even when kb's masking leaves
/// only words of it: `key=value`, braces, `::`, a dotted name of three parts or more
/// (`java.lang.NullPointerException`, `system.charge.show`), a camelCase name of three humps
/// (`getRecentTasks`). People type product names (`OneDrive`, `iPhone`), file names
/// (`outlook.exe`) and versions, not these.
fn machine_shaped(text: &str) -> bool {
    static SHAPES: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let shapes = SHAPES.get_or_init(|| {
        regex::Regex::new(
            r"\w=\S|[{}]|\w::\w|\b[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*){2,}\b|\b[a-z]+(?:[A-Z][a-z0-9]+){2,}\b",
        )
        .expect("a valid pattern")
    });
    shapes.is_match(text)
}

/// Whether `text` may be typed words rather than what programs print, from its characters
/// alone, before [`prepare`] reads it (whose patterns take a few milliseconds to build in a
/// new process): one line of letters, spaces and a sentence's punctuation (no quotes: a
/// quoted name is masked as a program's), no camelCase name of two humps or more. False for anything else, which [`prepare`] decides (a question with
/// a number or a file name in it is typed words too). A text for which it is true and that
/// [`Prepared::needs_recorded_error`] still reads as a program's costs the model's loading
/// and at most one layer of the question on another core (none of the texts of its test
/// does).
pub fn may_be_typed_words(text: &str) -> bool {
    let text = text.trim();
    let mut chars = text.chars().peekable();
    let (mut prev, mut humps) = (' ', 0);
    while let Some(c) = chars.next() {
        let ok = c.is_alphabetic()
            || matches!(c, ' ' | ',' | '?' | '!' | '\'' | '(' | ')' | '-')
            // A full stop ends a sentence; inside a word it is a file or host name.
            || (c == '.' && chars.peek().is_none_or(|n| *n == ' '));
        if !ok {
            return false;
        }
        humps = match c {
            ' ' => 0,
            c if c.is_uppercase() && prev.is_lowercase() => humps + 1,
            _ => humps,
        };
        if humps >= 2 {
            return false;
        }
        prev = c;
    }
    !text.is_empty()
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

    /// Whether only a note recording a similar error answers the query: a paste holding what
    /// programs print (a code, a masked path, address, number...). A paste of plain words (a
    /// sentence that reads as an error, or a question typed as one: "printer spooler keeps
    /// stopping after update failed") is answered by the notes its words find, as typed words
    /// are. A text of a shape only programs print ([`machine_shaped`]) is what programs print
    /// however short.
    pub fn needs_recorded_error(&self) -> bool {
        self.machine
            || (self.is_error_paste()
                && self
                    .lines
                    .iter()
                    .any(|l| l.tokens.iter().any(|t| !matches!(t, Token::Word(_)))))
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
    let mut analyzer = Analyzer::new();
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
            analyzer.stems(t.text(), |w| {
                push_unique(&mut words, w);
                true
            });
            analyzer.as_written(t.text(), |w| {
                push_unique(&mut exact_words, w);
                true
            });
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
        machine: machine_shaped(text),
    };
    p.error_paste = reads_as_paste(&p.lines);
    // Numbers typed in words are words (`python 3`, `windows 11`); in a paste they vary.
    let typed = !p.is_error_paste();
    let head: String = text.chars().take(4_000).collect();
    analyzer.stems(&head, |w| {
        // Names and short product words (`uvicorn`, `4k`); bare numbers only when typed.
        let wordlike = (w.chars().count() >= 2 && w.chars().any(|c| c.is_alphabetic()))
            || (typed && w.chars().all(|c| c.is_ascii_digit()) && w.len() <= 4);
        if wordlike && !p.words.iter().any(|x| x == w) && !p.codes.iter().any(|x| x == w) {
            push_unique(&mut p.masked_words, w);
        }
        p.masked_words.len() < MAX_MASKED_WORDS
    });
    if typed {
        analyzer.as_written(&head, |w| {
            p.sequence.push(w.to_string());
            p.sequence.len() <= MAX_PAIRS
        });
    }
    p
}

impl Prepared {
    /// The query with typed words that no note contains replaced by the closest word the
    /// notes use (see [`crate::spelling`]); None when nothing needs correcting. A paste is
    /// copied, not typed: it is left as it is.
    pub fn corrected(&self, vocabulary: &impl Vocabulary) -> Result<Option<Prepared>> {
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
            if vocabulary.notes_with(w)? > 0 {
                continue;
            }
            let Some(c) = spelling::correction(vocabulary, w)? else {
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
    /// The query's codes and (typed) numbers of three digits or more as the `exact` field
    /// holds them (`0x800f081f`, `4740`): what names a problem among notes that share its
    /// words.
    pub fn identifiers(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut analyzer = Analyzer::new();
        for c in &self.codes {
            let mut parts = Vec::new();
            analyzer.as_written(c, |w| {
                parts.push(w.to_string());
                true
            });
            if let [one] = parts.as_slice() {
                push_unique(&mut out, one);
            }
        }
        if !self.is_error_paste() {
            for w in &self.sequence {
                if w.len() >= 3 && w.chars().all(|c| c.is_ascii_digit()) {
                    push_unique(&mut out, w);
                }
            }
        }
        out
    }

    pub fn pairs(&self) -> Vec<[&str; 2]> {
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
    let mut out = String::new();
    Analyzer::new().stems(word, |w| {
        out.push_str(w);
        true
    });
    out
}

/// Word pairs of a typed query looked for side by side (a question is a sentence at most).
const MAX_PAIRS: usize = 16;

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
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
    fn what_only_programs_print_needs_a_recorded_error_however_short() {
        for q in [
            "visible is system.charge.show",
            "getRecentTasks: topActivity=ComponentInfo{com.example.notepad/NoteEditor}",
            "java.lang.NullPointerException at startup",
            "retries=3 then gives up",
            "std::bad_alloc thrown",
            "onCreateView crashes",
        ] {
            assert!(prepare(q).needs_recorded_error(), "{q}");
        }
        for q in [
            "OneDrive keeps asking me to sign in",
            "iPhone mail not syncing",
            "outlook.exe crashes on start",
            "python 3.12 venv missing",
            "laptop fan loud after update",
            "PowerShell execution policy",
            "Error: Unsupported column type",
        ] {
            assert!(!prepare(q).needs_recorded_error(), "{q}");
        }
    }

    #[test]
    fn what_may_be_typed_words_is_read_as_typed_words() {
        let typed = [
            "OneDrive keeps asking me to sign in",
            "iPhone mail not syncing",
            "laptop fan loud after update",
            "PowerShell execution policy",
            "Error: Unsupported column type",
            "mail keeps asking me to log in again.",
            "why won't the printer print? it's offline (again)",
            "sign-in loop, every morning!",
            "Überweisung schlägt fehl",
        ];
        for q in typed {
            assert!(!prepare(q).needs_recorded_error(), "{q}");
            assert!(may_be_typed_words(q) || q.contains(':'), "{q}");
        }
        // What programs print, or may print: decided by `prepare`.
        for q in [
            "visible is system.charge.show",
            "java.lang.NullPointerException at startup",
            "retries=3 then gives up",
            "std::bad_alloc thrown",
            "onCreateView crashes",
            "Error 0x80070005: access is denied",
            "/usr/bin/python3: No module named pip",
            "ERROR_ACCESS_DENIED when saving",
            "outlook.exe crashes on start",
            "vpn error 809",
            "first line\nsecond line",
            "the printer says \"offline\"",
            "",
            "   ",
        ] {
            assert!(!may_be_typed_words(q), "{q:?}");
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
