use crate::env::{note, TestEnv};

fn two_notes() -> TestEnv {
    let env = TestEnv::new();
    let mut a = note("Older note", &["alpha"], &["old error"], "Old fix.");
    a = a.replace(
        "created: 2026-01-01T00:00:00Z",
        "created: 2025-01-01T00:00:00Z",
    );
    env.write("one/older.md", a);
    env.write(
        "two/newer.md",
        note(
            "Newer note",
            &["beta", "alpha"],
            &["new error"],
            "New fix.\n\nSee [[older]].",
        ),
    );
    env.write("three/newer.md", note("Also newer", &[], &[], "x"));
    env
}

#[test]
fn list_is_newest_first_and_filters_by_tag() {
    let env = two_notes();
    let r = env.kb(&["list", "--json"]).ok();
    let ids = r.ids();
    assert_eq!(ids.last().map(String::as_str), Some("one/older"));
    assert_eq!(ids.len(), 3);
    let r = env.kb(&["list", "--json", "--tag", "Beta"]).ok();
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = env.kb(&["list", "--tag", "nope"]);
    assert_eq!(r.code, 1);
    let r = env.kb(&["list"]).ok();
    assert!(
        r.stdout
            .lines()
            .last()
            .unwrap()
            .contains("one/older  Older note  #alpha"),
        "{}",
        r.stdout
    );
}

#[test]
fn show_by_id_stem_json_and_ambiguity() {
    let env = two_notes();
    let r = env.kb(&["show", "older"]).ok();
    assert!(r.stdout.starts_with("---\ntitle: \"Older note\""));
    let r = env.kb(&["show", "one/older.md", "--json"]).ok();
    let j = r.json();
    assert_eq!(j["id"], "one/older");
    assert_eq!(j["fix"], serde_json::json!(["Old fix."]));
    // The same note shape as `search --json`: every key of a hit but its rank, score and
    // snippet is in `show --json`.
    let hit = env.kb(&["search", "--json", "Older note"]).ok().json()[0].clone();
    for key in hit.as_object().unwrap().keys() {
        if !["rank", "score", "snippet"].contains(&key.as_str()) {
            assert!(j.get(key).is_some(), "show --json lacks {key}: {j}");
            assert_eq!(j[key], hit[key], "{key}");
        }
    }
    for key in [
        "status",
        "applies_to",
        "verified",
        "worked",
        "failed",
        "errors",
    ] {
        assert!(j.get(key).is_some(), "{key}");
    }
    let r = env.kb(&["show", "newer"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("three/newer") && r.stderr.contains("two/newer"),
        "{}",
        r.stderr
    );
    let r = env.kb(&["show", "two/newer", "--json"]).ok();
    assert_eq!(r.json()["links"][0]["target"], "older");
    assert_eq!(r.json()["links"][0]["id"], "one/older");
    let r = env.kb(&["show", "older", "--json"]).ok();
    assert_eq!(r.json()["backlinks"][0], "two/newer");
    let r = env.kb(&["show", "missing"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no note matches 'missing'") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    let r = env.kb(&["show", "../../etc/passwd"]);
    assert_eq!(r.code, 2);
}

#[test]
fn edit_reindexes_and_commits() {
    let env = two_notes();
    env.git(&["add", "-A"]);
    env.git(&[
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@e",
        "commit",
        "-qm",
        "notes",
    ]);
    let r = env.kb_env(
        &["edit", "older"],
        &[(
            "EDITOR",
            "sh -c 'printf \"\\nzebrafix applied\\n\" >> \"$1\"' sh",
        )],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(env.top("zebrafix").as_deref(), Some("one/older"));
    assert_eq!(
        env.git(&["log", "-1", "--format=%s"]).trim(),
        "Edit note: Older note"
    );
    // An editor that changes nothing commits nothing.
    let r = env.kb_env(&["edit", "older"], &[("EDITOR", "true")]);
    assert_eq!(r.code, 1, "nothing changed: {}", r.stderr);
    assert!(r.stderr.contains("unchanged"));
    assert_eq!(
        env.git(&["log", "-1", "--format=%s"]).trim(),
        "Edit note: Older note"
    );
}

#[test]
fn tags_count_notes_and_list_since_filters_by_date() {
    let env = two_notes();
    let r = env.kb(&["tags"]).ok();
    let first = r.stdout.lines().next().unwrap();
    assert!(first.trim_start().starts_with("2  alpha"), "{}", r.stdout);
    let r = env.kb(&["tags", "--json"]).ok();
    assert_eq!(r.json()[1]["tag"], "beta");
    let r = env.kb(&["list", "--json", "--since", "2025-06-01"]).ok();
    assert_eq!(r.ids().len(), 2);
    assert!(!r.ids().contains(&"one/older".to_string()));
    let r = env.kb(&["list", "--since", "soon"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--since soon"), "{}", r.stderr);
}

#[test]
fn piped_search_is_one_tab_separated_line_per_hit() {
    let env = two_notes();
    let r = env.kb(&["search", "old error"]).ok();
    let first = r.stdout.lines().next().unwrap();
    assert_eq!(first, "one/older\tOlder note\tone/older.md");
    let r = env.kb(&["search", "--long", "old error"]).ok();
    assert!(
        r.stdout.starts_with("1. one/older  Older note\n"),
        "{}",
        r.stdout
    );
}

#[cfg(unix)]
#[test]
fn show_fix_copy_uses_a_clipboard_tool() {
    let env = two_notes();
    let bin = env.home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let clip = env.home.join("clipboard.txt");
    crate::env::write_script(
        &bin.join("xclip"),
        &format!("#!/bin/sh\ncat > '{}'\n", clip.display()),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = env
        .kb_env(
            &["show", "older", "--fix", "--copy"],
            &[("PATH", &path), ("DISPLAY", ":0")],
        )
        .ok();
    assert_eq!(r.stdout.trim(), "Old fix.");
    assert!(r.stderr.contains("clipboard (xclip)"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(clip).unwrap(), "Old fix.");
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let env = TestEnv::new();
    for (shell, needle) in [
        ("bash", "_clap_complete_kb()"),
        ("zsh", "#compdef kb"),
        ("fish", "complete --keep-order --exclusive --command kb"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[kb]"),
    ] {
        let r = env.kb(&["completions", shell]).ok();
        assert!(
            r.stdout.contains(needle),
            "{shell}: {}",
            &r.stdout[..200.min(r.stdout.len())]
        );
        // The shell asks kb itself (by its path) for commands, flags, ids and tags.
        assert!(r.stdout.contains("COMPLETE"), "{shell}");
    }
    let r = env.kb(&["man"]).ok();
    assert!(
        r.stdout.starts_with(".ie \\n(.g .ds Aq") || r.stdout.contains(".TH kb"),
        "{}",
        &r.stdout[..100]
    );
    assert!(r.stdout.contains("sync"));
}
