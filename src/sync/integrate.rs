//! Bringing the remote's commits into the branch with git2: nothing, a fast-forward, or a
//! merge commit whose conflicts are resolved note by note ([`super::merge`]); and what changed
//! between two commits.

use super::merge::{conflict_copy_path, merge_note, Merged};
use super::{head_oid, is_note_path, Changes, SyncReport};
use crate::error::{KbError, Result};
use crate::git;
use git2::{
    build::CheckoutBuilder, CheckoutNotificationType, IndexEntry, ObjectType, Oid, Repository,
};
use std::path::Path;

/// Bring the remote's commits into the branch: nothing, a fast-forward, or a merge commit.
pub(super) fn integrate(
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

/// Write a commit's tree to the work tree and the git index (before the branch moves), as
/// safely as `git merge` does: only the paths that differ between HEAD and the commit are
/// touched, and only where the work tree still holds HEAD's version. A local change or an
/// untracked (or ignored) file in the way of an incoming one stops it before anything is
/// written, with the paths named ([`KbError::SyncBlocked`]).
fn checkout(repo: &Repository, commit: Oid) -> Result<()> {
    let obj = repo.find_object(commit, Some(ObjectType::Commit))?;
    let blocked = std::cell::RefCell::new(Vec::new());
    let mut cb = CheckoutBuilder::new();
    cb.safe()
        .overwrite_ignored(false)
        .notify_on(CheckoutNotificationType::CONFLICT)
        .notify(|_, path, _, _, _| {
            if let Some(p) = path {
                blocked
                    .borrow_mut()
                    .push(p.to_string_lossy().replace('\\', "/"));
            }
            true
        });
    let result = repo.checkout_tree(&obj, Some(&mut cb));
    drop(cb);
    let mut blocked = blocked.into_inner();
    match result {
        Ok(()) if blocked.is_empty() => Ok(()),
        Ok(()) => Err(KbError::SyncBlocked(blocked)),
        Err(e) if e.code() == git2::ErrorCode::Conflict || !blocked.is_empty() => {
            blocked.sort();
            blocked.dedup();
            Err(KbError::SyncBlocked(blocked))
        }
        Err(e) => Err(e.into()),
    }
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

/// The notes that hold a private key in any commit that would go out (those reachable from
/// `ours` and not from the remote's tip `theirs`), not only in the last one: a key removed by
/// a later commit would still be pushed in the history.
pub(super) fn commits_with_private_keys(
    repo: &Repository,
    theirs: Option<Oid>,
    ours: Oid,
) -> Result<Vec<String>> {
    let mut walk = repo.revwalk()?;
    walk.push(ours)?;
    if let Some(t) = theirs {
        walk.hide(t)?;
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for oid in walk {
        let commit = repo.find_commit(oid?)?;
        let tree = commit.tree()?;
        // Against each parent: a blob new in this commit (a merge's side already checked
        // comes back as an already seen blob).
        let parents: Vec<Option<git2::Tree>> = if commit.parent_count() == 0 {
            vec![None]
        } else {
            commit.parents().map(|p| p.tree().ok()).collect()
        };
        for parent in parents {
            let diff = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), None)?;
            for d in diff.deltas() {
                let file = d.new_file();
                let Some(path) = file.path().map(|p| p.to_string_lossy().replace('\\', "/")) else {
                    continue;
                };
                if file.id().is_zero() || !is_note_path(&path) || !seen.insert(file.id()) {
                    continue;
                }
                let Ok(blob) = repo.find_blob(file.id()) else {
                    continue;
                };
                if crate::secrets::has_private_key(&String::from_utf8_lossy(blob.content()))
                    && !out.contains(&path)
                {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Notes added, changed and removed between two commits.
pub(super) fn note_changes(
    repo: &Repository,
    from: Option<Oid>,
    to: Option<Oid>,
) -> Result<Changes> {
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
