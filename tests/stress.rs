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

fn kb(home: &Path, vault: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kb"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KB_DIR", vault)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Stress")
        .env("GIT_AUTHOR_EMAIL", "stress@example.com")
        .env("GIT_COMMITTER_NAME", "Stress")
        .env("GIT_COMMITTER_EMAIL", "stress@example.com")
        .stdin(Stdio::null())
        .output()
        .expect("run kb")
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
