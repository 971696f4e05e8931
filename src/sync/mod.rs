//! `kb sync`: commit the notes edited by hand, fetch, integrate, push.
//!
//! - [`merge`]: how two versions of a note become one (pure: bytes in, bytes out);
//! - [`integrate`]: bringing fetched commits into the branch with git2 (merge commits,
//!   conflicts resolved note by note, what changed between two commits);
//! - [`transport`]: talking to the remote (the `git` executable, else libgit2);
//! - this module: the order of the steps.
//!
//! Integration is a merge (never a rebase: a merge rewrites nothing that was already pushed).
//! Conflicts lose nothing: the `errors:`, `tags:` and `outcomes:` lists of a note changed on
//! both sides are unions (`updated:` and `verified:` the later), edits to different lines
//! merge, a note deleted on one side and edited on the other keeps the edit, and when two edits really collide the local version stays in place while the
//! other side's is kept beside it as a conflict copy (`name.conflict-DATE-COMMIT.md`), which is
//! an ordinary note: listed in the report and found by search.
//!
//! Order of writes, so that an interrupted sync leaves a vault the next sync can finish: local
//! changes are committed first; fetched objects change nothing; the merge result is written to
//! the work tree before the branch moves (killed in between, the next sync sees the merged
//! files as local changes and commits them); the push comes last and is retried when the
//! remote moved meanwhile.

mod integrate;
pub mod merge;
pub mod transport;

pub use merge::{conflict_copy_path, merge_note, Merged};
pub use transport::{redact, Backend};

use crate::error::{KbError, Result};
use crate::git;
use git2::{Oid, Repository, RepositoryState};
use integrate::{commits_with_private_keys, integrate, note_changes};
use std::path::{Path, PathBuf};
use std::time::Duration;
use transport::{fetch, push};

/// Tries before giving up on a push the remote keeps rejecting (it moved during the sync).
const PUSH_TRIES: usize = 3;

/// Where the person's SSH keys are, for remotes that ask for one.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Remote name (default: the branch's upstream remote, else `origin`).
    pub remote: Option<String>,
    /// The folder holding `id_ed25519`, `id_ecdsa`, `id_rsa` (normally `~/.ssh`).
    pub ssh_dir: Option<PathBuf>,
    /// Push notes that hold a private key (refused otherwise).
    pub allow_secrets: bool,
    /// The team's remote URL (kb.toml): added as the remote when the repository has none.
    pub default_url: Option<String>,
    /// How to reach the remote: the `git` executable, or libgit2.
    pub backend: Backend,
    /// A remote silent for this long is given up on.
    pub timeout: Duration,
    /// Whether git and ssh may ask the person for a password or passphrase (kb runs on a
    /// terminal); off a terminal they fail instead of waiting for an answer.
    pub interactive: bool,
}

/// A remote that says nothing for this long is given up on (`sync_timeout` in config.toml,
/// `KB_SYNC_TIMEOUT`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Notes added, changed and removed (paths relative to the repository work tree).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Changes {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.added.iter().chain(&self.changed).chain(&self.removed)
    }

    /// Add the changes of a later step (a path listed once, in its latest state).
    fn extend(&mut self, later: Changes) {
        for p in later.added {
            if let Some(i) = self.removed.iter().position(|r| *r == p) {
                self.removed.remove(i);
                push_once(&mut self.changed, p);
            } else {
                push_once(&mut self.added, p);
            }
        }
        for p in later.changed {
            if !self.added.contains(&p) {
                push_once(&mut self.changed, p);
            }
        }
        for p in later.removed {
            if let Some(i) = self.added.iter().position(|a| *a == p) {
                self.added.remove(i);
                continue;
            }
            self.changed.retain(|c| *c != p);
            push_once(&mut self.removed, p);
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncReport {
    pub remote: String,
    pub branch: String,
    /// Notes edited outside kb that were committed first.
    pub committed: Vec<String>,
    /// What came in from the remote.
    pub incoming: Changes,
    /// What went out to the remote.
    pub outgoing: Changes,
    /// Notes merged on both sides automatically (lists joined, disjoint edits).
    pub merged: Vec<String>,
    /// Conflict copies written beside the notes whose edits collided.
    pub conflict_copies: Vec<String>,
    pub pushed: bool,
}

impl SyncReport {
    /// Whether the sync committed, brought in, pushed or set aside anything.
    pub fn changed_anything(&self) -> bool {
        !self.committed.is_empty()
            || !self.incoming.is_empty()
            || self.pushed
            || !self.conflict_copies.is_empty()
    }
}

/// Synchronise the repository holding the vault at `root`.
///
/// The local steps (committing notes edited by hand, bringing the fetched commits into the
/// branch) run under the vault's write lock, which every kb command changing a note holds
/// from reading the note to committing it; the fetch and the push, which wait for the
/// network, run without it, so a `kb worked` on a call never waits for a slow remote and a
/// note written during the fetch is committed before the merge and merged like any other.
pub fn sync(root: &Path, opts: &SyncOptions) -> Result<SyncReport> {
    let repo = git::open(root).ok_or_else(|| KbError::NotARepository(root.to_path_buf()))?;
    let (committed, (branch, remote_name, remote_branch)) = {
        git::signatures(&repo)?;
        let _session = git::session(&repo, "kb sync")?;
        check_state(&repo)?;
        (commit_local(&repo, root)?, tracking(&repo, opts)?)
    };
    let mut report = SyncReport {
        committed,
        remote: remote_name.clone(),
        branch: branch.clone(),
        ..SyncReport::default()
    };
    let mut remote_before: Option<Oid> = None;
    let mut pushed: Option<Oid> = None;
    for attempt in 0..PUSH_TRIES {
        let theirs = fetch(&repo, &remote_name, &remote_branch, opts)?;
        if attempt == 0 {
            remote_before = theirs;
            if theirs.is_none() {
                // Pushing would start a branch no other machine follows while the team's
                // notes are on another: both would then print "synced" and share nothing.
                let others = transport::branches(&repo, &remote_name, opts)?;
                if !others.is_empty() && !others.contains(&remote_branch) {
                    return Err(KbError::RemoteBranchMissing {
                        branch: remote_branch,
                        others,
                        vault: root.to_path_buf(),
                    });
                }
            }
        }
        let ours = {
            let _session = git::session(&repo, "kb sync")?;
            check_state(&repo)?;
            // Notes edited by hand while the remote was fetched.
            report.committed.extend(commit_local(&repo, root)?);
            let before = head_oid(&repo);
            integrate(&repo, &branch, theirs, &mut report)?;
            let after = head_oid(&repo);
            report.incoming.extend(note_changes(&repo, before, after)?);
            after
        };
        let Some(ours) = ours.filter(|o| Some(*o) != theirs) else {
            break; // nothing to push
        };
        if !opts.allow_secrets {
            let leaking = commits_with_private_keys(&repo, theirs, ours)?;
            if !leaking.is_empty() {
                return Err(KbError::SecretInHistory {
                    notes: leaking,
                    base: theirs.map(|t| format!("{remote_name}/{remote_branch} ({})", short(t))),
                    vault: root.to_path_buf(),
                });
            }
        }
        match push(&repo, &remote_name, ours, &remote_branch, opts)? {
            true => {
                pushed = Some(ours);
                break;
            }
            false if attempt + 1 < PUSH_TRIES => continue, // the remote moved: again
            false => {
                return Err(KbError::Sync(
                    "the remote kept changing while kb pushed; nothing is lost locally".into(),
                ))
            }
        }
    }
    set_upstream(&repo, &branch, &remote_name, &remote_branch);
    // A conflict copy is listed once, as what it is (not as a note that came in or went out).
    for list in [&mut report.incoming, &mut report.outgoing] {
        for l in [&mut list.added, &mut list.changed, &mut list.removed] {
            l.retain(|p| !report.conflict_copies.contains(p));
        }
    }
    report.committed.sort();
    report.committed.dedup();
    if let Some(ours) = pushed {
        report.pushed = true;
        report.outgoing = note_changes(&repo, remote_before, Some(ours))?;
        let copies = &report.conflict_copies;
        for l in [
            &mut report.outgoing.added,
            &mut report.outgoing.changed,
            &mut report.outgoing.removed,
        ] {
            l.retain(|p| !copies.contains(p));
        }
    }
    Ok(report)
}

fn short(oid: Oid) -> String {
    oid.to_string()[..7].to_string()
}

/// What `kb clone` found in the repository it cloned.
#[derive(Debug, Default)]
pub struct Cloned {
    /// The branch checked out (None: the remote has no commit yet).
    pub branch: Option<String>,
    /// The remote's HEAD named a branch it does not have; kb took its only branch instead.
    pub head_was_missing: Option<String>,
    /// Paths of the repository that are symbolic links (or under `.kb/`): kb will not follow
    /// them (data, never directions).
    pub ignored_links: Vec<String>,
}

/// Clone the vault's repository into `dir` (which must not hold anything yet), then check it
/// before anything uses it: a remote HEAD naming a branch the remote does not have (a server
/// created with `master`, the notes pushed to `main`) is followed to the remote's only branch,
/// or refused with the branches named; the links a stranger's repository may hold are listed.
/// A clone that fails removes what it created.
pub fn clone(url: &str, dir: &Path, branch: Option<&str>, opts: &SyncOptions) -> Result<Cloned> {
    let existed = dir.exists();
    let result = transport::clone(url, dir, branch, opts).and_then(|()| settle_clone(dir));
    if result.is_err() {
        if existed {
            // Empty before (checked by the caller): empty again.
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    let p = e.path();
                    let _ = if e.file_type().is_ok_and(|t| t.is_dir()) {
                        std::fs::remove_dir_all(&p)
                    } else {
                        std::fs::remove_file(&p)
                    };
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    result
}

fn settle_clone(dir: &Path) -> Result<Cloned> {
    let repo = git::open(dir).ok_or_else(|| KbError::NotARepository(dir.to_path_buf()))?;
    let mut cloned = Cloned::default();
    let remote_branches: Vec<String> = repo
        .branches(Some(git2::BranchType::Remote))?
        .flatten()
        .filter_map(|(b, _)| b.name().ok().flatten().map(str::to_string))
        .filter(|n| !n.ends_with("/HEAD"))
        .collect();
    if head_oid(&repo).is_none() && !remote_branches.is_empty() {
        let wanted = repo
            .find_reference("HEAD")?
            .symbolic_target()
            .ok()
            .flatten()
            .map(|t| t.trim_start_matches("refs/heads/").to_string())
            .unwrap_or_default();
        let [only] = &remote_branches[..] else {
            let names: Vec<&str> = remote_branches
                .iter()
                .map(|b| b.split_once('/').map_or(b.as_str(), |(_, n)| n))
                .collect();
            return Err(KbError::RemoteHeadMissing {
                head: wanted,
                branches: names.iter().map(|s| s.to_string()).collect(),
            });
        };
        let (remote, name) = only.split_once('/').unwrap_or(("origin", only));
        let tip = repo
            .find_reference(&format!("refs/remotes/{only}"))?
            .peel_to_commit()?;
        let mut local = repo.branch(name, &tip, false)?;
        local.set_upstream(Some(only))?;
        let _ = remote;
        repo.set_head(&format!("refs/heads/{name}"))?;
        let mut cb = git2::build::CheckoutBuilder::new();
        cb.safe();
        repo.checkout_head(Some(&mut cb))?;
        cloned.head_was_missing = Some(wanted);
    }
    cloned.branch = repo
        .head()
        .ok()
        .filter(|h| h.target().is_some())
        .and_then(|h| h.shorthand().ok().map(str::to_string));
    if let Some(tree) = repo.head().ok().and_then(|h| h.peel_to_tree().ok()) {
        tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            let path = format!("{parent}{}", entry.name().unwrap_or(""));
            if entry.filemode() == i32::from(git2::FileMode::Link) || path == ".kb" {
                cloned.ignored_links.push(path);
            }
            git2::TreeWalkResult::Ok
        })?;
    }
    Ok(cloned)
}

/// Refuse to touch a repository that git left in the middle of something.
fn check_state(repo: &Repository) -> Result<()> {
    let what = match repo.state() {
        RepositoryState::Clean => return Ok(()),
        RepositoryState::Merge => "a merge",
        RepositoryState::Rebase
        | RepositoryState::RebaseInteractive
        | RepositoryState::RebaseMerge => "a rebase",
        RepositoryState::CherryPick | RepositoryState::CherryPickSequence => "a cherry-pick",
        RepositoryState::Revert | RepositoryState::RevertSequence => "a revert",
        RepositoryState::Bisect => "a bisect",
        _ => "another git operation",
    };
    Err(KbError::RepositoryBusy(what.to_string()))
}

pub(crate) fn head_oid(repo: &Repository) -> Option<Oid> {
    repo.head().ok().and_then(|h| h.target())
}

fn push_once(list: &mut Vec<String>, p: String) {
    if !list.contains(&p) {
        list.push(p);
    }
}

/// Whether a path of the work tree is a note: `*.md` outside hidden folders.
pub(crate) fn is_note_path(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with(".md") && !path.split('/').any(|p| p.starts_with('.'))
}

/// Commit every note changed, added or deleted in the vault's folder, and its `kb.toml` (and
/// nothing else: a vault inside a larger repository never commits the rest of it).
fn commit_local(repo: &Repository, root: &Path) -> Result<Vec<String>> {
    let prefix = git::vault_prefix(repo, root);
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .renames_head_to_index(false);
    if !prefix.is_empty() {
        opts.pathspec(format!("{prefix}/"))
            .disable_pathspec_match(true);
    }
    let statuses = repo.statuses(Some(&mut opts))?;
    let in_vault = |p: &str| -> Option<String> {
        if prefix.is_empty() {
            Some(p.to_string())
        } else {
            p.strip_prefix(&prefix)?
                .strip_prefix('/')
                .map(str::to_string)
        }
    };
    let mut paths: Vec<String> = statuses
        .iter()
        .filter(|e| !e.status().is_ignored() && !e.status().is_conflicted())
        .filter_map(|e| e.path().ok().map(str::to_string))
        .filter(|p| in_vault(p).is_some_and(|r| is_note_path(&r) || r == crate::vault::CONFIG_FILE))
        .collect();
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        return Ok(paths);
    }
    let workdir = repo.workdir().map(Path::to_path_buf).unwrap_or_default();
    let shown: Vec<&str> = paths.iter().take(3).map(String::as_str).collect();
    let more = if paths.len() > 3 {
        format!(" and {} more", paths.len() - 3)
    } else {
        String::new()
    };
    let message = format!("Commit notes edited outside kb: {}{more}", shown.join(", "));
    // libgit2 stages here: the merge that follows reads its staging area in this process.
    git::commit_paths_locked(repo, &workdir, &paths, &message, None)?;
    Ok(paths)
}

/// The local branch, the remote, and the remote branch it follows.
fn tracking(repo: &Repository, opts: &SyncOptions) -> Result<(String, String, String)> {
    let head = repo.find_reference("HEAD")?;
    let target = head
        .symbolic_target()
        .ok()
        .flatten()
        .ok_or_else(|| KbError::Sync("HEAD is detached: check out a branch first".into()))?
        .to_string();
    let branch = target
        .strip_prefix("refs/heads/")
        .unwrap_or(&target)
        .to_string();
    let config = repo.config()?;
    let configured_remote = config.get_string(&format!("branch.{branch}.remote")).ok();
    let remote = opts
        .remote
        .clone()
        .or(configured_remote)
        .unwrap_or_else(|| "origin".to_string());
    if repo.find_remote(&remote).is_err() {
        // kb.toml's remote becomes `origin` when the repository has none; a remote named on
        // the command line must exist (a typo adds nothing).
        let remotes = repo.remotes()?;
        let existing: Vec<String> = remotes
            .iter()
            .flatten()
            .flatten()
            .map(str::to_string)
            .collect();
        match &opts.default_url {
            Some(url) if opts.remote.is_none() && existing.is_empty() => {
                repo.remote(&remote, url)?;
            }
            _ => {
                return Err(KbError::NoRemote {
                    name: remote,
                    existing,
                })
            }
        }
    }
    let remote_branch = config
        .get_string(&format!("branch.{branch}.merge"))
        .ok()
        .and_then(|m| m.strip_prefix("refs/heads/").map(str::to_string))
        .unwrap_or_else(|| branch.clone());
    Ok((branch, remote, remote_branch))
}

fn set_upstream(repo: &Repository, branch: &str, remote: &str, remote_branch: &str) {
    if let Ok(mut config) = repo.config() {
        if config
            .get_string(&format!("branch.{branch}.remote"))
            .is_err()
            && head_oid(repo).is_some()
        {
            let _ = config.set_str(&format!("branch.{branch}.remote"), remote);
            let _ = config.set_str(
                &format!("branch.{branch}.merge"),
                &format!("refs/heads/{remote_branch}"),
            );
        }
    }
}
