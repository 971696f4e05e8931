//! Masking rules: what a chunk is (URL, path, host, address, GUID, date, number, code...), each
//! a small pure function the lexer asks in turn.

use super::*;

pub(super) fn is_month(s: &str) -> bool {
    const M: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "mon",
        "tue", "wed", "thu", "fri", "sat", "sun",
    ];
    s.len() == 3 && M.contains(&s.to_ascii_lowercase().as_str())
}

/// A URL or an e-mail address (checked before `key=value` splitting: URLs hold `=`).
pub(super) fn url_or_email(c: &str) -> Option<Var> {
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
pub(super) fn whole_chunk_var(c: &str) -> Option<Var> {
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

pub(super) fn is_path(c: &str) -> bool {
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
pub(super) const TLDS: &[&str] = &[
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
pub(super) fn is_hostname(c: &str) -> bool {
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

pub(super) fn is_guid(c: &str) -> bool {
    let c = c.trim_matches(['{', '}']);
    let parts: Vec<&str> = c.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|ch| ch.is_ascii_hexdigit()))
}

pub(super) fn is_ip(c: &str) -> bool {
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

pub(super) fn is_mac(c: &str) -> bool {
    let parts: Vec<&str> = c.split([':', '-']).collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|ch| ch.is_ascii_hexdigit()))
}

/// 2026-11-22, 2026-11-22T10:15:00Z, 11/22/2026, 22.11.2026, 20261122T101500
pub(super) fn is_date_like(c: &str) -> bool {
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
pub(super) fn is_time_like(c: &str) -> bool {
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
pub(super) fn is_number(c: &str) -> bool {
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
pub(super) fn hex_code(c: &str, after_code_word: bool) -> Option<Token> {
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
pub(super) fn bare_hex_code(c: &str, after_code_word: bool) -> Option<Token> {
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
pub(super) fn is_symbolic_code(c: &str) -> bool {
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
