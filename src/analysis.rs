//! How kb cuts text into words, the same for the notes (the index's tokenizers) and for a
//! query (so that it looks for the notes' own terms): stems for the text fields, words as
//! written for the `exact` field. Below both the index and the query, so that neither
//! imports the other for it.

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer, TokenStream,
};

/// kb's word cutting, as the index cuts the notes: stems for the text fields, words as
/// written for the `exact` field. For the query, so it finds the notes' own terms.
pub struct Analyzer {
    stems: TextAnalyzer,
    written: TextAnalyzer,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new()
    }
}

impl Analyzer {
    pub fn new() -> Analyzer {
        Analyzer {
            stems: text_analyzer(),
            written: exact_analyzer(),
        }
    }

    /// Each stem of `text` in order, until `each` returns false.
    pub fn stems(&mut self, text: &str, each: impl FnMut(&str) -> bool) {
        each_token(&mut self.stems, text, each)
    }

    /// Each word of `text` as written (lower-cased) in order, until `each` returns false.
    pub fn as_written(&mut self, text: &str, each: impl FnMut(&str) -> bool) {
        each_token(&mut self.written, text, each)
    }
}

fn each_token(analyzer: &mut TextAnalyzer, text: &str, mut each: impl FnMut(&str) -> bool) {
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        if !each(&stream.token().text) {
            break;
        }
    }
}

/// Words, lower-cased, English stems, for the text fields.
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Words as written, for the `exact` field.
pub fn exact_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .build()
}
