//! `kb sync` through git2: commit the notes edited by hand, fetch, integrate, push.
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

use crate::error::{KbError, Result};
use crate::frontmatter;
use crate::git;
use crate::normalize;
use crate::note::Note;
use git2::Signature;
use git2::{
    build::CheckoutBuilder, AutotagOption, Cred, CredentialType, ErrorClass, ErrorCode,
    FetchOptions, IndexEntry, MergeFileInput, ObjectType, Oid, PushOptions, RemoteCallbacks,
    Repository, RepositoryState,
};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Tries before giving up on a push the remote keeps rejecting (it moved during the sync).
const PUSH_TRIES: usize = 3;

/// Where the person's SSH keys are, for remotes that ask for one.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Remote name (default: the branch's upstream remote, else `origin`).
    pub remote: Option<String>,
    /// The folder holding `id_ed25519`, `id_ecdsa`, `id_rsa` (normally `~/.ssh`).
    pub ssh_dir: Option<PathBuf>,
    /// Push notes that hold a private key (refused otherwise).
    pub allow_secrets: bool,
    /// The team's remote URL (kb.toml): added as the remote when the repository has none.
    pub default_url: Option<String>,
}

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
pub fn sync(root: &Path, opts: &SyncOptions) -> Result<SyncReport> {
    let repo = git::open(root).ok_or_else(|| KbError::NotARepository(root.to_path_buf()))?;
    check_state(&repo)?;
    let _session = git::session(&repo)?;
    let committed = commit_local(&repo, root)?;
    let (branch, remote_name, remote_branch) = tracking(&repo, opts)?;
    let mut report = SyncReport {
        committed,
        remote: remote_name.clone(),
        branch: branch.clone(),
        ..SyncReport::default()
    };
    let start = head_oid(&repo);
    let mut remote_before: Option<Oid> = None;
    for attempt in 0..PUSH_TRIES {
        let theirs = fetch(&repo, &remote_name, &remote_branch, opts)?;
        if attempt == 0 {
            remote_before = theirs;
        }
        integrate(&repo, &branch, theirs, &mut report)?;
        let ours = head_oid(&repo);
        if ours.is_none() || ours == theirs {
            break; // nothing to push
        }
        if !opts.allow_secrets {
            let leaking = notes_with_private_keys(&repo, theirs, ours)?;
            if !leaking.is_empty() {
                return Err(KbError::SecretInNotes(leaking));
            }
        }
        match push(&repo, &remote_name, &branch, &remote_branch, opts)? {
            true => {
                report.pushed = true;
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
    let end = head_oid(&repo);
    report.incoming = note_changes(&repo, start, end)?;
    if report.pushed {
        report.outgoing = note_changes(&repo, remote_before, end)?;
    }
    Ok(report)
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

fn head_oid(repo: &Repository) -> Option<Oid> {
    repo.head().ok().and_then(|h| h.target())
}

/// Whether a path of the work tree is a note: `*.md` outside hidden folders.
fn is_note_path(path: &str) -> bool {
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
    git::commit_paths_locked(repo, &workdir, &paths, &message)?;
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
        match &opts.default_url {
            Some(url) => {
                repo.remote(&remote, url)?;
            }
            None => return Err(KbError::NoRemote(remote)),
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

/// Credentials as people already have them: the SSH agent and the usual keys for SSH, git's
/// credential helpers for HTTPS. Each kind is offered once; a rejected one is not retried
/// forever (libgit2 asks again after every refusal).
fn callbacks<'a>(
    config: &'a git2::Config,
    opts: &'a SyncOptions,
    tries: &'a Cell<u32>,
    auth_failed: &'a Cell<bool>,
) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    cb.credentials(move |url, username, allowed| {
        let n = tries.get();
        tries.set(n + 1);
        if n > 0 {
            auth_failed.set(true);
        }
        let user = username.unwrap_or("git");
        if allowed.contains(CredentialType::SSH_KEY) {
            let keys = ssh_keys(opts);
            // try 0: the agent; then each key file in turn
            if n == 0 {
                if let Ok(c) = Cred::ssh_key_from_agent(user) {
                    return Ok(c);
                }
            }
            if let Some(key) = keys.get((n as usize).saturating_sub(1)) {
                return Cred::ssh_key(user, None, key, None);
            }
            return Err(git2::Error::new(
                ErrorCode::Auth,
                ErrorClass::Ssh,
                "no SSH key was accepted",
            ));
        }
        if n >= 2 {
            return Err(git2::Error::new(
                ErrorCode::Auth,
                ErrorClass::Http,
                "the credentials were rejected",
            ));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let Ok(c) = Cred::credential_helper(config, url, username) {
                return Ok(c);
            }
        }
        if allowed.contains(CredentialType::DEFAULT) {
            return Cred::default();
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(user);
        }
        Err(git2::Error::new(
            ErrorCode::Auth,
            ErrorClass::Http,
            "no credentials available (configure a git credential helper)",
        ))
    });
    cb
}

fn ssh_keys(opts: &SyncOptions) -> Vec<PathBuf> {
    let Some(dir) = &opts.ssh_dir else {
        return Vec::new();
    };
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|k| dir.join(k))
        .filter(|p| p.is_file())
        .collect()
}

/// Turn a transport error into one clear sentence; nothing of a URL's password is kept.
fn network_error(remote: &str, e: git2::Error, auth_failed: bool) -> KbError {
    if auth_failed || e.code() == ErrorCode::Auth {
        return KbError::AuthRejected(remote.to_string());
    }
    let msg = redact(e.message());
    KbError::RemoteUnreachable {
        remote: remote.to_string(),
        reason: msg,
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

/// The remote by name; a relative path URL (`../team.git`) is taken from the work tree, as
/// git does (libgit2 would take it from the current folder).
fn open_remote<'r>(repo: &'r Repository, name: &str) -> Result<git2::Remote<'r>> {
    let remote = repo.find_remote(name)?;
    let url = remote.url().unwrap_or("").to_string();
    let relative = !url.is_empty()
        && !url.contains("://")
        && !Path::new(&url).is_absolute()
        && !looks_like_scp(&url);
    if relative {
        if let Some(workdir) = repo.workdir() {
            let abs = workdir.join(&url);
            return Ok(repo.remote_anonymous(&abs.to_string_lossy())?);
        }
    }
    Ok(remote)
}

/// `git@host:team/notes.git` (but not `C:\path` on Windows).
fn looks_like_scp(url: &str) -> bool {
    match url.split_once(':') {
        Some((host, _)) => host.len() > 1 && !host.contains('/') && !host.contains('\\'),
        None => false,
    }
}

/// Fetch the remote branch; its tip, or None when the remote has no such branch yet.
fn fetch(
    repo: &Repository,
    remote_name: &str,
    remote_branch: &str,
    opts: &SyncOptions,
) -> Result<Option<Oid>> {
    let mut remote = open_remote(repo, remote_name)?;
    let tracking_ref = format!("refs/remotes/{remote_name}/{remote_branch}");
    let refspec = format!("+refs/heads/{remote_branch}:{tracking_ref}");
    let tries = Cell::new(0);
    let auth_failed = Cell::new(false);
    let config = repo.config()?;
    let mut cb = callbacks(&config, opts, &tries, &auth_failed);
    cb.transfer_progress(|p| {
        crate::progress::report(
            "receiving notes",
            p.received_objects() as u64,
            p.total_objects() as u64,
        );
        true
    });
    let mut fo = FetchOptions::new();
    fo.remote_callbacks(cb).download_tags(AutotagOption::None);
    if let Err(e) = remote.fetch(&[refspec.as_str()], Some(&mut fo), Some("kb sync: fetch")) {
        return Err(network_error(remote_name, e, auth_failed.get()));
    }
    // A branch that does not exist on the remote yet is not an error: the first push makes it.
    let advertised = remote
        .list()
        .map(|heads| {
            heads
                .iter()
                .any(|h| h.name() == format!("refs/heads/{remote_branch}"))
        })
        .unwrap_or(true);
    if !advertised {
        return Ok(None);
    }
    Ok(repo
        .find_reference(&tracking_ref)
        .ok()
        .and_then(|r| r.target()))
}

/// Push the branch; false when the remote rejected it because it moved.
fn push(
    repo: &Repository,
    remote_name: &str,
    branch: &str,
    remote_branch: &str,
    opts: &SyncOptions,
) -> Result<bool> {
    let mut remote = open_remote(repo, remote_name)?;
    let tries = Cell::new(0);
    let auth_failed = Cell::new(false);
    let rejected: RefCell<Option<String>> = RefCell::new(None);
    let server: RefCell<Vec<u8>> = RefCell::new(Vec::new());
    let config = repo.config()?;
    let mut cb = callbacks(&config, opts, &tries, &auth_failed);
    cb.push_update_reference(|_refname, status| {
        if let Some(s) = status {
            *rejected.borrow_mut() = Some(s.to_string());
        }
        Ok(())
    });
    // What the server prints ("remote: ..." in git): the reason a hook refused the push.
    cb.sideband_progress(|data| {
        let mut buf = server.borrow_mut();
        if buf.len() < 16 * 1024 {
            buf.extend_from_slice(data);
        }
        true
    });
    let mut po = PushOptions::new();
    po.remote_callbacks(cb);
    let spec = format!("refs/heads/{branch}:refs/heads/{remote_branch}");
    let result = remote.push(&[spec.as_str()], Some(&mut po));
    drop(po);
    let refused = |status: String| {
        let said = server_lines(&server.borrow());
        if remote_moved(&status) {
            Ok(false)
        } else {
            Err(KbError::PushRefused {
                remote: remote_name.to_string(),
                status,
                server: said,
            })
        }
    };
    match result {
        Ok(()) => {}
        Err(e) if e.code() == ErrorCode::NotFastForward => return Ok(false),
        Err(e) if e.class() == git2::ErrorClass::Reference || remote_moved(e.message()) => {
            return refused(e.message().to_string())
        }
        Err(e) => return Err(network_error(remote_name, e, auth_failed.get())),
    }
    let status = rejected.borrow_mut().take();
    match status {
        None => Ok(true),
        Some(status) => refused(status),
    }
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

/// Bring the remote's commits into the branch: nothing, a fast-forward, or a merge commit.
fn integrate(
    repo: &Repository,
    branch: &str,
    theirs: Option<Oid>,
    report: &mut SyncReport,
) -> Result<()> {
    let Some(theirs) = theirs else {
        return Ok(());
    };
    let branch_ref = format!("refs/heads/{branch}");
    let Some(ours) = head_oid(repo) else {
        // A new clone of an empty repository, or a vault with no commit yet.
        checkout(repo, theirs)?;
        repo.reference(&branch_ref, theirs, true, "kb sync: fast-forward")?;
        return Ok(());
    };
    if ours == theirs {
        return Ok(());
    }
    let base = repo.merge_base(ours, theirs).ok();
    if base == Some(theirs) {
        return Ok(()); // we are ahead
    }
    if base == Some(ours) {
        checkout(repo, theirs)?;
        repo.reference(&branch_ref, theirs, true, "kb sync: fast-forward")?;
        return Ok(());
    }
    let our_commit = repo.find_commit(ours)?;
    let their_commit = repo.find_commit(theirs)?;
    let mut index = repo.merge_commits(&our_commit, &their_commit, None)?;
    if index.has_conflicts() {
        resolve_conflicts(repo, &mut index, theirs, report)?;
    }
    let tree_id = index.write_tree_to(repo)?;
    let tree = repo.find_tree(tree_id)?;
    let (author, committer) = git::signatures(repo)?;
    let message = format!("Merge remote changes into {branch} (kb sync)");
    let merge = repo.commit(
        None,
        &author,
        &committer,
        &message,
        &tree,
        &[&our_commit, &their_commit],
    )?;
    checkout(repo, merge)?;
    repo.reference(&branch_ref, merge, true, "kb sync: merge")?;
    Ok(())
}

/// Write a commit's tree to the work tree and the git index (before the branch moves).
fn checkout(repo: &Repository, commit: Oid) -> Result<()> {
    let obj = repo.find_object(commit, Some(ObjectType::Commit))?;
    let mut cb = CheckoutBuilder::new();
    cb.force();
    repo.checkout_tree(&obj, Some(&mut cb))?;
    Ok(())
}

/// Resolve every conflicted path of a merge index without losing either side.
fn resolve_conflicts(
    repo: &Repository,
    index: &mut git2::Index,
    theirs: Oid,
    report: &mut SyncReport,
) -> Result<()> {
    let conflicts: Vec<git2::IndexConflict> = index.conflicts()?.filter_map(|c| c.ok()).collect();
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    let short = theirs.to_string()[..7].to_string();
    for c in conflicts {
        let path = c
            .our
            .as_ref()
            .or(c.their.as_ref())
            .or(c.ancestor.as_ref())
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .unwrap_or_default();
        let blob = |e: &Option<IndexEntry>| -> Result<Option<Vec<u8>>> {
            match e {
                Some(e) => Ok(Some(repo.find_blob(e.id)?.content().to_vec())),
                None => Ok(None),
            }
        };
        let (base, ours, theirs_content) = (blob(&c.ancestor)?, blob(&c.our)?, blob(&c.their)?);
        index.conflict_remove(Path::new(&path))?;
        let Some(template) = c
            .our
            .as_ref()
            .or(c.their.as_ref())
            .or(c.ancestor.as_ref())
            .map(clone_entry)
        else {
            continue;
        };
        match (ours, theirs_content) {
            // Deleted on one side, edited (or kept) on the other: keep the edit.
            (Some(o), None) => add_entry(repo, index, &template, &path, &o)?,
            (None, Some(t)) => add_entry(repo, index, &template, &path, &t)?,
            (None, None) => {}
            (Some(o), Some(t)) => match merge_note(&path, base.as_deref(), &o, &t) {
                Merged::Clean(content) => {
                    add_entry(repo, index, &template, &path, &content)?;
                    report.merged.push(path.clone());
                }
                Merged::Collision(content) => {
                    add_entry(repo, index, &template, &path, &content)?;
                    let copy = conflict_copy_path(&path, &stamp, &short);
                    add_entry(repo, index, &template, &copy, &t)?;
                    report.conflict_copies.push(copy);
                }
            },
        }
    }
    Ok(())
}

fn add_entry(
    repo: &Repository,
    index: &mut git2::Index,
    template: &IndexEntry,
    path: &str,
    content: &[u8],
) -> Result<()> {
    let entry = IndexEntry {
        path: path.as_bytes().to_vec(),
        file_size: content.len() as u32,
        id: repo.blob(content)?,
        flags: (path.len().min(0xfff)) as u16,
        flags_extended: 0,
        ..clone_entry(template)
    };
    index.add(&entry)?;
    Ok(())
}

fn clone_entry(e: &IndexEntry) -> IndexEntry {
    IndexEntry {
        ctime: e.ctime,
        mtime: e.mtime,
        dev: e.dev,
        ino: e.ino,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        file_size: e.file_size,
        id: e.id,
        flags: e.flags,
        flags_extended: e.flags_extended,
        path: e.path.clone(),
    }
}

/// `dir/name.conflict-20261123-101500-abc1234.md` beside `dir/name.md`.
pub fn conflict_copy_path(path: &str, stamp: &str, short: &str) -> String {
    match path.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.contains('/') => {
            format!("{stem}.conflict-{stamp}-{short}.{ext}")
        }
        _ => format!("{path}.conflict-{stamp}-{short}"),
    }
}

/// The outcome of merging one file changed on both sides.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    /// Both sides' changes are in this content.
    Clean(Vec<u8>),
    /// The edits collide: this content (ours, with the other side's errors and tags added)
    /// stays; the other side is to be kept as a conflict copy.
    Collision(Vec<u8>),
}

/// Merge a note changed on both sides: the `errors:`, `tags:` and `outcomes:` lists are unions
/// (and `updated:` and `verified:` the later of the two), the rest is a three-way merge of lines.
pub fn merge_note(path: &str, base: Option<&[u8]>, ours: &[u8], theirs: &[u8]) -> Merged {
    if ours == theirs {
        return Merged::Clean(ours.to_vec());
    }
    if let Some(clean) = merge_lines(path, base.unwrap_or(b""), ours, theirs) {
        return Merged::Clean(clean);
    }
    let (Ok(o), Ok(t)) = (std::str::from_utf8(ours), std::str::from_utf8(theirs)) else {
        return Merged::Collision(ours.to_vec());
    };
    if !is_note_path(path) {
        return Merged::Collision(ours.to_vec());
    }
    let b = base.and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("");
    let (ofm, tfm) = (
        Note::parse(o, "").front_matter,
        Note::parse(t, "").front_matter,
    );
    // The lists joined: ours first, then what only theirs holds (`ours` items of each).
    let joined: [(&str, Vec<String>, usize); 3] = [
        (
            "errors",
            union_errors(&ofm.errors, &tfm.errors),
            ofm.errors.len(),
        ),
        ("tags", union_tags(&ofm.tags, &tfm.tags), ofm.tags.len()),
        (
            "outcomes",
            union_lines(&ofm.outcomes, &tfm.outcomes),
            ofm.outcomes.len(),
        ),
    ];
    let listed = ["errors", "tags", "outcomes", "updated", "verified"];
    // Everything but the lists merged line by line: if that is clean, the lists are joined.
    let strip = |s: &str| frontmatter::remove_keys(s, &listed);
    if let Some(rest) = merge_lines(
        path,
        strip(b).as_bytes(),
        strip(o).as_bytes(),
        strip(t).as_bytes(),
    ) {
        let rest = String::from_utf8_lossy(&rest).into_owned();
        let later = |a: &Option<String>, b: &Option<String>| a.clone().max(b.clone());
        let set: Vec<(&str, String)> = [
            ("updated", later(&ofm.updated, &tfm.updated)),
            ("verified", later(&ofm.verified, &tfm.verified)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        let adds: Vec<(&str, &[String])> = joined
            .iter()
            .filter(|(_, all, _)| !all.is_empty())
            .map(|(k, all, _)| (*k, &all[..]))
            .collect();
        if let Ok(text) = frontmatter::edit_fields(&rest, &adds, &set) {
            return Merged::Clean(text.into_bytes());
        }
    }
    // A real collision: ours stays, enriched with the other side's errors, tags and outcomes.
    let adds: Vec<(&str, &[String])> = joined
        .iter()
        .filter(|(_, all, ours)| all.len() > *ours)
        .map(|(k, all, ours)| (*k, &all[*ours..]))
        .collect();
    if adds.is_empty() {
        return Merged::Collision(ours.to_vec());
    }
    match frontmatter::append_items(o, &adds, None) {
        Ok(text) => Merged::Collision(text.into_bytes()),
        Err(_) => Merged::Collision(ours.to_vec()),
    }
}

/// A three-way merge of lines; None when edits overlap.
fn merge_lines(path: &str, base: &[u8], ours: &[u8], theirs: &[u8]) -> Option<Vec<u8>> {
    let mut b = MergeFileInput::new();
    b.content(base).path(path);
    let mut o = MergeFileInput::new();
    o.content(ours).path(path);
    let mut t = MergeFileInput::new();
    t.content(theirs).path(path);
    let result = git2::merge_file(&b, &o, &t, None).ok()?;
    result.is_automergeable().then(|| result.content().to_vec())
}

/// Ours, then theirs not already there by normalised form.
fn union_errors(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut keys: BTreeSet<String> = ours.iter().map(|e| normalize::key(e)).collect();
    let mut out = ours.to_vec();
    for e in theirs {
        if keys.insert(normalize::key(e)) {
            out.push(e.clone());
        }
    }
    out
}

/// Ours, then theirs not already there (outcome lines: each is one use, kept once).
fn union_lines(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut out = ours.to_vec();
    for t in theirs {
        if !out.iter().any(|o| o.trim() == t.trim()) {
            out.push(t.clone());
        }
    }
    out
}

fn union_tags(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut out = ours.to_vec();
    for t in theirs {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t.clone());
        }
    }
    out
}

/// The notes that would go out (changed between the remote's tip and ours) holding a private key.
fn notes_with_private_keys(
    repo: &Repository,
    theirs: Option<Oid>,
    ours: Option<Oid>,
) -> Result<Vec<String>> {
    let changes = note_changes(repo, theirs, ours)?;
    let Some(ours) = ours else {
        return Ok(Vec::new());
    };
    let tree = repo.find_commit(ours)?.tree()?;
    let mut out = Vec::new();
    for path in changes.added.iter().chain(&changes.changed) {
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            continue;
        };
        let Ok(blob) = repo.find_blob(entry.id()) else {
            continue;
        };
        if crate::secrets::has_private_key(&String::from_utf8_lossy(blob.content())) {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Notes added, changed and removed between two commits.
fn note_changes(repo: &Repository, from: Option<Oid>, to: Option<Oid>) -> Result<Changes> {
    let mut changes = Changes::default();
    if from == to {
        return Ok(changes);
    }
    let tree = |oid: Option<Oid>| -> Result<Option<git2::Tree<'_>>> {
        match oid {
            Some(o) => Ok(Some(repo.find_commit(o)?.tree()?)),
            None => Ok(None),
        }
    };
    let (a, b) = (tree(from)?, tree(to)?);
    let diff = repo.diff_tree_to_tree(a.as_ref(), b.as_ref(), None)?;
    for d in diff.deltas() {
        let path = d
            .new_file()
            .path()
            .or(d.old_file().path())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if !is_note_path(&path) {
            continue;
        }
        match d.status() {
            git2::Delta::Added | git2::Delta::Copied => changes.added.push(path),
            git2::Delta::Deleted => changes.removed.push(path),
            git2::Delta::Renamed => {
                if let Some(old) = d.old_file().path() {
                    changes
                        .removed
                        .push(old.to_string_lossy().replace('\\', "/"));
                }
                changes.added.push(path);
            }
            _ => changes.changed.push(path),
        }
    }
    Ok(changes)
}

/// Clone `url` into `dir` with the same credentials as sync.
pub fn clone(url: &str, dir: &Path, opts: &SyncOptions) -> Result<()> {
    // No repository yet: the credential helpers come from the user's and system git config.
    let tries = Cell::new(0);
    let auth_failed = Cell::new(false);
    let config = git2::Config::open_default()?;
    let mut fo = FetchOptions::new();
    fo.remote_callbacks(callbacks(&config, opts, &tries, &auth_failed));
    let mut builder = git2::build::RepoBuilder::new();
    builder.fetch_options(fo);
    let repo = builder
        .clone(url, dir)
        .map_err(|e| network_error(&redact(url), e, auth_failed.get()))?;
    let shown = redact(url);
    if shown != url {
        scrub_reflogs(&repo, url, &shown)?;
    }
    Ok(())
}

/// libgit2 writes the clone URL, password included, into the reflogs ("clone: from URL");
/// git itself strips it. Rewrite every reflog entry that holds `url` with `shown` instead.
fn scrub_reflogs(repo: &Repository, url: &str, shown: &str) -> Result<()> {
    let mut names = vec!["HEAD".to_string()];
    for r in repo.references()?.flatten() {
        if let Ok(n) = r.name() {
            names.push(n.to_string());
        }
    }
    for name in names {
        let mut log = repo.reflog(&name)?;
        let entries: Vec<(Oid, Signature<'static>, Option<String>)> = log
            .iter()
            .map(|e| {
                (
                    e.id_new(),
                    e.committer().to_owned(),
                    e.message_bytes()
                        .map(|b| String::from_utf8_lossy(b).into_owned()),
                )
            })
            .collect();
        if !entries
            .iter()
            .any(|(_, _, m)| m.as_deref().is_some_and(|m| m.contains(url)))
        {
            continue;
        }
        while !log.is_empty() {
            log.remove(0, false)?;
        }
        // Entries come newest first; append oldest first.
        for (id, who, msg) in entries.into_iter().rev() {
            let msg = msg.map(|m| m.replace(url, shown));
            log.append(id, &who, msg.as_deref())?;
        }
        log.write()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(errors: &[&str], tags: &str, body: &str) -> String {
        let mut s = format!("---\ntitle: T\ntags: [{tags}]\nerrors:\n");
        for e in errors {
            s.push_str(&format!("  - \"{e}\"\n"));
        }
        s.push_str("---\n\n# T\n\n");
        s.push_str(body);
        s
    }

    #[test]
    fn errors_and_tags_are_unions_and_disjoint_edits_merge() {
        let (e1, e2, e3) = ("disk full", "quota exceeded", "volume offline");
        let base = note(&[e1], "a", "line1\nline2\nline3\n");
        let ours = note(&[e1, e2], "a, b", "line1 ours\nline2\nline3\n");
        let theirs = note(&[e1, e3], "a, c", "line1\nline2\nline3 theirs\n");
        let Merged::Clean(m) = merge_note(
            "n.md",
            Some(base.as_bytes()),
            ours.as_bytes(),
            theirs.as_bytes(),
        ) else {
            panic!("not clean")
        };
        let m = String::from_utf8(m).unwrap();
        let n = Note::parse(&m, "n");
        assert_eq!(n.errors, vec![e1, e2, e3]);
        assert_eq!(n.tags, vec!["a", "b", "c"]);
        assert!(m.contains("line1 ours\nline2\nline3 theirs\n"), "{m}");
    }

    #[test]
    fn colliding_edits_keep_ours_with_their_lists() {
        let base = note(&["disk full"], "a", "fix: old\n");
        let ours = note(&["disk full"], "a", "fix: ours\n");
        let theirs = note(&["disk full", "printer jammed"], "a", "fix: theirs\n");
        let Merged::Collision(m) = merge_note(
            "n.md",
            Some(base.as_bytes()),
            ours.as_bytes(),
            theirs.as_bytes(),
        ) else {
            panic!("should collide")
        };
        let m = String::from_utf8(m).unwrap();
        assert!(m.contains("fix: ours"));
        assert_eq!(
            Note::parse(&m, "n").errors,
            vec!["disk full", "printer jammed"]
        );
    }

    #[test]
    fn conflict_copies_are_named_beside_the_note() {
        assert_eq!(
            conflict_copy_path("a/b.md", "20261123-101500", "abc1234"),
            "a/b.conflict-20261123-101500-abc1234.md"
        );
        assert_eq!(
            conflict_copy_path("README", "s", "c"),
            "README.conflict-s-c"
        );
    }

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redact("failed https://bob:s3cret@host/x.git now"),
            "failed https://***@host/x.git now"
        );
        assert_eq!(redact("plain message"), "plain message");
    }
}
