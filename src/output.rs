//! Terminal output: styles used when colour is on, and sanitising note text before it reaches
//! a terminal (control and bidi characters could rewrite the screen or hide text).

use anstyle::{AnsiColor, Effects, Style};
use std::io::{self, Write};

pub const ID: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
pub const TITLE: Style = Style::new().effects(Effects::BOLD);
pub const DIM: Style = Style::new().effects(Effects::DIMMED);
pub const MATCH: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)))
    .effects(Effects::BOLD);
pub const LABEL: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
pub const WARN: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
pub const ERROR: Style = Style::new()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)))
    .effects(Effects::BOLD);

/// `text` in `style` when `color` is on.
pub fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// Remove characters that act on a terminal: C0/C1 controls (except newline and tab) and
/// bidirectional overrides.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            c == '\n'
                || c == '\t'
                || !(c.is_control()
                    || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}'))
        })
        .collect()
}

/// Sanitise and fold every run of whitespace into one space.
pub fn one_line(s: &str) -> String {
    sanitize(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A message on stderr: `kb: warning: ...`.
pub fn warn(color: bool, msg: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(
        err,
        "kb: {} {}",
        paint(color, WARN, "warning:"),
        sanitize(msg)
    );
}

/// A status line on stderr.
pub fn status(msg: &str) {
    let _ = writeln!(io::stderr().lock(), "{}", sanitize(msg));
}

/// Ask a yes/no question on the terminal; default no.
pub fn confirm(question: &str) -> bool {
    let mut err = io::stderr().lock();
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    if io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
}

/// Read one line of an answer from the terminal.
pub fn ask(question: &str) -> String {
    let mut err = io::stderr().lock();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    let mut answer = String::new();
    let _ = io::stdin().read_line(&mut answer);
    answer.trim().to_string()
}

/// Like [`one_line`], but keeps one space at either end if the text had whitespace there
/// (for joining pieces of a highlighted snippet).
pub fn one_line_keep_edges(s: &str) -> String {
    let core = one_line(s);
    if core.is_empty() {
        return if s.is_empty() {
            String::new()
        } else {
            " ".into()
        };
    }
    let lead = if s.starts_with(char::is_whitespace) {
        " "
    } else {
        ""
    };
    let trail = if s.ends_with(char::is_whitespace) {
        " "
    } else {
        ""
    };
    format!("{lead}{core}{trail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_terminal_controls() {
        assert_eq!(sanitize("a\u{1b}[2Jb\u{202e}c\td\n"), "a[2Jbc\td\n");
        assert_eq!(one_line("  a \n\n b\t"), "a b");
    }
}
