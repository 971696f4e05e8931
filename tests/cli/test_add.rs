use crate::env::{note, TestEnv};

#[test]
fn add_then_search_finds_it_and_commits() {
    let env = TestEnv::new();
    let r = env
        .kb(&[
            "add",
            "--title",
            "VPN drops every 10 minutes",
            "--error",
            "The L2TP connection attempt failed (error 789)",
            "--tag",
            "vpn",
            "--fix",
            "Renew the machine certificate.",
        ])
        .ok();
    let (id, path) = r.stdout.trim().split_once('\t').expect("id<TAB>path");
    assert_eq!(id, "vpn-drops-every-10-minutes");
    assert!(std::path::Path::new(path).is_file());
    assert_eq!(
        env.top("the L2TP connection attempt failed (error 789)")
            .as_deref(),
        Some(id)
    );
    let log = env.git(&["log", "--format=%s|%an", "-1"]);
    assert_eq!(log.trim(), "Add note: VPN drops every 10 minutes|Test Tech");
    let files = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        files.trim(),
        "vpn-drops-every-10-minutes.md",
        "only the note is committed"
    );
    assert!(
        env.git(&["status", "--porcelain"]).trim().is_empty(),
        "index stays out of git"
    );
}

#[test]
fn kbs_commit_holds_its_note_only_and_what_the_person_staged_stays_staged() {
    // Staged through the git program (found on PATH) and through libgit2 (KB_GIT=libgit2).
    for vars in [&[][..], &[("KB_GIT", "libgit2")][..]] {
        let env = TestEnv::new();
        env.kb_env(&["add", "--title", "Old note", "--fix", "Old fix."], vars)
            .ok();
        // The person stages changes of their own with git, for a commit of their own.
        std::fs::write(env.vault.join("scratch.txt"), "work in progress\n").unwrap();
        env.git(&["add", "scratch.txt"]);
        std::fs::write(env.vault.join("old-note.md"), "# Old note\n\nRewritten.\n").unwrap();
        env.git(&["add", "old-note.md"]);
        env.kb_env(
            &["add", "--title", "Printer offline", "--fix", "Restart it."],
            vars,
        )
        .ok();
        let files = env.git(&["show", "--name-only", "--format=", "HEAD"]);
        assert_eq!(files.trim(), "printer-offline.md", "{vars:?}");
        // git agrees with the commit: the new note is clean, the person's changes staged.
        let status = env.git(&["status", "--porcelain"]);
        assert_eq!(status.trim(), "M  old-note.md\nA  scratch.txt", "{vars:?}");
        // A note kb changes is committed from the file, whatever was staged of it.
        env.kb_env(&["worked", "old-note"], vars).ok();
        let files = env.git(&["show", "--name-only", "--format=", "HEAD"]);
        assert_eq!(files.trim(), "old-note.md", "{vars:?}");
        let status = env.git(&["status", "--porcelain"]);
        assert_eq!(status.trim(), "A  scratch.txt", "{vars:?}");
        let tree = env.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
        assert!(!tree.contains("scratch.txt"), "{vars:?}: {tree}");
    }
}

#[test]
fn a_staging_area_another_git_holds_means_no_commit_and_nothing_lost() {
    // Staged through the git program (alongside the commit) and through libgit2 (before it).
    for vars in [&[][..], &[("KB_GIT", "libgit2")][..]] {
        let env = TestEnv::new();
        env.kb_env(
            &["add", "--title", "Printer offline", "--fix", "Restart it."],
            vars,
        )
        .ok();
        let head = env.git(&["rev-parse", "HEAD"]);
        // Another git is writing the staging area.
        let lock = env.vault.join(".git/index.lock");
        std::fs::write(&lock, "").unwrap();
        let r = env.kb_env(
            &[
                "link",
                "Spooler stopped after the update",
                "printer-offline",
            ],
            vars,
        );
        r.no_panic();
        assert!(r.stderr.contains("not committed"), "{vars:?}: {}", r.stderr);
        std::fs::remove_file(&lock).unwrap();
        // No commit (HEAD where it was), the note changed in the work tree, git agrees.
        assert_eq!(env.git(&["rev-parse", "HEAD"]), head, "{vars:?}");
        assert!(env
            .read("printer-offline.md")
            .contains("Spooler stopped after the update"));
        let status = env.git(&["status", "--porcelain"]);
        assert_eq!(status.trim(), "M printer-offline.md", "{vars:?}");
    }
}

#[test]
fn kb_stages_a_note_as_git_add_would_with_the_repositorys_filters() {
    let env = TestEnv::new();
    // A clean filter (what git-lfs and friends are): the blob is what it makes of the file.
    env.git(&["config", "filter.shout.clean", "tr a-z A-Z"]);
    env.git(&["config", "filter.shout.smudge", "cat"]);
    std::fs::write(env.vault.join(".gitattributes"), "loud-*.md filter=shout\n").unwrap();
    env.kb(&["add", "--title", "Loud printer", "--fix", "Hush it."])
        .ok();
    let blob = env.git(&["show", "HEAD:loud-printer.md"]);
    assert!(blob.contains("HUSH IT."), "{blob}");
    // git sees the note as committed: the file, filtered, is the blob.
    let status = env.git(&["status", "--porcelain", "--", "loud-printer.md"]);
    assert!(status.trim().is_empty(), "{status}");
}

#[test]
fn add_never_overwrites_an_existing_note() {
    let env = TestEnv::new();
    env.kb(&["add", "--title", "Same title", "--fix", "first", "--yes"])
        .ok();
    env.kb(&["add", "--title", "Same title", "--fix", "second", "--yes"])
        .ok();
    assert!(env.read("same-title.md").contains("first"));
    assert!(env.read("same-title-2.md").contains("second"));
}

#[test]
fn add_takes_the_body_from_stdin() {
    let env = TestEnv::new();
    let body = "## Problem\n\nPrinter offline.\n\n## Fix\n\nRestart the spooler.\n";
    let r = env
        .kb_stdin(
            &[
                "add",
                "--title",
                "Printer offline",
                "--tag",
                "printing",
                "--folder",
                "printing",
            ],
            body.as_bytes(),
        )
        .ok();
    assert!(r.stdout.starts_with("printing/printer-offline\t"));
    let text = env.read("printing/printer-offline.md");
    assert!(text.contains("title: \"Printer offline\""));
    assert!(text.contains("Restart the spooler."));
    let show = env.kb(&["show", "printer-offline", "--fix"]).ok();
    assert_eq!(show.stdout.trim(), "Restart the spooler.");
}

#[test]
fn add_with_an_editor_that_changes_nothing_writes_nothing() {
    let env = TestEnv::new();
    // `true` exits without touching the file: the template is unchanged.
    let r = env.kb_env(&["add", "--edit", "--title", "x"], &[("EDITOR", "true")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("nothing written"), "{}", r.stderr);
    assert!(!env.path("x.md").exists());
    // An editor that empties the file: nothing written either.
    let r = env.kb_env(
        &["add", "--edit", "--title", "x"],
        &[("EDITOR", "sh -c ': > \"$1\"' sh")],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    // An editor that writes the fix: the note is created.
    let r = env.kb_env(
        &["add", "--edit", "--title", "Edited in editor"],
        &[(
            "EDITOR",
            "sh -c 'printf \"Reboot the router.\\n\" >> \"$1\"' sh",
        )],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        env.read("edited-in-editor.md")
            .ends_with("## Fix\n\nReboot the router.\n"),
        "{}",
        env.read("edited-in-editor.md")
    );
}

#[test]
fn a_missing_editor_is_a_clear_error() {
    let env = TestEnv::new();
    let r = env.kb_env(
        &["add", "--edit", "--title", "x"],
        &[("EDITOR", "no-such-editor-kb")],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no-such-editor-kb"), "{}", r.stderr);
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
}

#[test]
fn add_warns_of_a_near_duplicate_and_refuses_off_a_terminal() {
    let env = TestEnv::new();
    env.write("outlook.md", note("Outlook ost", &["outlook"], &["The file C:\\Users\\alice\\AppData\\Local\\Microsoft\\Outlook\\alice.ost is not an Outlook data file (.ost)."], "Rename the ost."));
    let r = env.kb(&["add", "--title", "Outlook again", "--error", "The file C:\\Users\\bob\\AppData\\Local\\Microsoft\\Outlook\\bob.ost is not an Outlook data file (.ost)."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("already recorded in outlook"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("kb link"), "{}", r.stderr);
    assert!(!env.path("outlook-again.md").exists());
    env.kb(&[
        "add",
        "--yes",
        "--title",
        "Outlook again",
        "--error",
        "The file C:\\Users\\bob\\x.ost is not an Outlook data file (.ost).",
    ])
    .ok();
    assert!(env.path("outlook-again.md").exists());
}

#[test]
fn add_without_a_title_is_a_clear_error() {
    let env = TestEnv::new();
    let r = env.kb(&["add", "--fix", "something"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no title"), "{}", r.stderr);
}

#[test]
fn add_with_hostile_title_stays_inside_the_vault() {
    let env = TestEnv::new();
    for title in ["../../escape", "/etc/passwd", "CON", "a\u{7}b"] {
        let r = env.kb(&["add", "--yes", "--title", title, "--fix", "x"]);
        r.no_panic();
    }
    assert!(!env.home.join("escape.md").exists());
    let mut names: Vec<String> = std::fs::read_dir(&env.vault)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["a-b.md", "con-note.md", "escape.md", "etc-passwd.md"]
    );
}

#[test]
fn a_recorded_line_without_error_words_is_still_a_duplicate_of_itself() {
    let env = TestEnv::new();
    let line = "session closed for user cyrus";
    env.kb(&["add", "--title", "Sessions", "--error", line, "--fix", "x"])
        .ok();
    let r = env.kb(&[
        "add",
        "--title",
        "Sessions again",
        "--error",
        line,
        "--fix",
        "y",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("already recorded in sessions"),
        "{}",
        r.stderr
    );
}
