//! Settings resolved once at start from flags and the environment; commands read them here and
//! never look at environment variables themselves.

use crate::cli::{Cli, ColorWhen};
use crate::error::{KbError, Result};
use crate::vault::{Vault, CONFIG_FILE};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Where the vault path came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultSource {
    Flag,
    Env,
    Enclosing,
    Default,
}

#[derive(Debug, Clone)]
pub struct Context {
    pub vault_dir: PathBuf,
    pub vault_source: VaultSource,
    /// Colour on stdout / stderr.
    pub color_out: bool,
    pub color_err: bool,
    pub quiet: bool,
    pub stdin_tty: bool,
    pub stdout_tty: bool,
    /// `$VISUAL`, else `$EDITOR`.
    pub editor: Option<String>,
    /// The home folder (for `~/.ssh` keys).
    pub home: Option<PathBuf>,
    /// `$PAGER`.
    pub pager: Option<String>,
    /// Vaults up to this many notes get a full freshness check before every command
    /// (`$KB_FULL_CHECK_LIMIT`); larger ones are checked by folder, see `index::Check`.
    pub full_check_limit: u64,
    /// How often a larger vault gets a full check in the background
    /// (`$KB_FULL_CHECK_INTERVAL`, seconds; default 10).
    pub full_check_interval: std::time::Duration,
}

impl Context {
    pub fn from_cli(cli: &Cli) -> Context {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let (vault_dir, vault_source) = if let Some(d) = &cli.dir {
            (d.clone(), VaultSource::Flag)
        } else if let Some(d) = env("KB_DIR") {
            (PathBuf::from(d), VaultSource::Env)
        } else if let Some(d) = std::env::current_dir()
            .ok()
            .and_then(|c| enclosing_vault(&c))
        {
            (d, VaultSource::Enclosing)
        } else {
            (default_vault(), VaultSource::Default)
        };
        let no_color = env("NO_COLOR").is_some();
        let decide = |tty: bool| match cli.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => tty && !no_color && env("TERM").is_none_or(|t| t != "dumb"),
        };
        let stdout_tty = std::io::stdout().is_terminal();
        Context {
            vault_dir,
            vault_source,
            color_out: decide(stdout_tty),
            color_err: decide(std::io::stderr().is_terminal()),
            quiet: cli.quiet,
            stdin_tty: std::io::stdin().is_terminal(),
            stdout_tty,
            editor: env("VISUAL")
                .or_else(|| env("EDITOR"))
                .map(|s| s.to_string_lossy().into_owned()),
            home: dirs::home_dir(),
            pager: env("PAGER").map(|s| s.to_string_lossy().into_owned()),
            full_check_limit: env("KB_FULL_CHECK_LIMIT")
                .and_then(|v| v.to_str().and_then(|s| s.trim().parse().ok()))
                .unwrap_or(crate::index::DEFAULT_FULL_CHECK_LIMIT),
            full_check_interval: std::time::Duration::from_secs_f64(
                env("KB_FULL_CHECK_INTERVAL")
                    .and_then(|v| v.to_str().and_then(|s| s.trim().parse::<f64>().ok()))
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .unwrap_or(10.0),
            ),
        }
    }

    /// Open the vault, or explain how to create one.
    pub fn vault(&self) -> Result<Vault> {
        Vault::open(&self.vault_dir)
    }

    /// Whether the person can be asked a question.
    pub fn interactive(&self) -> bool {
        self.stdin_tty && self.stdout_tty
    }

    pub fn require_vault(&self) -> Result<Vault> {
        self.vault().map_err(|_| KbError::NoVault {
            path: self.vault_dir.clone(),
        })
    }
}

/// The default vault: `kb` in the home folder (`~/kb`, `%USERPROFILE%\kb`).
pub fn default_vault() -> PathBuf {
    dirs::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("kb")
}

/// The nearest folder at or above `start` that holds a `kb.toml`.
fn enclosing_vault(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(CONFIG_FILE).is_file())
        .map(Path::to_path_buf)
}
