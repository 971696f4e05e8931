//! The test environment: a temporary HOME with a vault, and a runner for the kb binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub struct TestEnv {
    _home: tempfile::TempDir,
    pub home: PathBuf,
    pub vault: PathBuf,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Ids of a `search --json` result, best first.
    pub fn ids(&self) -> Vec<String> {
        self.json()
            .as_array()
            .expect("an array")
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "exit {}\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked") && (0..=2).contains(&self.code),
            "exit {} stderr: {}",
            self.code,
            self.stderr
        );
    }
}

impl TestEnv {
    /// A HOME with an initialised vault at `HOME/vault`.
    pub fn new() -> TestEnv {
        let env = TestEnv::empty();
        env.kb(&["init", env.vault.to_str().unwrap()]).ok();
        env
    }

    /// A HOME with an empty `vault` folder (no git, no kb.toml).
    pub fn empty() -> TestEnv {
        let home = tempfile::tempdir().expect("temp dir");
        let path = home.path().canonicalize().unwrap();
        let vault = path.join("vault");
        std::fs::create_dir_all(&vault).unwrap();
        TestEnv {
            home: path,
            _home: home,
            vault,
        }
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(kb_bin());
        c.env_clear()
            .env("HOME", &self.home)
            .env("USERPROFILE", &self.home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("KB_DIR", &self.vault)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test Tech")
            .env("GIT_AUTHOR_EMAIL", "tech@example.com")
            .env("GIT_COMMITTER_NAME", "Test Tech")
            .env("GIT_COMMITTER_EMAIL", "tech@example.com")
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .current_dir(&self.home)
            .stdin(Stdio::null());
        c
    }

    /// The command of [`TestEnv::command`] with no git identity in the environment.
    pub fn command_without_identity(&self) -> Command {
        let mut c = self.command();
        for k in [
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
        ] {
            c.env_remove(k);
        }
        c
    }

    pub fn kb(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().expect("run kb"))
    }

    /// kb without KB_DIR (it must find the vault by itself), run from `cwd`.
    pub fn kb_finding_vault(&self, args: &[&str], cwd: &std::path::Path) -> Run {
        let mut c = self.command();
        c.env_remove("KB_DIR").current_dir(cwd);
        Run::from(c.args(args).output().expect("run kb"))
    }

    pub fn kb_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut c = self.command();
        for (k, v) in vars {
            c.env(k, v);
        }
        Run::from(c.args(args).output().expect("run kb"))
    }

    pub fn kb_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kb");
        let mut stdin = child.stdin.take().unwrap();
        let data = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = child.wait_with_output().expect("wait kb");
        writer.join().unwrap();
        Run::from(out)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.vault.join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// The `title:` of a note's text.
    pub fn title_of(text: &str) -> String {
        let line = text
            .lines()
            .find(|l| l.starts_with("title: "))
            .unwrap_or("");
        serde_json::from_str(line.trim_start_matches("title: ")).unwrap_or_default()
    }

    /// The best hit's id for a query (None when nothing matches).
    pub fn top(&self, query: &str) -> Option<String> {
        let r = self.kb(&["search", "--json", "--", query]);
        r.no_panic();
        if r.code == 1 {
            return None;
        }
        r.ids().into_iter().next()
    }

    /// `git` run in the vault; its stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let o = Command::new("git")
            .args(args)
            .current_dir(&self.vault)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// `git` in `dir` as `who` (author and committer, `WHO@example.com`), with no user or system
/// configuration; its stdout. Fails the test when git fails.
pub fn git_as(dir: &std::path::Path, who: &str, args: &[&str]) -> String {
    let email = format!("{}@example.com", who.to_lowercase().replace(' ', "."));
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", who)
        .env("GIT_AUTHOR_EMAIL", &email)
        .env("GIT_COMMITTER_NAME", who)
        .env("GIT_COMMITTER_EMAIL", &email)
        .output()
        .expect("git");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The kb binary under test: this build's, or `KB_TEST_BIN` (to run the tests against another
/// build, e.g. to see a regression test fail on the code before its fix).
pub fn kb_bin() -> PathBuf {
    std::env::var_os("KB_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kb")))
}

/// Write an executable shell script (an editor, a pager, a git hook, a stand-in tool).
pub fn write_script(path: &std::path::Path, body: &str) {
    std::fs::write(path, body).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Wait for spawned kb processes (stderr piped); each must have succeeded.
#[track_caller]
pub fn all_succeed(children: Vec<std::process::Child>) {
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A note in the shared format.
pub fn note(title: &str, tags: &[&str], errors: &[&str], fix: &str) -> String {
    let mut s = format!(
        "---\ntitle: {}\ntags: [{}]\nerrors:\n",
        serde_json::to_string(title).unwrap(),
        tags.join(", ")
    );
    for e in errors {
        s.push_str(&format!("  - {}\n", serde_json::to_string(e).unwrap()));
    }
    s.push_str(&format!(
        "created: 2026-01-01T00:00:00Z\n---\n\n# {title}\n\n## Fix\n\n{fix}\n"
    ));
    s
}

/// The path kb printed after "kept in " (a draft it kept).
pub fn kept_in(stderr: &str) -> &str {
    stderr
        .split("kept in ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no draft path in: {stderr}"))
}
