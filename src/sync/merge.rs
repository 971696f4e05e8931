//! Merging two versions of a note changed on both sides: the lists that grow on every machine
//! (`errors:`, `tags:`, `outcomes:`) are unions, `updated:` and `verified:` the later value, the
//! rest a three-way merge of lines; edits that really collide keep ours and hand the other side
//! back as a conflict copy. Pure functions of the bytes, for property tests.

use super::is_note_path;
use crate::frontmatter;
use crate::normalize;
use crate::note::Note;
use git2::MergeFileInput;
use std::collections::BTreeSet;

/// `dir/name.conflict-20261123-101500-abc1234.md` beside `dir/name.md`.
pub fn conflict_copy_path(path: &str, stamp: &str, short: &str) -> String {
    match path.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.contains('/') => {
            format!("{stem}.conflict-{stamp}-{short}.{ext}")
        }
        _ => format!("{path}.conflict-{stamp}-{short}"),
    }
}

#[cfg(test)]
#[test]
fn a_conflict_copy_names_its_original() {
    let copy = conflict_copy_path("printing/spooler.md", "20261102-101500", "1a2b3c4");
    assert_eq!(copy, "printing/spooler.conflict-20261102-101500-1a2b3c4.md");
    assert_eq!(
        crate::vault::conflict_original(&copy).as_deref(),
        Some("printing/spooler.md")
    );
    assert_eq!(crate::vault::conflict_original("printing/spooler.md"), None);
    assert_eq!(crate::vault::conflict_original("a.conflict-x.md"), None);
}

/// The outcome of merging one file changed on both sides.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    /// Both sides' changes are in this content.
    Clean(Vec<u8>),
    /// The edits collide: this content (ours, with the other side's errors and tags added)
    /// stays; the other side is to be kept as a conflict copy.
    Collision(Vec<u8>),
}

/// Merge a note changed on both sides: the `errors:`, `tags:` and `outcomes:` lists are unions
/// (and `updated:` and `verified:` the later of the two), the rest is a three-way merge of lines.
pub fn merge_note(path: &str, base: Option<&[u8]>, ours: &[u8], theirs: &[u8]) -> Merged {
    if ours == theirs {
        return Merged::Clean(ours.to_vec());
    }
    if let Some(clean) = merge_lines(path, base.unwrap_or(b""), ours, theirs) {
        return Merged::Clean(clean);
    }
    let (Ok(o), Ok(t)) = (std::str::from_utf8(ours), std::str::from_utf8(theirs)) else {
        return Merged::Collision(ours.to_vec());
    };
    if !is_note_path(path) {
        return Merged::Collision(ours.to_vec());
    }
    let b = base.and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("");
    let (ofm, tfm) = (
        Note::parse(o, "").front_matter,
        Note::parse(t, "").front_matter,
    );
    // The lists joined: ours first, then what only theirs holds (`ours` items of each).
    let joined: [(&str, Vec<String>, usize); 3] = [
        (
            "errors",
            union_errors(&ofm.errors, &tfm.errors),
            ofm.errors.len(),
        ),
        ("tags", union_tags(&ofm.tags, &tfm.tags), ofm.tags.len()),
        (
            "outcomes",
            union_lines(&ofm.outcomes, &tfm.outcomes),
            ofm.outcomes.len(),
        ),
    ];
    let listed = ["errors", "tags", "outcomes", "updated", "verified"];
    // Everything but the lists merged line by line: if that is clean, the lists are joined.
    let strip = |s: &str| frontmatter::remove_keys(s, &listed);
    if let Some(rest) = merge_lines(
        path,
        strip(b).as_bytes(),
        strip(o).as_bytes(),
        strip(t).as_bytes(),
    ) {
        let rest = String::from_utf8_lossy(&rest).into_owned();
        let later = |a: &Option<String>, b: &Option<String>| a.clone().max(b.clone());
        let set: Vec<(&str, String)> = [
            ("updated", later(&ofm.updated, &tfm.updated)),
            ("verified", later(&ofm.verified, &tfm.verified)),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        let adds: Vec<(&str, &[String])> = joined
            .iter()
            .filter(|(_, all, _)| !all.is_empty())
            .map(|(k, all, _)| (*k, &all[..]))
            .collect();
        if let Ok(text) = frontmatter::edit_fields(&rest, &adds, &set) {
            return Merged::Clean(text.into_bytes());
        }
    }
    // A real collision: ours stays, enriched with the other side's errors, tags and outcomes.
    let adds: Vec<(&str, &[String])> = joined
        .iter()
        .filter(|(_, all, ours)| all.len() > *ours)
        .map(|(k, all, ours)| (*k, &all[*ours..]))
        .collect();
    if adds.is_empty() {
        return Merged::Collision(ours.to_vec());
    }
    match frontmatter::append_items(o, &adds, None) {
        Ok(text) => Merged::Collision(text.into_bytes()),
        Err(_) => Merged::Collision(ours.to_vec()),
    }
}

/// A three-way merge of lines; None when edits overlap.
fn merge_lines(path: &str, base: &[u8], ours: &[u8], theirs: &[u8]) -> Option<Vec<u8>> {
    let mut b = MergeFileInput::new();
    b.content(base).path(path);
    let mut o = MergeFileInput::new();
    o.content(ours).path(path);
    let mut t = MergeFileInput::new();
    t.content(theirs).path(path);
    let result = git2::merge_file(&b, &o, &t, None).ok()?;
    result.is_automergeable().then(|| result.content().to_vec())
}

/// Ours, then theirs not already there by normalised form.
fn union_errors(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut keys: BTreeSet<String> = ours.iter().map(|e| normalize::key(e)).collect();
    let mut out = ours.to_vec();
    for e in theirs {
        if keys.insert(normalize::key(e)) {
            out.push(e.clone());
        }
    }
    out
}

/// Ours, then theirs not already there (outcome lines: each is one use, kept once).
fn union_lines(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut out = ours.to_vec();
    for t in theirs {
        if !out.iter().any(|o| o.trim() == t.trim()) {
            out.push(t.clone());
        }
    }
    out
}

fn union_tags(ours: &[String], theirs: &[String]) -> Vec<String> {
    let mut out = ours.to_vec();
    for t in theirs {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(errors: &[&str], tags: &str, body: &str) -> String {
        let mut s = format!("---\ntitle: T\ntags: [{tags}]\nerrors:\n");
        for e in errors {
            s.push_str(&format!("  - \"{e}\"\n"));
        }
        s.push_str("---\n\n# T\n\n");
        s.push_str(body);
        s
    }

    #[test]
    fn errors_and_tags_are_unions_and_disjoint_edits_merge() {
        let (e1, e2, e3) = ("disk full", "quota exceeded", "volume offline");
        let base = note(&[e1], "a", "line1\nline2\nline3\n");
        let ours = note(&[e1, e2], "a, b", "line1 ours\nline2\nline3\n");
        let theirs = note(&[e1, e3], "a, c", "line1\nline2\nline3 theirs\n");
        let Merged::Clean(m) = merge_note(
            "n.md",
            Some(base.as_bytes()),
            ours.as_bytes(),
            theirs.as_bytes(),
        ) else {
            panic!("not clean")
        };
        let m = String::from_utf8(m).unwrap();
        let n = Note::parse(&m, "n");
        assert_eq!(n.errors, vec![e1, e2, e3]);
        assert_eq!(n.tags, vec!["a", "b", "c"]);
        assert!(m.contains("line1 ours\nline2\nline3 theirs\n"), "{m}");
    }

    #[test]
    fn colliding_edits_keep_ours_with_their_lists() {
        let base = note(&["disk full"], "a", "fix: old\n");
        let ours = note(&["disk full"], "a", "fix: ours\n");
        let theirs = note(&["disk full", "printer jammed"], "a", "fix: theirs\n");
        let Merged::Collision(m) = merge_note(
            "n.md",
            Some(base.as_bytes()),
            ours.as_bytes(),
            theirs.as_bytes(),
        ) else {
            panic!("should collide")
        };
        let m = String::from_utf8(m).unwrap();
        assert!(m.contains("fix: ours"));
        assert_eq!(
            Note::parse(&m, "n").errors,
            vec!["disk full", "printer jammed"]
        );
    }

    #[test]
    fn conflict_copies_are_named_beside_the_note() {
        assert_eq!(
            conflict_copy_path("a/b.md", "20261123-101500", "abc1234"),
            "a/b.conflict-20261123-101500-abc1234.md"
        );
        assert_eq!(
            conflict_copy_path("README", "s", "c"),
            "README.conflict-s-c"
        );
    }
}
