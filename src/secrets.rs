//! Finding likely secrets in text about to be written to a note: private keys, cloud access
//! keys, bearer and API tokens, passwords in URLs or `password=` pairs, and e-mail addresses
//! (personal data). Pasted logs carry all of these; notes are pushed to shared servers.

use regex::Regex;
use std::sync::LazyLock;

/// One likely secret: what it is and where (byte range of the value to mask).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: &'static str,
    pub start: usize,
    pub end: usize,
    /// 1-based line of the start.
    pub line: usize,
}

impl Finding {
    /// The secret with all but its first and last characters hidden, for showing what was found.
    pub fn preview(&self, text: &str) -> String {
        let s = &text[self.start..self.end];
        let chars: Vec<char> = s.chars().collect();
        if chars.len() <= 6 {
            return "*".repeat(chars.len());
        }
        let head: String = chars[..2].iter().collect();
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len().min(24) - 4))
    }
}

/// (kind, pattern, capture group holding the value to mask: 0 for the whole match)
static PATTERNS: LazyLock<Vec<(&'static str, Regex, usize)>> = LazyLock::new(|| {
    let p = |kind, re: &str, group| (kind, Regex::new(re).expect("valid secret pattern"), group);
    vec![
        p(
            "private key",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?s:.*?)(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\z)",
            0,
        ),
        p("AWS access key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0),
        p(
            "GitHub token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})\b",
            0,
        ),
        p("Slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}", 0),
        p("Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b", 0),
        p(
            "JSON web token",
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
            0,
        ),
        p(
            "bearer token",
            r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{12,}=*)",
            1,
        ),
        p(
            "password in URL",
            r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@",
            1,
        ),
        p(
            "password",
            r#"(?i)\b(?:password|passwd|pwd|passphrase)\s*[:=]\s*["']?([^\s"',;]{3,})"#,
            1,
        ),
        p(
            "API key or token",
            r#"(?i)\b(?:api[_-]?key|apikey|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|token|secret)\s*[:=]\s*["']?([A-Za-z0-9._~+/=-]{8,})"#,
            1,
        ),
        p(
            "e-mail address",
            r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
            0,
        ),
    ]
});

/// Every likely secret in `text`, in order, without overlaps (the first pattern wins).
pub fn find(text: &str) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    for (kind, re, group) in PATTERNS.iter() {
        for caps in re.captures_iter(text) {
            let Some(m) = caps.get(*group) else { continue };
            if found.iter().any(|f| m.start() < f.end && f.start < m.end()) {
                continue;
            }
            found.push(Finding {
                kind,
                start: m.start(),
                end: m.end(),
                line: text[..m.start()].matches('\n').count() + 1,
            });
        }
    }
    found.sort_by_key(|f| f.start);
    found
}

/// Whether the text holds a private key (what `kb sync` refuses to push).
pub fn has_private_key(text: &str) -> bool {
    find(text).iter().any(|f| f.kind == "private key")
}

/// The text with every finding replaced by `[REDACTED kind]`.
pub fn redact(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in findings {
        out.push_str(&text[at..f.start]);
        out.push_str(&format!("[REDACTED {}]", f.kind));
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(t: &str) -> Vec<&'static str> {
        find(t).iter().map(|f| f.kind).collect()
    }

    #[test]
    fn finds_each_kind() {
        assert_eq!(
            kinds("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----"),
            vec!["private key"]
        );
        assert_eq!(
            kinds("key AKIAIOSFODNN7EXAMPLE used"),
            vec!["AWS access key"]
        );
        assert_eq!(
            kinds("ghp_0123456789abcdefghijABCDEFGHIJ012345"),
            vec!["GitHub token"]
        );
        assert_eq!(
            kinds("Authorization: Bearer abcdef0123456789xyz"),
            vec!["bearer token"]
        );
        assert_eq!(
            kinds("https://bob:hunter22@git.example.com/x"),
            vec!["password in URL"]
        );
        assert_eq!(kinds("login password=hunter22 failed"), vec!["password"]);
        assert_eq!(kinds("api_key: 0123456789abcdef"), vec!["API key or token"]);
        assert_eq!(
            kinds("mail for jane.doe@contoso.com bounced"),
            vec!["e-mail address"]
        );
        assert!(find("Error 0x80070005: Access is denied.").is_empty());
        assert!(find("the password is incorrect").is_empty());
    }

    #[test]
    fn redaction_keeps_the_rest() {
        let t = "user=bob password=hunter22 host=x";
        assert_eq!(
            redact(t, &find(t)),
            "user=bob password=[REDACTED password] host=x"
        );
        let f = &find(t)[0];
        assert_eq!(f.preview(t), "hu****22");
    }
}
