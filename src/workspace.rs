//! An opened vault: its folder, its fresh index and its git repository, with the operations
//! commands need as single calls (add a note, attach an error, record an outcome, a
//! verification or an edit, sync). Each writes the note (atomically, under the vault's note
//! lock, checked by reading it back), re-indexes it, commits it, and returns what happened:
//! the command only prints the [`Recorded`] report. Commands never call each other for these.
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

/// What recording written notes did.
#[derive(Debug)]
pub struct Recorded {
    pub rels: Vec<String>,
    /// The commit message.
    pub message: String,
    /// The commit's short id; None when nothing changed; an error message when git could not
    /// take it.
    pub commit: std::result::Result<Option<String>, String>,
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

/// Attaching an error to a note.
#[derive(Debug)]
pub enum Attached {
    /// The note already holds an error with the same constant parts: nothing changed.
    Already,
    Done(Recorded),
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

    /// Re-index and commit notes just written (added, changed or deleted). The commit (git
    /// processes rewriting the staging area: most of the time in a large vault) and the index
    /// update (tantivy) touch different files and run side by side.
    pub fn record(&mut self, rels: &[String], message: &str) -> Recorded {
        let vault = self.vault().clone();
        // libgit2 starts here, before any other thread of this command runs.
        crate::git::start_libgit2();
        let git = self.git.as_deref();
        let index = &mut self.index;
        let ((repository, commit), indexed) = std::thread::scope(|s| {
            let committing = s.spawn(|| {
                let repo = crate::git::open(vault.root());
                let commit = match &repo {
                    None => Ok(None),
                    Some(repo) => crate::git::commit_paths(repo, vault.root(), rels, message, git)
                        .map_err(|e| e.to_string()),
                };
                (repo.is_some(), commit)
            });
            let indexed = index.update_files(rels).map_err(|e| e.to_string());
            let committed = committing
                .join()
                .unwrap_or_else(|_| (true, Err("the commit stopped unexpectedly".into())));
            (committed, indexed)
        });
        Recorded {
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
        self.index.update_authorship();
        Ok(Synced {
            report,
            reindexed: rels.len(),
            indexed,
        })
    }

    /// Create a note from `text` in `folder` ("" for the top) under a name made from its
    /// title (never replacing a file), then record it.
    pub fn add_note(&mut self, folder: &str, title: &str, text: &str) -> Result<Recorded> {
        let vault = self.vault().clone();
        vault.require_vault()?;
        let rel = vault.create_note(folder, &vault::slugify(title), text)?;
        let message = format!("Add note: {}", one_line(title));
        Ok(self.record(&[rel], &message))
    }

    /// Append `error` to the note's `errors:` (unless its normalised form is already there)
    /// and set `updated:` to `now`; then record it. Concurrent attachments to one note all
    /// land (note lock, read back).
    pub fn attach_error(&mut self, rel: &str, error: &str, now: &str) -> Result<Attached> {
        let message = format!("Link error to {}: {}", vault::id_of(rel), one_line(error));
        let wanted = error.trim().to_string();
        let changed = self.change_note(
            rel,
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
            false => Attached::Already,
            true => Attached::Done(self.record(&[rel.to_string()], &message)),
        })
    }

    /// Add one outcome line to the note's `outcomes:` (every other byte unchanged); record it.
    pub fn record_outcome(&mut self, rel: &str, outcome: &Outcome) -> Result<Recorded> {
        let line = outcome.to_line();
        let verb = if outcome.worked { "Worked" } else { "Failed" };
        let message = format!("{verb}: {}", vault::id_of(rel));
        self.change_note(
            rel,
            |text, _| {
                frontmatter::edit_fields(text, &[("outcomes", std::slice::from_ref(&line))], &[])
                    .map(Some)
            },
            |back| back.front_matter.outcomes.iter().any(|o| o.trim() == line),
        )?;
        Ok(self.record(&[rel.to_string()], &message))
    }

    /// Set the note's `verified:` to `at`; record it.
    pub fn verify(&mut self, rel: &str, at: &str) -> Result<Recorded> {
        let message = format!("Verified: {}", vault::id_of(rel));
        self.change_note(
            rel,
            |text, _| {
                frontmatter::edit_fields(text, &[], &[("verified", at.to_string())]).map(Some)
            },
            |back| back.front_matter.verified.as_deref() == Some(at),
        )?;
        Ok(self.record(&[rel.to_string()], &message))
    }

    /// After the note at `rel` was edited by hand (its bytes were `before`): record it if it
    /// changed; None if it did not.
    pub fn record_edit(&mut self, rel: &str, before: &[u8]) -> Option<Recorded> {
        let after = std::fs::read(self.vault().abs(rel)).unwrap_or_default();
        if after == before {
            return None;
        }
        let title = Note::parse_bytes(&after, vault::stem_of(rel)).title;
        let message = format!("Edit note: {}", one_line(&title));
        Some(self.record(&[rel.to_string()], &message))
    }

    /// Change a note's text under the note lock: `edit` gives the new text (None: nothing to
    /// change), which replaces the note atomically and must read back identical and satisfy
    /// `landed`. Returns whether the note changed.
    fn change_note(
        &self,
        rel: &str,
        edit: impl FnOnce(&str, &Note) -> std::result::Result<Option<String>, String>,
        landed: impl FnOnce(&Note) -> bool,
    ) -> Result<bool> {
        let vault = self.vault();
        vault.require_vault()?;
        let _lock = vault.lock_notes()?;
        let text = read_text(vault, rel)?;
        let note = Note::parse(&text, vault::stem_of(rel));
        let new = match edit(&text, &note) {
            Ok(Some(new)) => new,
            Ok(None) => return Ok(false),
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
        Ok(true)
    }
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
