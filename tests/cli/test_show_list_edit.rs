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
    assert_eq!(j["fix"], "Old fix.");
    let r = env.kb(&["show", "newer"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("three/newer") && r.stderr.contains("two/newer"),
        "{}",
        r.stderr
    );
    let r = env.kb(&["show", "two/newer", "--json"]).ok();
    assert_eq!(r.json()["links"][0], "older");
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
    let r = env.kb_env(&["edit", "older"], &[("EDITOR", "true")]).ok();
    assert!(r.stderr.contains("unchanged"));
    assert_eq!(
        env.git(&["log", "-1", "--format=%s"]).trim(),
        "Edit note: Older note"
    );
}
