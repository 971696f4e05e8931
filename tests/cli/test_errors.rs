use crate::env::TestEnv;

#[test]
fn a_missing_vault_says_how_to_create_one() {
    let env = TestEnv::empty();
    let missing = env.home.join("nope");
    let r = env.kb(&["--dir", missing.to_str().unwrap(), "search", "x"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("kb: error: no vault at"), "{}", r.stderr);
    assert!(
        r.stderr.contains("hint: create one with `kb init"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_default_vault_is_kb_in_home_and_kb_toml_marks_a_vault() {
    let env = TestEnv::empty();
    let err = env.kb_finding_vault(&["search", "x"], &env.home).stderr;
    assert!(
        err.contains(&format!("no vault at {}", env.home.join("kb").display())),
        "{err}"
    );
    // From inside a folder below a kb.toml, that vault is used.
    env.kb(&["init", env.vault.to_str().unwrap()]).ok();
    std::fs::create_dir_all(env.vault.join("deep/er")).unwrap();
    std::fs::write(env.vault.join("n.md"), "# Found me\nzanzibar\n").unwrap();
    env.kb_finding_vault(&["search", "zanzibar"], &env.vault.join("deep/er"))
        .ok();
}

#[test]
fn init_adopts_a_folder_and_keeps_the_index_out_of_git() {
    let env = TestEnv::empty();
    std::fs::write(env.vault.join("existing.md"), "# Existing\nhello\n").unwrap();
    let r = env.kb(&["init", env.vault.to_str().unwrap()]).ok();
    assert!(r.stderr.contains("1 notes indexed"), "{}", r.stderr);
    let ignore = std::fs::read_to_string(env.vault.join(".gitignore")).unwrap();
    assert!(ignore.contains("/.kb/"));
    assert!(env.vault.join(".git").is_dir());
    assert!(env.vault.join("kb.toml").is_file());
    let status = env.git(&["status", "--porcelain", "--ignored"]);
    assert!(status.contains("!! .kb/"), "{status}");
    // init twice is harmless
    env.kb(&["init", env.vault.to_str().unwrap()]).ok();
    assert_eq!(
        std::fs::read_to_string(env.vault.join(".gitignore")).unwrap(),
        ignore
    );
}

#[test]
fn a_vault_without_git_works_and_says_nothing_was_committed() {
    let env = TestEnv::empty();
    std::fs::write(env.path("kb.toml"), "").unwrap();
    let r = env
        .kb(&["add", "--title", "No git here", "--fix", "x"])
        .ok();
    assert!(r.stderr.contains("not a git repository"), "{}", r.stderr);
    assert_eq!(env.top("No git here").as_deref(), Some("no-git-here"));
}

#[test]
fn bad_flags_exit_two_and_help_exits_zero() {
    let env = TestEnv::new();
    assert_eq!(env.kb(&["search", "--limit", "lots", "x"]).code, 2);
    assert_eq!(env.kb(&["frobnicate"]).code, 2);
    assert_eq!(env.kb(&["--help"]).code, 0);
    assert_eq!(env.kb(&["--version"]).code, 0);
}
