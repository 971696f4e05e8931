//! Opening the person's editor on a file, without a shell: the editor command is split into
//! words (so `code --wait` works) and the file is passed as one argument, so no text from a
//! note or a title is ever interpreted by a shell.

use crate::error::{KbError, Result};
use std::path::Path;
use std::process::Command;

/// The editor used when neither VISUAL nor EDITOR is set.
pub fn fallback() -> &'static str {
    if cfg!(windows) {
        "notepad"
    } else {
        "vi"
    }
}

/// Run `editor` on `file` and wait for it to exit.
pub fn edit(editor: Option<&str>, file: &Path) -> Result<()> {
    let cmdline: &str = editor.unwrap_or(fallback());
    let words = shell_words::split(cmdline).map_err(|e| KbError::Editor {
        editor: cmdline.to_string(),
        reason: e.to_string(),
    })?;
    let Some((program, args)) = words.split_first() else {
        return Err(KbError::Editor {
            editor: cmdline.to_string(),
            reason: "empty command".into(),
        });
    };
    let status = Command::new(program)
        .args(args)
        .arg(file)
        .status()
        .map_err(|e| KbError::Editor {
            editor: cmdline.to_string(),
            reason: e.to_string(),
        })?;
    if !status.success() {
        return Err(KbError::Editor {
            editor: cmdline.to_string(),
            reason: format!("it exited with {status}"),
        });
    }
    Ok(())
}
