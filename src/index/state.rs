//! What the index was built from, in two files so that a search reads only the small one:
//!
//! - `files.bin`: the stamp (mtime, size) and content hash of every note;
//! - `dirs.bin`: the mtime of every folder, the number of notes, and when the last full check
//!   of every note's stamp ran.
//!
//! A folder's mtime changes whenever an entry is created, deleted or renamed in it, so
//! comparing folder mtimes finds those changes without looking at every note.
//!
//! Commands that change a few notes (add, link, edit) do not rewrite `files.bin` (megabytes at
//! 100,000 notes): they append the new stamps to `files.log`, which loading replays and the
//! next full check folds back into `files.bin`.

use crate::vault::Stamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    pub stamp: Stamp,
    /// xxh3 of the bytes that were indexed.
    pub hash: u64,
    /// When the stamp was taken (ns since the epoch): a file modified within one clock tick of
    /// it may have changed again without its stamp showing it (see [`FileState::is_racy`]).
    pub seen: u64,
}

impl FileState {
    /// Whether the file may have changed since without its stamp showing it: a file system
    /// with whole-second timestamps (FAT has two seconds) cannot tell two writes in one tick
    /// apart, one with sub-second timestamps only within a few milliseconds.
    pub fn is_racy(&self) -> bool {
        let window = if self.stamp.mtime.is_multiple_of(1_000_000_000) {
            RACY_NS
        } else {
            RACY_FINE_NS
        };
        self.stamp.mtime.saturating_add(window) >= self.seen
    }
}

/// The notes' states, sorted by relative path (binary search, and a merge with a sorted scan
/// instead of hashing 100,000 paths).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Files(Vec<(String, FileState)>);

impl Files {
    fn find(&self, rel: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(r, _)| r.as_str().cmp(rel))
    }

    pub fn get(&self, rel: &str) -> Option<&FileState> {
        self.find(rel).ok().map(|i| &self.0[i].1)
    }

    /// How many notes.
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// Entries in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FileState)> {
        self.0.iter().map(|(r, f)| (r.as_str(), f))
    }

    /// Apply changes in their order (the last record of a path decides: a journal holds a
    /// note's addition and, later, its removal): replace or remove in place, then add the new
    /// paths and sort once.
    pub fn apply(&mut self, delta: &Delta) {
        let mut last: std::collections::HashMap<&str, Option<FileState>> =
            std::collections::HashMap::with_capacity(delta.len());
        for (rel, fs) in delta {
            last.insert(rel.as_str(), *fs);
        }
        let mut added = Vec::new();
        let mut gone = Vec::new();
        for (rel, fs) in last {
            match (self.find(rel), fs) {
                (Ok(i), Some(fs)) => self.0[i].1 = fs,
                (Ok(i), None) => gone.push(i),
                (Err(_), Some(fs)) => added.push((rel.to_string(), fs)),
                (Err(_), None) => {}
            }
        }
        if !gone.is_empty() {
            gone.sort_unstable();
            let mut k = 0;
            let mut i = 0;
            self.0.retain(|_| {
                let keep = gone.get(k) != Some(&i);
                if !keep {
                    k += 1;
                }
                i += 1;
                keep
            });
        }
        if !added.is_empty() {
            self.0.extend(added);
            self.0.sort_by(|a, b| a.0.cmp(&b.0));
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub files: Files,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DirState {
    pub version: u32,
    pub dirs: HashMap<String, u64>,
    /// Notes in the index.
    pub notes: u64,
    /// When a check of every note's stamp last ran or was started (ns since the epoch).
    pub last_full: u64,
}

/// Files modified less than this before the state was written are re-checked by content: a
/// file system with whole-second timestamps (FAT has two seconds) cannot tell two writes in
/// one tick apart...
pub const RACY_NS: u64 = 2_000_000_000;
/// ...while one with sub-second timestamps (any mtime with a fraction of a second) only within
/// its clock tick (a few milliseconds on Linux, which stamps files with a coarse clock).
pub const RACY_FINE_NS: u64 = 50_000_000;

fn load<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let bytes = std::fs::read(path).ok()?;
    postcard::from_bytes(&bytes).ok()
}

/// Write atomically (temporary file in the same folder, then rename).
fn save<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let bytes = postcard::to_stdvec(value).map_err(std::io::Error::other)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// What indexing did to the files: the new state of each, or None when it is gone.
pub type Delta = Vec<(String, Option<FileState>)>;

/// The journal beside a snapshot.
fn journal_path(snapshot: &Path) -> std::path::PathBuf {
    snapshot.with_extension("log")
}

impl State {
    /// The snapshot with its journal replayed.
    pub fn load(path: &Path) -> Option<State> {
        let mut st: State = load(path)?;
        if let Ok(bytes) = std::fs::read(journal_path(path)) {
            let mut delta = Delta::new();
            let mut rest = bytes.as_slice();
            // Records: u32 little-endian length, then a postcard (rel, Option<FileState>). A
            // torn last record (a crash during the append) ends the replay.
            while rest.len() >= 4 {
                let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let Some(record) = rest.get(4..4 + len) else {
                    break;
                };
                let Ok(change) = postcard::from_bytes::<(String, Option<FileState>)>(record) else {
                    break;
                };
                delta.push(change);
                rest = &rest[4 + len..];
            }
            st.files.apply(&delta);
        }
        Some(st)
    }

    /// Write the whole state as a new snapshot and drop the journal it absorbed.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        save(path, self)?;
        match std::fs::remove_file(journal_path(path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    pub fn apply(&mut self, delta: &Delta) {
        self.files.apply(delta);
    }
}

/// Append changes to the journal of the snapshot at `path`.
pub fn append(path: &Path, delta: &Delta) -> std::io::Result<()> {
    let mut buf = Vec::new();
    for record in delta {
        let bytes = postcard::to_stdvec(record).map_err(std::io::Error::other)?;
        buf.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        buf.extend_from_slice(&bytes);
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal_path(path))?;
    std::io::Write::write_all(&mut f, &buf)
}

/// Size of the journal in bytes (0 if none).
pub fn journal_len(path: &Path) -> u64 {
    std::fs::metadata(journal_path(path)).map_or(0, |m| m.len())
}

impl DirState {
    pub fn load(path: &Path) -> Option<DirState> {
        load(path)
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        save(path, self)
    }
}

pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub fn hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

#[cfg(test)]
mod apply_tests {
    use super::*;

    fn fs(n: u64) -> Option<FileState> {
        Some(FileState {
            stamp: crate::vault::Stamp { mtime: n, size: n },
            hash: n,
            seen: n,
        })
    }

    #[test]
    fn a_note_added_then_removed_in_one_journal_is_gone() {
        let mut f = Files::default();
        let delta: Delta = vec![
            ("a.md".into(), fs(1)),
            ("b.md".into(), fs(1)),
            ("c.md".into(), fs(1)),
        ];
        f.apply(&delta);
        // Replayed together: b changed, then removed; d added then removed; a removed and
        // added again; c changed.
        let journal: Delta = vec![
            ("b.md".into(), fs(2)),
            ("d.md".into(), fs(1)),
            ("a.md".into(), None),
            ("b.md".into(), None),
            ("d.md".into(), None),
            ("a.md".into(), fs(3)),
            ("c.md".into(), fs(4)),
        ];
        f.apply(&journal);
        let left: Vec<(&str, u64)> = f.iter().map(|(r, s)| (r, s.hash)).collect();
        assert_eq!(left, vec![("a.md", 3), ("c.md", 4)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(m: u64) -> Option<FileState> {
        Some(FileState {
            stamp: Stamp { mtime: m, size: m },
            hash: m,
            seen: m,
        })
    }

    #[test]
    fn files_stay_sorted_through_changes() {
        let mut f = Files::default();
        f.apply(&vec![
            ("b".into(), fs(1)),
            ("a".into(), fs(2)),
            ("c".into(), fs(3)),
        ]);
        f.apply(&vec![
            ("b".into(), None),
            ("a".into(), fs(4)),
            ("d".into(), fs(5)),
            ("d".into(), fs(6)),
        ]);
        let got: Vec<(&str, u64)> = f.iter().map(|(r, s)| (r, s.hash)).collect();
        assert_eq!(got, vec![("a", 4), ("c", 3), ("d", 6)]);
        assert!(f.get("c").is_some() && f.get("b").is_none());
        assert_eq!(f.count(), 3);
    }

    #[test]
    fn the_journal_replays_over_the_snapshot_and_a_torn_record_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("files.bin");
        let mut st = State::default();
        st.apply(&vec![("a".into(), fs(1)), ("b".into(), fs(2))]);
        st.save(&p).unwrap();
        append(&p, &vec![("a".into(), None), ("c".into(), fs(3))]).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(journal_path(&p))
            .unwrap();
        std::io::Write::write_all(&mut f, &[200, 0, 0, 0, 1, 2]).unwrap();
        let st = State::load(&p).unwrap();
        let got: Vec<&str> = st.files.iter().map(|(r, _)| r).collect();
        assert_eq!(got, vec!["b", "c"]);
        st.save(&p).unwrap();
        assert_eq!(journal_len(&p), 0);
    }
}
