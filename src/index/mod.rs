//! The search index: a tantivy index derived from the notes, kept beside them in `.kb/` (or in
//! the user's cache folder when the vault cannot be written), never in version control.
//!
//! It is created on first use and brought up to date incrementally: the stamps (mtime, size)
//! and content hashes of the notes it was built from are kept in a state file, and only notes
//! added, changed or removed since then are read again. It is rebuilt when it is missing,
//! unreadable, or of another schema version.

mod schema;
mod state;

pub use schema::{error_lines, text_analyzer, Fields, SCHEMA_VERSION};
use state::{FileState, State};

use crate::error::{KbError, Result};
use crate::note::Note;
use crate::vault::{self, Stamp, Vault};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

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

impl UpdateReport {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
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
    state_path: PathBuf,
    vault: Vault,
}

/// How long to wait for another kb process that holds the index writer.
const WRITER_WAIT: Duration = Duration::from_secs(60);
const STATE_FILE: &str = "state.bin";
const INDEX_DIR: &str = "index";

impl NoteIndex {
    /// Open the vault's index, creating or rebuilding it if needed, then bring it up to date.
    pub fn open(vault: &Vault) -> Result<(NoteIndex, UpdateReport)> {
        let mut idx = match Self::open_existing(vault) {
            Some(idx) => idx,
            None => return Self::rebuild(vault),
        };
        let report = idx.refresh()?;
        Ok((idx, report))
    }

    /// Open without checking the notes (for commands that update specific files themselves).
    pub fn open_stale(vault: &Vault) -> Result<NoteIndex> {
        match Self::open_existing(vault) {
            Some(idx) => Ok(idx),
            None => Ok(Self::rebuild(vault)?.0),
        }
    }

    fn open_existing(vault: &Vault) -> Option<NoteIndex> {
        let loc = location(vault);
        let state = State::load(&loc.join(STATE_FILE))?;
        if state.version != SCHEMA_VERSION {
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
            state_path: loc.join(STATE_FILE),
            vault: vault.clone(),
        })
    }

    /// Build the index from scratch from every note of the vault.
    pub fn rebuild(vault: &Vault) -> Result<(NoteIndex, UpdateReport)> {
        let loc = location(vault);
        let dir = loc.join(INDEX_DIR);
        let (schema, fields) = schema::build_schema();
        let index = match Index::open_in_dir(&dir) {
            Ok(i) if i.schema() == schema => i,
            _ => {
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).map_err(|e| vault::io_err(&dir, e))?;
                Index::create_in_dir(&dir, schema)?
            }
        };
        let mut idx = Self::assemble(vault, index, fields, &loc)?;
        let mut writer = idx.writer(true)?;
        writer.delete_all_documents()?;
        let scan = vault.scan();
        let mut st = State {
            version: SCHEMA_VERSION,
            ..State::default()
        };
        let rels: Vec<String> = scan.files.iter().map(|f| f.rel.clone()).collect();
        let mut report = idx.index_files(&writer, &rels, &mut st, false)?;
        report.rebuilt = true;
        report.warnings.extend(scan.problems);
        st.dirs = scan.dirs.into_iter().map(|d| (d.rel, d.mtime)).collect();
        idx.commit(&mut writer, &mut st)?;
        report.added = rels;
        Ok((idx, report))
    }

    /// Compare every note's stamp with the state and index what changed.
    pub fn refresh(&mut self) -> Result<UpdateReport> {
        let scan = self.vault.scan();
        let Some(st) = State::load(&self.state_path) else {
            let (fresh, report) = Self::rebuild(&self.vault)?;
            *self = fresh;
            return Ok(report);
        };
        let (changes, racy_clean) = diff(&self.vault, &st, &scan);
        let dirs_changed = scan.dirs.len() != st.dirs.len()
            || scan
                .dirs
                .iter()
                .any(|d| st.dirs.get(&d.rel) != Some(&d.mtime));
        if changes.is_empty() && !dirs_changed && !racy_clean {
            return Ok(UpdateReport {
                warnings: scan.problems,
                ..UpdateReport::default()
            });
        }
        let mut writer = self.writer(false)?;
        // Another process may have indexed meanwhile: diff again under the writer lock.
        let mut st = State::load(&self.state_path).unwrap_or(st);
        let (changes, _) = diff(&self.vault, &st, &scan);
        let mut report = self.apply(&writer, &mut st, &changes)?;
        st.dirs = scan.dirs.into_iter().map(|d| (d.rel, d.mtime)).collect();
        self.commit(&mut writer, &mut st)?;
        report.warnings.extend(scan.problems);
        Ok(report)
    }

    /// Re-index exactly these notes (added, changed or deleted by a kb command).
    pub fn update_files(&mut self, rels: &[String]) -> Result<UpdateReport> {
        let mut writer = self.writer(false)?;
        let mut st = match State::load(&self.state_path) {
            Some(s) => s,
            None => {
                drop(writer);
                let (fresh, report) = Self::rebuild(&self.vault)?;
                *self = fresh;
                return Ok(report);
            }
        };
        let changes: Vec<Change> = rels
            .iter()
            .map(|r| match self.vault.stamp(r) {
                Some(_) if st.files.contains_key(r) => Change::Changed(r.clone()),
                Some(_) => Change::Added(r.clone()),
                None => Change::Removed(r.clone()),
            })
            .collect();
        let report = self.apply(&writer, &mut st, &changes)?;
        // Folders whose entries changed get their new mtime, so a later refresh is quiet.
        for r in rels {
            let folder = r.rsplit_once('/').map_or("", |(d, _)| d);
            if let Some(m) = self.vault.dir_mtime(folder) {
                st.dirs.insert(folder.to_string(), m);
            }
        }
        self.commit(&mut writer, &mut st)?;
        Ok(report)
    }

    fn apply(
        &self,
        writer: &IndexWriter,
        st: &mut State,
        changes: &[Change],
    ) -> Result<UpdateReport> {
        let mut report = UpdateReport::default();
        let mut to_read = Vec::new();
        for c in changes {
            match c {
                Change::Removed(r) => {
                    writer.delete_term(self.path_term(r));
                    st.files.remove(r);
                    report.removed.push(r.clone());
                }
                Change::Added(r) => {
                    report.added.push(r.clone());
                    to_read.push(r.clone());
                }
                Change::Changed(r) => {
                    report.changed.push(r.clone());
                    to_read.push(r.clone());
                }
            }
        }
        let read = self.index_files(writer, &to_read, st, true)?;
        report.warnings = read.warnings;
        // A file that vanished between the walk and the read is a removal.
        for r in read.removed {
            report.added.retain(|x| x != &r);
            report.changed.retain(|x| x != &r);
            report.removed.push(r);
        }
        Ok(report)
    }

    /// Read, parse and add these notes (in parallel for large batches).
    fn index_files(
        &self,
        writer: &IndexWriter,
        rels: &[String],
        st: &mut State,
        delete_first: bool,
    ) -> Result<UpdateReport> {
        let threads = if rels.len() > 256 {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(8)
        } else {
            1
        };
        let chunk = rels.len().div_ceil(threads.max(1)).max(1);
        let results: Vec<Result<Vec<(String, Indexed)>>> = std::thread::scope(|s| {
            let handles: Vec<_> = rels
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || -> Result<_> {
                        let mut out = Vec::with_capacity(part.len());
                        for rel in part {
                            if delete_first {
                                writer.delete_term(self.path_term(rel));
                            }
                            out.push((rel.clone(), self.index_one(writer, rel)?));
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(KbError::InvalidInput("indexing thread panicked".into()))
                    })
                })
                .collect()
        });
        let mut report = UpdateReport::default();
        for part in results {
            for (rel, outcome) in part? {
                match outcome {
                    Some((fs, warnings)) => {
                        st.files.insert(rel, fs);
                        report.warnings.extend(warnings);
                    }
                    None => {
                        st.files.remove(&rel);
                        report.removed.push(rel);
                    }
                }
            }
        }
        Ok(report)
    }

    /// Index one note; None if it could not be read (gone).
    fn index_one(&self, writer: &IndexWriter, rel: &str) -> Result<Indexed> {
        let Some(stamp) = self.vault.stamp(rel) else {
            return Ok(None);
        };
        let (bytes, cut) = match self.vault.read(rel) {
            Ok(r) => r,
            Err(e) => {
                return Ok(Some((
                    FileState { stamp, hash: 0 },
                    vec![format!("{rel}: cannot be read ({e}); not indexed")],
                )))
            }
        };
        let note = Note::parse_bytes(&bytes, vault::stem_of(rel));
        let mut warnings: Vec<String> = note
            .warnings
            .iter()
            .map(|w| match w.line {
                Some(l) => format!("{rel}:{l}: {}", w.message),
                None => format!("{rel}: {}", w.message),
            })
            .collect();
        if cut {
            warnings.push(format!(
                "{rel}: larger than {} MiB; only the beginning is indexed",
                vault::MAX_NOTE_BYTES / (1024 * 1024)
            ));
        }
        writer.add_document(schema::to_document(&self.fields, rel, &note, stamp))?;
        Ok(Some((
            FileState {
                stamp,
                hash: state::hash(&bytes),
            },
            warnings,
        )))
    }

    fn commit(&mut self, writer: &mut IndexWriter, st: &mut State) -> Result<()> {
        writer.commit()?;
        st.version = SCHEMA_VERSION;
        st.save(&self.state_path)
            .map_err(|e| vault::io_err(&self.state_path, e))?;
        self.reader.reload()?;
        Ok(())
    }

    /// The index writer, waiting while another kb process holds it.
    fn writer(&self, bulk: bool) -> Result<IndexWriter> {
        let start = Instant::now();
        let (threads, heap) = if bulk {
            let n = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(4);
            (n, 64_000_000 * n)
        } else {
            (1, 20_000_000)
        };
        loop {
            match self.index.writer_with_num_threads(threads, heap) {
                Ok(w) => return Ok(w),
                Err(tantivy::TantivyError::LockFailure(..)) if start.elapsed() < WRITER_WAIT => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(tantivy::TantivyError::LockFailure(..)) => return Err(KbError::IndexBusy),
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn path_term(&self, rel: &str) -> Term {
        Term::from_field_text(self.fields.path, rel)
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    pub fn num_notes(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// The stored fields of a document.
    pub fn stored(&self, searcher: &Searcher, addr: DocAddress) -> Result<StoredNote> {
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
        })
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

/// What indexing one file gave: its state and warnings, or None if it is gone.
type Indexed = Option<(FileState, Vec<String>)>;

#[derive(Debug, Clone)]
enum Change {
    Added(String),
    Changed(String),
    Removed(String),
}

/// What changed between the state and a scan. The second value is true when racy files were
/// checked by content and found unchanged (the state should be re-saved so they stop being racy).
fn diff(vault: &Vault, st: &State, scan: &vault::Scan) -> (Vec<Change>, bool) {
    let mut changes = Vec::new();
    let mut racy_clean = false;
    let mut seen = HashSet::with_capacity(scan.files.len());
    for f in &scan.files {
        seen.insert(f.rel.as_str());
        match st.files.get(&f.rel) {
            None => changes.push(Change::Added(f.rel.clone())),
            Some(old) if old.stamp != f.stamp => changes.push(Change::Changed(f.rel.clone())),
            Some(old) if st.is_racy(&f.stamp) => {
                let same = vault
                    .read(&f.rel)
                    .map(|(b, _)| state::hash(&b) == old.hash)
                    .unwrap_or(false);
                if same {
                    racy_clean = true;
                } else {
                    changes.push(Change::Changed(f.rel.clone()));
                }
            }
            Some(_) => {}
        }
    }
    for rel in st.files.keys() {
        if !seen.contains(rel.as_str()) {
            changes.push(Change::Removed(rel.clone()));
        }
    }
    (changes, racy_clean)
}

/// Where the index of a vault lives: `.kb/` inside it, or the cache folder if the vault is
/// read-only.
fn location(vault: &Vault) -> PathBuf {
    let inside = vault.root().join(vault::STATE_DIR);
    if (inside.is_dir() || std::fs::create_dir_all(&inside).is_ok()) && is_writable(&inside) {
        return inside;
    }
    let base = dirs::cache_dir().unwrap_or_else(std::env::temp_dir);
    let key = state::hash(vault.root().to_string_lossy().as_bytes());
    let dir = base.join("kb").join(format!("{key:016x}"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn is_writable(dir: &Path) -> bool {
    match std::fs::metadata(dir) {
        Ok(m) if m.permissions().readonly() => false,
        Ok(_) => {
            // Permission bits do not tell about read-only mounts: try.
            tempfile::tempfile_in(dir).is_ok()
        }
        Err(_) => false,
    }
}
