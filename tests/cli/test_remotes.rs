//! kb reaches remotes as the person's git does, tested against real servers on 127.0.0.1
//! (sshd, ssh-agent, Apache with `git http-backend` over TLS, a server that never answers),
//! each case compared with what the `git` command does in the same setup.

use crate::env::{note, write_script, Run, TestEnv};
use crate::servers::{self, keygen, login_name, Agent, Apache, Silent, Sshd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A vault with one note and a bare repository to sync it to (served by the test's server).
struct Setup {
    env: TestEnv,
    repo: PathBuf,
    ssh: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let env = TestEnv::new();
        let srv = env.home.join("srv");
        std::fs::create_dir_all(&srv).unwrap();
        let repo = srv.join("remote.git");
        servers::run(Command::new("git").args([
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            repo.to_str().unwrap(),
        ]));
        git_in(&env.vault, &[], &["checkout", "-q", "-b", "main"]);
        env.write(
            "printing/spooler.md",
            note(
                "Print spooler stops",
                &["printing"],
                &["The Print Spooler service terminated unexpectedly."],
                "Clear the spool folder.",
            ),
        );
        let ssh = env.home.join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        Setup { env, repo, ssh }
    }

    fn set_remote(&self, url: &str) {
        git_in(&self.env.vault, &[], &["remote", "add", "origin", url]);
    }

    /// Apache serving the remote over TLS (a test CA) to user `kb` with `password`, as the
    /// vault's `origin`, the password in a `store` credential helper's file (returned, with
    /// the server and the URL).
    fn https_remote(&self, password: &str) -> (Apache, String, PathBuf) {
        let apache = Apache::start(
            &self.env.home.join("apache"),
            self.repo.parent().unwrap(),
            "kb",
            password,
        );
        let url = format!("https://127.0.0.1:{}/git/remote.git", apache.port);
        self.set_remote(&url);
        let creds = self.env.home.join("git-credentials");
        let helper = format!("store --file {}", creds.display());
        git_in(
            &self.env.vault,
            &[],
            &["config", "credential.helper", &helper],
        );
        std::fs::write(
            &creds,
            format!("https://kb:{password}@127.0.0.1:{}\n", apache.port),
        )
        .unwrap();
        (apache, url, creds)
    }

    /// ssh as kb's git and the comparison's git run it: this setup's config file (ssh reads
    /// `~/.ssh/config` from the passwd entry, not from $HOME, so the test names its own).
    fn ssh_command(&self) -> String {
        format!("ssh -F {}", self.ssh.join("config").display())
    }

    /// An sshd that takes the key `name` (made here, with `passphrase`), and an ssh config
    /// entry for 127.0.0.1 logging in as the local user with that key only. The server is
    /// not in known_hosts yet.
    fn sshd_with_key(&self, name: &str, passphrase: &str) -> (Sshd, PathBuf) {
        let key = self.ssh.join(name);
        let public = keygen(&key, passphrase);
        let sshd = Sshd::start(&self.env.home.join("sshd"), &[&public]);
        self.write_ssh_config(&format!(
            "Host 127.0.0.1\n  User {}\n  IdentityFile {}\n  IdentitiesOnly yes\n",
            login_name(),
            key.display()
        ));
        (sshd, key)
    }

    /// The ssh:// URL of the repository on this server.
    fn ssh_url(&self, sshd: &Sshd) -> String {
        format!("ssh://127.0.0.1:{}{}", sshd.port, self.repo.display())
    }

    fn write_ssh_config(&self, body: &str) {
        std::fs::write(
            self.ssh.join("config"),
            format!(
                "{body}\nHost *\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n",
                self.ssh.join("known_hosts").display()
            ),
        )
        .unwrap();
    }

    fn kb_sync(&self, vars: &[(&str, &str)]) -> Run {
        let cmd = self.ssh_command();
        let mut all = vec![("GIT_SSH_COMMAND", cmd.as_str())];
        all.extend_from_slice(vars);
        self.env.kb_env(&["sync"], &all)
    }

    /// `git ls-remote URL` in the same setup, without a terminal: whether it worked (its
    /// messages go to the test's output).
    fn git_reaches(&self, url: &str, vars: &[(&str, &str)]) -> bool {
        let cmd = self.ssh_command();
        let mut all = vec![("GIT_SSH_COMMAND", cmd.as_str())];
        all.extend_from_slice(vars);
        let (ok, said) = git_detached(&self.env.vault, &all, &["ls-remote", url]);
        eprintln!(
            "git ls-remote {url}: {}\n{said}",
            if ok { "ok" } else { "failed" }
        );
        ok
    }

    /// `git fetch origin` in the vault (what kb runs), without a terminal: whether it worked.
    fn git_fetches(&self, vars: &[(&str, &str)]) -> bool {
        let (ok, said) = git_detached(&self.env.vault, vars, &["fetch", "origin"]);
        eprintln!(
            "git fetch origin: {}\n{said}",
            if ok { "ok" } else { "failed" }
        );
        ok
    }

    /// The notes the remote has on main.
    fn remote_notes(&self) -> String {
        let o = Command::new("git")
            .args([
                "--git-dir",
                self.repo.to_str().unwrap(),
                "ls-tree",
                "-r",
                "--name-only",
                "main",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// git in `dir` with the tests' clean configuration.
fn git_in(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> String {
    let mut c = Command::new("git");
    c.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in vars {
        c.env(k, v);
    }
    servers::run(&mut c)
}

/// git run in a session of its own (no terminal to ask on, as kb's tests run kb), stopped
/// after 20 s: (worked, stderr).
fn git_detached(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let mut c = Command::new("setsid");
    // The environment kb's tests give kb: nothing of the runner's (a GIT_SSL_CAINFO there
    // would override the repository's http.sslCAInfo).
    c.arg("-w")
        .arg("timeout")
        .arg("20")
        .arg("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.parent().unwrap())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null());
    for (k, v) in vars {
        c.env(k, v);
    }
    let o = c.output().expect("git");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn assert_one_clear_error(r: &Run, says: &str) {
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let first = r.stderr.lines().next().unwrap_or("");
    assert!(first.starts_with("kb: error: "), "{}", r.stderr);
    assert!(
        r.stderr.contains(says),
        "expected {says:?} in:\n{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn an_ssh_config_alias_with_port_user_and_a_key_of_another_name() {
    let s = Setup::new();
    let key = s.ssh.join("work_key");
    let public = keygen(&key, "");
    let sshd = Sshd::start(&s.env.home.join("sshd"), &[&public]);
    std::fs::write(s.ssh.join("known_hosts"), sshd.known_hosts_line()).unwrap();
    s.write_ssh_config(&format!(
        "Host teamkb\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  IdentitiesOnly yes\n",
        sshd.port,
        login_name(),
        key.display()
    ));
    let url = format!("teamkb:{}", s.repo.display());
    s.set_remote(&url);
    assert!(s.git_reaches(&url, &[]), "git should reach {url}");
    let r = s.kb_sync(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(s.remote_notes().contains("printing/spooler.md"));
    // Nothing to do: a second sync over the same connection settings succeeds (exit 0, as
    // git pull) and says so.
    let r = s.kb_sync(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("nothing to send"), "{}", r.stdout);
}

#[test]
fn an_ssh_url_without_a_user_and_a_key_only_in_the_agent() {
    let s = Setup::new();
    let key = s.env.home.join("agent_key");
    let public = keygen(&key, "");
    let sshd = Sshd::start(&s.env.home.join("sshd"), &[&public]);
    std::fs::write(s.ssh.join("known_hosts"), sshd.known_hosts_line()).unwrap();
    s.write_ssh_config("");
    let agent = Agent::start(&s.env.home);
    agent.add(&key);
    // The key exists only in the agent now.
    std::fs::remove_file(&key).unwrap();
    let url = format!("ssh://127.0.0.1:{}{}", sshd.port, s.repo.display());
    s.set_remote(&url);
    let sock = agent.socket.to_str().unwrap().to_string();
    // ssh logs in as the local user (the URL names none) with the agent's key.
    let user = login_name();
    assert!(s.git_reaches(&url, &[("SSH_AUTH_SOCK", &sock), ("USER", &user)]));
    let r = s.kb_sync(&[("SSH_AUTH_SOCK", &sock), ("USER", &user)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(s.remote_notes().contains("printing/spooler.md"));
    // Without the agent neither git nor kb gets in; kb says which door is shut.
    s.env.write("x.md", "# Another\n\nText.\n");
    assert!(!s.git_reaches(&url, &[]));
    let r = s.kb_sync(&[]);
    assert_one_clear_error(&r, "rejected the credentials");
}

#[test]
fn a_key_with_a_passphrase_through_ssh_askpass() {
    let s = Setup::new();
    let passphrase = "correct horse battery";
    let (sshd, _) = s.sshd_with_key("id_passphrase", passphrase);
    std::fs::write(s.ssh.join("known_hosts"), sshd.known_hosts_line()).unwrap();
    let url = s.ssh_url(&sshd);
    s.set_remote(&url);
    let askpass = s.env.home.join("askpass.sh");
    write_script(&askpass, &format!("#!/bin/sh\necho '{passphrase}'\n"));
    let wrong = s.env.home.join("wrong.sh");
    write_script(&wrong, "#!/bin/sh\necho 'not the passphrase'\n");
    let with = |script: &Path| {
        vec![
            ("SSH_ASKPASS", script.to_str().unwrap().to_string()),
            ("SSH_ASKPASS_REQUIRE", "force".to_string()),
        ]
    };
    let vars = with(&askpass);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(s.git_reaches(&url, &vars));
    let r = s.kb_sync(&vars);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(s.remote_notes().contains("printing/spooler.md"));
    // A wrong answer, and no way to ask at all: refused by both, one sentence from kb, and
    // no passphrase in what it prints.
    s.env.write("x.md", "# Another\n\nText.\n");
    let bad = with(&wrong);
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(!s.git_reaches(&url, &bad));
    let r = s.kb_sync(&bad);
    assert_one_clear_error(&r, "rejected the credentials");
    assert!(r.stderr.contains("SSH_ASKPASS"), "{}", r.stderr);
    assert!(!r.stderr.contains("not the passphrase") && !r.stdout.contains("not the passphrase"));
    assert!(!s.git_reaches(&url, &[]));
    assert_one_clear_error(&s.kb_sync(&[]), "rejected the credentials");
}

#[test]
fn unknown_and_changed_host_keys_are_refused_in_clear_words() {
    let s = Setup::new();
    let (sshd, _) = s.sshd_with_key("work_key", "");
    let url = s.ssh_url(&sshd);
    s.set_remote(&url);
    // Unknown: no known_hosts entry.
    std::fs::write(s.ssh.join("known_hosts"), "").unwrap();
    assert!(!s.git_reaches(&url, &[]));
    let r = s.kb_sync(&[]);
    assert_one_clear_error(&r, "is not known yet");
    assert!(r.stderr.contains("fingerprint"), "{}", r.stderr);
    assert!(s.remote_notes().is_empty());
    // Changed: known_hosts holds another key for this server.
    let other = keygen(&s.env.home.join("impostor"), "");
    let other: Vec<&str> = other.split_whitespace().take(2).collect();
    std::fs::write(
        s.ssh.join("known_hosts"),
        format!("[127.0.0.1]:{} {}\n", sshd.port, other.join(" ")),
    )
    .unwrap();
    let (ok, said) = git_detached(
        &s.env.vault,
        &[("GIT_SSH_COMMAND", &s.ssh_command())],
        &["ls-remote", &url],
    );
    assert!(!ok && said.contains("HAS CHANGED"), "{said}");
    let r = s.kb_sync(&[]);
    assert_one_clear_error(&r, "has CHANGED");
    assert!(r.stderr.contains("intercepting"), "{}", r.stderr);
    assert!(r.stderr.contains("ssh-keygen"), "{}", r.stderr);
    assert!(s.remote_notes().is_empty());
    // Trusted again (the right key): the same sync goes through.
    std::fs::write(s.ssh.join("known_hosts"), sshd.known_hosts_line()).unwrap();
    assert_eq!(s.kb_sync(&[]).code, 0);
}

#[test]
fn a_server_that_never_answers_is_given_up_on_after_the_timeout() {
    let s = Setup::new();
    let silent = Silent::start();
    let url = format!("git://127.0.0.1:{}/remote.git", silent.port);
    s.set_remote(&url);
    // git itself waits: still waiting when `timeout` stops it after 3 s.
    let o = Command::new("timeout")
        .args(["3", "git", "ls-remote", &url])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(124), "git did not hang");
    let start = Instant::now();
    let r = s.env.kb_env(&["sync"], &[("KB_SYNC_TIMEOUT", "2")]);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert_one_clear_error(&r, "did not answer for 2 s");
    assert!(r.stderr.contains("KB_SYNC_TIMEOUT"), "{}", r.stderr);
    // The note is committed locally, ready for the next sync.
    let log = git_in(&s.env.vault, &[], &["log", "--format=%s"]);
    assert!(log.contains("printing/spooler.md"), "{log}");
}

#[test]
fn https_with_a_company_ca_a_credential_helper_and_a_wrong_password() {
    let s = Setup::new();
    let password = "pw-9f3k-Secret";
    let (apache, url, creds) = s.https_remote(password);
    // The CA is not trusted yet: both refuse the certificate.
    assert!(!s.git_reaches(&url, &[]));
    let r = s.env.kb(&["sync"]);
    assert_one_clear_error(&r, "certificate");
    assert!(r.stderr.contains("http.sslCAInfo"), "{}", r.stderr);
    // The company CA given by GIT_SSL_CAINFO: both get in, with the password from the
    // credential helper.
    let ca = apache.ca.to_str().unwrap().to_string();
    assert!(s.git_reaches(&url, &[("GIT_SSL_CAINFO", &ca)]));
    let r = s.env.kb_env(&["sync"], &[("GIT_SSL_CAINFO", &ca)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(s.remote_notes().contains("printing/spooler.md"));
    // Given by `http.sslCAInfo` in the repository's configuration: `git fetch` and kb get in.
    git_in(&s.env.vault, &[], &["config", "http.sslCAInfo", &ca]);
    s.env.write("y.md", "# Yet another\n\nText.\n");
    assert!(s.git_fetches(&[]));
    let r = s.env.kb(&["sync"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(s.remote_notes().contains("y.md"));
    // A wrong password: refused, exit 2, one sentence, and no password anywhere in the output.
    std::fs::write(
        &creds,
        format!("https://kb:wrong-{password}@127.0.0.1:{}\n", apache.port),
    )
    .unwrap();
    s.env.write("x.md", "# Another\n\nText.\n");
    assert!(!s.git_fetches(&[]));
    std::fs::write(
        &creds,
        format!("https://kb:wrong-{password}@127.0.0.1:{}\n", apache.port),
    )
    .unwrap();
    let r = s.env.kb(&["sync"]);
    assert_one_clear_error(&r, "rejected the credentials");
    for out in [&r.stdout, &r.stderr] {
        assert!(!out.contains(password), "{out}");
    }
    assert_eq!(
        r.stderr
            .lines()
            .filter(|l| l.starts_with("kb: error"))
            .count(),
        1
    );
}

#[test]
fn libgit2_remains_the_fallback_without_a_git_executable() {
    let s = Setup::new();
    let key = s.ssh.join("id_ed25519");
    let public = keygen(&key, "");
    let sshd = Sshd::start(&s.env.home.join("sshd"), &[&public]);
    let url = format!(
        "ssh://{}@127.0.0.1:{}{}",
        login_name(),
        sshd.port,
        s.repo.display()
    );
    s.set_remote(&url);
    // libgit2 reads known_hosts from $HOME/.ssh and offers the usual key files from it.
    std::fs::write(s.ssh.join("known_hosts"), sshd.known_hosts_line()).unwrap();
    let r = s.env.kb_env(&["sync"], &[("KB_GIT", "libgit2")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(s.remote_notes().contains("printing/spooler.md"));
    let cfg = s.env.kb_env(&["config"], &[("KB_GIT", "libgit2")]).ok();
    assert!(cfg.stdout.contains("libgit2"), "{}", cfg.stdout);
}

#[test]
fn libgit2_over_https_trusts_what_openssl_is_told_to_and_nothing_else() {
    // libgit2 starts without parsing the certificate bundle (kb loads it only when libgit2
    // itself connects): the certificates must still be there, and checked, when it does.
    let s = Setup::new();
    let (apache, url, _) = s.https_remote("pw-4t7q-Secret");
    // The system's certificates do not include the test CA: refused.
    let r = s.env.kb_env(&["sync"], &[("KB_GIT", "libgit2")]);
    assert_one_clear_error(&r, "certificate");
    assert!(!s.remote_notes().contains("printing/spooler.md"));
    // OpenSSL's own setting names the CA: libgit2 gets in (git, through GIT_SSL_CAINFO, too).
    let ca = apache.ca.to_str().unwrap().to_string();
    assert!(s.git_reaches(&url, &[("GIT_SSL_CAINFO", &ca)]));
    let r = s
        .env
        .kb_env(&["sync"], &[("KB_GIT", "libgit2"), ("SSL_CERT_FILE", &ca)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(s.remote_notes().contains("printing/spooler.md"));
}
