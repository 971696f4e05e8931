//! Git, through git2: creating a vault's repository and committing exactly the notes a
//! command changed. Nothing outside the notes is ever staged.

use crate::error::Result;
use git2::{Repository, Signature};
use std::path::Path;

/// Who commits when git has no user configured.
const DEFAULT_NAME: &str = "kb";
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

/// Stage these paths (relative to `vault_root`, `/`-separated; deleted files are removed from
/// the index) and commit them with `message`. Returns the short id of the new commit, or None
/// when nothing changed.
pub fn commit_paths(
    repo: &Repository,
    vault_root: &Path,
    rels: &[String],
    message: &str,
) -> Result<Option<String>> {
    let workdir = repo.workdir().unwrap_or(vault_root).to_path_buf();
    let workdir = workdir.canonicalize().unwrap_or(workdir);
    let prefix = vault_root
        .strip_prefix(&workdir)
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let mut index = repo.index()?;
    for rel in rels {
        let mut path = prefix.clone();
        for part in rel.split('/') {
            path.push(part);
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
