use crate::env::{note, TestEnv};

#[test]
fn a_file_edited_outside_kb_is_found_by_the_next_search() {
    let env = TestEnv::new();
    env.write("a.md", note("Alpha", &[], &["first error text"], "x"));
    assert_eq!(env.top("first error text").as_deref(), Some("a"));
    // Same length, written right away: the stamp may not change; the content check catches it.
    env.write("a.md", note("Alpha", &[], &["other error text"], "x"));
    assert_eq!(env.top("other error text").as_deref(), Some("a"));
    assert_eq!(env.top("first"), None);
}

#[test]
fn created_renamed_and_deleted_files_are_seen() {
    let env = TestEnv::new();
    env.write("a.md", note("Alpha", &[], &["alpha failure"], "x"));
    assert_eq!(env.top("alpha failure").as_deref(), Some("a"));
    std::fs::create_dir_all(env.path("sub")).unwrap();
    std::fs::rename(env.path("a.md"), env.path("sub/b.md")).unwrap();
    assert_eq!(env.top("alpha failure").as_deref(), Some("sub/b"));
    std::fs::remove_file(env.path("sub/b.md")).unwrap();
    assert_eq!(env.top("alpha failure"), None);
    env.write("new.md", note("New", &[], &["brand new failure"], "x"));
    assert_eq!(env.top("brand new failure").as_deref(), Some("new"));
}

#[test]
fn odd_files_neither_crash_nor_stop_indexing() {
    let env = TestEnv::new();
    env.write(
        "broken.md",
        "---\ntitle: [unclosed\ntags: x\n---\n# Broken front matter\nbrokenword here\n",
    );
    env.write("unclosed.md", "---\ntitle: never closed\nunclosedword\n");
    env.write("crlf.md", "---\r\ntitle: CRLF note\r\nerrors:\r\n  - \"crlf error 0x8007000E\"\r\n---\r\n\r\n## Fix\r\n\r\nDo the crlf thing.\r\n");
    env.write("bom.md", "\u{feff}---\ntitle: BOM note\n---\nbomword\n");
    env.write(
        "latin1.md",
        b"# Latin1 note\ncaf\xe9 latinword\n".as_slice(),
    );
    env.write("empty.md", "");
    env.write("binary.md", [0u8, 159, 146, 150, 0, 0, 255].as_slice());
    env.write("good.md", note("Good", &[], &["goodword failure"], "x"));
    let r = env.kb(&["index"]).ok();
    assert!(
        r.stderr
            .contains("broken.md:3: front matter is not valid YAML"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("unclosed.md:1: front matter opened by `---` never closes"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("latin1.md:2: not valid UTF-8"),
        "{}",
        r.stderr
    );
    assert_eq!(env.top("brokenword").as_deref(), Some("broken"));
    assert_eq!(env.top("unclosedword").as_deref(), Some("unclosed"));
    assert_eq!(env.top("crlf error 0x8007000E").as_deref(), Some("crlf"));
    assert_eq!(env.top("bomword").as_deref(), Some("bom"));
    assert_eq!(env.top("latinword").as_deref(), Some("latin1"));
    assert_eq!(env.top("goodword failure").as_deref(), Some("good"));
    // Warnings are given once, when the note is read, not on every command.
    let r = env.kb(&["search", "goodword"]).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let shown = env.kb(&["show", "crlf", "--fix"]).ok();
    assert_eq!(shown.stdout.trim(), "Do the crlf thing.");
}

#[test]
fn a_damaged_or_missing_index_is_rebuilt() {
    let env = TestEnv::new();
    env.write("a.md", note("Alpha", &[], &["alpha failure"], "x"));
    env.kb(&["index"]).ok();
    let index = env.path(".kb/index");
    for entry in std::fs::read_dir(&index).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            std::fs::write(&p, b"{ not json").unwrap();
        }
    }
    assert_eq!(env.top("alpha failure").as_deref(), Some("a"));
    std::fs::remove_dir_all(env.path(".kb")).unwrap();
    assert_eq!(env.top("alpha failure").as_deref(), Some("a"));
    std::fs::write(env.path(".kb/dirs.bin"), b"garbage").unwrap();
    assert_eq!(env.top("alpha failure").as_deref(), Some("a"));
    std::fs::write(env.path(".kb/files.bin"), b"").unwrap();
    assert_eq!(env.top("alpha failure").as_deref(), Some("a"));
}

/// Above the full-check limit, folders are compared instead of every note.
fn large_vault_mode(env: &TestEnv, args: &[&str]) -> crate::env::Run {
    env.kb_env(args, &[("KB_FULL_CHECK_LIMIT", "0")])
}

/// Rewrite a note in place (the same file: its folder's modification time stays).
fn edit_in_place(env: &TestEnv, rel: &str, from: &str, to: &str) {
    let text = env.read(rel).replace(from, to);
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(env.path(rel))
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .unwrap();
}

/// Wait (20 s at most) until a background check has re-read m.md, edited in place to say
/// "toner cartridge empty": no word of its old text, so only a re-read makes it match.
fn wait_for_toner_note(env: &TestEnv) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = large_vault_mode(env, &["search", "--json", "toner cartridge"]);
        if r.code == 0 && r.ids()[0] == "m" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "background check never caught the edit"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn large_vaults_see_created_deleted_and_renamed_notes_at_once() {
    let env = TestEnv::new();
    env.write("a/one.md", note("One", &[], &["alphabet soup"], "x"));
    env.kb(&["index"]).ok();
    let top = |q: &str| {
        let r = large_vault_mode(&env, &["search", "--json", "--", q]);
        r.no_panic();
        (r.code == 0).then(|| r.ids()[0].clone())
    };
    env.write("a/two.md", note("Two", &[], &["kangaroo pouch"], "x"));
    assert_eq!(top("kangaroo pouch").as_deref(), Some("a/two"));
    std::fs::rename(env.path("a/two.md"), env.path("a/three.md")).unwrap();
    assert_eq!(top("kangaroo pouch").as_deref(), Some("a/three"));
    env.write(
        "b/c/deep.md",
        note("Deep", &[], &["submarine periscope"], "x"),
    );
    assert_eq!(top("submarine periscope").as_deref(), Some("b/c/deep"));
    std::fs::remove_dir_all(env.path("b")).unwrap();
    assert_eq!(top("submarine periscope"), None);
    std::fs::remove_file(env.path("a/three.md")).unwrap();
    assert_eq!(top("kangaroo pouch"), None);
    assert_eq!(top("alphabet soup").as_deref(), Some("a/one"));
}

#[test]
fn large_vaults_see_in_place_edits_of_the_notes_a_search_returns() {
    let env = TestEnv::new();
    env.write(
        "n.md",
        note("Printer", &[], &["printer jam in tray"], "Old fix."),
    );
    env.kb(&["index"]).ok();
    // Edit in place (same folder mtime) with a new fix: the hit is re-read before it is shown.
    edit_in_place(
        &env,
        "n.md",
        "Old fix.",
        "Open tray 2 and remove the paper.",
    );
    let r = large_vault_mode(&env, &["search", "--json", "printer jam in tray"]).ok();
    assert_eq!(r.json()[0]["fix"][0], "Open tray 2 and remove the paper.");
    let r = large_vault_mode(&env, &["search", "--json", "remove the paper"]).ok();
    assert_eq!(r.ids()[0], "n");
}

#[test]
fn large_vaults_catch_other_in_place_edits_with_a_background_check() {
    let env = TestEnv::new();
    env.write("n.md", note("Printer", &[], &["printer jam in tray"], "x"));
    env.write("m.md", note("Scanner", &[], &["scanner offline"], "x"));
    env.kb(&["index"]).ok();
    edit_in_place(&env, "m.md", "scanner offline", "toner cartridge empty");
    // This search does not return m.md, but starts a background full check after its output
    // (the interval since the last full check is set to zero).
    env.kb_env(
        &["search", "printer jam"],
        &[
            ("KB_FULL_CHECK_LIMIT", "0"),
            ("KB_FULL_CHECK_INTERVAL", "0"),
        ],
    )
    .ok();
    wait_for_toner_note(&env);
}

#[test]
fn by_default_a_background_check_waits_ten_seconds_after_the_last() {
    let env = TestEnv::new();
    env.write("n.md", note("Printer", &[], &["printer jam in tray"], "x"));
    env.write("m.md", note("Scanner", &[], &["scanner offline"], "x"));
    // A full check, timed (a few milliseconds: the default interval applies, not 50 times
    // its duration).
    env.kb(&["index"]).ok();
    let checked = std::time::Instant::now();
    edit_in_place(&env, "m.md", "scanner offline", "toner cartridge empty");
    // Too soon: no background check, the edit in place stays unseen.
    large_vault_mode(&env, &["search", "printer jam"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let r = large_vault_mode(&env, &["search", "--json", "toner cartridge"]);
    if checked.elapsed() < std::time::Duration::from_secs(9) {
        assert!(
            r.code != 0 || r.ids()[0] != "m",
            "checked too soon: {}",
            r.stdout
        );
    }
    // Ten seconds after the last check, a search starts one.
    std::thread::sleep(std::time::Duration::from_secs(10).saturating_sub(checked.elapsed()));
    large_vault_mode(&env, &["search", "printer jam"]).ok();
    wait_for_toner_note(&env);
}

#[test]
fn index_reports_and_rebuild_recreates() {
    let env = TestEnv::new();
    env.write("a.md", note("Alpha", &[], &["e"], "x"));
    let r = env.kb(&["index"]).ok();
    assert!(
        r.stderr
            .contains("1 notes indexed (1 added, 0 changed, 0 removed)"),
        "{}",
        r.stderr
    );
    let r = env.kb(&["index"]);
    assert_eq!(r.code, 0, "nothing changed is success: {}", r.stderr);
    assert!(
        r.stderr.contains("(0 added, 0 changed, 0 removed)"),
        "{}",
        r.stderr
    );
    let r = env.kb(&["index", "--rebuild"]).ok();
    assert!(
        r.stderr.contains("1 notes indexed (rebuilt)"),
        "{}",
        r.stderr
    );
}

#[test]
fn hidden_folders_and_other_files_are_not_notes() {
    let env = TestEnv::new();
    env.write(".obsidian/x.md", note("Hidden", &[], &["hiddenword"], "x"));
    env.write("notes.txt", "txtword");
    env.write("real.md", note("Real", &[], &["realword"], "x"));
    assert_eq!(env.top("hiddenword"), None);
    assert_eq!(env.top("txtword"), None);
    assert_eq!(env.top("realword").as_deref(), Some("real"));
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed() {
    let env = TestEnv::new();
    let outside = env.home.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join("secret.md"),
        note("Secret", &[], &["outsideword"], "x"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, env.path("link")).unwrap();
    std::os::unix::fs::symlink(env.path("."), env.path("loop")).unwrap();
    env.write("real.md", note("Real", &[], &["realword"], "x"));
    assert_eq!(env.top("outsideword"), None);
    assert_eq!(env.top("realword").as_deref(), Some("real"));
}
