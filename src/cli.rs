//! The command-line definition (clap only; no logic here).

use crate::complete::{note_ids, tag_names};
use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kb",
    version,
    about = "An external brain for tech support: fix notes in markdown, found again by pasting the error",
    long_about = None,
    after_help = "Exit status (every command): 0 found or done; 1 nothing found, nothing written or nothing changed; 2 error.\n\
                  The vault is --dir, else $KB_DIR, else the folder holding kb.toml above the current one, else the vaults named in config.toml\n\
                  ([vaults.NAME], searched together; writes go to default_vault; --vault NAME chooses), else ~/kb."
)]
pub struct Cli {
    /// The vault (folder of notes) to use
    #[arg(long, short = 'd', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// A vault named in the configuration (repeatable): search only these; write to this one
    #[arg(long = "vault", global = true, value_name = "NAME")]
    pub vaults: Vec<String>,

    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Print no progress or status messages (errors and data only)
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a vault (a git repository of notes), or adopt a folder of markdown
    Init(InitArgs),
    /// Record a fix: opens your editor on a template, or takes everything from flags and stdin
    Add(AddArgs),
    /// Find notes by pasted error text or words (reads stdin when QUERY is `-` or absent)
    Search(SearchArgs),
    /// Pick a note interactively: results and the fix update as you type or paste
    Pick(PickArgs),
    /// Print a note
    Show(ShowArgs),
    /// Open a note in your editor, then re-index and commit it
    Edit(EditArgs),
    /// List notes, newest first
    List(ListArgs),
    /// Attach a new variant of an error to the note that fixes it
    Link(LinkArgs),
    /// Record that a note's fix worked on a call (one line in its `outcomes:`, committed)
    Worked(WorkedArgs),
    /// Record that a note's fix did not work on a call
    Failed(FailedArgs),
    /// Record that a note's fix was checked and still works (`verified:` today)
    Verify(VerifyArgs),
    /// Errors searched for that no note answers yet, most frequent first: what to document next
    Misses(MissesArgs),
    /// Report which lines of a log match known fixes
    Scan(ScanArgs),
    /// Bring the search index up to date (it is a cache: --rebuild recreates it)
    Index(IndexArgs),
    /// Commit notes edited by hand, then fetch, merge and push through git
    Sync(SyncArgs),
    /// Start on another machine: clone a vault's repository and index it
    Clone(CloneArgs),
    /// Tags with how many notes carry each
    Tags(TagsArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `kb man > ~/.local/share/man/man1/kb.1`; `--out DIR` writes every page
    Man(ManArgs),
    /// Show the effective settings and where each comes from
    Config(ConfigArgs),
    /// Serve the vaults to an AI assistant (Model Context Protocol over stdio)
    Mcp(McpArgs),
    /// Serve a read-only web view of the vaults (search and read notes in a browser)
    Serve(ServeArgs),
    /// The optional embedding model that matches typed questions by meaning
    Model(ModelArgs),
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub action: ModelAction,
}

#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Load a model (PATH, else the configured one), embed a sentence, say what it is and how
    /// fast it runs
    Check {
        /// A sentence-transformers folder (config.json, tokenizer.json, model.safetensors)
        path: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on (0: any free port; the address is printed)
    #[arg(long, short, default_value_t = crate::web::DEFAULT_PORT)]
    pub port: u16,
    /// The address to listen on; another than 127.0.0.1 makes the notes visible to that
    /// network
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    pub bind: std::net::IpAddr,
}

#[derive(Debug, Args)]
pub struct McpArgs {
    /// Offer the write tools too (add, link, record_outcome); also `[mcp] allow_write = true`
    /// in config.toml
    #[arg(long)]
    pub allow_write: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print a JSON array of {key, value, source}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder for the vault (created if missing; default: --dir, else $KB_DIR, else the current folder)
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    /// Title of the note (also its file name)
    #[arg(long, short = 't')]
    pub title: Option<String>,
    /// An error message this note fixes (repeatable)
    #[arg(
        long = "error",
        short = 'e',
        value_name = "TEXT",
        allow_hyphen_values = true
    )]
    pub errors: Vec<String>,
    /// A tag (repeatable)
    #[arg(long = "tag", value_name = "TAG", add = ArgValueCandidates::new(tag_names))]
    pub tags: Vec<String>,
    /// What the customer saw
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub problem: Option<String>,
    /// Why it happened
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub cause: Option<String>,
    /// The steps that worked
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub fix: Option<String>,
    /// What gets the customer going until the real fix is done
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub workaround: Option<String>,
    /// Known-error state: workaround (only a workaround is known), fixed, retired
    #[arg(long, value_enum)]
    pub status: Option<KnownStatus>,
    /// The product, version or OS the fix applies to (repeatable)
    #[arg(long = "applies-to", value_name = "TEXT")]
    pub applies_to: Vec<String>,
    /// Folder inside the vault for the new note
    #[arg(long, value_name = "FOLDER")]
    pub folder: Option<String>,
    /// Never open the editor (everything comes from flags and stdin)
    #[arg(long)]
    pub no_edit: bool,
    /// Open the editor even when kb is not run from a terminal
    #[arg(long, conflicts_with = "no_edit")]
    pub edit: bool,
    /// Do not ask: add even if the error already matches a note
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Mask likely secrets (keys, tokens, passwords, e-mail addresses) without asking
    #[arg(long)]
    pub redact: bool,
}

/// A note's known-error state (front matter `status:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KnownStatus {
    Workaround,
    Fixed,
    Retired,
}

impl KnownStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KnownStatus::Workaround => "workaround",
            KnownStatus::Fixed => "fixed",
            KnownStatus::Retired => "retired",
        }
    }
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The pasted error or words; `-` or nothing reads stdin. Taken literally: no syntax.
    #[arg(allow_hyphen_values = true, value_name = "QUERY")]
    pub query: Option<String>,
    /// More words of the query (`kb search outlook password` is one query)
    #[arg(value_name = "MORE", hide = true)]
    pub more: Vec<String>,
    /// At most this many results [default: 5; with -i, 30]
    #[arg(long, short = 'n', value_parser = limit)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Print a JSON array of hits
    #[arg(long)]
    pub json: bool,
    /// Show why each hit ranked where it did
    #[arg(long)]
    pub explain: bool,
    /// One line per hit: id, title, path, separated by tabs (the default when stdout is not a
    /// terminal, for `| fzf --preview 'kb show {1}'`)
    #[arg(long, conflicts_with_all = ["json", "long"])]
    pub plain: bool,
    /// Snippet and fix under each hit even when stdout is not a terminal
    #[arg(long, conflicts_with = "json")]
    pub long: bool,
    /// Pick interactively (as `kb pick`)
    #[arg(long, short = 'i', conflicts_with_all = ["json", "plain"])]
    pub interactive: bool,
}

/// Which notes a search, the picker or a listing keeps: one definition, flattened into each
/// (a new filter is added here and in [`crate::filter::Filter`], and every command has it).
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only notes with this tag (repeatable; all must match)
    #[arg(long = "tag", value_name = "TAG", add = ArgValueCandidates::new(tag_names))]
    pub tags: Vec<String>,
    /// Only notes changed (updated, created, else the file) since a date or an age: 2026-11-01, 7d, 2w, 3m
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

impl FilterArgs {
    /// The filter these flags ask for (a bad date is an error naming it).
    pub fn filter(&self) -> crate::error::Result<crate::filter::Filter> {
        crate::filter::Filter::new(&self.tags, self.since.as_deref())
    }
}

#[derive(Debug, Args)]
pub struct PickArgs {
    /// Text to start with
    #[arg(allow_hyphen_values = true)]
    pub query: Option<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// At most this many results
    #[arg(long, short = 'n', value_parser = limit)]
    pub limit: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The note: its id (folder/name) or a unique file name
    #[arg(add = ArgValueCandidates::new(note_ids))]
    pub id: String,
    /// Print only the Fix section
    #[arg(long)]
    pub fix: bool,
    /// Also put the Fix section on the clipboard (a clipboard tool, else the terminal's OSC 52)
    #[arg(long, requires = "fix")]
    pub copy: bool,
    /// Print the note as JSON
    #[arg(long, conflicts_with = "fix")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The note: its id (folder/name) or a unique file name
    #[arg(add = ArgValueCandidates::new(note_ids))]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// At most this many notes
    #[arg(long, short = 'n', value_parser = limit)]
    pub limit: Option<usize>,
    /// Print a JSON array
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The new error text (`-` reads stdin)
    #[arg(allow_hyphen_values = true)]
    pub error: String,
    /// The note to attach it to (default: choose among the best matches)
    #[arg(add = ArgValueCandidates::new(note_ids))]
    pub note: Option<String>,
    /// Without NOTE, attach to the best match without asking
    #[arg(long)]
    pub best: bool,
    /// Mask likely secrets (keys, tokens, passwords, e-mail addresses) without asking
    #[arg(long)]
    pub redact: bool,
}

#[derive(Debug, Args)]
pub struct WorkedArgs {
    /// The note whose fix worked
    #[arg(add = ArgValueCandidates::new(note_ids))]
    pub note: String,
    /// The ticket or call it was used on
    #[arg(long, value_name = "TICKET")]
    pub ticket: Option<String>,
    /// How long the fix took, in minutes
    #[arg(long, value_name = "N")]
    pub minutes: Option<u32>,
}

#[derive(Debug, Args)]
pub struct FailedArgs {
    /// The note whose fix did not work
    #[arg(add = ArgValueCandidates::new(note_ids))]
    pub note: String,
    /// The ticket or call it was tried on
    #[arg(long, value_name = "TICKET")]
    pub ticket: Option<String>,
    /// What went wrong
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub why: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The note checked
    #[arg(add = ArgValueCandidates::new(note_ids))]
    pub note: String,
}

#[derive(Debug, Args)]
pub struct MissesArgs {
    /// Print a JSON array of {query, count, first_seen, last_seen}
    #[arg(long)]
    pub json: bool,
    /// Also list misses that a note answers by now
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The log file (`-` or nothing reads stdin)
    pub file: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// How close a line must be to a recorded error (0..1)
    #[arg(long, default_value_t = crate::matcher::SCAN_THRESHOLD, value_parser = threshold)]
    pub threshold: f32,
}

#[derive(Debug, Args)]
pub struct TagsArgs {
    /// Print a JSON array of {tag, notes}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The page of one command (`kb man search` prints kb-search(1)); default: kb(1)
    pub command: Option<String>,
    /// Write kb.1 and every kb-COMMAND.1 into this folder instead
    #[arg(long, value_name = "FOLDER", conflicts_with = "command")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The remote to sync with (default: the branch's upstream, else origin)
    #[arg(long)]
    pub remote: Option<String>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// Push notes even if they hold a private key
    #[arg(long)]
    pub allow_secrets: bool,
    /// List every note that came in or went out (by default the first few of each list)
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The repository: an SSH or HTTPS URL, file:// URL, or a path
    pub url: String,
    /// Folder to create (default: the repository's name)
    pub dir: Option<std::path::PathBuf>,
    /// The branch to check out (default: the one the remote's HEAD names)
    #[arg(long, short = 'b')]
    pub branch: Option<String>,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Recreate the index from scratch (the notes' vectors are kept: they depend only on the
    /// notes and the model)
    #[arg(long)]
    pub rebuild: bool,
}

/// The most results or notes one command prints.
pub const MAX_LIMIT: usize = 10_000;

/// `--limit N`: a whole number from 1 to [`MAX_LIMIT`].
fn limit(s: &str) -> Result<usize, String> {
    let n: u128 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number (1 to {MAX_LIMIT})"))?;
    match n {
        0 => Err("must be at least 1".into()),
        n if n > MAX_LIMIT as u128 => Err(format!("at most {MAX_LIMIT}")),
        n => Ok(n as usize),
    }
}

/// `--threshold X`: from 0 to 1.
fn threshold(s: &str) -> Result<f32, String> {
    let x: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number from 0 to 1"))?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!("'{s}' is not a number from 0 to 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
