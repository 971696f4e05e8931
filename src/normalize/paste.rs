//! Pastes and quoted lines: log prefixes, which lines read as errors, which lines of a note's
//! code are input (commands, settings) rather than output.

use super::*;

/// Words that mark a line as carrying an error.
pub(super) const ERROR_WORDS: &[&str] = &[
    "error",
    "errors",
    "fail",
    "failed",
    "failure",
    "fatal",
    "exception",
    "denied",
    "refused",
    "cannot",
    "can't",
    "unable",
    "invalid",
    "timeout",
    "timed",
    "panic",
    "abort",
    "aborted",
    "crash",
    "crashed",
    "unreachable",
    "rejected",
    "forbidden",
    "unauthorized",
    "not",
    "missing",
    "corrupt",
    "critical",
    "severe",
    "traceback",
    "caused",
    "warning",
    "unavailable",
    "expired",
    "lost",
    "incorrect",
];

/// A line of a multi-line paste, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasteLine {
    /// 1-based line number in the paste.
    pub line: usize,
    pub tokens: Vec<Token>,
    /// Whether the line reads as an error (it then weighs more).
    pub is_error: bool,
    /// The line as pasted, log prefix removed.
    pub raw: String,
}

/// Whether a line reads as an error message: it holds an error code, an error word
/// (`failed`, `denied`, `refused`...), or `Error` / `Exception` in a name. This is the one
/// definition kb uses for pastes, for lines of a note's code blocks, inline code and quotes.
pub fn reads_as_error(line: &str) -> bool {
    tokens_read_as_error(line, &normalize(strip_log_prefix(line)))
}

/// A line of a note's code that is input rather than output: a command typed at a prompt
/// (`$ git log`, `>>> f()`, `PS C:\> Get-Item`), a comment, or an assignment or setting
/// (`kill_timeout = 5`). It is not an error message, whatever words it holds. (Other
/// statements stay: `raise ValueError("rows must be a list")` quotes the message itself.)
pub fn is_code_line(line: &str) -> bool {
    let t = line.trim_start();
    const PROMPTS: &[&str] = &["$ ", "# ", "> ", ">>> ", "... ", "% ", "PS ", "//", "-- "];
    if PROMPTS.iter().any(|p| t.starts_with(p)) {
        return true;
    }
    // `name = value`, `name: type = value`, `obj.attr = value`: an assignment or setting.
    let name_end = t
        .find(|c: char| !(c.is_alphanumeric() || "_.-[]'\"".contains(c)))
        .unwrap_or(t.len());
    name_end > 0
        && t[name_end..].trim_start().starts_with('=')
        && !t[name_end..].trim_start().starts_with("==")
}

pub(super) fn tokens_read_as_error(raw: &str, tokens: &[Token]) -> bool {
    tokens.iter().any(|t| match t {
        Token::Code(_) => true,
        Token::Word(w) => ERROR_WORDS.contains(&w.as_str()),
        Token::Var(_) => false,
    }) || raw.contains("Exception")
        || raw.contains("Error")
        || ERROR_PHRASES.iter().any(|p| contains_ignore_case(raw, p))
}

/// Messages that say something went wrong without an error word of their own.
pub(super) const ERROR_PHRASES: &[&str] = &[
    "no such file",
    "no module named",
    "command not found",
    "segmentation fault",
    "too many requests",
    "out of memory",
];

pub(super) fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Normalise a paste of one or many lines: strip log prefixes, drop blank and repeated lines.
pub fn normalize_paste(text: &str) -> Vec<PasteLine> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = strip_log_prefix(raw);
        let tokens = normalize(line);
        if tokens.is_empty() || tokens.iter().all(|t| matches!(t, Token::Var(_))) {
            continue;
        }
        if !seen.insert(join(&tokens)) {
            continue;
        }
        let is_error = tokens_read_as_error(raw, &tokens);
        out.push(PasteLine {
            line: n + 1,
            tokens,
            is_error,
            raw: line.to_string(),
        });
    }
    out
}

/// Words that are a log level when they stand at the start of a line.
pub(super) const LEVELS: &[&str] = &[
    "TRACE",
    "DEBUG",
    "INFO",
    "INFORMATION",
    "NOTICE",
    "WARN",
    "WARNING",
    "ERROR",
    "ERR",
    "SEVERE",
    "FATAL",
    "CRITICAL",
    "CRIT",
    "ALERT",
    "EMERG",
    "V",
    "D",
    "I",
    "W",
    "E",
    "F",
];

/// Remove a log-line prefix: timestamps, dates, levels, `[bracketed]` fields, a numeric field,
/// and a `host process[pid]:` / `component:` header that follows them.
pub fn strip_log_prefix(line: &str) -> &str {
    let mut rest = line.trim_start();
    let mut stripped_any = false;
    loop {
        let (chunk, after) = match rest.find(char::is_whitespace) {
            Some(i) => (&rest[..i], rest[i..].trim_start()),
            None => (rest, ""),
        };
        if chunk.is_empty() {
            break;
        }
        let bare = chunk.trim_matches(|c: char| "[](),:|".contains(c));
        let is_prefix = is_month(bare)
            || is_date_like(bare)
            || is_time_like(bare)
            || (bare
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                && !bare.is_empty())
            || LEVELS.contains(&bare.trim_end_matches(':'))
            || (chunk.starts_with('[') && chunk.ends_with(']') && stripped_any)
            || (chunk.starts_with('<') && chunk.ends_with('>') && chunk.len() <= 6);
        if !is_prefix || after.is_empty() {
            break;
        }
        rest = after;
        stripped_any = true;
    }
    if stripped_any {
        // `host proc[123]: message` or `proc[123]: message` (syslog) after a timestamp.
        if let Some(colon) = rest.find(": ") {
            let head = &rest[..colon];
            let words = head.split_whitespace().count();
            if words <= 2 && (head.ends_with(']') || words == 2) && !head.contains('"') {
                return rest[colon + 2..].trim_start();
            }
        }
    }
    rest
}
