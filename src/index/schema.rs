//! The tantivy schema of the note index, its tokenizers, and how a note becomes a document.

pub use crate::analysis::{exact_analyzer, text_analyzer};
use crate::normalize;
use crate::note::Note;
use crate::vault::{self, Stamp};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STORED,
    STRING,
};
use tantivy::tokenizer::{RemoveLongFilter, TextAnalyzer, WhitespaceTokenizer};
use tantivy::{Index, TantivyDocument};

/// Bump when the schema, a tokenizer, what goes into a field or how it is stored (the doc store
/// block) changes: the index is rebuilt.
/// The normaliser's version is part of it.
pub const SCHEMA_VERSION: u32 = 11_000 + normalize::VERSION;

/// Words: split on non-alphanumerics, lower-cased, English stems.
pub const TOKENIZER_TEXT: &str = "kb_text";
/// Words as written: split on non-alphanumerics, lower-cased.
pub const TOKENIZER_EXACT: &str = "kb_exact";
/// Normalised error keys are already tokens separated by spaces.
pub const TOKENIZER_KEY: &str = "kb_key";

/// The fields of a note document.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Relative path with `.md`: the document's identity (exact term), stored.
    pub path: Field,
    /// Lower-cased file stem, for `kb show STEM`.
    pub stem: Field,
    /// Title (stored, first value) and aliases.
    pub title: Field,
    /// Tags as words, for text search.
    pub tags: Field,
    /// Tags as exact lower-cased terms, for `--tag` filters; stored.
    pub tag: Field,
    /// Raw error text (front matter `errors:` and code blocks), as words.
    pub errors: Field,
    /// Normalised error keys (one value per error), stored for re-ranking.
    pub errkey: Field,
    /// Hashes of each recorded error line verbatim, and of its normalised form
    /// ([`crate::matcher::line_identity`]): eight bytes a term.
    pub verbatim: Field,
    pub errform: Field,
    /// Identifying codes found in the errors (`0x80070005`, `eacces`, `1603`).
    pub codes: Field,
    /// The body as words.
    pub body: Field,
    /// Title, aliases and body as written (lower-cased, not stemmed), with positions: a word
    /// found in the very form typed, and words found side by side, count more.
    pub exact: Field,
    /// Link targets, lower-cased, as written and by their last path component (backlinks).
    pub link: Field,
    pub created: Field,
    pub updated: Field,
    /// Known-error fields, stored for the results: `status`, `verified`, `applies_to` and the
    /// `outcomes` lines ([`crate::outcomes`]).
    pub status: Field,
    pub verified: Field,
    pub applies_to: Field,
    pub outcomes: Field,
    pub mtime: Field,
    pub size: Field,
    /// xxh3 of the note's bytes, stored: whether the note's embeddings are of this version.
    pub hash: Field,
}

pub fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tok: &str, rec: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tok)
                .set_index_option(rec),
        )
    };
    let freqs = IndexRecordOption::WithFreqs;
    // The words as written keep their positions: words of a question found side by side count
    // more.
    let positions = IndexRecordOption::WithFreqsAndPositions;
    let fields = Fields {
        path: b.add_text_field("path", STRING | STORED),
        stem: b.add_text_field("stem", STRING),
        title: b.add_text_field("title", text(TOKENIZER_TEXT, freqs) | STORED),
        tags: b.add_text_field("tags", text(TOKENIZER_TEXT, freqs)),
        tag: b.add_text_field("tag", STRING | STORED),
        errors: b.add_text_field("errors", text(TOKENIZER_TEXT, freqs)),
        errkey: b.add_text_field("errkey", text(TOKENIZER_KEY, freqs) | STORED),
        codes: b.add_text_field("codes", STRING),
        verbatim: b.add_u64_field("verbatim", NumericOptions::default().set_indexed()),
        errform: b.add_u64_field("errform", NumericOptions::default().set_indexed()),
        body: b.add_text_field("body", text(TOKENIZER_TEXT, freqs)),
        exact: b.add_text_field("exact", text(TOKENIZER_EXACT, positions)),
        link: b.add_text_field("link", STRING),
        created: b.add_text_field("created", STORED),
        updated: b.add_text_field("updated", STORED),
        status: b.add_text_field("status", STORED),
        verified: b.add_text_field("verified", STORED),
        applies_to: b.add_text_field("applies_to", STORED),
        outcomes: b.add_text_field("outcomes", STORED),
        mtime: b.add_u64_field("mtime", NumericOptions::default().set_stored()),
        size: b.add_u64_field("size", NumericOptions::default().set_stored()),
        hash: b.add_u64_field("hash", NumericOptions::default().set_stored()),
    };
    (b.build(), fields)
}

pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(TOKENIZER_TEXT, text_analyzer());
    index
        .tokenizers()
        .register(TOKENIZER_EXACT, exact_analyzer());
    index.tokenizers().register(
        TOKENIZER_KEY,
        TextAnalyzer::builder(WhitespaceTokenizer::default())
            .filter(RemoveLongFilter::limit(64))
            .build(),
    );
}

/// Error texts longer than this are cut before normalising (a pasted log in a code block).
const MAX_ERROR_CHARS: usize = 2_000;
/// At most this many error texts per note go into the error fields.
const MAX_ERRORS: usize = 50;
/// At most this many error lines quoted in a note's body are recorded.
const MAX_QUOTED_ERRORS: usize = 200;

/// The document for a note read from `rel` (`hash`: of its bytes).
pub fn to_document(f: &Fields, rel: &str, note: &Note, stamp: Stamp, hash: u64) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.path, rel);
    doc.add_text(f.stem, vault::stem_of(rel).to_lowercase());
    doc.add_text(f.title, &note.title);
    doc.add_text(f.exact, &note.title);
    for a in &note.aliases {
        doc.add_text(f.title, a);
        doc.add_text(f.exact, a);
    }
    for t in &note.tags {
        doc.add_text(f.tags, t);
        doc.add_text(f.tag, t.to_lowercase());
    }
    let mut keys: Vec<String> = Vec::new();
    let mut add_error = |doc: &mut TantivyDocument, line: &str| {
        let tokens = normalize::normalize(line);
        for t in &tokens {
            if let normalize::Token::Code(c) = t {
                doc.add_text(f.codes, c);
            }
        }
        let k = normalize::join(&tokens);
        if !k.is_empty() {
            let id = crate::matcher::line_identity(line, &k);
            doc.add_u64(f.verbatim, id.verbatim);
            doc.add_u64(f.errform, id.form);
        }
        if !k.is_empty() && !keys.contains(&k) {
            keys.push(k);
        }
    };
    // The `errors:` list is the note's own word on what it fixes: every line of it.
    for e in note.errors.iter().take(MAX_ERRORS) {
        let e = cut(e, MAX_ERROR_CHARS);
        doc.add_text(f.errors, e);
        for line in error_lines(e) {
            add_error(&mut doc, line);
        }
    }
    // In the body (code blocks, inline code, quotes) only the lines that read as errors, at
    // any depth of a block: commands, code and plain output are text, already in the body.
    for line in note.quoted_error_lines().take(MAX_QUOTED_ERRORS) {
        doc.add_text(f.errors, line);
        add_error(&mut doc, line);
    }
    for k in &keys {
        doc.add_text(f.errkey, k);
    }
    doc.add_text(f.body, &note.body_text);
    doc.add_text(f.exact, &note.body_text);
    for l in &note.links {
        let target = l.target.to_lowercase();
        let stem = target.rsplit('/').next().unwrap_or(&target).to_string();
        doc.add_text(f.link, &target);
        if stem != target {
            doc.add_text(f.link, &stem);
        }
    }
    if let Some(c) = &note.created {
        doc.add_text(f.created, c);
    }
    if let Some(u) = &note.updated {
        doc.add_text(f.updated, u);
    }
    let fm = &note.front_matter;
    if let Some(s) = &fm.status {
        doc.add_text(f.status, s);
    }
    if let Some(v) = &fm.verified {
        doc.add_text(f.verified, v);
    }
    // What the fix applies to is searched like a tag (`outlook windows 11`).
    for a in &fm.applies_to {
        doc.add_text(f.applies_to, a);
        doc.add_text(f.tags, a);
    }
    for o in &fm.outcomes {
        doc.add_text(f.outcomes, o);
    }
    doc.add_u64(f.mtime, stamp.mtime);
    doc.add_u64(f.size, stamp.size);
    doc.add_u64(f.hash, hash);
    doc
}

/// The lines of an error text that are worth a key of their own: a one-line error is one key;
/// a multi-line one (a stack trace, a log excerpt) gives one key per distinct line, log
/// prefixes stripped.
pub fn error_lines(e: &str) -> Vec<&str> {
    let lines: Vec<&str> = e
        .lines()
        .map(normalize::strip_log_prefix)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.len() <= 1 {
        return lines;
    }
    lines.into_iter().take(20).collect()
}

fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
