//! Finding likely secrets in text about to be written to a note: private keys, cloud access
//! keys, bearer and API tokens, passwords in URLs or `password=` pairs, and e-mail addresses
//! (personal data). Pasted logs carry all of these; notes are pushed to shared servers.

use regex::Regex;
use std::sync::OnceLock;

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

/// One kind of secret: its pattern, the capture group holding the value to mask (0 for the
/// whole match), and words of which every match holds at least one (lower-case; the text is
/// searched for them ignoring ASCII case; a pattern ignoring case is always run on text that
/// is not all ASCII, where Unicode case folding could match other letters). A pattern is
/// compiled only when the text holds one of its words: most texts hold none, and compiling
/// them all costs a few milliseconds of every `kb add` and `kb link`.
struct Kind {
    kind: &'static str,
    pattern: &'static str,
    group: usize,
    needles: &'static [&'static str],
}

/// What `kb sync` refuses to push.
const PRIVATE_KEY: &str = "private key";

/// The rules, compared with gitleaks' (the rule set most teams use: `private-key`,
/// `aws-access-token`, `gitlab-pat`, `stripe-access-token`, `npm-access-token`,
/// `slack-*`, `jwt`...); gitleaks' entropy-based generic rule is left out (notes are full of
/// long identifiers), its assignments of `secret`, `key`, `token`, `password` are here.
const KINDS: [Kind; 17] = [
    Kind {
        // PEM keys of every kind (RSA, EC, OPENSSH, ENCRYPTED...) and PGP's armoured blocks.
        kind: PRIVATE_KEY,
        pattern: r"-----BEGIN [A-Z0-9 _-]{0,100}PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 _-]{0,100}PRIVATE KEY(?: BLOCK)?-----|\z)",
        group: 0,
        needles: &["private key"],
    },
    Kind {
        // PuTTY's .ppk files, versions 2 and 3: the header to the MAC that ends the key.
        kind: PRIVATE_KEY,
        pattern: r"PuTTY-User-Key-File-[0-9]+:(?s:.*?)(?:Private-MAC:\s*[0-9A-Fa-f]+|\z)",
        group: 0,
        needles: &["putty-user-key-file-"],
    },
    Kind {
        kind: "AWS access key",
        pattern: r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
        group: 0,
        needles: &["akia", "asia", "abia", "acca"],
    },
    Kind {
        // `aws_secret_access_key = ...` (credentials files, env, CLI output) and the session
        // token beside it.
        kind: "AWS secret key",
        pattern: r#"(?i)\baws_?(?:secret_?access_?key|session_?token)["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{16,})"#,
        group: 1,
        needles: &["aws"],
    },
    Kind {
        kind: "GitLab token",
        pattern: r"\bgl(?:pat|dt|rt|ptt|cbt|oas)-[0-9A-Za-z_-]{20,}",
        group: 0,
        needles: &["glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "gloas-"],
    },
    Kind {
        kind: "Stripe key",
        pattern: r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}",
        group: 0,
        needles: &["_live_", "_test_"],
    },
    Kind {
        kind: "npm token",
        pattern: r"\bnpm_[A-Za-z0-9]{36}\b",
        group: 0,
        needles: &["npm_"],
    },
    Kind {
        // Azure storage and Service Bus connection strings.
        kind: "Azure account key",
        pattern: r"(?i)\b(?:AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/=]{20,})",
        group: 1,
        needles: &["accountkey", "sharedaccesskey"],
    },
    Kind {
        kind: "GitHub token",
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})\b",
        group: 0,
        needles: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
    },
    Kind {
        kind: "Slack token",
        pattern: r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
        group: 0,
        needles: &["xox"],
    },
    Kind {
        kind: "Google API key",
        pattern: r"\bAIza[0-9A-Za-z_-]{35}\b",
        group: 0,
        needles: &["aiza"],
    },
    Kind {
        kind: "JSON web token",
        pattern: r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        group: 0,
        needles: &["eyj"],
    },
    Kind {
        kind: "bearer token",
        pattern: r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{12,}=*)",
        group: 1,
        needles: &["bearer"],
    },
    Kind {
        kind: "password in URL",
        pattern: r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@",
        group: 1,
        needles: &["://"],
    },
    Kind {
        kind: "password",
        pattern: r#"(?i)\b(?:password|passwd|pwd|passphrase)\s*[:=]\s*["']?([^\s"',;]{3,})"#,
        group: 1,
        needles: &["pass", "pwd"],
    },
    Kind {
        kind: "API key or token",
        pattern: r#"(?i)\b(?:api[_-]?key|apikey|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|token|secret)\s*[:=]\s*["']?([A-Za-z0-9._~+/=-]{8,})"#,
        group: 1,
        needles: &["key", "token", "secret"],
    },
    Kind {
        kind: "e-mail address",
        pattern: r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
        group: 0,
        needles: &["@"],
    },
];

/// The compiled patterns, each on first need.
static COMPILED: [OnceLock<Regex>; KINDS.len()] = [const { OnceLock::new() }; KINDS.len()];

fn regex(i: usize) -> &'static Regex {
    COMPILED[i].get_or_init(|| Regex::new(KINDS[i].pattern).expect("valid secret pattern"))
}

/// Every likely secret in `text`, in order, without overlaps (the first pattern wins).
pub fn find(text: &str) -> Vec<Finding> {
    find_with(text, may_match(text))
}

/// Whether a kind of secret may be in `text`: one of its words is (see [`Kind`]).
fn may_match(text: &str) -> impl Fn(&Kind) -> bool {
    // ASCII lower-casing keeps every byte where it was.
    let lower = text.to_ascii_lowercase();
    let ascii = text.is_ascii();
    move |k| {
        (!ascii && k.pattern.starts_with("(?i)")) || k.needles.iter().any(|n| lower.contains(n))
    }
}

/// [`find`] running only the patterns `may_match` lets through.
fn find_with(text: &str, may_match: impl Fn(&Kind) -> bool) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    for (i, k) in KINDS.iter().enumerate() {
        if !may_match(k) {
            continue;
        }
        for caps in regex(i).captures_iter(text) {
            let Some(m) = caps.get(k.group) else { continue };
            if found.iter().any(|f| m.start() < f.end && f.start < m.end()) {
                continue;
            }
            found.push(Finding {
                kind: k.kind,
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
    // The first kind: no other pattern's match can hide one.
    let may = may_match(text);
    !find_with(text, |k| k.kind == PRIVATE_KEY && may(k)).is_empty()
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

    /// Forms that were missed, from a credentials file, a PGP export and a PuTTY key; each a
    /// private key for `kb sync` where it is one.
    #[test]
    fn finds_aws_secrets_pgp_blocks_putty_keys_and_other_tokens() {
        let aws = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
        assert_eq!(kinds(aws), vec!["AWS access key", "AWS secret key"]);
        let f = &find(aws)[1];
        assert_eq!(
            &aws[f.start..f.end],
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        assert_eq!(
            kinds("export AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\""),
            vec!["AWS secret key"]
        );
        let pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF0AAAABCAC7\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\n";
        assert_eq!(kinds(pgp), vec!["private key"]);
        assert!(has_private_key(pgp));
        let putty = "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: eddsa-key\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5\nAAAAIL0\nPrivate-Lines: 1\nAAAAIDk0\nPrivate-MAC: 4d2f0a5c9e\n";
        assert_eq!(kinds(putty), vec!["private key"]);
        assert!(has_private_key(putty));
        assert!(has_private_key(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----"
        ));
        // A public key block is not a secret.
        assert!(!has_private_key(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----"
        ));
        assert!(!has_private_key(aws));
        assert_eq!(
            kinds("token glpat-0123456789abcdefghij"),
            vec!["GitLab token"]
        );
        assert_eq!(kinds("sk_live_0123456789abcdef"), vec!["Stripe key"]);
        assert_eq!(
            kinds("npm_0123456789abcdefghijABCDEFGHIJ012345"),
            vec!["npm token"]
        );
        assert_eq!(
            kinds("DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abcdEFGH0123456789+/abcd==;EndpointSuffix=core.windows.net"),
            vec!["Azure account key"]
        );
    }

    /// What `find` would say running every pattern, without the words that skip them.
    fn find_unfiltered(text: &str) -> Vec<Finding> {
        find_with(text, |_| true)
    }

    #[test]
    fn skipping_patterns_by_their_words_changes_no_finding() {
        let texts = [
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
            "akiaiosfodnn7example AKIAIOSFODNN7EXAMPLE ASIA0123456789ABCDEF",
            "token ghs_0123456789abcdefghijABCDEFGHIJ012345 and github_pat_0123456789abcdefghij_x",
            "xoxb-0123456789-abc AIzaSyA0123456789abcdefghijklmnopqrstu",
            "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4",
            "AUTHORIZATION: BEARER abcdef0123456789xyz",
            "HTTPS://Bob:Hunter22@Git.Example.com/x",
            "PassWord: hunter22, PWD=abc123; Passphrase = 'long one'",
            "API-KEY=0123456789abcdef Client_Secret: abcdefgh12345 TOKEN=abcdefghijk",
            "Jane.Doe@Contoso.COM wrote",
            // Non-ASCII: the patterns ignoring case are run whatever the words.
            "pa\u{17f}\u{17f}word=hunter22 (long s) and \u{212a}ey? api_\u{212a}EY=0123456789abcdef",
            "Fehler beim Öffnen: Zugriff verweigert token=abcdefgh1234",
            "Error 0x80070005: Access is denied.",
            "AWS_Secret_Access_Key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n-----END PGP PRIVATE KEY BLOCK-----",
            "putty-user-key-file-2: ssh-rsa\nPrivate-MAC: ab12",
            "GLPAT-0123456789abcdefghij SK_LIVE_0123456789abcdef accountkey=abcdEFGH0123456789+/abcd",
            "",
        ];
        for t in texts {
            assert_eq!(find(t), find_unfiltered(t), "{t}");
        }
        assert!(!find("pa\u{17f}\u{17f}word=hunter22").is_empty());
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
