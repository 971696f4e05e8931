//! BERT's tokenization of one question, over a vocabulary read in place.
//!
//! Building tokenizers' `Tokenizer` for a BERT model means filling two hash maps of 30,000
//! strings each, 8-12 ms of every `kb search` that reads a question by meaning (measured);
//! its tokenization itself is a few microseconds. For a tokenizer of the plain BERT kind
//! (BertNormalizer, BertPreTokenizer, WordPiece, `[CLS] … [SEP]`, special tokens matched as
//! written), the same steps are done here over a sorted table of the vocabulary that is
//! mapped from kb's copy of the model ([`super::compact`]): nothing to build. [`Words::of`]
//! takes its settings from tokenizers' own `Tokenizer` and keeps them only when both give the
//! same ids for a set of texts made to differ (accents, CJK, controls, punctuation, long
//! words, special tokens); the tests compare them on more.
//!
//! The Unicode tables are the ones tokenizers uses (unicode_categories,
//! unicode-normalization-alignments), so that both read every character alike.

use super::compact::Table;
use serde::{Deserialize, Serialize};
use tokenizers::models::ModelWrapper;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::Tokenizer;
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::UnicodeNormalization;

/// How a BERT tokenizer reads text (its BertNormalizer, WordPiece and special tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub clean_text: bool,
    pub chinese_chars: bool,
    pub strip_accents: bool,
    pub lowercase: bool,
    /// A word longer than this many characters is `[UNK]`.
    pub max_chars: usize,
    /// What starts a piece inside a word (`##`).
    pub prefix: String,
    pub unk: u32,
    /// The tokens around a text (`[CLS]`, `[SEP]`).
    pub first: u32,
    pub last: u32,
    /// Special tokens recognised as written anywhere in a text (`[MASK]`...), with their ids.
    pub specials: Vec<(String, u32)>,
}

/// A BERT tokenizer: its settings and its vocabulary's table.
pub struct Words {
    pub settings: Settings,
    pub table: Table,
}

/// Texts on which tokenizers and [`Words`] must agree before [`Words`] is used.
pub const SAMPLES: &[&str] = &[
    "",
    "  ",
    "outlook keeps asking for my password",
    "Outlook KEEPS Asking, for my PASSWORD!!!",
    "laptop fan loud after update (again?)",
    "error 0x80070005 access denied: C:\\Users\\jdoe\\AppData\\Local\\Temp\\x.tmp",
    "ssh: connect to host 10.0.0.12 port 22: Connection refused",
    "Café naïve résumé Ångström Øresund façade jalapeño",
    "Straße ß İstanbul ǅ ﬁle ﬂow Ⅻ ①",
    "中文 打印机 不工作 プリンター 프린터 Привет мир Ελληνικά עברית العربية हिन्दी",
    "emoji 😀👍🏽 ❤️ ✓ — – … « » “quotes” ‘single’ ¿qué? ¡sí!",
    "tabs\tand\nnewlines\r\nand\u{a0}non\u{2003}breaking\u{200b}zero\u{feff}width",
    "controls \u{0}\u{1}\u{7f}\u{fffd}\u{e000}\u{ad} soft-hyphen",
    "[CLS] the [MASK] is [SEP] [UNK] [PAD] x[MASK]y [mask] [ MASK ]",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "a-very-long-hyphenated-compound_with_underscores.and.dots/and/slashes#hash@at$dollar%pct^caret&amp*star",
    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=abc&x=1",
    "x = {\"key\": [1, 2.5e-3, null]}; fn(a, b) -> Result<(), Error> :: <tag/>",
    "Ⓐ 𝐀𝐁𝐂 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ＦＵＬＬ ｗｉｄｔｈ ｶﾀｶﾅ",
    "e\u{301}te\u{301} n\u{303} a\u{308}\u{304} combining marks",
    "1234567890 3.14159 1,000,000 1/2 ½ ² ³ 10% $5 €3 £2 ¥1",
];

impl Words {
    /// `t` read by [`Words`], when it is a plain BERT tokenizer that [`Words`] reads exactly
    /// alike (checked on [`SAMPLES`], cut at `max_tokens`); None otherwise.
    pub fn of(t: &Tokenizer, max_tokens: usize) -> Option<Words> {
        let Some(NormalizerWrapper::BertNormalizer(n)) = t.get_normalizer() else {
            return None;
        };
        let Some(PreTokenizerWrapper::BertPreTokenizer(_)) = t.get_pre_tokenizer() else {
            return None;
        };
        let ModelWrapper::WordPiece(wp) = t.get_model() else {
            return None;
        };
        let mut specials = Vec::new();
        for (id, a) in t.get_added_tokens_decoder() {
            if a.single_word || a.lstrip || a.rstrip || a.normalized || a.content.is_empty() {
                return None;
            }
            specials.push((a.content, id));
        }
        specials.sort();
        let mut cut = t.clone();
        cut.with_padding(None);
        cut.with_truncation(Some(tokenizers::TruncationParams {
            max_length: max_tokens,
            ..Default::default()
        }))
        .ok()?;
        let framed = cut.encode("a", true).ok()?;
        let bare = cut.encode("a", false).ok()?;
        let (&first, &last) = (framed.get_ids().first()?, framed.get_ids().last()?);
        if framed.get_ids().len() != bare.get_ids().len() + 2 {
            return None;
        }
        let settings = Settings {
            clean_text: n.clean_text,
            chinese_chars: n.handle_chinese_chars,
            strip_accents: n.strip_accents.unwrap_or(n.lowercase),
            lowercase: n.lowercase,
            max_chars: wp.max_input_chars_per_word,
            prefix: wp.continuing_subword_prefix.clone(),
            unk: t.token_to_id(&wp.unk_token)?,
            first,
            last,
            specials,
        };
        let words = Words {
            settings,
            table: Table::of(t.get_vocab(false)),
        };
        let long = SAMPLES.join(" ");
        let same = SAMPLES.iter().copied().chain([long.as_str()]).all(|s| {
            cut.encode(s, true).ok().map(|e| e.get_ids().to_vec()) == Some(words.ids(s, max_tokens))
        });
        same.then_some(words)
    }

    /// The ids of `text` framed by the first and last tokens, at most `max_tokens` in all.
    pub fn ids(&self, text: &str, max_tokens: usize) -> Vec<u32> {
        let s = &self.settings;
        let mut ids = vec![s.first];
        let room = max_tokens.saturating_sub(2);
        let mut rest = text;
        while !rest.is_empty() && ids.len() <= room {
            // The leftmost special token written in the text (the longest of those starting
            // there), the text before it read as words.
            let found = s
                .specials
                .iter()
                .filter_map(|(tok, id)| rest.find(tok.as_str()).map(|at| (at, tok.len(), *id)))
                .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            let (before, special) = match found {
                Some((at, len, id)) => {
                    let before = &rest[..at];
                    rest = &rest[at + len..];
                    (before, Some(id))
                }
                None => (std::mem::take(&mut rest), None),
            };
            self.words(before, &mut ids);
            ids.extend(special);
        }
        ids.truncate(room + 1);
        ids.push(s.last);
        ids
    }

    /// The pieces of `text` (no special token in it), appended to `ids`.
    fn words(&self, text: &str, ids: &mut Vec<u32>) {
        let s = &self.settings;
        let mut norm = String::with_capacity(text.len());
        for c in text.chars() {
            if s.clean_text {
                if c == '\0' || c == '\u{fffd}' || is_control(c) {
                    continue;
                }
                if is_whitespace(c) {
                    norm.push(' ');
                    continue;
                }
            }
            if s.chinese_chars && is_chinese(c) {
                norm.push(' ');
                norm.push(c);
                norm.push(' ');
            } else {
                norm.push(c);
            }
        }
        if s.strip_accents {
            norm = norm
                .nfd()
                .map(|(c, _)| c)
                .filter(|c| !c.is_mark_nonspacing())
                .collect();
        }
        if s.lowercase {
            norm = norm.chars().flat_map(char::to_lowercase).collect();
        }
        for word in norm.split(char::is_whitespace) {
            let mut start = 0;
            for (at, c) in word.char_indices() {
                if is_punctuation(c) {
                    self.piece(&word[start..at], ids);
                    self.piece(&word[at..at + c.len_utf8()], ids);
                    start = at + c.len_utf8();
                }
            }
            self.piece(&word[start..], ids);
        }
    }

    /// WordPiece: the longest pieces of the vocabulary, left to right; a word that cannot be
    /// cut so (or is too long) is one unknown token.
    fn piece(&self, word: &str, ids: &mut Vec<u32>) {
        if word.is_empty() {
            return;
        }
        let s = &self.settings;
        if word.chars().count() > s.max_chars {
            ids.push(s.unk);
            return;
        }
        let before = ids.len();
        let mut key = String::new();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                key.clear();
                if start > 0 {
                    key.push_str(&s.prefix);
                }
                key.push_str(&word[start..end]);
                if let Some(id) = self.table.id(&key) {
                    found = Some(id);
                    break;
                }
                end -= word[start..end]
                    .chars()
                    .next_back()
                    .map_or(1, char::len_utf8);
            }
            let Some(id) = found else {
                ids.truncate(before);
                ids.push(s.unk);
                return;
            };
            ids.push(id);
            start = end;
        }
    }
}

/// tokenizers' BertNormalizer: tab, newline and return are whitespace, not controls.
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

fn is_chinese(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B920..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// tokenizers' BertPreTokenizer.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.is_punctuation()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::tokenizer::tests::{bert_json, TEXTS};

    /// Every text of `texts` gets the same ids from `words` as from tokenizers (cut at `max`).
    fn same(t: &Tokenizer, words: &Words, texts: &[&str], max: usize) {
        let mut cut = t.clone();
        cut.with_padding(None);
        cut.with_truncation(Some(tokenizers::TruncationParams {
            max_length: max,
            ..Default::default()
        }))
        .unwrap();
        for text in texts {
            let theirs = cut.encode(*text, true).unwrap();
            assert_eq!(
                words.ids(text, max),
                theirs.get_ids(),
                "{text:?} cut at {max}"
            );
        }
    }

    #[test]
    fn words_read_like_tokenizers_on_a_made_up_vocabulary() {
        let t = Tokenizer::from_bytes(bert_json().as_bytes()).unwrap();
        // The made-up tokenizer has a non-special added token: not read by Words.
        assert!(Words::of(&t, 12).is_none());
        let mut v: serde_json::Value = serde_json::from_str(&bert_json()).unwrap();
        v["added_tokens"].as_array_mut().unwrap().pop();
        let t = Tokenizer::from_bytes(v.to_string().as_bytes()).unwrap();
        let words = Words::of(&t, 12).expect("a plain BERT tokenizer");
        assert_eq!(words.settings.first, 2);
        assert_eq!(words.settings.last, 3);
        assert_eq!(words.settings.specials.len(), 5);
        for max in [4, 12, 64] {
            same(&t, &words, TEXTS, max);
            same(&t, &words, SAMPLES, max);
        }
        // A BERT tokenizer that keeps accents and case.
        v["normalizer"]["lowercase"] = serde_json::json!(false);
        let t = Tokenizer::from_bytes(v.to_string().as_bytes()).unwrap();
        let words = Words::of(&t, 64).expect("a cased BERT tokenizer");
        assert!(!words.settings.lowercase && !words.settings.strip_accents);
        same(&t, &words, TEXTS, 64);
    }

    #[test]
    fn words_read_like_tokenizers_on_the_real_model() {
        let dir = std::path::PathBuf::from(std::env::var_os("KB_TEST_MODEL").expect(
            "KB_TEST_MODEL names the all-MiniLM-L6-v2 folder (tests/run.sh fetches it: bash tests/fetch_model.sh)",
        ));
        let t = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
        let words = Words::of(&t, 256).expect("all-MiniLM-L6-v2 has a plain BERT tokenizer");
        // Every line of the example notes, and each note whole (cut at the model's length).
        let mut texts = Vec::new();
        for e in walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/notes-example")) {
            let e = e.unwrap();
            if e.path().extension().is_some_and(|x| x == "md") {
                texts.push(std::fs::read_to_string(e.path()).unwrap());
            }
        }
        assert!(texts.len() > 10);
        let lines: Vec<String> = texts
            .iter()
            .flat_map(|t| t.lines().map(str::to_string))
            .collect();
        let all: Vec<&str> = texts.iter().chain(&lines).map(String::as_str).collect();
        same(&t, &words, &all, 256);
        same(&t, &words, SAMPLES, 256);
        same(&t, &words, SAMPLES, 8);
    }

    #[test]
    fn a_tokenizer_of_another_kind_is_not_read_by_words() {
        let wl = serde_json::json!({"version": "1.0", "truncation": null, "padding": null,
            "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": null, "decoder": null,
            "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "fan": 1}, "unk_token": "[UNK]"}});
        let t = Tokenizer::from_bytes(wl.to_string().as_bytes()).unwrap();
        assert!(Words::of(&t, 16).is_none());
        // BERT, but its special tokens are matched after normalising.
        let mut v: serde_json::Value = serde_json::from_str(&bert_json()).unwrap();
        v["added_tokens"].as_array_mut().unwrap().pop();
        v["added_tokens"][4]["normalized"] = serde_json::json!(true);
        let t = Tokenizer::from_bytes(v.to_string().as_bytes()).unwrap();
        assert!(Words::of(&t, 16).is_none());
    }
}
