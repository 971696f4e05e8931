//! Error normalisation: reduce an error message to its constant parts.
//!
//! Two pastes of the same error differ in their variable parts: paths, user names, numbers,
//! PIDs, hosts, IPs and ports, GUIDs, memory addresses, timestamps, quoted names. This module
//! turns a message into a sequence of [`Token`]s where each variable part is replaced by a
//! placeholder of its kind (`<num>`, `<path>`, `<host>`...), while what identifies the error is
//! kept: words, HRESULT/NTSTATUS codes (`0x80070005`), symbolic codes (`ERR_CONNECTION_RESET`,
//! `EACCES`, `ORA-12154`, `E0432`) and numbers that follow a word such as `error`, `code`,
//! `event id`, `exit code`, `errno`, `HTTP` or `status`.
//!
//! The lexer ([`lexer`]) is a single pass over whitespace-separated chunks (no regex per kind),
//! so that `kb scan` can push hundreds of megabytes of log through it; what each chunk is comes
//! from the masking rules ([`rules`]); pastes and the lines of notes are handled in [`paste`];
//! how alike two normalised messages are, in [`similarity`]. All functions are pure.
//!
//! Multi-line pastes go through [`normalize_paste`]: each line loses its log prefix (timestamp,
//! level, `host process[pid]:`), duplicates are dropped, and lines that carry an error (words
//! such as `error`, `failed`, `denied`, `exception`) are marked so that they dominate ranking.

use std::fmt;

mod lexer;
mod paste;
mod rules;
mod similarity;

use lexer::*;
pub use paste::{is_code_line, normalize_paste, reads_as_error, strip_log_prefix, PasteLine};
use rules::*;
pub use similarity::{idf, similarity, token_weight, PLACEHOLDER_WEIGHT};

/// Bump whenever the output of [`normalize`] changes: indexes built with another version are
/// rebuilt, since their stored error keys would no longer compare with new pastes.
pub const VERSION: u32 = 6;

/// The kind of a variable part that was masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Var {
    Num,
    Hex,
    Guid,
    /// An IP address (v4 or v6, with or without port) or a host name: both name a machine.
    Host,
    Mac,
    Url,
    Email,
    Path,
    Date,
    Time,
    Id,
    Quoted,
}

impl Var {
    /// The placeholder written in normalised text. It survives a whitespace tokenizer.
    pub fn placeholder(self) -> &'static str {
        match self {
            Var::Num => "<num>",
            Var::Hex => "<hex>",
            Var::Guid => "<guid>",
            Var::Host => "<host>",
            Var::Mac => "<mac>",
            Var::Url => "<url>",
            Var::Email => "<email>",
            Var::Path => "<path>",
            Var::Date => "<date>",
            Var::Time => "<time>",
            Var::Id => "<id>",
            Var::Quoted => "<quoted>",
        }
    }
}

/// One constant or masked part of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Token {
    /// A lower-cased word.
    Word(String),
    /// An identifying code, lower-cased: `0x80070005`, `err_connection_reset`, `ora-12154`,
    /// or a number kept because of the word before it (`1603` in `error 1603`).
    Code(String),
    /// A masked variable part.
    Var(Var),
}

impl Token {
    pub fn text(&self) -> &str {
        match self {
            Token::Word(w) | Token::Code(w) => w,
            Token::Var(v) => v.placeholder(),
        }
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// Normalise one message (any number of lines, taken as one text) into tokens.
pub fn normalize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chunks: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    while i < chunks.len() {
        if let Some(n) = quoted_span(&chunks[i..]) {
            push_var(&mut out, Var::Quoted);
            i += n;
            continue;
        }
        lex_chunk(chunks[i], &mut out);
        i += 1;
    }
    mask_named_dates(&mut out);
    out
}

/// Month and weekday names next to a day number, a time or each other are part of a date:
/// `Sat Jul  9 11:35:59 2005` and `Jun 14 15:16:01` become `<date> <num> <time> <num>` and
/// `<date> <num> <time>`.
fn mask_named_dates(tokens: &mut Vec<Token>) {
    let is_name = |t: &Token| matches!(t, Token::Word(w) if is_month(w) && w != "may");
    let is_datey =
        |t: Option<&Token>| matches!(t, Some(Token::Var(Var::Num | Var::Time | Var::Date)));
    let mut marks = vec![false; tokens.len()];
    for i in 0..tokens.len() {
        if !is_name(&tokens[i]) {
            continue;
        }
        let next = tokens.get(i + 1);
        if is_datey(next) || next.is_some_and(is_name) {
            marks[i] = true;
            if next.is_some_and(is_name) {
                marks[i + 1] = true;
            }
        }
    }
    if !marks.contains(&true) {
        return;
    }
    let old = std::mem::take(tokens);
    for (t, m) in old.into_iter().zip(marks) {
        if m {
            if tokens.last() != Some(&Token::Var(Var::Date)) {
                tokens.push(Token::Var(Var::Date));
            }
        } else {
            tokens.push(t);
        }
    }
}

/// The normalised form as one string: tokens joined by single spaces.
pub fn key(text: &str) -> String {
    join(&normalize(text))
}

/// Join tokens by single spaces.
pub fn join(tokens: &[Token]) -> String {
    let mut s = String::new();
    for t in tokens {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(t.text());
    }
    s
}

/// Whether a normalised token is a placeholder (`<num>`, `<path>`...).
pub fn is_placeholder(token: &str) -> bool {
    token.len() > 2 && token.starts_with('<') && token.ends_with('>')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> String {
        key(s)
    }

    #[test]
    fn codes_without_0x_and_short_product_words_are_kept() {
        assert_eq!(k("STOP: c000021a"), "stop 0xc000021a");
        assert_eq!(k("Error 800f0922"), k("Error 0x800F0922"));
        assert_eq!(k("Error code: CAA5004B"), "error code 0xcaa5004b");
        assert_ne!(k("Error 800f0922"), k("Error 800f0831"));
        // A lower-case hash in a log is still a variable part.
        assert_eq!(k("commit a3f9c2e1 pushed"), "commit <hex> pushed");
        assert_eq!(k("B2B guest access denied"), "b2b guest access denied");
        assert_eq!(k("x64 installer failed"), "x64 installer failed");
    }

    #[test]
    fn what_reads_as_an_error() {
        for line in [
            "Error: database is locked",
            "sqlite3.OperationalError: database is locked",
            "fatal: unable to access the repository",
            "/usr/bin/python3: No module named pip",
            "bash: llm: command not found",
            "HTTP 0x80070005",
        ] {
            assert!(reads_as_error(line), "{line}");
        }
        for line in [
            "Collecting s3-ocr",
            "Downloading s3_ocr-0.5-py3-none-any.whl (14 kB)",
            "SELECT * FROM notes",
        ] {
            assert!(!reads_as_error(line), "{line}");
        }
    }

    #[test]
    fn commands_comments_and_settings_are_code_not_messages() {
        for line in [
            "$ git log --grep error",
            ">>> raise ValueError('x')",
            "# apt-get install failed-package",
            "kill_timeout = 5",
            "app.config['TIMEOUT'] = 30",
        ] {
            assert!(is_code_line(line), "{line}");
        }
        for line in [
            "Error: rows must be a list",
            "raise ValueError(\"rows must be a list\")",
            "assert a == b failed",
            "ERROR 1045 (28000): Access denied for user",
        ] {
            assert!(!is_code_line(line), "{line}");
        }
    }

    #[test]
    fn masks_numbers_paths_users_and_addresses() {
        assert_eq!(
            k(r"Access to C:\Users\alice\AppData\Local\Temp\setup.log denied (pid 4242)"),
            "access to <path> denied pid <num>"
        );
        assert_eq!(
            k("open /home/bob/.config/app.conf failed at address 0x00007ff6a3b2c1d0"),
            "open <path> failed at address <hex>"
        );
        assert_eq!(
            k(r"cannot reach \\fileserver02\share\jsmith"),
            "cannot reach <path>"
        );
    }

    #[test]
    fn masks_network_parts() {
        assert_eq!(
            k("connect to 10.1.2.3:5432 refused"),
            "connect to <host> refused"
        );
        assert_eq!(
            k("from fe80::1ff:fe23:4567:890a port 22"),
            "from <host> port <num>"
        );
        assert_eq!(
            k("GET https://example.com/a?b=1 failed"),
            "get <url> failed"
        );
        assert_eq!(
            k("mail for jane.doe@contoso.com bounced"),
            "mail for <email> bounced"
        );
        assert_eq!(k("nic 00:1A:2b:3c:4D:5e down"), "nic <mac> down");
    }

    #[test]
    fn masks_guids_dates_times_quoted() {
        assert_eq!(
            k("job {0f8fad5b-d9cb-469f-a165-70867728950e} at 2026-11-22T10:15:00Z"),
            "job <guid> at <date>"
        );
        assert_eq!(k("Jun 14 15:16:01 ok"), "<date> <num> <time> ok");
        assert_eq!(
            k("at Sat Jul  9 11:35:59 2005"),
            "at <date> <num> <time> <num>"
        );
        assert_eq!(k("you may 5 sun"), "you may <num> sun");
        assert_eq!(k("user 'alice' not found"), "user <quoted> not found");
        assert_eq!(k("on 11/22/2026 at 9:05"), "on <date> at <time>");
    }

    #[test]
    fn keeps_codes() {
        assert_eq!(k("failed with 0x80070005"), "failed with 0x80070005");
        assert_eq!(k("STATUS 0xC0000005"), "status 0xc0000005");
        assert_eq!(k("status 0x1f"), "status 0x1f");
        assert_eq!(k("0x2 (n.round), 0xb00000084"), "<num> n round <hex>");
        assert_eq!(k("net::ERR_CONNECTION_RESET"), "net err_connection_reset");
        assert_eq!(k("EACCES: permission denied"), "eacces permission denied");
        assert_eq!(k("KRB_AP_ERR_SKEW"), "krb_ap_err_skew");
        assert_eq!(k("ORA-12154: TNS"), "ora-12154 tns");
        assert_eq!(
            k("error[E0432]: unresolved import"),
            "error e0432 unresolved import"
        );
    }

    #[test]
    fn keeps_numbers_after_code_words() {
        assert_eq!(k("Error 1603 during install"), "error 1603 during install");
        assert_eq!(k("Event ID 4625 logged"), "event id 4625 logged");
        assert_eq!(
            k("process exited with exit code 137"),
            "process exited with exit code 137"
        );
        assert_eq!(k("HTTP 502 from upstream"), "http 502 from upstream");
        assert_eq!(k("status=404 after 120ms"), "status 404 after <num>");
        assert_eq!(k("took 3.5 s, 2048 bytes"), "took <num> s <num> bytes");
        assert_eq!(
            k("Fan speeds ( 3552 3534 3375 )"),
            "fan speeds <num> <num> <num>"
        );
    }

    #[test]
    fn masks_identifiers_with_digits() {
        assert_eq!(
            k("Receiving block blk_-1608999687919862906 src"),
            "receiving block blk <num> src"
        );
        assert_eq!(k("host srv-app-07 down"), "host srv app <num> down");
        assert_eq!(k("key=value uid=0"), "key value uid <num>");
        assert_eq!(
            k("environment:java.home=/usr/lib/jvm"),
            "environment java home <path>"
        );
    }

    /// Found by the fuzzer (an over-strict invariant of the fuzz target, kept as a case).
    #[test]
    fn fuzz_regression_underscored_capitals() {
        assert_eq!(k("__L_IIL__L_I"), "l_iil__l_i");
        assert!(normalize("l_iil__l_i").iter().all(|t| !t.text().is_empty()));
    }

    #[test]
    fn similarity_rewards_shared_tokens_and_order() {
        let w = |_: &str| 1.0;
        let a = ["open", "<path>", "failed"];
        assert!((similarity(&a, &a, w) - 1.0).abs() < 1e-6);
        let swapped = ["failed", "<path>", "open"];
        assert!(similarity(&a, &swapped, w) < similarity(&a, &a, w));
        assert_eq!(similarity(&a, &["x"], w), 0.0);
        assert_eq!(similarity(&[], &a, w), 0.0);
    }

    #[test]
    fn strips_log_prefixes() {
        assert_eq!(
            strip_log_prefix(
                "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown"
            ),
            "check pass; user unknown"
        );
        assert_eq!(
            strip_log_prefix("2026-11-22 10:15:00,123 ERROR [main] Connection refused"),
            "Connection refused"
        );
        assert_eq!(
            strip_log_prefix("plain message: with colon"),
            "plain message: with colon"
        );
    }

    #[test]
    fn paste_marks_error_lines_and_drops_repeats() {
        let p = normalize_paste(
            "10:00:01 INFO starting\n10:00:02 ERROR open /tmp/x failed\n10:00:03 ERROR open /tmp/y failed\n",
        );
        assert_eq!(p.len(), 2);
        assert!(!p[0].is_error);
        assert!(p[1].is_error);
        assert_eq!(p[1].line, 2);
    }
}
