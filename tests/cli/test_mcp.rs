//! `kb mcp` driven by the official Python MCP SDK client (PyPI `mcp`, which `tests/run.sh`
//! installs) over stdio, on a real vault: `tests/mcp/client.py` holds the steps.

use crate::env::{kb_bin, note, TestEnv};

fn vault_with_a_note() -> TestEnv {
    let env = TestEnv::new();
    env.write(
        "smb.md",
        note(
            "Network path not found",
            &["windows", "smb"],
            &["Windows cannot access \\\\FILESERVER01\\Share. Error code: 0x80070035. The network path was not found."],
            "1. Set the network to Private.\n2. Check port 445.",
        ),
    );
    env.kb(&["index"]).ok();
    env
}

pub fn client(env: &TestEnv, scenario: &str) -> String {
    client_with(env, scenario, &[])
}

/// [`client`] with more environment variables for `kb mcp`.
pub fn client_with(env: &TestEnv, scenario: &str, vars: &[(&str, &str)]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py");
    let mut c = env.command();
    let o = std::process::Command::new("python3")
        .arg(script)
        .arg(kb_bin())
        .arg(&env.vault)
        .arg(scenario)
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .envs(vars.iter().copied())
        .current_dir(&env.home)
        .output()
        .expect("python3");
    let _ = &mut c;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{scenario}:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

#[test]
fn mcp_search_show_and_bad_input_through_the_python_sdk() {
    let env = vault_with_a_note();
    let out = client(&env, "read_only");
    assert!(
        out.contains("\"ok\": \"a note the CLI added is found\""),
        "{out}"
    );
    assert!(out.contains("\"ok\": \"the server lives on\""), "{out}");
}

#[test]
fn mcp_writes_go_through_the_cli_path_and_never_block_the_cli() {
    let env = vault_with_a_note();
    let out = client(&env, "writes");
    assert!(out.contains("parallel_add_seconds"), "{out}");
    let text = env.read("smb.md");
    assert!(
        text.contains("NAS-09") && text.contains("ticket: INC-77"),
        "{text}"
    );
    let log = env.git(&["log", "--format=%s"]);
    assert!(
        log.contains("Link error to smb")
            && log.contains("Worked: smb")
            && log.contains("Add note: VPN error 809"),
        "{log}"
    );
    assert!(env.git(&["status", "--porcelain"]).trim().is_empty());
}
