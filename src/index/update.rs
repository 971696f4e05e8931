//! Bringing the index up to date with the notes: a full rebuild, a full check of every note's
//! stamp, a quick check of folder mtimes, and targeted updates of the notes a command changed.

use super::state::{self, Delta, DirState, FileState, State};
use super::{schema, Check, NoteIndex, StoredNote, UpdateReport, SCHEMA_VERSION};
use crate::error::{KbError, Result};
use crate::note::Note;
use crate::vault::{self, Vault};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tantivy::{Index, IndexWriter};

/// A journal larger than this is folded into the snapshot at the next full or quick check.
const JOURNAL_LIMIT: u64 = 256 * 1024;

#[derive(Debug, Clone)]
enum Change {
    Added(String),
    Changed(String),
    Removed(String),
}

/// What indexing one file gave: its state and warnings, or None if it is gone.
type Indexed = Option<(FileState, Vec<String>)>;

impl NoteIndex {
    /// Bring the index up to date as `check` says.
    /// Bring an open index up to date as `check` says, and see what other processes committed
    /// to it meanwhile (a long-running front end calls this before each request).
    pub fn bring_up_to_date(&mut self, check: Check) -> Result<UpdateReport> {
        let report = self.check(check)?;
        self.reader.reload()?;
        Ok(report)
    }

    pub(super) fn check(&mut self, check: Check) -> Result<UpdateReport> {
        match check {
            Check::Full => {
                // Timed for the background checks' duty cycle (`kb index`, which they run).
                let clock = Instant::now();
                let report = self.refresh()?;
                self.record_check_time(clock.elapsed());
                Ok(report)
            }
            Check::Quick { full_limit } => self.quick_refresh(full_limit),
            Check::Trust => Ok(UpdateReport::default()),
        }
    }

    /// Build the index from scratch from every note of the vault.
    pub fn rebuild(vault: &Vault) -> Result<(NoteIndex, UpdateReport)> {
        let loc = super::location(vault);
        let dir = loc.join(super::INDEX_DIR);
        let (schema, fields) = schema::build_schema();
        let index = match Index::open_in_dir(&dir) {
            Ok(i)
                if i.schema() == schema
                    && i.settings().docstore_blocksize == super::DOCSTORE_BLOCK =>
            {
                i
            }
            _ => {
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).map_err(|e| vault::io_err(&dir, e))?;
                Index::builder()
                    .schema(schema)
                    .settings(tantivy::IndexSettings {
                        docstore_blocksize: super::DOCSTORE_BLOCK,
                        ..Default::default()
                    })
                    .create_in_dir(&dir)?
            }
        };
        let mut idx = Self::assemble(vault, index, fields, &loc)?;
        // Who wrote each note is read from the history once here, so that searches only look
        // their hits up; before the index is written, so that the two do not hold their
        // memory at the same time (at a million notes 350 MB and 750 MB).
        crate::history::bring_vault_up_to_date(vault.root(), idx.state_dir());
        let scan = vault.scan();
        let writer = idx.writer(scan.files.len())?;
        writer.delete_all_documents()?;
        let rels: Vec<String> = scan.files.iter().map(|f| f.rel.clone()).collect();
        let (delta, warnings) = idx.index_files(&writer, &rels, false)?;
        let mut st = State::default();
        let ds = DirState {
            dirs: scan.dirs.into_iter().map(|d| (d.rel, d.mtime)).collect(),
            last_full: state::now_ns(),
            ..DirState::default()
        };
        idx.commit_state(writer, &mut st, &delta, ds, true)?;
        let mut report = UpdateReport {
            rebuilt: true,
            warnings,
            ..UpdateReport::default()
        };
        report.warnings.extend(scan.problems);
        report.added = rels;
        Ok((idx, report))
    }

    fn rebuild_in_place(&mut self) -> Result<UpdateReport> {
        let (fresh, report) = Self::rebuild(&self.vault)?;
        *self = fresh;
        Ok(report)
    }

    /// How long the last full check took, if known.
    fn last_check_took(&self) -> Option<Duration> {
        let text = std::fs::read_to_string(&self.check_time_path).ok()?;
        text.trim().parse::<u64>().ok().map(Duration::from_millis)
    }

    /// Remember how long a full check took (best effort: without it the default interval
    /// applies).
    fn record_check_time(&self, took: Duration) {
        let _ = std::fs::write(&self.check_time_path, format!("{}\n", took.as_millis()));
    }

    /// Compare every note's stamp with the state and index what changed.
    pub fn refresh(&mut self) -> Result<UpdateReport> {
        let started = state::now_ns();
        // The saved state (megabytes at 100,000 notes) loads while the notes are stat'ed.
        let (scan, (st, ds)) = std::thread::scope(|s| {
            let saved = s.spawn(|| {
                (
                    State::load(&self.files_path),
                    DirState::load(&self.dirs_path),
                )
            });
            let scan = self.vault.scan();
            (scan, saved.join().unwrap_or((None, None)))
        });
        let (Some(st), Some(ds)) = (st, ds) else {
            return self.rebuild_in_place();
        };
        let (changes, refreshed) = diff(&self.vault, &st, &scan);
        let new_dirs: HashMap<String, u64> =
            scan.dirs.iter().map(|d| (d.rel.clone(), d.mtime)).collect();
        if changes.is_empty() && new_dirs == ds.dirs {
            // Nothing changed: remember that the full check ran, and that racy files were
            // found clean (a journal append; the index is not touched).
            if !refreshed.is_empty() {
                let _ = state::append(&self.files_path, &refreshed);
            }
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
        let writer = self.writer(1)?;
        // Another process may have indexed meanwhile: diff again against the state as it is
        // now, under the writer lock.
        let mut st = State::load(&self.files_path).unwrap_or(st);
        let (changes, refreshed) = diff(&self.vault, &st, &scan);
        let changes = confirm(&self.vault, &st, changes);
        let (mut delta, mut report) = self.apply(&writer, &changes)?;
        delta.extend(refreshed);
        let ds = DirState {
            dirs: new_dirs,
            last_full: started,
            ..ds
        };
        self.commit_state(writer, &mut st, &delta, ds, false)?;
        report.warnings.extend(scan.problems);
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
        let big_journal = state::journal_len(&self.files_path) > JOURNAL_LIMIT;
        if changed.is_empty() && !big_journal {
            return Ok(UpdateReport::default());
        }
        let writer = self.writer(1)?;
        let Some(mut st) = State::load(&self.files_path) else {
            drop(writer);
            return self.rebuild_in_place();
        };
        let ds = DirState::load(&self.dirs_path).unwrap_or(ds);
        let mut dirs = ds.dirs.clone();
        let mut changes = Vec::new();
        let mut problems = Vec::new();
        for dir in changed {
            folder_changes(
                &self.vault,
                &dir,
                &st,
                &mut dirs,
                &mut changes,
                &mut problems,
            );
        }
        let (delta, mut report) = self.apply(&writer, &changes)?;
        report.warnings.extend(problems);
        let ds = DirState { dirs, ..ds };
        self.commit_state(writer, &mut st, &delta, ds, false)?;
        Ok(report)
    }

    /// Re-index exactly these notes (added, changed or deleted by a kb command, or found
    /// stale). Cheap at any size: the state's journal gets the new stamps.
    pub fn update_files(&mut self, rels: &[String]) -> Result<UpdateReport> {
        let writer = self.writer(1)?;
        let Some(mut ds) = DirState::load(&self.dirs_path) else {
            drop(writer);
            return self.rebuild_in_place();
        };
        let searcher = self.searcher();
        // Only notes: a sync's list of changed files may name kb.toml or a script.
        let rels: Vec<String> = rels
            .iter()
            .filter(|r| self.vault.is_note_rel(r))
            .cloned()
            .collect();
        let rels = &rels[..];
        let changes: Vec<Change> = rels
            .iter()
            .map(|r| {
                let known = searcher.doc_freq(&self.path_term(r)).unwrap_or(0) > 0;
                match self.vault.stamp(r) {
                    Some(_) if known => Change::Changed(r.clone()),
                    Some(_) => Change::Added(r.clone()),
                    None => Change::Removed(r.clone()),
                }
            })
            .collect();
        let (delta, report) = self.apply(&writer, &changes)?;
        let mut writer = writer;
        writer.commit()?;
        state::append(&self.files_path, &delta).map_err(|e| vault::io_err(&self.files_path, e))?;
        // Folders whose entries changed get their new mtime, so that a later check is quiet;
        // a new folder is recorded with its parents.
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
        ds.notes =
            (ds.notes + report.added.len() as u64).saturating_sub(report.removed.len() as u64);
        self.save_dirs(&ds)?;
        // The state is written while the writer lock is held: no other process sees an index
        // newer than the state that describes it.
        writer.wait_merging_threads()?;
        self.reader.reload()?;
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
    /// last full check is old enough: [`super::full_check_due`]); if so, it is marked as
    /// started now, so that one caller runs it.
    pub fn claim_full_check(&self, full_limit: u64, interval: Option<Duration>) -> bool {
        let Some(mut ds) = DirState::load(&self.dirs_path) else {
            return false;
        };
        let now = state::now_ns();
        let since = Duration::from_nanos(now.saturating_sub(ds.last_full));
        if ds.notes <= full_limit
            || !super::full_check_due(since, || self.last_check_took(), interval)
        {
            return false;
        }
        ds.last_full = now;
        ds.save(&self.dirs_path).is_ok()
    }

    /// Index the changes; returns the new file states and the report.
    fn apply(&self, writer: &IndexWriter, changes: &[Change]) -> Result<(Delta, UpdateReport)> {
        let mut report = UpdateReport::default();
        let mut delta = Delta::new();
        let mut to_read = Vec::new();
        for c in changes {
            match c {
                Change::Removed(r) => {
                    writer.delete_term(self.path_term(r));
                    delta.push((r.clone(), None));
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
        let (read, warnings) = self.index_files(writer, &to_read, true)?;
        report.warnings = warnings;
        // A file that vanished between the walk and the read is a removal.
        for (r, fs) in &read {
            if fs.is_none() {
                report.added.retain(|x| x != r);
                report.changed.retain(|x| x != r);
                report.removed.push(r.clone());
            }
        }
        delta.extend(read);
        Ok((delta, report))
    }

    /// Read, parse and add these notes (in parallel for large batches).
    fn index_files(
        &self,
        writer: &IndexWriter,
        rels: &[String],
        delete_first: bool,
    ) -> Result<(Delta, Vec<String>)> {
        let threads = if rels.len() > 256 {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(8)
        } else {
            1
        };
        let chunk = rels.len().div_ceil(threads.max(1)).max(1);
        let done = AtomicU64::new(0);
        let total = rels.len() as u64;
        let done = &done;
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
                            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                            if n.is_multiple_of(256) {
                                crate::progress::report("indexing notes", n, total);
                            }
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
        if total >= 256 {
            crate::progress::report("indexing notes", total, total);
        }
        let mut delta = Delta::with_capacity(rels.len());
        let mut warnings = Vec::new();
        for part in results {
            for (rel, outcome) in part? {
                match outcome {
                    Some((fs, w)) => {
                        delta.push((rel, Some(fs)));
                        warnings.extend(w);
                    }
                    None => delta.push((rel, None)),
                }
            }
        }
        Ok((delta, warnings))
    }

    /// Index one note; None if it could not be read (gone).
    fn index_one(&self, writer: &IndexWriter, rel: &str) -> Result<Indexed> {
        let seen = state::now_ns();
        if self.vault.is_excluded(rel) {
            return Ok(None);
        }
        let Some(stamp) = self.vault.stamp(rel) else {
            return Ok(None);
        };
        let (bytes, cut) = match self.vault.read(rel) {
            Ok(r) => r,
            Err(e) => {
                return Ok(Some((
                    FileState {
                        stamp,
                        hash: 0,
                        seen,
                    },
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
        let hash = state::hash(&bytes);
        writer.add_document(schema::to_document(&self.fields, rel, &note, stamp, hash))?;
        Ok(Some((FileState { stamp, hash, seen }, warnings)))
    }

    /// Commit the index, then record the new file states: appended to the journal when they
    /// are few (rewriting megabytes of snapshot for one note is what made a check slow), else
    /// (or when `snapshot`) as a new snapshot that absorbs the journal.
    fn commit_state(
        &mut self,
        writer: IndexWriter,
        st: &mut State,
        delta: &Delta,
        mut ds: DirState,
        snapshot: bool,
    ) -> Result<()> {
        let mut writer = writer;
        writer.commit()?;
        if snapshot && delta.len() <= MERGE_REBUILD_UP_TO {
            // A rebuild leaves one segment per indexing thread and memory budget: merged into
            // one, a search opens (and on a cold page cache reads the footers of) 7 files
            // instead of 7 per segment, and looks each word up once.
            let segments = self.index.searchable_segment_ids()?;
            if segments.len() > 1 {
                writer.merge(&segments).wait()?;
                writer.garbage_collect_files().wait()?;
            }
        }
        st.apply(delta);
        let journal = state::journal_len(&self.files_path);
        if snapshot || delta.len() > 1_000 || journal > JOURNAL_LIMIT {
            st.save(&self.files_path)
        } else {
            state::append(&self.files_path, delta)
        }
        .map_err(|e| vault::io_err(&self.files_path, e))?;
        ds.notes = st.files.count() as u64;
        self.save_dirs(&ds)?;
        // Merges finish, and the writer lock is released, only once the state is written.
        writer.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(())
    }

    fn save_dirs(&self, ds: &DirState) -> Result<()> {
        let ds = DirState {
            version: SCHEMA_VERSION,
            ..ds.clone()
        };
        ds.save(&self.dirs_path)
            .map_err(|e| vault::io_err(&self.dirs_path, e))
    }

    /// The index writer for about `notes` notes, waiting while another kb process holds it.
    /// Several indexing threads only for many notes: each thread writes a segment of its own,
    /// and in a small vault one segment is smaller on disk and as fast to build.
    fn writer(&self, notes: usize) -> Result<IndexWriter> {
        let start = Instant::now();
        let mut told = false;
        // (indexing threads, memory budget of each, merging threads). A command changing a
        // few notes gets one merging thread, not tantivy's four: their start-up spins on the
        // CPU that git and the indexing thread need (`kb link` at 100,000 notes).
        let (threads, heap, merging) = if notes >= PARALLEL_INDEXING_FROM {
            let n = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(4);
            (n, 64_000_000, 4)
        } else if notes > 100 {
            (1, 64_000_000, 4)
        } else {
            (1, 20_000_000, 1)
        };
        let options = tantivy::indexer::IndexWriterOptions::builder()
            .num_worker_threads(threads)
            .memory_budget_per_thread(heap)
            .num_merge_threads(merging)
            .build();
        loop {
            match self.index.writer_with_options(options.clone()) {
                Ok(w) => return Ok(w),
                Err(tantivy::TantivyError::LockFailure(..))
                    if start.elapsed() < crate::wait::get() =>
                {
                    if !told && start.elapsed() > Duration::from_secs(1) {
                        told = true;
                        crate::progress::notice(
                            "waiting for another kb process that is updating the index...",
                        );
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(tantivy::TantivyError::LockFailure(..)) => return Err(KbError::IndexBusy),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// From this many notes on, a rebuild indexes on several threads.
const PARALLEL_INDEXING_FROM: usize = 5_000;

/// A rebuild of up to this many notes merges its segments into one (100,000 notes: search
/// 25% faster, rebuild 2.6 s longer). Above, the merge would cost more than the search gains
/// are worth at rebuild time (a million notes: +36 s and +260 MB at the peak, past the 1 GB a
/// rebuild may take): tantivy's merge policy folds segments over time instead.
const MERGE_REBUILD_UP_TO: usize = 200_000;

/// What changed between the state and a scan (both sorted by path: one merge). The second
/// value holds racy files whose content was checked and found unchanged: their state is
/// recorded again (with a new `seen`) so that they stop being racy.
fn diff(vault: &Vault, st: &State, scan: &vault::Scan) -> (Vec<Change>, Delta) {
    let mut changes = Vec::new();
    let mut refreshed = Delta::new();
    let mut known = st.files.iter().peekable();
    for f in &scan.files {
        while let Some((rel, _)) = known.next_if(|(rel, _)| *rel < f.rel.as_str()) {
            changes.push(Change::Removed(rel.to_string()));
        }
        let Some((_, old)) = known.next_if(|(rel, _)| *rel == f.rel.as_str()) else {
            changes.push(Change::Added(f.rel.clone()));
            continue;
        };
        if old.stamp != f.stamp {
            changes.push(Change::Changed(f.rel.clone()));
        } else if old.is_racy() {
            let seen = state::now_ns();
            match vault.read(&f.rel) {
                Ok((b, _)) if state::hash(&b) == old.hash => {
                    refreshed.push((f.rel.clone(), Some(FileState { seen, ..*old })));
                }
                _ => changes.push(Change::Changed(f.rel.clone())),
            }
        }
    }
    changes.extend(known.map(|(rel, _)| Change::Removed(rel.to_string())));
    (changes, refreshed)
}

/// Under the writer lock, the state may be newer than a scan taken before it: a note another
/// process created and indexed meanwhile is in the state but not in the scan. Such "removals"
/// are checked against the disk now (a stat each) instead of walking the vault again.
fn confirm(vault: &Vault, st: &State, changes: Vec<Change>) -> Vec<Change> {
    changes
        .into_iter()
        .filter_map(|c| match c {
            Change::Removed(rel) => match vault.stamp(&rel) {
                None => Some(Change::Removed(rel)),
                Some(now) if st.files.get(&rel).map(|f| f.stamp) == Some(now) => None,
                Some(_) => Some(Change::Changed(rel)),
            },
            other => Some(other),
        })
        .collect()
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
        for (rel, _) in st.files.iter() {
            if rel.starts_with(&prefix) {
                changes.push(Change::Removed(rel.to_string()));
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
    for (rel, _) in st.files.iter() {
        if vault::parent_of(rel) == dir && !present.contains(rel) {
            changes.push(Change::Removed(rel.to_string()));
        }
    }
    for sub in subdirs {
        if dirs.contains_key(&sub.rel) {
            continue; // a known folder is checked by its own mtime
        }
        let scan = vault.scan_under(&sub.rel);
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
