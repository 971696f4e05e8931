//! The CLI's one way to the terminal: colour on stdout and on stderr, quiet, progress, and the
//! shape of kb's messages (`kb: warning: ...`, `kb: error: ...` and its hint). Commands hold a
//! [`Ui`] (in their context) and never decide colour or quiet themselves; the domain modules
//! under them return values and print nothing.

use crate::output::{self, sanitize};
use anstyle::Style;
use std::io::{self, Write};

/// How the CLI speaks, decided once at start (see `Context::from_cli`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ui {
    color_out: bool,
    color_err: bool,
    quiet: bool,
    /// Progress bars on stderr (a terminal, not quiet).
    progress: bool,
}

impl Ui {
    pub fn new(color_out: bool, color_err: bool, quiet: bool, stderr_tty: bool) -> Ui {
        Ui {
            color_out,
            color_err,
            quiet,
            progress: stderr_tty && !quiet,
        }
    }

    /// `--quiet`: only data, warnings and errors.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether progress (bars, "syncing...") is shown on stderr.
    pub fn shows_progress(&self) -> bool {
        self.progress
    }

    /// `text` styled for stdout (plain when colour is off there).
    pub fn out(&self, style: Style, text: &str) -> String {
        paint(self.color_out, style, text)
    }

    /// `text` styled for stderr.
    pub fn err(&self, style: Style, text: &str) -> String {
        paint(self.color_err, style, text)
    }

    /// `kb: warning: MSG` on stderr (shown even when quiet).
    pub fn warn(&self, msg: &str) {
        let _ = writeln!(
            io::stderr().lock(),
            "kb: {} {}",
            self.err(output::WARN, "warning:"),
            sanitize(msg)
        );
    }

    /// A status line on stderr, unless quiet.
    pub fn say(&self, msg: &str) {
        if !self.quiet {
            self.tell(msg);
        }
    }

    /// A line on stderr that is shown even when quiet (what the person asked for, the way
    /// out of a problem).
    pub fn tell(&self, msg: &str) {
        let _ = writeln!(io::stderr().lock(), "{}", sanitize(msg));
    }

    /// `kb: hint: HINT` on stderr.
    pub fn hint(&self, hint: &str) {
        let _ = writeln!(
            io::stderr().lock(),
            "kb: {} {}",
            self.err(output::LABEL, "hint:"),
            sanitize(hint)
        );
    }

    /// `kb: error: ...` with its causes, then a `hint:` line when one helps.
    pub fn error(&self, e: &anyhow::Error) {
        let mut msg = e.to_string();
        for cause in e.chain().skip(1) {
            let s = cause.to_string();
            if !msg.contains(&s) {
                msg.push_str(": ");
                msg.push_str(&s);
            }
        }
        let _ = writeln!(
            io::stderr().lock(),
            "kb: {} {}",
            self.err(output::ERROR, "error:"),
            sanitize(&msg)
        );
        if let Some(hint) = e
            .chain()
            .find_map(|c| c.downcast_ref::<crate::error::KbError>())
            .and_then(|k| k.hint())
        {
            self.hint(&hint);
        }
    }

    /// Machine output on stdout's writer: `value` as pretty JSON and a newline (never
    /// coloured, never quieted: scripts read it).
    pub fn json(&self, out: &mut impl Write, value: &impl serde::Serialize) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, value)?;
        writeln!(out)
    }

    /// Install the progress bar and the notices of long waits for this process.
    pub fn install_progress(&self) {
        if self.progress {
            crate::progress::install(output::progress_bar());
        }
        if !self.quiet {
            let ui = *self;
            crate::progress::install_notice(Box::new(move |m| ui.tell(&format!("kb: {m}"))));
        }
    }
}

/// `text` in `style` when `color` is on.
fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_is_decided_per_stream() {
        let ui = Ui::new(true, false, false, false);
        assert_ne!(ui.out(output::ID, "x"), "x");
        assert_eq!(ui.err(output::ID, "x"), "x");
        assert!(!ui.shows_progress());
        assert!(Ui::new(false, false, false, true).shows_progress());
        assert!(!Ui::new(false, false, true, true).shows_progress());
    }
}
