//! Stress: concurrent adds, links and searches against one vault for a fixed time; afterwards
//! every note written is present, parses, and is found by search.
//!
//! Long, so not in the default run:
//!     KB_STRESS_SECS=60 cargo test --release --test stress -- --ignored --nocapture

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// kb in a clean environment for this vault (no arguments yet).
fn kb_command(home: &Path, vault: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kb"));
    c.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KB_DIR", vault)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Stress")
        .env("GIT_AUTHOR_EMAIL", "stress@example.com")
        .env("GIT_COMMITTER_NAME", "Stress")
        .env("GIT_COMMITTER_EMAIL", "stress@example.com")
        .stdin(Stdio::null());
    c
}

fn kb(home: &Path, vault: &Path, args: &[&str]) -> std::process::Output {
    kb_command(home, vault).args(args).output().expect("run kb")
}

fn word(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            return s;
        }
    }
}

#[test]
#[ignore]
fn concurrent_adds_links_and_searches_lose_nothing() {
    let secs: u64 = std::env::var("KB_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let home = tempfile::tempdir().unwrap();
    let vault = home.path().join("vault");
    assert!(kb(home.path(), &vault, &["init", vault.to_str().unwrap()])
        .status
        .success());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let counter = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (home, vault, counter, failures) = (
            home.path().to_path_buf(),
            vault.clone(),
            counter.clone(),
            failures.clone(),
        );
        workers.push(std::thread::spawn(move || {
            let mut mine = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let tag = word(n + 1000);
                let out = match n % 3 {
                    0 | 1 => {
                        let o = kb(
                            &home,
                            &vault,
                            &[
                                "add",
                                "--yes",
                                "--title",
                                &format!("Stress {tag}"),
                                "--error",
                                &format!("stress failure {tag} zz{}", w),
                                "--fix",
                                "x",
                            ],
                        );
                        if o.status.success() {
                            mine.push(tag);
                        }
                        o
                    }
                    _ => match mine.last() {
                        Some(t) => kb(
                            &home,
                            &vault,
                            &[
                                "link",
                                &format!("variant {} of stress {t}", word(n)),
                                &format!("stress-{t}"),
                            ],
                        ),
                        None => kb(&home, &vault, &["search", "--json", "stress"]),
                    },
                };
                let search = kb(&home, &vault, &["search", "--json", "stress failure"]);
                for o in [&out, &search] {
                    if !(o.status.code() == Some(0) || o.status.code() == Some(1)) {
                        failures.fetch_add(1, Ordering::SeqCst);
                        eprintln!("failed: {}", String::from_utf8_lossy(&o.stderr));
                    }
                }
            }
            mine
        }));
    }
    let written: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert_eq!(failures.load(Ordering::SeqCst), 0);
    eprintln!("{} notes written by 4 workers in {secs} s", written.len());
    for tag in &written {
        let path = vault.join(format!("stress-{tag}.md"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing", path.display()));
        let note = kb::note::Note::parse(&text, "x");
        assert!(
            note.warnings.is_empty(),
            "{}: {:?}",
            path.display(),
            note.warnings
        );
        assert_eq!(note.title, format!("Stress {tag}"));
        let o = kb(
            home.path(),
            &vault,
            &[
                "search",
                "--json",
                "--limit",
                "3",
                "--",
                &format!("stress failure {tag}"),
            ],
        );
        let hits: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            hits[0]["id"],
            format!("stress-{tag}"),
            "not found first: {tag}"
        );
    }
    let status = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&vault)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        status.stdout.is_empty(),
        "uncommitted: {}",
        String::from_utf8_lossy(&status.stdout)
    );
}

/// `KB_STRESS_ROUNDS` rounds (default 50) of 12 `kb link` to one note started together with 12
/// `kb add`: every error and every note is there afterwards, and `git fsck` and `git status`
/// are clean.
///     cargo test --release --test stress rounds -- --ignored --nocapture
#[test]
#[ignore]
fn rounds_of_concurrent_links_to_one_note_and_adds_lose_nothing() {
    let rounds: usize = std::env::var("KB_STRESS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let home = tempfile::tempdir().unwrap();
    let vault = home.path().join("vault");
    assert!(kb(home.path(), &vault, &["init", vault.to_str().unwrap()])
        .status
        .success());
    let o = kb(
        home.path(),
        &vault,
        &[
            "add",
            "--title",
            "Shared",
            "--error",
            "Shared failure",
            "--fix",
            "x",
        ],
    );
    assert!(o.status.success());
    let spawn = |args: Vec<String>| {
        kb_command(home.path(), &vault)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kb")
    };
    for round in 0..rounds {
        let r = word(round + 100);
        let mut children = Vec::new();
        for i in 0..12 {
            let w = word(i + 30);
            children.push(spawn(vec![
                "link".into(),
                format!("Linked {w} failure in round {r}"),
                "shared".into(),
            ]));
            children.push(spawn(vec![
                "add".into(),
                "--yes".into(),
                "--title".into(),
                format!("Added {w} in round {r}"),
                "--error".into(),
                format!("Added {w} failure in round {r}"),
                "--fix".into(),
                "x".into(),
            ]));
        }
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let shared = std::fs::read_to_string(vault.join("shared.md")).unwrap();
        for i in 0..12 {
            let w = word(i + 30);
            assert!(
                shared.contains(&format!("Linked {w} failure in round {r}")),
                "round {round}: lost the link of {w}"
            );
            let added = vault.join(format!("added-{w}-in-round-{r}.md"));
            assert!(added.is_file(), "round {round}: lost {}", added.display());
        }
    }
    for args in [&["fsck", "--strict"][..], &["status", "--porcelain"][..]] {
        let o = Command::new("git")
            .args(args)
            .current_dir(&vault)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?} failed");
        if args[0] == "status" {
            assert!(
                o.stdout.is_empty(),
                "uncommitted: {}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
    eprintln!("{rounds} rounds of 12 links and 12 adds: nothing lost, git fsck and status clean");
}
