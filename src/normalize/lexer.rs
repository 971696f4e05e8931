//! The one-pass lexer: whitespace-separated chunks, each classified by the masking rules.

use super::*;

/// Words after which a number identifies the error rather than varying.
pub(super) const CODE_WORDS: &[&str] = &[
    "error", "err", "code", "id", "errno", "http", "status", "exit", "event", "hresult",
    "ntstatus", "win32", "stop", "bugcheck", "sqlstate", "rc", "returned", "return", "result",
    "ora", "kb",
];

/// If the chunks start a short quoted name (`'x'`, `"two words"`), how many chunks it spans.
pub(super) fn quoted_span(chunks: &[&str]) -> Option<usize> {
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

pub(super) fn push_var(out: &mut Vec<Token>, v: Var) {
    // A path with spaces lexes as several path-like chunks: count it once. Other runs (six fan
    // speeds) are kept, since how many values a message has is part of its shape.
    if !(matches!(v, Var::Path | Var::Quoted) && out.last() == Some(&Token::Var(v))) {
        out.push(Token::Var(v));
    }
}

pub(super) fn prev_is_code_word(out: &[Token]) -> bool {
    matches!(out.last(), Some(Token::Word(w)) if CODE_WORDS.contains(&w.as_str()))
}

/// Classify one whitespace-free chunk, pushing its tokens.
pub(super) fn lex_chunk(chunk: &str, out: &mut Vec<Token>) {
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
pub(super) fn lex_mixed(part: &str, out: &mut Vec<Token>) {
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
