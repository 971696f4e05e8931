//! The search index: a tantivy index derived from the notes, kept beside them in `.kb/` (or in
//! the user's cache folder when the vault cannot be written), never in version control.
//!
//! It is created on first use and brought up to date incrementally: the stamps (mtime, size)
//! and content hashes of the notes it was built from are kept in a state file, and only notes
//! added, changed or removed since then are read again. It is rebuilt when it is missing,
//! unreadable, or of another schema version.

mod candidates;
mod schema;
mod state;
mod update;

pub use candidates::{NoteRef, SearchSet};
pub use schema::{error_lines, SCHEMA_VERSION};
use schema::{text_analyzer, Fields};
use state::DirState;

use crate::error::{KbError, Result};
use crate::vault::{self, Stamp, Vault};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};

/// Snippets of a note's text around the query's words (stemmed as the index stems them), for
/// results; tantivy's snippet maker, kept inside the index module.
pub struct Snippets(tantivy::snippet::SnippetGenerator);

impl Snippets {
    /// For these query words (already analysed), fragments of at most `max_chars`.
    pub fn new(words: &[String], max_chars: usize) -> Snippets {
        let terms: std::collections::BTreeMap<String, f32> =
            words.iter().map(|t| (t.clone(), 1.0)).collect();
        let (_, fields) = schema::build_schema();
        Snippets(tantivy::snippet::SnippetGenerator::new(
            terms,
            text_analyzer(),
            fields.body,
            max_chars,
        ))
    }

    /// The best fragment of `text` and the byte ranges of the words found in it; None when
    /// none of the words is in the text.
    pub fn of(&self, text: &str) -> Option<(String, Vec<std::ops::Range<usize>>)> {
        let s = self.0.snippet(text);
        (!s.is_empty()).then(|| (s.fragment().to_string(), s.highlighted().to_vec()))
    }
}

/// The hash kb keeps of a note's bytes (in the index's state and its documents).
pub fn content_hash(bytes: &[u8]) -> u64 {
    state::hash(bytes)
}

/// What an update of the index did.
#[derive(Debug, Default, Clone)]
pub struct UpdateReport {
    pub rebuilt: bool,
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// `path:line: message` for notes read with problems, and folders that could not be read.
    pub warnings: Vec<String>,
}

/// A note as stored in the index (what lists and results show without reading the file).
#[derive(Debug, Clone)]
pub struct StoredNote {
    pub rel: String,
    pub title: String,
    pub tags: Vec<String>,
    /// Normalised error keys.
    pub errkeys: Vec<String>,
    pub created: Option<String>,
    pub updated: Option<String>,
    pub stamp: Stamp,
    /// xxh3 of the bytes indexed (see [`crate::embed`]).
    pub hash: u64,
    /// Known-error state and outcomes.
    pub record: crate::outcomes::Record,
}

impl StoredNote {
    pub fn id(&self) -> &str {
        vault::id_of(&self.rel)
    }
}

pub struct NoteIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    files_path: PathBuf,
    dirs_path: PathBuf,
    /// kb's folder of the vault, where the index and its caches are (decided once, when the
    /// index is opened: finding it checks and probes the folder).
    state_dir: PathBuf,
    /// How long the last full check took ([`FULL_CHECK_DUTY`]).
    check_time_path: PathBuf,
    vault: Vault,
}

/// How thoroughly to look for notes changed outside kb before using the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Compare every note's stamp (a `stat` of every file).
    Full,
    /// Up to `full_limit` notes, as `Full`. Above, compare only folder mtimes: notes created,
    /// deleted or renamed anywhere are seen; a note edited in place is seen when a search
    /// returns it (see [`NoteIndex::stale`]) or at the next full check.
    Quick { full_limit: u64 },
    /// No check: the caller updates the notes it knows changed (`kb sync` from git's diff).
    Trust,
}

/// Vaults up to this many notes get a full check before every command.
pub const DEFAULT_FULL_CHECK_LIMIT: u64 = 2_000;

/// Larger vaults get a background full check at most this often...
pub const DEFAULT_FULL_CHECK_INTERVAL: Duration = Duration::from_secs(10);
/// ...and, unless the person set the interval, no sooner than this many times as long as the
/// last full check took after it: background checks then take at most 1/50 of the machine's
/// time however large the vault (at 1,000,000 notes a check takes seconds of both cores, and
/// one every 10 s slowed every search around it).
pub const FULL_CHECK_DUTY: u32 = 50;

/// Whether a background full check is due `since_last` after the last one started, that one
/// having taken `last_took()` (None if unknown; asked only when it matters); `interval`: the
/// person's setting, else the default with the duty cycle above.
pub fn full_check_due(
    since_last: Duration,
    last_took: impl FnOnce() -> Option<Duration>,
    interval: Option<Duration>,
) -> bool {
    match interval {
        Some(i) => since_last >= i,
        None => {
            since_last >= DEFAULT_FULL_CHECK_INTERVAL
                && since_last >= last_took().unwrap_or_default() * FULL_CHECK_DUTY
        }
    }
}

/// Bytes of stored notes compressed together: a search reads the stored fields of about 60
/// candidates, each from its own block, so a small block is less to decompress per note
/// (tantivy's default is 16 KB).
const DOCSTORE_BLOCK: usize = 4_096;

const FILES_STATE: &str = "files.bin";
const DIRS_STATE: &str = "dirs.bin";
const INDEX_DIR: &str = "index";
const CHECK_TIME: &str = "full-check-ms";

impl NoteIndex {
    /// Open the vault's index, creating or rebuilding it if needed, then bring it up to date.
    pub fn open(vault: &Vault, check: Check) -> Result<(NoteIndex, UpdateReport)> {
        let mut idx = match Self::open_existing(vault) {
            Some(idx) => idx,
            None => return Self::rebuild(vault),
        };
        let report = idx.check(check)?;
        Ok((idx, report))
    }

    fn open_existing(vault: &Vault) -> Option<NoteIndex> {
        let loc = location(vault);
        let ds = DirState::load(&loc.join(DIRS_STATE))?;
        if ds.version != SCHEMA_VERSION {
            return None;
        }
        let index = Index::open_in_dir(loc.join(INDEX_DIR)).ok()?;
        let (schema, fields) = schema::build_schema();
        if index.schema() != schema {
            return None;
        }
        Self::assemble(vault, index, fields, &loc).ok()
    }

    fn assemble(vault: &Vault, index: Index, fields: Fields, loc: &Path) -> Result<NoteIndex> {
        schema::register_tokenizers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(NoteIndex {
            index,
            reader,
            fields,
            files_path: loc.join(FILES_STATE),
            state_dir: loc.to_path_buf(),
            dirs_path: loc.join(DIRS_STATE),
            check_time_path: loc.join(CHECK_TIME),
            vault: vault.clone(),
        })
    }

    pub(crate) fn path_term(&self, rel: &str) -> Term {
        Term::from_field_text(self.fields.path, rel)
    }

    fn fields(&self) -> &Fields {
        &self.fields
    }

    /// kb's folder of the vault (the index's, and its caches' such as [`crate::history`]).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    pub fn num_notes(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// The stored fields of a document.
    fn stored(&self, searcher: &Searcher, addr: DocAddress) -> Result<StoredNote> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let f = &self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let all = |field| {
            doc.get_all(field)
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect::<Vec<_>>()
        };
        let num = |field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
        Ok(StoredNote {
            rel: text(f.path).unwrap_or_default(),
            title: text(f.title).unwrap_or_default(),
            tags: all(f.tag),
            errkeys: all(f.errkey),
            created: text(f.created),
            updated: text(f.updated),
            stamp: Stamp {
                mtime: num(f.mtime),
                size: num(f.size),
            },
            hash: num(f.hash),
            record: crate::outcomes::Record::new(
                text(f.status).as_deref(),
                text(f.verified).as_deref(),
                &all(f.applies_to),
                &all(f.outcomes),
            ),
        })
    }

    /// Whether some note records an error line with this normalised form (its hash, as
    /// [`crate::matcher::LineIdentity::form`]).
    pub fn records_error_form(&self, form: u64) -> bool {
        self.searcher()
            .doc_freq(&Term::from_field_u64(self.fields.errform, form))
            .is_ok_and(|n| n > 0)
    }

    /// Every indexed note's path and the hash of the bytes indexed, in path order (from the
    /// state file, without reading the index).
    pub fn content_hashes(&self) -> Vec<(String, u64)> {
        state::State::load(&self.files_path)
            .map(|st| {
                st.files
                    .iter()
                    .filter(|(_, f)| f.hash != 0)
                    .map(|(r, f)| (r.to_string(), f.hash))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every note in the index.
    pub fn all(&self) -> Result<Vec<StoredNote>> {
        let searcher = self.searcher();
        let mut out = Vec::with_capacity(searcher.num_docs() as usize);
        for (seg_ord, seg) in searcher.segment_readers().iter().enumerate() {
            for doc in seg.doc_ids_alive() {
                out.push(self.stored(&searcher, DocAddress::new(seg_ord as u32, doc))?);
            }
        }
        Ok(out)
    }

    /// The notes that link to the note at `rel` (by its id or its file stem).
    pub fn backlinks(&self, rel: &str) -> Result<Vec<StoredNote>> {
        let id = vault::id_of(rel).to_lowercase();
        let stem = vault::stem_of(rel).to_lowercase();
        let searcher = self.searcher();
        let mut terms: Vec<(tantivy::query::Occur, Box<dyn tantivy::query::Query>)> = Vec::new();
        for t in [id, stem] {
            terms.push((
                tantivy::query::Occur::Should,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.link, &t),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        let q = tantivy::query::BooleanQuery::new(terms);
        let hits = searcher.search(&q, &TopDocs::with_limit(200).order_by_score())?;
        let mut out = Vec::new();
        for (_, addr) in hits {
            let n = self.stored(&searcher, addr)?;
            if n.rel != rel {
                out.push(n);
            }
        }
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(out)
    }

    /// Turn what a person typed into a note's relative path: a full id (`folder/name`, with or
    /// without `.md`), else a file stem that names exactly one note.
    pub fn resolve(&self, input: &str) -> Result<String> {
        let input = input.trim();
        if let Ok(rel) = self.vault.check_rel(input) {
            if self.vault.stamp(&rel).is_some() {
                return Ok(rel);
            }
        }
        let stem = vault::stem_of(&input.replace('\\', "/")).to_lowercase();
        let searcher = self.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.fields.stem, &stem),
            IndexRecordOption::Basic,
        );
        let hits = searcher.search(&q, &TopDocs::with_limit(20).order_by_score())?;
        let mut rels = Vec::new();
        for (_, addr) in hits {
            let n = self.stored(&searcher, addr)?;
            if self.vault.stamp(&n.rel).is_some() {
                rels.push(n.rel);
            }
        }
        rels.sort();
        match rels.len() {
            0 => Err(KbError::NoteNotFound(input.to_string())),
            1 => Ok(rels.remove(0)),
            _ => Err(KbError::AmbiguousId {
                query: input.to_string(),
                candidates: rels.iter().map(|r| vault::id_of(r).to_string()).collect(),
            }),
        }
    }
}

/// Where the index of a vault lives: kb's folder for it ([`Vault::state_dir`]: `.kb/` inside
/// it, or the cache folder if the vault is read-only, not a vault, or its `.kb` is not a real
/// folder).
fn location(vault: &Vault) -> PathBuf {
    vault.state_dir()
}

#[cfg(test)]
mod check_policy_tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn background_checks_take_at_most_one_fiftieth_of_the_time() {
        // Unknown or quick last check: every 10 s.
        assert!(!full_check_due(S(9), || None, None));
        assert!(full_check_due(S(10), || None, None));
        assert!(full_check_due(
            S(10),
            || Some(Duration::from_millis(150)),
            None
        ));
        // A check that took 3 s (a million notes): the next one 150 s later, not 10.
        assert!(!full_check_due(S(10), || Some(S(3)), None));
        assert!(!full_check_due(S(149), || Some(S(3)), None));
        assert!(full_check_due(S(150), || Some(S(3)), None));
        // The person's interval is taken as it is.
        assert!(full_check_due(S(0), || Some(S(3)), Some(S(0))));
        assert!(!full_check_due(S(59), || Some(S(3)), Some(S(60))));
        assert!(full_check_due(S(60), || None, Some(S(60))));
    }
}
