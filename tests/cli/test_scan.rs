use crate::env::{note, TestEnv};

#[test]
fn scan_groups_matching_lines_by_note() {
    let env = TestEnv::new();
    env.write(
        "disk.md",
        note(
            "Disk full",
            &[],
            &["write /var/lib/docker/tmp/x: no space left on device"],
            "Prune.",
        ),
    );
    env.write(
        "ssh.md",
        note(
            "SSH key refused",
            &[],
            &["Authentication refused: bad ownership or modes for directory /home/alice"],
            "chmod.",
        ),
    );
    let log = "\
Nov 23 10:00:01 host1 dockerd[812]: write /var/lib/docker/tmp/GetImageBlob1: no space left on device
Nov 23 10:00:02 host1 systemd[1]: Started Session 4 of user bob.
Nov 23 10:00:03 host1 sshd[9921]: Authentication refused: bad ownership or modes for directory /home/bob
Nov 23 10:00:04 host1 dockerd[812]: write /var/lib/docker/tmp/GetImageBlob2: no space left on device
Nov 23 10:00:05 host1 kernel: usb 1-1: new high-speed USB device number 3 using xhci_hcd
Nov 23 10:00:06 host1 dockerd[812]: write /var/lib/docker/tmp/GetImageBlob3: no space left on device
";
    std::fs::write(env.home.join("syslog"), log).unwrap();
    let r = env
        .kb(&["scan", "--json", env.home.join("syslog").to_str().unwrap()])
        .ok();
    let j = r.json();
    assert_eq!(j["lines"], 6);
    assert_eq!(j["matched"], 4);
    assert_eq!(j["unmatched"], 2);
    let notes = j["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["id"], "disk");
    assert_eq!(notes[0]["lines"], 3);
    assert_eq!(notes[0]["first_line"], 1);
    assert_eq!(notes[0]["last_line"], 6);
    assert!(notes[0]["sample"]
        .as_str()
        .unwrap()
        .contains("GetImageBlob1"));
    assert_eq!(notes[1]["id"], "ssh");
    let r = env.kb_stdin(&["scan"], log.as_bytes()).ok();
    assert!(
        r.stdout.contains("6 lines: 4 matched 2 notes, 2 unmatched"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("usb 1-1"),
        "unmatched lines are counted, not printed"
    );
    let r = env.kb_stdin(&["scan", "-"], b"nothing to see\nhere either\n");
    assert_eq!(r.code, 1);
}
