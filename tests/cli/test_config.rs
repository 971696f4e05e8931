use crate::env::TestEnv;

#[test]
fn config_shows_effective_values_and_their_sources() {
    let env = TestEnv::new();
    let cfg = env.home.join(".config/kb");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        "editor = \"nano -w\"\ncolor = \"never\"\nfonts = 1\n",
    )
    .unwrap();
    let r = env.kb_env(&["config", "--json"], &[("EDITOR", "vim")]).ok();
    assert!(r.stderr.contains("unknown key `fonts`"), "{}", r.stderr);
    let rows = r.json();
    let get = |k: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|x| x["key"] == k)
            .cloned()
            .unwrap()
    };
    assert_eq!(get("editor")["value"], "nano -w");
    assert_eq!(get("editor")["source"], "user config");
    assert_eq!(get("vault")["source"], "KB_DIR");
    assert_eq!(get("color")["value"], "never");
    assert_eq!(get("remote")["source"], "unset");
    let r = env.kb_env(&["config"], &[("NO_COLOR", "1")]).ok();
    assert!(
        r.stdout.contains("color") && r.stdout.contains("(NO_COLOR)"),
        "{}",
        r.stdout
    );
}

#[test]
fn the_user_config_names_the_default_vault() {
    let env = TestEnv::new();
    let cfg = env.home.join(".config/kb");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!("vault = \"{}\"\n", env.vault.display()),
    )
    .unwrap();
    env.write("n.md", "# Configured vault\nquokka\n");
    env.kb_finding_vault(&["search", "--json", "quokka"], &env.home)
        .ok();
}

#[test]
fn team_settings_shape_new_notes_and_name_the_remote() {
    let env = TestEnv::new();
    env.write(
        "templates/fix.md",
        "# {{title}}\n\n## Symptom\n\n## Steps\n",
    );
    std::fs::write(
        env.vault.join("kb.toml"),
        "default_tags = [\"helpdesk\"]\nfolder = \"inbox\"\ntemplate = \"templates/fix.md\"\n",
    )
    .unwrap();
    let r = env
        .kb(&["add", "--title", "Team shaped", "--tag", "vpn"])
        .ok();
    assert!(r.stdout.starts_with("inbox/team-shaped\t"), "{}", r.stdout);
    let text = env.read("inbox/team-shaped.md");
    assert!(text.contains("tags: [\"vpn\", \"helpdesk\"]"), "{text}");
    assert!(
        text.ends_with("---\n\n# Team shaped\n\n## Symptom\n\n## Steps\n"),
        "{text}"
    );
    // remote = URL: sync adds it as origin.
    let remote = env.home.join("team.git");
    let o = std::process::Command::new("git")
        .args(["init", "-q", "--bare", remote.to_str().unwrap()])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(o.status.success());
    let toml = std::fs::read_to_string(env.vault.join("kb.toml")).unwrap();
    std::fs::write(
        env.vault.join("kb.toml"),
        format!("{toml}remote = \"{}\"\n", remote.display()),
    )
    .unwrap();
    env.kb(&["sync"]).ok();
    assert!(env.git(&["remote", "-v"]).contains("team.git"));
}
