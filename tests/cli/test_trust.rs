//! Secrets, concurrency, hostile files and paths: nothing is lost, nothing leaks unnoticed.

use crate::env::{note, TestEnv};
use std::process::Stdio;

#[test]
fn add_and_link_show_likely_secrets_and_redact_masks_them() {
    let env = TestEnv::new();
    let r = env
        .kb(&[
            "add",
            "--title",
            "SMTP relay",
            "--error",
            "535 auth failed for scanner@contoso.com password=Winter2026!",
            "--fix",
            "Use the token ghp_0123456789abcdefghijABCDEFGHIJ012345 in the copier.",
        ])
        .ok();
    assert!(r.stderr.contains("looks like a password"), "{}", r.stderr);
    assert!(
        r.stderr.contains("looks like a GitHub token"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--redact masks them"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("Winter2026!"),
        "a secret was printed: {}",
        r.stderr
    );
    assert!(
        env.read("smtp-relay.md").contains("Winter2026!"),
        "off a terminal without --redact the text is kept"
    );
    env.kb(&[
        "add",
        "--redact",
        "--yes",
        "--title",
        "SMTP relay masked",
        "--error",
        "535 auth failed for scanner@contoso.com password=Winter2026!",
        "--fix",
        "Token ghp_0123456789abcdefghijABCDEFGHIJ012345.",
    ])
    .ok();
    let text = env.read("smtp-relay-masked.md");
    assert!(
        !text.contains("Winter2026!")
            && !text.contains("ghp_0123")
            && !text.contains("scanner@contoso.com"),
        "{text}"
    );
    assert!(
        text.contains("password=[REDACTED password]") && text.contains("[REDACTED e-mail address]"),
        "{text}"
    );
    env.kb(&[
        "link",
        "--redact",
        "login failed: Authorization: Bearer abcdefghijklmnop123456",
        "smtp-relay-masked",
    ])
    .ok();
    let text = env.read("smtp-relay-masked.md");
    assert!(
        text.contains("Bearer [REDACTED bearer token]") && !text.contains("abcdefghijklmnop123456"),
        "{text}"
    );
}

#[test]
fn sync_refuses_to_push_a_private_key() {
    let env = TestEnv::new();
    let remote = env.home.join("remote.git");
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args(args)
            .current_dir(&env.vault)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    git(&["init", "-q", "--bare", remote.to_str().unwrap()]);
    git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    env.write("server.md", note("Server key", &[], &["Permission denied (publickey)"], "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"));
    let r = env.kb(&["sync"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("server.md holds a private key"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--allow-secrets"), "{}", r.stderr);
    let refs = std::process::Command::new("git")
        .args(["--git-dir", remote.to_str().unwrap(), "for-each-ref"])
        .output()
        .unwrap();
    assert!(refs.stdout.is_empty(), "something was pushed");
    env.kb(&["sync", "--allow-secrets"]).ok();
}

#[test]
fn two_adds_at_once_lose_nothing() {
    let env = TestEnv::new();
    let mut children = Vec::new();
    for i in 0..8 {
        children.push(
            env.command()
                .args([
                    "add",
                    "--yes",
                    "--title",
                    &format!("Concurrent note {i}"),
                    "--error",
                    &format!("concurrent failure number{i}x"),
                    "--fix",
                    "x",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    crate::env::all_succeed(children);
    for i in 0..8 {
        let r = env
            .kb(&[
                "search",
                "--json",
                "--limit",
                "20",
                "--",
                &format!("Concurrent note {i}"),
            ])
            .ok();
        assert!(r.ids().contains(&format!("concurrent-note-{i}")));
    }
    let log = env.git(&["log", "--format=%s"]);
    assert_eq!(
        log.lines()
            .filter(|l| l.starts_with("Add note: Concurrent note"))
            .count(),
        8,
        "{log}"
    );
    assert!(env.git(&["status", "--porcelain"]).trim().is_empty());
}

#[test]
fn a_search_during_a_rebuild_does_not_fail() {
    let env = TestEnv::new();
    for i in 0..400 {
        env.write(
            &format!("bulk/n{i}.md"),
            note(
                &format!("Bulk note {i}"),
                &[],
                &[&format!("bulk failure {i}")],
                "x",
            ),
        );
    }
    env.kb(&["index"]).ok();
    let mut rebuild = env
        .command()
        .args(["index", "--rebuild"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..10 {
        let r = env.kb(&["search", "--json", "bulk failure"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert!(rebuild.wait().unwrap().success());
}

#[test]
fn a_huge_note_is_indexed_up_to_the_limit() {
    let env = TestEnv::new();
    let mut big = String::from("# Huge log note\n\nstartword here\n\n");
    while big.len() < 6 * 1024 * 1024 {
        big.push_str("filler line of a very long pasted log that goes on and on\n");
    }
    big.push_str("endword\n");
    env.write("huge.md", big);
    let r = env.kb(&["index"]).ok();
    assert!(
        r.stderr
            .contains("huge.md: larger than 4 MiB; only the beginning is indexed"),
        "{}",
        r.stderr
    );
    assert_eq!(env.top("startword").as_deref(), Some("huge"));
    assert_eq!(env.top("endword"), None);
}

#[cfg(unix)]
#[test]
fn a_read_only_vault_can_still_be_searched() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::empty();
    env.write("ro.md", note("Read only", &[], &["readonly failure"], "x"));
    std::fs::set_permissions(&env.vault, std::fs::Permissions::from_mode(0o555)).unwrap();
    let r = env.kb(&["search", "--json", "readonly failure"]);
    std::fs::set_permissions(&env.vault, std::fs::Permissions::from_mode(0o755)).unwrap();
    if nix_is_root() {
        return; // root writes anywhere: the fallback cannot be observed
    }
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.ids()[0], "ro");
    assert!(!env.vault.join(".kb").exists());
}

/// The same fallback as a read-only vault, observable as root too: the vault's `.kb` cannot be
/// a folder (a file of that name is in the way), so the index lives in the user cache folder.
#[test]
fn an_index_that_cannot_live_in_the_vault_goes_to_the_cache_folder() {
    let env = TestEnv::empty();
    env.write("ro.md", note("Read only", &[], &["readonly failure"], "x"));
    env.write(".kb", "not a folder");
    let r = env.kb(&["search", "--json", "readonly failure"]).ok();
    assert_eq!(r.ids()[0], "ro");
    assert_eq!(env.read(".kb"), "not a folder");
    let cache = env.home.join(".cache/kb");
    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
    assert_eq!(entries.len(), 1, "one index folder for this vault");
    // Next time the same cached index is found, up to date.
    env.write(
        "ro2.md",
        note("Second", &[], &["second readonly failure"], "x"),
    );
    let r = env
        .kb(&["search", "--json", "second readonly failure"])
        .ok();
    assert_eq!(r.ids()[0], "ro2");
}

#[cfg(unix)]
fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// Kill kb at random moments while it indexes and adds; every note stays intact and the next
/// command works (rebuilding the index if it must).
#[test]
fn killed_at_random_moments_kb_loses_nothing() {
    let env = TestEnv::new();
    for i in 0..300 {
        env.write(
            &format!("seed/n{i}.md"),
            note(
                &format!("Seed note {i}"),
                &[],
                &[&format!("seed failure {}", letters(i))],
                "x",
            ),
        );
    }
    let mut seed = 12345u64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..12 {
        let args: Vec<String> = if round % 3 == 0 {
            vec!["index".into(), "--rebuild".into()]
        } else {
            vec![
                "add".into(),
                "--yes".into(),
                "--title".into(),
                format!("Killed add {round}"),
                "--fix".into(),
                "x".into(),
            ]
        };
        let mut child = env
            .command()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(rand(60)));
        let _ = child.kill();
        let _ = child.wait();
    }
    // The next command works (0: it indexed what a killed add left; 1: every killed add had
    // finished, nothing left to do), and every note on disk parses and is found.
    let r = env.kb(&["index"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    for i in (0..300).step_by(37) {
        assert_eq!(
            env.top(&format!("seed failure {}", letters(i))).as_deref(),
            Some(format!("seed/n{i}").as_str())
        );
    }
    for entry in std::fs::read_dir(&env.vault).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        // A process killed between writing its temporary file and renaming it leaves that
        // hidden file behind: never a note, never half a note.
        if name.starts_with(".kb-tmp-") {
            continue;
        }
        if name.starts_with("killed-add") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                text.starts_with("---\ntitle: \"Killed add") && text.ends_with("## Fix\n\nx\n"),
                "half-written: {text}"
            );
            let id = name.trim_end_matches(".md").to_string();
            let title = crate::env::TestEnv::title_of(&text);
            let r = env
                .kb(&["search", "--json", "--limit", "20", "--", &title])
                .ok();
            assert!(r.ids().contains(&id), "{id} not found");
        }
    }
    // git is usable afterwards (no lock file left behind that blocks the next commit).
    env.kb(&["add", "--yes", "--title", "After the storm", "--fix", "x"])
        .ok();
    assert!(env
        .git(&["log", "-1", "--format=%s"])
        .contains("After the storm"));
}

/// A distinct word for a number (numbers themselves are variable parts to kb).
fn letters(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            break s;
        }
    }
}

#[test]
fn a_busy_index_writer_is_waited_for_with_a_message() {
    let env = TestEnv::new();
    env.write("n.md", note("Note", &[], &["a failure"], "x"));
    env.kb(&["index"]).ok();
    // Hold the index writer as another kb process would during a long rebuild.
    let index = tantivy::Index::open_in_dir(env.path(".kb/index")).unwrap();
    let writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    let child = env
        .command()
        .args(["add", "--yes", "--title", "Waited", "--fix", "x"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1800));
    drop(writer);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting for another kb process that is updating the index"),
        "{stderr}"
    );
    assert_eq!(env.top("Waited").as_deref(), Some("waited"));
}

#[test]
fn temporary_files_left_by_a_killed_write_are_removed_later() {
    let env = TestEnv::new();
    env.write("n.md", note("Note", &[], &["a failure"], "x"));
    env.write(".kb-tmp-old123.tmp", "half a note");
    env.write(".kb-tmp-new456.tmp", "a write in progress");
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(env.path(".kb-tmp-old123.tmp"))
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    env.kb(&["index"]).ok();
    assert!(
        !env.path(".kb-tmp-old123.tmp").exists(),
        "a stale temporary file stayed"
    );
    assert!(
        env.path(".kb-tmp-new456.tmp").exists(),
        "a fresh one (maybe in use) was removed"
    );
    assert!(env.path("n.md").exists());
}
