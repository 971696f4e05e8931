#!/usr/bin/env python3
"""kb sync over SSH with nothing to do, beside `git pull && git push` in the same setup:
written to bench/SSH.md.

Usage: python3 bench/ssh_sync.py [--notes N]   (needs /usr/sbin/sshd, ssh-keygen, hyperfine)

It starts OpenSSH's sshd on 127.0.0.1 with a key of its own, generates a vault of N notes (1,000)
with ../shared/bench/gen_corpus.py, pushes it to a bare repository reached over ssh://, and times
with hyperfine, in one run: `kb sync` (nothing to send or receive: one fetch, no push), and
`git pull && git push` (what a person would type). Both go through the same ssh (a config file
given by GIT_SSH_COMMAND). Nothing here is typed by hand: SSH.md is rewritten by every run.
"""
import argparse, datetime, json, os, shutil, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("KB_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
KB = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "kb")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "SSH.md"))
    a = ap.parse_args()
    for tool in ("/usr/sbin/sshd", "ssh-keygen", "hyperfine", "git"):
        if not shutil.which(tool):
            sys.exit("bench: %s is missing (Debian: apt-get install openssh-server hyperfine git)" % tool)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "kb"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="kb-ssh-bench-")
    home = os.path.join(work, "home")
    os.makedirs(os.path.join(home, ".ssh"))
    env = dict(PATH=os.environ["PATH"], HOME=home, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="kb bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="kb bench", GIT_COMMITTER_EMAIL="bench@example.com")

    def run(cmd, **kw):
        return subprocess.run(cmd, check=True, env=env, **kw)

    srv = os.path.join(work, "sshd")
    os.makedirs(srv)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(srv, "host")])
    key = os.path.join(home, ".ssh", "bench_key")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
    shutil.copy(key + ".pub", os.path.join(srv, "authorized_keys"))
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)
    port = free_port()
    with open(os.path.join(srv, "sshd_config"), "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s/host\nPidFile none\nAuthorizedKeysFile %s/authorized_keys\n"
                "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                "PermitRootLogin prohibit-password\n" % (port, srv, srv))
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", os.path.join(srv, "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        host_key = open(os.path.join(srv, "host.pub")).read().split()[:2]
        with open(os.path.join(home, ".ssh", "known_hosts"), "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (port, " ".join(host_key)))
        cfg = os.path.join(home, ".ssh", "config")
        user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
        with open(cfg, "w") as f:
            f.write("Host 127.0.0.1\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s/.ssh/known_hosts\n"
                    % (user, key, home))
        env["GIT_SSH_COMMAND"] = "ssh -F " + cfg
        vault = os.path.join(home, "kb")
        run([sys.executable, os.path.join(SHARED, "bench", "gen_corpus.py"), vault, str(a.notes)],
            stdout=subprocess.DEVNULL)
        run([KB, "-q", "init", vault], stdout=subprocess.DEVNULL)
        remote = os.path.join(work, "remote.git")
        run(["git", "init", "-q", "--bare", remote])
        run(["git", "-C", vault, "remote", "add", "origin", "ssh://127.0.0.1:%d%s" % (port, remote)])
        run([KB, "--dir", vault, "-q", "sync"], stdout=subprocess.DEVNULL)  # commits, pushes, sets upstream
        subprocess.run([KB, "--dir", vault, "-q", "index"], env=env, stdout=subprocess.DEVNULL)  # 1: nothing changed
        # kb sync exits 1 when there was nothing to do (as grep does when nothing matched): check
        # it does that, not fail (2), before timing it with failures ignored.
        code = subprocess.run([KB, "--dir", vault, "-q", "sync"], env=env, stdout=subprocess.DEVNULL).returncode
        if code != 1:
            sys.exit("bench: kb sync with nothing to do exited %d" % code)
        out = os.path.join(work, "times.json")
        kb_cmd = "%s --dir %s -q sync" % (KB, vault)
        git_cmd = "sh -c 'cd %s && git pull -q && git push -q'" % vault
        subprocess.run(["hyperfine", "-N", "--style", "none", "-i", "--warmup", "2", "--runs", str(a.runs),
                        "--export-json", out, kb_cmd, git_cmd], env=env, check=True, stdout=subprocess.DEVNULL)
        res = json.load(open(out))["results"]
        git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
        ssh_version = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    finally:
        sshd.kill()
        sshd.wait()
        shutil.rmtree(work, ignore_errors=True)
    kb_ms, git_ms = (r["median"] * 1000 for r in res)
    lines = [
        "# kb sync over SSH, nothing to do",
        "",
        "Written by `python3 bench/ssh_sync.py` on %s; do not edit by hand." % datetime.date.today(),
        "",
        "- %d-note vault, remote over ssh:// to OpenSSH's sshd on 127.0.0.1 (%s, %s); %d runs each"
        % (a.notes, git_version, ssh_version, a.runs),
        "",
        "| command | median (ms) | min (ms) | max (ms) |",
        "|---|---|---|---|",
    ]
    for name, r in (("kb sync", res[0]), ("git pull && git push", res[1])):
        lines.append("| %s | %.1f | %.1f | %.1f |" % (name, r["median"] * 1000, r["min"] * 1000, r["max"] * 1000))
    ok = kb_ms <= git_ms
    lines += ["", "| target | measured | |", "|---|---|---|",
              "| kb sync with nothing to do <= git pull && git push | %.1f / %.1f ms | %s |"
              % (kb_ms, git_ms, "met" if ok else "NOT met")]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
