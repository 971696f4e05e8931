//! Several vaults named in the configuration: searched together with one ranking, each hit
//! labelled; `--vault` restricts; writes go to `default_vault` (or `--vault`, or an id's
//! `NAME:` prefix) and never to a read-only vault; `kb sync` syncs each; a missing vault is
//! reported and the others are still searched; `--dir` and `KB_DIR` still mean one vault.

use crate::env::{note, Run, TestEnv};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A HOME with three vaults: `personal` (~/kb, the default), `team` (~/team) and `vendor`
/// (~/vendor, read-only, a plain folder of markdown), named in config.toml.
pub(crate) struct Three {
    pub env: TestEnv,
}

impl Three {
    pub fn new() -> Three {
        let env = TestEnv::empty();
        for v in ["kb", "team"] {
            env.kb(&["init", env.home.join(v).to_str().unwrap()]).ok();
        }
        let vendor = env.home.join("vendor");
        std::fs::create_dir_all(&vendor).unwrap();
        std::fs::write(
            vendor.join("fuser.md"),
            note(
                "Printer error 0x4A: fuser failure",
                &["printing"],
                &["Printer error 0x4A: fuser failure"],
                "Replace the fuser unit.",
            ),
        )
        .unwrap();
        let config = env.home.join(".config/kb");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("config.toml"),
            "default_vault = \"personal\"\n\
             [vaults.personal]\npath = \"~/kb\"\n\
             [vaults.team]\npath = \"~/team\"\n\
             [vaults.vendor]\npath = \"~/vendor\"\nread_only = true\n",
        )
        .unwrap();
        Three { env }
    }

    /// kb without KB_DIR, from HOME (no enclosing vault): the configured vaults.
    pub fn kb(&self, args: &[&str]) -> Run {
        self.env.kb_finding_vault(args, &self.env.home)
    }

    pub fn dir(&self, v: &str) -> PathBuf {
        self.env.home.join(v)
    }

    /// The subjects of vault `v`'s commits, newest first.
    pub fn git_log(&self, v: &str) -> String {
        git_log(&self.dir(v))
    }
}

fn git_log(dir: &Path) -> String {
    let o = Command::new("git")
        .args(["log", "--format=%s"])
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn one_search_over_three_vaults_labels_each_hit_and_writes_go_where_they_should() {
    let t = Three::new();
    // Writes: the default vault, then --vault team; never the read-only vendor vault.
    t.kb(&[
        "add",
        "--title",
        "Printer jams on tray 2",
        "--error",
        "Printer error 0x4A: paper jam in tray 2",
        "--fix",
        "Open tray 2.",
    ])
    .ok();
    t.kb(&[
        "--vault",
        "team",
        "add",
        "--title",
        "Printer offline after the driver update",
        "--error",
        "Printer offline after update",
        "--fix",
        "Reinstall the driver.",
    ])
    .ok();
    assert!(t.dir("kb/printer-jams-on-tray-2.md").is_file());
    assert!(t
        .dir("team/printer-offline-after-the-driver-update.md")
        .is_file());
    assert!(git_log(&t.dir("team")).contains("Add note: Printer offline"));
    let r = t.kb(&["--vault", "vendor", "add", "--title", "Nope", "--fix", "x"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(t.dir("vendor")).unwrap().count(), 1);
    // One search, one ranking over all three, each hit with its vault.
    let hits = t
        .kb(&[
            "search",
            "--json",
            "--",
            "Printer error 0x4A: fuser failure",
        ])
        .ok()
        .json();
    let hits = hits.as_array().unwrap();
    assert_eq!(hits[0]["vault"], "vendor", "{hits:?}");
    assert_eq!(hits[0]["id"], "fuser");
    let vaults: Vec<&str> = hits.iter().map(|h| h["vault"].as_str().unwrap()).collect();
    assert!(
        vaults.contains(&"personal") && vaults.contains(&"team"),
        "{vaults:?}"
    );
    // On a terminal-less pipe the id carries the vault, and show takes it as it is.
    let plain = t.kb(&["search", "--", "printer offline driver"]).ok();
    let first = plain
        .stdout
        .lines()
        .next()
        .unwrap()
        .split('\t')
        .next()
        .unwrap();
    assert_eq!(first, "team:printer-offline-after-the-driver-update");
    let shown = t.kb(&["show", first]).ok();
    assert!(
        shown.stdout.contains("Reinstall the driver."),
        "{}",
        shown.stdout
    );
    // Without a prefix, show finds a note in whichever vault has it.
    assert!(t
        .kb(&["show", "fuser"])
        .ok()
        .stdout
        .contains("Replace the fuser"));
    // --vault restricts the search.
    let only = t
        .kb(&["--vault", "team", "search", "--json", "--", "printer"])
        .ok()
        .json();
    assert!(
        only.as_array()
            .unwrap()
            .iter()
            .all(|h| h["vault"] == "team"),
        "{only}"
    );
    // An outcome on a note of the team vault, by its prefixed id: committed there.
    t.kb(&[
        "worked",
        "team:printer-offline-after-the-driver-update",
        "--minutes",
        "5",
    ])
    .ok();
    assert!(git_log(&t.dir("team")).contains("Worked: printer-offline-after-the-driver-update"));
    assert!(!git_log(&t.dir("kb")).contains("Worked:"));
    // list and tags cover every vault.
    let list = t.kb(&["list"]).ok();
    for id in [
        "personal:printer-jams-on-tray-2",
        "team:printer-offline",
        "vendor:fuser",
    ] {
        assert!(list.stdout.contains(id), "{id}: {}", list.stdout);
    }
    let tags = t.kb(&["tags", "--json"]).ok().json();
    assert!(
        tags.as_array()
            .unwrap()
            .iter()
            .any(|t| t["tag"] == "printing"),
        "{tags}"
    );
    // An unknown --vault is one clear error.
    let r = t.kb(&["--vault", "nope", "search", "printer"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("named: personal, team, vendor"),
        "{}",
        r.stderr
    );
}

#[test]
fn scores_do_not_depend_on_which_vault_holds_a_note() {
    let t = Three::new();
    // The same note in two vaults of different sizes scores the same in both, and a better
    // match in the smaller vault outranks a weaker one in the larger.
    let text = note(
        "Outlook keeps asking for the password",
        &["email"],
        &["Outlook is trying to connect to the server: password prompt loops"],
        "Remove the cached credentials in Credential Manager.",
    );
    std::fs::write(t.dir("kb/outlook.md"), &text).unwrap();
    std::fs::write(t.dir("team/outlook.md"), &text).unwrap();
    for i in 0..30 {
        std::fs::write(
            t.dir(&format!("kb/filler-{i}.md")),
            format!(
                "# Filler {i}\n\nPrinter tray {i} jams; the password of the printer admin page.\n"
            ),
        )
        .unwrap();
    }
    let hits = t
        .kb(&[
            "search",
            "--json",
            "--limit",
            "5",
            "--",
            "outlook password prompt loops",
        ])
        .ok()
        .json();
    let hits = hits.as_array().unwrap();
    let (a, b) = (&hits[0], &hits[1]);
    assert_eq!(a["id"], "outlook", "{hits:?}");
    assert_eq!(b["id"], "outlook", "{hits:?}");
    assert_eq!(a["score"], b["score"], "{hits:?}");
}

#[test]
fn a_word_one_vault_knows_is_not_corrected_in_another() {
    let t = Three::new();
    std::fs::write(
        t.dir("team/kerberoast.md"),
        "# Kerberoasting alert on the domain controller\n\nA kerberoast attempt: rotate the service account password.\n",
    )
    .unwrap();
    std::fs::write(
        t.dir("kb/kerberos.md"),
        "# Kerberos ticket expired\n\nkerberos clock skew: sync the time with the domain controller.\n",
    )
    .unwrap();
    let r = t
        .kb(&["search", "--json", "--explain", "--", "kerberoast"])
        .ok()
        .json();
    let hits = r.as_array().unwrap();
    assert_eq!(hits[0]["id"], "kerberoast", "{hits:?}");
    assert_eq!(hits[0]["vault"], "team", "{hits:?}");
    // Known to the team vault, the word is not "corrected" to the personal vault's
    // `kerberos`, and since it matched, no vault falls back to typos.
    assert!(hits.iter().all(|h| h["id"] != "kerberos"), "{hits:?}");
    for h in hits {
        assert_eq!(h["explain"]["corrections"], serde_json::json!([]), "{h}");
        assert_eq!(h["explain"]["fuzzy"], false, "{h}");
    }
    // A word no vault knows is still corrected, against the words of all of them.
    let r = t
        .kb(&["search", "--json", "--explain", "--", "kerberost"])
        .ok()
        .json();
    assert_eq!(r[0]["id"], "kerberoast", "{r}");
    assert_eq!(
        r[0]["explain"]["corrections"],
        serde_json::json!(["kerberost -> kerberoast"]),
        "{r}"
    );
}

#[test]
fn a_missing_vault_is_reported_once_and_the_others_are_searched() {
    let t = Three::new();
    std::fs::remove_dir_all(t.dir("vendor")).unwrap();
    t.kb(&[
        "add",
        "--title",
        "VPN error 809",
        "--fix",
        "Allow L2TP through NAT.",
    ])
    .ok();
    let r = t.kb(&["search", "--json", "--", "vpn 809"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()[0]["vault"], "personal");
    assert_eq!(
        r.stderr.lines().filter(|l| l.contains("vendor")).count(),
        1,
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("left out"), "{}", r.stderr);
}

#[test]
fn dir_and_kb_dir_still_mean_one_vault() {
    let t = Three::new();
    t.kb(&[
        "--vault",
        "team",
        "add",
        "--title",
        "Team only note",
        "--fix",
        "x",
    ])
    .ok();
    // KB_DIR (the test environment's) and --dir name one folder: no labels, no other vault.
    let r = t.env.kb(&[
        "--dir",
        t.dir("kb").to_str().unwrap(),
        "search",
        "--json",
        "--",
        "team only note",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let r = t
        .env
        .kb(&[
            "--dir",
            t.dir("team").to_str().unwrap(),
            "search",
            "--json",
            "--",
            "team only note",
        ])
        .ok();
    assert!(r.json()[0].get("vault").is_none(), "{}", r.stdout);
    // --vault with --dir is a contradiction, said as such.
    let r = t.env.kb(&[
        "--dir",
        t.dir("kb").to_str().unwrap(),
        "--vault",
        "team",
        "search",
        "x",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--dir"), "{}", r.stderr);
    // Inside a configured vault's folder, writes go to that vault and search still covers all.
    let r = t.env.kb_finding_vault(
        &["add", "--title", "Added from inside team", "--fix", "x"],
        &t.dir("team"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(t.dir("team/added-from-inside-team.md").is_file());
    let hits = t
        .env
        .kb_finding_vault(&["search", "--json", "--", "fuser failure"], &t.dir("team"))
        .ok()
        .json();
    assert_eq!(hits[0]["vault"], "vendor");
}

#[test]
fn sync_syncs_every_writable_vault_with_a_remote() {
    let t = Three::new();
    for v in ["kb", "team"] {
        let remote = t.env.home.join(format!("{v}-remote.git"));
        let ok = Command::new("git")
            .args(["init", "-q", "--bare", remote.to_str().unwrap()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let ok = Command::new("git")
            .args(["remote", "add", "origin", remote.to_str().unwrap()])
            .current_dir(t.dir(v))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    t.kb(&["add", "--title", "Personal fix", "--fix", "x"]).ok();
    t.kb(&[
        "--vault", "team", "add", "--title", "Team fix", "--fix", "y",
    ])
    .ok();
    let r = t.kb(&["sync"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("[personal]") && r.stdout.contains("[team]"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("vendor: read-only, not synced"),
        "{}",
        r.stderr
    );
    for (v, note) in [("kb", "personal-fix.md"), ("team", "team-fix.md")] {
        let o = Command::new("git")
            .args([
                "--git-dir",
                t.env.home.join(format!("{v}-remote.git")).to_str().unwrap(),
                "ls-tree",
                "-r",
                "--name-only",
                "HEAD",
            ])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&o.stdout).contains(note), "{v}");
    }
    // --vault syncs one; --json gives one report per vault.
    let j = t.kb(&["--vault", "team", "sync", "--json"]).json();
    let j = j.as_array().unwrap();
    assert_eq!(j.len(), 1);
    assert_eq!(j[0]["vault"], "team");
}

#[test]
fn index_and_misses_cover_every_vault_searched() {
    let t = Three::new();
    // kb index: every vault, a line each; --vault restricts it.
    let r = t.kb(&["index"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    for v in ["personal", "team", "vendor"] {
        assert!(r.stderr.contains(&format!("kb: {v}: ")), "{}", r.stderr);
    }
    let r = t.kb(&["--vault", "team", "index"]);
    assert!(r.stderr.contains("kb: team: "), "{}", r.stderr);
    assert!(!r.stderr.contains("kb: personal: "), "{}", r.stderr);
    // A paste no vault answers is remembered (in the vault writes go to) as a miss...
    let paste = "Scanner error 0x7B2: ADF feed roller worn at 41230 pages";
    let r = t.kb(&["search", "--json", "--", paste]);
    assert!(r.stderr.contains("\"answered\":false"), "{}", r.stderr);
    let misses = t.kb(&["misses", "--json"]).ok().json();
    assert_eq!(misses.as_array().unwrap().len(), 1, "{misses}");
    // ...until a note of any vault answers it: here the team's.
    std::fs::write(
        t.dir("team/adf-roller.md"),
        note(
            "Scanner feeds crooked",
            &["scanning"],
            &["Scanner error 0x7B2: ADF feed roller worn at 39000 pages"],
            "Replace the ADF roller kit.",
        ),
    )
    .unwrap();
    let r = t.kb(&["misses", "--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.json(), serde_json::json!([]), "{}", r.stdout);
}
