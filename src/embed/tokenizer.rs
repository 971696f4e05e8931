//! Reading a model's `tokenizer.json`.
//!
//! tokenizers reads the file through a generic JSON value (every one of a BERT vocabulary's
//! 30,000 words becomes a map entry, then a string again): about 15 ms, half of a `kb search`
//! that embeds a question. A WordPiece tokenizer, the kind every BERT model has, is read here
//! straight into its parts instead (the normalizer, pre-tokenizer, post-processor and decoder
//! still by tokenizers' own readers) and put together with tokenizers' own builders, in the
//! order tokenizers does; anything else, or any field this reader does not know, goes to
//! tokenizers' reader unchanged.

use ahash::AHashMap;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, PaddingParams, Tokenizer, TruncationParams};

/// The tokenizer in these bytes (the contents of a `tokenizer.json`).
pub fn from_bytes(bytes: &[u8]) -> Result<Tokenizer, String> {
    match wordpiece(bytes) {
        Some(t) => Ok(t),
        None => Tokenizer::from_bytes(bytes).map_err(|e| e.to_string()),
    }
}

/// The file as a WordPiece tokenizer, when it is one whose every field this reader knows.
fn wordpiece(bytes: &[u8]) -> Option<Tokenizer> {
    let file: File = serde_json::from_slice(bytes).ok()?;
    if file.version != "1.0" || file.model.kind != "WordPiece" {
        return None;
    }
    let m = file.model;
    let model = WordPiece::builder()
        .vocab(m.vocab.0)
        .unk_token(m.unk_token)
        .continuing_subword_prefix(m.continuing_subword_prefix)
        .max_input_chars_per_word(m.max_input_chars_per_word)
        .build()
        .ok()?;
    let mut t = Tokenizer::new(model);
    t.with_normalizer(file.normalizer).ok()?;
    t.with_pre_tokenizer(file.pre_tokenizer);
    t.with_post_processor(file.post_processor);
    t.with_decoder(file.decoder);
    t.with_truncation(file.truncation).ok()?;
    t.with_padding(file.padding);
    let added = file.added_tokens.into_iter().map(|a| {
        AddedToken::from(a.content, a.special)
            .single_word(a.single_word)
            .lstrip(a.lstrip)
            .rstrip(a.rstrip)
            .normalized(a.normalized)
    });
    t.add_tokens(added).ok()?;
    Some(t)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: String,
    #[serde(default)]
    truncation: Option<TruncationParams>,
    #[serde(default)]
    padding: Option<PaddingParams>,
    #[serde(default)]
    added_tokens: Vec<Added>,
    #[serde(default)]
    normalizer: Option<NormalizerWrapper>,
    #[serde(default)]
    pre_tokenizer: Option<PreTokenizerWrapper>,
    #[serde(default)]
    post_processor: Option<PostProcessorWrapper>,
    #[serde(default)]
    decoder: Option<DecoderWrapper>,
    model: Model,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Added {
    #[allow(dead_code)]
    id: u32,
    content: String,
    single_word: bool,
    lstrip: bool,
    rstrip: bool,
    normalized: bool,
    special: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Model {
    #[serde(rename = "type")]
    kind: String,
    unk_token: String,
    continuing_subword_prefix: String,
    max_input_chars_per_word: usize,
    vocab: Vocab,
}

/// The vocabulary, read straight into the map WordPiece keeps.
struct Vocab(AHashMap<String, u32>);

impl<'de> Deserialize<'de> for Vocab {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Vocab, D::Error> {
        struct Words;
        impl<'de> Visitor<'de> for Words {
            type Value = Vocab;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of words to ids")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vocab, A::Error> {
                let mut words = AHashMap::with_capacity(map.size_hint().unwrap_or(32_768));
                while let Some((word, id)) = map.next_entry::<Cow<'de, str>, u32>()? {
                    words.insert(word.into_owned(), id);
                }
                Ok(Vocab(words))
            }
        }
        d.deserialize_map(Words)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A BERT tokenizer's file, with a vocabulary that has escapes, accents, CJK and
    /// continuation pieces, and an added token that is not in it.
    pub(in crate::embed) fn bert_json() -> String {
        let words = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "printer", "print", "##er", "##s",
            "spool", "##ing", "café", "naïve", "\"", "\\", "é", "中", "文", "0x", "##80", "##07",
            "##00", "##5", "error", ".", ",", "!", "-", "/", ":", "c", "users", "fan", "loud",
            "over", "##heat", "un", "##believ", "##able", "\t",
        ];
        let vocab: serde_json::Map<String, serde_json::Value> = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), serde_json::json!(i)))
            .collect();
        let added = |id: usize, t: &str, special: bool| {
            serde_json::json!({"id": id, "content": t, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": !special, "special": special})
        };
        serde_json::json!({
            "version": "1.0",
            "truncation": {"max_length": 12, "strategy": "LongestFirst", "stride": 0,
                "direction": "Right"},
            "padding": null,
            "added_tokens": [added(0, "[PAD]", true), added(1, "[UNK]", true),
                added(2, "[CLS]", true), added(3, "[SEP]", true), added(4, "[MASK]", true),
                added(words.len(), "kbword", false)],
            "normalizer": {"type": "BertNormalizer", "clean_text": true,
                "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                "special_tokens": {
                    "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                    "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
            "model": {"type": "WordPiece", "unk_token": "[UNK]",
                "continuing_subword_prefix": "##", "max_input_chars_per_word": 10,
                "vocab": vocab}
        })
        .to_string()
    }

    pub(in crate::embed) const TEXTS: &[&str] = &[
        "",
        "the printer",
        "The PRINTERS spooling!!",
        "Café naïve CAFÉ cafe",
        "中文 printer 中",
        "error 0x80070005 c:/users/fan",
        "\"quoted\" \\ back\tslash",
        "unbelievable overheat unbelievablyunbelievable",
        "[CLS] the [MASK] printer [SEP] kbword",
        "a very long text that goes over the twelve tokens of the truncation it has, surely",
        "\u{0}control\u{7f} chars\u{200b}zero width",
    ];

    fn same(fast: &Tokenizer, slow: &Tokenizer) {
        for text in TEXTS {
            for special in [true, false] {
                let a = fast.encode(*text, special).unwrap();
                let b = slow.encode(*text, special).unwrap();
                assert_eq!(a.get_ids(), b.get_ids(), "{text:?}");
                assert_eq!(a.get_tokens(), b.get_tokens(), "{text:?}");
                assert_eq!(a.get_offsets(), b.get_offsets(), "{text:?}");
                assert_eq!(a.get_attention_mask(), b.get_attention_mask(), "{text:?}");
            }
        }
        let batch = |t: &Tokenizer| {
            t.encode_batch(TEXTS.to_vec(), true)
                .unwrap()
                .iter()
                .map(|e| e.get_ids().to_vec())
                .collect::<Vec<_>>()
        };
        assert_eq!(batch(fast), batch(slow));
        assert_eq!(fast.get_vocab_size(true), slow.get_vocab_size(true));
        assert_eq!(fast.token_to_id("kbword"), slow.token_to_id("kbword"));
    }

    #[test]
    fn a_wordpiece_file_is_read_into_the_same_tokenizer() {
        let json = bert_json();
        let fast = wordpiece(json.as_bytes()).expect("read directly");
        let slow = Tokenizer::from_bytes(json.as_bytes()).unwrap();
        same(&fast, &slow);
    }

    #[test]
    fn the_real_models_tokenizer_is_read_into_the_same_tokenizer() {
        let dir = std::path::PathBuf::from(std::env::var_os("KB_TEST_MODEL").expect(
            "KB_TEST_MODEL names the all-MiniLM-L6-v2 folder (tests/run.sh fetches it: bash tests/fetch_model.sh)",
        ));
        let json = std::fs::read(dir.join("tokenizer.json")).unwrap();
        let fast = wordpiece(&json).expect("all-MiniLM-L6-v2's tokenizer is WordPiece");
        let slow = Tokenizer::from_bytes(&json).unwrap();
        same(&fast, &slow);
    }

    #[test]
    fn a_file_of_another_shape_goes_to_tokenizers_reader() {
        let mut v: serde_json::Value = serde_json::from_str(&bert_json()).unwrap();
        // A field this reader does not know: read by tokenizers, which ignores it.
        v["model"]["something_new"] = serde_json::json!(1);
        let json = v.to_string();
        assert!(wordpiece(json.as_bytes()).is_none());
        let t = from_bytes(json.as_bytes()).unwrap();
        same(&t, &Tokenizer::from_bytes(bert_json().as_bytes()).unwrap());
        // Another kind of model (a word-level one).
        let wl = serde_json::json!({"version": "1.0", "truncation": null, "padding": null,
            "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": null, "decoder": null,
            "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "fan": 1, "loud": 2},
                "unk_token": "[UNK]"}})
        .to_string();
        assert!(wordpiece(wl.as_bytes()).is_none());
        let t = from_bytes(wl.as_bytes()).unwrap();
        assert_eq!(
            t.encode("fan loud quiet", false).unwrap().get_ids(),
            [1, 2, 0]
        );
        assert!(from_bytes(b"{\"version\": \"1.0\"").is_err());
    }
}
