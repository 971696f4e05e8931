use crate::env::TestEnv;

const NOTE: &str = "---\r\ntitle: \"SMB share\"   # comment kept\r\ntags: [windows]\r\nerrors:\r\n  - \"Windows cannot access \\\\\\\\FS01\\\\Share. Error code: 0x80070035.\"\r\nticket: {id: 42, by: \"ana\"}\r\ncreated: 2026-01-01T00:00:00Z\r\n---\r\n\r\n# SMB share\r\n\r\n## Fix\r\n\r\nSet network to Private. ünïcödé ✓\r\n";

#[test]
fn link_appends_the_error_and_changes_nothing_else() {
    let env = TestEnv::new();
    env.write("smb.md", NOTE);
    let new_error = "System error 53 has occurred. The network path was not found.";
    let r = env.kb(&["link", new_error, "smb"]).ok();
    assert!(r.stdout.starts_with("smb\t"));
    let after = env.read("smb.md");
    let (before_head, before_tail) = NOTE.split_once("ticket:").unwrap();
    assert!(
        after.starts_with(&format!("{before_head}  - \"{new_error}\"\r\nticket:")),
        "{after}"
    );
    assert!(after.contains("\r\nupdated: 20"), "{after}");
    let rest_after = after.split_once("ticket:").unwrap().1;
    let without_updated: String = rest_after
        .lines()
        .filter(|l| !l.starts_with("updated:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let expected: String = before_tail.lines().map(|l| format!("{l}\n")).collect();
    assert_eq!(without_updated, expected);
    assert_eq!(
        env.top("System error 53 has occurred. The network path was not found.")
            .as_deref(),
        Some("smb")
    );
    assert!(env
        .git(&["log", "-1", "--format=%s"])
        .starts_with("Link error to smb: System error 53"));
}

#[test]
fn the_same_error_with_other_variable_parts_is_not_added_twice() {
    let env = TestEnv::new();
    env.write("smb.md", NOTE);
    let r = env.kb(&[
        "link",
        "Windows cannot access \\\\NAS2\\scans. Error code: 0x80070035.",
        "smb",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("already holds this error"),
        "{}",
        r.stderr
    );
    assert_eq!(env.read("smb.md"), NOTE);
}

#[test]
fn link_without_a_note_needs_best_off_a_terminal() {
    let env = TestEnv::new();
    env.write("smb.md", NOTE);
    env.write("other.md", "# Other\n\nprinter jam\n");
    let r = env.kb(&["link", "Error code: 0x80070035 on NAS3"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--best"), "{}", r.stderr);
    let r = env
        .kb(&[
            "link",
            "--best",
            "Error code: 0x80070035 from the NAS on floor 3 after reboot",
        ])
        .ok();
    assert!(r.stdout.starts_with("smb\t"));
    assert!(env.read("smb.md").contains("from the NAS on floor 3"));
}

#[test]
fn link_reads_the_error_from_stdin_and_adds_front_matter_when_missing() {
    let env = TestEnv::new();
    env.write("plain.md", "# Plain note\n\nbody\n");
    env.kb_stdin(
        &["link", "-", "plain"],
        b"E: Unable to locate package foo\n",
    )
    .ok();
    let text = env.read("plain.md");
    assert!(
        text.starts_with("---\nerrors:\n  - \"E: Unable to locate package foo\"\nupdated: "),
        "{text}"
    );
    assert!(text.ends_with("---\n# Plain note\n\nbody\n"), "{text}");
}

#[test]
fn link_refuses_front_matter_it_cannot_edit_safely() {
    let env = TestEnv::new();
    let broken = "---\ntitle: [oops\n---\nbody\n";
    env.write("broken.md", broken);
    let r = env.kb(&["link", "some error", "broken"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("cannot edit the front matter"),
        "{}",
        r.stderr
    );
    assert_eq!(env.read("broken.md"), broken);
}
