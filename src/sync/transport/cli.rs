//! The remote through the `git` executable: every setting, key and helper the person's git
//! uses applies. kb runs `git fetch`, `git push --porcelain` and `git clone` in the work
//! tree, watches them (a remote silent for longer than the timeout is given up on), shows
//! their progress as its own, and turns their messages into one clear sentence.

use super::{redact, refused, remote_moved, server_lines};
use crate::error::{KbError, Result};
use crate::sync::SyncOptions;
use git2::{Oid, Repository};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most this much of git's output is kept (a server can say a lot).
const KEEP: usize = 256 * 1024;

pub(super) fn fetch(
    git: &Path,
    repo: &Repository,
    remote: &str,
    remote_branch: &str,
    opts: &SyncOptions,
) -> Result<Option<Oid>> {
    let tracking_ref = format!("refs/remotes/{remote}/{remote_branch}");
    let refspec = format!("+refs/heads/{remote_branch}:{tracking_ref}");
    let out = run(
        git,
        repo.workdir(),
        &["fetch", "--no-tags", "--progress", "--", remote, &refspec],
        opts,
    )?;
    if !out.success {
        // An empty remote, or one without this branch yet: the first push makes it.
        if out.stderr.contains("couldn't find remote ref") {
            return Ok(None);
        }
        return Err(classify(remote, &url_of(repo, remote), &out, opts));
    }
    Ok(repo
        .find_reference(&tracking_ref)
        .ok()
        .and_then(|r| r.target()))
}

/// The remote's branch names (`git ls-remote --heads`).
pub(super) fn branches(
    git: &Path,
    repo: &Repository,
    remote: &str,
    opts: &SyncOptions,
) -> Result<Vec<String>> {
    let out = run(
        git,
        repo.workdir(),
        &["ls-remote", "--heads", "--", remote],
        opts,
    )?;
    if !out.success {
        return Err(classify(remote, &url_of(repo, remote), &out, opts));
    }
    Ok(out
        .stdout
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .filter_map(|r| r.trim().strip_prefix("refs/heads/").map(str::to_string))
        .collect())
}

pub(super) fn push(
    git: &Path,
    repo: &Repository,
    remote: &str,
    local_ref: &str,
    remote_branch: &str,
    opts: &SyncOptions,
) -> Result<bool> {
    let spec = format!("{local_ref}:refs/heads/{remote_branch}");
    let out = run(
        git,
        repo.workdir(),
        &["push", "--porcelain", "--progress", "--", remote, &spec],
        opts,
    )?;
    // `--porcelain`: one line per ref, `FLAG TAB from:to TAB summary`; `!` is a refusal.
    let refusal = out.stdout.lines().find_map(|l| {
        let mut parts = l.split('\t');
        let flag = parts.next()?;
        let _refs = parts.next()?;
        (flag == "!").then(|| parts.next().unwrap_or("rejected").to_string())
    });
    if let Some(status) = refusal {
        if remote_moved(&status) {
            return Ok(false);
        }
        let pw = password_of(&url_of(repo, remote)).map(str::to_string);
        let mut said = said_by_server(&out.stderr);
        if let Some(pw) = pw {
            said = said.into_iter().map(|l| l.replace(&pw, "***")).collect();
        }
        return Err(refused(remote, status, said));
    }
    if !out.success {
        return Err(classify(remote, &url_of(repo, remote), &out, opts));
    }
    Ok(true)
}

pub(super) fn clone(
    git: &Path,
    url: &str,
    dir: &Path,
    branch: Option<&str>,
    opts: &SyncOptions,
) -> Result<()> {
    let target = dir.to_string_lossy();
    let mut args = vec!["clone", "--progress", "--no-tags"];
    if let Some(b) = branch {
        args.extend(["--branch", b]);
    }
    args.extend(["--", url, &target]);
    let out = run(git, None, &args, opts)?;
    if !out.success {
        return Err(classify(url, url, &out, opts));
    }
    let shown = redact(url);
    if shown != url {
        // git keeps the URL as given in the remote's configuration; its reflogs are checked
        // like libgit2's.
        crate::git::start_libgit2();
        if let Ok(repo) = Repository::open(dir) {
            super::libgit2::scrub_reflogs(&repo, url, &shown)?;
        }
    }
    Ok(())
}

/// What a git command did.
#[derive(Debug, Default)]
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
    /// Killed after saying nothing for the timeout.
    timed_out: bool,
}

/// Run git in `dir`, watching it: its stderr (progress, messages) counts as a sign of life;
/// silent for `opts.timeout`, it is killed.
fn run(git: &Path, dir: Option<&Path>, args: &[&str], opts: &SyncOptions) -> Result<Output> {
    let mut cmd = crate::git::command(git);
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Messages kb reads are git's and ssh's English ones.
        .env("LC_ALL", "C")
        .env("LANGUAGE", "");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    if opts.interactive {
        // git and ssh ask for passwords and passphrases on the terminal itself.
        cmd.stdin(Stdio::inherit());
    } else {
        // No one to answer a prompt: fail instead of waiting (SSH_ASKPASS / GIT_ASKPASS and
        // credential helpers still answer).
        cmd.stdin(Stdio::null()).env("GIT_TERMINAL_PROMPT", "0");
        own_process_group(&mut cmd);
    }
    let mut child = cmd.spawn().map_err(|e| {
        KbError::Sync(format!(
            "could not run {} ({e}); set KB_GIT=libgit2 to sync without it",
            git.display()
        ))
    })?;
    let start = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let readers = [
        child
            .stdout
            .take()
            .map(|s| reader(s, stdout.clone(), last.clone(), start, false)),
        child
            .stderr
            .take()
            .map(|s| reader(s, stderr.clone(), last.clone(), start, true)),
    ];
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => return Err(KbError::Sync(format!("waiting for git: {e}"))),
        }
        let quiet_for = start
            .elapsed()
            .saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
        if quiet_for > opts.timeout {
            timed_out = true;
            kill(&mut child, opts.interactive);
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !timed_out {
        // A helper that git started may hold the pipes a little longer; never forever.
        for r in readers.into_iter().flatten() {
            let until = Instant::now() + Duration::from_secs(2);
            while !r.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            if r.is_finished() {
                let _ = r.join();
            }
        }
    }
    let text = |b: &Arc<Mutex<Vec<u8>>>| {
        let b = b.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&b).into_owned()
    };
    Ok(Output {
        success: status.is_some_and(|s| s.success()),
        stdout: text(&stdout),
        stderr: text(&stderr),
        timed_out,
    })
}

/// Read a pipe into `buf`, noting the time of the last byte; git's progress lines on stderr
/// (`Receiving objects:  45% (450/1000)`) are shown as kb's progress.
fn reader(
    mut pipe: impl Read + Send + 'static,
    buf: Arc<Mutex<Vec<u8>>>,
    last: Arc<AtomicU64>,
    start: Instant,
    progress: bool,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            let n = match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            last.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
            if progress {
                show_progress(&chunk[..n]);
            }
            if let Ok(mut b) = buf.lock() {
                if b.len() < KEEP {
                    b.extend_from_slice(&chunk[..n]);
                }
            }
        }
    })
}

/// `Receiving objects:  45% (450/1000), 1.2 MiB | 3 MiB/s` and the like, as kb's progress.
fn show_progress(chunk: &[u8]) {
    let text = String::from_utf8_lossy(chunk);
    let Some(line) = text.split(['\r', '\n']).rev().find(|l| l.contains('%')) else {
        return;
    };
    let line = line.trim_start_matches("remote: ").trim();
    let Some((what, rest)) = line.split_once(':') else {
        return;
    };
    let counts = rest
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .and_then(|(c, _)| c.split_once('/'));
    if let Some((done, total)) = counts {
        if let (Ok(d), Ok(t)) = (done.trim().parse(), total.trim().parse()) {
            crate::progress::report(&what.trim().to_lowercase(), d, t);
        }
    }
}

/// Run git (and the ssh it starts) in a session of its own, off a terminal: no controlling
/// terminal, so ssh cannot stop to ask there (it uses `SSH_ASKPASS`, or fails at once), and a
/// process group of its own, so that a timeout ends all of them. Not on a terminal: there git
/// and ssh must be able to ask the person.
fn own_process_group(cmd: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid(2) is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = cmd;
}

fn kill(child: &mut std::process::Child, interactive: bool) {
    #[cfg(unix)]
    if !interactive {
        // The whole group: git, ssh, helpers.
        // SAFETY: kill(2) with the negated id of the group the child leads.
        unsafe {
            libc::kill(-(child.id() as i32), libc::SIGKILL);
        }
    }
    let _ = interactive;
    let _ = child.kill();
}

/// The lines the server itself printed (`remote: ...`).
fn said_by_server(stderr: &str) -> Vec<String> {
    let lines: Vec<String> = stderr
        .split(['\n', '\r'])
        .filter_map(|l| l.trim_end().strip_prefix("remote:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    server_lines(lines.join("\n").as_bytes())
}

/// git's and ssh's messages for a failed fetch, push or clone, as one of kb's errors.
fn classify(remote: &str, url: &str, out: &Output, opts: &SyncOptions) -> KbError {
    let remote = redact(remote);
    // git prints some URLs it cannot use as they are (`unable to look up user:pw@host`): the
    // URL's password goes wherever it appears.
    let scrubbed;
    let out = match password_of(url) {
        Some(pw) => {
            scrubbed = Output {
                stderr: out.stderr.replace(pw, "***"),
                stdout: out.stdout.replace(pw, "***"),
                success: out.success,
                timed_out: out.timed_out,
            };
            &scrubbed
        }
        None => out,
    };
    if out.timed_out {
        return KbError::RemoteTimeout {
            remote,
            secs: opts.timeout.as_secs_f64(),
        };
    }
    let err = &out.stderr;
    let has = |needles: &[&str]| needles.iter().any(|n| err.contains(n));
    let changed = has(&["REMOTE HOST IDENTIFICATION HAS CHANGED"])
        || (has(&["Host key for"]) && has(&["has changed"]));
    if changed {
        // ssh's own advice: `remove with:` then `ssh-keygen -f FILE -R HOST` (on the same
        // line or the next, depending on the version).
        let fix = err
            .lines()
            .map(|l| l.trim().trim_start_matches("remove with:").trim())
            .find(|l| l.starts_with("ssh-keygen"))
            .map(str::to_string);
        return KbError::HostKeyChanged { remote, fix };
    }
    if has(&[
        "Host key verification failed",
        "No ED25519 host key is known",
        "No RSA host key is known",
        "No ECDSA host key is known",
    ]) {
        return KbError::HostKeyUnknown(remote);
    }
    if has(&[
        "SSL certificate problem",
        "server certificate verification failed",
        "certificate verify failed",
        "unable to get local issuer certificate",
    ]) {
        return KbError::CertificateUntrusted {
            remote,
            reason: last_message(err),
        };
    }
    if has(&[
        "Permission denied (",
        "Authentication failed",
        "could not read Username",
        "could not read Password",
        "terminal prompts disabled",
        "Too many authentication failures",
        "HTTP Basic: Access denied",
        "The requested URL returned error: 401",
        "The requested URL returned error: 403",
        "incorrect passphrase",
    ]) {
        return KbError::AuthRejected(remote);
    }
    KbError::RemoteUnreachable {
        remote,
        reason: last_message(err),
    }
}

/// The password in a URL's `user:password@`, if any.
fn password_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let userinfo = rest.split('/').next()?.rsplit_once('@')?.0;
    let (_, pw) = userinfo.split_once(':')?;
    (!pw.is_empty()).then_some(pw)
}

/// The URL of a remote (to keep its password out of messages).
fn url_of(repo: &Repository, remote: &str) -> String {
    repo.find_remote(remote)
        .ok()
        .and_then(|r| r.url().ok().map(str::to_string))
        .unwrap_or_default()
}

/// The most telling line of git's stderr (its `fatal:` line, else the last one), redacted.
fn last_message(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains('%'))
        .collect();
    let line = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("fatal:"))
        .or(lines.last())
        .map(|l| l.trim_start_matches("fatal:").trim())
        .unwrap_or("git failed without a message");
    redact(line)
}
