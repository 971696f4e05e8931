//! The process exit status, in one place, with the same meaning for every command (as grep
//! and ripgrep): 0 found or done, 1 nothing found or nothing to do, 2 an error.

/// What a command's run means to a script that called it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Something was found, written, changed or shown.
    Success,
    /// Nothing matched, nothing was written, nothing changed (not an error).
    NothingFound,
    /// Something went wrong; the message is on stderr.
    Error,
}

impl ExitCode {
    /// The status the process exits with.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::NothingFound => 1,
            ExitCode::Error => 2,
        }
    }

    /// Success when `found`, else NothingFound.
    pub fn found(found: bool) -> ExitCode {
        if found {
            ExitCode::Success
        } else {
            ExitCode::NothingFound
        }
    }
}
