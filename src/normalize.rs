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
//! The lexer is a single pass over whitespace-separated chunks (no regex per kind), so that
//! `kb scan` can push hundreds of megabytes of log through it. All functions are pure.
//!
//! Multi-line pastes go through [`normalize_paste`]: each line loses its log prefix (timestamp,
//! level, `host process[pid]:`), duplicates are dropped, and lines that carry an error (words
//! such as `error`, `failed`, `denied`, `exception`) are marked so that they dominate ranking.

use std::fmt;

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

/// Words after which a number identifies the error rather than varying.
const CODE_WORDS: &[&str] = &[
    "error", "err", "code", "id", "errno", "http", "status", "exit", "event", "hresult",
    "ntstatus", "win32", "stop", "bugcheck", "sqlstate", "rc", "returned", "return", "result",
    "ora", "kb",
];

/// Words that mark a line as carrying an error.
const ERROR_WORDS: &[&str] = &[
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

/// A line of a multi-line paste, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasteLine {
    /// 1-based line number in the paste.
    pub line: usize,
    pub tokens: Vec<Token>,
    /// Whether the line reads as an error (it then weighs more).
    pub is_error: bool,
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

fn tokens_read_as_error(raw: &str, tokens: &[Token]) -> bool {
    tokens.iter().any(|t| match t {
        Token::Code(_) => true,
        Token::Word(w) => ERROR_WORDS.contains(&w.as_str()),
        Token::Var(_) => false,
    }) || raw.contains("Exception")
        || raw.contains("Error")
        || ERROR_PHRASES.iter().any(|p| contains_ignore_case(raw, p))
}

/// Messages that say something went wrong without an error word of their own.
const ERROR_PHRASES: &[&str] = &[
    "no such file",
    "no module named",
    "command not found",
    "segmentation fault",
    "too many requests",
    "out of memory",
];

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
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
        });
    }
    out
}

/// Words that are a log level when they stand at the start of a line.
const LEVELS: &[&str] = &[
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

fn is_month(s: &str) -> bool {
    const M: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "mon",
        "tue", "wed", "thu", "fri", "sat", "sun",
    ];
    s.len() == 3 && M.contains(&s.to_ascii_lowercase().as_str())
}

/// If the chunks start a short quoted name (`'x'`, `"two words"`), how many chunks it spans.
fn quoted_span(chunks: &[&str]) -> Option<usize> {
    let first = chunks[0];
    let q = first.chars().next()?;
    if !matches!(q, '\'' | '"' | '`' | '‘' | '“') {
        return None;
    }
    let close = match q {
        '‘' => '’',
        '“' => '”',
        c => c,
    };
    for (n, c) in chunks.iter().enumerate().take(3) {
        let body = if n == 0 { &c[q.len_utf8()..] } else { c };
        let end = body.trim_end_matches(|ch: char| ",.;:)]".contains(ch));
        if end.ends_with(close) && (n > 0 || end.len() > close.len_utf8()) {
            let inner_len: usize = chunks[..=n].iter().map(|c| c.len()).sum::<usize>() + n;
            return (inner_len <= 80).then_some(n + 1);
        }
    }
    None
}

fn push_var(out: &mut Vec<Token>, v: Var) {
    // A path with spaces lexes as several path-like chunks: count it once. Other runs (six fan
    // speeds) are kept, since how many values a message has is part of its shape.
    if !(matches!(v, Var::Path | Var::Quoted) && out.last() == Some(&Token::Var(v))) {
        out.push(Token::Var(v));
    }
}

fn prev_is_code_word(out: &[Token]) -> bool {
    matches!(out.last(), Some(Token::Word(w)) if CODE_WORDS.contains(&w.as_str()))
}

/// Classify one whitespace-free chunk, pushing its tokens.
fn lex_chunk(chunk: &str, out: &mut Vec<Token>) {
    let c = chunk.trim_matches(|ch: char| "()[]{}<>,;\"'`‘’“”".contains(ch));
    let c = c.trim_end_matches(['.', ':', '!', '?']);
    if c.is_empty() {
        return;
    }
    if let Some(v) = url_or_email(c) {
        push_var(out, v);
        return;
    }
    // key=value pairs are two parts.
    if let Some((k, v)) = c.split_once('=') {
        if !k.is_empty() {
            lex_chunk(k, out);
        }
        if !v.is_empty() {
            lex_chunk(v, out);
        }
        return;
    }
    if let Some(v) = whole_chunk_var(c) {
        push_var(out, v);
        return;
    }
    if let Some(code) = hex_code(c, prev_is_code_word(out)) {
        out.push(code);
        return;
    }
    if is_symbolic_code(c) {
        out.push(Token::Code(c.to_ascii_lowercase()));
        return;
    }
    if is_number(c) {
        if prev_is_code_word(out) {
            out.push(Token::Code(c.trim_start_matches('#').to_string()));
        } else {
            push_var(out, Var::Num);
        }
        return;
    }
    // Split on punctuation and classify the parts.
    for part in c.split(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '\'')) {
        let part = part.trim_matches(['_', '\'']);
        if part.is_empty() {
            continue;
        }
        if let Some(code) = hex_code(part, prev_is_code_word(out)) {
            out.push(code);
        } else if is_symbolic_code(part) {
            out.push(Token::Code(part.to_ascii_lowercase()));
        } else if part.chars().all(|ch| ch.is_ascii_digit()) {
            if prev_is_code_word(out) {
                out.push(Token::Code(part.to_string()));
            } else {
                push_var(out, Var::Num);
            }
        } else if part.chars().any(|ch| ch.is_ascii_digit()) {
            lex_mixed(part, out);
        } else {
            for w in part.split('_').filter(|w| !w.is_empty()) {
                out.push(Token::Word(w.to_lowercase()));
            }
        }
    }
}

/// A part with letters and digits: `blk_123`, `srv01`, `x86_64`, a long hex hash.
fn lex_mixed(part: &str, out: &mut Vec<Token>) {
    if part.len() >= 8 && part.chars().all(|c| c.is_ascii_hexdigit()) {
        push_var(out, Var::Hex);
        return;
    }
    for piece in part.split('_').filter(|p| !p.is_empty()) {
        if piece.len() <= 3 && piece.chars().any(|c| c.is_alphabetic()) {
            // `B2B`, `x64`, `2FA`, `i7`: too short to be a variable identifier; a word.
            out.push(Token::Word(piece.to_lowercase()));
        } else if piece.chars().any(|c| c.is_ascii_digit()) {
            // Keep a leading word (`attempt` of `attempt123`), mask the rest.
            let alpha: String = piece.chars().take_while(|c| c.is_alphabetic()).collect();
            if alpha.len() >= 3 {
                out.push(Token::Word(alpha.to_lowercase()));
            }
            push_var(out, Var::Id);
        } else {
            out.push(Token::Word(piece.to_lowercase()));
        }
    }
}

/// A URL or an e-mail address (checked before `key=value` splitting: URLs hold `=`).
fn url_or_email(c: &str) -> Option<Var> {
    if let Some(i) = c.find("://") {
        if i > 0
            && c[..i]
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "+.-".contains(ch))
        {
            return Some(Var::Url);
        }
    }
    if let Some((user, domain)) = c.rsplit_once('@') {
        if !user.is_empty()
            && !user.contains(['=', '/'])
            && domain.contains('.')
            && !domain.starts_with('.')
        {
            return Some(Var::Email);
        }
    }
    None
}

/// A chunk that is a variable part as a whole.
fn whole_chunk_var(c: &str) -> Option<Var> {
    if is_guid(c) {
        return Some(Var::Guid);
    }
    if is_mac(c) {
        return Some(Var::Mac);
    }
    if is_ip(c) || is_hostname(c) {
        return Some(Var::Host);
    }
    if is_date_like(c) {
        return Some(Var::Date);
    }
    if is_path(c) {
        return Some(Var::Path);
    }
    if is_time_like(c) {
        return Some(Var::Time);
    }
    None
}

fn is_path(c: &str) -> bool {
    let b = c.as_bytes();
    if c.starts_with("\\\\") && c.len() > 2 {
        return true; // UNC
    }
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
    {
        return true; // C:\ or C:/
    }
    if c.starts_with("~/") || c.starts_with("./") || c.starts_with("../") {
        return true;
    }
    if c.starts_with('%') && c[1..].contains('%') && (c.contains('\\') || c.contains('/')) {
        return true; // %APPDATA%\x
    }
    if let Some(rest) = c.strip_prefix('/') {
        // `/` alone or `/24` (a CIDR suffix) is not a path.
        return !rest.is_empty() && !rest.chars().all(|ch| ch.is_ascii_digit());
    }
    // relative with two or more separators: var/log/x, dir\sub\file
    let slashes = c.matches('/').count();
    let backslashes = c.matches('\\').count();
    (slashes >= 2 || backslashes >= 2)
        && c.chars().any(|ch| ch.is_alphanumeric())
        && !c.contains(['[', ']', '(', ')', '{', '}'])
}

/// Top-level domains that make a lower-case dotted name a host name rather than a package or
/// file name (`mail.contoso.com`, not `org.apache.hadoop`).
const TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "info",
    "biz",
    "io",
    "edu",
    "gov",
    "mil",
    "int",
    "local",
    "lan",
    "corp",
    "internal",
    "intra",
    "home",
    "arpa",
    "localdomain",
    "us",
    "uk",
    "de",
    "fr",
    "nl",
    "be",
    "ch",
    "at",
    "it",
    "es",
    "pt",
    "se",
    "no",
    "dk",
    "fi",
    "pl",
    "cz",
    "ru",
    "cn",
    "jp",
    "kr",
    "in",
    "br",
    "au",
    "nz",
    "ca",
    "mx",
    "eu",
];

/// `srv01.corp.local`, `220-135-151-1.hinet-ip.hinet.net`, `mail.contoso.com:443`
fn is_hostname(c: &str) -> bool {
    let host = match c.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.chars().all(|ch| ch.is_ascii_digit()) => h,
        _ => c,
    };
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2
        || !labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        })
    {
        return false;
    }
    // The last label decides: a lower-case top-level domain (`MSRA-01.corp.contoso.com`), or
    // an all-lower-case name with digits and three labels or more (`node-7.rack2.dc`). Class
    // names (`org.apache.hadoop.ipc.Client`, `System.IO.IOException`) end otherwise.
    let last = labels[labels.len() - 1];
    let lower = host.chars().all(|ch| !ch.is_ascii_uppercase());
    let has_digit = host.chars().any(|ch| ch.is_ascii_digit());
    last.chars().all(|ch| ch.is_ascii_lowercase())
        && (TLDS.contains(&last) || (lower && has_digit && labels.len() >= 3))
}

fn is_guid(c: &str) -> bool {
    let c = c.trim_matches(['{', '}']);
    let parts: Vec<&str> = c.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|ch| ch.is_ascii_hexdigit()))
}

fn is_ip(c: &str) -> bool {
    // IPv4 with an optional :port or /prefix
    let host = c.split(['/', ':']).next().unwrap_or("");
    let octets: Vec<&str> = host.split('.').collect();
    if octets.len() == 4
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.len() <= 3 && o.chars().all(|ch| ch.is_ascii_digit()))
    {
        return true;
    }
    // IPv6: hex groups and colons, at least two colons, and at least one digit or '::'.
    let v6 = c.trim_start_matches('[').split(']').next().unwrap_or("");
    v6.matches(':').count() >= 2
        && v6
            .chars()
            .all(|ch| ch.is_ascii_hexdigit() || ch == ':' || ch == '.' || ch == '%')
        && v6.split(':').all(|g| g.len() <= 4 || g.contains('.'))
        && (v6.contains("::") || v6.chars().any(|ch| ch.is_ascii_digit()))
        && !is_time_like(v6)
}

fn is_mac(c: &str) -> bool {
    let parts: Vec<&str> = c.split([':', '-']).collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|ch| ch.is_ascii_hexdigit()))
}

/// 2026-11-22, 2026-11-22T10:15:00Z, 11/22/2026, 22.11.2026, 20261122T101500
fn is_date_like(c: &str) -> bool {
    let b = c.as_bytes();
    if b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-' {
        return b[5..7].iter().all(u8::is_ascii_digit) && b[8..10].iter().all(u8::is_ascii_digit);
    }
    for sep in ['/', '.'] {
        let parts: Vec<&str> = c.split(sep).collect();
        if parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_digit()))
            && parts.iter().any(|p| p.len() == 4 || p.len() == 2)
            && parts.iter().map(|p| p.len()).sum::<usize>() >= 6
            && !(sep == '.' && parts.iter().all(|p| p.len() <= 3))
        {
            return true;
        }
    }
    false
}

/// 10:15, 10:15:00, 10:15:00.123, 10:15:00,123+02:00
fn is_time_like(c: &str) -> bool {
    let core = c.split(['+', 'Z', 'z']).next().unwrap_or("");
    let parts: Vec<&str> = core.split(':').collect();
    (2..=4).contains(&parts.len())
        && parts[0].len() <= 2
        && !parts[0].is_empty()
        && parts.iter().all(|p| {
            let p = p.split(['.', ',']).next().unwrap_or("");
            !p.is_empty() && p.len() <= 2 && p.chars().all(|ch| ch.is_ascii_digit())
        })
}

/// A number: 42, -7, 3.14, 1,024, #12, 100ms, 12MB, 0.5s, 50%
fn is_number(c: &str) -> bool {
    let c = c.trim_start_matches(['#', '+', '-']).trim_end_matches('%');
    let digits_end = c
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.' || ch == ','))
        .unwrap_or(c.len());
    if digits_end == 0 || !c.as_bytes()[0].is_ascii_digit() {
        return false;
    }
    let unit = &c[digits_end..];
    unit.is_empty()
        || (unit.len() <= 3
            && unit.chars().all(|ch| ch.is_ascii_alphabetic())
            && matches!(
                unit.to_ascii_lowercase().as_str(),
                "ms" | "s"
                    | "sec"
                    | "m"
                    | "min"
                    | "h"
                    | "us"
                    | "ns"
                    | "b"
                    | "kb"
                    | "mb"
                    | "gb"
                    | "tb"
                    | "k"
                    | "g"
                    | "x"
                    | "st"
                    | "nd"
                    | "rd"
                    | "th"
            ))
}

/// `0x80070005`-style codes (HRESULT / NTSTATUS failures: eight digits from 8, C, D or E) are
/// kept, and so is any hex number after a code word (`status 0x1f`); other hex numbers are
/// masked: long ones as addresses, short ones as numbers.
fn hex_code(c: &str, after_code_word: bool) -> Option<Token> {
    let Some(h) = c.strip_prefix("0x").or_else(|| c.strip_prefix("0X")) else {
        return bare_hex_code(c, after_code_word);
    };
    if h.is_empty() || !h.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return None;
    }
    let first = h.chars().next().map(|ch| ch.to_ascii_uppercase());
    if (h.len() == 8 && matches!(first, Some('8' | 'C' | 'D' | 'E'))) || after_code_word {
        Some(Token::Code(format!("0x{}", h.to_ascii_lowercase())))
    } else if h.len() <= 4 {
        Some(Token::Var(Var::Num))
    } else {
        Some(Token::Var(Var::Hex))
    }
}

/// An eight-digit hex code written without `0x` (`800f0922` from Windows Update, NTSTATUS
/// `c000021a`, `CAA5004B` from Microsoft 365), kept as the same code as its `0x` form: after
/// a code word; or with the failure pattern of HRESULT / NTSTATUS (8, C, D or E, then 0); or
/// written in capitals and mixing letters and digits, as codes shown to people are (hashes and
/// addresses in logs are lower-case). Anything else is not a code.
fn bare_hex_code(c: &str, after_code_word: bool) -> Option<Token> {
    if c.len() != 8 || !c.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return None;
    }
    let upper = c.to_ascii_uppercase();
    let b = upper.as_bytes();
    let failure = matches!(b[0], b'8' | b'C' | b'D' | b'E') && b[1] == b'0';
    let letters = c.chars().any(|ch| ch.is_ascii_alphabetic());
    let digits = c.chars().any(|ch| ch.is_ascii_digit());
    let shown = letters && digits && !c.chars().any(|ch| ch.is_ascii_lowercase());
    (after_code_word || failure || shown)
        .then(|| Token::Code(format!("0x{}", c.to_ascii_lowercase())))
}

/// ERR_CONNECTION_RESET, KRB_AP_ERR_SKEW, EACCES, ORA-12154, E0432, AADSTS50076, SQLSTATE42000
fn is_symbolic_code(c: &str) -> bool {
    let len = c.chars().count();
    if !(2..=40).contains(&len) || !c.starts_with(|ch: char| ch.is_ascii_uppercase()) {
        return false;
    }
    if !c
        .chars()
        .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_' || ch == '-')
    {
        return false;
    }
    let letters = c.chars().filter(|ch| ch.is_ascii_uppercase()).count();
    let digits = c.chars().filter(|ch| ch.is_ascii_digit()).count();
    let has_sep = c.contains('_') || c.contains('-');
    if digits > 0 {
        // Letters then digits: E0432, ORA-12154, AADSTS50076, KB5034441 (not MD5 or X509).
        let alpha = c.chars().take_while(|ch| ch.is_ascii_uppercase()).count();
        return (1..=8).contains(&alpha)
            && digits >= 3
            && c[alpha..]
                .trim_start_matches(['-', '_'])
                .chars()
                .all(|ch| ch.is_ascii_digit());
    }
    // ERR_CONNECTION_RESET, KRB_AP_ERR_SKEW, SSL_ERROR_SYSCALL
    if has_sep && letters >= 4 && !c.starts_with(['_', '-']) {
        return true;
    }
    // errno names: EACCES, ENOENT, ECONNREFUSED, ETIMEDOUT
    c.starts_with('E') && (5..=15).contains(&len) && letters == len
}

/// Weight of a placeholder in [`similarity`]: that a value stands there is part of a
/// message's shape, but says less than a word.
pub const PLACEHOLDER_WEIGHT: f32 = 0.5;

/// Whether a normalised token is a placeholder (`<num>`, `<path>`...).
pub fn is_placeholder(token: &str) -> bool {
    token.len() > 2 && token.starts_with('<') && token.ends_with('>')
}

/// Inverse document frequency of a token found in `df` of `n` recorded errors.
pub fn idf(n: f32, df: f32) -> f32 {
    (1.0 + n / (df + 1.0)).ln().max(0.1)
}

/// The weight of a normalised token in [`similarity`]: a placeholder weighs
/// [`PLACEHOLDER_WEIGHT`], any other token its idf among `notes` notes, `df` of which record it
/// in their errors. Search, scan, link and the duplicate check of add all weigh tokens so.
pub fn token_weight(token: &str, notes: f32, df: f32) -> f32 {
    if is_placeholder(token) {
        PLACEHOLDER_WEIGHT
    } else {
        idf(notes, df)
    }
}

/// Similarity of two normalised token sequences in 0..1: a Dice coefficient of the tokens
/// weighted by `weight` (70%), and a Dice coefficient of adjacent pairs (30%), which rewards
/// the same order.
pub fn similarity<'a>(q: &[&'a str], e: &[&'a str], weight: impl Fn(&str) -> f32) -> f32 {
    use std::collections::HashMap;
    if q.is_empty() || e.is_empty() {
        return 0.0;
    }
    let mut counts: HashMap<&str, (u32, u32)> = HashMap::with_capacity(q.len() + e.len());
    for t in q {
        counts.entry(t).or_default().0 += 1;
    }
    for t in e {
        counts.entry(t).or_default().1 += 1;
    }
    let (mut shared, mut total) = (0.0f32, 0.0f32);
    for (t, (a, b)) in &counts {
        let wt = weight(t);
        shared += 2.0 * (*a.min(b)) as f32 * wt;
        total += (*a + *b) as f32 * wt;
    }
    let uni = if total > 0.0 { shared / total } else { 0.0 };
    let pairs = |s: &[&'a str]| -> HashMap<(&'a str, &'a str), u32> {
        let mut m = HashMap::with_capacity(s.len());
        for win in s.windows(2) {
            *m.entry((win[0], win[1])).or_insert(0) += 1;
        }
        m
    };
    let (pq, pe) = (pairs(q), pairs(e));
    let nq: u32 = pq.values().sum();
    let ne: u32 = pe.values().sum();
    let bi = if nq + ne == 0 {
        uni
    } else {
        let common: u32 = pq
            .iter()
            .map(|(k, a)| (*a).min(*pe.get(k).unwrap_or(&0)))
            .sum();
        2.0 * common as f32 / (nq + ne) as f32
    };
    0.7 * uni + 0.3 * bi
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
