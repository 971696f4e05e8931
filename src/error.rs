//! Typed errors of the domain modules, each with an optional remedy (`hint`).
//!
//! Commands wrap these in `anyhow` with context; `main` walks the error chain to find the
//! first `KbError` and prints its hint under the message.

use std::path::PathBuf;

/// Exit status: something was found / done.
pub const EXIT_OK: i32 = 0;
/// Exit status: nothing matched (as grep).
pub const EXIT_NO_MATCH: i32 = 1;
/// Exit status: an error.
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("no vault at {}", path.display())]
    NoVault { path: PathBuf },

    #[error("no note matches '{0}'")]
    NoteNotFound(String),

    #[error("'{query}' names several notes: {}", candidates.join(", "))]
    AmbiguousId {
        query: String,
        candidates: Vec<String>,
    },

    #[error("a note already exists at {}", .0.display())]
    NoteExists(PathBuf),

    #[error("{0}")]
    InvalidInput(String),

    #[error("the path '{0}' would leave the vault")]
    OutsideVault(String),

    #[error("cannot edit the front matter of {path}: {reason}")]
    FrontMatterEdit { path: String, reason: String },

    #[error("the editor '{editor}' failed: {reason}")]
    Editor { editor: String, reason: String },

    #[error("another kb process is updating the index and did not finish in time")]
    IndexBusy,

    #[error("index: {0}")]
    Index(#[from] tantivy::TantivyError),

    #[error("git: {}", .0.message())]
    Git(#[from] git2::Error),
}

impl KbError {
    /// One line that tells the person what to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            KbError::NoVault { path } => Some(format!(
                "create one with `kb init {}`, or point kb at an existing one with --dir or KB_DIR",
                path.display()
            )),
            KbError::NoteNotFound(_) => {
                Some("`kb list` shows the ids; `kb search` finds notes by content".into())
            }
            KbError::AmbiguousId { .. } => {
                Some("give the full id (folder/name) of the note you mean".into())
            }
            KbError::NoteExists(_) => {
                Some("choose another title, or edit the existing note with `kb edit`".into())
            }
            KbError::IndexBusy => Some(
                "try again in a moment; if no other kb is running, `kb index --rebuild` repairs the index"
                    .into(),
            ),
            KbError::Index(_) => {
                Some("the index is a cache: `kb index --rebuild` recreates it from the notes".into())
            }
            KbError::Editor { .. } => {
                Some("set VISUAL or EDITOR to an editor command, e.g. `export EDITOR=nano`".into())
            }
            KbError::FrontMatterEdit { .. } => {
                Some("fix the note's front matter by hand (`kb edit`), then try again".into())
            }
            _ => None,
        }
    }
}

pub type Result<T, E = KbError> = std::result::Result<T, E>;
