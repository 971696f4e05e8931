//! Regression tests for "nothing a person types is ever lost, and kb touches only its vault":
//! one test per thing that broke, named after it. (The sync ones live in `test_sync.rs`.)

use crate::env::{all_succeed, kb_bin, note, write_script, Run, TestEnv};
use std::path::Path;
use std::process::{Command, Stdio};

fn git_in(dir: &Path, args: &[&str]) -> String {
    crate::env::git_as(dir, "Dev", args)
}

/// An executable script (an editor that writes `text` into the file it is given).
fn editor_writing(env: &TestEnv, text: &str) -> String {
    let body = env.home.join("typed.md");
    std::fs::write(&body, text).unwrap();
    let script = env.home.join("editor.sh");
    write_script(
        &script,
        &format!("#!/bin/sh\ncat '{}' > \"$1\"\n", body.display()),
    );
    script.display().to_string()
}

// 1
#[test]
fn init_with_dir_flag_initialises_that_folder_not_the_current_repository() {
    let env = TestEnv::empty();
    let project = env.home.join("project");
    std::fs::create_dir_all(&project).unwrap();
    git_in(&project, &["init", "-q"]);
    std::fs::write(project.join("main.c"), "int main() {}\n").unwrap();
    git_in(&project, &["add", "-A"]);
    git_in(&project, &["commit", "-qm", "code"]);
    let target = env.home.join("notes");
    let r = env.kb_finding_vault(&["--dir", target.to_str().unwrap(), "init"], &project);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(target.join("kb.toml").is_file(), "--dir was ignored");
    assert!(
        !project.join("kb.toml").exists(),
        "the project was made a vault"
    );
    assert_eq!(git_in(&project, &["log", "--oneline"]).lines().count(), 1);
    // KB_DIR names the folder too; two different folders are refused.
    let other = env.home.join("other");
    let r = env.kb_env(&["init"], &[("KB_DIR", other.to_str().unwrap())]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(other.join("kb.toml").is_file());
    let r = env.kb(&["--dir", "a", "init", "b"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("two folders given"), "{}", r.stderr);
}

// 2
#[test]
fn concurrent_links_to_one_note_lose_no_error() {
    let env = TestEnv::new();
    env.write(
        "shared.md",
        note("Shared", &[], &["Original failure"], "Fix it."),
    );
    env.git(&["add", "-A"]);
    env.kb(&["index"]);
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima",
    ];
    for round in ["north", "south", "east", "west", "centre"] {
        let children: Vec<_> = words
            .iter()
            .map(|w| {
                env.command()
                    .args([
                        "link",
                        &format!("Distinct {w} failure in the {round} wing"),
                        "shared",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        all_succeed(children);
        let text = env.read("shared.md");
        let missing: Vec<&&str> = words
            .iter()
            .filter(|w| !text.contains(&format!("Distinct {w} failure in the {round} wing")))
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: lost {missing:?}\n{text}"
        );
    }
    assert!(env.git(&["status", "--porcelain"]).trim().is_empty());
}

// 3
#[test]
fn a_note_typed_in_the_editor_is_kept_when_its_error_is_already_recorded() {
    let env = TestEnv::new();
    env.kb(&[
        "add",
        "--title",
        "Printer offline",
        "--error",
        "Error 0x00000709: the printer HP-4 is offline on port 9100",
        "--fix",
        "Restart the spooler.",
    ])
    .ok();
    let typed = "---\ntitle: Printer offline after the update\nerrors:\n  - \"Error 0x00000709: the printer HP-9 is offline on port 9100\"\n---\n\n# Printer offline after the update\n\n## Fix\n\nHours of work: reinstall the v4 driver from the vendor site.\n";
    let editor = editor_writing(&env, typed);
    let r = env.kb_env(&["add", "--edit"], &[("EDITOR", &editor)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let kept = r
        .stderr
        .split_whitespace()
        .find(|w| w.contains("drafts/draft-"))
        .unwrap_or_else(|| panic!("no draft path in: {}", r.stderr))
        .trim_end_matches([')', ',', ';', '`']);
    let text = std::fs::read_to_string(kept).unwrap();
    assert!(text.contains("Hours of work"), "{text}");
    // The hint adds it as it is.
    let r = env.kb_stdin(&["add", "--yes"], text.as_bytes()).ok();
    assert!(r.stdout.starts_with("printer-offline-after-the-update\t"));
    // The draft folder is not part of the vault's notes.
    assert!(env.git(&["status", "--porcelain"]).trim().is_empty());
}

// 4
#[test]
fn add_keeps_every_flag_given_with_text_on_stdin() {
    let env = TestEnv::new();
    std::fs::write(env.path("kb.toml"), "default_tags = [\"helpdesk\"]\n").unwrap();
    let r = env
        .kb_stdin(
            &[
                "add",
                "--title",
                "VPN drops",
                "--cause",
                "Idle timeout on the firewall.",
                "--fix",
                "Set keepalive to 30 s.",
            ],
            b"The VPN drops every ten minutes at the hotel.\n",
        )
        .ok();
    let text = env.read("vpn-drops.md");
    assert!(r.stdout.starts_with("vpn-drops\t"));
    for part in [
        "every ten minutes",
        "## Cause",
        "Idle timeout",
        "## Fix",
        "keepalive",
        "helpdesk",
    ] {
        assert!(text.contains(part), "{part} missing:\n{text}");
    }
    // Stdin with its own front matter: the flags are merged into it, not dropped.
    let whole = "---\ntags: [network]\nerrors:\n  - \"Error 809 from the VPN\"\nowner: dana\n---\n\nBody from stdin.\n";
    env.kb_stdin(
        &[
            "add",
            "--title",
            "L2TP blocked",
            "--tag",
            "vpn",
            "--error",
            "Error 789 from the VPN",
            "--fix",
            "Open UDP 500 and 4500.",
        ],
        whole.as_bytes(),
    )
    .ok();
    let text = env.read("l2tp-blocked.md");
    for part in [
        "title: \"L2TP blocked\"",
        "vpn",
        "network",
        "helpdesk",
        "Error 789",
        "Error 809",
        "owner: dana",
        "created: ",
        "Open UDP 500",
        "Body from stdin.",
    ] {
        assert!(text.contains(part), "{part} missing:\n{text}");
    }
    // A title on stdin and a different --title: an error, and the text is kept.
    let r = env.kb_stdin(
        &["add", "--title", "Other"],
        b"---\ntitle: Mine\n---\n\nText.\n",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("give one title") && r.stderr.contains("drafts/"));
}

// 5
#[test]
fn kb_writes_only_in_a_folder_that_is_a_vault() {
    let env = TestEnv::empty();
    env.write("old.md", note("Old note", &[], &["Legacy failure"], "x"));
    let r = env.kb(&["add", "--title", "New", "--fix", "x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a kb vault"), "{}", r.stderr);
    assert!(r.stderr.contains("kb init"), "{}", r.stderr);
    assert!(env.kb(&["link", "Legacy failure 2", "old"]).code == 2);
    assert!(env.kb(&["sync"]).code == 2);
    // Searching it works, and writes nothing into it.
    assert_eq!(env.top("Legacy failure").as_deref(), Some("old"));
    let entries: Vec<String> = std::fs::read_dir(&env.vault)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, vec!["old.md".to_string()]);
}

// 6
#[test]
fn the_link_command_add_suggests_records_the_whole_error() {
    let env = TestEnv::new();
    let first = "Outlook cannot connect: the connection to Microsoft Exchange is unavailable, Outlook must be online or connected to complete this action (profile Contoso)";
    env.kb(&[
        "add",
        "--title",
        "Exchange unavailable",
        "--error",
        first,
        "--fix",
        "x",
    ])
    .ok();
    let second = format!("{first} again");
    let r = env.kb(&["add", "--title", "Again", "--error", &second, "--fix", "y"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let start = r.stderr.find("`kb link ").expect("a suggested command") + 1;
    let end = start + r.stderr[start..].find('`').unwrap();
    let suggested = &r.stderr[start..end];
    assert!(suggested.contains("(profile Contoso) again"), "{suggested}");
    // Run through a real shell, as a person would paste it.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' {}",
            kb_bin().display(),
            suggested.trim_start_matches("kb ")
        ))
        .env("KB_DIR", &env.vault)
        .env("HOME", &env.home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test Tech")
        .env("GIT_AUTHOR_EMAIL", "tech@example.com")
        .env("GIT_COMMITTER_NAME", "Test Tech")
        .env("GIT_COMMITTER_EMAIL", "tech@example.com")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        env.read("exchange-unavailable.md").contains(&second),
        "{}",
        env.read("exchange-unavailable.md")
    );
}

// 8
#[test]
fn folder_names_windows_cannot_check_out_are_refused() {
    let env = TestEnv::new();
    for folder in ["CON", "printers.", "a/lpt1.txt", "x?y", "trailing "] {
        let r = env.kb(&["add", "--folder", folder, "--title", "T", "--fix", "x"]);
        assert_eq!(r.code, 2, "--folder {folder:?}: {}", r.stderr);
        assert!(r.stderr.contains("cannot be a folder name"), "{}", r.stderr);
    }
    let notes: Vec<_> = walk_md(&env.vault);
    assert!(notes.is_empty(), "{notes:?}");
    env.kb(&[
        "add",
        "--folder",
        "printers/hp",
        "--title",
        "T",
        "--fix",
        "x",
    ])
    .ok();
    assert!(env.path("printers/hp/t.md").is_file());
}

fn walk_md(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_md(&e.path()));
        } else if name.ends_with(".md") {
            out.push(e.path().display().to_string());
        }
    }
    out
}

// 9
#[test]
fn the_note_template_is_not_a_note_and_a_bad_template_path_only_warns() {
    let env = TestEnv::new();
    std::fs::write(env.path("kb.toml"), "template = \"templates/fix.md\"\n").unwrap();
    env.write(
        "templates/fix.md",
        "# {{title}}\n\n## Symptoms\n\n## Resolution\n",
    );
    env.write("real.md", note("Real", &[], &["Real failure"], "x"));
    env.kb(&["index"]);
    let list = env.kb(&["list", "--json"]).ok();
    let ids: Vec<String> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec!["real".to_string()]);
    assert_eq!(env.kb(&["search", "Symptoms Resolution"]).code, 1);
    env.kb(&["add", "--title", "From template", "--no-edit"])
        .ok();
    assert!(env.read("from-template.md").contains("## Symptoms"));
    // A template that is not there: a warning, and the built-in skeleton.
    std::fs::write(env.path("kb.toml"), "template = \"templates/gone.md\"\n").unwrap();
    let r = env
        .kb(&["add", "--title", "Without template", "--fix", "Do this."])
        .ok();
    assert!(r.stderr.contains("templates/gone.md"), "{}", r.stderr);
    assert!(env.read("without-template.md").contains("## Fix"));
}

// 11
#[test]
fn exit_statuses_mean_the_same_for_every_command() {
    let env = TestEnv::new();
    env.kb(&[
        "add",
        "--title",
        "Disk full",
        "--error",
        "No space left on device",
        "--fix",
        "Clean /var/log.",
    ])
    .ok();
    // A huge age is "everything", not a panic.
    let r = env.kb(&["list", "--since", "999999999999d"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("disk-full"));
    assert_eq!(
        env.kb(&["list", "--since", "99999999999999999999d"]).code,
        2
    );
    // Nothing changed: 1 for link and edit (nothing written); index and sync with nothing to
    // do succeed (0, as git pull and rsync: cron jobs and `set -e` scripts run them daily).
    assert_eq!(
        env.kb(&["link", "No space left on device", "disk-full"])
            .code,
        1
    );
    assert_eq!(
        env.kb_env(&["edit", "disk-full"], &[("EDITOR", "true")])
            .code,
        1
    );
    assert_eq!(env.kb(&["index"]).code, 0);
    let remote = env.home.join("remote.git");
    git_in(
        &env.home,
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    env.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    assert_eq!(env.kb(&["sync"]).code, 0, "the first sync pushes");
    assert_eq!(env.kb(&["sync"]).code, 0, "nothing to sync is success");
    // An empty query is an error, given as an argument or piped.
    assert_eq!(env.kb(&["search", ""]).code, 2);
    assert_eq!(env.kb_stdin(&["search"], b"  \n").code, 2);
    // Usage errors carry kb's prefix.
    let r = env.kb(&["list", "--no-such-flag"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("kb: error:"), "{}", r.stderr);
    // A folder given to scan is named.
    let r = env.kb(&["scan", env.home.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(&env.home.display().to_string()) && r.stderr.contains("is a folder"),
        "{}",
        r.stderr
    );
}

// 11: no panic reaches the person, whatever the arguments.
#[test]
fn random_argument_vectors_exit_0_1_or_2() {
    let env = TestEnv::new();
    env.kb(&[
        "add",
        "--title",
        "Seed",
        "--tag",
        "t",
        "--error",
        "Seed failure 0x80070005",
        "--fix",
        "x",
    ])
    .ok();
    let pool: &[&str] = &[
        "add",
        "search",
        "show",
        "edit",
        "list",
        "link",
        "scan",
        "index",
        "tags",
        "config",
        "man",
        "completions",
        "bash",
        "sync",
        "pick",
        "--json",
        "--limit",
        "-n",
        "0",
        "-1",
        "999999999999999999999",
        "--tag",
        "--since",
        "7d",
        "999999999999d",
        "--title",
        "--error",
        "--fix",
        "--folder",
        "CON",
        "../x",
        "/etc/passwd",
        "seed",
        "--",
        "-",
        "",
        "\u{202e}x",
        "--color",
        "always",
        "--dir",
        "nowhere",
        "--yes",
        "--no-edit",
        "--best",
        "--explain",
        "--long",
        "--plain",
        "--rebuild",
        "--threshold",
        "NaN",
        "-2",
        "1e309",
        "x:y",
        "a/b",
        "--copy",
        "--fix",
        "--redact",
        "-q",
        "--out",
        "Seed failure",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let vectors: Vec<Vec<String>> = (0..2000)
        .map(|_| {
            let n = 1 + (next() % 5) as usize;
            (0..n)
                .map(|_| pool[(next() % pool.len() as u64) as usize].to_string())
                .collect()
        })
        .collect();
    let chunks: Vec<&[Vec<String>]> = vectors.chunks(250).collect();
    std::thread::scope(|s| {
        for chunk in chunks {
            let env = &env;
            s.spawn(move || {
                for args in chunk {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    // `clone`, `sync` to a network, `--out` to real folders: not in the pool.
                    let r = env.kb_env(&args, &[("EDITOR", "true"), ("PAGER", "cat")]);
                    assert!(
                        (0..=2).contains(&r.code) && !r.stderr.contains("panicked"),
                        "kb {args:?} exited {}: {}",
                        r.code,
                        r.stderr
                    );
                }
            });
        }
    });
}

// 12
#[test]
fn add_succeeds_when_another_process_holds_the_index_too_long() {
    let env = TestEnv::new();
    env.write("n.md", note("Note", &[], &["a failure"], "x"));
    env.kb(&["index"]);
    let index = tantivy::Index::open_in_dir(env.path(".kb/index")).unwrap();
    let writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    let r = env.kb_env(
        &[
            "add",
            "--title",
            "Written while busy",
            "--error",
            "Busy failure 42",
            "--fix",
            "x",
        ],
        &[("KB_LOCK_WAIT", "1")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("not indexed yet"), "{}", r.stderr);
    assert!(env.path("written-while-busy.md").is_file());
    assert!(env
        .git(&["log", "-1", "--format=%s"])
        .contains("Written while busy"));
    // A search meanwhile answers from the index it has.
    let r = env.kb_env(&["search", "a failure"], &[("KB_LOCK_WAIT", "1")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    drop(writer);
    assert_eq!(
        env.top("Busy failure 43").as_deref(),
        Some("written-while-busy")
    );
    // Adding it again is refused as a duplicate: it was never lost.
    assert_eq!(
        env.kb(&[
            "add",
            "--title",
            "Again",
            "--error",
            "Busy failure 42",
            "--fix",
            "x"
        ])
        .code,
        2
    );
}

// 13
#[test]
fn search_answers_from_its_index_on_a_full_disk() {
    let env = TestEnv::empty();
    let mnt = env.home.join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a small tmpfs here (needs root)");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(&mnt);
    let vault = mnt.join("vault");
    let run = |args: &[&str]| -> Run {
        let o = env
            .command()
            .env("KB_DIR", &vault)
            .args(args)
            .output()
            .unwrap();
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    };
    assert_eq!(run(&["init", vault.to_str().unwrap()]).code, 0);
    std::fs::write(
        vault.join("spooler.md"),
        note(
            "Spooler",
            &[],
            &["The print spooler stopped"],
            "Restart it.",
        ),
    )
    .unwrap();
    assert_eq!(run(&["index"]).code, 0);
    // A new note arrives, then the disk fills up.
    std::fs::write(
        vault.join("later.md"),
        note("Later", &[], &["Another failure"], "x"),
    )
    .unwrap();
    let mut fill = std::fs::File::create(mnt.join("filler")).unwrap();
    let block = vec![0u8; 64 * 1024];
    while std::io::Write::write_all(&mut fill, &block).is_ok() {}
    let _ = fill.sync_all();
    let r = run(&["search", "--json", "The print spooler stopped"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.ids()[0], "spooler");
    assert!(r.stderr.contains("could not be updated"), "{}", r.stderr);
}

// 14
#[test]
fn copy_inside_tmux_puts_the_fix_in_tmux_and_says_where() {
    let env = TestEnv::new();
    env.write(
        "n.md",
        note("Note", &[], &["a failure"], "Run the magic command."),
    );
    let socket = format!("kbclip-{}", std::process::id());
    let done = env.home.join("done");
    let err = env.home.join("err");
    // No graphical clipboard: only tmux can take the text.
    let script = format!(
        "env -i TMUX=\"$TMUX\" HOME='{}' PATH='{}' KB_DIR='{}' GIT_CONFIG_GLOBAL=/dev/null '{}' show n --fix --copy > /dev/null 2> '{}'; echo $? > '{}'; sleep 30",
        env.home.display(),
        std::env::var("PATH").unwrap_or_default(),
        env.vault.display(),
        kb_bin().display(),
        err.display(),
        done.display()
    );
    let ok = Command::new("tmux")
        .args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            &script,
        ])
        .status()
        .expect("tmux must be installed");
    assert!(ok.success());
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["-L", &self.0, "kill-server"])
                .status();
        }
    }
    let _kill = Kill(socket.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done.exists() {
        assert!(std::time::Instant::now() < deadline, "kb never finished");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(std::fs::read_to_string(&done).unwrap().trim(), "0");
    let said = std::fs::read_to_string(&err).unwrap();
    assert!(said.contains("tmux's paste buffer"), "{said}");
    let buffer = Command::new("tmux")
        .args(["-L", &socket, "show-buffer"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buffer.stdout).contains("Run the magic command."),
        "the buffer holds: {}",
        String::from_utf8_lossy(&buffer.stdout)
    );
}

// 16
#[test]
fn color_always_colours_piped_search_output() {
    let env = TestEnv::new();
    env.write("n.md", note("Note", &[], &["a failure"], "x"));
    let r = env.kb(&["search", "--color", "always", "a failure"]).ok();
    assert!(r.stdout.contains("\x1b["), "{:?}", r.stdout);
    let r = env.kb(&["search", "a failure"]).ok();
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
}

// 17
#[test]
fn every_man_page_kb_refers_to_exists() {
    let env = TestEnv::new();
    let dir = env.home.join("man1");
    env.kb(&["man", "--out", dir.to_str().unwrap()]).ok();
    let pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(pages.contains(&"kb.1".to_string()));
    let mut refs = 0;
    for page in &pages {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        for part in text.split("kb\\-").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if part[name.len()..].starts_with("(1)") {
                refs += 1;
                assert!(
                    pages.contains(&format!("kb-{name}.1")),
                    "{page} refers to kb-{name}(1), which is not written"
                );
            }
        }
    }
    assert!(refs >= 10, "only {refs} references");
    let r = env.kb(&["man", "search"]).ok();
    assert!(r.stdout.contains(".TH kb-search"), "{}", r.stdout);
    assert_eq!(env.kb(&["man", "nosuch"]).code, 2);
}

// 18
#[test]
fn completion_offers_note_ids_and_tags() {
    let env = TestEnv::new();
    env.kb(&[
        "add",
        "--title",
        "Printer offline",
        "--tag",
        "printing",
        "--error",
        "Printer offline 0x709",
        "--fix",
        "x",
    ])
    .ok();
    env.kb(&[
        "add",
        "--folder",
        "windows",
        "--title",
        "Profile broken",
        "--tag",
        "profiles",
        "--fix",
        "x",
    ])
    .ok();
    let script = env.kb(&["completions", "bash"]).ok().stdout;
    let complete = |words: &str, cword: usize| -> String {
        let cmd = format!(
            "{script}\nCOMP_WORDS=({words}); COMP_CWORD={cword}; COMP_TYPE=9; _clap_complete_kb kb \"${{COMP_WORDS[$COMP_CWORD]}}\" kb; echo \"${{COMPREPLY[@]}}\""
        );
        let o = Command::new("bash")
            .arg("-c")
            .arg(cmd)
            .env("KB_DIR", &env.vault)
            .env("HOME", &env.home)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(complete("kb show pri", 2), "printer-offline");
    assert_eq!(complete("kb show win", 2), "windows/profile-broken");
    assert_eq!(complete("kb show prof", 2), "profile-broken");
    assert_eq!(complete("kb search --tag pr", 3), "printing profiles");
    let mut cmds: Vec<String> = complete("kb li", 1)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    cmds.sort();
    assert_eq!(cmds, ["link", "list"]);
}
