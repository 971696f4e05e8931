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
use state::{DirState, FileState, State};

use crate::error::{KbError, Result};
use crate::note::Note;
use crate::vault::{self, Stamp, Vault};
use std::collections::{HashMap, HashSet};
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
    files_path: PathBuf,
    dirs_path: PathBuf,
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
}

/// Vaults up to this many notes get a full check before every command.
pub const DEFAULT_FULL_CHECK_LIMIT: u64 = 2_000;

/// How long to wait for another kb process that holds the index writer.
const WRITER_WAIT: Duration = Duration::from_secs(60);
const FILES_STATE: &str = "files.bin";
const DIRS_STATE: &str = "dirs.bin";
const INDEX_DIR: &str = "index";

impl NoteIndex {
    /// Open the vault's index, creating or rebuilding it if needed, then bring it up to date.
    pub fn open(vault: &Vault, check: Check) -> Result<(NoteIndex, UpdateReport)> {
        let mut idx = match Self::open_existing(vault) {
            Some(idx) => idx,
            None => return Self::rebuild(vault),
        };
        let report = match check {
            Check::Full => idx.refresh()?,
            Check::Quick { full_limit } => idx.quick_refresh(full_limit)?,
        };
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
            dirs_path: loc.join(DIRS_STATE),
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
        let mut st = State::default();
        let rels: Vec<String> = scan.files.iter().map(|f| f.rel.clone()).collect();
        let mut report = idx.index_files(&writer, &rels, &mut st, false)?;
        report.rebuilt = true;
        report.warnings.extend(scan.problems);
        let ds = DirState {
            dirs: scan.dirs.into_iter().map(|d| (d.rel, d.mtime)).collect(),
            last_full: state::now_ns(),
            ..DirState::default()
        };
        idx.commit(&mut writer, &mut st, ds)?;
        report.added = rels;
        Ok((idx, report))
    }

    /// Compare every note's stamp with the state and index what changed.
    pub fn refresh(&mut self) -> Result<UpdateReport> {
        let started = state::now_ns();
        let scan = self.vault.scan();
        let (Some(st), Some(ds)) = (
            State::load(&self.files_path),
            DirState::load(&self.dirs_path),
        ) else {
            return self.rebuild_in_place();
        };
        let (changes, racy_clean) = diff(&self.vault, &st, &scan);
        let new_dirs: HashMap<String, u64> =
            scan.dirs.iter().map(|d| (d.rel.clone(), d.mtime)).collect();
        if changes.is_empty() && new_dirs == ds.dirs && !racy_clean {
            // Nothing changed: only remember that the full check ran.
            let ds = DirState {
                last_full: started,
                ..ds
            };
            let _ = ds.save(&self.dirs_path);
            return Ok(UpdateReport {
                warnings: scan.problems,
                ..UpdateReport::default()
            });
        }
        let mut writer = self.writer(false)?;
        // Another process may have indexed meanwhile: diff again under the writer lock.
        let mut st = State::load(&self.files_path).unwrap_or(st);
        let (changes, _) = diff(&self.vault, &st, &scan);
        let mut report = self.apply(&writer, &mut st, &changes)?;
        let ds = DirState {
            dirs: new_dirs,
            last_full: started,
            ..ds
        };
        self.commit(&mut writer, &mut st, ds)?;
        report.warnings.extend(scan.problems);
        Ok(report)
    }

    fn rebuild_in_place(&mut self) -> Result<UpdateReport> {
        let (fresh, report) = Self::rebuild(&self.vault)?;
        *self = fresh;
        Ok(report)
    }

    /// Compare folder mtimes only (or everything, for small vaults): see [`Check::Quick`].
    fn quick_refresh(&mut self, full_limit: u64) -> Result<UpdateReport> {
        let Some(ds) = DirState::load(&self.dirs_path) else {
            return self.rebuild_in_place();
        };
        if ds.notes <= full_limit {
            return self.refresh();
        }
        let changed: Vec<String> = ds
            .dirs
            .iter()
            .filter(|(rel, m)| self.vault.dir_mtime(rel) != Some(**m))
            .map(|(r, _)| r.clone())
            .collect();
        if changed.is_empty() {
            return Ok(UpdateReport::default());
        }
        let mut writer = self.writer(false)?;
        let Some(mut st) = State::load(&self.files_path) else {
            drop(writer);
            return self.rebuild_in_place();
        };
        let ds = DirState::load(&self.dirs_path).unwrap_or(ds);
        let mut dirs = ds.dirs.clone();
        let mut changes = Vec::new();
        let mut problems = Vec::new();
        for dir in changed {
            folder_changes(&self.vault, &dir, &st, &mut dirs, &mut changes, &mut problems);
        }
        let mut report = self.apply(&writer, &mut st, &changes)?;
        report.warnings.extend(problems);
        let ds = DirState { dirs, ..ds };
        self.commit(&mut writer, &mut st, ds)?;
        Ok(report)
    }

    /// Re-index exactly these notes (added, changed or deleted by a kb command, or found stale).
    pub fn update_files(&mut self, rels: &[String]) -> Result<UpdateReport> {
        let mut writer = self.writer(false)?;
        let (Some(mut st), Some(mut ds)) = (
            State::load(&self.files_path),
            DirState::load(&self.dirs_path),
        ) else {
            drop(writer);
            return self.rebuild_in_place();
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
        // Folders whose entries changed get their new mtime, so a later check is quiet; a new
        // folder is recorded with its parents.
        for r in rels {
            let mut folder = vault::parent_of(r);
            loop {
                if let Some(m) = self.vault.dir_mtime(folder) {
                    ds.dirs.insert(folder.to_string(), m);
                }
                if folder.is_empty() {
                    break;
                }
                folder = vault::parent_of(folder);
            }
        }
        self.commit(&mut writer, &mut st, ds)?;
        Ok(report)
    }

    /// The notes among these whose file changed or vanished since they were indexed.
    pub fn stale<'a>(&self, notes: impl IntoIterator<Item = &'a StoredNote>) -> Vec<String> {
        notes
            .into_iter()
            .filter(|n| self.vault.stamp(&n.rel) != Some(n.stamp))
            .map(|n| n.rel.clone())
            .collect()
    }

    /// Whether a full check of every note is due (the vault is checked by folder only and the
    /// last full check is older than `interval`); if so, it is marked as started now, so that
    /// one caller runs it.
    pub fn claim_full_check(&self, full_limit: u64, interval: Duration) -> bool {
        let Some(mut ds) = DirState::load(&self.dirs_path) else {
            return false;
        };
        let now = state::now_ns();
        if ds.notes <= full_limit || now.saturating_sub(ds.last_full) < interval.as_nanos() as u64
        {
            return false;
        }
        ds.last_full = now;
        ds.save(&self.dirs_path).is_ok()
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

    fn commit(&mut self, writer: &mut IndexWriter, st: &mut State, mut ds: DirState) -> Result<()> {
        writer.commit()?;
        st.version = SCHEMA_VERSION;
        st.save(&self.files_path)
            .map_err(|e| vault::io_err(&self.files_path, e))?;
        ds.version = SCHEMA_VERSION;
        ds.notes = st.files.len() as u64;
        ds.save(&self.dirs_path)
            .map_err(|e| vault::io_err(&self.dirs_path, e))?;
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

/// The changes in one folder whose mtime changed: notes created, deleted or renamed directly
/// in it, and everything in sub-folders that appeared or disappeared.
fn folder_changes(
    vault: &Vault,
    dir: &str,
    st: &State,
    dirs: &mut HashMap<String, u64>,
    changes: &mut Vec<Change>,
    problems: &mut Vec<String>,
) {
    let Some(mtime) = vault.dir_mtime(dir) else {
        // The folder is gone: so is everything that was under it.
        let prefix = format!("{dir}/");
        dirs.retain(|d, _| d != dir && !d.starts_with(&prefix));
        for rel in st.files.keys() {
            if rel.starts_with(&prefix) {
                changes.push(Change::Removed(rel.clone()));
            }
        }
        return;
    };
    dirs.insert(dir.to_string(), mtime);
    let (files, subdirs) = match vault.list_dir(dir) {
        Ok(x) => x,
        Err(e) => {
            problems.push(format!("{dir}: {e}, skipped"));
            return;
        }
    };
    let mut present = HashSet::new();
    for f in &files {
        present.insert(f.rel.as_str());
        match st.files.get(&f.rel) {
            None => changes.push(Change::Added(f.rel.clone())),
            Some(old) if old.stamp != f.stamp => changes.push(Change::Changed(f.rel.clone())),
            Some(_) => {}
        }
    }
    for rel in st.files.keys() {
        if vault::parent_of(rel) == dir && !present.contains(rel.as_str()) {
            changes.push(Change::Removed(rel.clone()));
        }
    }
    for sub in subdirs {
        if dirs.contains_key(&sub) {
            continue; // a known folder is checked by its own mtime
        }
        let scan = vault.scan_under(&sub);
        problems.extend(scan.problems);
        for d in scan.dirs {
            dirs.insert(d.rel, d.mtime);
        }
        for f in scan.files {
            match st.files.get(&f.rel) {
                None => changes.push(Change::Added(f.rel)),
                Some(old) if old.stamp != f.stamp => changes.push(Change::Changed(f.rel)),
                Some(_) => {}
            }
        }
    }
}

/// Where the index of a vault lives: `.kb/` inside it, or the cache folder if the vault is
/// read-only.
fn location(vault: &Vault) -> PathBuf {
    let inside = vault.root().join(vault::STATE_DIR);
    if inside.join(DIRS_STATE).is_file() {
        return inside;
    }
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
