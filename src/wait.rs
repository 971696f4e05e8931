//! How long kb waits for another kb process that holds the index writer or the repository
//! (`KB_LOCK_WAIT`, seconds; 60 by default), set once at start from the context.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The default wait.
pub const DEFAULT: Duration = Duration::from_secs(60);

static WAIT_MS: AtomicU64 = AtomicU64::new(60_000);

/// Set the wait for this process.
pub fn set(d: Duration) {
    WAIT_MS.store(
        d.as_millis().min(u64::MAX as u128) as u64,
        Ordering::Relaxed,
    );
}

/// The wait for this process.
pub fn get() -> Duration {
    Duration::from_millis(WAIT_MS.load(Ordering::Relaxed))
}
