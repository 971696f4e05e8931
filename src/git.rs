//! Git, through git2: creating a vault's repository and committing exactly the notes a
//! command changed. Nothing outside the notes is ever staged.

use crate::error::{KbError, Result};
use git2::{Repository, Signature};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Who commits when git has no user configured.
/// The committer name kb uses when git has none configured.
pub const DEFAULT_NAME: &str = "kb";
const DEFAULT_EMAIL: &str = "kb@localhost";

/// The repository holding the vault, if there is one.
pub fn open(vault_root: &Path) -> Option<Repository> {
    let repo = Repository::discover(vault_root).ok()?;
    // A bare repository has no work tree to commit notes from.
    repo.workdir()?;
    Some(repo)
}

/// Create a repository at `root` (no-op if one is already there).
pub fn init(root: &Path) -> Result<Repository> {
    if let Ok(r) = Repository::open(root) {
        return Ok(r);
    }
    Ok(Repository::init(root)?)
}

/// Who authors and commits: `GIT_AUTHOR_*` / `GIT_COMMITTER_*` as git itself honours them,
/// else `user.name` / `user.email` from git's configuration, else kb's default identity.
pub fn signatures(repo: &Repository) -> Result<(Signature<'static>, Signature<'static>)> {
    let configured = repo.signature().ok().map(|s| s.to_owned());
    let pick = |role: &str| -> Result<Signature<'static>> {
        let var = |k: &str| {
            std::env::var(format!("GIT_{role}_{k}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let (name, email) = match (&configured, var("NAME"), var("EMAIL")) {
            (_, Some(n), Some(e)) => (n, e),
            (Some(c), n, e) => (
                n.unwrap_or_else(|| c.name().unwrap_or(DEFAULT_NAME).to_string()),
                e.unwrap_or_else(|| c.email().unwrap_or(DEFAULT_EMAIL).to_string()),
            ),
            (None, n, e) => (
                n.unwrap_or_else(|| DEFAULT_NAME.into()),
                e.unwrap_or_else(|| DEFAULT_EMAIL.into()),
            ),
        };
        Ok(Signature::now(&name, &email)?)
    };
    Ok((pick("AUTHOR")?, pick("COMMITTER")?))
}

/// One kb process writing to the repository at a time, and recovery from one that was killed.
///
/// A kb process killed while libgit2 writes leaves git's lock files behind (`index.lock`,
/// `refs/heads/main.lock`), and git refuses to work until someone removes them. A session
/// holds an OS lock on `.git/kb.lock` (released by the OS when the process dies) and records
/// its start in `.git/kb-session`, removed when it ends. Finding that record while holding the
/// lock means the last kb session died: the git lock files it could have left (those not older
/// than its start) are removed before work goes on.
pub struct Session {
    _lock: fs::File,
    marker: PathBuf,
}

pub fn session(repo: &Repository) -> Result<Session> {
    let gitdir = repo.path().to_path_buf();
    let io = |e: std::io::Error| KbError::InvalidInput(format!("{}: {e}", gitdir.display()));
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(gitdir.join("kb.lock"))
        .map_err(io)?;
    let start = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < crate::wait::get() => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => return Err(KbError::RepositoryLocked),
            Err(fs::TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    let marker = gitdir.join("kb-session");
    if let Some(died_at) = fs::read_to_string(&marker)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok())
    {
        remove_stale_locks(&gitdir, died_at);
    }
    fs::write(&marker, now_secs().to_string()).map_err(io)?;
    Ok(Session {
        _lock: lock,
        marker,
    })
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.marker);
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Remove git lock files created since `since` (seconds) by a kb process that died.
fn remove_stale_locks(gitdir: &Path, since: u64) {
    let mut stack = vec![gitdir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                // Lock files live at the top and under refs/ (not in the object store).
                if dir == gitdir && name != "refs" {
                    continue;
                }
                stack.push(path);
            } else if name.ends_with(".lock") && name != "kb.lock" {
                let mtime = e
                    .metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                if mtime + 1 >= since {
                    let _ = fs::remove_file(&path);
                }
            }
        }
    }
}

/// The vault's folder relative to the repository's work tree, `/`-separated (`""` when the
/// vault is the whole repository).
pub fn vault_prefix(repo: &Repository, vault_root: &Path) -> String {
    let Some(workdir) = repo.workdir() else {
        return String::new();
    };
    let workdir = workdir.canonicalize().unwrap_or(workdir.to_path_buf());
    vault_root
        .strip_prefix(&workdir)
        .map(|p| crate::vault::rel_string(Path::new(""), p))
        .unwrap_or_default()
}

/// Stage these paths (relative to `vault_root`, `/`-separated; deleted files are removed from
/// the index) and commit them with `message`. Returns the short id of the new commit, or None
/// when nothing changed.
pub fn commit_paths(
    repo: &Repository,
    vault_root: &Path,
    rels: &[String],
    message: &str,
) -> Result<Option<String>> {
    let _session = session(repo)?;
    commit_paths_locked(repo, vault_root, rels, message)
}

/// [`commit_paths`] inside a [`Session`] the caller holds.
pub fn commit_paths_locked(
    repo: &Repository,
    vault_root: &Path,
    rels: &[String],
    message: &str,
) -> Result<Option<String>> {
    let workdir = repo.workdir().unwrap_or(vault_root).to_path_buf();
    let prefix = vault_prefix(repo, vault_root);
    let mut index = repo.index()?;
    for rel in rels {
        let mut path = PathBuf::new();
        for part in prefix.split('/').chain(rel.split('/')) {
            if !part.is_empty() {
                path.push(part);
            }
        }
        if workdir.join(&path).exists() {
            index.add_path(&path)?;
        } else {
            let _ = index.remove_path(&path);
        }
    }
    index.write()?;
    let tree_id = index.write_tree()?;
    let parent = match repo.head() {
        Ok(h) => Some(h.peel_to_commit()?),
        Err(_) => None,
    };
    if let Some(p) = &parent {
        if p.tree_id() == tree_id {
            return Ok(None);
        }
    }
    let tree = repo.find_tree(tree_id)?;
    let (author, committer) = signatures(repo)?;
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let oid = repo.commit(Some("HEAD"), &author, &committer, message, &tree, &parents)?;
    let short = oid.to_string()[..7].to_string();
    Ok(Some(short))
}
