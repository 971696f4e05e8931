//! kb sync against real git: a bare repository, two machines driven by kb, a teammate driven
//! by the git command-line client, and a real `git daemon` on 127.0.0.1.

use crate::env::{note, Run, TestEnv};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// git with a fixed identity and no user configuration.
pub(crate) fn git_command(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Teammate")
        .env("GIT_AUTHOR_EMAIL", "mate@example.com")
        .env("GIT_COMMITTER_NAME", "Teammate")
        .env("GIT_COMMITTER_EMAIL", "mate@example.com");
    c
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let o = git_command(dir).args(args).output().expect("git");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A bare remote and machine A (a kb vault whose origin is the remote, with one note pushed).
pub(crate) struct Team {
    pub a: TestEnv,
    pub remote: PathBuf,
}

/// A bare repository `name` in `a`'s home, whose HEAD names `branch`, added as the vault's
/// `origin`; the vault is on `main`. Its path.
pub(crate) fn bare_origin(a: &TestEnv, name: &str, branch: &str) -> PathBuf {
    let remote = a.home.join(name);
    git(
        &a.home,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            branch,
            remote.to_str().unwrap(),
        ],
    );
    git(&a.vault, &["checkout", "-q", "-B", "main"]);
    git(
        &a.vault,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    remote
}

impl Team {
    pub fn new() -> Team {
        let a = TestEnv::new();
        let remote = bare_origin(&a, "remote.git", "main");
        a.write(
            "printing/spooler.md",
            note(
                "Print spooler stops",
                &["printing"],
                &["The Print Spooler service terminated unexpectedly."],
                "Clear the spool folder.",
            ),
        );
        a.kb(&["sync"]).ok();
        Team { a, remote }
    }

    /// Machine B: a fresh HOME that clones the remote with kb.
    pub fn machine_b(&self) -> TestEnv {
        let b = TestEnv::empty();
        std::fs::remove_dir_all(&b.vault).unwrap();
        let r = b.kb(&[
            "clone",
            self.remote.to_str().unwrap(),
            b.vault.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        b
    }

    /// A teammate using the git client directly.
    pub fn teammate(&self) -> PathBuf {
        let dir = self.a.home.join("teammate");
        git(
            &self.a.home,
            &[
                "clone",
                "-q",
                self.remote.to_str().unwrap(),
                dir.to_str().unwrap(),
            ],
        );
        dir
    }
}

/// A sync that worked (1: there was nothing to sync).
fn synced(env: &TestEnv) -> Run {
    let r = env.kb(&["sync"]);
    assert!(
        r.code == 0 || r.code == 1,
        "sync failed: {}\n{}",
        r.stdout,
        r.stderr
    );
    r
}

/// Every note is on both machines, byte for byte, and found by search on both.
fn same_notes(x: &TestEnv, y: &TestEnv) {
    let list = |e: &TestEnv| {
        let mut v: Vec<(String, Vec<u8>)> = walk(&e.vault)
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(&e.vault)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (lx, ly) = (list(x), list(y));
    assert_eq!(
        lx.iter().map(|n| &n.0).collect::<Vec<_>>(),
        ly.iter().map(|n| &n.0).collect::<Vec<_>>()
    );
    assert_eq!(lx, ly, "the notes differ between the machines");
    for (rel, _) in &lx {
        let id = rel.trim_end_matches(".md");
        let title = x.kb(&["show", id, "--json"]).ok().json()["title"]
            .as_str()
            .unwrap()
            .to_string();
        for env in [x, y] {
            let r = env
                .kb(&["search", "--json", "--limit", "20", "--", &title])
                .ok();
            assert!(
                r.ids().iter().any(|i| i == id),
                "{id} not found by its title on one machine"
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            out.extend(walk(&p));
        } else if name.ends_with(".md") {
            out.push(p);
        }
    }
    out
}

#[test]
fn fast_forward_both_ways() {
    let t = Team::new();
    let b = t.machine_b();
    assert!(b.vault.join("printing/spooler.md").is_file());
    b.kb(&["add", "--title", "VPN error 809", "--error", "The network connection between your computer and the VPN server could not be established. Error 809", "--fix", "Allow NAT-T.", "--tag", "vpn"]).ok();
    let r = synced(&b);
    assert!(r.stdout.contains("out: 1 added"), "{}", r.stdout);
    let r = synced(&t.a);
    assert!(r.stdout.contains("in:  1 added"), "{}", r.stdout);
    assert_eq!(
        t.a.top("VPN server could not be established Error 809")
            .as_deref(),
        Some("vpn-error-809")
    );
    same_notes(&t.a, &b);
}

#[test]
fn a_relative_remote_path_is_taken_from_the_vault_as_git_does() {
    let t = Team::new();
    git(
        &t.a.vault,
        &["remote", "set-url", "origin", "../remote.git"],
    );
    t.a.kb(&["add", "--title", "Relative remote", "--fix", "x"])
        .ok();
    // kb runs from HOME, not from the vault: the path is still the vault's.
    let r = synced(&t.a);
    assert!(r.stdout.contains("out: 1 added"), "{}", r.stdout);
}

#[test]
fn divergent_adds_and_a_teammate_on_the_git_client() {
    let t = Team::new();
    let b = t.machine_b();
    t.a.kb(&[
        "add",
        "--title",
        "Outlook asks for password",
        "--fix",
        "Clear credentials.",
    ])
    .ok();
    b.kb(&[
        "add",
        "--title",
        "Wifi certificate untrusted",
        "--fix",
        "Push the CA.",
    ])
    .ok();
    let mate = t.teammate();
    std::fs::write(
        mate.join("teammate-note.md"),
        note(
            "DNS probe finished",
            &["dns"],
            &["DNS_PROBE_FINISHED_NXDOMAIN"],
            "Flush DNS.",
        ),
    )
    .unwrap();
    git(&mate, &["add", "-A"]);
    git(&mate, &["commit", "-qm", "teammate note"]);
    git(&mate, &["push", "-q", "origin", "HEAD"]);
    synced(&t.a);
    synced(&b);
    synced(&t.a);
    same_notes(&t.a, &b);
    assert_eq!(
        b.top("DNS_PROBE_FINISHED_NXDOMAIN").as_deref(),
        Some("teammate-note")
    );
    git(&mate, &["pull", "-q", "--no-rebase", "origin", "main"]);
    assert!(
        mate.join("outlook-asks-for-password.md").is_file()
            && mate.join("wifi-certificate-untrusted.md").is_file()
    );
}

#[test]
fn the_same_note_edited_on_both_sides_merges_errors_and_keeps_a_body_conflict_as_two_notes() {
    let t = Team::new();
    let b = t.machine_b();
    // Errors linked on both sides: the lists are joined.
    t.a.kb(&[
        "link",
        "Operation could not be completed (error 0x000006ba).",
        "spooler",
    ])
    .ok();
    b.kb(&[
        "link",
        "Windows could not start the Print Spooler service on Local Computer. Error 1068",
        "spooler",
    ])
    .ok();
    synced(&t.a);
    let r = synced(&b);
    assert!(
        r.stdout
            .contains("merged changes from both sides: 1\n     printing/spooler.md\n"),
        "{}",
        r.stdout
    );
    synced(&t.a);
    same_notes(&t.a, &b);
    let text = t.a.read("printing/spooler.md");
    assert!(
        text.contains("0x000006ba")
            && text.contains("Error 1068")
            && text.contains("terminated unexpectedly"),
        "{text}"
    );
    // The same line of the Fix edited differently: both versions stay, as two notes.
    let edit = |env: &TestEnv, fix: &str| {
        let p = env.path("printing/spooler.md");
        let s = std::fs::read_to_string(&p)
            .unwrap()
            .replace("Clear the spool folder.", fix);
        std::fs::write(&p, s).unwrap();
    };
    edit(&t.a, "Delete the files in the PRINTERS folder.");
    edit(&b, "Reinstall the printer driver.");
    synced(&t.a);
    let r = synced(&b);
    assert!(
        r.stdout.contains(
            "conflict: printing/spooler.md was changed on both sides; the other side's version is kept as printing/spooler.conflict-"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("to resolve: compare each pair"),
        "{}",
        r.stdout
    );
    // Listed once, as a conflict: not also as a note that came in or went out.
    let listed = r
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("printing/spooler.conflict-"))
        .count();
    assert_eq!(listed, 0, "{}", r.stdout);
    // The copy never ranks above the note it copies.
    for q in [
        "Print spooler stops",
        "The Print Spooler service terminated unexpectedly.",
    ] {
        let ids = b.kb(&["search", "--json", "--limit", "5", q]).ok().ids();
        let original = ids.iter().position(|i| i == "printing/spooler").unwrap();
        let copy = ids.iter().position(|i| i.contains(".conflict-")).unwrap();
        assert!(original < copy, "{q}: {ids:?}");
    }
    synced(&t.a);
    same_notes(&t.a, &b);
    for env in [&t.a, &b] {
        let r = env
            .kb(&["search", "--json", "--limit", "5", "PRINTERS folder"])
            .ok();
        assert!(r.ids()[0].starts_with("printing/spooler"), "{:?}", r.ids());
        let r = env
            .kb(&[
                "search",
                "--json",
                "--limit",
                "5",
                "Reinstall the printer driver",
            ])
            .ok();
        assert!(r.ids()[0].starts_with("printing/spooler"), "{:?}", r.ids());
    }
}

#[test]
fn an_edit_wins_over_a_delete() {
    let t = Team::new();
    let b = t.machine_b();
    std::fs::remove_file(t.a.path("printing/spooler.md")).unwrap();
    let r = synced(&t.a);
    assert!(
        r.stdout.contains("committed 1 note edited outside kb"),
        "{}",
        r.stdout
    );
    let p = b.path("printing/spooler.md");
    let s = std::fs::read_to_string(&p).unwrap().replace(
        "Clear the spool folder.",
        "Clear the spool folder, then restart.",
    );
    std::fs::write(&p, s).unwrap();
    synced(&b);
    synced(&t.a);
    same_notes(&t.a, &b);
    assert!(t.a.read("printing/spooler.md").contains("then restart"));
}

#[test]
fn a_push_rejected_because_the_remote_moved_is_retried() {
    let t = Team::new();
    // The teammate's commit waits on a side branch; a hook moves main to it during A's push,
    // exactly as if the teammate had pushed between A's fetch and A's push.
    let mate = t.teammate();
    std::fs::write(
        mate.join("race.md"),
        note("Race note", &[], &["raced in during the push"], "x"),
    )
    .unwrap();
    git(&mate, &["add", "-A"]);
    git(&mate, &["commit", "-qm", "race"]);
    git(&mate, &["push", "-q", "origin", "HEAD:refs/heads/side"]);
    crate::env::write_script(
        &t.remote.join("hooks/update"),
        "#!/bin/sh\nif [ \"$1\" = refs/heads/main ] && [ ! -e moved ]; then touch moved; git update-ref refs/heads/main refs/heads/side; fi\nexit 0\n",
    );
    // libgit2 writes to a local path directly (no hooks): push through a real server.
    let (_daemon, url) = daemon(&t);
    git(&t.a.vault, &["remote", "set-url", "origin", &url]);
    t.a.kb(&["add", "--title", "Local during race", "--fix", "x"])
        .ok();
    let r = synced(&t.a);
    assert!(r.stdout.contains("in:  1 added"), "{}", r.stdout);
    assert!(t.remote.join("moved").exists(), "the hook never ran");
    let b = t.machine_b();
    same_notes(&t.a, &b);
    assert!(b.path("race.md").is_file() && b.path("local-during-race.md").is_file());
}

#[test]
fn refusals_leave_everything_as_it_was() {
    // No remote.
    let env = TestEnv::new();
    env.write("n.md", note("Note", &[], &["e"], "x"));
    let r = env.kb(&["sync"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no remote named 'origin'") && r.stderr.contains("git remote add"),
        "{}",
        r.stderr
    );
    // Not a git repository (a vault without one).
    let plain = TestEnv::empty();
    std::fs::write(plain.path("kb.toml"), "").unwrap();
    let r = plain.kb(&["sync"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not in a git repository"), "{}", r.stderr);
    // Offline remote: one sentence, exit 2, the note is committed locally.
    let t = Team::new();
    git(
        &t.a.vault,
        &[
            "remote",
            "set-url",
            "origin",
            "git://127.0.0.1:9/nothing.git",
        ],
    );
    t.a.write(
        "offline.md",
        note("Offline", &[], &["written offline"], "x"),
    );
    let r = t.a.kb(&["sync"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be reached"), "{}", r.stderr);
    assert!(git(&t.a.vault, &["log", "-1", "--format=%s"]).contains("offline.md"));
    assert!(t.a.path("offline.md").is_file());
}

#[test]
fn a_merge_left_by_the_git_client_is_refused() {
    let t = Team::new();
    let v = &t.a.vault;
    git(v, &["checkout", "-q", "-b", "other"]);
    std::fs::write(v.join("printing/spooler.md"), "other side\n").unwrap();
    git(v, &["commit", "-qam", "other"]);
    git(v, &["checkout", "-q", "main"]);
    std::fs::write(v.join("printing/spooler.md"), "main side\n").unwrap();
    git(v, &["commit", "-qam", "main"]);
    let merge = git_command(v).args(["merge", "other"]).output().unwrap();
    assert!(!merge.status.success());
    assert!(
        v.join(".git/MERGE_HEAD").exists(),
        "{}",
        String::from_utf8_lossy(&merge.stderr)
    );
    let head = git(v, &["rev-parse", "HEAD"]);
    let before = std::fs::read(v.join("printing/spooler.md")).unwrap();
    let r = t.a.kb(&["sync"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("in the middle of a merge"),
        "{}",
        r.stderr
    );
    assert_eq!(git(v, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        std::fs::read(v.join("printing/spooler.md")).unwrap(),
        before
    );
    // The same for a rebase stopped on a conflict.
    git(v, &["merge", "--abort"]);
    let rebase = git_command(v).args(["rebase", "other"]).output().unwrap();
    assert!(!rebase.status.success());
    let head = git(v, &["rev-parse", "HEAD"]);
    let r = t.a.kb(&["sync"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("in the middle of a rebase"),
        "{}",
        r.stderr
    );
    assert_eq!(git(v, &["rev-parse", "HEAD"]), head);
}

#[test]
fn a_sync_killed_at_any_moment_is_finished_by_the_next() {
    let t = Team::new();
    let (_daemon, url) = daemon(&t);
    git(&t.a.vault, &["remote", "set-url", "origin", &url]);
    let b = t.machine_b();
    git(&b.vault, &["remote", "set-url", "origin", &url]);
    for round in 0..10u64 {
        t.a.write(
            &format!("a{round}.md"),
            note(
                &format!("From A {round}"),
                &[],
                &[&format!("alpha failure {round}")],
                "x",
            ),
        );
        b.write(
            &format!("b{round}.md"),
            note(
                &format!("From B {round}"),
                &[],
                &[&format!("bravo failure {round}")],
                "x",
            ),
        );
        for env in [&t.a, &b] {
            let mut child = env
                .command()
                .arg("sync")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(3 + round * 7));
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    for env in [&t.a, &b, &t.a] {
        synced(env);
    }
    same_notes(&t.a, &b);
    assert_eq!(walk(&t.a.vault).len(), 21);
}

/// A real `git daemon` on 127.0.0.1, killed when dropped.
pub(crate) struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serve the team's remote with `git daemon` on 127.0.0.1; its git:// URL.
pub(crate) fn daemon(t: &Team) -> (Daemon, String) {
    let port = free_port();
    let base = t.remote.parent().unwrap();
    let daemon = Daemon(
        Command::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon"),
    );
    let url = format!("git://127.0.0.1:{port}/remote.git");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "git daemon did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (daemon, url)
}

#[test]
fn sync_through_a_git_daemon_on_loopback() {
    let t = Team::new();
    let (daemon, url) = daemon(&t);
    git(&t.a.vault, &["remote", "set-url", "origin", &url]);
    let b = TestEnv::empty();
    std::fs::remove_dir_all(&b.vault).unwrap();
    b.kb(&["clone", &url, b.vault.to_str().unwrap()]).ok();
    b.kb(&[
        "add",
        "--title",
        "Over the network",
        "--error",
        "ERR_CONNECTION_RESET",
        "--fix",
        "Lower the MTU.",
    ])
    .ok();
    synced(&b);
    t.a.kb(&[
        "link",
        "Print spooler crashed again after update",
        "spooler",
    ])
    .ok();
    synced(&t.a);
    synced(&b);
    same_notes(&t.a, &b);
    assert_eq!(
        t.a.top("ERR_CONNECTION_RESET").as_deref(),
        Some("over-the-network")
    );
    drop(daemon);
}

// Regressions of "nothing a person types is ever lost, and kb touches only its vault".

#[test]
fn sync_of_a_vault_inside_a_larger_repository_commits_only_the_vault() {
    let env = TestEnv::empty();
    let project = env.home.join("project");
    let remote = env.home.join("remote.git");
    git(
        &env.home,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            remote.to_str().unwrap(),
        ],
    );
    git(
        &env.home,
        &[
            "clone",
            "-q",
            remote.to_str().unwrap(),
            project.to_str().unwrap(),
        ],
    );
    std::fs::write(project.join("README.md"), "# Project\n").unwrap();
    std::fs::create_dir_all(project.join("docs/kb")).unwrap();
    std::fs::write(project.join("docs/kb/kb.toml"), "").unwrap();
    git(&project, &["add", "-A"]);
    git(&project, &["commit", "-qm", "project"]);
    git(&project, &["push", "-q", "origin", "HEAD:main"]);
    // A draft of the project's README, and a note in the vault folder.
    std::fs::write(
        project.join("README.md"),
        "# Project\n\nDRAFT, not for pushing\n",
    )
    .unwrap();
    std::fs::write(project.join("notes-draft.md"), "secret plans\n").unwrap();
    std::fs::write(
        project.join("docs/kb/printer.md"),
        note("Printer", &[], &["Printer offline"], "x"),
    )
    .unwrap();
    let vault = project.join("docs/kb");
    let r = env.kb_env(&["--dir", vault.to_str().unwrap(), "sync"], &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let pushed = git(&remote, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(pushed.contains("docs/kb/printer.md"), "{pushed}");
    assert!(!pushed.contains("notes-draft.md"), "{pushed}");
    let readme = git(&remote, &["show", "main:README.md"]);
    assert!(!readme.contains("DRAFT"), "the README draft was pushed");
    let status = git(&project, &["status", "--porcelain"]);
    assert!(
        status.contains("README.md") && status.contains("notes-draft.md"),
        "{status}"
    );
}

#[test]
fn sync_commits_the_team_settings() {
    let t = Team::new();
    std::fs::write(t.a.path("kb.toml"), "default_tags = [\"helpdesk\"]\n").unwrap();
    synced(&t.a);
    let b = t.machine_b();
    assert_eq!(
        std::fs::read_to_string(b.path("kb.toml")).unwrap(),
        "default_tags = [\"helpdesk\"]\n"
    );
}

#[test]
fn clone_keeps_a_password_in_the_url_out_of_the_reflogs() {
    let t = Team::new();
    let (_daemon, url) = daemon(&t);
    let url = url.replace("git://", "git://alice:s3cret-pw@");
    // The git executable, like git itself, takes no user in a git:// URL: it fails, and its
    // message (which names the host it could not look up) keeps the password out.
    let c = TestEnv::empty();
    std::fs::remove_dir_all(&c.vault).unwrap();
    let r = c.kb(&["clone", &url, c.vault.to_str().unwrap()]);
    let by_git = Command::new("git")
        .args(["clone", &url, c.home.join("by-git").to_str().unwrap()])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(r.code == 0, by_git.status.success(), "{}", r.stderr);
    assert!(!r.stderr.contains("s3cret-pw"), "{}", r.stderr);
    assert!(!r.stdout.contains("s3cret-pw"), "{}", r.stdout);
    // libgit2 takes it; its reflogs are scrubbed.
    let b = TestEnv::empty();
    std::fs::remove_dir_all(&b.vault).unwrap();
    let r = b.kb_env(
        &["clone", &url, b.vault.to_str().unwrap()],
        &[("KB_GIT", "libgit2")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("s3cret-pw"), "{}", r.stderr);
    let mut logs = Vec::new();
    let mut dirs = vec![b.vault.join(".git/logs")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                dirs.push(e.path());
            } else {
                logs.push(e.path());
            }
        }
    }
    assert!(logs.len() >= 2, "{logs:?}");
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(!text.contains("s3cret-pw"), "{}: {text}", log.display());
    }
    assert!(!b.git(&["reflog", "--all"]).contains("s3cret-pw"));
}

#[test]
fn a_push_the_server_refuses_shows_the_servers_message() {
    let t = Team::new();
    crate::env::write_script(
        &t.remote.join("hooks/pre-receive"),
        "#!/bin/sh\necho 'main is protected: open a merge request (ticket HD-77)' >&2\nexit 1\n",
    );
    let (_daemon, url) = daemon(&t);
    git(&t.a.vault, &["remote", "set-url", "origin", &url]);
    t.a.kb(&["add", "--title", "New fix", "--fix", "x"]).ok();
    let r = t.a.kb(&["sync"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("refused the push"), "{}", r.stderr);
    assert!(r.stderr.contains("ticket HD-77"), "{}", r.stderr);
    assert!(!r.stderr.contains("kept changing"), "{}", r.stderr);
    assert!(t.a.path("new-fix.md").is_file());
    // The git command, pushing the same commit, is refused with the same message.
    let o = git_command(&t.a.vault)
        .args(["push", "origin", "main"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && said.contains("ticket HD-77"),
        "{said}"
    );
    // And the same over libgit2.
    let r = t.a.kb_env(&["sync"], &[("KB_GIT", "libgit2")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("ticket HD-77"), "{}", r.stderr);
}

#[test]
fn outcomes_recorded_on_two_machines_are_all_kept() {
    let t = Team::new();
    let b = t.machine_b();
    t.a.kb(&["worked", "spooler", "--ticket", "INC-1", "--minutes", "10"])
        .ok();
    t.a.kb(&["verify", "spooler"]).ok();
    b.kb(&[
        "failed",
        "spooler",
        "--ticket",
        "INC-2",
        "--why",
        "driver locked",
    ])
    .ok();
    b.kb(&["worked", "spooler", "--ticket", "INC-3", "--minutes", "20"])
        .ok();
    synced(&t.a);
    synced(&b);
    synced(&t.a);
    same_notes(&t.a, &b);
    for env in [&t.a, &b] {
        let hit = &env
            .kb(&["search", "--json", "--", "Print Spooler service terminated"])
            .ok()
            .json()[0];
        assert_eq!(hit["worked"], 2, "{hit}");
        assert_eq!(hit["failed"], 1, "{hit}");
        assert_eq!(hit["minutes"], 10, "{hit}");
        assert!(hit["verified"].is_string(), "{hit}");
        let text = env.read("printing/spooler.md");
        for ticket in ["INC-1", "INC-2", "INC-3"] {
            assert!(text.contains(ticket), "{ticket} lost:\n{text}");
        }
    }
}

#[test]
fn a_sync_bringing_in_many_notes_lists_the_first_few_and_counts_the_rest() {
    let t = Team::new();
    let mate = t.teammate();
    for i in 0..25 {
        std::fs::write(
            mate.join(format!("note-{i:02}.md")),
            format!("# Note {i}\n\nText {i}.\n"),
        )
        .unwrap();
    }
    git(&mate, &["add", "-A"]);
    git(&mate, &["commit", "-qm", "many notes"]);
    git(&mate, &["push", "-q", "origin", "main"]);
    let r = synced(&t.a);
    assert!(
        r.stdout.contains("in:  25 added, 0 changed, 0 removed"),
        "{}",
        r.stdout
    );
    let listed = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("     note-"))
        .count();
    assert_eq!(listed, 10, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("... and 15 more (--verbose lists them all)"),
        "{}",
        r.stdout
    );
    // --verbose and --json list every one.
    git(&mate, &["rm", "-q", "note-0*.md"]);
    for i in 0..12 {
        std::fs::write(mate.join(format!("more-{i:02}.md")), "# More\n\nText.\n").unwrap();
    }
    git(&mate, &["add", "-A"]);
    git(&mate, &["commit", "-qm", "more"]);
    git(&mate, &["push", "-q", "origin", "main"]);
    let r = t.a.kb(&["sync", "--verbose"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed = r.stdout.lines().filter(|l| l.starts_with("     ")).count();
    assert_eq!(listed, 22, "{}", r.stdout);
    assert!(!r.stdout.contains("more (--verbose"), "{}", r.stdout);
    git(&mate, &["rm", "-q", "more-*.md"]);
    git(&mate, &["commit", "-qm", "fewer"]);
    git(&mate, &["push", "-q", "origin", "main"]);
    let j = t.a.kb(&["sync", "--json"]).ok().json();
    assert_eq!(
        j["incoming"]["removed"].as_array().unwrap().len(),
        12,
        "{j}"
    );
}
