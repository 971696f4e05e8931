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

/// Ask a yes/no question on the terminal; default yes.
pub fn confirm_default_yes(question: &str) -> bool {
    let mut err = io::stderr().lock();
    let _ = write!(err, "{question} [Y/n] ");
    let _ = err.flush();
    let mut answer = String::new();
    if io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    !matches!(answer.trim().to_lowercase().as_str(), "n" | "no")
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

/// Show text through a pager on a terminal: `$PAGER` (split into words, run without a shell),
/// else `less -FRX` (which prints short text and exits); without either, print it.
pub fn page(pager: Option<&str>, text: &str) -> io::Result<()> {
    use std::process::{Command, Stdio};
    let words = match pager {
        Some(p) => shell_words::split(p).unwrap_or_default(),
        None => vec!["less".into(), "-FRX".into()],
    };
    if let Some((prog, args)) = words.split_first() {
        if let Ok(mut child) = Command::new(prog).args(args).stdin(Stdio::piped()).spawn() {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(text.as_bytes());
            }
            child.wait()?;
            return Ok(());
        }
    }
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Put text on the clipboard: the platform's clipboard tool if one is there (run without a
/// shell); inside tmux, tmux's paste buffer (which tmux hands on to the terminal's clipboard
/// when its `set-clipboard` option allows); else the terminal's OSC 52 sequence (works over SSH
/// in most terminals, but nothing confirms it arrived). Returns where the text went, as words
/// that follow "the fix is".
pub fn copy_to_clipboard(text: &str) -> io::Result<String> {
    use base64::Engine;
    use std::io::IsTerminal;
    let tools: &[(&str, &[&str])] = if cfg!(target_os = "macos") {
        &[("pbcopy", &[])]
    } else if cfg!(windows) {
        &[("clip.exe", &[])]
    } else {
        &[
            ("wl-copy", &[]),
            ("xclip", &["-selection", "clipboard"]),
            ("xsel", &["--clipboard", "--input"]),
        ]
    };
    let graphical = cfg!(any(target_os = "macos", windows))
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
        || std::env::var_os("DISPLAY").is_some();
    if graphical {
        for (tool, args) in tools {
            if pipe_to(tool, args, text)? {
                return Ok(format!("on the clipboard ({tool})"));
            }
        }
    }
    if std::env::var_os("TMUX").is_some() {
        // `-w` (tmux 3.2+) also sends it to the terminal's clipboard; older tmux lacks it.
        for args in [&["load-buffer", "-w", "-"][..], &["load-buffer", "-"][..]] {
            if pipe_to("tmux", args, text)? {
                return Ok("in tmux's paste buffer (prefix + ] pastes it; tmux passes it to the terminal's clipboard when `set-clipboard` is on)".into());
            }
        }
    }
    let seq = format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    );
    if io::stderr().is_terminal() {
        io::stderr().write_all(seq.as_bytes())?;
    } else if io::stdout().is_terminal() {
        io::stdout().write_all(seq.as_bytes())?;
    } else {
        return Err(io::Error::other(
            "no clipboard tool found and no terminal to send OSC 52 to",
        ));
    }
    Ok("sent to the terminal as an OSC 52 clipboard request (most terminals accept it; kb cannot confirm it arrived)".into())
}

/// Run `program args` (no shell) with `text` on its stdin; whether it ran and succeeded.
fn pipe_to(program: &str, args: &[&str], text: &str) -> io::Result<bool> {
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Ok(false);
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes())?;
    }
    Ok(child.wait()?.success())
}

/// A progress bar on stderr for work that takes more than about a second: shown only after
/// that second has passed, cleared when the work ends.
pub fn progress_bar() -> crate::progress::Hook {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::sync::Mutex;
    use std::time::Instant;
    let state: Mutex<Option<(ProgressBar, Instant, String)>> = Mutex::new(None);
    Box::new(move |what: &str, done: u64, total: u64| {
        let Ok(mut st) = state.lock() else { return };
        if st.as_ref().is_none_or(|(_, _, w)| w != what) {
            if let Some((bar, _, _)) = st.take() {
                bar.finish_and_clear();
            }
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
            bar.set_style(
                ProgressStyle::with_template("kb: {msg} {wide_bar} {pos}/{len} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(what.to_string());
            *st = Some((bar, Instant::now(), what.to_string()));
        }
        if let Some((bar, started, _)) = st.as_ref() {
            if started.elapsed().as_secs_f32() > 1.0 && bar.is_hidden() {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.set_length(total);
            bar.set_position(done);
            if done >= total {
                bar.finish_and_clear();
                *st = None;
            }
        }
    })
}

/// `1 note`, `3 notes`: a count with its noun.
pub fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `a` or `an` before a word, as it is said (`an e-mail address`, `a private key`).
pub fn article(word: &str) -> &'static str {
    match word.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o') => "an",
        _ => "a",
    }
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
