use crate::env::{note, TestEnv};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

fn env_with_notes() -> TestEnv {
    let env = TestEnv::new();
    env.write("windows/smb.md", note("Network path not found", &["windows", "smb"], &["Windows cannot access \\\\FILESERVER01\\Share. Error code: 0x80070035. The network path was not found."], "Set the network to Private."));
    env.write("linux/docker.md", note("Docker socket permission denied", &["linux", "docker"], &["Got permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: dial unix /var/run/docker.sock: connect: permission denied"], "Add the user to the docker group."));
    env.write(
        "email/outlook.md",
        note(
            "Outlook keeps asking for the password",
            &["email", "outlook"],
            &["Need password: Outlook needs your password"],
            "Clear the cached credentials.",
        ),
    );
    env.write("network/econnrefused.md", note("Postgres connection refused", &["network", "postgres"], &["connect ECONNREFUSED 10.0.0.5:5432", "psql: error: connection to server at \"db01\" (10.0.0.5), port 5432 failed: Connection refused"], "Start the service."));
    env
}

#[test]
fn a_variant_of_an_error_finds_its_note_first() {
    let env = env_with_notes();
    assert_eq!(env.top("Windows cannot access \\\\NAS-7\\scans. Error code: 0x80070035. The network path was not found.").as_deref(), Some("windows/smb"));
    assert_eq!(
        env.top("connect ECONNREFUSED 192.168.1.20:6432").as_deref(),
        Some("network/econnrefused")
    );
    assert_eq!(env.top("0x80070035").as_deref(), Some("windows/smb"));
    assert_eq!(
        env.top("outlook keeps asking for password").as_deref(),
        Some("email/outlook")
    );
}

#[test]
fn json_hits_have_the_contract_fields() {
    let env = env_with_notes();
    let r = env
        .kb(&[
            "search",
            "--json",
            "--limit",
            "2",
            "--",
            "docker daemon socket permission denied",
        ])
        .ok();
    let hits = r.json();
    let first = &hits[0];
    assert_eq!(first["id"], "linux/docker");
    assert_eq!(first["path"], "linux/docker.md");
    assert_eq!(first["title"], "Docker socket permission denied");
    assert!(first["score"].as_f64().unwrap() > 0.0);
    assert!(first["snippet"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("docker"));
    assert_eq!(first["fix"][0], "Add the user to the docker group.");
    assert!(hits.as_array().unwrap().len() <= 2);
}

#[test]
fn exit_status_is_one_without_hits_and_tag_filters() {
    let env = env_with_notes();
    let r = env.kb(&["search", "zzzqqq-nothing-like-this"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    let r = env
        .kb(&[
            "search",
            "--json",
            "--tag",
            "linux",
            "--",
            "permission denied",
        ])
        .ok();
    assert_eq!(r.ids(), vec!["linux/docker"]);
    let r = env.kb(&[
        "search",
        "--tag",
        "LINUX",
        "--tag",
        "email",
        "permission denied",
    ]);
    assert_eq!(r.code, 1);
}

#[test]
fn a_typo_still_finds_the_note() {
    let env = env_with_notes();
    assert_eq!(env.top("outlok pasword").as_deref(), Some("email/outlook"));
}

#[test]
fn the_query_can_come_from_stdin() {
    let env = env_with_notes();
    let r = env
        .kb_stdin(&["search", "--json", "-"], b"Error code: 0x80070035\n")
        .ok();
    assert_eq!(r.ids()[0], "windows/smb");
    let r = env
        .kb_stdin(
            &["search", "--json"],
            b"dial unix /var/run/docker.sock: connect: permission denied",
        )
        .ok();
    assert_eq!(r.ids()[0], "linux/docker");
}

#[test]
fn query_words_and_flags_mix() {
    let env = env_with_notes();
    let r = env
        .kb(&["search", "outlook", "password", "--json", "-n", "1"])
        .ok();
    assert_eq!(r.ids(), vec!["email/outlook"]);
    let r = env
        .kb(&["search", "-bash: docker: permission denied", "--json"])
        .ok();
    assert_eq!(r.ids()[0], "linux/docker");
}

#[test]
fn hostile_pastes_never_fail() {
    let env = env_with_notes();
    let long = "error ".repeat(20_000);
    let ctl = "a\u{7}b\u{1b}[31mred";
    let pastes = [
        "\"unbalanced quote",
        "'",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        ":",
        "field:value",
        "title:x AND body:y",
        "AND",
        "OR",
        "NOT",
        "*",
        "?",
        "~",
        "^2",
        "a~2",
        "\\",
        "\\\\server\\share",
        "-",
        "--",
        "-x",
        "--json",
        "+",
        "+required -excluded",
        "/regex/",
        "<script>",
        "&&",
        "||",
        "!",
        "\u{202e}bidi",
        "",
        "   ",
        "\n\n",
        "0x",
        "0X80070005",
        "C:\\",
        "::",
        "[[link]]",
        "#tag",
        "`code`",
        "$(rm -rf /)",
        "%s %n %x",
        "😀 emoji",
        "ﬁ ligature",
        ctl,
        &long,
    ];
    for p in pastes {
        let r = env.kb(&["search", "--", p]);
        r.no_panic();
        if p == "-" || p.trim().is_empty() {
            // An empty query (or `-`, which reads the empty stdin here) is an error.
            assert_eq!(r.code, 2, "{}", r.stderr);
            continue;
        }
        assert!(
            r.code == 0 || r.code == 1,
            "paste {p:?}: exit {} {}",
            r.code,
            r.stderr
        );
        let r = env.kb(&["search", "--json", "--", p]);
        assert!(
            r.code == 0 || r.code == 1,
            "paste {p:?}: exit {} {}",
            r.code,
            r.stderr
        );
        if r.code == 0 {
            r.json();
        }
    }
    // NUL cannot travel in argv; it can through stdin.
    for p in [&b"a\0b"[..], b"\0", b"\xff\xfe\x00error", b"\r\n\r\n"] {
        let r = env.kb_stdin(&["search", "--json", "-"], p);
        if String::from_utf8_lossy(p).trim().is_empty() {
            assert_eq!(r.code, 2, "an empty query: {}", r.stderr);
            continue;
        }
        assert!(
            r.code == 0 || r.code == 1,
            "paste {p:?}: exit {} {}",
            r.code,
            r.stderr
        );
    }
}

#[test]
fn closed_pipe_exits_quietly() {
    let env = TestEnv::new();
    for i in 0..60 {
        env.write(
            &format!("n{i}.md"),
            note(
                &format!("Printer problem {i}"),
                &["printing"],
                &["printer offline"],
                "Restart it.",
            ),
        );
    }
    env.kb(&["index"]).ok();
    for _ in 0..5 {
        let mut child = env
            .command()
            .args(["search", "--limit", "60", "printer"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // dropping the reader closes the pipe, as `| head -1` does
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.is_empty(), "{stderr}");
        assert_eq!(out.status.code(), Some(0));
        assert!(first.contains("Printer problem"));
    }
}

#[test]
fn explain_says_why() {
    let env = env_with_notes();
    let r = env
        .kb(&[
            "search",
            "--explain",
            "-n",
            "1",
            "connect ECONNREFUSED 172.16.0.9:5433",
        ])
        .ok();
    assert!(r.stdout.contains("why: score"), "{}", r.stdout);
    assert!(
        r.stdout.contains("recorded: connect econnrefused <host>"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("codes in common: econnrefused"),
        "{}",
        r.stdout
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let env = env_with_notes();
    let r = env
        .kb(&["--color", "always", "search", "--long", "docker socket"])
        .ok();
    assert!(r.stdout.contains("\u{1b}["), "{}", r.stdout);
    let r = env
        .kb(&["--color", "never", "search", "--long", "docker socket"])
        .ok();
    assert!(!r.stdout.contains('\u{1b}'));
    // Piped with the default (auto): no colour; NO_COLOR wins over the user's config.
    let r = env
        .kb_env(&["search", "--long", "docker socket"], &[("NO_COLOR", "1")])
        .ok();
    assert!(!r.stdout.contains('\u{1b}'));
    let r = env.kb(&["search", "--long", "docker socket"]).ok();
    assert!(!r.stdout.contains('\u{1b}'));
}

// Real notes: code blocks of commands and settings, errors quoted inline and deep in blocks.

fn reference_vault() -> TestEnv {
    let env = TestEnv::new();
    let mut settings = String::from("# Deploying to Fly\n\nMy fly.toml:\n\n```\n");
    for i in 0..40 {
        settings.push_str(&format!("kill_timeout = {i}\nkill_signal = \"SIGINT\"\n"));
    }
    settings.push_str("```\n\n```\n$ fly deploy --strategy immediate # retry if it failed\n```\n");
    env.write("fly/deploy.md", settings);
    env.write(
        "python/subprocess-time-limit.md",
        "# Running a subprocess with a time limit\n\nUse asyncio to start the subprocess and kill it when the timeout passes.\n\n```python\nproc = await asyncio.create_subprocess_exec(*cmd)\n```\n",
    );
    let mut traceback = String::from(
        "# Locked database in the web app\n\nThe app said `Error: database is locked` now and then.\n\n> fatal: unable to lock the journal: Permission denied\n\n```\nTraceback (most recent call last):\n",
    );
    for i in 0..40 {
        traceback.push_str(&format!("  File \"app/views.py\", line {i}, in handler\n"));
    }
    traceback.push_str("sqlite3.OperationalError: disk I/O error while writing the journal\n```\n");
    env.write("sqlite/locked.md", traceback);
    // Notes whose recorded errors are close to the quoted ones (same words, other details).
    env.write(
        "sqlite/busy.md",
        note(
            "SQLite busy",
            &[],
            &[
                "Error: database is locked by another writer (SQLITE_BUSY)",
                "fatal: unable to lock the index: File exists",
                "sqlite3.OperationalError: disk I/O error while reading the index",
            ],
            "Close the other connection; database is locked, journal, permission denied.",
        ),
    );
    env.write(
        "docker/fedora.md",
        "# Python in a Fedora container\n\n```\n[root@d1146e0061d1 /]# python3 -m pip install s3-ocr\n/usr/bin/python3: No module named pip\n```\n",
    );
    env
}

#[test]
fn a_question_is_not_won_by_settings_lines_of_a_long_reference_note() {
    let env = reference_vault();
    assert_eq!(
        env.top("asyncio subprocess timeout kill").as_deref(),
        Some("python/subprocess-time-limit")
    );
}

#[test]
fn errors_quoted_inline_in_quotes_and_deep_in_code_blocks_are_found() {
    let env = reference_vault();
    for paste in [
        "Error: database is locked",
        "fatal: unable to lock the journal: Permission denied",
        "sqlite3.OperationalError: disk I/O error while writing the journal",
    ] {
        assert_eq!(env.top(paste).as_deref(), Some("sqlite/locked"), "{paste}");
    }
    assert_eq!(
        env.top("/usr/local/bin/python3.12: No module named pip")
            .as_deref(),
        Some("docker/fedora")
    );
}

#[test]
fn the_best_hit_does_not_depend_on_limit() {
    let env = reference_vault();
    for q in [
        "database is locked",
        "asyncio timeout",
        "No module named pip",
    ] {
        let one = env.kb(&["search", "--json", "--limit", "1", "--", q]).ids();
        let ten = env
            .kb(&["search", "--json", "--limit", "10", "--", q])
            .ids();
        assert_eq!(one.first(), ten.first(), "{q}");
    }
}

#[test]
fn a_typo_in_one_word_is_forgiven_while_other_words_match() {
    let env = TestEnv::new();
    env.write(
        "scheduler.md",
        "# Cloud Scheduler job stops after three minutes\n\nRaise the attempt deadline of the scheduler job.\n",
    );
    env.write(
        "run-memory.md",
        "# Cloud Run job fails\n\nThe cloud job fails when it runs out of memory.\n",
    );
    assert_eq!(
        env.top("cloud sheduler job fails").as_deref(),
        Some("scheduler")
    );
    // The correction is a word the notes use, and --explain says which and how it read the query.
    let r = env
        .kb(&["search", "--explain", "cloud sheduler job fails"])
        .ok();
    assert!(r.stdout.contains("read as: typed words"), "{}", r.stdout);
    assert!(r.stdout.contains("sheduler -> scheduler"), "{}", r.stdout);
    let r = env
        .kb(&[
            "search",
            "--explain",
            "Job 4471 failed: deadline exceeded at /srv/run/job.py line 12",
        ])
        .ok();
    assert!(r.stdout.contains("read as: a pasted error"), "{}", r.stdout);
    assert!(!r.stdout.contains("spelling:"), "{}", r.stdout);
}

#[test]
fn codes_without_0x_and_short_words_identify_notes() {
    let env = TestEnv::new();
    env.kb(&[
        "add",
        "--title",
        "Update stuck at 100%",
        "--error",
        "Windows Update failed to install. Error 800f0922",
        "--fix",
        "Free space on the recovery partition.",
    ])
    .ok();
    // Another code is another error: not refused as a duplicate.
    env.kb(&[
        "add",
        "--title",
        "Update fails on .NET",
        "--error",
        "Windows Update failed to install. Error 800f0831",
        "--fix",
        "Install the missing servicing stack update.",
    ])
    .ok();
    assert_eq!(
        env.top("Error 0x800F0922").as_deref(),
        Some("update-stuck-at-100")
    );
    assert_eq!(
        env.top("failed to install 800f0831").as_deref(),
        Some("update-fails-on-net")
    );
    env.kb(&[
        "add",
        "--title",
        "Guest users blocked",
        "--error",
        "B2B guest access denied",
        "--fix",
        "Allow the partner tenant.",
    ])
    .ok();
    assert_eq!(env.top("B2B").as_deref(), Some("guest-users-blocked"));
}

#[test]
fn a_word_in_the_form_typed_beats_a_word_of_the_same_stem() {
    let env = TestEnv::new();
    // Both notes hold every word's stem; only one holds `installed` as typed.
    env.write(
        "lxml.md",
        "# Installing lxml on a Mac\n\nInstalling it needs the Mac build tools; python install steps below.\n",
    );
    env.write(
        "xcode.md",
        "# What ships with macOS\n\nOnce the build tools are installed, the Mac has a python.\n",
    );
    assert_eq!(
        env.top("is python installed with the mac build tools")
            .as_deref(),
        Some("xcode")
    );
}

#[test]
fn words_typed_side_by_side_count_more_found_side_by_side() {
    let env = TestEnv::new();
    // Both hold the same words once each; only one holds them in the order typed.
    env.write(
        "scattered.md",
        "# Scan notes\n\nThe pdf line: an image on a command, into the viewer.\n",
    );
    env.write(
        "ocr.md",
        "# Scan notes\n\nOn the command line, an image into a pdf, in the viewer.\n",
    );
    for i in 0..8 {
        env.write(
            &format!("other-{i}.md"),
            format!("# Printer {i}\n\nThe spooler stops after update {i}.\n"),
        );
    }
    assert_eq!(
        env.top("ocr an image on the command line into a pdf")
            .as_deref(),
        Some("ocr")
    );
}

#[test]
fn the_note_recording_a_pasted_line_verbatim_wins_the_tie() {
    let env = TestEnv::new();
    env.write(
        "sqlite-extensions.md",
        "# Loading extensions\n\nThe AttributeError says the object has no attribute for it.\n\n```\nAttributeError: 'sqlite3.Connection' object has no attribute 'enable_load_extension'\n```\n",
    );
    let mut long = String::from("# Exploring an embeddings library\n\n");
    for i in 0..30 {
        long.push_str(&format!(
            "Step {i}: load the model, index the documents, query it.\n"
        ));
    }
    long.push_str("\n```\nAttributeError: 'tuple' object has no attribute 'shape'\n```\n");
    env.write("embeddings.md", long);
    let paste = "AttributeError: 'tuple' object has no attribute 'shape'";
    assert_eq!(env.top(paste).as_deref(), Some("embeddings"));
    let r = env.kb(&["search", "--explain", paste]).ok();
    assert!(r.stdout.contains("recorded verbatim"), "{}", r.stdout);
}

#[test]
fn a_line_of_common_words_recorded_verbatim_is_found_among_many_notes_using_them() {
    let env = TestEnv::new();
    for i in 0..150 {
        env.write(
            &format!("printers/p{i}.md"),
            note(
                &format!("Printer {i} cannot open its queue"),
                &[],
                &[&format!("Spooler {i} failed to open the file: no such file or directory")],
                "No such file or directory: the /tmp/queue/spooler folder was missing; no file, no directory.",
            ),
        );
    }
    // A long note: its few words in common weigh little in the text ranking.
    let mut evals = String::from("# Running the evaluation overnight\n\n");
    for i in 0..300 {
        evals.push_str(&format!(
            "Run {i} of the benchmark scored the model on a new prompt set.\n"
        ));
    }
    evals.push_str(
        "\nAt the end it stopped with `No such file or directory: '/tmp/queue/spooler-...`.\n",
    );
    env.write("evals.md", evals);
    assert_eq!(
        env.top("No such file or directory: '/tmp/queue/spooler-...")
            .as_deref(),
        Some("evals")
    );
}

#[test]
fn many_candidates_keep_each_note_with_its_own_score() {
    // Two dozen candidates, each read back from the doc store and ranked: note k holds the
    // word k times in a body of the same length, so BM25 orders them k = 24 .. 1.
    let env = TestEnv::new();
    for k in 1..=24 {
        let body = format!("{}{}", "spooler ".repeat(k), "filler ".repeat(30 - k));
        env.write(
            &format!("device-{k:02}.md"),
            note(&format!("Device {k}"), &[], &[], &body),
        );
    }
    let r = env
        .kb(&["search", "--json", "--limit", "30", "spooler"])
        .ok();
    let ids = r.ids();
    let expected: Vec<String> = (1..=24).rev().map(|k| format!("device-{k:02}")).collect();
    assert_eq!(ids, expected);
}

/// Many notes share `windows update error` (and record it with their own codes); the one note
/// that holds the query's code in its text comes first, and a typed event number lifts the
/// note that names it above notes that only repeat the words.
#[test]
fn a_rare_code_or_number_among_shared_words_finds_its_note() {
    let env = TestEnv::new();
    let filler = "Windows Update error troubleshooting: run the Windows Update troubleshooter, \
                  reset the update components, retry the Windows update. The update error comes \
                  back after a failed cumulative update.";
    let codes = [
        "0x80070002",
        "0x8024402c",
        "0x80073712",
        "0x800705b4",
        "0x80240034",
    ];
    for (i, c) in codes.iter().cycle().take(15).enumerate() {
        env.write(
            &format!("updates/wu-{i}.md"),
            format!(
                "---\ntitle: Windows Update error {c} case {i}\nerrors:\n  - \"Windows Update error {c}\"\n---\n\n{filler}\n\n{filler}\n\n## Fix\n\nReset the components.\n"
            ),
        );
    }
    env.write(
        "updates/dotnet35.md",
        "---\ntitle: .NET Framework 3.5 will not install\n---\n\nThe feature install stops with \
         0x800f081f: the source files could not be found.\n\n## Fix\n\nDISM with /Source.\n",
    );
    for i in 0..8 {
        env.write(
            &format!("ad/lock-{i}.md"),
            format!(
                "---\ntitle: Account problems {i}\n---\n\nThe user account is locked out of the \
                 domain account again; account lockout policy and account settings. Event log \
                 shows account events for the account.\n\n## Fix\n\nUnlock the account.\n"
            ),
        );
    }
    env.write(
        "ad/lockout-source.md",
        "---\ntitle: Finding which device keeps locking an account\n---\n\nFilter the Security \
         log for event ID 4740; its Caller Computer Name is the device.\n\n## Fix\n\nRemove the \
         stale credentials there.\n",
    );
    env.kb(&["index"]).ok();
    let r = env
        .kb(&["search", "--json", "windows update error 0x800f081f"])
        .ok();
    assert_eq!(r.ids()[0], "updates/dotnet35", "{}", r.stdout);
    // The notes recording the same words with another code are other errors.
    let r = env
        .kb(&[
            "search",
            "--json",
            "--explain",
            "windows update error 0x800f081f",
        ])
        .ok();
    assert_eq!(r.json()[1]["explain"]["other_code"], true, "{}", r.stdout);
    // Their own code still finds each of them first.
    let r = env
        .kb(&["search", "--json", "Windows Update error 0x80073712"])
        .ok();
    assert!(r.ids()[0].starts_with("updates/wu-"), "{}", r.stdout);
    assert!(r.stdout.contains("0x80073712"));
    let r = env
        .kb(&["search", "--json", "event 4740 account locked out"])
        .ok();
    assert_eq!(r.ids()[0], "ad/lockout-source", "{}", r.stdout);
}
