//! The first hour with kb: what a newcomer typed and tripped on, from `kb init` to the first
//! team sync (issue "The first hour"). Each test drives the real binary.

use crate::env::{note, TestEnv};
use crate::test_sync::Team;

// 3: `kb init` without a folder makes the default vault, never the current folder.
#[test]
fn init_without_a_folder_makes_the_default_vault_and_refuses_a_home_folder() {
    let env = TestEnv::empty();
    let mut c = env.command();
    c.env_remove("KB_DIR").current_dir(&env.home);
    let o = c.arg("init").output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(env.home.join("kb/kb.toml").is_file(), "{stderr}");
    assert!(!env.home.join("kb.toml").exists() && !env.home.join(".git").exists());
    assert!(
        stderr.contains(&env.home.join("kb").display().to_string()),
        "{stderr}"
    );
    // Naming the home folder (or the disk) is refused.
    for dir in [env.home.to_str().unwrap(), "/"] {
        let r = env.kb_finding_vault(&["init", dir], &env.home);
        assert_eq!(r.code, 2, "{dir}: {}", r.stderr);
        assert!(
            r.stderr.contains("not a vault") && r.stderr.contains("hint:"),
            "{}",
            r.stderr
        );
    }
    assert!(!env.home.join(".git").exists());
    // A configured vault of `/` is refused too, not walked.
    let r = env.kb_env(&["search", "x"], &[("KB_DIR", "/")]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("whole disk or home folder"),
        "{}",
        r.stderr
    );
}

// 4: a mistyped flag is a usage error, never query text.
#[test]
fn a_mistyped_flag_is_a_usage_error_and_text_after_dashes_is_searched() {
    let env = TestEnv::new();
    env.write(
        "vpn.md",
        note("VPN error 809", &[], &["Error 809"], "Allow NAT-T."),
    );
    for args in [
        vec!["search", "--explian", "vpn error 809"],
        vec!["search", "--jsn", "foo"],
        vec!["link", "--bset", "Error 809"],
        vec!["add", "--titel", "x"],
    ] {
        let r = env.kb(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("unexpected argument"), "{}", r.stderr);
    }
    let r = env.kb(&["search", "--explian", "vpn"]);
    assert!(r.stderr.contains("'--explain'"), "{}", r.stderr);
    let r = env.kb(&["misses", "--all"]);
    assert!(
        !r.stdout.contains("jsn"),
        "a usage error is no miss: {}",
        r.stdout
    );
    // After `--` it is text; a pasted error starting with `-` is text.
    let r = env.kb(&["search", "--", "--jsn"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = env.kb(&["search", "-bash: vpnc: command not found"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    // Free-text values may start with a dash.
    env.kb(&[
        "add",
        "--title",
        "Dash",
        "--fix",
        "- step one\n- step two",
        "--yes",
    ])
    .ok();
    assert!(env.read("dash.md").contains("- step one"));
}

// 5: a question typed as a sentence, with the right note first, is answered.
#[test]
fn a_typed_sentence_whose_note_is_found_is_not_a_miss() {
    let env = TestEnv::new();
    env.write(
        "printing/spooler.md",
        note(
            "Print Spooler service keeps stopping",
            &["printing"],
            &["The Print Spooler service terminated unexpectedly."],
            "Clear the spool folder.",
        ),
    );
    let r = env
        .kb(&[
            "search",
            "--json",
            "printer spooler keeps stopping after update failed",
        ])
        .ok();
    assert_eq!(r.ids()[0], "printing/spooler");
    assert!(!r.stderr.contains("answered"), "{}", r.stderr);
    let r = env.kb(&["misses", "--all"]);
    assert_eq!(r.code, 1, "no miss recorded: {}", r.stdout);
    // A paste with a code no note has is still a miss.
    let r = env.kb(&[
        "search",
        "STATUS_DISK_QUOTA_EXCEEDED writing C:\\Users\\mwong\\cache.db",
    ]);
    assert!(r.stderr.contains("search the web for"), "{}", r.stderr);
}

// 8 and 9: -q quiets sync; a named vault or remote owes an answer.
#[test]
fn quiet_sync_prints_nothing_and_a_missing_remote_named_is_an_error() {
    let t = Team::new();
    t.a.write("new.md", note("New", &[], &[], "x"));
    let r = t.a.kb(&["-q", "sync"]).ok();
    assert_eq!(r.stdout, "", "{}", r.stdout);
    assert_eq!(r.stderr, "", "{}", r.stderr);
    let r = t.a.kb(&["-q", "sync"]).ok();
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    // Several vaults configured: `--vault personal sync --remote nosuch` is the same error as
    // with --dir, not "no remote, not synced".
    let cfg = t.a.home.join(".config/kb");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "default_vault = \"personal\"\n[vaults.personal]\npath = \"{}\"\n",
            t.a.vault.display()
        ),
    )
    .unwrap();
    let mut c = t.a.command();
    c.env_remove("KB_DIR");
    let o = c
        .args(["--vault", "personal", "sync", "--remote", "nosuch"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no remote named 'nosuch'") && stderr.contains("origin"),
        "{stderr}"
    );
}

// 10: a note deleted by hand is removed once.
#[test]
fn a_note_deleted_by_hand_is_reported_removed_once() {
    let env = TestEnv::new();
    for t in ["A", "B", "C"] {
        env.kb(&["add", "--title", &format!("Note {t}"), "--fix", "x"])
            .ok();
    }
    std::fs::remove_file(env.path("note-b.md")).unwrap();
    let r = env.kb(&["index"]).ok();
    assert!(r.stderr.contains("1 removed"), "{}", r.stderr);
    for _ in 0..2 {
        let r = env.kb(&["index"]).ok();
        assert!(r.stderr.contains("0 removed"), "{}", r.stderr);
    }
    assert_eq!(env.kb(&["show", "note-b"]).code, 2);
}

// 14: --limit is bounded with a clear error.
#[test]
fn limits_are_checked() {
    let env = TestEnv::new();
    env.write("a.md", note("Alpha", &[], &["E_ALPHA"], "x"));
    for n in ["0", "8000000000000", "18446744073709551615", "-1", "many"] {
        let r = env.kb(&["search", "--limit", n, "E_ALPHA"]);
        assert_eq!(r.code, 2, "{n}: {}", r.stderr);
        assert!(
            r.stderr.contains("--limit") && !r.stderr.contains("internal error"),
            "{}",
            r.stderr
        );
    }
    let r = env.kb(&["list", "--limit", "10000"]).ok();
    assert!(r.stdout.contains("Alpha"));
    let r = env.kb(&["scan", "--threshold", "7", "-"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// Run kb with the vault's folder mounted read-only, in a mount namespace of its own
/// (`unshare`: the test needs no privileges beyond user namespaces).
fn kb_read_only(env: &TestEnv, args: &[&str]) -> crate::env::Run {
    let mut c = env.command();
    let kb = crate::env::kb_bin();
    c.env_remove("KB_DIR");
    let o = std::process::Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"",
        ])
        .arg(&env.vault)
        .arg(&kb)
        .arg("--dir")
        .arg(&env.vault)
        .args(args)
        .envs(c.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("unshare (util-linux)");
    crate::env::Run::from(o)
}

/// A write refused on a read-only disk: exit 2 and one sentence naming the note.
#[track_caller]
fn refused_read_only(r: &crate::env::Run, file: &str) {
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("cannot write {file}: the disk is read-only")),
        "{}",
        r.stderr
    );
}

// 7: a read-only disk gives one sentence naming the note; the typed text is kept elsewhere.
#[test]
fn a_read_only_disk_names_the_note_and_keeps_the_draft_elsewhere() {
    let env = TestEnv::new();
    env.kb(&["add", "--title", "Alpha one", "--fix", "x"]).ok();
    let before = env.read("alpha-one.md");
    for args in [
        vec!["worked", "alpha-one"],
        vec!["link", "E_NEW_ERROR_CODE", "alpha-one"],
        vec!["verify", "alpha-one"],
    ] {
        let r = kb_read_only(&env, &args);
        refused_read_only(&r, "alpha-one.md");
        assert!(
            !r.stderr.contains(".kb-tmp") && !r.stderr.contains("kb.lock"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    }
    assert_eq!(env.read("alpha-one.md"), before);
    let r = kb_read_only(
        &env,
        &[
            "add",
            "--title",
            "Beta",
            "--fix",
            "Restart the beta service.",
        ],
    );
    refused_read_only(&r, "beta.md");
    let draft = crate::env::kept_in(&r.stderr);
    assert!(!draft.starts_with(env.vault.to_str().unwrap()), "{draft}");
    assert!(std::fs::read_to_string(draft)
        .unwrap()
        .contains("Restart the beta service."));
    // Searching still works from a read-only vault.
    let r = kb_read_only(&env, &["search", "--json", "Alpha one"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

// 13: a decisive answer comes alone; the weak hits are one line each.
#[test]
fn weak_hits_below_a_decisive_one_are_folded() {
    let env = TestEnv::new();
    env.write("smb.md", note("Network path not found", &[], &["Windows cannot access \\\\FILESERVER01\\Share. Error code: 0x80070035. The network path was not found."], "1. Set the network to Private.\n2. Check port 445.\n3. Enable guest logons."));
    for i in 0..4 {
        env.write(
            &format!("other{i}.md"),
            note(
                &format!("Windows other problem {i}"),
                &[],
                &[&format!("Windows error number {i} happened")],
                "a\nb\nc\nd",
            ),
        );
    }
    let r = env.kb(&["search", "--long", "Windows cannot access \\\\NAS-02\\scans. Error code: 0x80070035. The network path was not found."]).ok();
    assert!(r.stdout.starts_with("1. smb"), "{}", r.stdout);
    assert!(r.stdout.contains("far weaker matches:"), "{}", r.stdout);
    assert_eq!(r.stdout.matches("Fix:").count(), 1, "{}", r.stdout);
    assert!(r.stdout.lines().count() <= 12, "{}", r.stdout);
    // JSON keeps every hit for scripts.
    let r = env.kb(&["search", "--json", "Windows cannot access \\\\NAS-02\\scans. Error code: 0x80070035. The network path was not found."]).ok();
    assert!(r.ids().len() > 1);
}

// 11: completion spans every configured vault, and `team:ID` survives bash's word splitting.
#[test]
fn completion_offers_every_vaults_ids_and_team_ids_complete_in_bash() {
    let personal = TestEnv::new();
    let team = personal.home.join("team");
    personal.kb(&["init", team.to_str().unwrap()]).ok();
    personal.write("vpn.md", note("VPN 809", &["vpn"], &[], "x"));
    std::fs::create_dir_all(team.join("printing")).unwrap();
    std::fs::write(
        team.join("printing/spooler.md"),
        note("Spooler", &["printing"], &[], "x"),
    )
    .unwrap();
    let cfg = personal.home.join(".config/kb");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "default_vault = \"personal\"\n[vaults.personal]\npath = \"{}\"\n[vaults.team]\npath = \"{}\"\n",
            personal.vault.display(),
            team.display()
        ),
    )
    .unwrap();
    let mut c = personal.command();
    c.env_remove("KB_DIR");
    assert!(c.arg("index").output().unwrap().status.success());
    let script = personal.kb(&["completions", "bash"]).ok().stdout;
    // As bash calls the function: COMP_WORDS split at ':' as bash does, COMP_LINE whole.
    let complete = |line: &str| -> String {
        let cmd = format!(
            "{script}\nCOMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDBREAKS=$' \\t\\n\"'\\''><=;|&(:'; COMP_TYPE=9; _clap_complete_kb kb x kb; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let o = std::process::Command::new("bash")
            .arg("-c")
            .arg(cmd)
            .env_remove("KB_DIR")
            .env("HOME", &personal.home)
            .env("XDG_CONFIG_HOME", personal.home.join(".config"))
            .env("XDG_CACHE_HOME", personal.home.join(".cache"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let all = complete("kb show ");
    assert!(all.lines().any(|l| l == "vpn"), "{all}");
    assert!(all.lines().any(|l| l == "team:printing/spooler"), "{all}");
    assert!(all.lines().any(|l| l == "personal:vpn"), "{all}");
    // After `team:`, bash inserts what follows the colon.
    assert_eq!(complete("kb show team:pri"), "printing/spooler");
    let tags = complete("kb search --tag ");
    assert!(tags.contains("printing") && tags.contains("vpn"), "{tags}");
}

// 15: papercuts.
#[test]
fn papercuts_titles_from_headings_drafts_that_add_snippets_and_plurals() {
    let env = TestEnv::new();
    // A note on stdin as `# Heading` takes its title from it.
    let r = env
        .kb_stdin(
            &["add", "--yes"],
            b"# Printer offline after update\n\n## Fix\n\nRestart the spooler.\n",
        )
        .ok();
    assert!(
        r.stdout.starts_with("printer-offline-after-update\t"),
        "{}",
        r.stdout
    );
    assert_eq!(
        TestEnv::title_of(&env.read("printer-offline-after-update.md")),
        "Printer offline after update"
    );
    // A draft without a title: the hint's command works as printed (with a title filled in).
    let r = env.kb_stdin(&["add", "--yes"], b"just the fix text\n");
    assert_eq!(r.code, 2);
    let hint = r.stderr.split('`').nth(1).unwrap().to_string();
    assert!(hint.contains("--title 'TITLE'"), "{hint}");
    let draft = hint.rsplit("< ").next().unwrap().trim_matches('\'');
    let r = env.kb_stdin(
        &["add", "--yes", "--title", "Just the fix"],
        &std::fs::read(draft).unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A heading and the code block after it are not glued together in a snippet.
    env.write("nginx.md", "---\ntitle: Port in use\n---\n\n## Port already in use\n```\nnginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)\n```\n");
    let r = env
        .kb(&["search", "--json", "nginx emerg bind failed"])
        .ok();
    let snippet = r.json()[0]["snippet"].as_str().unwrap().to_string();
    assert!(!snippet.contains("usenginx"), "{snippet}");
    // Articles and plurals.
    let r = env
        .kb(&[
            "add",
            "--title",
            "Mail",
            "--fix",
            "write to jane.doe@contoso.com",
            "--yes",
        ])
        .ok();
    assert!(
        r.stderr.contains("looks like an e-mail address"),
        "{}",
        r.stderr
    );
    let log = env.home.join("log.txt");
    std::fs::write(
        &log,
        "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)\n",
    )
    .unwrap();
    let r = env.kb(&["scan", log.to_str().unwrap()]).ok();
    assert!(
        r.stdout.contains("1 line, line 1") && r.stdout.contains("1 line: 1 matched 1 note,"),
        "{}",
        r.stdout
    );
}

// 7, the full disk: one sentence naming the note, the note unchanged.
#[test]
fn a_full_disk_names_the_note_and_changes_nothing() {
    let env = TestEnv::empty();
    let disk = env.home.join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let mut c = env.command();
    c.env_remove("KB_DIR");
    // A 2 MB disk of its own (tmpfs in a mount namespace): a vault with one note, then filled.
    let script = r#"mount -t tmpfs -o size=2m tmpfs "$0" || exit 9
"$1" init "$0/v" >/dev/null 2>&1 || exit 8
"$1" --dir "$0/v" add --title "Alpha one" --fix x >/dev/null 2>&1 || exit 7
cp "$0/v/alpha-one.md" "$0/before"
dd if=/dev/zero of="$0/fill" bs=4k >/dev/null 2>&1
"$1" --dir "$0/v" worked alpha-one --ticket T1
code=$?
cmp -s "$0/v/alpha-one.md" "$0/before" || echo CHANGED >&2
exit $code"#;
    let o = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", script])
        .arg(&disk)
        .arg(crate::env::kb_bin())
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .output()
        .expect("unshare (util-linux)");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write alpha-one.md: the disk is full"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: free some space"), "{stderr}");
    assert!(
        !stderr.contains("CHANGED") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
