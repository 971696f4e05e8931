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
    std::fs::write(env.path(".kb/state.bin"), b"garbage").unwrap();
    assert_eq!(env.top("alpha failure").as_deref(), Some("a"));
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
    let r = env.kb(&["index"]).ok();
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
