//! What the index was built from: the stamp and content hash of every note, and the mtime of
//! every folder. Comparing it with the disk tells which notes changed since the last run.

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
    pub dirs: HashMap<String, u64>,
}

/// Files modified less than this before the state was written are re-checked by content
/// (file systems with coarse timestamps cannot tell two writes in one tick apart).
pub const RACY_NS: u64 = 2_000_000_000;

impl State {
    pub fn load(path: &Path) -> Option<State> {
        let bytes = std::fs::read(path).ok()?;
        postcard::from_bytes(&bytes).ok()
    }

    /// Write atomically (temporary file, then rename).
    pub fn save(&mut self, path: &Path) -> std::io::Result<()> {
        self.written_at = now_ns();
        let bytes = postcard::to_stdvec(self).map_err(std::io::Error::other)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Whether a file with this stamp may have changed without its stamp showing it.
    pub fn is_racy(&self, stamp: &Stamp) -> bool {
        stamp.mtime.saturating_add(RACY_NS) >= self.written_at
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
