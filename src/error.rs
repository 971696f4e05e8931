//! Typed errors of the domain modules, each with an optional remedy (`hint`).
//!
//! Commands wrap these in `anyhow` with context; `main` walks the error chain to find the
//! first `KbError` and prints its hint under the message.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("no vault at {}", path.display())]
    NoVault { path: PathBuf },

    #[error("{} is a whole disk or home folder, not a vault", .0.display())]
    TooBroad(PathBuf),

    #[error("{} is not a kb vault (it has no kb.toml); kb writes only in a vault", path.display())]
    NotAVault { path: PathBuf },

    #[error("no note matches '{0}'")]
    NoteNotFound(String),

    #[error("'{query}' names several notes: {}", candidates.join(", "))]
    AmbiguousId {
        query: String,
        candidates: Vec<String>,
    },

    #[error("a note already exists at {}", .0.display())]
    NoteExists(PathBuf),

    #[error("{0}")]
    InvalidInput(String),

    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },

    #[error("cannot write {what}: {why}")]
    CannotWrite { what: String, why: String },

    #[error("the path '{0}' would leave the vault")]
    OutsideVault(String),

    #[error("'{0}' in the vault is a symbolic link; kb reads and writes notes only through real folders and files")]
    SymlinkInVault(String),

    #[error("{id} was changed where you edited it while the editor was open; the note is left as it is and your version is kept in {}", draft.display())]
    EditCollision { id: String, draft: PathBuf },

    #[error("cannot edit the front matter of {path}: {reason}")]
    FrontMatterEdit { path: String, reason: String },

    #[error("the editor '{editor}' failed: {reason}")]
    Editor { editor: String, reason: String },

    #[error("another kb process is updating the index and did not finish in time")]
    IndexBusy,

    #[error("{0} is writing to the vault and did not finish in time; kb changed nothing")]
    RepositoryLocked(String),

    #[error("git does not know who you are ({0}), so kb commits nothing")]
    NoIdentity(String),

    #[error("another git process holds {} (a git command still running, or one that stopped without cleaning up)", .0.display())]
    GitIndexLocked(PathBuf),

    #[error("{} is not in a git repository", .0.display())]
    NotARepository(PathBuf),

    #[error("the repository is in the middle of {0}; kb changed nothing")]
    RepositoryBusy(String),

    #[error("the vault '{0}' is read-only (read_only = true in the configuration); kb writes nothing there")]
    ReadOnlyVault(String),

    #[error("no remote named '{name}' is configured{}", known_remotes(existing))]
    NoRemote { name: String, existing: Vec<String> },

    #[error("the remote '{0}' rejected the credentials")]
    AuthRejected(String),

    #[error("the remote '{remote}' cannot be reached: {reason}")]
    RemoteUnreachable { remote: String, reason: String },

    #[error("the remote '{remote}' did not answer for {secs} s; kb stopped waiting")]
    RemoteTimeout { remote: String, secs: f64 },

    #[error("the SSH server of remote '{0}' is not known yet (its host key is in no known_hosts file); kb did not connect")]
    HostKeyUnknown(String),

    #[error("the SSH host key of remote '{remote}' has CHANGED since the last connection: someone may be intercepting it, or the server was reinstalled; kb did not connect")]
    HostKeyChanged {
        remote: String,
        /// ssh's own command to forget the old key.
        fix: Option<String>,
    },

    #[error("the HTTPS certificate of remote '{remote}' is not trusted: {reason}")]
    CertificateUntrusted { remote: String, reason: String },

    #[error(
        "the remote '{remote}' refused the push: {status}{}",
        server_message(server)
    )]
    PushRefused {
        remote: String,
        status: String,
        server: Vec<String>,
    },

    #[error("sync: {0}")]
    Sync(String),

    #[error("the remote's HEAD names the branch '{head}', which it does not have; it has {}", branches.join(", "))]
    RemoteHeadMissing { head: String, branches: Vec<String> },

    #[error("the remote has no branch '{branch}' but has {}: a sync would start a second branch that no other machine follows", others.join(", "))]
    RemoteBranchMissing {
        branch: String,
        others: Vec<String>,
        vault: PathBuf,
    },

    #[error("cannot clone {url}: {source}")]
    Clone {
        url: String,
        #[source]
        source: Box<KbError>,
    },

    #[error("not synced: the remote changes {} that {} local changes or untracked files: {}; kb changed nothing", if .0.len() == 1 { "a file" } else { "files" }, if .0.len() == 1 { "has" } else { "have" }, .0.join(", "))]
    SyncBlocked(Vec<String>),

    #[error("not pushing: {} {} a private key in a commit not yet pushed", notes.join(", "), if notes.len() == 1 { "holds" } else { "hold" })]
    SecretInHistory {
        notes: Vec<String>,
        /// The remote branch and commit the unpushed commits start from (None: nothing pushed yet).
        base: Option<String>,
        vault: PathBuf,
    },

    #[error("the embedding model at {} cannot be used: {reason}", path.display())]
    Model { path: PathBuf, reason: String },

    #[error("index: {0}")]
    Index(#[from] tantivy::TantivyError),

    #[error("git: {}", .0.message())]
    Git(#[from] git2::Error),
}

/// `s` as one POSIX shell word (single quotes; a line break inside stays part of it): the
/// commands kb suggests are copied into a shell. Plain words stay as they are.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:@,%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn known_remotes(existing: &[String]) -> String {
    if existing.is_empty() {
        String::new()
    } else {
        format!(" (the repository has {})", existing.join(", "))
    }
}

fn server_message(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!(
            "\nthe server said:\n  remote: {}",
            lines.join("\n  remote: ")
        )
    }
}

impl KbError {
    /// One line that tells the person what to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            KbError::NoVault { path } => Some(format!(
                "create one with `kb init {}`, or point kb at an existing one with --dir or KB_DIR",
                path.display()
            )),
            KbError::NotAVault { path } => Some(format!(
                "`kb init {}` makes this folder a vault (it adds kb.toml and, if needed, a git repository); searching it works as it is",
                path.display()
            )),
            KbError::GitIndexLocked(p) => Some(format!(
                "wait for that git command to finish; if none is running, remove the file: `{} {}`",
                if cfg!(windows) { "del" } else { "rm" },
                shell_word(&p.display().to_string())
            )),
            KbError::CannotWrite { why, .. } if why.contains("read-only") => Some(
                "the vault's disk is mounted read-only (a recovery mode, a full or failing disk, a share without write access): write where you can, or remount it".into(),
            ),
            KbError::CannotWrite { why, .. } if why.contains("full") => Some(
                "free some space on the vault's disk, then try again; the note was not written".into(),
            ),
            KbError::NoIdentity(_) => Some(
                "tell git who you are, as git itself asks: `git config --global user.email \"you@example.com\"` and `git config --global user.name \"Your Name\"` (omit --global for this vault only)"
                    .into(),
            ),
            KbError::TooBroad(p) => Some(format!(
                "keep notes in a folder of their own: `kb init {}` makes one (kb's default vault); to really use this folder, create {} in it first",
                crate::config::default_vault().display(),
                p.join("kb.toml").display()
            )),
            KbError::NoteNotFound(_) => {
                Some("`kb list` shows the ids; `kb search` finds notes by content".into())
            }
            KbError::AmbiguousId { .. } => {
                Some("give the full id (folder/name) of the note you mean".into())
            }
            KbError::NoteExists(_) => {
                Some("choose another title, or edit the existing note with `kb edit`".into())
            }
            KbError::IndexBusy => Some(
                "try again in a moment; if no other kb is running, `kb index --rebuild` repairs the index"
                    .into(),
            ),
            KbError::PushRefused { .. } => Some(
                "your notes are merged and committed locally; ask the server's owner about the refusal (a hook or a protected branch), or push to another branch with git".into(),
            ),
            KbError::RepositoryLocked(_) => Some(
                "try again in a moment (KB_LOCK_WAIT sets how long kb waits, in seconds)".into(),
            ),
            KbError::Model { .. } => Some(
                "point `model` in config.toml or KB_MODEL at a sentence-transformers folder (config.json, tokenizer.json, model.safetensors), or set KB_MODEL= (empty) to search without it; `kb model check PATH` tests one"
                    .into(),
            ),
            KbError::Index(_) => {
                Some("the index is a cache: `kb index --rebuild` recreates it from the notes".into())
            }
            KbError::Editor { .. } => {
                Some("set VISUAL or EDITOR to an editor command, e.g. `export EDITOR=nano`".into())
            }
            KbError::NotARepository(p) => Some(format!(
                "`kb init {}` makes the vault a git repository; then `git remote add origin URL`",
                p.display()
            )),
            KbError::RepositoryBusy(_) => Some(
                "finish or abort it with git first (`git merge --abort`, `git rebase --abort`...), then sync again"
                    .into(),
            ),
            KbError::ReadOnlyVault(_) => Some(
                "write to another vault with --vault NAME (default_vault in config.toml is where writes go)"
                    .into(),
            ),
            KbError::NoRemote { name, existing } => Some(match existing.first() {
                Some(first) => format!("name one of them (`kb sync --remote {first}`), or add '{name}' with `git remote add {name} URL`"),
                None => format!(
                    "add one with `git remote add {name} URL` (an SSH, HTTPS or file URL, or a folder path)"
                ),
            }),
            KbError::AuthRejected(_) => Some(
                "check that `git fetch` works in the vault: your SSH agent or keys (a key with a passphrase needs the agent, or SSH_ASKPASS when kb runs without a terminal), or your git credential helper; your notes are safe locally"
                    .into(),
            ),
            KbError::RemoteTimeout { .. } => Some(
                "check the network or VPN; for a slow server raise `sync_timeout` (seconds) in config.toml or KB_SYNC_TIMEOUT; your notes are committed locally"
                    .into(),
            ),
            KbError::HostKeyUnknown(_) => Some(
                "connect once with `ssh` (or `git fetch`) in a terminal, compare the fingerprint with the one the server's admin gives you, and accept it; kb then trusts it too"
                    .into(),
            ),
            KbError::HostKeyChanged { fix, .. } => Some(format!(
                "ask the server's admin whether its key changed; only if it did, forget the old key ({}) and connect once with ssh to accept the new one",
                fix.as_deref().map_or("`ssh-keygen -R HOST`".to_string(), |f| format!("`{f}`"))
            )),
            KbError::CertificateUntrusted { .. } => Some(
                "if your company has its own certificate authority, tell git where it is: `git config --global http.sslCAInfo /path/to/ca.pem` (kb uses git's settings)"
                    .into(),
            ),
            KbError::RemoteUnreachable { .. } => Some(
                "check the network and the remote's URL (`git remote -v`); your notes are committed locally and the next sync sends them"
                    .into(),
            ),
            KbError::SecretInHistory { base, vault, .. } => {
                let dir = shell_word(&vault.display().to_string());
                Some(match base {
                    Some(base) => {
                        let tip = base.split(' ').next().unwrap_or(base);
                        format!(
                            "remove the key from the note (`kb edit`), then fold the unpushed commits into one without it: `git -C {dir} reset --soft {tip}` and `git -C {dir} commit -m 'Notes'`, then `kb sync` (or pass --allow-secrets to push it as it is)"
                        )
                    }
                    None => format!(
                        "nothing was pushed yet: remove the key from the note (`kb edit`), then start the history again without it: `git -C {dir} update-ref -d HEAD` and `git -C {dir} commit -m 'Notes'`, then `kb sync` (or pass --allow-secrets)"
                    ),
                })
            }
            KbError::EditCollision { id, draft } => Some(format!(
                "compare the two (`diff {} <(kb show {id})`), then `kb edit {id}` again with what should stay",
                shell_word(&draft.display().to_string())
            )),
            KbError::SymlinkInVault(_) => Some(
                "a link that came with the repository could point anywhere: replace it with a real folder or file (or remove it), then try again"
                    .into(),
            ),
            KbError::RemoteHeadMissing { branches, .. } => Some(format!(
                "name the branch your team uses: `kb clone URL DIR --branch {}`",
                branches.first().map_or("main", String::as_str)
            )),
            KbError::RemoteBranchMissing { others, vault, .. } => Some(format!(
                "follow the team's branch: `git -C {} branch -m {}`, then `kb sync` (it merges your notes into it)",
                shell_word(&vault.display().to_string()),
                others.first().map_or("main", String::as_str)
            )),
            KbError::Clone { source, .. } => Some(match source.as_ref() {
                KbError::RemoteUnreachable { .. }
                | KbError::RemoteTimeout { .. }
                | KbError::AuthRejected(_) => "check the URL and the network, and that `git clone URL` works in a terminal; nothing was created".into(),
                other => other.hint().unwrap_or_else(|| "nothing was created".into()),
            }),
            KbError::SyncBlocked(_) => Some(
                "commit them with git (`git add` and `git commit`), or put them aside (`git stash -u`, or move them), then `kb sync` again; notes are committed by kb itself"
                    .into(),
            ),
            KbError::FrontMatterEdit { .. } => {
                Some("fix the note's front matter by hand (`kb edit`), then try again".into())
            }
            _ => None,
        }
    }
}

pub type Result<T, E = KbError> = std::result::Result<T, E>;
