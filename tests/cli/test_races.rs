//! Concurrency with realistic timing: kb commands writing notes while `kb sync` waits for a
//! remote that takes a second to answer (a git wrapper that sleeps before fetch and push).
//! Each round starts a slow sync, then 12 writers at once (worked, failed, verify, link, add,
//! and edit through an editor that holds its buffer while the sync runs); afterwards nothing
//! recorded is missing, nothing kb committed is left uncommitted, and `git fsck` is clean.
//! `KB_RACE_ROUNDS` sets the number of rounds (20).

use crate::env::{note, write_script, TestEnv};
use crate::test_sync::{git, Team};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn rounds() -> usize {
    std::env::var("KB_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// A git that takes `fetch_secs` before each fetch and half that before each push, as a
/// remote across a slow network does; everything else at once.
fn slow_git(dir: &Path, fetch_secs: f64) -> PathBuf {
    let real = which_git();
    let path = dir.join("slow-git");
    write_script(
        &path,
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in fetch) sleep {fetch_secs}; break;; push) sleep {}; break;; clone|hash-object|update-index) break;; esac; done\nexec {} \"$@\"\n",
            fetch_secs / 2.0,
            real.display()
        ),
    );
    path
}

fn which_git() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("git"))
        .find(|p| p.is_file())
        .expect("git on PATH")
}

fn spawn(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Child {
    let mut c = env.command();
    for (k, v) in vars {
        c.env(k, v);
    }
    c.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kb")
}

/// Wait for every process; each must exit 0. Returns their stderr.
#[track_caller]
fn all_ok(children: Vec<(String, Child)>) -> Vec<String> {
    let mut errs = Vec::new();
    for (what, c) in children {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "{what} exited {:?}: {stderr}",
            out.status.code()
        );
        errs.push(stderr);
    }
    errs
}

#[test]
fn notes_written_during_slow_syncs_are_all_kept_and_committed() {
    let t = Team::new();
    let a = &t.a;
    let slow = slow_git(&a.home, 1.0);
    let slow = slow.to_str().unwrap();
    // An editor that reads the note, keeps its buffer while the sync runs, then saves the
    // whole buffer with one line added (as every editor does).
    let editor = a.home.join("slow-editor");
    write_script(
        &editor,
        "#!/bin/sh\nbuf=$(cat \"$1\")\nsleep 0.7\nprintf '%s\\n\\nEdited in round %s.\\n' \"$buf\" \"$KB_ROUND\" > \"$1\"\n",
    );
    let editor = editor.to_str().unwrap();
    let mate = t.teammate();
    let n = rounds();
    let mut tickets = Vec::new();
    let mut errors = Vec::new();
    let mut titles = Vec::new();
    for round in 0..n {
        // The remote moves every round: the sync has a merge to make.
        std::fs::write(
            mate.join(format!("mate-{round}.md")),
            note(&format!("Teammate note {round}"), &[], &[], "x"),
        )
        .unwrap();
        git(&mate, &["add", "-A"]);
        git(&mate, &["commit", "-qm", "teammate"]);
        git(&mate, &["pull", "-q", "--no-rebase", "origin", "main"]);
        git(&mate, &["push", "-q", "origin", "HEAD:main"]);

        let r = round.to_string();
        let vars = [
            ("KB_GIT", slow),
            ("EDITOR", editor),
            ("KB_ROUND", r.as_str()),
        ];
        let mut procs = vec![("sync".to_string(), spawn(a, &["sync"], &vars))];
        std::thread::sleep(std::time::Duration::from_millis(150));
        for w in 0..3 {
            let ticket = format!("R{round}-W{w}");
            procs.push((
                format!("worked {ticket}"),
                spawn(a, &["worked", "spooler", "--ticket", &ticket], &vars),
            ));
            tickets.push(ticket);
        }
        for f in 0..2 {
            let ticket = format!("R{round}-F{f}");
            procs.push((
                format!("failed {ticket}"),
                spawn(
                    a,
                    &["failed", "spooler", "--ticket", &ticket, "--why", "no"],
                    &vars,
                ),
            ));
            tickets.push(ticket);
        }
        procs.push(("verify".into(), spawn(a, &["verify", "spooler"], &vars)));
        for l in 0..3 {
            // An HRESULT is a constant part: each round's errors are new to the note.
            let error = format!(
                "The print spooler failed: 0x{:08X}",
                0x8007_0000 + round * 16 + l
            );
            procs.push((
                format!("link {error}"),
                spawn(a, &["link", &error, "spooler"], &vars),
            ));
            errors.push(error);
        }
        for d in 0..2 {
            let title = format!("Raced note {round} {d}");
            procs.push((
                format!("add {title}"),
                spawn(a, &["add", "--title", &title, "--fix", "x", "--yes"], &vars),
            ));
            titles.push(title);
        }
        procs.push(("edit".into(), spawn(a, &["edit", "spooler"], &vars)));
        assert_eq!(procs.len(), 13, "a sync and 12 writers");
        all_ok(procs);

        // Nothing lost, nothing left uncommitted.
        let text = a.read("printing/spooler.md");
        for t in &tickets {
            assert!(
                text.contains(&format!("ticket: {t};")),
                "round {round}: outcome {t} lost:\n{text}"
            );
        }
        for e in &errors {
            assert!(
                text.contains(e.as_str()),
                "round {round}: linked error lost: {e}\n{text}"
            );
        }
        for r in 0..=round {
            assert!(
                text.contains(&format!("Edited in round {r}.")),
                "round {round}: the edit of round {r} is lost:\n{text}"
            );
        }
        for title in &titles {
            let slug = title.to_lowercase().replace(' ', "-");
            assert!(
                a.path(&format!("{slug}.md")).is_file(),
                "round {round}: {title} lost"
            );
        }
        let status = a.git(&["status", "--porcelain"]);
        assert!(
            status.trim().is_empty(),
            "round {round}: uncommitted: {status}"
        );
    }
    // Everything reaches the remote with one more sync, and the repository is sound.
    a.kb(&["sync"]).ok();
    let fsck = Command::new("git")
        .args(["fsck", "--strict"])
        .current_dir(&a.vault)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    let b = t.machine_b();
    let there = b.read("printing/spooler.md");
    for t in &tickets {
        assert!(
            there.contains(&format!("ticket: {t};")),
            "{t} never reached the remote"
        );
    }
    assert_eq!(
        there.matches("ticket: R").count(),
        n * 5,
        "each outcome once:\n{there}"
    );
}
