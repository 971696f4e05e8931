//! The interactive picker, driven for real in tmux (send-keys, capture-pane).

use crate::env::{note, TestEnv};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    /// Start `kb pick` in a detached 120x30 tmux session with this environment.
    fn start(env: &TestEnv, extra: &[(&str, &str)], done: &Path) -> Tmux {
        Tmux::run(env, &["pick"], extra, done)
    }

    /// Start `kb ARGS` in a detached 120x30 tmux session; `done` gets its exit status.
    fn run(env: &TestEnv, args: &[&str], extra: &[(&str, &str)], done: &Path) -> Tmux {
        let socket = format!(
            "kbtest-{}-{}",
            std::process::id(),
            done.file_name().unwrap().to_string_lossy()
        );
        let mut vars = vec![
            format!("HOME={}", env.home.display()),
            format!("PATH={}", std::env::var("PATH").unwrap_or_default()),
            "TERM=xterm-256color".into(),
            "GIT_CONFIG_GLOBAL=/dev/null".into(),
            "GIT_AUTHOR_NAME=Picker".into(),
            "GIT_AUTHOR_EMAIL=pick@example.com".into(),
            "GIT_COMMITTER_NAME=Picker".into(),
            "GIT_COMMITTER_EMAIL=pick@example.com".into(),
        ];
        // KB_DIR is the test's vault unless `extra` sets it; set empty, it is left out (the
        // configured vaults, found from HOME).
        if !extra.iter().any(|(k, _)| *k == "KB_DIR") {
            vars.push(format!("KB_DIR={}", env.vault.display()));
        }
        vars.extend(
            extra
                .iter()
                .filter(|(k, v)| !(*k == "KB_DIR" && v.is_empty()))
                .map(|(k, v)| format!("{k}={v}")),
        );
        let quote = |items: Vec<String>| {
            items
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let script = format!(
            "cd '{}' && env -i {} '{}' {}; echo \"exit=$?\" > '{}'; sleep 30",
            env.home.display(),
            quote(vars),
            crate::env::kb_bin().display(),
            quote(args.iter().map(|a| a.to_string()).collect()),
            done.display()
        );
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "30",
                &script,
            ])
            .status()
            .expect("tmux must be installed (Debian: apt-get install tmux)");
        assert!(ok.success());
        Tmux { socket }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["-L", self.socket.as_str(), "send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
    }

    fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Wait until the screen shows `text`; the screen then.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "never showed {text:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn wait_file(p: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !p.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(100));
    std::fs::read_to_string(p).unwrap()
}

fn vault() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        "printing/spooler.md",
        note(
            "Print spooler stops",
            &["printing"],
            &["The Print Spooler service terminated unexpectedly."],
            "1. Clear the spool folder.\n2. Restart the spooler.",
        ),
    );
    env.write("network/vpn.md", note("VPN error 809", &["vpn"], &["The network connection between your computer and the VPN server could not be established. Error 809"], "Allow NAT-T."));
    env.kb(&["index"]).ok();
    env
}

#[test]
fn results_and_the_fix_preview_follow_the_typing() {
    let env = vault();
    let done = env.home.join("done-preview");
    let t = Tmux::start(&env, &[], &done);
    t.wait_for("Esc quit");
    t.keys(&["spooler terminated"]);
    t.wait_for("> spooler terminated ");
    let s = t.wait_for("printing/spooler");
    assert!(s.contains("Clear the spool folder"), "{s}");
    t.keys(&["C-u"]);
    t.keys(&["VPN server could not be established 809"]);
    t.wait_for("> VPN server could not be established 809 ");
    let s = t.wait_for("Allow NAT-T");
    assert!(s.contains("▶ network/vpn"), "{s}");
    assert!(!s.contains("Clear the spool folder"), "{s}");
    t.keys(&["Escape"]);
    assert_eq!(wait_file(&done).trim(), "exit=1");
}

#[test]
fn ctrl_l_links_the_typed_error_and_enter_opens_the_editor() {
    let env = vault();
    let done = env.home.join("done-link");
    let t = Tmux::start(&env, &[], &done);
    t.wait_for("Esc quit");
    t.keys(&["Print Spooler service terminated after KB5034441 on PRN-07"]);
    t.wait_for("> Print Spooler service terminated after KB5034441 on PRN-07 ");
    t.wait_for("▶ printing/spooler");
    t.keys(&["C-l"]);
    assert_eq!(wait_file(&done).trim(), "exit=0");
    let text = env.read("printing/spooler.md");
    assert!(
        text.contains("  - \"Print Spooler service terminated after KB5034441 on PRN-07\""),
        "{text}"
    );
    drop(t);

    let done = env.home.join("done-open");
    let editor = env.home.join("editor.sh");
    crate::env::write_script(
        &editor,
        "#!/bin/sh\necho 'Opened from the picker.' >> \"$1\"\n",
    );
    let t = Tmux::start(&env, &[("EDITOR", editor.to_str().unwrap())], &done);
    t.wait_for("Esc quit");
    t.keys(&["error 809 vpn"]);
    t.wait_for("> error 809 vpn ");
    t.wait_for("▶ network/vpn");
    t.keys(&["Enter"]);
    assert_eq!(wait_file(&done).trim(), "exit=0");
    assert!(env
        .read("network/vpn.md")
        .ends_with("Opened from the picker.\n"));
    assert_eq!(
        env.git(&["log", "-1", "--format=%s"]).trim(),
        "Edit note: VPN error 809"
    );
}

#[test]
fn ctrl_w_and_ctrl_f_record_that_the_fix_worked_or_failed() {
    let env = vault();
    for (key, result) in [("C-w", "worked"), ("C-f", "failed")] {
        let done = env.home.join(format!("done-{result}"));
        let t = Tmux::start(&env, &[], &done);
        t.wait_for("Esc quit");
        t.keys(&["error 809 vpn"]);
        t.wait_for("> error 809 vpn ");
        t.wait_for("▶ network/vpn");
        t.keys(&[key]);
        assert_eq!(wait_file(&done).trim(), "exit=0");
        drop(t);
        let text = env.read("network/vpn.md");
        assert!(
            text.lines()
                .any(|l| l.starts_with("  - \"") && l.contains(&format!("Z {result}"))),
            "{text}"
        );
    }
    let log = env.git(&["log", "-2", "--format=%s"]);
    assert_eq!(log.trim(), "Failed: network/vpn\nWorked: network/vpn");
    let hit = &env.kb(&["search", "--json", "error 809 vpn"]).ok().json()[0];
    assert_eq!(
        (hit["worked"].as_u64(), hit["failed"].as_u64()),
        (Some(1), Some(1)),
        "{hit}"
    );
}

#[test]
fn the_picker_refuses_to_run_off_a_terminal() {
    let env = vault();
    let r = env.kb(&["pick", "x"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("needs a terminal"), "{}", r.stderr);
}

#[test]
fn long_work_shows_progress_on_a_terminal_only() {
    let env = TestEnv::new();
    let filler =
        "The customer saw the error again after the update and the helpdesk escalated it. "
            .repeat(40);
    for i in 0..50_000 {
        env.write(
            &format!("bulk/{}/n{i}.md", i % 20),
            format!("# Bulk note {i}\n\n{filler}\n"),
        );
    }
    let done = env.home.join("done-progress");
    let t = Tmux::run(&env, &["index", "--rebuild"], &[], &done);
    let s = t.wait_for("kb: indexing notes");
    assert!(s.contains("/50000"), "{s}");
    assert_eq!(wait_file(&done).trim(), "exit=0");
    // Piped, the same work prints no progress.
    let r = env.kb(&["index", "--rebuild"]).ok();
    assert!(!r.stderr.contains("indexing notes"), "{}", r.stderr);
}

#[test]
fn show_on_a_terminal_pages_the_note_with_its_links() {
    let env = vault();
    env.write(
        "printing/driver.md",
        note("Printer driver", &[], &["driver crash"], "See [[spooler]]."),
    );
    env.kb(&["index"]).ok();
    let paged = env.home.join("paged.txt");
    let pager = env.home.join("pager.sh");
    crate::env::write_script(&pager, &format!("#!/bin/sh\ncat > '{}'\n", paged.display()));
    let done = env.home.join("done-show");
    let _t = Tmux::run(
        &env,
        &["show", "spooler"],
        &[("PAGER", pager.to_str().unwrap())],
        &done,
    );
    assert_eq!(wait_file(&done).trim(), "exit=0");
    let text = std::fs::read_to_string(&paged).unwrap();
    assert!(
        text.starts_with("---\ntitle: \"Print spooler stops\""),
        "{text}"
    );
    assert!(
        text.contains("Linked from:") && text.contains("printing/driver"),
        "{text}"
    );
}

#[test]
fn search_i_hands_its_tags_and_limit_to_the_picker() {
    let env = vault();
    for i in 0..4 {
        env.write(
            &format!("network/vpn-{i}.md"),
            note(
                &format!("VPN error {i}"),
                &["vpn"],
                &[&format!("VPN error {i} while connecting")],
                "Reconnect.",
            ),
        );
    }
    env.kb(&["index"]).ok();
    // The query names both notes' words; --tag printing keeps the spooler only.
    let done = env.home.join("done-search-i");
    let t = Tmux::run(
        &env,
        &["search", "-i", "--tag", "printing", "spooler error vpn"],
        &[],
        &done,
    );
    let s = t.wait_for("printing/spooler");
    assert!(!s.contains("network/vpn"), "{s}");
    t.keys(&["Escape"]);
    assert_eq!(wait_file(&done).trim(), "exit=1");
    drop(t);
    // --limit 2: two results of the five VPN notes.
    let done = env.home.join("done-search-n");
    let t = Tmux::run(&env, &["search", "-i", "-n", "2", "vpn error"], &[], &done);
    let s = t.wait_for("network/vpn");
    let s = if s.contains(" notes") {
        s
    } else {
        t.wait_for(" notes")
    };
    assert!(s.contains("  2 notes"), "{s}");
    t.keys(&["Escape"]);
    assert_eq!(wait_file(&done).trim(), "exit=1");
}

#[test]
fn the_picker_searches_every_vault_and_writes_to_the_picked_notes_own() {
    let t = crate::test_vaults::Three::new();
    std::fs::write(
        t.dir("team/kerberos.md"),
        note(
            "Kerberos ticket expired",
            &["auth"],
            &["KRB_AP_ERR_TKT_EXPIRED: ticket expired"],
            "Sync the clock with the domain controller.",
        ),
    )
    .unwrap();
    let personal_log = t.git_log("kb");
    // Pick with no KB_DIR (the configured vaults): type, wait for the labelled hit, Ctrl-W;
    // the exit line and the screen then.
    let pick_worked = |name: &str, typed: &str, shown: &str| {
        let done = t.env.home.join(name);
        let tmux = Tmux::run(&t.env, &["pick"], &[("KB_DIR", "")], &done);
        tmux.wait_for("Esc quit");
        tmux.keys(&[typed]);
        tmux.wait_for(shown);
        tmux.keys(&["C-w"]);
        let status = wait_file(&done);
        (status.trim().to_string(), tmux.screen())
    };
    // A note of the team vault: labelled, and the outcome goes to the team vault.
    let (status, screen) = pick_worked("done-team", "kerberos ticket expired", "▶ team:kerberos");
    assert_eq!(status, "exit=0", "{screen}");
    let text = std::fs::read_to_string(t.dir("team/kerberos.md")).unwrap();
    assert!(text.contains("Z worked"), "{text}");
    assert_eq!(t.git_log("team").lines().next(), Some("Worked: kerberos"));
    assert_eq!(t.git_log("kb"), personal_log);
    // A note of the read-only vendor vault: shown, but nothing is written to it.
    let before = std::fs::read(t.dir("vendor/fuser.md")).unwrap();
    let (status, screen) = pick_worked("done-vendor", "fuser failure 0x4A", "▶ vendor:fuser");
    assert_ne!(status, "exit=0", "{screen}");
    assert!(
        screen.contains("read-only") && screen.contains("vendor"),
        "{screen}"
    );
    assert_eq!(std::fs::read(t.dir("vendor/fuser.md")).unwrap(), before);
}
