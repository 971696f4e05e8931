//! The remote through libgit2, when no `git` executable is available: the SSH agent, then the
//! usual key files (`id_ed25519`, `id_ecdsa`, `id_rsa`; no passphrase prompt) for SSH, git's
//! credential helpers for HTTPS. libgit2 knows neither `~/.ssh/config` nor git's TLS and proxy
//! settings: the `git` executable is the way to those.

use super::{redact, refused, remote_moved, server_lines};
use crate::error::{KbError, Result};
use crate::sync::SyncOptions;
use git2::{
    AutotagOption, Cred, CredentialType, ErrorClass, ErrorCode, FetchOptions, Oid, PushOptions,
    RemoteCallbacks, Repository, Signature,
};
use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};

/// Credentials as people already have them: the SSH agent and the usual keys for SSH, git's
/// credential helpers for HTTPS. Each kind is offered once; a rejected one is not retried
/// forever (libgit2 asks again after every refusal).
fn callbacks<'a>(
    config: &'a git2::Config,
    opts: &'a SyncOptions,
    tries: &'a Cell<u32>,
    auth_failed: &'a Cell<bool>,
) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    cb.credentials(move |url, username, allowed| {
        let n = tries.get();
        tries.set(n + 1);
        if n > 0 {
            auth_failed.set(true);
        }
        // As ssh does: the URL's user, else the local login name.
        let local = local_user();
        let user = username.unwrap_or(&local);
        if allowed.contains(CredentialType::SSH_KEY) {
            let keys = ssh_keys(opts);
            // try 0: the agent; then each key file in turn
            if n == 0 {
                if let Ok(c) = Cred::ssh_key_from_agent(user) {
                    return Ok(c);
                }
            }
            if let Some(key) = keys.get((n as usize).saturating_sub(1)) {
                return Cred::ssh_key(user, None, key, None);
            }
            return Err(git2::Error::new(
                ErrorCode::Auth,
                ErrorClass::Ssh,
                "no SSH key was accepted",
            ));
        }
        if n >= 2 {
            return Err(git2::Error::new(
                ErrorCode::Auth,
                ErrorClass::Http,
                "the credentials were rejected",
            ));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let Ok(c) = Cred::credential_helper(config, url, username) {
                return Ok(c);
            }
        }
        if allowed.contains(CredentialType::DEFAULT) {
            return Cred::default();
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(user);
        }
        Err(git2::Error::new(
            ErrorCode::Auth,
            ErrorClass::Http,
            "no credentials available (configure a git credential helper)",
        ))
    });
    cb
}

fn ssh_keys(opts: &SyncOptions) -> Vec<PathBuf> {
    let Some(dir) = &opts.ssh_dir else {
        return Vec::new();
    };
    ["id_ed25519", "id_ecdsa", "id_rsa"]
        .iter()
        .map(|k| dir.join(k))
        .filter(|p| p.is_file())
        .collect()
}

/// Turn a transport error into one clear sentence; nothing of a URL's password is kept.
fn network_error(remote: &str, e: git2::Error, auth_failed: bool) -> KbError {
    // A credential offered more than once means the first was refused, but only an error of
    // the authentication kind says the credentials are the problem (a connection dropped
    // after a login is not).
    let auth_error = e.code() == ErrorCode::Auth
        || (auth_failed && matches!(e.class(), ErrorClass::Ssh | ErrorClass::Http));
    if auth_error {
        return KbError::AuthRejected(remote.to_string());
    }
    let msg = redact(e.message());
    KbError::RemoteUnreachable {
        remote: remote.to_string(),
        reason: msg,
    }
}

/// The remote by name; a relative path URL (`../team.git`) is taken from the work tree, as
/// git does (libgit2 would take it from the current folder).
fn open_remote<'r>(repo: &'r Repository, name: &str) -> Result<git2::Remote<'r>> {
    let remote = repo.find_remote(name)?;
    let url = remote.url().unwrap_or("").to_string();
    let relative = !url.is_empty()
        && !url.contains("://")
        && !Path::new(&url).is_absolute()
        && !looks_like_scp(&url);
    if relative {
        if let Some(workdir) = repo.workdir() {
            let abs = workdir.join(&url);
            return Ok(repo.remote_anonymous(&abs.to_string_lossy())?);
        }
    }
    Ok(remote)
}

/// `git@host:team/notes.git` (but not `C:\path` on Windows).
fn looks_like_scp(url: &str) -> bool {
    match url.split_once(':') {
        Some((host, _)) => host.len() > 1 && !host.contains('/') && !host.contains('\\'),
        None => false,
    }
}

/// Fetch the remote branch; its tip, or None when the remote has no such branch yet.
pub(super) fn fetch(
    repo: &Repository,
    remote_name: &str,
    remote_branch: &str,
    opts: &SyncOptions,
) -> Result<Option<Oid>> {
    set_timeouts(opts);
    let mut remote = open_remote(repo, remote_name)?;
    let tracking_ref = format!("refs/remotes/{remote_name}/{remote_branch}");
    let refspec = format!("+refs/heads/{remote_branch}:{tracking_ref}");
    let tries = Cell::new(0);
    let auth_failed = Cell::new(false);
    let config = repo.config()?;
    let mut cb = callbacks(&config, opts, &tries, &auth_failed);
    cb.transfer_progress(|p| {
        crate::progress::report(
            "receiving notes",
            p.received_objects() as u64,
            p.total_objects() as u64,
        );
        true
    });
    let mut fo = FetchOptions::new();
    fo.remote_callbacks(cb).download_tags(AutotagOption::None);
    if let Err(e) = remote.fetch(&[refspec.as_str()], Some(&mut fo), Some("kb sync: fetch")) {
        return Err(network_error(remote_name, e, auth_failed.get()));
    }
    // A branch that does not exist on the remote yet is not an error: the first push makes it.
    let advertised = remote
        .list()
        .map(|heads| {
            heads
                .iter()
                .any(|h| h.name() == format!("refs/heads/{remote_branch}"))
        })
        .unwrap_or(true);
    if !advertised {
        return Ok(None);
    }
    Ok(repo
        .find_reference(&tracking_ref)
        .ok()
        .and_then(|r| r.target()))
}

/// The remote's branch names.
pub(super) fn branches(
    repo: &Repository,
    remote_name: &str,
    opts: &SyncOptions,
) -> Result<Vec<String>> {
    set_timeouts(opts);
    let mut remote = open_remote(repo, remote_name)?;
    let tries = Cell::new(0);
    let auth_failed = Cell::new(false);
    let config = repo.config()?;
    let cb = callbacks(&config, opts, &tries, &auth_failed);
    let conn = remote
        .connect_auth(git2::Direction::Fetch, Some(cb), None)
        .map_err(|e| network_error(remote_name, e, auth_failed.get()))?;
    let names = conn
        .list()?
        .iter()
        .filter_map(|h| h.name().strip_prefix("refs/heads/").map(str::to_string))
        .collect();
    Ok(names)
}

/// Push the branch; false when the remote rejected it because it moved.
pub(super) fn push(
    repo: &Repository,
    remote_name: &str,
    local_ref: &str,
    remote_branch: &str,
    opts: &SyncOptions,
) -> Result<bool> {
    set_timeouts(opts);
    let mut remote = open_remote(repo, remote_name)?;
    let tries = Cell::new(0);
    let auth_failed = Cell::new(false);
    let rejected: RefCell<Option<String>> = RefCell::new(None);
    let server: RefCell<Vec<u8>> = RefCell::new(Vec::new());
    let config = repo.config()?;
    let mut cb = callbacks(&config, opts, &tries, &auth_failed);
    cb.push_update_reference(|_refname, status| {
        if let Some(s) = status {
            *rejected.borrow_mut() = Some(s.to_string());
        }
        Ok(())
    });
    // What the server prints ("remote: ..." in git): the reason a hook refused the push.
    cb.sideband_progress(|data| {
        let mut buf = server.borrow_mut();
        if buf.len() < 16 * 1024 {
            buf.extend_from_slice(data);
        }
        true
    });
    let mut po = PushOptions::new();
    po.remote_callbacks(cb);
    let spec = format!("{local_ref}:refs/heads/{remote_branch}");
    let result = remote.push(&[spec.as_str()], Some(&mut po));
    drop(po);
    let refused = |status: String| {
        if remote_moved(&status) {
            Ok(false)
        } else {
            Err(refused(remote_name, status, server_lines(&server.borrow())))
        }
    };
    match result {
        Ok(()) => {}
        Err(e) if e.code() == ErrorCode::NotFastForward => return Ok(false),
        Err(e) if e.class() == git2::ErrorClass::Reference || remote_moved(e.message()) => {
            return refused(e.message().to_string())
        }
        Err(e) => return Err(network_error(remote_name, e, auth_failed.get())),
    }
    let status = rejected.borrow_mut().take();
    match status {
        None => Ok(true),
        Some(status) => refused(status),
    }
}

/// Clone `url` into `dir` with the same credentials as sync.
pub(super) fn clone(url: &str, dir: &Path, branch: Option<&str>, opts: &SyncOptions) -> Result<()> {
    set_timeouts(opts);
    // No repository yet: the credential helpers come from the user's and system git config.
    let tries = Cell::new(0);
    let auth_failed = Cell::new(false);
    let config = git2::Config::open_default()?;
    let mut fo = FetchOptions::new();
    fo.remote_callbacks(callbacks(&config, opts, &tries, &auth_failed));
    let mut builder = git2::build::RepoBuilder::new();
    builder.fetch_options(fo);
    if let Some(b) = branch {
        builder.branch(b);
    }
    let repo = builder
        .clone(url, dir)
        .map_err(|e| network_error(&redact(url), e, auth_failed.get()))?;
    let shown = redact(url);
    if shown != url {
        scrub_reflogs(&repo, url, &shown)?;
    }
    Ok(())
}

/// libgit2 writes the clone URL, password included, into the reflogs ("clone: from URL");
/// git itself strips it. Rewrite every reflog entry that holds `url` with `shown` instead.
pub(super) fn scrub_reflogs(repo: &Repository, url: &str, shown: &str) -> Result<()> {
    let mut names = vec!["HEAD".to_string()];
    for r in repo.references()?.flatten() {
        if let Ok(n) = r.name() {
            names.push(n.to_string());
        }
    }
    for name in names {
        let mut log = repo.reflog(&name)?;
        let entries: Vec<(Oid, Signature<'static>, Option<String>)> = log
            .iter()
            .map(|e| {
                (
                    e.id_new(),
                    e.committer().to_owned(),
                    e.message_bytes()
                        .map(|b| String::from_utf8_lossy(b).into_owned()),
                )
            })
            .collect();
        if !entries
            .iter()
            .any(|(_, _, m)| m.as_deref().is_some_and(|m| m.contains(url)))
        {
            continue;
        }
        while !log.is_empty() {
            log.remove(0, false)?;
        }
        // Entries come newest first; append oldest first.
        for (id, who, msg) in entries.into_iter().rev() {
            let msg = msg.map(|m| m.replace(url, shown));
            log.append(id, &who, msg.as_deref())?;
        }
        log.write()?;
    }
    Ok(())
}

/// The local login name (ssh's default user).
fn local_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "git".into())
}

/// libgit2 waits for a silent server as long as the timeout allows.
/// (And, before it connects, the TLS certificates it may need: see
/// [`crate::git::load_tls_certificates`].)
pub(super) fn set_timeouts(opts: &SyncOptions) {
    crate::git::load_tls_certificates();
    let ms = opts.timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: set before any network operation of this process, from one thread.
    unsafe {
        let _ = git2::opts::set_server_connect_timeout_in_milliseconds(ms);
        let _ = git2::opts::set_server_timeout_in_milliseconds(ms);
    }
}
