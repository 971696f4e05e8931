//! Who wrote each note and who last changed it, read from git's history and cached beside the
//! index, so that a search looks up its few hits instead of walking the history.
//!
//! The cache is a text file: a header naming the commit it was computed at, then one line per
//! note, sorted by path: `path TAB author TAB date TAB editor TAB date`. When HEAD has moved
//! (a kb command committed, `git pull` by hand), only the commits since the cached one are read;
//! when that commit is no longer an ancestor (history rewritten), the whole history is read
//! again.
//!
//! A note's author is the author of the oldest commit that touched its path, its last editor
//! the author of the newest one. Renames are not followed (a renamed note's author is whoever
//! renamed it). A merge commit counts as a change of a path only where it differs from every
//! parent (a conflict resolved in the merge), as `git log` shows merges.

use git2::{Delta, DiffOptions, Oid, Repository, Sort};
use std::collections::HashMap;
use std::path::Path;

const HEADER: &str = "kb-authors 1";

/// One note's authorship. Dates are `YYYY-MM-DD` in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorship {
    pub author: String,
    pub authored: String,
    pub last_editor: String,
    pub last_edited: String,
}

impl Authorship {
    /// `written by Dana, changed by Lee 3 weeks ago`, or `written by Dana 2 months ago` when
    /// nobody changed it since.
    pub fn summary(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        let ago = |d: &str| crate::outcomes::ago(d, now);
        if self.last_editor == self.author && self.last_edited == self.authored {
            format!("written by {} {}", self.author, ago(&self.authored))
        } else if self.last_editor == self.author {
            format!(
                "written by {}, changed {}",
                self.author,
                ago(&self.last_edited)
            )
        } else {
            format!(
                "written by {}, changed by {} {}",
                self.author,
                self.last_editor,
                ago(&self.last_edited)
            )
        }
    }
}

/// Authorship of every note at one commit, compact: a million notes share a few people and
/// dates, so each row holds two indexes into `people` (who and when).
#[derive(Debug, Default)]
struct Table {
    head: String,
    people: People,
    /// path -> (author, last editor), indexes into `people`.
    rows: HashMap<String, (u32, u32)>,
}

/// Distinct (name, date) pairs.
#[derive(Debug, Default)]
struct People {
    list: Vec<(String, String)>,
    seen: HashMap<(String, String), u32>,
}

impl People {
    fn intern(&mut self, name: &str, date: &str) -> u32 {
        let key = (name.to_string(), date.to_string());
        if let Some(i) = self.seen.get(&key) {
            return *i;
        }
        let i = self.list.len() as u32;
        self.list.push(key.clone());
        self.seen.insert(key, i);
        i
    }

    fn get(&self, i: u32) -> (&str, &str) {
        let (n, d) = &self.list[i as usize];
        (n, d)
    }
}

impl Table {
    fn authorship(&self, rel: &str) -> Option<Authorship> {
        let (a, e) = self.rows.get(rel)?;
        let (author, authored) = self.people.get(*a);
        let (last_editor, last_edited) = self.people.get(*e);
        Some(Authorship {
            author: author.into(),
            authored: authored.into(),
            last_editor: last_editor.into(),
            last_edited: last_edited.into(),
        })
    }
}

/// The cache's file in kb's folder of the vault (beside the index).
const CACHE_FILE: &str = "authors.txt";

/// The authorship of these notes of the vault at `vault_root`, whose kb folder (the index's)
/// is `state_dir` (see [`lookup`]).
pub fn of_notes(vault_root: &Path, state_dir: &Path, rels: &[&str]) -> HashMap<String, Authorship> {
    lookup(vault_root, &state_dir.join(CACHE_FILE), rels)
}

/// Bring the vault's cached authorship up to date with its HEAD (after a rebuild of the
/// index, after `kb sync`), so that the next search only looks its hits up.
pub fn bring_vault_up_to_date(vault_root: &Path, state_dir: &Path) {
    bring_up_to_date(vault_root, &state_dir.join(CACHE_FILE));
}

/// The authorship of these notes (paths relative to the vault), from the cache at `cache`,
/// brought up to date with HEAD first. Notes without a commit are absent. Any problem (not a
/// repository, unreadable cache) gives what can be known, never an error: authorship is
/// information, not something a search may fail on.
pub fn lookup(vault_root: &Path, cache: &Path, rels: &[&str]) -> HashMap<String, Authorship> {
    // The cache is mapped, not read: a lookup touches the few pages its binary search visits
    // (reading 6 MB at 100,000 notes cost more than the search). HEAD is read from git's
    // files; libgit2 is started only to bring the cache up to date.
    if let (Some(map), Some(head)) = (map(cache), crate::git::head_id(vault_root)) {
        if cached_head(&map) == Some(head.as_bytes()) {
            return rels
                .iter()
                .filter_map(|r| find(&map, r).map(|a| (r.to_string(), a)))
                .collect();
        }
    }
    match bring_up_to_date(vault_root, cache) {
        Current::Fresh(table) => rels
            .iter()
            .filter_map(|r| table.authorship(r).map(|a| (r.to_string(), a)))
            .collect(),
        Current::Cached => match map(cache) {
            Some(map) => rels
                .iter()
                .filter_map(|r| find(&map, r).map(|a| (r.to_string(), a)))
                .collect(),
            None => HashMap::new(),
        },
        Current::Nothing => HashMap::new(),
    }
}

fn map(cache: &Path) -> Option<memmap2::Mmap> {
    let file = std::fs::File::open(cache).ok()?;
    // SAFETY: the cache is only ever replaced by a rename, never written in place, so the
    // mapped bytes do not change under the map.
    unsafe { memmap2::Mmap::map(&file) }.ok()
}

/// What the cache holds after [`bring_up_to_date`].
enum Current {
    /// It was already at HEAD.
    Cached,
    /// It was read again from the history (and saved): this table.
    Fresh(Table),
    /// No repository, or no commit yet.
    Nothing,
}

/// Compare the cache's commit with HEAD (asking libgit2) and read the commits since, or the
/// whole history, when they differ.
fn bring_up_to_date(vault_root: &Path, cache: &Path) -> Current {
    if !crate::git::in_repository(vault_root) {
        return Current::Nothing;
    }
    let Some(repo) = crate::git::open(vault_root) else {
        return Current::Nothing;
    };
    let Some(head) = head_of(&repo) else {
        return Current::Nothing;
    };
    let text = std::fs::read_to_string(cache).unwrap_or_default();
    if cached_head(text.as_bytes()) == Some(head.to_string().as_bytes()) {
        return Current::Cached;
    }
    let table = refresh(&repo, vault_root, &text, head);
    let _ = save(cache, &table);
    Current::Fresh(table)
}

fn head_of(repo: &Repository) -> Option<Oid> {
    repo.head().ok()?.target()
}

fn cached_head(data: &[u8]) -> Option<&[u8]> {
    let end = data.iter().position(|b| *b == b'\n')?;
    data[..end]
        .strip_prefix(HEADER.as_bytes())?
        .strip_prefix(b" ")
}

/// The row of `rel`: a binary search over the byte offsets of the sorted lines (each probe
/// reads the line around its offset).
fn find(data: &[u8], rel: &str) -> Option<Authorship> {
    let mut lo = data.iter().position(|b| *b == b'\n')? + 1;
    let mut hi = data.len();
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = data[lo..mid]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(lo, |p| lo + p + 1);
        let end = data[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(data.len(), |p| start + p);
        let line = &data[start..end];
        let key = line.split(|b| *b == b'\t').next().unwrap_or(line);
        match key.cmp(rel.as_bytes()) {
            std::cmp::Ordering::Equal => {
                return parse_row(std::str::from_utf8(line).ok()?).map(|(_, a)| a)
            }
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    None
}

fn parse_row(line: &str) -> Option<(&str, Authorship)> {
    let mut parts = line.split('\t');
    let rel = parts.next()?;
    let mut next = || parts.next().map(str::to_string);
    Some((
        rel,
        Authorship {
            author: next()?,
            authored: next()?,
            last_editor: next()?,
            last_edited: next()?,
        },
    ))
}

fn parse(text: &str) -> Table {
    let mut t = Table {
        head: cached_head(text.as_bytes())
            .and_then(|h| std::str::from_utf8(h).ok())
            .unwrap_or("")
            .to_string(),
        ..Table::default()
    };
    for line in text.lines().skip(1) {
        if let Some((rel, a)) = parse_row(line) {
            let who = t.people.intern(&a.author, &a.authored);
            let last = t.people.intern(&a.last_editor, &a.last_edited);
            t.rows.insert(rel.to_string(), (who, last));
        }
    }
    t
}

/// The table at `head`: the cached one updated with the commits since its head, or the whole
/// history read again when the cached head is unknown or no longer an ancestor.
fn refresh(repo: &Repository, vault_root: &Path, text: &str, head: Oid) -> Table {
    let prefix = crate::git::vault_prefix(repo, vault_root);
    let old = parse(text);
    let since = Oid::from_str(&old.head).ok().filter(|o| {
        repo.find_commit(*o).is_ok()
            && (*o == head || repo.graph_descendant_of(head, *o).unwrap_or(false))
    });
    let mut table = if since.is_some() {
        old
    } else {
        Table::default()
    };
    table.head = head.to_string();
    // Newest first: the first sighting of a path is its last change (or its deletion); every
    // later one is older, the last its creation.
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let _ = walk(
        repo,
        &prefix,
        head,
        since,
        &mut table.people,
        |rel, who, deleted| {
            seen.entry(rel.to_string())
                .and_modify(|s| s.oldest = who)
                .or_insert(Seen {
                    newest: who,
                    oldest: who,
                    deleted,
                });
        },
    );
    for (rel, s) in seen {
        if s.deleted {
            table.rows.remove(&rel);
            continue;
        }
        let row = table.rows.entry(rel).or_insert((s.oldest, s.newest));
        row.1 = s.newest;
    }
    table
}

/// The sightings of one path in a walk: the newest and oldest commit that changed it, and
/// whether the newest deleted it.
struct Seen {
    newest: u32,
    oldest: u32,
    deleted: bool,
}

/// Every change of a note under `prefix` in the commits reachable from `head` and not from
/// `since`, newest first.
fn walk(
    repo: &Repository,
    prefix: &str,
    head: Oid,
    since: Option<Oid>,
    people: &mut People,
    mut seen: impl FnMut(&str, u32, bool),
) -> Result<(), git2::Error> {
    let mut revwalk = repo.revwalk()?;
    revwalk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    revwalk.push(head)?;
    if let Some(s) = since {
        revwalk.hide(s)?;
    }
    let strip = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    for oid in revwalk {
        let commit = repo.find_commit(oid?)?;
        let tree = commit.tree()?;
        let author = commit.author();
        let name = author
            .name()
            .ok()
            .filter(|n| !n.trim().is_empty())
            .or(author.email().ok())
            .unwrap_or("?")
            .replace(['\t', '\n', '\r'], " ")
            .trim()
            .to_string();
        let date = chrono::DateTime::from_timestamp(author.when().seconds(), 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let mut opts = DiffOptions::new();
        if !prefix.is_empty() {
            opts.pathspec(&strip);
        }
        // The paths this commit changed, with whether each was deleted; for a merge, only
        // those that differ from every parent.
        let mut changed: Option<HashMap<String, bool>> = None;
        let parents: Vec<git2::Tree> = commit.parents().filter_map(|p| p.tree().ok()).collect();
        if parents.is_empty() {
            // The first commit adds everything in it: its tree is walked, not diffed (a diff
            // of a million files holds them all in memory at once).
            let mut these = HashMap::new();
            tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
                if entry.kind() == Some(git2::ObjectType::Blob) {
                    if let Ok(name) = entry.name() {
                        let path = format!("{dir}{name}");
                        if let Some(rel) = path.strip_prefix(strip.as_str()) {
                            if rel.ends_with(".md") && !rel.contains('\t') {
                                these.insert(rel.to_string(), false);
                            }
                        }
                    }
                }
                git2::TreeWalkResult::Ok
            })?;
            changed = Some(these);
        }
        for base in parents.iter().map(Some) {
            let diff = repo.diff_tree_to_tree(base, Some(&tree), Some(&mut opts))?;
            let mut these = HashMap::new();
            for d in diff.deltas() {
                let deleted = d.status() == Delta::Deleted;
                let file = if deleted { d.old_file() } else { d.new_file() };
                let Some(path) = file.path().and_then(|p| p.to_str()) else {
                    continue;
                };
                let Some(rel) = path.strip_prefix(strip.as_str()) else {
                    continue;
                };
                if rel.ends_with(".md") && !rel.contains('\t') {
                    these.insert(rel.to_string(), deleted);
                }
            }
            changed = Some(match changed {
                None => these,
                Some(prev) => prev
                    .into_iter()
                    .filter(|(r, _)| these.contains_key(r))
                    .collect(),
            });
        }
        let who = people.intern(&name, &date);
        for (rel, deleted) in changed.unwrap_or_default() {
            seen(&rel, who, deleted);
        }
    }
    Ok(())
}

fn save(cache: &Path, table: &Table) -> std::io::Result<()> {
    use std::io::Write;
    let mut rows: Vec<(&String, &(u32, u32))> = table.rows.iter().collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let dir = cache.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        writeln!(w, "{HEADER} {}", table.head)?;
        for (rel, (a, e)) in rows {
            let (author, authored) = table.people.get(*a);
            let (editor, edited) = table.people.get(*e);
            writeln!(w, "{rel}\t{author}\t{authored}\t{editor}\t{edited}")?;
        }
        w.flush()?;
    }
    tmp.persist(cache).map_err(|e| e.error)?;
    Ok(())
}
