//! Dynamic shell completion: note ids and tags, asked of kb itself while the person presses
//! TAB (clap_complete's environment-activated engine; `kb completions SHELL` prints the shell
//! code that calls it).

use crate::config::locate_vault;
use crate::index::{Check, NoteIndex};
use crate::vault::Vault;
use clap_complete::CompletionCandidate;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

/// Every note's id, and its bare file name where that names one note; with several vaults
/// configured, every vault's notes as `NAME:id` too (the vault writes go to also bare).
pub fn note_ids() -> Vec<CompletionCandidate> {
    let mut out = Vec::new();
    for (label, bare, idx) in open() {
        let Ok(notes) = idx.all() else {
            continue;
        };
        if let Some(l) = &label {
            out.extend(notes.iter().map(|n| {
                CompletionCandidate::new(crate::library::qualified_id(Some(l), n.id()))
                    .help(Some(n.title.clone().into()))
            }));
        }
        if !bare {
            continue;
        }
        let mut stems: BTreeMap<String, usize> = BTreeMap::new();
        for n in &notes {
            *stems
                .entry(crate::vault::stem_of(&n.rel).to_string())
                .or_default() += 1;
        }
        let ids: HashSet<&str> = notes.iter().map(|n| n.id()).collect();
        out.extend(notes.iter().map(|n| {
            CompletionCandidate::new(n.id().to_string()).help(Some(n.title.clone().into()))
        }));
        out.extend(
            stems
                .into_iter()
                .filter(|(stem, count)| *count == 1 && !ids.contains(stem.as_str()))
                .map(|(stem, _)| CompletionCandidate::new(stem)),
        );
    }
    out
}

/// Every tag of every vault searched.
pub fn tag_names() -> Vec<CompletionCandidate> {
    let mut tags: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, idx) in open() {
        for n in idx.all().unwrap_or_default() {
            for t in n.tags {
                *tags.entry(t).or_default() += 1;
            }
        }
    }
    tags.into_iter()
        .map(|(t, n)| CompletionCandidate::new(t).help(Some(format!("{n} notes").into())))
        .collect()
}

/// The vaults of the command line being completed, as kb would search them: its `--dir` (or
/// `KB_DIR`) alone, else the vaults config.toml names (each labelled; whether its ids are
/// also offered bare: the one writes go to), else the one kb finds. Each index as it is (no
/// freshness check: completion must be quick).
fn open() -> Vec<(Option<String>, bool, NoteIndex)> {
    let dir = dir_flag();
    let mut warnings = Vec::new();
    let user = crate::config::user_config_path()
        .map(|p| crate::config::load_user(&p, &mut warnings))
        .unwrap_or_default();
    let index = |root: &std::path::Path| {
        let vault = Vault::open(root).ok()?;
        NoteIndex::open(&vault, Check::Trust).ok().map(|(i, _)| i)
    };
    let (root, source) = locate_vault(dir.as_deref(), user.vault.as_deref());
    let single = matches!(
        source,
        crate::config::VaultSource::Flag | crate::config::VaultSource::Env
    );
    if single || user.vaults.is_empty() {
        return index(&root).map(|i| (None, true, i)).into_iter().collect();
    }
    let default = user
        .default_vault
        .clone()
        .unwrap_or_else(|| user.vaults[0].name.clone());
    user.vaults
        .iter()
        .filter_map(|v| index(&v.path).map(|i| (Some(v.name.clone()), v.name == default, i)))
        .collect()
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
