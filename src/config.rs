//! Configuration files: the vault's `kb.toml` (team settings, committed with the notes) and
//! the person's own `config.toml` in the platform's configuration folder
//! (`~/.config/kb/config.toml`, `~/Library/Application Support/kb/config.toml`,
//! `%APPDATA%\kb\config.toml`). Unknown keys and wrong types are warnings, never fatal.

use std::path::{Path, PathBuf};

/// Personal settings.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct UserConfig {
    /// Editor command (words, no shell), before `$VISUAL` and `$EDITOR`.
    pub editor: Option<String>,
    /// Default vault, used when neither `--dir`, `KB_DIR` nor an enclosing vault says otherwise.
    pub vault: Option<PathBuf>,
    /// `auto`, `always` or `never`.
    pub color: Option<String>,
    /// How kb reaches remotes: `auto` (the `git` executable when installed), `libgit2`, or
    /// the path of a git executable.
    pub git: Option<String>,
    /// Seconds a remote may stay silent before `kb sync` gives up.
    pub sync_timeout: Option<f64>,
    /// Named vaults (`[vaults.NAME]`), searched together when no single vault is asked for.
    pub vaults: Vec<VaultSpec>,
    /// The vault writes go to (`default_vault`); the first one listed when unset.
    pub default_vault: Option<String>,
    /// `[mcp] allow_write = true`: `kb mcp` offers its write tools.
    pub mcp_allow_write: bool,
    /// The folder of a sentence-embedding model (`KB_MODEL` wins): typed questions are also
    /// matched by meaning ([`crate::embed`]).
    pub model: Option<PathBuf>,
}

/// One named vault of the person's configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VaultSpec {
    pub name: String,
    pub path: PathBuf,
    /// Searched, never written (a vendor's or another team's notes).
    pub read_only: bool,
}

/// Team settings of a vault.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VaultConfig {
    /// URL of the team's remote: `kb sync` adds it as `origin` when the repository has none.
    pub remote: Option<String>,
    /// Tags every new note gets.
    pub default_tags: Vec<String>,
    /// A note template, relative to the vault: its text replaces the Problem / Cause / Fix
    /// skeleton of `kb add` (`{{title}}` is replaced by the title).
    pub template: Option<String>,
    /// Folder of the vault for new notes.
    pub folder: Option<String>,
}

/// Team settings file committed in the vault; also marks a folder as a vault.
pub const CONFIG_FILE: &str = "kb.toml";

/// The person's configuration file.
pub fn user_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("kb").join("config.toml"))
}

/// Read a TOML table; a missing file is empty, a broken one a warning.
fn read_table(path: &Path, warnings: &mut Vec<String>) -> toml::Table {
    let Ok(text) = std::fs::read_to_string(path) else {
        return toml::Table::new();
    };
    match text.parse::<toml::Table>() {
        Ok(t) => t,
        Err(e) => {
            warnings.push(format!(
                "{}: not valid TOML ({}); ignored",
                path.display(),
                e.message()
            ));
            toml::Table::new()
        }
    }
}

fn string(
    table: &toml::Table,
    key: &str,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Option<String> {
    match table.get(key)? {
        toml::Value::String(s) => Some(s.clone()),
        _ => {
            warnings.push(format!(
                "{}: `{key}` should be a string; ignored",
                path.display()
            ));
            None
        }
    }
}

fn unknown_keys(table: &toml::Table, known: &[&str], path: &Path, warnings: &mut Vec<String>) {
    for k in table.keys() {
        if !known.contains(&k.as_str()) {
            warnings.push(format!(
                "{}: unknown key `{k}` (known: {})",
                path.display(),
                known.join(", ")
            ));
        }
    }
}

pub fn load_user(path: &Path, warnings: &mut Vec<String>) -> UserConfig {
    let t = read_table(path, warnings);
    unknown_keys(
        &t,
        &[
            "editor",
            "vault",
            "color",
            "git",
            "sync_timeout",
            "vaults",
            "default_vault",
            "mcp",
            "model",
        ],
        path,
        warnings,
    );
    let sync_timeout = match t.get("sync_timeout") {
        None => None,
        Some(v) => match v.as_float().or(v.as_integer().map(|i| i as f64)) {
            Some(s) if s.is_finite() && s > 0.0 && s < 1e7 => Some(s),
            _ => {
                warnings.push(format!(
                    "{}: `sync_timeout` should be a number of seconds; ignored",
                    path.display()
                ));
                None
            }
        },
    };
    let color = string(&t, "color", path, warnings).filter(|c| {
        let ok = matches!(c.as_str(), "auto" | "always" | "never");
        if !ok {
            warnings.push(format!(
                "{}: `color` is auto, always or never; ignored",
                path.display()
            ));
        }
        ok
    });
    UserConfig {
        editor: string(&t, "editor", path, warnings),
        vault: string(&t, "vault", path, warnings).map(|v| expand_home(&v)),
        color,
        git: string(&t, "git", path, warnings),
        sync_timeout,
        vaults: vaults(&t, path, warnings),
        default_vault: string(&t, "default_vault", path, warnings),
        model: string(&t, "model", path, warnings)
            .filter(|m| !m.is_empty())
            .map(|m| expand_home(&m)),
        mcp_allow_write: match t.get("mcp").map(|m| m.get("allow_write")) {
            None | Some(None) => false,
            Some(Some(toml::Value::Boolean(b))) => *b,
            Some(Some(_)) => {
                warnings.push(format!(
                    "{}: `mcp.allow_write` is true or false; ignored",
                    path.display()
                ));
                false
            }
        },
    }
}

/// `[vaults.NAME]` tables: `path` (required), `read_only` (false); in the file's order.
fn vaults(t: &toml::Table, path: &Path, warnings: &mut Vec<String>) -> Vec<VaultSpec> {
    let Some(v) = t.get("vaults") else {
        return Vec::new();
    };
    let Some(table) = v.as_table() else {
        warnings.push(format!(
            "{}: `vaults` should be tables like [vaults.team]; ignored",
            path.display()
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, spec) in table {
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        let dir = spec.get("path").and_then(|p| p.as_str());
        match (valid_name, dir) {
            (true, Some(dir)) => out.push(VaultSpec {
                name: name.clone(),
                path: expand_home(dir),
                read_only: spec
                    .get("read_only")
                    .and_then(|r| r.as_bool())
                    .unwrap_or(false),
            }),
            (false, _) => warnings.push(format!(
                "{}: vault name `{name}` should be letters, digits, - or _; ignored",
                path.display()
            )),
            (true, None) => warnings.push(format!(
                "{}: [vaults.{name}] has no `path`; ignored",
                path.display()
            )),
        }
    }
    out
}

pub fn load_vault(root: &Path, warnings: &mut Vec<String>) -> VaultConfig {
    let path = root.join(CONFIG_FILE);
    let t = read_table(&path, warnings);
    unknown_keys(
        &t,
        &["remote", "default_tags", "template", "folder"],
        &path,
        warnings,
    );
    let default_tags = match t.get("default_tags") {
        None => Vec::new(),
        Some(toml::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            warnings.push(format!(
                "{}: `default_tags` should be a list of strings; ignored",
                path.display()
            ));
            Vec::new()
        }
    };
    VaultConfig {
        remote: string(&t, "remote", &path, warnings),
        default_tags,
        template: string(&t, "template", &path, warnings),
        folder: string(&t, "folder", &path, warnings),
    }
}

/// `~`, `~/notes` (and `~\notes`) with the home folder put in, as a shell would.
pub fn expand_home(p: &str) -> PathBuf {
    let Some(home) = dirs::home_dir() else {
        return PathBuf::from(p);
    };
    if p == "~" {
        return home;
    }
    match p.strip_prefix("~/").or_else(|| p.strip_prefix("~\\")) {
        Some(rest) => home.join(rest),
        None => PathBuf::from(p),
    }
}

/// Where the vault path came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultSource {
    Flag,
    Env,
    Enclosing,
    UserConfig,
    /// One of the named vaults of the configuration (`default_vault`, or `--vault`).
    Named,
    Default,
}

impl VaultSource {
    pub fn describe(self) -> &'static str {
        match self {
            VaultSource::Flag => "--dir",
            VaultSource::Env => "KB_DIR",
            VaultSource::Enclosing => "kb.toml above the current folder",
            VaultSource::UserConfig => "user config",
            VaultSource::Named => "[vaults] of user config",
            VaultSource::Default => "default",
        }
    }
}

/// Which vault: `--dir`, else `$KB_DIR`, else the nearest folder at or above the current one
/// that holds a `kb.toml`, else the user configuration's, else `~/kb`.
pub fn locate_vault(dir_flag: Option<&Path>, user_vault: Option<&Path>) -> (PathBuf, VaultSource) {
    if let Some(d) = dir_flag {
        (d.to_path_buf(), VaultSource::Flag)
    } else if let Some(d) = std::env::var_os("KB_DIR").filter(|v| !v.is_empty()) {
        (PathBuf::from(d), VaultSource::Env)
    } else if let Some(d) = std::env::current_dir()
        .ok()
        .and_then(|c| enclosing_vault(&c))
    {
        (d, VaultSource::Enclosing)
    } else if let Some(d) = user_vault {
        (d.to_path_buf(), VaultSource::UserConfig)
    } else {
        (default_vault(), VaultSource::Default)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_folder_is_put_in_for_a_leading_tilde() {
        let home = dirs::home_dir().unwrap();
        assert_eq!(expand_home("~"), home);
        assert_eq!(expand_home("~/kb"), home.join("kb"));
        assert_eq!(expand_home("~\\kb"), home.join("kb"));
        assert_eq!(expand_home("/srv/kb~"), PathBuf::from("/srv/kb~"));
        assert_eq!(expand_home("~other/kb"), PathBuf::from("~other/kb"));
    }

    #[test]
    fn reads_known_keys_and_warns_of_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(
            &p,
            "editor = \"code --wait\"\ncolor = \"sometimes\"\nfont = 3\n",
        )
        .unwrap();
        let mut w = Vec::new();
        let c = load_user(&p, &mut w);
        assert_eq!(c.editor.as_deref(), Some("code --wait"));
        assert_eq!(c.color, None);
        assert_eq!(w.len(), 2, "{w:?}");
        std::fs::write(
            dir.path().join("kb.toml"),
            "default_tags = [\"support\"]\nfolder = \"inbox\"\n",
        )
        .unwrap();
        let mut w = Vec::new();
        let v = load_vault(dir.path(), &mut w);
        assert_eq!(v.default_tags, vec!["support"]);
        assert_eq!(v.folder.as_deref(), Some("inbox"));
        assert!(w.is_empty());
        std::fs::write(dir.path().join("kb.toml"), "not = [toml").unwrap();
        let mut w = Vec::new();
        load_vault(dir.path(), &mut w);
        assert!(w[0].contains("not valid TOML"));
    }
}
