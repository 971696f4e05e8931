//! Real servers on 127.0.0.1 for the remote tests, started by the tests and stopped when
//! dropped: OpenSSH's sshd, an ssh-agent, Apache serving `git http-backend` over TLS, and a
//! server that accepts connections and never answers. `tests/run.sh` (and `.ci/run`) install
//! sshd and Apache when they are missing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "{what} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run a command that must succeed; its stdout.
pub fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The program at the first of these paths that exists, else a failure that says how to
/// get it.
fn program(paths: &[&str], package: &str) -> PathBuf {
    paths
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{} not found: `bash tests/run.sh` installs {package}",
                paths[0]
            )
        })
}

pub fn is_root() -> bool {
    run(Command::new("id").arg("-u")).trim() == "0"
}

pub fn login_name() -> String {
    run(Command::new("id").arg("-un")).trim().to_string()
}

/// A new ed25519 key pair at `path` (and `path.pub`), with this passphrase ("" for none).
pub fn keygen(path: &Path, passphrase: &str) -> String {
    run(Command::new("ssh-keygen").args([
        "-q",
        "-t",
        "ed25519",
        "-N",
        passphrase,
        "-C",
        "kb-test",
        "-f",
        path.to_str().unwrap(),
    ]));
    std::fs::read_to_string(path.with_extension("pub")).unwrap()
}

/// OpenSSH's sshd on 127.0.0.1, logging in the current user with the keys given.
pub struct Sshd {
    child: Child,
    pub port: u16,
    /// The server's public host key line (`ssh-ed25519 AAAA...`).
    pub host_key: String,
}

impl Sshd {
    pub fn start(dir: &Path, authorized: &[&str]) -> Sshd {
        let sshd = program(&["/usr/sbin/sshd"], "openssh-server");
        std::fs::create_dir_all(dir).unwrap();
        let host = dir.join("host_ed25519");
        let host_key = keygen(&host, "");
        std::fs::write(dir.join("authorized_keys"), authorized.join("")).unwrap();
        if is_root() {
            // sshd run as root wants its privilege separation folder.
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let port = free_port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nPidFile none\n\
                 AuthorizedKeysFile {keys}\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
                 LogLevel VERBOSE\n",
                host = host.display(),
                keys = dir.join("authorized_keys").display()
            ),
        )
        .unwrap();
        let log = dir.join("sshd.log");
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f", config.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start sshd");
        wait_for_port(port, "sshd", &log);
        Sshd {
            child,
            port,
            host_key: host_key
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// The `known_hosts` line for this server.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}\n", self.port, self.host_key)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An ssh-agent on a socket of its own, holding the keys added to it.
pub struct Agent {
    child: Child,
    pub socket: PathBuf,
}

impl Agent {
    pub fn start(dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .args(["-D", "-a", socket.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ssh-agent");
        let until = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < until, "ssh-agent did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent { child, socket }
    }

    pub fn add(&self, key: &Path) {
        run(Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stdin(Stdio::null()));
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Accepts TCP connections on 127.0.0.1 and never says a word.
pub struct Silent {
    pub port: u16,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for s in listener.incoming().flatten() {
                held.push(s); // kept open, never read or written
            }
        });
        Silent { port }
    }
}

/// Apache serving the repositories under `root` through `git http-backend` over TLS, behind
/// basic authentication (`user` / `password`), with a certificate signed by a CA of its own.
pub struct Apache {
    child: Child,
    pub port: u16,
    /// The CA certificate a client needs to trust the server.
    pub ca: PathBuf,
}

impl Apache {
    pub fn start(dir: &Path, root: &Path, user: &str, password: &str) -> Apache {
        let httpd = program(&["/usr/sbin/apache2"], "apache2");
        let modules = Path::new("/usr/lib/apache2/modules");
        std::fs::create_dir_all(dir).unwrap();
        // A CA, and the server's certificate for 127.0.0.1 signed by it.
        let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
        run(Command::new("openssl").args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=kb test CA",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
        ]));
        run(Command::new("openssl").args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
        ]));
        std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        run(Command::new("openssl").args([
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("ext.cnf"),
            "-out",
            &p("server.pem"),
        ]));
        run(Command::new("htpasswd").args(["-b", "-c", &p("htpasswd"), user, password]));
        let backend = [
            "/usr/lib/git-core/git-http-backend",
            "/usr/libexec/git-core/git-http-backend",
        ]
        .iter()
        .find(|b| Path::new(b).is_file())
        .expect("git-http-backend");
        let port = free_port();
        let mut user_lines = String::new();
        if is_root() {
            // Apache will not serve as root: the CGI runs as www-data, which must reach and
            // write the repositories.
            user_lines.push_str("User www-data\nGroup www-data\n");
            run(Command::new("chown").args(["-R", "www-data:www-data", root.to_str().unwrap()]));
            let mut d = root.parent();
            while let Some(x) = d {
                let _ = Command::new("chmod")
                    .args(["o+x", x.to_str().unwrap()])
                    .status();
                d = x.parent();
            }
            run(Command::new("chown").args(["-R", "www-data:www-data", dir.to_str().unwrap()]));
        }
        let load = [
            "mpm_prefork",
            "authz_core",
            "authn_core",
            "authn_file",
            "authz_user",
            "auth_basic",
            "alias",
            "cgi",
            "env",
            "ssl",
            "socache_shmcb",
        ]
        .iter()
        .map(|m| format!("LoadModule {m}_module {}/mod_{m}.so\n", modules.display()))
        .collect::<String>();
        let config = format!(
            "ServerRoot {dir}\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\n{load}{user_lines}\
             PidFile {dir}/httpd.pid\nErrorLog {dir}/error.log\nMutex file:{dir}\n\
             DefaultRuntimeDir {dir}\nSSLSessionCache none\n\
             SSLEngine on\nSSLCertificateFile {dir}/server.pem\nSSLCertificateKeyFile {dir}/server.key\n\
             SetEnv GIT_PROJECT_ROOT {root}\nSetEnv GIT_HTTP_EXPORT_ALL 1\n\
             SetEnv GIT_CONFIG_COUNT 1\nSetEnv GIT_CONFIG_KEY_0 safe.directory\nSetEnv GIT_CONFIG_VALUE_0 *\n\
             ScriptAlias /git/ {backend}/\n\
             <Location /git/>\n  AuthType Basic\n  AuthName kb\n  AuthUserFile {dir}/htpasswd\n  Require valid-user\n</Location>\n",
            dir = dir.display(),
            root = root.display(),
        );
        let conf = dir.join("httpd.conf");
        std::fs::write(&conf, config).unwrap();
        let log = dir.join("error.log");
        let mut cmd = Command::new(httpd);
        // Apache signals its whole process group when it stops: a group of its own, not the
        // test runner's.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .args(["-f", conf.to_str().unwrap(), "-DFOREGROUND"])
            .env("APACHE_RUN_DIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
            .spawn()
            .expect("start apache2");
        wait_for_port(port, "apache2", &log);
        Apache {
            child,
            port,
            ca: dir.join("ca.pem"),
        }
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        // SIGTERM: the parent stops its workers too.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
