//! Talking to the remote: fetch, push, clone.
//!
//! Through the `git` executable when it is installed (as cargo's `net.git-fetch-with-cli`), so
//! that kb reaches every remote the person's own git reaches, with the same configuration:
//! `~/.ssh/config` (aliases, ports, users, `IdentityFile`, `IdentitiesOnly`, `ProxyJump`),
//! the SSH agent, key passphrases (asked on the terminal, or by `SSH_ASKPASS`), the user's and
//! the system's `known_hosts`, `core.sshCommand` and `GIT_SSH_COMMAND`, git's TLS settings
//! (`http.sslCAInfo`, `http.sslVerify`, `GIT_SSL_CAINFO`...), proxies (`http.proxy`,
//! `HTTPS_PROXY`), credential helpers, `GIT_ASKPASS` and git's own password prompt. Without a
//! `git` executable (or with `KB_GIT=libgit2`), libgit2 does it with what it supports: the
//! agent and the usual key files for SSH, credential helpers for HTTPS.
//!
//! Either way a remote silent for longer than the timeout is given up on, its messages are
//! turned into one clear sentence (a changed host key says so), and no password is printed.

mod cli;
mod libgit2;

use super::SyncOptions;
use crate::error::{KbError, Result};
use git2::{Oid, Repository};
use std::path::{Path, PathBuf};

/// How kb reaches remotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The `git` executable at this path.
    Git(PathBuf),
    /// libgit2, inside kb.
    Libgit2,
}

impl Backend {
    /// `setting` (`KB_GIT`, else `git` in config.toml): `libgit2`, or the path of a git
    /// executable; unset or `auto`: `git` from PATH when there is one, else libgit2.
    pub fn choose(setting: Option<&str>) -> Backend {
        match crate::git::program_for(setting) {
            Some(p) => Backend::Git(p),
            None => Backend::Libgit2,
        }
    }
}

/// Fetch the remote branch; its tip, or None when the remote has no such branch yet.
pub fn fetch(
    repo: &Repository,
    remote: &str,
    remote_branch: &str,
    opts: &SyncOptions,
) -> Result<Option<Oid>> {
    match &opts.backend {
        Backend::Git(git) => cli::fetch(git, repo, remote, remote_branch, opts),
        Backend::Libgit2 => libgit2::fetch(repo, remote, remote_branch, opts),
    }
}

/// The names of the remote's branches.
pub fn branches(repo: &Repository, remote: &str, opts: &SyncOptions) -> Result<Vec<String>> {
    match &opts.backend {
        Backend::Git(git) => cli::branches(git, repo, remote, opts),
        Backend::Libgit2 => libgit2::branches(repo, remote, opts),
    }
}

/// Push the commit `oid` (the one kb checked; the branch may have moved since, a kb command
/// committing meanwhile) to the remote branch; false when the remote rejected it because it
/// moved meanwhile. It goes through a reference of kb's own, `refs/kb/push`, removed after.
pub fn push(
    repo: &Repository,
    remote: &str,
    oid: Oid,
    remote_branch: &str,
    opts: &SyncOptions,
) -> Result<bool> {
    repo.reference(PUSH_REF, oid, true, "kb sync: push")?;
    let result = match &opts.backend {
        Backend::Git(git) => cli::push(git, repo, remote, PUSH_REF, remote_branch, opts),
        Backend::Libgit2 => libgit2::push(repo, remote, PUSH_REF, remote_branch, opts),
    };
    if let Ok(mut r) = repo.find_reference(PUSH_REF) {
        let _ = r.delete();
    }
    result
}

/// The reference a push sends (see [`push`]).
const PUSH_REF: &str = "refs/kb/push";

/// Clone `url` into `dir` with the same configuration and credentials as sync (`branch`: that
/// branch rather than the one the remote's HEAD names).
pub fn clone(url: &str, dir: &Path, branch: Option<&str>, opts: &SyncOptions) -> Result<()> {
    match &opts.backend {
        Backend::Git(git) => cli::clone(git, url, dir, branch, opts),
        Backend::Libgit2 => libgit2::clone(url, dir, branch, opts),
    }
}

/// Remove `user:password@` from anything that looks like a URL.
pub fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_inclusive(char::is_whitespace) {
        match (word.find("://"), word.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                out.push_str(&word[..scheme + 3]);
                out.push_str("***@");
                out.push_str(&word[at + 1..]);
            }
            _ => out.push_str(word),
        }
    }
    out
}

/// Whether a refused push means the remote branch moved meanwhile (fetch, merge and push again),
/// rather than that the server will not take it (a hook, a protected branch).
fn remote_moved(status: &str) -> bool {
    [
        "non-fast-forward",
        "fetch first",
        "failed to update ref",
        "cannot lock ref",
        "stale info",
    ]
    .iter()
    .any(|m| status.contains(m))
}

/// The server's messages, one line each, without progress counters or control characters.
fn server_lines(raw: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(raw)
        .split(['\n', '\r'])
        .map(|l| l.chars().filter(|c| !c.is_control()).collect::<String>())
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .filter(|l| !(l.contains('%') && (l.contains("objects") || l.contains("deltas"))))
        .take(20)
        .collect()
}

/// A push refused for another reason than the remote having moved.
fn refused(remote: &str, status: String, server: Vec<String>) -> KbError {
    KbError::PushRefused {
        remote: remote.to_string(),
        status: redact(&status),
        server: server.iter().map(|l| redact(l)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redact("failed https://bob:s3cret@host/x.git now"),
            "failed https://***@host/x.git now"
        );
        assert_eq!(redact("plain message"), "plain message");
    }
}
