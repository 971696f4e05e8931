//! What the index was built from, in two files so that a search reads only the small one:
//!
//! - `files.bin`: the stamp (mtime, size) and content hash of every note;
//! - `dirs.bin`: the mtime of every folder, the number of notes, and when the last full check
//!   of every note's stamp ran.
//!
//! A folder's mtime changes whenever an entry is created, deleted or renamed in it, so
//! comparing folder mtimes finds those changes without looking at every note.

use crate::vault::Stamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    pub stamp: Stamp,
    /// xxh3 of the bytes that were indexed.
    pub hash: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// When this state was written (ns since the epoch). A file whose mtime is this close to
    /// it may have changed again within the same clock tick, so it is checked by content.
    pub written_at: u64,
    pub files: HashMap<String, FileState>,
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

/// Files modified less than this before the state was written are re-checked by content
/// (file systems with coarse timestamps cannot tell two writes in one tick apart).
pub const RACY_NS: u64 = 2_000_000_000;

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

impl State {
    pub fn load(path: &Path) -> Option<State> {
        load(path)
    }

    pub fn save(&mut self, path: &Path) -> std::io::Result<()> {
        self.written_at = now_ns();
        save(path, self)
    }

    /// Whether a file with this stamp may have changed without its stamp showing it.
    pub fn is_racy(&self, stamp: &Stamp) -> bool {
        stamp.mtime.saturating_add(RACY_NS) >= self.written_at
    }
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
