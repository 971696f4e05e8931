//! Dynamic shell completion: note ids and tags, asked of kb itself while the person presses
//! TAB (clap_complete's environment-activated engine; `kb completions SHELL` prints the shell
//! code that calls it).

use crate::context::locate_vault;
use crate::index::{Check, NoteIndex};
use crate::vault::Vault;
use clap_complete::CompletionCandidate;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

/// Every note's id, and its bare file name where that names one note.
pub fn note_ids() -> Vec<CompletionCandidate> {
    let Some(idx) = open() else {
        return Vec::new();
    };
    let Ok(notes) = idx.all() else {
        return Vec::new();
    };
    let mut stems: BTreeMap<String, usize> = BTreeMap::new();
    for n in &notes {
        *stems
            .entry(crate::vault::stem_of(&n.rel).to_string())
            .or_default() += 1;
    }
    let ids: HashSet<&str> = notes.iter().map(|n| n.id()).collect();
    let mut out: Vec<CompletionCandidate> = notes
        .iter()
        .map(|n| CompletionCandidate::new(n.id().to_string()).help(Some(n.title.clone().into())))
        .collect();
    out.extend(
        stems
            .into_iter()
            .filter(|(stem, count)| *count == 1 && !ids.contains(stem.as_str()))
            .map(|(stem, _)| CompletionCandidate::new(stem)),
    );
    out
}

/// Every tag in the vault.
pub fn tag_names() -> Vec<CompletionCandidate> {
    let Some(idx) = open() else {
        return Vec::new();
    };
    let mut tags: BTreeMap<String, usize> = BTreeMap::new();
    for n in idx.all().unwrap_or_default() {
        for t in n.tags {
            *tags.entry(t).or_default() += 1;
        }
    }
    tags.into_iter()
        .map(|(t, n)| CompletionCandidate::new(t).help(Some(format!("{n} notes").into())))
        .collect()
}

/// The vault of the command line being completed (its `--dir`, else as kb finds it), with its
/// index as it is (no freshness check: completion must be quick).
fn open() -> Option<NoteIndex> {
    let dir = dir_flag();
    let mut warnings = Vec::new();
    let user = crate::config::user_config_path()
        .map(|p| crate::config::load_user(&p, &mut warnings))
        .unwrap_or_default();
    let (root, _) = locate_vault(dir.as_deref(), user.vault.as_deref());
    let vault = Vault::open(&root).ok()?;
    NoteIndex::open(&vault, Check::Trust).ok().map(|(i, _)| i)
}

/// `--dir DIR`, `--dir=DIR` or `-d DIR` among the words being completed.
fn dir_flag() -> Option<PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--dir" || a == "-d" {
            return it.next().map(PathBuf::from);
        }
        if let Some(d) = a.strip_prefix("--dir=") {
            return Some(PathBuf::from(d));
        }
    }
    None
}
