//! Property tests of the byte-preserving front-matter edit behind `kb link` and `kb sync`:
//! whatever a note looks like (unknown keys, comments, quoting, CRLF, BOM, unicode), appending
//! an error changes only `errors:` and `updated:`, or the edit is refused; it never corrupts.

use kb::frontmatter::{self, FrontMatter};
use proptest::prelude::*;

/// A YAML scalar people write: plain, quoted, unicode, with colons or hashes.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9 _.-]{0,20}"
            .prop_map(|s| s.trim().to_string())
            .prop_filter("non-empty", |s| !s.is_empty()),
        "[^\"\\\\\\x00-\\x1f]{0,24}".prop_map(|s| format!("\"{s}\"")),
        "[^'\\x00-\\x1f]{0,24}".prop_map(|s| format!("'{}'", s)),
        Just("\"Überweisung: fehlgeschlagen # nicht\"".to_string()),
        Just("\"0x80070005\"".to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z_]{0,10}".prop_filter("not a known key", |k| {
        !matches!(
            k.as_str(),
            "errors" | "updated" | "title" | "tags" | "aliases" | "created"
        )
    })
}

/// The lines of a front matter with unknown keys, comments and an `errors:` list in one of
/// the layouts people use.
fn front_matter() -> impl Strategy<Value = Vec<String>> {
    let extra = prop::collection::vec((key(), scalar()), 0..4).prop_map(|kv| {
        kv.into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
    });
    let errors = prop::collection::vec(scalar(), 0..4);
    let layout = 0..5u8;
    let comment = prop::option::of("# [a-z ]{0,20}");
    (extra, errors, layout, comment, prop::option::of(scalar())).prop_map(
        |(mut lines, errs, layout, comment, title)| {
            if let Some(t) = title {
                lines.insert(0, format!("title: {t}"));
            }
            match layout {
                0 => {}
                1 => lines.push(format!("errors: [{}]", errs.join(", "))),
                2 if !errs.is_empty() => {
                    lines.push("errors:".into());
                    lines.extend(errs.iter().map(|e| format!("  - {e}")));
                }
                3 if !errs.is_empty() => {
                    lines.push("errors:".into());
                    lines.extend(errs.iter().map(|e| format!("- {e}")));
                }
                _ => lines.push("errors:".into()),
            }
            if let Some(c) = comment {
                lines.push(c);
            }
            lines.push("updated: 2025-01-01T00:00:00Z".into());
            lines
        },
    )
}

fn note() -> impl Strategy<Value = String> {
    (
        front_matter(),
        any::<bool>(),
        any::<bool>(),
        "[^\\x00]{0,80}",
    )
        .prop_map(|(lines, crlf, bom, body)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            s.push_str("---");
            s.push_str(eol);
            for l in lines {
                s.push_str(&l);
                s.push_str(eol);
            }
            s.push_str("---");
            s.push_str(eol);
            s.push_str(&body);
            s
        })
}

fn parsed(text: &str) -> Option<FrontMatter> {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    frontmatter::parse(frontmatter::split(t).yaml?).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn appending_an_error_changes_only_errors_and_updated(text in note(), error in "[^\\x00]{1,60}") {
        let before = parsed(&text);
        prop_assume!(before.is_some());
        let before = before.unwrap();
        match frontmatter::append_error(&text, &error, "2026-11-23T10:00:00Z") {
            // Refused (the file is then left untouched): only for layouts kb does not extend.
            Err(e) => prop_assert!(text.contains("errors: [") || text.contains("errors:"), "refused a plain note: {}", e),
            Ok(after_text) => {
                let after = parsed(&after_text).expect("the result parses");
                let mut expected = before.clone();
                if !error.trim().is_empty() {
                    expected.errors.push(error.trim().to_string());
                }
                expected.updated = Some("2026-11-23T10:00:00Z".into());
                prop_assert_eq!(&after, &expected);
                // Everything after the front matter is byte for byte the same.
                let body = |t: &str| {
                    let t = t.strip_prefix('\u{feff}').unwrap_or(t);
                    t[frontmatter::split(t).body_offset..].to_string()
                };
                prop_assert_eq!(body(&text), body(&after_text));
                prop_assert_eq!(text.starts_with('\u{feff}'), after_text.starts_with('\u{feff}'));
                // Every line of the old front matter is still there, in order.
                let old_lines: Vec<&str> = text.split_inclusive('\n').collect();
                let new_lines: Vec<&str> = after_text.split_inclusive('\n').collect();
                let mut it = new_lines.iter();
                for l in old_lines.iter().filter(|l| !l.trim_start_matches('\u{feff}').starts_with("updated:") && !l.starts_with("errors:")) {
                    prop_assert!(it.any(|n| n == l), "line lost: {:?}", l);
                }
            }
        }
    }
}
