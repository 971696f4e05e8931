//! Known-error fields and outcomes: `kb worked`, `kb failed`, `kb verify`, what search shows,
//! and what kb does when it has nothing (`kb misses`).

use crate::env::{git_as, TestEnv};

const NOTE: &str = "---\n# the team's own comment\ntitle: \"VPN drops every hour\"\nstatus: workaround\napplies_to: [\"GlobalProtect 6.1\", \"Windows 11\"]\nerrors:\n  - \"The VPN connection was terminated by the gateway (error 809)\"\nticket_queue: network\n---\n\n# VPN drops every hour\n\n## Workaround\n\nReconnect; lower the MTU to 1400.\n\n## Fix\n\nUpgrade the client to 6.2.\n";

#[test]
fn worked_failed_and_verify_add_their_line_and_change_nothing_else() {
    let env = TestEnv::new();
    env.write("network/vpn.md", NOTE);
    env.kb(&["worked", "vpn", "--ticket", "INC-4411", "--minutes", "15"])
        .ok();
    env.kb(&[
        "failed",
        "network/vpn",
        "--why",
        "the gateway kept; dropping",
    ])
    .ok();
    env.kb(&["verify", "vpn"]).ok();
    let text = env.read("network/vpn.md");
    // Every line of the note is still there, in order; only the new lines were added.
    let mut rest = text.lines();
    for line in NOTE.lines() {
        assert!(
            rest.any(|l| l == line),
            "line {line:?} changed or moved:\n{text}"
        );
    }
    let added: Vec<&str> = text
        .lines()
        .filter(|l| !NOTE.lines().any(|o| o == *l))
        .collect();
    assert_eq!(added.len(), 4, "{added:?}"); // outcomes:, two outcomes, verified:
    assert!(added
        .iter()
        .any(|l| l.contains("worked; ticket: INC-4411; minutes: 15")));
    assert!(added
        .iter()
        .any(|l| l.contains("why: the gateway kept, dropping")));
    assert!(added.iter().any(|l| l.starts_with("verified: ")));
    // One commit each.
    let log = env.git(&["log", "--format=%s"]);
    assert!(log.contains("Worked: network/vpn"), "{log}");
    assert!(log.contains("Failed: network/vpn"), "{log}");
    assert!(log.contains("Verified: network/vpn"), "{log}");
    let status = env.git(&["status", "--porcelain"]);
    assert!(status.trim().is_empty(), "{status}");
    // Search carries the record.
    let hit = &env
        .kb(&[
            "search",
            "--json",
            "--",
            "VPN connection terminated by the gateway error 809",
        ])
        .ok()
        .json()[0];
    assert_eq!(hit["id"], "network/vpn");
    assert_eq!(hit["status"], "workaround");
    assert_eq!(hit["worked"], 1);
    assert_eq!(hit["failed"], 1);
    assert_eq!(hit["minutes"], 15);
    assert!(
        hit["last_used"].is_string() && hit["verified"].is_string(),
        "{hit}"
    );
    assert_eq!(hit["applies_to"][1], "Windows 11");
    let long = env.kb(&["search", "--long", "--", "vpn drops"]).ok();
    assert!(
        long.stdout.contains(
            "workaround · worked 1 of 2 · ~15 min · verified today · written by Test Tech today · GlobalProtect 6.1, Windows 11"
        ),
        "{}",
        long.stdout
    );
    // A note that is not there is an error that changes nothing.
    let r = env.kb(&["worked", "no-such-note"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn notes_matching_equally_are_ordered_by_their_record_never_a_worse_match_lifted() {
    let env = TestEnv::new();
    let body = |title: &str, outcomes: &str, status: &str| {
        format!("---\ntitle: \"{title}\"\n{status}errors:\n  - \"Outlook cannot connect to the server (0x8004011D)\"\n{outcomes}---\n\n## Fix\n\nRecreate the profile.\n")
    };
    let worked =
        "outcomes:\n  - \"2026-11-01T10:00:00Z worked\"\n  - \"2026-11-02T10:00:00Z worked\"\n";
    let failed =
        "outcomes:\n  - \"2026-11-01T10:00:00Z failed\"\n  - \"2026-11-02T10:00:00Z failed\"\n";
    // Same text, same error: a tie, by name `a-...` would come first.
    env.write("a-profile.md", body("Outlook profile", failed, ""));
    env.write("b-profile.md", body("Outlook profile", worked, ""));
    env.write(
        "c-profile.md",
        body("Outlook profile", "", "status: retired\n"),
    );
    let paste = "Outlook cannot connect to the server (0x8004011D)";
    let ids = env.kb(&["search", "--json", "--", paste]).ok().ids();
    assert_eq!(ids, vec!["b-profile", "a-profile", "c-profile"]);
    let r = env.kb(&["search", "--long", "--explain", "--", paste]).ok();
    assert!(
        r.stdout.contains("moved among equal matches by its record"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("RETIRED"), "{}", r.stdout);
    assert!(
        r.stdout.contains("failed more often than it worked"),
        "{}",
        r.stdout
    );
    // A clearly better match stays first whatever its record.
    env.write(
        "d-exact.md",
        "---\ntitle: \"Outlook 0x8004011D after the password change\"\nerrors:\n  - \"Outlook cannot connect to the server (0x8004011D) after the password change\"\noutcomes:\n  - \"2026-11-01T10:00:00Z failed\"\n---\n\nRe-enter the password.\n",
    );
    let ids = env
        .kb(&[
            "search",
            "--json",
            "--",
            "Outlook cannot connect to the server (0x8004011D) after the password change",
        ])
        .ok()
        .ids();
    assert_eq!(ids[0], "d-exact");
}

#[test]
fn a_search_without_an_answer_suggests_what_next_and_is_remembered_until_a_note_answers_it() {
    let env = TestEnv::new();
    env.write("other.md", "# Printer offline\n\nRestart the spooler.\n");
    let paste = "Sync failed for user jdoe: STATUS_DISK_QUOTA_EXCEEDED at C:\\Users\\jdoe\\AppData\\Local\\Contoso\\cache.db";
    for _ in 0..2 {
        let r = env.kb(&["search", "--", paste]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stderr.contains("search the web for: "), "{}", r.stderr);
        let web = r
            .stderr
            .lines()
            .find(|l| l.contains("search the web for"))
            .unwrap();
        assert!(web.contains("STATUS_DISK_QUOTA_EXCEEDED"), "{web}");
        for private in ["jdoe", "contoso", "appdata"] {
            assert!(!web.to_lowercase().contains(private), "{private}: {web}");
        }
        assert!(
            r.stderr
                .contains("kb add --error 'Sync failed for user jdoe"),
            "{}",
            r.stderr
        );
    }
    // With --json, stdout is still the (empty) array of hits and the same advice is one JSON
    // object on stderr.
    let r = env.kb(&[
        "search",
        "--json",
        "--",
        "KDC_ERR_S_PRINCIPAL_UNKNOWN from kerberos for user jdoe",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json(), serde_json::json!([]));
    let advice: serde_json::Value = serde_json::from_str(r.stderr.trim()).expect(&r.stderr);
    assert_eq!(advice["answered"], false, "{advice}");
    assert_eq!(advice["reason"], "no hit", "{advice}");
    let web = advice["web_query"].as_str().unwrap();
    assert!(
        web.contains("KDC_ERR_S_PRINCIPAL_UNKNOWN") && !web.contains("jdoe"),
        "{advice}"
    );
    assert!(
        advice["add_command"]
            .as_str()
            .unwrap()
            .starts_with("kb add --error 'KDC_ERR_S_PRINCIPAL_UNKNOWN"),
        "{advice}"
    );
    let r = env.kb(&["misses"]).ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines[0].starts_with("2\ttoday\t") && lines[0].contains("STATUS_DISK_QUOTA_EXCEEDED"),
        "{}",
        r.stdout
    );
    assert!(lines[1].starts_with("1\ttoday\t"), "{}", r.stdout);
    // Nothing of it is committed, or even offered to git.
    let status = env.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        !status.contains(".kb") && !status.contains("misses"),
        "{status}"
    );
    // Once a note answers it, it is no longer listed (unless --all).
    env.kb(&[
        "add",
        "--title",
        "Sync stops: disk quota",
        "--error",
        "Sync failed for user kim: STATUS_DISK_QUOTA_EXCEEDED",
        "--fix",
        "Raise the quota.",
    ])
    .ok();
    let r = env.kb(&["misses", "--json"]).ok();
    let left = r.json();
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert!(
        left[0]["query"]
            .as_str()
            .unwrap()
            .contains("KDC_ERR_S_PRINCIPAL_UNKNOWN"),
        "{left}"
    );
    let all = env.kb(&["misses", "--all", "--json"]).ok().json();
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[test]
fn add_takes_the_known_error_fields_from_flags_with_or_without_a_note_on_stdin() {
    let env = TestEnv::new();
    env.kb(&[
        "add",
        "--title",
        "Teams camera black",
        "--error",
        "We couldn't start your video (0xc00d3704)",
        "--status",
        "workaround",
        "--applies-to",
        "Teams 24xxx",
        "--applies-to",
        "Windows 11",
        "--workaround",
        "Use the browser client.",
        "--fix",
        "Update the camera driver.",
    ])
    .ok();
    let hit = &env
        .kb(&[
            "search",
            "--json",
            "--",
            "We couldn't start your video (0xc00d3704)",
        ])
        .ok()
        .json()[0];
    assert_eq!(hit["status"], "workaround", "{hit}");
    assert_eq!(hit["applies_to"][1], "Windows 11", "{hit}");
    let text = env.read("teams-camera-black.md");
    assert!(
        text.contains("## Workaround\n\nUse the browser client."),
        "{text}"
    );
    // The same flags with a note on stdin join its front matter.
    let r = env.kb_stdin(
        &[
            "add",
            "--status",
            "fixed",
            "--applies-to",
            "macOS 15",
            "--workaround",
            "Restart.",
        ],
        b"---\ntitle: Mail app crashes\napplies_to: [\"Mail 16\"]\n---\n\nCrashes on open.\n",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = env.read("mail-app-crashes.md");
    let fm = text.split("---").nth(1).unwrap();
    assert!(fm.contains("status: fixed"), "{text}");
    assert!(fm.contains("Mail 16") && fm.contains("macOS 15"), "{text}");
    assert!(text.contains("## Workaround\n\nRestart."), "{text}");
    // Contradicting the note's own status is refused, and the text is kept as a draft.
    let r = env.kb_stdin(
        &["add", "--status", "retired"],
        b"---\ntitle: Printer jams\nstatus: fixed\n---\n\nJams.\n",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("status"), "{}", r.stderr);
}

fn who_wrote(env: &TestEnv, query: &str) -> serde_json::Value {
    env.kb(&["search", "--json", "--", query]).ok().json()[0].clone()
}

#[test]
fn search_shows_who_wrote_a_note_and_who_changed_it_last_from_git() {
    let env = TestEnv::new();
    let as_dana = [("GIT_AUTHOR_NAME", "Dana"), ("GIT_COMMITTER_NAME", "Dana")];
    env.kb_env(
        &[
            "add",
            "--title",
            "Spooler stops",
            "--error",
            "The Print Spooler service terminated unexpectedly",
            "--fix",
            "Clear C:\\Windows\\System32\\spool\\PRINTERS",
        ],
        &as_dana,
    )
    .ok();
    let hit = who_wrote(&env, "print spooler terminated");
    assert_eq!(hit["author"], "Dana", "{hit}");
    assert_eq!(hit["last_editor"], "Dana", "{hit}");
    assert!(hit["authored"].as_str().unwrap().len() == 10, "{hit}");
    // Lee records an outcome through kb: Lee changed it last.
    env.kb_env(
        &["worked", "spooler-stops", "--minutes", "5"],
        &[("GIT_AUTHOR_NAME", "Lee"), ("GIT_COMMITTER_NAME", "Lee")],
    )
    .ok();
    let long = env
        .kb(&["search", "--long", "--", "print spooler terminated"])
        .ok();
    assert!(
        long.stdout
            .contains("written by Dana, changed by Lee today"),
        "{}",
        long.stdout
    );
    let shown = env.kb(&["show", "--json", "spooler-stops"]).ok().json();
    assert_eq!(
        (&shown["author"], &shown["last_editor"]),
        (&"Dana".into(), &"Lee".into()),
        "{shown}"
    );
    // Sam edits the note with their editor and commits with git: the next search knows.
    let text = env.read("spooler-stops.md");
    env.write("spooler-stops.md", text + "\nAlso check the driver.\n");
    git_as(&env.vault, "Sam", &["commit", "-qam", "driver hint"]);
    let hit = who_wrote(&env, "print spooler terminated");
    assert_eq!(
        (&hit["author"], &hit["last_editor"]),
        (&"Dana".into(), &"Sam".into()),
        "{hit}"
    );
    // History rewritten (the last commit amended under another name): read again.
    git_as(
        &env.vault,
        "Kim",
        &[
            "commit",
            "-q",
            "--amend",
            "--reset-author",
            "-m",
            "driver hint",
        ],
    );
    let hit = who_wrote(&env, "print spooler terminated");
    assert_eq!(hit["last_editor"], "Kim", "{hit}");
    assert_eq!(hit["author"], "Dana", "{hit}");
    // A note never committed has no author, and says nothing wrong about it.
    env.write(
        "draft.md",
        "---\ntitle: Draft about the spooler\n---\n\nSpooler terminated again.\n",
    );
    let r = env
        .kb(&["search", "--json", "--", "draft about the spooler"])
        .ok();
    let hit = &r.json()[0];
    assert_eq!(hit["id"], "draft");
    assert!(
        hit["author"].is_null() && hit["last_editor"].is_null(),
        "{hit}"
    );
}

#[test]
fn authorship_in_a_vault_inside_a_larger_repository_and_after_a_merge() {
    let env = TestEnv::empty();
    // The repository is HOME; the vault is its `vault` folder, next to other files.
    git_as(&env.home, "Root", &["init", "-q", "-b", "main"]);
    std::fs::write(env.home.join("README.md"), "not a note\n").unwrap();
    env.write(
        "net/dns.md",
        "---\ntitle: DNS fails after VPN\nerrors: [\"DNS_PROBE_FINISHED_NXDOMAIN\"]\n---\n\nFlush the cache.\n",
    );
    git_as(&env.home, "Dana", &["add", "-A"]);
    git_as(&env.home, "Dana", &["commit", "-qm", "notes"]);
    // A branch where Lee changes the note, merged by Root with a merge commit.
    git_as(&env.home, "Lee", &["checkout", "-qb", "lee"]);
    env.write(
        "net/dns.md",
        "---\ntitle: DNS fails after VPN\nerrors: [\"DNS_PROBE_FINISHED_NXDOMAIN\"]\n---\n\nFlush the cache: ipconfig /flushdns.\n",
    );
    git_as(&env.home, "Lee", &["commit", "-qam", "how to flush"]);
    git_as(&env.home, "Root", &["checkout", "-q", "main"]);
    std::fs::write(env.home.join("other.txt"), "x\n").unwrap();
    git_as(&env.home, "Root", &["add", "other.txt"]);
    git_as(&env.home, "Root", &["commit", "-qm", "other"]);
    git_as(
        &env.home,
        "Root",
        &["merge", "-q", "--no-ff", "-m", "merge lee", "lee"],
    );
    let hit = who_wrote(&env, "DNS_PROBE_FINISHED_NXDOMAIN");
    assert_eq!(hit["id"], "net/dns", "{hit}");
    // The merge itself changed nothing in the note: Lee's commit is its last change.
    assert_eq!(
        (&hit["author"], &hit["last_editor"]),
        (&"Dana".into(), &"Lee".into()),
        "{hit}"
    );
}
