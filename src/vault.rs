//! The vault: a folder of markdown notes (normally a git repository).
//!
//! Owns everything about files on disk: finding the notes, turning ids into paths that can
//! never leave the vault, naming new notes, and writing them atomically without ever
//! overwriting a note that was not meant to be replaced.

use crate::error::{KbError, Result};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Folder inside the vault for kb's own derived data (index, state). Ignored by git.
pub const STATE_DIR: &str = ".kb";
pub use crate::config::CONFIG_FILE;
/// Only this much of a note is read for indexing; the rest of a huge file is ignored.
pub const MAX_NOTE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Vault {
    root: PathBuf,
    /// The note template named in kb.toml (relative path): a file of the vault that is not a
    /// note, so never indexed.
    template: Option<String>,
    /// kb.toml, read once when the vault is opened, with its problems.
    team: std::sync::Arc<(crate::config::VaultConfig, Vec<String>)>,
}

/// A markdown file found in the vault, with what is needed to notice a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteFile {
    /// Path relative to the vault, `/`-separated, with `.md`.
    pub rel: String,
    pub stamp: Stamp,
}

/// Modification time (ns since the epoch) and size: a file whose stamp changed is re-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    pub mtime: u64,
    pub size: u64,
}

impl Stamp {
    pub fn of(meta: &fs::Metadata) -> Stamp {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        Stamp {
            mtime,
            size: meta.len(),
        }
    }
}

/// A folder of the vault and its modification time (changes when entries are added, removed
/// or renamed in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirStamp {
    pub rel: String,
    pub mtime: u64,
}

/// What a walk of the vault found.
#[derive(Debug, Default)]
pub struct Scan {
    pub files: Vec<NoteFile>,
    pub dirs: Vec<DirStamp>,
    /// Folders or files that could not be read, with why.
    pub problems: Vec<String>,
}

impl Vault {
    /// A vault at an existing folder.
    pub fn open(root: &Path) -> Result<Vault> {
        if !root.is_dir() {
            return Err(KbError::NoVault {
                path: root.to_path_buf(),
            });
        }
        let root = dunce_canonical(root);
        // A whole disk or a whole home folder is not a vault (kb would read every file below
        // it, and commit there), unless someone made it one on purpose.
        if !root.join(CONFIG_FILE).is_file() && is_too_broad(&root) {
            return Err(KbError::TooBroad(root));
        }
        let mut warnings = Vec::new();
        let team = crate::config::load_vault(&root, &mut warnings);
        let template = team.template.clone().and_then(|t| {
            let rel = t.replace('\\', "/");
            let rel = rel.trim_start_matches("./");
            match rel {
                "" => None,
                r if r.ends_with(".md") => Some(r.to_string()),
                r => Some(format!("{r}.md")),
            }
        });
        Ok(Vault {
            root,
            template,
            team: std::sync::Arc::new((team, warnings)),
        })
    }

    /// The vault's team settings (kb.toml), as read when it was opened.
    pub fn team(&self) -> &crate::config::VaultConfig {
        &self.team.0
    }

    /// What was wrong in kb.toml (unknown keys, bad values), to show as warnings.
    pub fn team_warnings(&self) -> &[String] {
        &self.team.1
    }

    /// Whether the folder is a vault (`kb init` made it, or it holds `kb.toml`): only then does
    /// kb write notes or commit in it. Any folder of markdown can be searched.
    pub fn is_vault(&self) -> bool {
        self.root.join(CONFIG_FILE).is_file()
    }

    /// An error unless the folder is a vault (see [`Vault::is_vault`]).
    pub fn require_vault(&self) -> Result<()> {
        if self.is_vault() {
            Ok(())
        } else {
            Err(KbError::NotAVault {
                path: self.root.clone(),
            })
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The absolute path of a note given its relative path (already checked).
    pub fn abs(&self, rel: &str) -> PathBuf {
        let mut p = self.root.clone();
        for part in rel.split('/') {
            p.push(part);
        }
        p
    }

    /// Walk the vault: every `*.md` file outside hidden folders, and every folder's mtime.
    /// Symbolic links are not followed (a link could lead out of the vault or into a loop).
    pub fn scan(&self) -> Scan {
        self.scan_under("")
    }

    /// Walk one folder of the vault (`""` for the whole vault) and everything below it.
    ///
    /// Each folder is read once (`read_dir`), on several threads taking the next folder
    /// waiting: its notes are stamped relative to the open folder (a path-based `stat`
    /// resolves the whole path again for each file: three times slower at 100,000 notes), its
    /// sub-folders stamped and queued. Hidden folders are skipped and no symbolic link is
    /// followed, so the walk stays in the vault and cannot loop.
    pub fn scan_under(&self, rel_dir: &str) -> Scan {
        let mut scan = Scan::default();
        let start = if rel_dir.is_empty() {
            self.root.clone()
        } else {
            self.abs(rel_dir)
        };
        match fs::metadata(&start) {
            Ok(meta) if meta.is_dir() => scan.dirs.push(DirStamp {
                rel: rel_dir.to_string(),
                mtime: Stamp::of(&meta).mtime,
            }),
            Ok(_) => return scan,
            Err(e) => {
                scan.problems.push(format!("{rel_dir}: {e}, skipped"));
                return scan;
            }
        }
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        // The folders waiting, and how many are being read (their sub-folders may follow).
        let work = std::sync::Mutex::new((vec![rel_dir.to_string()], 0usize));
        let changed = std::sync::Condvar::new();
        let results: Vec<Scan> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (work, changed) = (&work, &changed);
                    s.spawn(move || {
                        let mut found = Scan::default();
                        loop {
                            let dir = {
                                let mut w = work.lock().unwrap_or_else(|e| e.into_inner());
                                loop {
                                    if let Some(dir) = w.0.pop() {
                                        w.1 += 1;
                                        break Some(dir);
                                    }
                                    if w.1 == 0 {
                                        break None;
                                    }
                                    w = changed.wait(w).unwrap_or_else(|e| e.into_inner());
                                }
                            };
                            let Some(dir) = dir else {
                                changed.notify_all();
                                return found;
                            };
                            let subdirs = match self.list_dir(&dir) {
                                Ok((files, subdirs)) => {
                                    found.files.extend(files);
                                    subdirs
                                }
                                Err(e) => {
                                    found.problems.push(format!("{dir}: {e}, skipped"));
                                    Vec::new()
                                }
                            };
                            let mut w = work.lock().unwrap_or_else(|e| e.into_inner());
                            w.0.extend(subdirs.iter().map(|d| d.rel.clone()));
                            w.1 -= 1;
                            drop(w);
                            found.dirs.extend(subdirs);
                            changed.notify_all();
                        }
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for r in results {
            scan.files.extend(r.files);
            scan.dirs.extend(r.dirs);
            scan.problems.extend(r.problems);
        }
        scan.files.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
        scan.dirs.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
        scan.problems.sort();
        scan
    }

    /// The notes directly in one folder, stamped, and its sub-folders (relative paths, with
    /// their mtimes; hidden ones left out).
    pub fn list_dir(&self, rel_dir: &str) -> io::Result<(Vec<NoteFile>, Vec<DirStamp>)> {
        let dir = if rel_dir.is_empty() {
            self.root.clone()
        } else {
            self.abs(rel_dir)
        };
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            if is_hidden(&name) {
                remove_if_stale_temp(&entry);
                continue;
            }
            let Ok(ft) = entry.file_type() else { continue };
            let Some(name_str) = name.to_str() else {
                continue;
            };
            let rel = if rel_dir.is_empty() {
                name_str.to_string()
            } else {
                format!("{rel_dir}/{name_str}")
            };
            if ft.is_dir() {
                if let Ok(meta) = entry.metadata() {
                    dirs.push(DirStamp {
                        rel,
                        mtime: Stamp::of(&meta).mtime,
                    });
                }
            } else if ft.is_file() && is_markdown(&name) && !self.is_excluded(&rel) {
                if let Ok(meta) = entry.metadata() {
                    files.push(NoteFile {
                        rel,
                        stamp: Stamp::of(&meta),
                    });
                }
            }
        }
        Ok((files, dirs))
    }

    /// Whether a relative path names a note: a markdown file (`*.md`) outside hidden folders,
    /// not the team's template. `kb.toml`, scripts, images and their conflict copies are not.
    pub fn is_note_rel(&self, rel: &str) -> bool {
        let parts: Vec<&str> = rel.split('/').collect();
        parts.iter().all(|p| !p.is_empty() && !p.starts_with('.'))
            && parts
                .last()
                .is_some_and(|n| is_markdown(std::ffi::OsStr::new(n)))
            && !self.is_excluded(rel)
    }

    /// Whether a markdown file of the vault is not a note (the team's note template).
    pub fn is_excluded(&self, rel: &str) -> bool {
        self.template.as_deref() == Some(rel)
    }

    /// The stamp of one note now, or None if it is gone.
    pub fn stamp(&self, rel: &str) -> Option<Stamp> {
        let meta = fs::symlink_metadata(self.abs(rel)).ok()?;
        meta.is_file().then(|| Stamp::of(&meta))
    }

    /// The modification time of a folder of the vault, or None if it is gone.
    pub fn dir_mtime(&self, rel: &str) -> Option<u64> {
        let meta = fs::metadata(self.abs(rel)).ok()?;
        meta.is_dir().then(|| Stamp::of(&meta).mtime)
    }

    /// Read a note's bytes, at most [`MAX_NOTE_BYTES`] (the second value says if it was cut).
    pub fn read(&self, rel: &str) -> io::Result<(Vec<u8>, bool)> {
        let f = fs::File::open(self.abs(rel))?;
        let mut buf = Vec::new();
        f.take(MAX_NOTE_BYTES + 1).read_to_end(&mut buf)?;
        let cut = buf.len() as u64 > MAX_NOTE_BYTES;
        if cut {
            buf.truncate(MAX_NOTE_BYTES as usize);
            // Do not cut a UTF-8 sequence in half.
            while let Some(&b) = buf.last() {
                if b & 0xC0 == 0x80 {
                    buf.pop();
                } else {
                    if b >= 0xC0 {
                        buf.pop();
                    }
                    break;
                }
            }
        }
        Ok((buf, cut))
    }

    /// Check a relative note path given by a person: inside the vault, no `..`, no absolute
    /// path, no NUL, a `.md` name. Returns it `/`-separated.
    pub fn check_rel(&self, input: &str) -> Result<String> {
        let mut rel = relative_parts(input)?.join("/");
        if !rel.ends_with(".md") {
            rel.push_str(".md");
        }
        Ok(rel)
    }

    /// Check a folder for new notes given by a person (`--folder`, `folder` in kb.toml): inside
    /// the vault (as [`Vault::check_rel`]), and every part a name that every system can check
    /// out (no name Windows reserves such as `CON` or `lpt1.txt`, no trailing dot or space, none
    /// of `<>:"|?*`). Returns it `/`-separated without slashes at the ends (`""`: the top).
    pub fn check_folder(&self, folder: &str) -> Result<String> {
        if folder.starts_with(['/', '\\']) {
            return Err(KbError::OutsideVault(folder.to_string()));
        }
        let trimmed = folder.trim_end_matches(['/', '\\']);
        if trimmed.is_empty() {
            return Ok(String::new());
        }
        let parts = relative_parts(trimmed)?;
        for part in &parts {
            if let Some(why) = unportable_name(part) {
                return Err(KbError::InvalidInput(format!(
                    "'{part}' cannot be a folder name: {why}"
                )));
            }
        }
        Ok(parts.join("/"))
    }

    /// Write a new note under `folder` named after `slug`, never replacing an existing file:
    /// `slug.md`, else `slug-2.md`, `slug-3.md`... Atomic: the content is written to a
    /// temporary file in the same folder, flushed to disk, then linked into place.
    pub fn create_note(&self, folder: &str, slug: &str, content: &str) -> Result<String> {
        let folder = self.check_folder(folder)?;
        self.check_real(&folder)?;
        let dir = if folder.is_empty() {
            self.root.clone()
        } else {
            self.abs(&folder)
        };
        let target = write_new(&dir, slug, content).map_err(|e| {
            cannot_write(
                &format!(
                    "{}{slug}.md",
                    if folder.is_empty() {
                        String::new()
                    } else {
                        format!("{folder}/")
                    }
                ),
                e,
            )
        })?;
        sync_dir(&dir);
        Ok(rel_string(&self.root, &target))
    }

    /// Keep text that did not become a note (a draft kb could not add) in `.kb/drafts/`,
    /// never replacing an earlier draft. Returns its path.
    /// When the vault cannot be written (a read-only or full disk), the draft goes to the user
    /// cache folder, else the system's temporary folder.
    pub fn keep_draft(&self, text: &str) -> Result<PathBuf> {
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let name = format!("draft-{stamp}");
        let mut places = vec![self.state_dir().join("drafts")];
        if let Some(cache) = dirs::cache_dir() {
            places.push(cache.join("kb").join("drafts"));
        }
        places.push(std::env::temp_dir().join("kb-drafts"));
        let mut first_error = None;
        for dir in places {
            match write_new(&dir, &name, text) {
                Ok(p) => return Ok(p),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| KbError::InvalidInput("no folder for a draft".into())))
    }

    /// kb's own folder for this vault (index, drafts, misses, locks): `.kb/` inside it when
    /// that is a real folder kb may write to, else a folder of the user's cache named after
    /// the vault's path. A folder kb was only asked to search gets nothing written into it,
    /// and a `.kb` that arrived with the repository as a symbolic link (or holding one) is
    /// never followed: what kb deletes and rewrites there would be outside the vault.
    pub fn state_dir(&self) -> PathBuf {
        let inside = self.root.join(STATE_DIR);
        let usable = match fs::symlink_metadata(&inside) {
            Ok(meta) if meta.is_dir() => holds_no_symlink(&inside),
            Ok(_) => false, // a file or a symbolic link
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.is_vault() && fs::create_dir(&inside).is_ok()
            }
            Err(_) => false,
        };
        // A `.kb` that kb already keeps an index in (the vault's kb.toml removed since) stays.
        let kept = usable && inside.join("dirs.bin").is_file();
        if usable && (kept || self.is_vault()) && is_writable(&inside) {
            return inside;
        }
        let base = dirs::cache_dir().unwrap_or_else(std::env::temp_dir);
        let key = xxhash_rust::xxh3::xxh3_64(self.root.to_string_lossy().as_bytes());
        let dir = base.join("kb").join(format!("{key:016x}"));
        let _ = fs::create_dir_all(&dir);
        dir
    }

    /// Check that a path of the vault (relative, `/`-separated, already checked by
    /// [`Vault::check_rel`] or found by a scan) passes through no symbolic link: a link
    /// arrived with the repository would make kb read or write outside the vault. Parts that
    /// do not exist yet are fine (kb creates real folders).
    pub fn check_real(&self, rel: &str) -> Result<()> {
        let mut p = self.root.clone();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            p.push(part);
            match fs::symlink_metadata(&p) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(KbError::SymlinkInVault(rel_string(&self.root, &p)))
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// The team's note template (kb.toml's `template`): a file of the vault reached through
    /// no symbolic link, at most 64 KB. None when kb.toml names none.
    pub fn template_text(&self) -> Option<Result<String>> {
        let rel = self.template.as_deref()?;
        Some((|| {
            let rel = self.check_rel(rel)?;
            self.check_real(&rel)?;
            let path = self.abs(&rel);
            let meta = fs::symlink_metadata(&path).map_err(|e| io_err(&path, e))?;
            if !meta.is_file() || meta.len() > 64 * 1024 {
                return Err(KbError::InvalidInput(format!(
                    "{} is not a file of at most 64 KB",
                    path.display()
                )));
            }
            let bytes = fs::read(&path).map_err(|e| io_err(&path, e))?;
            String::from_utf8(bytes)
                .map_err(|_| KbError::InvalidInput(format!("{} is not UTF-8 text", path.display())))
        })())
    }

    /// Hold the vault's note lock: a vault without a repository serialises its changes of
    /// notes with it (in a repository the repository's kb lock does, see
    /// `Workspace::lock`). An OS lock on `notes.lock` in kb's folder, released when the guard
    /// drops or the process dies.
    pub fn lock_notes(&self) -> Result<NotesLock> {
        let dir = self.state_dir();
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let path = dir.join("notes.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        file.lock().map_err(|e| io_err(&path, e))?;
        Ok(NotesLock { _file: file })
    }

    /// Replace an existing note's content atomically (temporary file, fsync, rename).
    pub fn replace_note(&self, rel: &str, content: &[u8]) -> Result<()> {
        self.check_real(rel)?;
        let target = self.abs(rel);
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        let tmp = write_temp(&dir, content).map_err(|e| cannot_write(rel, e))?;
        if let Ok(meta) = fs::metadata(&target) {
            let _ = fs::set_permissions(tmp.path(), meta.permissions());
        }
        tmp.persist(&target)
            .map_err(|e| cannot_write(rel, io_err(&target, e.error)))?;
        sync_dir(&dir);
        Ok(())
    }
}

/// The vault's note lock, held until dropped (see [`Vault::lock_notes`]).
pub struct NotesLock {
    _file: fs::File,
}

/// The parts of a relative path given by a person, refused if it could leave the vault: no
/// `..`, no absolute path or drive letter, no hidden part, no NUL.
fn relative_parts(input: &str) -> Result<Vec<String>> {
    let bad = || KbError::OutsideVault(input.to_string());
    if input.is_empty() || input.contains('\0') {
        return Err(bad());
    }
    let norm = input.replace('\\', "/");
    let mut parts = Vec::new();
    for c in Path::new(&norm).components() {
        match c {
            Component::Normal(p) => {
                let s = p.to_str().ok_or_else(bad)?;
                if is_hidden(p) {
                    return Err(bad());
                }
                parts.push(s.to_string());
            }
            Component::CurDir => {}
            _ => return Err(bad()),
        }
    }
    if parts.is_empty() || norm.contains(':') {
        return Err(bad());
    }
    Ok(parts)
}

/// Write `content` as a new file `base.md` in `dir` (created if needed), else `base-2.md`,
/// `base-3.md`...: never replacing a file, atomic (temporary file, fsync, link into place).
fn write_new(dir: &Path, base: &str, content: &str) -> Result<PathBuf> {
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    for n in 1..1000 {
        let name = if n == 1 {
            format!("{base}.md")
        } else {
            format!("{base}-{n}.md")
        };
        let target = dir.join(&name);
        if target.exists() {
            continue;
        }
        let tmp = write_temp(dir, content.as_bytes())?;
        match tmp.persist_noclobber(&target) {
            Ok(_) => return Ok(target),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&target, e.error)),
        }
    }
    Err(KbError::NoteExists(dir.join(format!("{base}.md"))))
}

/// Temporary files of kb's writes are renamed into place within milliseconds; one older than
/// this was left by a process killed mid-write.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(600);

/// Remove a `.kb-tmp-*.tmp` file left behind by a kb process killed mid-write.
fn remove_if_stale_temp(entry: &fs::DirEntry) {
    let name = entry.file_name();
    let Some(name) = name.to_str() else { return };
    if !(name.starts_with(".kb-tmp-") && name.ends_with(".tmp")) {
        return;
    }
    let old = entry
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > STALE_TEMP);
    if old {
        let _ = fs::remove_file(entry.path());
    }
}

fn write_temp(dir: &Path, content: &[u8]) -> Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".kb-tmp-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io_err(dir, e))?;
    tmp.write_all(content).map_err(|e| io_err(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| io_err(tmp.path(), e))?;
    Ok(tmp)
}

/// Make a rename durable (Unix; on Windows the rename itself is durable enough and folders
/// cannot be opened this way).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// A file system's root (`/`, `C:\`) or the person's home folder.
fn is_too_broad(root: &Path) -> bool {
    root.parent().is_none() || dirs::home_dir().is_some_and(|h| dunce_canonical(&h) == root)
}

/// Whether a folder of kb's holds no symbolic link, nor does its `index` folder.
fn holds_no_symlink(dir: &Path) -> bool {
    let clean = |d: &Path| match fs::read_dir(d) {
        Ok(entries) => entries
            .flatten()
            .all(|e| e.file_type().is_ok_and(|t| !t.is_symlink())),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    };
    clean(dir) && clean(&dir.join("index"))
}

/// Whether kb can write in a folder (permission bits do not tell about read-only mounts: it
/// tries).
pub fn is_writable(dir: &Path) -> bool {
    match fs::metadata(dir) {
        Ok(m) if m.permissions().readonly() => false,
        Ok(_) => tempfile::tempfile_in(dir).is_ok(),
        Err(_) => false,
    }
}

/// A failed write of note `rel`, said of the note (not of a temporary file) and in words: a
/// read-only or full disk, or no permission.
pub fn cannot_write(rel: &str, e: KbError) -> KbError {
    match e {
        KbError::Io { error, .. } => KbError::CannotWrite {
            what: rel.to_string(),
            why: why_not(&error),
        },
        KbError::CannotWrite { why, .. } => KbError::CannotWrite {
            what: rel.to_string(),
            why,
        },
        other => other,
    }
}

/// An I/O error in a few words.
pub fn why_not(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ReadOnlyFilesystem => "the disk is read-only".into(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => "the disk is full".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

pub fn io_err(path: &Path, e: io::Error) -> KbError {
    KbError::Io {
        path: path.to_path_buf(),
        error: e,
    }
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|s| s.starts_with('.'))
}

fn is_markdown(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|s| s.len() > 3 && s.to_ascii_lowercase().ends_with(".md"))
}

/// `path` relative to `root`, with `/` separators on every platform.
pub fn rel_string(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

/// The note a sync's conflict copy copies (`a/b.conflict-20261102-101500-1a2b3c4.md` copies
/// `a/b.md`); None for any other path.
pub fn conflict_original(rel: &str) -> Option<String> {
    let (head, ext) = rel.rsplit_once('.')?;
    let (stem, tag) = head.rsplit_once(".conflict-")?;
    let mut parts = tag.split('-');
    let ok = [8usize, 6, 7].iter().all(|n| {
        parts
            .next()
            .is_some_and(|p| p.len() >= *n && p.chars().all(|c| c.is_ascii_alphanumeric()))
    }) && parts.next().is_none();
    (ok && !stem.is_empty()).then(|| format!("{stem}.{ext}"))
}

/// The file name of a note's relative path (`b.md` of `a/b.md`).
pub fn file_name_of(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// A note's id: its relative path without `.md`.
pub fn id_of(rel: &str) -> &str {
    rel.strip_suffix(".md")
        .or_else(|| rel.strip_suffix(".MD"))
        .unwrap_or(rel)
}

/// The folder of a relative path (`""` at the top of the vault).
pub fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The file stem of a relative path.
pub fn stem_of(rel: &str) -> &str {
    let id = id_of(rel);
    id.rsplit('/').next().unwrap_or(id)
}

/// Canonical path without Windows' `\\?\` prefix, falling back to the path as given.
fn dunce_canonical(p: &Path) -> PathBuf {
    match p.canonicalize() {
        Ok(c) => {
            #[cfg(windows)]
            {
                let s = c.to_string_lossy();
                if let Some(rest) = s.strip_prefix(r"\\?\") {
                    if !rest.starts_with("UNC") {
                        return PathBuf::from(rest);
                    }
                }
            }
            c
        }
        Err(_) => p.to_path_buf(),
    }
}

/// Windows refuses these as file names whatever the extension.
const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Why a file or folder name could not be checked out on every system, if it could not.
fn unportable_name(name: &str) -> Option<&'static str> {
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    if RESERVED.contains(&stem.to_ascii_lowercase().as_str()) {
        return Some("Windows reserves it for a device");
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Some("Windows drops a trailing dot or space");
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
    {
        return Some("it holds a character Windows does not allow in names");
    }
    None
}

/// A file name from a title: lower-case letters and digits joined by `-`, at most 80 bytes,
/// never empty, never a name Windows reserves, never hidden or a path.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    let mut dash = false;
    for c in title.chars() {
        if c.is_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            for l in c.to_lowercase() {
                slug.push(l);
            }
        } else {
            dash = true;
        }
        if slug.len() >= 80 {
            break;
        }
    }
    while slug.len() > 80 {
        slug.pop();
    }
    if slug.is_empty() {
        slug.push_str("note");
    }
    if RESERVED.contains(&slug.as_str()) {
        slug.push_str("-note");
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_names() {
        assert_eq!(
            slugify("Outlook: the .ost file (0x8004010F)!"),
            "outlook-the-ost-file-0x8004010f"
        );
        assert_eq!(slugify("../../etc/passwd"), "etc-passwd");
        assert_eq!(slugify("CON"), "con-note");
        assert_eq!(slugify("\0\u{7}"), "note");
        assert_eq!(
            slugify("Überweisung fehlgeschlagen"),
            "überweisung-fehlgeschlagen"
        );
        assert!(slugify(&"x".repeat(500)).len() <= 80);
    }

    #[test]
    fn relative_paths_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(dir.path()).unwrap();
        assert_eq!(v.check_rel("a/b").unwrap(), "a/b.md");
        assert_eq!(v.check_rel("a\\b.md").unwrap(), "a/b.md");
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../x",
            "C:\\x",
            ".git/config",
            "a\0b",
            "",
        ] {
            assert!(v.check_rel(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn create_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(dir.path()).unwrap();
        let a = v.create_note("", "x", "one").unwrap();
        let b = v.create_note("sub", "x", "two").unwrap();
        let c = v.create_note("", "x", "three").unwrap();
        assert_eq!(
            (a.as_str(), b.as_str(), c.as_str()),
            ("x.md", "sub/x.md", "x-2.md")
        );
        assert_eq!(fs::read_to_string(v.abs("x.md")).unwrap(), "one");
        let scan = v.scan();
        assert_eq!(scan.files.len(), 3);
    }

    #[test]
    fn a_scan_reads_every_folder_below_once_and_skips_hidden_ones() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::open(dir.path()).unwrap();
        let mut expected = Vec::new();
        // Wide and deep: folders queue up while others are being read.
        for a in 0..6 {
            for depth in 0..5 {
                let folder: Vec<String> = (0..=depth).map(|d| format!("f{a}-{d}")).collect();
                let folder = folder.join("/");
                for n in 0..3 {
                    expected.push(v.create_note(&folder, &format!("n{n}"), "x").unwrap());
                }
            }
        }
        expected.push(v.create_note("", "top", "x").unwrap());
        for hidden in [".git/objects", ".kb/drafts", "f0-0/.trash"] {
            fs::create_dir_all(dir.path().join(hidden)).unwrap();
            fs::write(dir.path().join(hidden).join("gone.md"), "x").unwrap();
        }
        fs::write(dir.path().join("f1-0/readme.txt"), "not a note").unwrap();
        expected.sort();
        let scan = v.scan();
        let found: Vec<&str> = scan.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(found, expected);
        // Every folder stamped once, the top one as "", none hidden.
        let dirs: Vec<&str> = scan.dirs.iter().map(|d| d.rel.as_str()).collect();
        assert_eq!(dirs.len(), 1 + 6 * 5, "{dirs:?}");
        assert_eq!(dirs[0], "");
        assert!(dirs.iter().all(|d| !d.contains('.')), "{dirs:?}");
        // A part of the vault alone.
        let part = v.scan_under("f2-0/f2-1");
        assert_eq!(part.files.len(), 3 * 4);
        assert_eq!(part.dirs[0].rel, "f2-0/f2-1");
        assert!(part.problems.is_empty());
        // A folder that is not there: a problem, not a panic.
        assert!(!v.scan_under("nowhere").problems.is_empty());
    }
}
