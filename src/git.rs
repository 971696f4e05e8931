//! Git, through git2: creating a vault's repository and committing exactly the notes a
//! command changed. Nothing outside the notes is ever staged.

use crate::error::{KbError, Result};
use git2::{Repository, Signature};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Start libgit2, leaving its TLS certificates for when an HTTPS remote is reached through it.
///
/// On Linux and the BSDs libgit2 starts OpenSSL when it starts and, with it, parses the whole
/// certificate bundle: 20 ms, more than the rest of `kb add` in a small vault, for every
/// command that commits, although only the libgit2 transport over HTTPS (the fallback when
/// the `git` program is missing) needs them. So it starts with `SSL_CERT_FILE` pointing at an
/// empty file, the person's own setting is put back at once (child processes never see the
/// change), and [`load_tls_certificates`] gives libgit2 the bundle before it connects. Call
/// before any other use of git2, from a single thread (kb's commands do).
pub fn start_libgit2() {
    static START: std::sync::Once = std::sync::Once::new();
    START.call_once(|| {
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            let saved = std::env::var_os("SSL_CERT_FILE");
            let _ = SAVED_CERT_FILE.set(saved.clone());
            std::env::set_var("SSL_CERT_FILE", "/dev/null");
            git2::opts::enable_caching(true); // starts libgit2 (caching is its default)
            match saved {
                Some(v) => std::env::set_var("SSL_CERT_FILE", v),
                None => std::env::remove_var("SSL_CERT_FILE"),
            }
        }
    });
}

/// The person's `SSL_CERT_FILE` when libgit2 was started by [`start_libgit2`].
#[cfg(all(unix, not(target_os = "macos")))]
static SAVED_CERT_FILE: std::sync::OnceLock<Option<std::ffi::OsString>> =
    std::sync::OnceLock::new();

/// Before libgit2 reaches a remote itself: the certificates [`start_libgit2`] left out (the
/// person's `SSL_CERT_FILE` / `SSL_CERT_DIR`, else where the system keeps them). Nothing to
/// do where libgit2 uses the system's own TLS (Windows, macOS), or when it started normally.
pub fn load_tls_certificates() {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let Some(saved) = SAVED_CERT_FILE.get() else {
            return;
        };
        static LOADED: std::sync::Once = std::sync::Once::new();
        LOADED.call_once(|| {
            let probed = openssl_probe::probe();
            let file = saved
                .as_ref()
                .map(PathBuf::from)
                .or(probed.cert_file)
                .filter(|f| f.exists());
            let dir = std::env::var_os("SSL_CERT_DIR")
                .map(PathBuf::from)
                .or(probed.cert_dir)
                .filter(|d| d.is_dir());
            // SAFETY: from the thread about to reach the remote, before it does.
            unsafe {
                if let Some(f) = file {
                    let _ = git2::opts::set_ssl_cert_file(f);
                }
                if let Some(d) = dir {
                    let _ = git2::opts::set_ssl_cert_dir(d);
                }
            }
        });
    }
}

/// The repository holding the vault, if there is one: found from the vault's folder, never
/// from `GIT_DIR` or the like in the environment (see [`REPOSITORY_ENV`]), and reading the
/// person's git configuration as git would ([`person_config`]).
pub fn open(vault_root: &Path) -> Option<Repository> {
    start_libgit2();
    let repo = Repository::discover(vault_root).ok()?;
    // A bare repository has no work tree to commit notes from.
    repo.workdir()?;
    if let Some(config) = person_config(Some(repo.path())) {
        let _ = repo.set_config(&config);
    }
    Some(repo)
}

/// The person's git configuration where libgit2 would read another: `GIT_CONFIG_GLOBAL` (a
/// file instead of `~/.gitconfig` and the XDG one; `/dev/null` for none),
/// `GIT_CONFIG_NOSYSTEM` and `GIT_CONFIG_SYSTEM`, as git honours them. None when none is set
/// (libgit2's own lookup is then git's). `gitdir`: the repository's own configuration too.
pub fn person_config(gitdir: Option<&Path>) -> Option<git2::Config> {
    use git2::{Config, ConfigLevel};
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let global = std::env::var_os("GIT_CONFIG_GLOBAL");
    let no_system = var("GIT_CONFIG_NOSYSTEM").is_some_and(|v| v != "0" && v != "false");
    let system = var("GIT_CONFIG_SYSTEM");
    if global.is_none() && !no_system && system.is_none() {
        return None;
    }
    let mut config = Config::new().ok()?;
    let mut add = |path: PathBuf, level: ConfigLevel| {
        if path.is_file() {
            let _ = config.add_file(&path, level, false);
        }
    };
    if !no_system {
        if let Some(p) = system
            .map(PathBuf::from)
            .or_else(|| Config::find_system().ok())
        {
            add(p, ConfigLevel::System);
        }
    }
    match global {
        Some(g) => add(PathBuf::from(g), ConfigLevel::Global),
        None => {
            if let Ok(p) = Config::find_xdg() {
                add(p, ConfigLevel::XDG);
            }
            if let Ok(p) = Config::find_global() {
                add(p, ConfigLevel::Global);
            }
        }
    }
    if let Some(dir) = gitdir {
        add(dir.join("config"), ConfigLevel::Local);
    }
    Some(config)
}

/// The branch a new repository starts on: `init.defaultBranch` of the person's configuration,
/// else git's default, `master`.
fn default_branch() -> String {
    let config = person_config(None).or_else(|| git2::Config::open_default().ok());
    config
        .and_then(|c| c.get_string("init.defaultBranch").ok())
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "master".to_string())
}

/// The git program kb may run (`KB_GIT` or config.toml's `git`: `auto`, `libgit2` or a
/// path), set once at start; None: libgit2 only.
static PROGRAM_SETTING: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Set how kb reaches git (see [`program`]); once per process.
pub fn set_program_setting(setting: Option<String>) {
    let _ = PROGRAM_SETTING.set(setting);
}

/// The git program for `setting`: `libgit2` none; a path that one; unset or `auto` the `git`
/// found on PATH, if any.
pub fn program_for(setting: Option<&str>) -> Option<PathBuf> {
    match setting.map(str::trim) {
        Some("libgit2") => None,
        Some(s) if !s.is_empty() && s != "auto" => Some(PathBuf::from(s)),
        _ => which::which("git").ok(),
    }
}

/// The git program of this process's setting ([`set_program_setting`]).
pub fn program() -> Option<PathBuf> {
    static RESOLVED: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    RESOLVED
        .get_or_init(|| program_for(PROGRAM_SETTING.get().cloned().flatten().as_deref()))
        .clone()
}

/// The repository a new vault at `root` lives in: the one already holding the folder (a
/// vault may be a folder of a larger repository: its clones then carry the notes), else a new
/// one at `root`.
pub fn init(root: &Path) -> Result<Repository> {
    start_libgit2();
    if let Some(r) = open(root) {
        return Ok(r);
    }
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head(&default_branch());
    Repository::init_opts(root, &opts)?;
    open(root).ok_or_else(|| KbError::NotARepository(root.to_path_buf()))
}

/// Who authors and who commits, as git itself decides: through the git program when kb may
/// run it (`git var GIT_AUTHOR_IDENT`: `GIT_AUTHOR_*`, `user.*`, `author.*`, `EMAIL`, the
/// configuration `GIT_CONFIG_GLOBAL` names...), else from the same variables and the person's
/// configuration read by libgit2. With no identity git refuses to commit, and so does kb
/// ([`KbError::NoIdentity`]): a team vault's history must not say "kb" where a person wrote.
pub fn signatures(repo: &Repository) -> Result<(Signature<'static>, Signature<'static>)> {
    let (author, committer) = identity(repo)?;
    Ok((
        Signature::now(&author.0, &author.1)?,
        Signature::now(&committer.0, &committer.1)?,
    ))
}

type Ident = ((String, String), (String, String));

/// [`signatures`]' names and addresses, found once per repository and process.
fn identity(repo: &Repository) -> Result<Ident> {
    static FOUND: std::sync::Mutex<Vec<(PathBuf, std::result::Result<Ident, String>)>> =
        std::sync::Mutex::new(Vec::new());
    let key = repo.path().to_path_buf();
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, r)) = found.iter().find(|(k, _)| *k == key) {
        return r.clone().map_err(KbError::NoIdentity);
    }
    let r = match program() {
        Some(git) => identity_from_git(&git, repo),
        None => identity_from_config(repo),
    };
    found.push((key, r.clone()));
    r.map_err(KbError::NoIdentity)
}

fn identity_from_git(git: &Path, repo: &Repository) -> std::result::Result<Ident, String> {
    let ask = |var: &str| -> std::result::Result<(String, String), String> {
        let out = command(git)
            .arg("--git-dir")
            .arg(repo.path())
            .args(["var", var])
            .env("LC_ALL", "C")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("running {}: {e}", git.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stderr);
            let fatal = said
                .lines()
                .rev()
                .find(|l| l.starts_with("fatal:"))
                .map(|l| l.trim_start_matches("fatal:").trim().to_string());
            return Err(fatal.unwrap_or_else(|| "git does not know who you are".into()));
        }
        // `Name <email> 1700000000 +0000`
        let (name, rest) = text.split_once('<').ok_or("git var printed no identity")?;
        let (email, _) = rest.split_once('>').ok_or("git var printed no identity")?;
        Ok((name.trim().to_string(), email.trim().to_string()))
    };
    Ok((ask("GIT_AUTHOR_IDENT")?, ask("GIT_COMMITTER_IDENT")?))
}

fn identity_from_config(repo: &Repository) -> std::result::Result<Ident, String> {
    let config = repo.config().ok();
    let get = |k: &str| config.as_ref().and_then(|c| c.get_string(k).ok());
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let pick = |role: &str| -> std::result::Result<(String, String), String> {
        let lower = role.to_ascii_lowercase();
        let name = var(&format!("GIT_{role}_NAME"))
            .or_else(|| get(&format!("{lower}.name")))
            .or_else(|| get("user.name"));
        let email = var(&format!("GIT_{role}_EMAIL"))
            .or_else(|| get(&format!("{lower}.email")))
            .or_else(|| get("user.email"))
            .or_else(|| var("EMAIL"));
        match (name, email) {
            (Some(n), Some(e)) => Ok((n, e)),
            _ => Err("no user.name and user.email are configured".into()),
        }
    };
    Ok((pick("AUTHOR")?, pick("COMMITTER")?))
}

/// One kb process writing to the repository at a time, and recovery from one that was killed.
///
/// Every command that changes a note takes this lock before it reads the note and keeps it
/// until the change is committed; `kb sync` takes it for its local steps (committing notes
/// edited by hand, bringing fetched commits into the branch), not while it waits for the
/// remote. A kb process killed while libgit2 writes leaves git's lock files behind
/// (`index.lock`, `refs/heads/main.lock`), and git refuses to work until someone removes them.
/// A session holds an OS lock on `.git/kb.lock` (released by the OS when the process dies) and
/// records its start and what it does in `.git/kb-session`, removed when it ends. Finding that
/// record while holding the lock means the last kb session died: the git lock files it could
/// have left (those not older than its start) are removed before work goes on.
pub struct Session {
    _lock: fs::File,
    marker: PathBuf,
}

/// Take the repository's kb lock for `what` (`kb sync`, `kb worked`...: named to a kb that
/// waits for it). A wait of over a second is announced ([`crate::progress::notice`]); after
/// `KB_LOCK_WAIT` kb gives up with [`KbError::RepositoryLocked`].
pub fn session(repo: &Repository, what: &str) -> Result<Session> {
    let gitdir = repo.path().to_path_buf();
    let io = |e: std::io::Error| crate::vault::io_err(&gitdir.join("kb.lock"), e);
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(gitdir.join("kb.lock"))
        .map_err(io)?;
    let marker = gitdir.join("kb-session");
    let start = Instant::now();
    let mut announced = false;
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < crate::wait::get() => {
                if !announced && start.elapsed() >= Duration::from_secs(1) {
                    announced = true;
                    let holder = holder(&marker).unwrap_or_else(|| "another kb".into());
                    crate::progress::notice(&format!("waiting for {holder} to finish"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(KbError::RepositoryLocked(
                    holder(&marker).unwrap_or_else(|| "another kb process".into()),
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    if let Some(died_at) = fs::read_to_string(&marker)
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u64>().ok()))
    {
        remove_stale_locks(&gitdir, died_at);
    }
    let record = format!("{}\n{what}\n{}\n", now_secs(), std::process::id());
    fs::write(&marker, record).map_err(io)?;
    Ok(Session {
        _lock: lock,
        marker,
    })
}

/// What the kb holding the lock does, as its session record says (`kb sync (pid 4242)`).
fn holder(marker: &Path) -> Option<String> {
    let text = fs::read_to_string(marker).ok()?;
    let mut lines = text.lines().skip(1);
    let what = lines.next().filter(|w| !w.trim().is_empty())?;
    Some(match lines.next() {
        Some(pid) if !pid.trim().is_empty() => format!("{} (pid {})", what.trim(), pid.trim()),
        _ => what.trim().to_string(),
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
/// the index) and commit them, and only them, with `message`. Returns the short id of the new
/// commit, or None when nothing changed. `git`: the git program to stage with (see
/// [`commit_paths_locked`]); None stages with libgit2.
pub fn commit_paths(
    repo: &Repository,
    vault_root: &Path,
    rels: &[String],
    message: &str,
    git: Option<&Path>,
) -> Result<Option<String>> {
    let _session = session(repo, "kb")?;
    commit_paths_locked(repo, vault_root, rels, message, git)
}

/// One path to commit.
struct Change {
    /// Repository-relative, `/`-separated (the tree's and the staging area's name for it).
    path: String,
    /// In the work tree, with its mode; None when the file is gone.
    file: Option<(PathBuf, git2::FileMode)>,
}

/// [`commit_paths`] inside a [`Session`] the caller holds.
///
/// The commit's tree is HEAD's with these paths changed (only the folders along them are
/// rewritten), not the whole staging area written out: what the person staged with git for
/// another commit stays staged and out of kb's commit, and a vault of 100,000 notes does not
/// pay for a tree of every folder. The staging area gets the same paths, so `git status`
/// agrees with the commit: through the `git` program when there is one (`kb worked` at
/// 100,000 notes: 76 ms against 136 ms staging with libgit2; and it applies the repository's
/// filters as `git add` would), else through libgit2. With the git program the staging area
/// is rewritten while the tree and the commit are written (`kb link` at 100,000 notes: median
/// 136.5 / 138.5 ms against 144.6 / 148.1 ms in two alternating runs).
pub fn commit_paths_locked(
    repo: &Repository,
    vault_root: &Path,
    rels: &[String],
    message: &str,
    git: Option<&Path>,
) -> Result<Option<String>> {
    commit_changes(repo, vault_root, rels, message, git).map_err(|e| {
        // Another git holds the staging area: one sentence that says so, not git's and
        // libgit2's texts one after the other.
        let lock = repo.path().join("index.lock");
        if lock.exists() {
            KbError::GitIndexLocked(lock)
        } else {
            e
        }
    })
}

fn commit_changes(
    repo: &Repository,
    vault_root: &Path,
    rels: &[String],
    message: &str,
    git: Option<&Path>,
) -> Result<Option<String>> {
    let workdir = repo.workdir().unwrap_or(vault_root).to_path_buf();
    let prefix = vault_prefix(repo, vault_root);
    let parent = match repo.head() {
        Ok(h) => Some(h.peel_to_commit()?),
        Err(_) => None,
    };
    let base = parent.as_ref().map(|c| c.tree()).transpose()?;
    let executable_bit = repo.config()?.get_bool("core.fileMode").unwrap_or(true);
    let changes: Vec<Change> = rels
        .iter()
        .map(|rel| {
            let parts: Vec<&str> = prefix
                .split('/')
                .chain(rel.split('/'))
                .filter(|p| !p.is_empty())
                .collect();
            let rel_path: PathBuf = parts.iter().collect();
            let abs = workdir.join(&rel_path);
            let file = std::fs::symlink_metadata(&abs).ok().map(|meta| {
                let mode = if meta.file_type().is_symlink() {
                    git2::FileMode::Link
                } else if executable_bit && is_executable(&meta) {
                    git2::FileMode::BlobExecutable
                } else {
                    git2::FileMode::Blob
                };
                (rel_path, mode)
            });
            Change {
                path: parts.join("/"),
                file,
            }
        })
        .collect();
    // The first commit has no tree to change: the staging area is the tree (libgit2).
    let hashed = git.filter(|_| base.is_some()).and_then(|g| {
        let plain = changes.iter().all(|c| {
            !c.path.contains('\n')
                && c.file
                    .as_ref()
                    .is_none_or(|(_, m)| *m != git2::FileMode::Link)
        });
        plain
            .then(|| hash_with_git(g, repo.path(), &workdir, &changes).ok())
            .flatten()
            .map(|ids| (g, ids))
    });
    let Some(base) = base else {
        stage_with_libgit2(repo, &changes)?;
        let tree_id = repo.index()?.write_tree()?;
        return write_commit(repo, None, tree_id, message);
    };
    let Some((g, ids)) = hashed else {
        let ids = stage_with_libgit2(repo, &changes)?;
        let tree_id = updated_tree(repo, &base, &changes, &ids)?;
        return write_commit(repo, parent.as_ref(), tree_id, message);
    };
    // The git program rewrites the staging area (at 100,000 notes most of the time of a
    // commit: git reads and writes 9 MB) while libgit2 writes the tree and the commit, which
    // do not depend on it: they are made from HEAD's tree and the blobs just hashed.
    let gitdir = repo.path().to_path_buf();
    let (staged, committed) = std::thread::scope(|s| {
        let staging = s.spawn(|| update_index_with_git(g, &gitdir, &workdir, &changes, &ids));
        let committed = updated_tree(repo, &base, &changes, &ids)
            .and_then(|tree_id| write_commit(repo, parent.as_ref(), tree_id, message));
        let staged = staging.join().unwrap_or_else(|_| {
            Err(KbError::Git(git2::Error::from_str(
                "git update-index stopped unexpectedly",
            )))
        });
        (staged, committed)
    });
    let Err(staging_failed) = staged else {
        return committed;
    };
    // The staging area must agree with the commit, or `git status` shows the note changed
    // back (and a `git commit` of the person's would undo it): libgit2 stages the same files.
    let Err(also_failed) = stage_with_libgit2(repo, &changes) else {
        return committed;
    };
    // Neither could (another git holds `index.lock`): no commit then, as when staging fails
    // before committing; the note stays changed in the work tree for the next commit.
    if let (Ok(Some(ours)), Some(parent)) = (&committed, &parent) {
        undo_commit(repo, ours, parent.id());
    }
    Err(KbError::Git(git2::Error::from_str(&format!(
        "{staging_failed}; {also_failed}"
    ))))
}

/// Move HEAD's branch back to `parent` if it still points at kb's commit `ours` (its short
/// id): nothing else moved it meanwhile.
fn undo_commit(repo: &Repository, ours: &str, parent: git2::Oid) {
    let Ok(head) = repo.head() else { return };
    let (Ok(name), Some(current)) = (head.name(), head.target()) else {
        return;
    };
    if current.to_string().starts_with(ours) {
        let _ = repo.reference_matching(
            name,
            parent,
            true,
            current,
            "kb: commit undone, the staging area could not be updated",
        );
    }
}

/// HEAD's tree with `changes` made: each file with its blob id upserted, a file gone removed.
fn updated_tree(
    repo: &Repository,
    base: &git2::Tree,
    changes: &[Change],
    ids: &[Option<git2::Oid>],
) -> Result<git2::Oid> {
    let mut update = git2::build::TreeUpdateBuilder::new();
    for (c, id) in changes.iter().zip(ids) {
        match (&c.file, id) {
            (Some((_, mode)), Some(id)) => {
                update.upsert(c.path.as_str(), *id, *mode);
            }
            _ => {
                if base.get_path(Path::new(&c.path)).is_ok() {
                    update.remove(c.path.as_str());
                }
            }
        }
    }
    Ok(update.create_updated(repo, base)?)
}

/// A commit of `tree_id` on `parent`, HEAD moved to it; its short id, None when the tree is
/// the parent's (nothing to commit).
fn write_commit(
    repo: &Repository,
    parent: Option<&git2::Commit>,
    tree_id: git2::Oid,
    message: &str,
) -> Result<Option<String>> {
    if parent.is_some_and(|p| p.tree_id() == tree_id) {
        return Ok(None);
    }
    let tree = repo.find_tree(tree_id)?;
    let (author, committer) = signatures(repo)?;
    let parents: Vec<&git2::Commit> = parent.into_iter().collect();
    let oid = repo.commit(Some("HEAD"), &author, &committer, message, &tree, &parents)?;
    let short = oid.to_string()[..7].to_string();
    Ok(Some(short))
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &fs::Metadata) -> bool {
    false
}

/// Stage the changes with libgit2; each file's blob id (None for a file gone).
fn stage_with_libgit2(repo: &Repository, changes: &[Change]) -> Result<Vec<Option<git2::Oid>>> {
    let mut index = repo.index()?;
    let mut ids = Vec::with_capacity(changes.len());
    for c in changes {
        match &c.file {
            Some((rel_path, _)) => {
                index.add_path(rel_path)?;
                ids.push(index.get_path(rel_path, 0).map(|e| e.id));
            }
            None => {
                let _ = index.remove_path(Path::new(&c.path));
                ids.push(None);
            }
        }
    }
    index.write()?;
    Ok(ids)
}

/// The variables through which a caller's environment points git at a repository, as `git
/// rev-parse --local-env-vars` lists them (git itself clears them before it runs git in
/// another repository), and `GIT_NAMESPACE`. Set by git in hooks and aliases, and by vcsh and
/// yadm in the shells they start.
pub const REPOSITORY_ENV: &[&str] = &[
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
];

/// The git program, to be run on the vault's repository: the caller's variables that would
/// send it to another repository ([`REPOSITORY_ENV`]) are removed; everything else of the
/// person's environment (`GIT_CONFIG_GLOBAL`, `GIT_SSH_COMMAND`, proxies...) stays.
pub fn command(git: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(git);
    for var in REPOSITORY_ENV {
        cmd.env_remove(var);
    }
    // `GIT_CONFIG_KEY_0`... only count with `GIT_CONFIG_COUNT`, removed above.
    cmd
}

/// Run the git program on the repository at `gitdir` with `input` on its standard input; its
/// standard output. The repository is named explicitly, so a `GIT_DIR` or `GIT_INDEX_FILE` in
/// the environment cannot send git elsewhere than libgit2.
fn run_git(
    git: &Path,
    gitdir: &Path,
    workdir: &Path,
    args: &[&str],
    input: Vec<u8>,
) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut cmd = command(git);
    cmd.arg("--git-dir")
        .arg(gitdir)
        .arg("--work-tree")
        .arg(workdir)
        .args(args)
        .current_dir(workdir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let io = |e: std::io::Error| {
        KbError::Git(git2::Error::from_str(&format!(
            "running {}: {e}",
            git.display()
        )))
    };
    let mut child = cmd.spawn().map_err(io)?;
    // Written from another thread: git answers while it reads, and a long answer must not
    // wait for the end of a long question.
    let writer = child
        .stdin
        .take()
        .map(|mut stdin| std::thread::spawn(move || stdin.write_all(&input)));
    let out = child.wait_with_output().map_err(io)?;
    if let Some(w) = writer {
        w.join()
            .unwrap_or_else(|_| Err(std::io::Error::other("writer panicked")))
            .map_err(io)?;
    }
    if !out.status.success() {
        return Err(KbError::Git(git2::Error::from_str(&format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))));
    }
    Ok(out.stdout)
}

/// The blobs of the changed files, written by `git hash-object -w` (the repository's filters
/// applied, as `git add` does); each file's blob id (None for a file gone).
fn hash_with_git(
    git: &Path,
    gitdir: &Path,
    workdir: &Path,
    changes: &[Change],
) -> Result<Vec<Option<git2::Oid>>> {
    let files: Vec<&Change> = changes.iter().filter(|c| c.file.is_some()).collect();
    let mut blobs = Vec::new();
    if !files.is_empty() {
        let paths: String = files.iter().map(|c| format!("{}\n", c.path)).collect();
        let args = ["hash-object", "-w", "--stdin-paths"];
        let out = run_git(git, gitdir, workdir, &args, paths.into_bytes())?;
        for line in String::from_utf8_lossy(&out).lines() {
            blobs.push(git2::Oid::from_str(line.trim())?);
        }
        if blobs.len() != files.len() {
            return Err(KbError::Git(git2::Error::from_str(
                "git hash-object did not name every file",
            )));
        }
    }
    let mut blobs = blobs.into_iter();
    Ok(changes
        .iter()
        .map(|c| c.file.as_ref().and_then(|_| blobs.next()))
        .collect())
}

/// Stage exactly these blobs with `git update-index --index-info` (a file gone is removed).
fn update_index_with_git(
    git: &Path,
    gitdir: &Path,
    workdir: &Path,
    changes: &[Change],
    ids: &[Option<git2::Oid>],
) -> Result<()> {
    let mut info = Vec::new();
    for (c, id) in changes.iter().zip(ids) {
        match (&c.file, id) {
            (Some((_, mode)), Some(id)) => {
                info.extend(format!("{:o} {id}\t{}\0", i32::from(*mode), c.path).bytes());
            }
            _ => info.extend(format!("0 {}\t{}\0", git2::Oid::ZERO_SHA1, c.path).bytes()),
        }
    }
    let args = ["update-index", "-z", "--index-info"];
    run_git(git, gitdir, workdir, &args, info)?;
    Ok(())
}

/// The commit HEAD points at, read from the files of the repository holding `vault_root`
/// without libgit2 (whose start-up initialises OpenSSL: 25 ms, more than a search). Handles
/// the common layouts (a `.git` folder or a `gitdir:` file, loose or packed refs, a detached
/// HEAD); None when it cannot tell, and the caller asks libgit2.
pub fn head_id(vault_root: &Path) -> Option<String> {
    let (gitdir, common) = find_gitdir(vault_root)?;
    let head = fs::read_to_string(gitdir.join("HEAD")).ok()?;
    let head = head.trim();
    let id = match head.strip_prefix("ref: ") {
        None => head.to_string(),
        Some(name) => {
            let name = name.trim();
            if !name.starts_with("refs/") || name.contains("..") {
                return None;
            }
            match fs::read_to_string(common.join(name)) {
                Ok(loose) => loose.trim().to_string(),
                Err(_) => {
                    let packed = fs::read_to_string(common.join("packed-refs")).ok()?;
                    packed
                        .lines()
                        .filter(|l| !l.starts_with('#') && !l.starts_with('^'))
                        .find_map(|l| {
                            let (id, r) = l.split_once(' ')?;
                            (r.trim() == name).then(|| id.to_string())
                        })?
                }
            }
        }
    };
    let hex = id.len() == 40 || id.len() == 64;
    (hex && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
}

/// Whether a `.git` is at or above `vault_root` (a stat per folder; libgit2 is not started).
pub fn in_repository(vault_root: &Path) -> bool {
    find_gitdir(vault_root).is_some()
}

/// The git folder of the repository holding `start`, and its common folder (they differ in
/// a linked worktree).
fn find_gitdir(start: &Path) -> Option<(PathBuf, PathBuf)> {
    for dir in start.ancestors() {
        let dot = dir.join(".git");
        let Ok(meta) = fs::metadata(&dot) else {
            continue;
        };
        let gitdir = if meta.is_dir() {
            dot
        } else {
            let text = fs::read_to_string(&dot).ok()?;
            dir.join(text.trim().strip_prefix("gitdir:")?.trim())
        };
        let common = match fs::read_to_string(gitdir.join("commondir")) {
            Ok(c) => gitdir.join(c.trim()),
            Err(_) => gitdir.clone(),
        };
        return Some((gitdir, common));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    }

    fn libgit2_head(dir: &Path) -> Option<String> {
        Some(open(dir)?.head().ok()?.target()?.to_string())
    }

    #[test]
    fn head_read_from_files_agrees_with_libgit2() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let sub = root.join("notes");
        fs::create_dir_all(&sub).unwrap();
        git(&root, &["init", "-q", "-b", "main"]);
        // No commit yet: neither knows a commit.
        assert_eq!(head_id(&sub), None);
        fs::write(sub.join("a.md"), "a\n").unwrap();
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-qm", "one"]);
        assert_eq!(head_id(&sub), libgit2_head(&sub));
        // Packed refs, then a new loose ref over the packed one.
        git(&root, &["pack-refs", "--all"]);
        assert!(!root.join(".git/refs/heads/main").exists());
        assert_eq!(head_id(&sub), libgit2_head(&sub));
        git(&root, &["commit", "-q", "--allow-empty", "-m", "two"]);
        assert_eq!(head_id(&sub), libgit2_head(&sub));
        // A linked worktree on another branch, then a detached HEAD.
        let wt = root.join("wt");
        git(
            &root,
            &["worktree", "add", "-q", "-b", "other", wt.to_str().unwrap()],
        );
        git(&wt, &["commit", "-q", "--allow-empty", "-m", "three"]);
        assert_eq!(head_id(&wt), libgit2_head(&wt));
        assert_ne!(head_id(&wt), head_id(&sub));
        git(&root, &["checkout", "-q", "--detach", "HEAD~1"]);
        assert_eq!(head_id(&sub), libgit2_head(&sub));
        assert!(head_id(&sub).is_some());
    }
}
