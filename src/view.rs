//! A note as every front end shows it: `kb search --json` and `kb show --json`, `kb mcp`, the
//! web view. One shape, built in one place, so that a field added here reaches all of them.

use crate::history::Authorship;
use crate::note::Note;
use crate::outcomes::Record;
use serde::Serialize;

/// A note's fields, its fix and its record (how often the fix worked, when it was checked, who
/// wrote the note).
#[derive(Debug, Clone, Serialize)]
pub struct NoteView {
    /// The vault's name, when several vaults are searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    pub id: String,
    pub path: String,
    pub title: String,
    pub tags: Vec<String>,
    /// The errors the note records (front matter `errors:`).
    pub errors: Vec<String>,
    /// The Fix section, line by line (blank lines left out).
    pub fix: Vec<String>,
    /// status, worked, failed, minutes, last_used, verified, applies_to
    #[serde(flatten)]
    pub record: Record,
    /// Who wrote the note and who last changed it, with dates (`YYYY-MM-DD`), from git's
    /// history; null for a note never committed.
    pub author: Option<String>,
    pub authored: Option<String>,
    pub last_editor: Option<String>,
    pub last_edited: Option<String>,
}

impl NoteView {
    /// Who wrote and last changed the note, when git knows.
    pub fn authorship(&self) -> Option<Authorship> {
        Some(Authorship {
            author: self.author.clone()?,
            authored: self.authored.clone()?,
            last_editor: self.last_editor.clone()?,
            last_edited: self.last_edited.clone()?,
        })
    }

    /// The view of the note at `rel` (its parsed text), in vault `vault` (a label when several
    /// are searched), with what git's history says of it.
    pub fn new(vault: Option<&str>, rel: &str, note: &Note, who: Option<&Authorship>) -> NoteView {
        let fm = &note.front_matter;
        NoteView {
            vault: vault.map(str::to_string),
            id: crate::vault::id_of(rel).to_string(),
            path: rel.to_string(),
            title: note.title.clone(),
            tags: note.tags.clone(),
            errors: note.errors.clone(),
            fix: fix_lines(note),
            record: Record::new(
                fm.status.as_deref(),
                fm.verified.as_deref(),
                &fm.applies_to,
                &fm.outcomes,
            ),
            author: who.map(|w| w.author.clone()),
            authored: who.map(|w| w.authored.clone()),
            last_editor: who.map(|w| w.last_editor.clone()),
            last_edited: who.map(|w| w.last_edited.clone()),
        }
    }
}

/// The note's Fix section, line by line, blank lines left out (none: no Fix section).
pub fn fix_lines(note: &Note) -> Vec<String> {
    note.fix_section()
        .map(|s| {
            s.raw
                .lines()
                .map(|l| l.trim_end().to_string())
                .filter(|l| !l.trim().is_empty())
                .collect()
        })
        .unwrap_or_default()
}
