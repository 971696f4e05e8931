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
        r.stderr.contains("hold a private key: server.md"),
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
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
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

#[cfg(unix)]
fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}
