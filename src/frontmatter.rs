//! YAML front matter: finding it, reading its known keys, and editing one field while every
//! other byte of the file stays as it was.
//!
//! A note's front matter is the YAML between a first line `---` and the next line `---` (or
//! `...`). Reading goes through `serde_yaml_ng`; editing works on the text itself, line by line,
//! because re-serialising YAML would lose comments, quoting, key order and unknown keys. Every
//! edit is verified by parsing the result again: if anything but the intended field changed,
//! the edit is refused instead of written.

use serde_yaml_ng::{Mapping, Value};

/// Where the front matter and the body of a note's text are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The YAML between the fences, if the note has closed front matter.
    pub yaml: Option<&'a str>,
    /// 1-based line number of the first YAML line (for messages).
    pub yaml_line: usize,
    /// Byte offset in the text where the YAML begins.
    pub yaml_offset: usize,
    /// Byte offset in the text where the body begins.
    pub body_offset: usize,
    /// True when a first line `---` opened front matter that never closed.
    pub unclosed: bool,
}

/// Split `text` (without BOM) into front matter and body.
pub fn split(text: &str) -> Split<'_> {
    let mut lines = text.split_inclusive('\n');
    let none = Split {
        yaml: None,
        yaml_line: 0,
        yaml_offset: 0,
        body_offset: 0,
        unclosed: false,
    };
    match lines.next() {
        Some(first) if is_fence(first, false) => {}
        _ => return none,
    }
    let yaml_start = text.split_inclusive('\n').next().map_or(0, str::len);
    let mut offset = yaml_start;
    for line in lines {
        if is_fence(line, true) {
            return Split {
                yaml: Some(&text[yaml_start..offset]),
                yaml_line: 2,
                yaml_offset: yaml_start,
                body_offset: offset + line.len(),
                unclosed: false,
            };
        }
        offset += line.len();
    }
    Split {
        unclosed: true,
        ..none
    }
}

fn is_fence(line: &str, closing: bool) -> bool {
    let l = line.trim_end();
    l == "---" || (closing && l == "...")
}

/// The known keys of a note's front matter; unknown keys stay in `extra`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub errors: Vec<String>,
    pub aliases: Vec<String>,
    pub created: Option<String>,
    pub updated: Option<String>,
    /// Known-error state: `workaround`, `fixed` or `retired` (other values are kept as written).
    pub status: Option<String>,
    /// The product, version or OS the fix applies to.
    pub applies_to: Vec<String>,
    /// When the fix was last checked to still work (`kb verify`).
    pub verified: Option<String>,
    /// One line per use of the fix on a call (`kb worked`, `kb failed`): see
    /// [`crate::outcomes`].
    pub outcomes: Vec<String>,
    /// Keys kb does not know, as parsed (the file keeps them byte for byte).
    pub extra: Mapping,
}

/// Why front matter could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlProblem {
    /// 1-based line in the YAML text, if known.
    pub line: Option<usize>,
    pub message: String,
}

/// Parse the YAML of a front matter block.
pub fn parse(yaml: &str) -> Result<FrontMatter, YamlProblem> {
    if yaml.trim().is_empty() {
        return Ok(FrontMatter::default());
    }
    let value: Value = serde_yaml_ng::from_str(yaml).map_err(|e| YamlProblem {
        line: e.location().map(|l| l.line()),
        message: first_line(&e.to_string()),
    })?;
    let map = match value {
        Value::Mapping(m) => m,
        Value::Null => return Ok(FrontMatter::default()),
        _ => {
            return Err(YamlProblem {
                line: Some(1),
                message: "front matter is not a set of `key: value` lines".into(),
            })
        }
    };
    let mut fm = FrontMatter::default();
    for (k, v) in map {
        let key = match &k {
            Value::String(s) => s.as_str(),
            _ => {
                fm.extra.insert(k, v);
                continue;
            }
        };
        match key {
            "title" => fm.title = scalar(&v),
            "tags" => fm.tags = list(&v, true),
            "errors" => fm.errors = list(&v, false),
            "aliases" => fm.aliases = list(&v, false),
            "created" => fm.created = scalar(&v),
            "updated" => fm.updated = scalar(&v),
            "status" => fm.status = scalar(&v),
            "applies_to" => fm.applies_to = list(&v, false),
            "verified" => fm.verified = scalar(&v),
            "outcomes" => fm.outcomes = list(&v, false),
            _ => {
                fm.extra.insert(k, v);
            }
        }
    }
    Ok(fm)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar(&t.value),
        _ => None,
    }
}

/// A list of strings; a single string is one item, or for tags a comma/space separated list.
fn list(v: &Value, split_words: bool) -> Vec<String> {
    let items: Vec<String> = match v {
        Value::Sequence(seq) => seq.iter().filter_map(scalar).collect(),
        Value::Null => Vec::new(),
        other => match scalar(other) {
            Some(s) if split_words => s
                .split(|c: char| c == ',' || c.is_whitespace())
                .map(str::to_string)
                .collect(),
            Some(s) => vec![s],
            None => Vec::new(),
        },
    };
    items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Append `error` to the `errors:` list and set `updated:` to `updated`, changing no other byte.
///
/// `text` is the whole note (a BOM, CRLF line ends and anything else are kept). Returns the new
/// text, or why the edit is refused.
pub fn append_error(text: &str, error: &str, updated: &str) -> Result<String, String> {
    append_items(text, &[("errors", &[error.to_string()])], Some(updated))
}

/// Append items to the list keys `errors`, `tags` and `outcomes` (a missing key is added) and, if given,
/// set `updated:`; every other byte stays. The result is parsed again and refused unless
/// exactly these fields changed.
pub fn append_items(
    text: &str,
    adds: &[(&str, &[String])],
    updated: Option<&str>,
) -> Result<String, String> {
    let set: Vec<(&str, String)> = updated
        .map(|u| ("updated", u.to_string()))
        .into_iter()
        .collect();
    edit_fields(text, adds, &set)
}

/// Append items to the list keys `errors`, `tags` and `outcomes`, and set the scalar keys
/// `title`, `created`, `updated` and `verified` (each value as text; a missing key is added);
/// every other byte stays. The result is parsed again and refused unless exactly these fields changed.
pub fn edit_fields(
    text: &str,
    adds: &[(&str, &[String])],
    set: &[(&str, String)],
) -> Result<String, String> {
    let (bom, rest) = match text.strip_prefix('\u{feff}') {
        Some(r) => ("\u{feff}", r),
        None => ("", text),
    };
    let eol = if rest.contains("\r\n") { "\r\n" } else { "\n" };
    let sp = split(rest);
    if sp.unclosed {
        return Err("its front matter never closes (no second `---` line)".into());
    }
    let (before, mut lines, yaml_start, yaml_len) = match sp.yaml {
        Some(yaml) => {
            let before = parse(yaml)
                .map_err(|p| format!("its front matter is not valid YAML ({})", p.message))?;
            let mut lines: Vec<String> = yaml.split_inclusive('\n').map(str::to_string).collect();
            if let Some(last) = lines.last_mut() {
                if !last.ends_with('\n') {
                    last.push_str(eol);
                }
            }
            (before, lines, sp.yaml_offset, yaml.len())
        }
        None => (FrontMatter::default(), Vec::new(), 0, 0),
    };
    let mut expected = before.clone();
    for (key, items) in adds {
        let list = match *key {
            "errors" => &mut expected.errors,
            "tags" => &mut expected.tags,
            "outcomes" => &mut expected.outcomes,
            "applies_to" => &mut expected.applies_to,
            other => return Err(format!("kb does not append to `{other}:`")),
        };
        // Items are stored trimmed, as they are read back.
        for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
            insert_item(&mut lines, key, &yaml_string(item), eol)?;
            list.push(item.to_string());
        }
    }
    for (key, value) in set {
        let slot = match *key {
            "title" => &mut expected.title,
            "created" => &mut expected.created,
            "updated" => &mut expected.updated,
            "verified" => &mut expected.verified,
            "status" => &mut expected.status,
            other => return Err(format!("kb does not set `{other}:`")),
        };
        // Dates are written plain, as kb always writes them; other text is quoted.
        let is_date = *key != "title" && chrono::DateTime::parse_from_rfc3339(value).is_ok();
        let is_word = *key == "status" && value.chars().all(|c| c.is_ascii_lowercase());
        let yaml = if is_date || is_word {
            value.clone()
        } else {
            yaml_string(value)
        };
        set_scalar(&mut lines, key, &yaml, eol);
        *slot = Some(value.clone());
    }
    let new_yaml: String = lines.concat();
    let after =
        parse(&new_yaml).map_err(|p| format!("the edit would break the YAML ({})", p.message))?;
    if after != expected {
        return Err("its lists have a layout kb cannot extend safely".into());
    }
    if sp.yaml.is_none() {
        return Ok(format!("{bom}---{eol}{new_yaml}---{eol}{rest}"));
    }
    Ok(format!(
        "{bom}{}{}{}",
        &rest[..yaml_start],
        new_yaml,
        &rest[yaml_start + yaml_len..]
    ))
}

/// The text with these top-level keys (and their values, on however many lines) removed from
/// the front matter. Text without front matter is returned as it is.
pub fn remove_keys(text: &str, keys: &[&str]) -> String {
    let (bom, rest) = match text.strip_prefix('\u{feff}') {
        Some(r) => ("\u{feff}", r),
        None => ("", text),
    };
    let sp = split(rest);
    let Some(yaml) = sp.yaml else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in yaml.split_inclusive('\n') {
        let top_level = !line.starts_with([' ', '\t']) && !line.trim().is_empty();
        if top_level && !(skipping && line.starts_with('-')) {
            skipping = keys.iter().any(|k| {
                line.strip_prefix(k)
                    .is_some_and(|r| r.trim_start_matches([' ', '\t']).starts_with(':'))
            });
        }
        if !skipping {
            out.push_str(line);
        }
    }
    format!(
        "{bom}{}{}{}",
        &rest[..sp.yaml_offset],
        out,
        &rest[sp.yaml_offset + yaml.len()..]
    )
}

/// A YAML double-quoted scalar. Every character YAML does not allow as it is (controls, DEL,
/// C1 controls, a BOM, non-characters) is written as an escape, so any text round-trips.
pub fn yaml_string(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{20}'..='\u{7e}'
            | '\u{a0}'..='\u{d7ff}'
            | '\u{e000}'..='\u{fefe}'
            | '\u{ff00}'..='\u{fffd}' => out.push(c),
            c if (c as u32) >= 0x10000 => out.push(c),
            c if (c as u32) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// The index of the top-level line `key:` and the text after the colon.
fn find_key(lines: &[String], key: &str) -> Option<(usize, String)> {
    lines.iter().enumerate().find_map(|(i, l)| {
        let rest = l.strip_prefix(key)?;
        let rest = rest.trim_start_matches([' ', '\t']);
        let value = rest.strip_prefix(':')?;
        Some((i, value.trim_end_matches(['\r', '\n']).to_string()))
    })
}

fn strip_comment(s: &str) -> &str {
    // A comment starts at ` #` outside quotes; the values we look at here are short.
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return s[..i].trim_end(),
            None => {}
        }
        prev = c;
    }
    s.trim_end()
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn insert_item(lines: &mut Vec<String>, key: &str, item: &str, eol: &str) -> Result<(), String> {
    let Some((at, value)) = find_key(lines, key) else {
        lines.push(format!("{key}:{eol}"));
        lines.push(format!("  - {item}{eol}"));
        return Ok(());
    };
    let value = strip_comment(value.trim()).to_string();
    if value.is_empty() {
        // Block sequence (or null): find its last line.
        let mut last = at;
        let mut item_indent: Option<String> = None;
        for (i, line) in lines.iter().enumerate().skip(at + 1) {
            if is_blank_or_comment(line) {
                continue;
            }
            let ind = indent_of(line);
            let trimmed = line.trim_start_matches([' ', '\t']);
            if ind == 0 && !trimmed.starts_with("- ") && trimmed.trim_end() != "-" {
                break;
            }
            if item_indent.is_none() && trimmed.starts_with('-') {
                item_indent = Some(line[..ind].to_string());
            }
            last = i;
        }
        let indent = item_indent.unwrap_or_else(|| "  ".into());
        lines.insert(last + 1, format!("{indent}- {item}{eol}"));
        return Ok(());
    }
    if let Some(inner) = value.strip_prefix('[') {
        let Some(close) = flow_close(inner) else {
            return Err(format!(
                "its `{key}:` list spans several lines in [brackets]"
            ));
        };
        let line = &lines[at];
        let open_pos = line.find('[').unwrap_or(0);
        let close_pos = open_pos + 1 + close;
        let sep = if inner[..close].trim().is_empty() {
            ""
        } else {
            ", "
        };
        let mut new = String::with_capacity(line.len() + item.len() + 2);
        new.push_str(line[..close_pos].trim_end());
        new.push_str(sep);
        new.push_str(item);
        new.push_str(&line[close_pos..]);
        lines[at] = new;
        return Ok(());
    }
    // A single scalar: turn it into a list holding the old value and the new one.
    let line = lines[at].clone();
    let colon = line.find(':').unwrap_or(0);
    let old = line[colon + 1..]
        .trim_end_matches(['\r', '\n'])
        .trim()
        .to_string();
    if old.starts_with('|') || old.starts_with('>') || old.starts_with('&') || old.starts_with('!')
    {
        return Err(format!("its `{key}:` value is a block scalar or an anchor"));
    }
    lines[at] = format!("{key}:{eol}");
    lines.insert(at + 1, format!("  - {old}{eol}"));
    lines.insert(at + 2, format!("  - {item}{eol}"));
    Ok(())
}

/// Byte index of the `]` closing a flow sequence whose text starts after its `[`.
fn flow_close(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '[' | '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ']' if depth == 0 => return Some(i),
            ']' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Set a top-level scalar key, replacing its line or appending one.
fn set_scalar(lines: &mut Vec<String>, key: &str, value: &str, eol: &str) {
    match find_key(lines, key) {
        Some((at, _)) => {
            let keep_eol = if lines[at].ends_with("\r\n") {
                "\r\n"
            } else {
                "\n"
            };
            lines[at] = format!("{key}: {value}{keep_eol}");
        }
        None => lines.push(format!("{key}: {value}{eol}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_and_body() {
        let t = "---\ntitle: x\n---\n# Body\n";
        let s = split(t);
        assert_eq!(s.yaml, Some("title: x\n"));
        assert_eq!(&t[s.body_offset..], "# Body\n");
        assert!(split("---\ntitle: x\n").yaml.is_none());
        assert!(split("---\ntitle: x\n").unclosed);
        assert_eq!(split("no front matter").yaml, None);
    }

    #[test]
    fn parses_known_and_unknown_keys() {
        let fm = parse("title: T\ntags: a, b\nerrors: one\nticket: 42\n").unwrap();
        assert_eq!(fm.title.as_deref(), Some("T"));
        assert_eq!(fm.tags, vec!["a", "b"]);
        assert_eq!(fm.errors, vec!["one"]);
        assert_eq!(fm.extra.len(), 1);
    }

    #[test]
    fn broken_yaml_reports_a_line() {
        let p = parse("title: x\ntags: [a, b\nerrors: y\n").unwrap_err();
        assert!(p.line.is_some());
    }

    fn check_append(before: &str, after: &str) {
        let got = append_error(before, "new \"err\"", "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(got, after);
    }

    #[test]
    fn appends_to_block_list() {
        check_append(
            "---\ntitle: t # c\nerrors:\n  - \"a\"\n  - b\n# trailing\nx: 1\n---\nbody\n",
            "---\ntitle: t # c\nerrors:\n  - \"a\"\n  - b\n  - \"new \\\"err\\\"\"\n# trailing\nx: 1\nupdated: 2026-01-01T00:00:00Z\n---\nbody\n",
        );
    }

    #[test]
    fn appends_to_flow_list_and_replaces_updated() {
        check_append(
            "---\r\nerrors: [\"a]\", b]\r\nupdated: 2020-01-01\r\n---\r\n",
            "---\r\nerrors: [\"a]\", b, \"new \\\"err\\\"\"]\r\nupdated: 2026-01-01T00:00:00Z\r\n---\r\n",
        );
        check_append(
            "---\nerrors: []\n---\n",
            "---\nerrors: [\"new \\\"err\\\"\"]\nupdated: 2026-01-01T00:00:00Z\n---\n",
        );
    }

    #[test]
    fn adds_key_or_front_matter() {
        check_append(
            "\u{feff}---\ntitle: t\n---\nb",
            "\u{feff}---\ntitle: t\nerrors:\n  - \"new \\\"err\\\"\"\nupdated: 2026-01-01T00:00:00Z\n---\nb",
        );
        check_append(
            "# t\n",
            "---\nerrors:\n  - \"new \\\"err\\\"\"\nupdated: 2026-01-01T00:00:00Z\n---\n# t\n",
        );
    }

    #[test]
    fn scalar_becomes_list_and_zero_indent_list_grows() {
        check_append(
            "---\nerrors: old one\n---\n",
            "---\nerrors:\n  - old one\n  - \"new \\\"err\\\"\"\nupdated: 2026-01-01T00:00:00Z\n---\n",
        );
        check_append(
            "---\nerrors:\n- a\n- |\n  multi\n  line\ntags: [x]\n---\n",
            "---\nerrors:\n- a\n- |\n  multi\n  line\n- \"new \\\"err\\\"\"\ntags: [x]\nupdated: 2026-01-01T00:00:00Z\n---\n",
        );
    }

    #[test]
    fn appends_tags_and_errors_together() {
        let t = "---\ntags: [a, b]\n---\nx\n";
        let got = append_items(
            t,
            &[("tags", &["c".to_string()]), ("errors", &["e".to_string()])],
            None,
        )
        .unwrap();
        assert_eq!(
            got,
            "---\ntags: [a, b, \"c\"]\nerrors:\n  - \"e\"\n---\nx\n"
        );
    }

    #[test]
    fn removes_keys_with_their_values() {
        let t = "---\ntitle: t\nerrors:\n  - a\n  - |\n    b\ntags: [x]\n# note\nupdated: u\nextra: 1\n---\nbody\n";
        assert_eq!(
            remove_keys(t, &["errors", "tags", "updated"]),
            "---\ntitle: t\n# note\nextra: 1\n---\nbody\n"
        );
        let t = "---\nerrors:\n- a\n- b\ntitle: t\n---\n";
        assert_eq!(remove_keys(t, &["errors"]), "---\ntitle: t\n---\n");
        assert_eq!(remove_keys("no fm", &["errors"]), "no fm");
    }

    #[test]
    fn any_text_round_trips_through_a_yaml_string() {
        for t in [
            "plain",
            "quote \" and \\ back",
            "tab\tnew\nline\r",
            "\u{7f}\u{1}\u{85}\u{feff}\u{fffe}",
            "é ✓ 😀",
        ] {
            let y = format!("k: {}", yaml_string(t));
            let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&y).unwrap();
            assert_eq!(v["k"].as_str(), Some(t), "{y}");
        }
    }

    #[test]
    fn refuses_unclosed_or_invalid() {
        assert!(append_error("---\ntitle: x\n", "e", "u").is_err());
        assert!(append_error("---\ntitle: [x\n---\n", "e", "u").is_err());
    }
}
