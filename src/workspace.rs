//! An opened vault: its folder, its fresh index and its git repository, with the operations
//! commands need as single calls (add a note, attach an error, record an outcome, a
//! verification or an edit, sync). Each writes the note (atomically, under the vault's note
//! lock, checked by reading it back), re-indexes it, commits it, and returns what happened:
//! the command only prints the [`Stored`] report. Commands never call each other for these.
//! (A note's *record* is its outcomes and verification, [`crate::outcomes::Record`];
//! "record an outcome" adds to it. Writing and committing notes is *storing* them.)
//!
//! The note is safe on disk once written, so neither the index update nor the commit may turn
//! the operation into a failure (a person would write the note again and get a duplicate):
//! their problems are in the report, the next command indexes it, the next `kb sync` commits it.

use crate::error::{KbError, Result};
use crate::frontmatter;
use crate::index::{Check, NoteIndex, UpdateReport};
use crate::normalize;
use crate::note::Note;
use crate::outcomes::Outcome;
use crate::output::one_line;
use crate::vault::{self, Vault};

pub struct Workspace {
    index: NoteIndex,
    /// The git program to stage commits with (None: libgit2); see
    /// [`crate::git::commit_paths_locked`].
    git: Option<std::path::PathBuf>,
}

/// What storing written notes did: their re-indexing and their commit.
#[derive(Debug)]
pub struct Stored {
    pub rels: Vec<String>,
    /// The commit message.
    pub message: String,
    /// The commit's short id; None when nothing changed; why git could not take it.
    pub commit: std::result::Result<Option<String>, Box<KbError>>,
    /// Whether the vault is a git repository at all.
    pub repository: bool,
    /// The index update (warnings about the notes read), or why it could not run now.
    pub indexed: std::result::Result<UpdateReport, String>,
}

/// What syncing the vault did.
#[derive(Debug)]
pub struct Synced {
    /// git's side: what came in, went out, merged, conflicted.
    pub report: crate::sync::SyncReport,
    /// The notes git says changed, re-read into the index.
    pub reindexed: usize,
    /// The index update (warnings about the notes read), or why it could not run now (the
    /// notes are in git either way; the next command indexes them).
    pub indexed: std::result::Result<UpdateReport, String>,
}

/// An error of a new note that a note already records ([`Workspace::known_error`]).
#[derive(Debug, Clone)]
pub struct KnownError {
    pub error: String,
    /// The note recording it.
    pub rel: String,
    pub title: String,
    pub similarity: f32,
}

/// What saving an edit did ([`Workspace::save_edit`]).
#[derive(Debug)]
pub enum Saved {
    /// The editor changed nothing.
    Unchanged,
    /// The edit is saved; `merged`: with what kb recorded while the editor was open.
    Stored { stored: Stored, merged: bool },
    /// The note changed meanwhile where the edit changed it too: the note is left as it is and
    /// the edit kept as a draft.
    Collision { draft: std::path::PathBuf },
}

/// Attaching an error to a note.
#[derive(Debug)]
pub enum Attached {
    /// The note already holds an error with the same constant parts: nothing changed.
    Already,
    Done(Stored),
}

impl Workspace {
    /// Open the vault's index, brought up to date as `check` says.
    pub fn open(vault: &Vault, check: Check) -> Result<(Workspace, UpdateReport)> {
        let (index, report) = NoteIndex::open(vault, check)?;
        Ok((Workspace::from_index(index), report))
    }

    pub fn from_index(index: NoteIndex) -> Workspace {
        Workspace { index, git: None }
    }

    /// Stage commits with this git program rather than libgit2.
    pub fn with_git(mut self, git: Option<std::path::PathBuf>) -> Workspace {
        self.git = git;
        self
    }

    pub fn index(&self) -> &NoteIndex {
        &self.index
    }

    pub fn index_mut(&mut self) -> &mut NoteIndex {
        &mut self.index
    }

    pub fn vault(&self) -> &Vault {
        self.index.vault()
    }

    /// Take the vault's write lock for `what` (the command, named to a kb that waits): the
    /// repository's kb lock ([`crate::git::session`]), else (no repository) the note lock.
    /// Every change of a note takes it before reading the note and keeps it until the change
    /// is committed, so no other kb (a sync bringing in the remote's commits, another
    /// `kb worked`) can change the note in between.
    pub fn lock(&self, what: &str) -> Result<WriteLock> {
        crate::git::start_libgit2();
        let vault = self.vault();
        match crate::git::open(vault.root()) {
            Some(repo) => {
                // Refused before anything is written: git would not commit it either.
                crate::git::signatures(&repo)?;
                let session = crate::git::session(&repo, what)?;
                Ok(WriteLock::Repository(repo, session))
            }
            None => Ok(WriteLock::Plain(vault.lock_notes()?)),
        }
    }

    /// Re-index and commit notes just written (added, changed or deleted), taking the vault's
    /// write lock for the commit.
    pub fn store(&mut self, rels: &[String], message: &str) -> Stored {
        match self.lock("kb") {
            Ok(lock) => self.store_locked(lock, rels, message),
            Err(e) => {
                let indexed = self.index.update_files(rels).map_err(|e| e.to_string());
                Stored {
                    rels: rels.to_vec(),
                    message: message.to_string(),
                    commit: Err(Box::new(e)),
                    repository: crate::git::in_repository(self.vault().root()),
                    indexed,
                }
            }
        }
    }

    /// [`Workspace::store`] with the write lock the caller took before changing the notes;
    /// it is released once the commit is made. The commit (git processes rewriting the
    /// staging area: most of the time in a large vault) and the index update (tantivy) touch
    /// different files and run side by side.
    pub fn store_locked(&mut self, lock: WriteLock, rels: &[String], message: &str) -> Stored {
        let vault = self.vault().clone();
        let git = self.git.as_deref();
        let index = &mut self.index;
        let ((repository, commit), indexed) = std::thread::scope(|s| {
            let committing = s.spawn(move || match lock {
                WriteLock::Plain(_) => (false, Ok(None)),
                WriteLock::Repository(repo, _session) => {
                    let commit =
                        crate::git::commit_paths_locked(&repo, vault.root(), rels, message, git)
                            .map_err(Box::new);
                    (true, commit)
                }
            });
            let indexed = index.update_files(rels).map_err(|e| e.to_string());
            let committed = committing.join().unwrap_or_else(|_| {
                let e = KbError::Sync("the commit stopped unexpectedly".into());
                (true, Err(Box::new(e)))
            });
            (committed, indexed)
        });
        Stored {
            rels: rels.to_vec(),
            message: message.to_string(),
            commit,
            repository,
            indexed,
        }
    }

    /// Sync the vault with its remote ([`crate::sync::sync`]), then re-index exactly the
    /// notes git says changed and read who wrote and changed the notes that came in.
    pub fn sync(&mut self, opts: &crate::sync::SyncOptions) -> Result<Synced> {
        let report = crate::sync::sync(self.vault().root(), opts)?;
        let rels = changed_notes(self.vault(), &report);
        let indexed = if rels.is_empty() {
            Ok(UpdateReport::default())
        } else {
            self.index.update_files(&rels).map_err(|e| e.to_string())
        };
        // Read now, not during the next search.
        crate::history::bring_vault_up_to_date(self.vault().root(), self.index.state_dir());
        Ok(Synced {
            report,
            reindexed: rels.len(),
            indexed,
        })
    }

    /// The first error of `note` that a note of the vault already records (a recorded error
    /// at least [`crate::matcher::DUPLICATE_SIMILARITY`] alike): adding would make a duplicate,
    /// linking is what helps.
    pub fn known_error(&self, note: &Note) -> Result<Option<KnownError>> {
        for error in &note.errors {
            let req = crate::search::SearchRequest {
                text: error.clone(),
                limit: 1,
                filter: Default::default(),
            };
            let Some(hit) = crate::search::search(&self.index, &req)?.into_iter().next() else {
                continue;
            };
            if hit.explanation.error_similarity >= crate::matcher::DUPLICATE_SIMILARITY {
                return Ok(Some(KnownError {
                    error: error.clone(),
                    rel: hit.note.rel.clone(),
                    title: hit.note.title.clone(),
                    similarity: hit.explanation.error_similarity,
                }));
            }
        }
        Ok(None)
    }

    /// Create a note from `text` in `folder` ("" for the top) under a name made from its
    /// title (never replacing a file), then record it.
    pub fn add_note(&mut self, folder: &str, title: &str, text: &str) -> Result<Stored> {
        let vault = self.vault().clone();
        vault.require_vault()?;
        let slug = vault::slugify(title);
        let lock = self
            .lock("kb add")
            .map_err(|e| vault::cannot_write(&format!("{slug}.md"), e))?;
        let rel = vault.create_note(folder, &slug, text)?;
        let message = format!("Add note: {}", one_line(title));
        Ok(self.store_locked(lock, &[rel], &message))
    }

    /// Append `error` to the note's `errors:` (unless its normalised form is already there)
    /// and set `updated:` to `now`; then record it. Concurrent attachments to one note all
    /// land (note lock, read back).
    pub fn attach_error(&mut self, rel: &str, error: &str, now: &str) -> Result<Attached> {
        let message = format!("Link error to {}: {}", vault::id_of(rel), one_line(error));
        let wanted = error.trim().to_string();
        let changed = self.change_note(
            rel,
            "kb link",
            |text, note| {
                let key = normalize::key(error);
                if note.all_errors().any(|e| normalize::key(e) == key) {
                    return Ok(None);
                }
                frontmatter::append_error(text, error, now).map(Some)
            },
            |back| back.errors.iter().any(|e| e.trim() == wanted),
        )?;
        Ok(match changed {
            None => Attached::Already,
            Some(lock) => Attached::Done(self.store_locked(lock, &[rel.to_string()], &message)),
        })
    }

    /// Add one outcome line to the note's `outcomes:` (every other byte unchanged); record it.
    pub fn record_outcome(&mut self, rel: &str, outcome: &Outcome) -> Result<Stored> {
        let line = outcome.to_line();
        let verb = if outcome.worked { "Worked" } else { "Failed" };
        let message = format!("{verb}: {}", vault::id_of(rel));
        let lock = self.change_note(
            rel,
            if outcome.worked {
                "kb worked"
            } else {
                "kb failed"
            },
            |text, _| {
                frontmatter::edit_fields(text, &[("outcomes", std::slice::from_ref(&line))], &[])
                    .map(Some)
            },
            |back| back.front_matter.outcomes.iter().any(|o| o.trim() == line),
        )?;
        Ok(self.finish(lock, rel, &message))
    }

    /// Set the note's `verified:` to `at`; record it.
    pub fn verify(&mut self, rel: &str, at: &str) -> Result<Stored> {
        let message = format!("Verified: {}", vault::id_of(rel));
        let lock = self.change_note(
            rel,
            "kb verify",
            |text, _| {
                frontmatter::edit_fields(text, &[], &[("verified", at.to_string())]).map(Some)
            },
            |back| back.front_matter.verified.as_deref() == Some(at),
        )?;
        Ok(self.finish(lock, rel, &message))
    }

    /// Save what the person's editor made of the note at `rel` (`before`: the note when the
    /// editor opened, on a copy; `after`: the copy when it closed). Under the write lock the
    /// note is read again: whatever kb recorded meanwhile (outcomes, linked errors,
    /// `verified`, a sync's changes) is merged with the edit as a sync merges two machines'
    /// versions; edits that really collide change nothing and the editor's text is kept as a
    /// draft.
    pub fn save_edit(&mut self, rel: &str, before: &[u8], after: &[u8]) -> Result<Saved> {
        if after == before {
            return Ok(Saved::Unchanged);
        }
        let vault = self.vault().clone();
        let lock = self
            .lock("kb edit")
            .map_err(|e| vault::cannot_write(rel, e))?;
        vault.check_real(rel)?;
        let (new, merged) = match std::fs::read(vault.abs(rel)) {
            Ok(now) if now == before => (after.to_vec(), false),
            // Deleted meanwhile (a sync): the edit is kept, as a sync keeps an edit over a delete.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (after.to_vec(), false),
            Err(e) => return Err(vault::io_err(&vault.abs(rel), e)),
            Ok(now) => match crate::sync::merge_note(rel, Some(before), after, &now) {
                crate::sync::Merged::Clean(text) => (text, true),
                crate::sync::Merged::Collision(_) => {
                    drop(lock);
                    let draft = vault.keep_draft(&String::from_utf8_lossy(after))?;
                    return Ok(Saved::Collision { draft });
                }
            },
        };
        if new == std::fs::read(vault.abs(rel)).unwrap_or_default() {
            return Ok(Saved::Unchanged);
        }
        vault.replace_note(rel, &new)?;
        let title = Note::parse_bytes(&new, vault::stem_of(rel)).title;
        let message = format!("Edit note: {}", one_line(&title));
        Ok(Saved::Stored {
            stored: self.store_locked(lock, &[rel.to_string()], &message),
            merged,
        })
    }

    /// Record a change [`Workspace::change_note`] made (the lock it returned; None when the
    /// note already held the change: nothing to record).
    fn finish(&mut self, lock: Option<WriteLock>, rel: &str, message: &str) -> Stored {
        match lock {
            Some(lock) => self.store_locked(lock, &[rel.to_string()], message),
            None => self.store(&[rel.to_string()], message),
        }
    }

    /// Change a note's text under the vault's write lock, taken before the note is read:
    /// `edit` gives the new text (None: nothing to change), which replaces the note
    /// atomically and must read back identical and satisfy `landed`. Returns the lock, still
    /// held, when the note changed (the caller commits, then releases it).
    fn change_note(
        &self,
        rel: &str,
        what: &str,
        edit: impl FnOnce(&str, &Note) -> std::result::Result<Option<String>, String>,
        landed: impl FnOnce(&Note) -> bool,
    ) -> Result<Option<WriteLock>> {
        let vault = self.vault();
        vault.require_vault()?;
        let lock = self.lock(what).map_err(|e| vault::cannot_write(rel, e))?;
        let text = read_text(vault, rel)?;
        let note = Note::parse(&text, vault::stem_of(rel));
        let new = match edit(&text, &note) {
            Ok(Some(new)) => new,
            Ok(None) => return Ok(None),
            Err(reason) => {
                return Err(KbError::FrontMatterEdit {
                    path: rel.to_string(),
                    reason,
                })
            }
        };
        vault.replace_note(rel, new.as_bytes())?;
        let back = read_text(vault, rel)?;
        if back != new || !landed(&Note::parse(&back, vault::stem_of(rel))) {
            return Err(KbError::FrontMatterEdit {
                path: rel.to_string(),
                reason: "the note read back does not hold the change".into(),
            });
        }
        Ok(Some(lock))
    }
}

/// The vault's write lock, held until dropped (see [`Workspace::lock`]).
pub enum WriteLock {
    /// The repository's kb session, with the repository the commit is made in.
    Repository(git2::Repository, crate::git::Session),
    /// A vault without a repository: its note lock.
    Plain(crate::vault::NotesLock),
}

/// Who records an outcome in `vault`: the git identity of its repository (as its commits
/// say), else the login name.
pub fn who(vault: Option<&Vault>) -> Option<String> {
    let from_git = vault
        .and_then(|v| crate::git::open(v.root()))
        .and_then(|repo| crate::git::signatures(&repo).ok())
        .and_then(|(author, _)| author.name().ok().map(str::to_string));
    from_git.or_else(|| {
        ["USER", "USERNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    })
}

/// The vault's notes a sync touched (git's paths are relative to the repository; the vault
/// may be a folder inside it), sorted, each once.
fn changed_notes(vault: &Vault, report: &crate::sync::SyncReport) -> Vec<String> {
    let Some(repo) = crate::git::open(vault.root()) else {
        return Vec::new();
    };
    let prefix = crate::git::vault_prefix(&repo, vault.root());
    let mut rels: Vec<String> = report
        .incoming
        .all()
        .chain(&report.committed)
        .chain(&report.conflict_copies)
        .chain(&report.merged)
        .filter_map(|p| {
            if prefix.is_empty() {
                Some(p.clone())
            } else {
                p.strip_prefix(&format!("{prefix}/")).map(str::to_string)
            }
        })
        .filter(|rel| vault.is_note_rel(rel))
        .collect();
    rels.sort();
    rels.dedup();
    rels
}

/// A note's text; an error naming the note when it is not UTF-8 (kb edits only text it can
/// write back unchanged).
pub fn read_text(vault: &Vault, rel: &str) -> Result<String> {
    let bytes = std::fs::read(vault.abs(rel)).map_err(|e| vault::io_err(&vault.abs(rel), e))?;
    String::from_utf8(bytes).map_err(|_| KbError::FrontMatterEdit {
        path: rel.to_string(),
        reason: "the file is not valid UTF-8".into(),
    })
}
