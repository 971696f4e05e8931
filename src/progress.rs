//! A hook through which long work reports how far it is, without the domain modules knowing
//! anything of terminals: the binary installs a progress bar on a terminal, nothing otherwise.

use std::sync::OnceLock;

/// What reports progress: (what, done, total).
pub type Hook = Box<dyn Fn(&str, u64, u64) + Send + Sync>;

static HOOK: OnceLock<Hook> = OnceLock::new();

/// Install the reporter (once per process).
pub fn install(hook: Hook) {
    let _ = HOOK.set(hook);
}

/// `what` has done `done` of `total` (a `done` equal to `total` ends it).
pub fn report(what: &str, done: u64, total: u64) {
    if let Some(h) = HOOK.get() {
        h(what, done, total);
    }
}

/// What shows a one-line notice.
pub type Notice = Box<dyn Fn(&str) + Send + Sync>;

static NOTICE: OnceLock<Notice> = OnceLock::new();

/// Install what shows one-line notices (a status line on stderr, unless quiet).
pub fn install_notice(hook: Notice) {
    let _ = NOTICE.set(hook);
}

/// Tell the person something worth knowing while they wait.
pub fn notice(msg: &str) {
    if let Some(h) = NOTICE.get() {
        h(msg);
    }
}
