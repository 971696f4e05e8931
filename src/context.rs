//! Settings resolved once at start from flags and the environment; commands read them here and
//! never look at environment variables themselves.

use crate::cli::{Cli, ColorWhen};
pub use crate::config::{default_vault, locate_vault, VaultSource};
use crate::error::Result;
use crate::vault::Vault;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Context {
    /// The vault single-vault commands use, and where writes go.
    pub vault_dir: PathBuf,
    pub vault_source: VaultSource,
    /// The named vaults searched together (empty: one vault, `vault_dir`). Set when neither
    /// `--dir` nor `KB_DIR` names a vault and the configuration names some; `--vault`
    /// restricts them.
    pub vaults: Vec<crate::config::VaultSpec>,
    /// The named vault `vault_dir` is (writes go there).
    pub target: Option<crate::config::VaultSpec>,
    /// A problem with `--vault` (an unknown name, or with `--dir`), reported by the first
    /// command that needs a vault.
    pub vault_problem: Option<String>,
    /// Whether `--vault` named the vaults (a command then owes an answer for each).
    pub vaults_named: bool,
    /// `[mcp] allow_write` of config.toml.
    pub mcp_allow_write: bool,
    /// The embedding model's folder (`$KB_MODEL`, empty for none; else `model` in
    /// config.toml): typed questions are also matched by meaning.
    pub model: Option<PathBuf>,
    /// How the CLI speaks: colour per stream, quiet, progress.
    pub ui: crate::ui::Ui,
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    /// The editor: user config, else `$VISUAL`, else `$EDITOR` (None: the platform default).
    pub editor: Option<String>,
    /// Where each effective setting came from, for `kb config`.
    pub sources: Vec<(&'static str, String, &'static str)>,
    /// Problems found in configuration files (printed once at start).
    pub warnings: Vec<String>,
    /// The person's configuration file, if the platform has a configuration folder.
    pub user_config_path: Option<PathBuf>,
    /// The home folder (for `~/.ssh` keys).
    pub home: Option<PathBuf>,
    /// `$PAGER`.
    pub pager: Option<String>,
    /// Vaults up to this many notes get a full freshness check before every command
    /// (`$KB_FULL_CHECK_LIMIT`); larger ones are checked by folder, see `index::Check`.
    pub full_check_limit: u64,
    /// How often a larger vault gets a full check in the background
    /// (`$KB_FULL_CHECK_INTERVAL`, seconds); None: the default, see
    /// [`crate::index::full_check_due`].
    pub full_check_interval: Option<std::time::Duration>,
    /// How long to wait for another kb process holding the index writer or the repository
    /// (`$KB_LOCK_WAIT`, seconds; default 60).
    pub lock_wait: std::time::Duration,
    /// How kb reaches remotes (`$KB_GIT`, else `git` in config.toml; default: the `git`
    /// executable when installed, else libgit2).
    /// (`auto`, `libgit2` or a path; resolved by [`Context::git_backend`] when a command reaches
    /// a remote, not at every start.)
    pub git: Option<String>,
    /// How long a remote may stay silent (`$KB_SYNC_TIMEOUT`, else `sync_timeout` in
    /// config.toml, seconds; default 60).
    pub sync_timeout: std::time::Duration,
}

impl Context {
    pub fn from_cli(cli: &Cli) -> Context {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let mut warnings = Vec::new();
        let user_config_path = crate::config::user_config_path();
        let user = user_config_path
            .as_deref()
            .map(|p| crate::config::load_user(p, &mut warnings))
            .unwrap_or_default();
        let (mut vault_dir, mut vault_source) =
            locate_vault(cli.dir.as_deref(), user.vault.as_deref());
        let (vaults, target, vault_problem) =
            named_vaults(cli, &user, &vault_dir, vault_source, &mut warnings);
        if let Some(t) = &target {
            vault_dir = t.path.clone();
            vault_source = VaultSource::Named;
        }
        let no_color = env("NO_COLOR").is_some();
        let (when, color_source) = match (cli.color, no_color, user.color.as_deref()) {
            (ColorWhen::Always, ..) => (ColorWhen::Always, "--color"),
            (ColorWhen::Never, ..) => (ColorWhen::Never, "--color"),
            (ColorWhen::Auto, true, _) => (ColorWhen::Never, "NO_COLOR"),
            (ColorWhen::Auto, false, Some("always")) => (ColorWhen::Always, "user config"),
            (ColorWhen::Auto, false, Some("never")) => (ColorWhen::Never, "user config"),
            _ => (ColorWhen::Auto, "default (on a terminal)"),
        };
        let decide = |tty: bool| match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => tty && env("TERM").is_none_or(|t| t != "dumb"),
        };
        let (editor, editor_source) = match (&user.editor, env("VISUAL"), env("EDITOR")) {
            (Some(e), ..) => (Some(e.clone()), "user config"),
            (None, Some(v), _) => (Some(v.to_string_lossy().into_owned()), "VISUAL"),
            (None, None, Some(e)) => (Some(e.to_string_lossy().into_owned()), "EDITOR"),
            _ => (None, "default"),
        };
        let (git_setting, git_source) = match (env("KB_GIT"), &user.git) {
            (Some(v), _) => (Some(v.to_string_lossy().into_owned()), "KB_GIT"),
            (None, Some(g)) => (Some(g.clone()), "user config"),
            _ => (None, "default (git on PATH, else libgit2)"),
        };
        let (sync_timeout, timeout_source) = match (
            env("KB_SYNC_TIMEOUT")
                .and_then(|v| v.to_str().and_then(|s| s.trim().parse::<f64>().ok()))
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e7),
            user.sync_timeout,
        ) {
            (Some(s), _) => (std::time::Duration::from_secs_f64(s), "KB_SYNC_TIMEOUT"),
            (None, Some(s)) => (std::time::Duration::from_secs_f64(s), "user config"),
            _ => (crate::sync::DEFAULT_TIMEOUT, "default"),
        };
        let model = crate::embed::configured(user.model.as_deref());
        let model_source = match std::env::var_os(crate::embed::ENV) {
            Some(v) if v.is_empty() => "KB_MODEL (empty: off)",
            Some(_) => "KB_MODEL",
            None if model.is_some() => "user config",
            None => "default (none: words only)",
        };
        let sources = vec![
            (
                "vault",
                vault_dir.display().to_string(),
                vault_source.describe(),
            ),
            (
                "editor",
                editor
                    .clone()
                    .unwrap_or_else(|| crate::editor::fallback().to_string()),
                editor_source,
            ),
            ("color", format!("{when:?}").to_lowercase(), color_source),
            (
                "vaults",
                if vaults.is_empty() {
                    "(one vault)".to_string()
                } else {
                    vaults
                        .iter()
                        .map(|v| {
                            let ro = if v.read_only { ", read-only" } else { "" };
                            format!("{} ({}{ro})", v.name, v.path.display())
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                },
                if vaults.is_empty() {
                    "default"
                } else {
                    "user config"
                },
            ),
            (
                "git",
                git_setting.clone().unwrap_or_else(|| "auto".into()),
                git_source,
            ),
            (
                "sync_timeout",
                format!("{} s", sync_timeout.as_secs_f64()),
                timeout_source,
            ),
            (
                "model",
                model
                    .as_ref()
                    .map_or_else(|| "(none)".to_string(), |m| m.display().to_string()),
                model_source,
            ),
        ];
        let stdout_tty = std::io::stdout().is_terminal();
        Context {
            vault_dir,
            vault_source,
            vaults,
            target,
            vault_problem,
            vaults_named: !cli.vaults.is_empty(),
            mcp_allow_write: user.mcp_allow_write,
            model,
            ui: crate::ui::Ui::new(
                decide(stdout_tty),
                decide(std::io::stderr().is_terminal()),
                cli.quiet,
                std::io::stderr().is_terminal(),
            ),
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty,
            editor,
            sources,
            warnings,
            user_config_path,
            home: dirs::home_dir(),
            pager: env("PAGER").map(|s| s.to_string_lossy().into_owned()),
            full_check_limit: env("KB_FULL_CHECK_LIMIT")
                .and_then(|v| v.to_str().and_then(|s| s.trim().parse().ok()))
                .unwrap_or(crate::index::DEFAULT_FULL_CHECK_LIMIT),
            full_check_interval: env("KB_FULL_CHECK_INTERVAL")
                .and_then(|v| v.to_str().and_then(|s| s.trim().parse::<f64>().ok()))
                .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12)
                .map(std::time::Duration::from_secs_f64),
            lock_wait: env("KB_LOCK_WAIT")
                .and_then(|v| v.to_str().and_then(|s| s.trim().parse::<f64>().ok()))
                .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
                .map_or(crate::wait::DEFAULT, std::time::Duration::from_secs_f64),
            git: git_setting,
            sync_timeout,
        }
    }

    /// Open the vault, or explain how to create one.
    pub fn vault(&self) -> Result<Vault> {
        if let Some(p) = &self.vault_problem {
            return Err(crate::error::KbError::InvalidInput(p.clone()));
        }
        Vault::open(&self.vault_dir)
    }

    /// Open the vault to write notes or commit in it: it must be a vault (hold `kb.toml`), and
    /// not a named vault marked `read_only`.
    pub fn vault_for_writing(&self) -> Result<Vault> {
        if let Some(t) = self.target.as_ref().filter(|t| t.read_only) {
            return Err(crate::error::KbError::ReadOnlyVault(t.name.clone()));
        }
        let vault = self.vault()?;
        vault.require_vault()?;
        Ok(vault)
    }

    /// The vaults a search, list or tags covers: (label, folder). One vault without a label,
    /// or the named vaults (those of `--vault`, else all).
    pub fn search_set(&self) -> Result<Vec<(Option<String>, PathBuf)>> {
        if let Some(p) = &self.vault_problem {
            return Err(crate::error::KbError::InvalidInput(p.clone()));
        }
        if self.vaults.is_empty() {
            return Ok(vec![(None, self.vault_dir.clone())]);
        }
        Ok(self
            .vaults
            .iter()
            .map(|v| (Some(v.name.clone()), v.path.clone()))
            .collect())
    }

    /// An id as typed: `team:windows/foo` names the vault `team` when several vaults are
    /// configured; anything else is an id of the vault commands use.
    pub fn split_id<'a>(&self, id: &'a str) -> (Option<&crate::config::VaultSpec>, &'a str) {
        if let Some((name, rest)) = id.split_once(':') {
            if let Some(v) = self.all_named().find(|v| v.name == name) {
                return (Some(v), rest);
            }
        }
        (None, id)
    }

    fn all_named(&self) -> impl Iterator<Item = &crate::config::VaultSpec> {
        self.vaults.iter().chain(self.target.iter())
    }

    /// This context with the vault of an id's `NAME:` prefix as the one commands use.
    pub fn for_vault(&self, v: &crate::config::VaultSpec) -> Context {
        Context {
            vault_dir: v.path.clone(),
            vault_source: VaultSource::Named,
            target: Some(v.clone()),
            ..self.clone()
        }
    }

    /// The name of the vault commands use, when several are configured (labels in results).
    pub fn vault_label(&self) -> Option<&str> {
        if self.vaults.is_empty() {
            return None;
        }
        self.target.as_ref().map(|t| t.name.as_str())
    }

    /// How kb reaches remotes: the setting resolved (looks for `git` on PATH when `auto`).
    pub fn git_backend(&self) -> crate::sync::Backend {
        crate::sync::Backend::choose(self.git.as_deref())
    }

    /// Whether the person can be asked a question.
    /// How fresh an index must be before it answers (the library decides the checks).
    pub fn freshness(&self) -> crate::library::Freshness {
        crate::library::Freshness {
            full_check_limit: self.full_check_limit,
            full_check_interval: self.full_check_interval,
        }
    }

    pub fn interactive(&self) -> bool {
        self.stdin_tty && self.stdout_tty
    }
}

/// The named vaults to search and the one to write to, when no single vault is asked for
/// (`--dir`, `KB_DIR`) and the configuration names some; a folder inside one of them (an
/// enclosing `kb.toml`) makes it the one written to.
fn named_vaults(
    cli: &Cli,
    user: &crate::config::UserConfig,
    located: &Path,
    source: VaultSource,
    warnings: &mut Vec<String>,
) -> (
    Vec<crate::config::VaultSpec>,
    Option<crate::config::VaultSpec>,
    Option<String>,
) {
    let single = matches!(source, VaultSource::Flag | VaultSource::Env);
    if single || user.vaults.is_empty() {
        let problem = (!cli.vaults.is_empty()).then(|| {
            if single {
                "--vault names a configured vault; --dir and KB_DIR name one folder: use one of them".to_string()
            } else {
                "--vault: no vaults are named in the configuration ([vaults.NAME] with a path)".to_string()
            }
        });
        return (Vec::new(), None, problem);
    }
    let same = |a: &Path, b: &Path| {
        a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    };
    if source == VaultSource::Enclosing && !user.vaults.iter().any(|v| same(&v.path, located)) {
        // Inside a vault the configuration does not name: that one, alone.
        return (Vec::new(), None, None);
    }
    let mut chosen = Vec::new();
    for name in &cli.vaults {
        match user.vaults.iter().find(|v| &v.name == name) {
            Some(v) => chosen.push(v.clone()),
            None => {
                let known: Vec<&str> = user.vaults.iter().map(|v| v.name.as_str()).collect();
                let problem = format!(
                    "--vault {name}: no such vault in the configuration (named: {})",
                    known.join(", ")
                );
                return (Vec::new(), None, Some(problem));
            }
        }
    }
    let searched = if chosen.is_empty() {
        user.vaults.clone()
    } else {
        chosen.clone()
    };
    let default = user.default_vault.as_ref().and_then(|d| {
        let found = user.vaults.iter().find(|v| &v.name == d);
        if found.is_none() {
            warnings.push(format!(
                "default_vault = \"{d}\" names no [vaults.{d}]; using the first vault"
            ));
        }
        found
    });
    let target = if let Some(first) = chosen.first() {
        first.clone()
    } else if source == VaultSource::Enclosing {
        user.vaults
            .iter()
            .find(|v| same(&v.path, located))
            .cloned()
            .unwrap_or_else(|| user.vaults[0].clone())
    } else {
        default.cloned().unwrap_or_else(|| user.vaults[0].clone())
    };
    (searched, Some(target), None)
}
