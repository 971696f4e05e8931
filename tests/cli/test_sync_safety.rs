//! Sync and clone never lose a line or trust a stranger: what a sync must keep (local work
//! that is not a note), what a repository from someone else must not make kb do (follow its
//! links, read or write outside the vault), secrets in unpushed history, the caller's
//! `GIT_DIR`, the person's git identity and configuration, and branches that do not meet.

use crate::env::{note, write_script, TestEnv};
use crate::test_sync::{git, Team};
use std::path::Path;

/// The teammate changes `rel` (any file) and pushes.
fn mate_commits(mate: &Path, rel: &str, content: &str) {
    let p = mate.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
    git(mate, &["add", "-A"]);
    git(mate, &["commit", "-qm", &format!("teammate: {rel}")]);
    git(mate, &["push", "-q", "origin", "HEAD:main"]);
}

// Item 2: work that is not a note is never overwritten.
#[test]
fn a_local_edit_of_a_tracked_script_is_kept_or_stops_the_sync() {
    let t = Team::new();
    let a = &t.a;
    a.write("tools/reset-spooler.ps1", "Stop-Service Spooler\n");
    git(&a.vault, &["add", "tools/reset-spooler.ps1"]);
    git(&a.vault, &["commit", "-qm", "script"]);
    a.kb(&["sync"]).ok();
    let mate = t.teammate();
    // Local edit of the script, not committed (kb commits only notes).
    a.write(
        "tools/reset-spooler.ps1",
        "Stop-Service Spooler -Force # local\n",
    );
    // The remote changes something else: the edit stays, as with git pull.
    mate_commits(&mate, "printing/other.md", &note("Other", &[], &[], "x"));
    a.kb(&["sync"]).ok();
    assert!(a.path("printing/other.md").is_file());
    assert_eq!(
        a.read("tools/reset-spooler.ps1"),
        "Stop-Service Spooler -Force # local\n"
    );
    // The remote changes the script too: the sync stops before changing anything, and says
    // which file and what to do.
    mate_commits(
        &mate,
        "tools/reset-spooler.ps1",
        "Restart-Service Spooler\n",
    );
    mate_commits(&mate, "printing/third.md", &note("Third", &[], &[], "x"));
    let head = a.git(&["rev-parse", "HEAD"]);
    let r = a.kb(&["sync"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("tools/reset-spooler.ps1"), "{}", r.stderr);
    assert!(r.stderr.contains("git stash"), "{}", r.stderr);
    assert_eq!(
        a.read("tools/reset-spooler.ps1"),
        "Stop-Service Spooler -Force # local\n"
    );
    assert!(
        !a.path("printing/third.md").exists(),
        "nothing of the merge is written"
    );
    assert_eq!(
        a.git(&["rev-parse", "HEAD"]),
        head,
        "the branch did not move"
    );
    // Once the person commits their edit, the sync goes on (their version and the
    // teammate's collide: both kept).
    git(&a.vault, &["commit", "-qam", "my script"]);
    a.kb(&["sync"]).ok();
    assert!(a.path("printing/third.md").is_file());
    assert_eq!(
        a.read("tools/reset-spooler.ps1"),
        "Stop-Service Spooler -Force # local\n"
    );
}

#[test]
fn an_untracked_file_in_the_way_of_an_incoming_one_stops_the_sync() {
    let t = Team::new();
    let a = &t.a;
    let mate = t.teammate();
    mate_commits(&mate, "images/topology.png", "incoming picture");
    a.write("images/topology.png", "my own picture");
    let r = a.kb(&["sync"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("images/topology.png"), "{}", r.stderr);
    assert_eq!(a.read("images/topology.png"), "my own picture");
}

#[test]
fn a_vault_inside_a_larger_repository_keeps_the_rest_of_the_work_tree() {
    let t = Team::new();
    let a = &t.a;
    // The repository holds a project; the vault is its `notes/` folder.
    a.write("README.txt", "project readme\n");
    git(&a.vault, &["add", "README.txt"]);
    git(&a.vault, &["commit", "-qm", "readme"]);
    a.kb(&["sync"]).ok();
    let inner = a.vault.join("notes");
    a.kb(&["init", inner.to_str().unwrap()]).ok();
    assert!(!inner.join(".git").exists(), "no nested repository");
    let mate = t.teammate();
    mate_commits(
        &mate,
        "notes/from-mate.md",
        &note("From mate", &[], &[], "x"),
    );
    a.write("README.txt", "project readme, edited\n");
    let r = a.kb_env(&["sync"], &[("KB_DIR", inner.to_str().unwrap())]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(inner.join("from-mate.md").is_file());
    assert_eq!(a.read("README.txt"), "project readme, edited\n");
    assert!(a.git(&["status", "--porcelain"]).contains("README.txt"));
}

// Item 3: a hostile repository.
fn hostile_remote(t: &Team, build: impl Fn(&Path)) {
    let mate = t.teammate();
    build(&mate);
    git(&mate, &["add", "-A"]);
    git(&mate, &["commit", "-qm", "hostile"]);
    git(&mate, &["push", "-q", "origin", "HEAD:main"]);
}

/// Every file below `dir` with its bytes (to see that nothing changed there).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.display().to_string(),
                    std::fs::read(&p).unwrap_or_default(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_hostile_repository_cannot_make_kb_read_or_write_outside_the_vault() {
    let t = Team::new();
    let outside = t.a.home.join("outside");
    std::fs::create_dir_all(outside.join("index")).unwrap();
    std::fs::write(outside.join("precious.txt"), "keep me").unwrap();
    std::fs::write(outside.join("index/meta.json"), "{}").unwrap();
    std::fs::write(
        outside.join("secret-env"),
        "AWS_TOKEN=tok-0123456789-outside",
    )
    .unwrap();
    let out = outside.clone();
    hostile_remote(&t, |mate| {
        std::os::unix::fs::symlink(&out, mate.join(".kb")).unwrap();
        std::os::unix::fs::symlink(out.join("secret-env"), mate.join("tmpl.md")).unwrap();
        std::os::unix::fs::symlink(&out, mate.join("inbox")).unwrap();
        std::os::unix::fs::symlink(out.join("secret-env"), mate.join("linked-note.md")).unwrap();
        std::fs::write(
            mate.join("kb.toml"),
            "template = \"tmpl.md\"\nfolder = \"inbox\"\n",
        )
        .unwrap();
    });
    let before = snapshot(&outside);
    // Clone: the links are named, none is followed.
    let b = TestEnv::empty();
    std::fs::remove_dir_all(&b.vault).unwrap();
    let r = b.kb(&[
        "clone",
        t.remote.to_str().unwrap(),
        b.vault.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("symbolic links") && r.stderr.contains(".kb"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&outside), before, "clone wrote outside the vault");
    // Search works (the index lives in the cache folder), the linked note is not a note.
    assert!(b
        .top("Print Spooler service terminated unexpectedly")
        .is_some());
    assert_eq!(b.kb(&["show", "linked-note"]).code, 2);
    // kb add: the template is not read through its link, the folder link is refused.
    let r = b.kb(&["add", "--title", "New", "--fix", "x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    let r = b.kb(&["add", "--title", "New", "--fix", "x", "--folder", "real"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("template") && r.stderr.contains("not usable"),
        "{}",
        r.stderr
    );
    let text = b.read("real/new.md");
    assert!(!text.contains("tok-0123456789"), "{text}");
    // Sync still works and sends nothing from outside.
    b.kb(&["sync"]).ok();
    assert_eq!(snapshot(&outside), before, "kb wrote outside the vault");
    let log = git(&b.vault, &["log", "-p", "--all"]);
    assert!(!log.contains("tok-0123456789"), "{log}");
}

#[test]
fn paths_in_kb_toml_cannot_leave_the_vault() {
    let env = TestEnv::new();
    std::fs::write(
        env.home.join("secret.md"),
        "AWS_TOKEN=tok-0123456789-outside",
    )
    .unwrap();
    for (template, folder) in [
        ("../secret.md", "../escaped"),
        ("/etc/passwd", "/tmp/kb-escaped"),
    ] {
        env.write(
            "kb.toml",
            format!("template = \"{template}\"\nfolder = \"{folder}\"\n"),
        );
        let r = env.kb(&["add", "--title", "Escape", "--fix", "x"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("would leave the vault"), "{}", r.stderr);
        assert!(!env.home.join("escaped").exists() && !Path::new("/tmp/kb-escaped").exists());
    }
    env.write("kb.toml", "template = \"../secret.md\"\n");
    let r = env.kb(&["add", "--title", "Escape", "--fix", "x"]).ok();
    assert!(r.stderr.contains("not usable"), "{}", r.stderr);
    assert!(!env.read("escape.md").contains("tok-0123456789"));
}

// Item 4: a private key removed later still blocks the push; the hint's commands work.
#[test]
fn a_private_key_in_an_unpushed_commit_blocks_the_push_until_the_history_is_rewritten() {
    let t = Team::new();
    let a = &t.a;
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    a.kb(&[
        "add",
        "--title",
        "Server key",
        "--error",
        "Permission denied (publickey)",
        "--fix",
        key,
        "--yes",
    ])
    .ok();
    let r = a.kb(&["sync"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // As the hint says: the key is removed from the note (by an editor), and synced again.
    let editor = a.home.join("remove-key");
    write_script(
        &editor,
        "#!/bin/sh\nsed -i '/PRIVATE KEY/d; /b3BlbnNzaC1rZXkt/d' \"$1\"\n",
    );
    a.kb_env(
        &["edit", "server-key"],
        &[("EDITOR", editor.to_str().unwrap())],
    )
    .ok();
    assert!(!a.read("server-key.md").contains("PRIVATE KEY"));
    let r = a.kb(&["sync"]);
    assert_eq!(
        r.code, 2,
        "the key is still in an unpushed commit: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("server-key.md holds a private key in a commit not yet pushed"),
        "{}",
        r.stderr
    );
    let remote_log = git(&t.remote, &["log", "--all", "-p"]);
    assert!(!remote_log.contains("PRIVATE KEY"));
    // The hint's commands, run as given.
    let hint = r
        .stderr
        .lines()
        .find(|l| l.contains("hint:"))
        .unwrap()
        .to_string();
    let cmds: Vec<String> = hint
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("git "))
        .map(str::to_string)
        .collect();
    assert_eq!(cmds.len(), 2, "{hint}");
    for c in &cmds {
        let o = crate::test_sync::git_command(&a.home)
            .arg("-c")
            .arg("core.editor=true")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(shell_words(c.trim_start_matches("git ")))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{c}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    a.kb(&["sync"]).ok();
    let remote_log = git(&t.remote, &["log", "--all", "-p"]);
    assert!(!remote_log.contains("PRIVATE KEY") && remote_log.contains("Server key"));
}

/// Split a command line as a POSIX shell would for single-quoted words.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for ch in s.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

// Item 5: GIT_DIR in the environment does not send the sync elsewhere.
#[test]
fn git_dir_and_friends_in_the_environment_are_not_followed() {
    let t = Team::new();
    let a = &t.a;
    let other = a.home.join("other");
    std::fs::create_dir_all(&other).unwrap();
    git(&other, &["init", "-q", "-b", "main"]);
    std::fs::write(other.join("x.txt"), "x").unwrap();
    git(&other, &["add", "-A"]);
    git(&other, &["commit", "-qm", "other"]);
    let other_remote = a.home.join("other-remote.git");
    git(
        &a.home,
        &["init", "-q", "--bare", other_remote.to_str().unwrap()],
    );
    git(
        &other,
        &["remote", "add", "origin", other_remote.to_str().unwrap()],
    );
    let other_head = git(&other, &["rev-parse", "HEAD"]);
    a.kb(&["add", "--title", "Written in a hook", "--fix", "x"])
        .ok();
    let gitdir = other.join(".git");
    let vars = [
        ("GIT_DIR", gitdir.to_str().unwrap()),
        ("GIT_WORK_TREE", other.to_str().unwrap()),
        (
            "GIT_INDEX_FILE",
            gitdir.join("index").to_str().unwrap().to_string().leak() as &str,
        ),
    ];
    let r = a.kb_env(&["sync"], &vars);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("out: 1 added"), "{}", r.stdout);
    assert_eq!(git(&other, &["rev-parse", "HEAD"]), other_head);
    assert!(git(
        &a.home,
        &["--git-dir", other_remote.to_str().unwrap(), "for-each-ref"]
    )
    .is_empty());
    assert!(
        git(&t.remote, &["log", "--all", "--format=%s"]).contains("Add note: Written in a hook")
    );
}

// Item 7: kb.toml is never a note.
#[test]
fn kb_toml_edited_by_hand_is_synced_but_never_becomes_a_note() {
    let t = Team::new();
    let a = &t.a;
    a.write("kb.toml", "default_tags = [\"helpdesk\"]\n");
    a.write("notes.txt", "not a note");
    let r = a.kb(&["sync"]).ok();
    assert!(r.stdout.contains("committed 1 "), "{}", r.stdout);
    let r = a.kb(&["worked", "kb.toml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = a.kb(&["worked", "kb"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(a.read("kb.toml"), "default_tags = [\"helpdesk\"]\n");
    let list = a.kb(&["list", "--json"]).ok().json();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["id"] != "kb.toml" && n["id"] != "kb"));
}

// Item 8: kb edit merges what was recorded while the editor was open; a collision is a draft.
#[test]
fn kb_edit_merges_outcomes_recorded_while_the_editor_was_open() {
    let env = TestEnv::new();
    env.write(
        "spooler.md",
        note(
            "Print spooler stops",
            &[],
            &["The spooler stopped."],
            "Clear the spool folder.",
        ),
    );
    env.kb(&["index"]).ok();
    let kb = crate::env::kb_bin();
    let editor = env.home.join("editor");
    // While the editor is open, a colleague's `kb worked` lands; then the editor saves its
    // buffer with the fix changed.
    write_script(
        &editor,
        &format!(
            "#!/bin/sh\nbuf=$(cat \"$1\")\n'{}' worked spooler --ticket INC-1 >/dev/null 2>&1 || exit 3\nprintf '%s\\n' \"$buf\" | sed 's/Clear the spool folder./Clear the spool folder, then restart the service./' > \"$1\"\n",
            kb.display()
        ),
    );
    let r = env
        .kb_env(
            &["edit", "spooler"],
            &[("EDITOR", editor.to_str().unwrap())],
        )
        .ok();
    assert!(r.stderr.contains("merged"), "{}", r.stderr);
    let text = env.read("spooler.md");
    assert!(text.contains("ticket: INC-1"), "{text}");
    assert!(text.contains("then restart the service"), "{text}");
    assert!(env.git(&["status", "--porcelain"]).trim().is_empty());
    // A real collision: the same line changed meanwhile. The note stays, the edit is a draft.
    let note_path = env.path("spooler.md");
    write_script(
        &editor,
        &format!(
            "#!/bin/sh\nsed -i 's/then restart the service/then reboot/' '{}'\nsed -i 's/then restart the service/then log off/' \"$1\"\n",
            note_path.display()
        ),
    );
    let r = env.kb_env(
        &["edit", "spooler"],
        &[("EDITOR", editor.to_str().unwrap())],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("your version is kept in"), "{}", r.stderr);
    assert!(env.read("spooler.md").contains("then reboot"));
    let draft = crate::env::kept_in(&r.stderr);
    assert!(std::fs::read_to_string(draft)
        .unwrap()
        .contains("then log off"));
}

// Item 10 and the first hour's item 1: branches that do not meet, clones that fail.
#[test]
fn a_clone_follows_the_remotes_only_branch_and_sync_refuses_a_second_one() {
    let a = TestEnv::new();
    let remote = crate::test_sync::bare_origin(&a, "r.git", "master");
    a.write("one.md", note("One note", &[], &["E_ONE"], "x"));
    a.kb(&["sync"]).ok();
    let b = TestEnv::empty();
    std::fs::remove_dir_all(&b.vault).unwrap();
    let r = b.kb(&["clone", remote.to_str().unwrap(), b.vault.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("'master'") && r.stderr.contains("'main'"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("cloned 1 note "), "{}", r.stderr);
    assert!(b.path("one.md").is_file());
    b.kb(&["add", "--title", "From B", "--fix", "x"]).ok();
    b.kb(&["sync"]).ok();
    let r = a.kb(&["sync"]).ok();
    assert!(r.stdout.contains("in:  1 added"), "{}", r.stdout);
    // A vault on another branch name: refused, never a second branch.
    let c = TestEnv::new();
    git(&c.vault, &["checkout", "-q", "-B", "master"]);
    git(
        &c.vault,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    c.write("c.md", note("From C", &[], &[], "x"));
    let r = c.kb(&["sync"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no branch 'master'") && r.stderr.contains("main"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("branch -m main"), "{}", r.stderr);
    let heads = git(
        &a.home,
        &[
            "--git-dir",
            remote.to_str().unwrap(),
            "for-each-ref",
            "--format=%(refname)",
        ],
    );
    assert_eq!(heads.trim(), "refs/heads/main");
    // The hint, followed: C's notes join the team's branch.
    git(&c.vault, &["branch", "-m", "main"]);
    c.kb(&["sync"]).ok();
    assert!(c.path("one.md").is_file());
    // Several branches and a HEAD naming none of them: refused, with the branches named.
    git(&a.vault, &["push", "-q", "origin", "main:dev"]);
    let d = TestEnv::empty();
    let r = d.kb(&[
        "clone",
        remote.to_str().unwrap(),
        d.home.join("d").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("dev") && r.stderr.contains("--branch"),
        "{}",
        r.stderr
    );
    assert!(!d.home.join("d").exists(), "a failed clone leaves nothing");
    d.kb(&[
        "clone",
        remote.to_str().unwrap(),
        d.home.join("d").to_str().unwrap(),
        "--branch",
        "main",
    ])
    .ok();
}

#[test]
fn a_clone_that_fails_removes_its_folder_and_says_nothing_of_local_notes() {
    let env = TestEnv::empty();
    let target = env.home.join("team");
    let r = env.kb(&[
        "clone",
        env.home.join("no-such.git").to_str().unwrap(),
        target.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(!target.exists(), "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot clone") && r.stderr.contains("nothing was created"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("committed locally"), "{}", r.stderr);
}

#[test]
fn a_remote_named_by_mistake_is_not_added() {
    let t = Team::new();
    let r = t.a.kb(&["sync", "--remote", "orgin"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("'orgin'") && r.stderr.contains("origin"),
        "{}",
        r.stderr
    );
    assert!(!t.a.git(&["remote"]).contains("orgin"));
}

// The first hour, item 2: no identity, no commit.
#[test]
fn without_a_git_identity_kb_refuses_as_git_does_and_writes_nothing() {
    let env = TestEnv::new();
    let mut c = env.command_without_identity();
    let o = c
        .args(["add", "--title", "Nobody", "--fix", "x"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("git does not know who you are"), "{stderr}");
    assert!(
        stderr.contains("git config --global user.email"),
        "{stderr}"
    );
    assert!(!env.path("nobody.md").exists());
    assert!(
        stderr.contains("kept in"),
        "the text is kept as a draft: {stderr}"
    );
    // A global configuration named by GIT_CONFIG_GLOBAL is the person's, for both backends.
    let cfg = env.home.join("gitconfig");
    std::fs::write(
        &cfg,
        "[user]\n\tname = Sam Support\n\temail = sam@example.com\n",
    )
    .unwrap();
    for backend in ["auto", "libgit2"] {
        let title = format!("Sam {backend}");
        let mut c = env.command_without_identity();
        let o = c
            .env("GIT_CONFIG_GLOBAL", &cfg)
            .env("KB_GIT", backend)
            .args(["add", "--title", &title, "--fix", "x"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let who = env.git(&["log", "-1", "--format=%an <%ae> / %cn"]);
        assert_eq!(
            who.trim(),
            "Sam Support <sam@example.com> / Sam Support",
            "{backend}"
        );
    }
}

#[test]
fn a_held_index_lock_is_one_sentence_with_a_hint_and_the_note_is_kept() {
    let env = TestEnv::new();
    env.kb(&["add", "--title", "Alpha", "--fix", "x"]).ok();
    let lock = env.vault.join(".git/index.lock");
    std::fs::write(&lock, "").unwrap();
    for backend in ["auto", "libgit2"] {
        let r = env
            .kb_env(
                &["worked", "alpha", "--ticket", backend],
                &[("KB_GIT", backend)],
            )
            .ok();
        assert_eq!(
            r.stderr.matches("index.lock").count(),
            2,
            "{backend}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains("another git process holds"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("hint: wait for that git command to finish"),
            "{}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("Another git process seems"),
            "{}",
            r.stderr
        );
        assert!(env.read("alpha.md").contains(&format!("ticket: {backend}")));
    }
    std::fs::remove_file(&lock).unwrap();
    let r = env.kb(&["sync"]);
    assert!(
        r.stderr.contains("no remote") || r.code == 2,
        "{}",
        r.stderr
    );
    assert!(
        env.git(&["status", "--porcelain"]).trim().is_empty(),
        "kb sync committed them"
    );
}
