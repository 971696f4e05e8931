//! The note model: what kb reads out of one markdown file.
//!
//! Parsing never fails: a note with broken front matter, no front matter, CRLF line ends, a BOM
//! or invalid UTF-8 is still a note; what could not be read becomes a [`Warning`] naming the
//! line, and the text is indexed as body.

use crate::frontmatter::{self, FrontMatter};
use pulldown_cmark::{Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

/// A problem found while reading a note (it is still indexed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line in the file, if known.
    pub line: Option<usize>,
    pub message: String,
}

/// One heading and the plain text under it (up to the next heading of any level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub level: u8,
    pub heading: String,
    /// Plain text (markup removed).
    pub text: String,
    /// The markdown source under the heading, as written.
    pub raw: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Wiki,
    Markdown,
}

/// A link to another note: `[[target]]`, `[[target|label]]`, `[[target#heading]]`, `[x](other.md)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The note named, without `#heading` and (for markdown links) without `.md`.
    pub target: String,
    pub kind: LinkKind,
}

/// A parsed note.
#[derive(Debug, Clone, Default)]
pub struct Note {
    pub title: String,
    /// Front matter tags, then inline `#tags`, without duplicates (case-insensitive).
    pub tags: Vec<String>,
    /// The `errors:` list, verbatim.
    pub errors: Vec<String>,
    /// Text of fenced and indented code blocks in the body (quoted error text).
    pub code_blocks: Vec<String>,
    /// Inline code spans and block quotes of the body (errors are often quoted there).
    pub quoted: Vec<String>,
    pub aliases: Vec<String>,
    pub created: Option<String>,
    pub updated: Option<String>,
    pub sections: Vec<Section>,
    pub links: Vec<Link>,
    /// The body as plain text (markup removed), for full-text indexing.
    pub body_text: String,
    pub front_matter: FrontMatter,
    pub warnings: Vec<Warning>,
}

/// Headings that introduce the steps that fixed the problem.
const FIX_HEADINGS: &[&str] = &[
    "fix",
    "the fix",
    "solution",
    "resolution",
    "workaround",
    "steps",
    "how to fix",
];

impl Note {
    /// Parse the bytes of a markdown file. `stem` is the file name without `.md`, the last
    /// title fallback.
    pub fn parse_bytes(bytes: &[u8], stem: &str) -> Note {
        match std::str::from_utf8(bytes) {
            Ok(text) => Note::parse(text, stem),
            Err(e) => {
                let text = String::from_utf8_lossy(bytes);
                let mut note = Note::parse(&text, stem);
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                note.warnings.push(Warning {
                    line: Some(line),
                    message: "not valid UTF-8; unreadable bytes were replaced".into(),
                });
                note
            }
        }
    }

    /// Parse the text of a markdown file.
    pub fn parse(text: &str, stem: &str) -> Note {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut warnings = Vec::new();
        let sp = frontmatter::split(text);
        let (fm, body) = match sp.yaml {
            Some(yaml) => match frontmatter::parse(yaml) {
                Ok(fm) => (fm, &text[sp.body_offset..]),
                Err(p) => {
                    warnings.push(Warning {
                        line: Some(p.line.unwrap_or(1) + sp.yaml_line - 1),
                        message: format!(
                            "front matter is not valid YAML ({}); indexed as plain text",
                            p.message
                        ),
                    });
                    (FrontMatter::default(), text)
                }
            },
            None => {
                if sp.unclosed {
                    warnings.push(Warning {
                        line: Some(1),
                        message: "front matter opened by `---` never closes; indexed as plain text"
                            .into(),
                    });
                }
                (FrontMatter::default(), text)
            }
        };
        let mut note = Note {
            errors: fm.errors.clone(),
            aliases: fm.aliases.clone(),
            created: fm.created.clone(),
            updated: fm.updated.clone(),
            warnings,
            ..Note::default()
        };
        let first_heading = note.read_body(body);
        let mut tags: Vec<String> = Vec::new();
        for t in fm.tags.iter().cloned().chain(inline_tags(&note.body_text)) {
            if !tags.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                tags.push(t);
            }
        }
        note.tags = tags;
        note.title = fm
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or(first_heading)
            .unwrap_or_else(|| stem.to_string());
        note.front_matter = fm;
        note
    }

    /// Walk the markdown events; returns the first level-1 heading (the title when the front
    /// matter has none; else the file name is).
    fn read_body(&mut self, body: &str) -> Option<String> {
        let opts = Options::ENABLE_WIKILINKS
            | Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS;
        let mut heading: Option<(u8, String)> = None;
        let mut code: Option<String> = None;
        let mut first_h1: Option<String> = None;
        let mut quote_depth = 0usize;
        let mut quote = String::new();
        let mut current = Section {
            level: 0,
            heading: String::new(),
            text: String::new(),
            raw: String::new(),
        };
        let mut section_start = 0usize;
        for (event, range) in Parser::new_ext(body, opts).into_offset_iter() {
            match event {
                Event::Start(Tag::Heading { level, .. }) => {
                    current.raw = body[section_start.min(range.start)..range.start]
                        .trim()
                        .to_string();
                    heading = Some((level_num(level), String::new()));
                }
                Event::End(TagEnd::Heading(_)) => {
                    section_start = range.end;
                    if let Some((level, text)) = heading.take() {
                        let text = text.trim().to_string();
                        if level == 1 && first_h1.is_none() {
                            first_h1 = Some(text.clone());
                        }
                        self.push_text(&text);
                        self.body_text.push('\n');
                        let done = std::mem::replace(
                            &mut current,
                            Section {
                                level,
                                heading: text,
                                text: String::new(),
                                raw: String::new(),
                            },
                        );
                        if done.level > 0 || !done.text.trim().is_empty() {
                            self.sections.push(done);
                        }
                    }
                }
                Event::Start(Tag::CodeBlock(_)) => {
                    code = Some(String::new());
                }
                Event::End(TagEnd::CodeBlock) => {
                    if let Some(c) = code.take() {
                        let c = c.trim_end().to_string();
                        current.text.push_str(&c);
                        current.text.push('\n');
                        // A block starts a line of its own (never glued to the heading or the
                        // sentence before it: `in use` + `nginx:` is not `in usenginx:`).
                        if !self.body_text.is_empty() && !self.body_text.ends_with('\n') {
                            self.body_text.push('\n');
                        }
                        self.body_text.push_str(&c);
                        self.body_text.push('\n');
                        if !c.trim().is_empty() {
                            self.code_blocks.push(c);
                        }
                    }
                }
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    ..
                }) => {
                    if let Some(link) = link_of(link_type, &dest_url) {
                        self.links.push(link);
                    }
                }
                Event::Start(Tag::BlockQuote(_)) => {
                    quote_depth += 1;
                }
                Event::End(TagEnd::BlockQuote(_)) => {
                    quote_depth = quote_depth.saturating_sub(1);
                    if quote_depth == 0 && !quote.trim().is_empty() {
                        self.quoted.push(std::mem::take(&mut quote));
                    }
                }
                Event::Code(t) if code.is_none() && heading.is_none() => {
                    self.quoted.push(t.to_string());
                    current.text.push_str(&t);
                    self.push_text(&t);
                }
                Event::Text(t) | Event::Code(t) => {
                    if quote_depth > 0 && code.is_none() {
                        quote.push_str(&t);
                    }
                    if let Some(c) = code.as_mut() {
                        c.push_str(&t);
                    } else if let Some((_, h)) = heading.as_mut() {
                        h.push_str(&t);
                    } else {
                        current.text.push_str(&t);
                        self.push_text(&t);
                    }
                }
                Event::SoftBreak | Event::HardBreak => {
                    if quote_depth > 0 {
                        quote.push('\n');
                    }
                    if let Some((_, h)) = heading.as_mut() {
                        h.push(' ');
                    } else {
                        current.text.push('\n');
                        self.body_text.push('\n');
                    }
                }
                Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableRow) => {
                    if quote_depth > 0 {
                        quote.push('\n');
                    }
                    current.text.push('\n');
                    self.body_text.push('\n');
                }
                Event::Start(Tag::Item) => {
                    current.text.push_str("- ");
                }
                Event::Html(t) | Event::InlineHtml(t) => self.push_text(&t),
                _ => {}
            }
        }
        current.raw = body[section_start.min(body.len())..].trim().to_string();
        if current.level > 0 || !current.text.trim().is_empty() {
            self.sections.push(current);
        }
        first_h1
    }

    fn push_text(&mut self, t: &str) {
        if !self.body_text.is_empty() && !self.body_text.ends_with(['\n', ' ']) {
            self.body_text.push(' ');
        }
        self.body_text.push_str(t);
    }

    /// The Fix section (or Solution, Resolution, Workaround...), if the note has one.
    pub fn fix_section(&self) -> Option<&Section> {
        self.sections.iter().find(|s| {
            let h = s.heading.trim().trim_end_matches(':').to_lowercase();
            FIX_HEADINGS
                .iter()
                .any(|f| h == *f || h.starts_with(&format!("{f} ")))
        })
    }

    /// Every piece of error text: the `errors:` list, then the error lines quoted in the body.
    pub fn all_errors(&self) -> impl Iterator<Item = &str> {
        self.errors
            .iter()
            .map(String::as_str)
            .chain(self.quoted_error_lines())
    }

    /// The lines of code blocks, inline code and block quotes that read as errors
    /// ([`normalize::reads_as_error`]), wherever they stand in a block; commands typed at a
    /// prompt, code and plain output are not errors.
    pub fn quoted_error_lines(&self) -> impl Iterator<Item = &str> {
        self.code_blocks
            .iter()
            .chain(self.quoted.iter())
            .flat_map(|b| b.lines())
            .map(str::trim)
            .filter(|l| l.len() >= 8 && l.len() <= 2_000)
            .filter(|l| !crate::normalize::is_code_line(l) && crate::normalize::reads_as_error(l))
    }
}

fn level_num(l: HeadingLevel) -> u8 {
    match l {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn link_of(link_type: LinkType, dest: &str) -> Option<Link> {
    let dest = dest.trim();
    if dest.is_empty() {
        return None;
    }
    match link_type {
        LinkType::WikiLink { .. } => {
            let target = dest.split('#').next().unwrap_or("").trim();
            (!target.is_empty()).then(|| Link {
                target: target.trim_end_matches(".md").to_string(),
                kind: LinkKind::Wiki,
            })
        }
        _ => {
            if dest.contains("://") || dest.starts_with('#') || dest.starts_with("mailto:") {
                return None;
            }
            let path = dest.split('#').next().unwrap_or("");
            path.strip_suffix(".md").map(|t| Link {
                target: t.to_string(),
                kind: LinkKind::Markdown,
            })
        }
    }
}

/// Inline `#tags` in plain text (`#1`, `C#` and `a#b` are not tags): a `#` at the start or after
/// a space, `(`, `,` or `;`, then a letter or `_`, then letters, digits, `_`, `/` and `-`.
/// (Scanned by hand: a Unicode regex for this costs a millisecond to compile in every process.)
pub fn inline_tags(text: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let starts =
            c == '#' && prev.is_none_or(|p| p.is_whitespace() || matches!(p, '(' | ',' | ';'));
        prev = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[i + 1..];
        if !rest
            .chars()
            .next()
            .is_some_and(|f| f.is_alphabetic() || f == '_')
        {
            continue;
        }
        let end = rest
            .char_indices()
            .find(|&(_, x)| !(x.is_alphanumeric() || matches!(x, '_' | '/' | '-')))
            .map_or(rest.len(), |(j, _)| j);
        let tag = rest[..end].trim_end_matches(['/', '-']);
        if !tag.is_empty() {
            tags.push(tag.to_string());
        }
        // Resume after the tag.
        while chars.peek().is_some_and(|&(j, _)| j <= i + end) {
            prev = chars.next().map(|(_, x)| x);
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "---\ntitle: \"Outlook: ost\"\ntags: [outlook, windows]\nerrors:\n  - \"Cannot start\"\nticket: 7\n---\n\n# Heading title\n\n## Problem\nIt broke. #email\n\n```\n0x8004010F\n```\n\n## Fix\n1. Rebuild the profile.\n\nSee [[other-note|the other]] and [x](dir/third.md#h).\n";

    #[test]
    fn reads_front_matter_sections_links_tags() {
        let n = Note::parse(SAMPLE, "stem");
        assert_eq!(n.title, "Outlook: ost");
        assert_eq!(n.tags, vec!["outlook", "windows", "email"]);
        assert_eq!(n.errors, vec!["Cannot start"]);
        assert_eq!(n.code_blocks, vec!["0x8004010F"]);
        assert_eq!(
            n.links
                .iter()
                .map(|l| l.target.as_str())
                .collect::<Vec<_>>(),
            vec!["other-note", "dir/third"]
        );
        let fix = n.fix_section().unwrap();
        assert!(fix.text.contains("Rebuild the profile."), "{fix:?}");
        assert!(
            fix.raw
                .starts_with("1. Rebuild the profile.\n\nSee [[other-note"),
            "{fix:?}"
        );
        assert_eq!(
            n.sections[1].raw,
            "It broke. #email\n\n```\n0x8004010F\n```"
        );
        assert!(n.warnings.is_empty());
        assert_eq!(n.front_matter.extra.len(), 1);
    }

    #[test]
    fn title_falls_back_to_heading_then_stem() {
        assert_eq!(Note::parse("# Hello\ntext", "s").title, "Hello");
        assert_eq!(Note::parse("just text", "s").title, "s");
        assert_eq!(Note::parse("", "empty").title, "empty");
    }

    #[test]
    fn broken_front_matter_is_body_with_warning() {
        let n = Note::parse("---\ntitle: [broken\n---\n# T\nbody words\n", "s");
        assert_eq!(n.warnings.len(), 1);
        assert!(n.body_text.contains("body words"));
        let glued = Note::parse(
            "## Port in use\n```\nnginx: [emerg] bind() failed\n```\n",
            "x",
        );
        assert!(
            glued.body_text.contains("Port in use\nnginx:"),
            "{:?}",
            glued.body_text
        );
        let n = Note::parse("---\ntitle: x\nno end\n", "s");
        assert_eq!(n.warnings.len(), 1);
        assert!(n.body_text.contains("no end"));
    }

    #[test]
    fn crlf_bom_and_invalid_utf8() {
        let n = Note::parse("\u{feff}---\r\ntitle: T\r\n---\r\n## Fix\r\nstep\r\n", "s");
        assert_eq!(n.title, "T");
        assert!(n.fix_section().unwrap().text.contains("step"));
        let n = Note::parse_bytes(b"# T\n\xff\xfe bad", "s");
        assert_eq!(n.title, "T");
        assert_eq!(n.warnings.len(), 1);
    }

    #[test]
    fn inline_tags_are_words_after_hash() {
        assert_eq!(
            inline_tags("fix #vpn and #mac-os, C# or #1"),
            vec!["vpn", "mac-os"]
        );
        assert_eq!(
            inline_tags("#café (#net/dns-) a#b;#_x ##y #"),
            vec!["café", "net/dns", "_x"]
        );
    }

    #[test]
    fn errors_quoted_anywhere_in_the_body_are_recorded_and_commands_are_not() {
        let mut long = String::from("```\nTraceback (most recent call last):\n");
        for i in 0..30 {
            long.push_str(&format!("  File \"app.py\", line {i}, in step\n"));
        }
        long.push_str("sqlite3.OperationalError: database is locked\n```\n");
        let text = format!(
            "# Locked database\n\nThe app said `Error: database is locked` twice.\n\n> fatal: unable to access the repository: Permission denied\n\n```\n$ git log --grep error\nls -la\n```\n\n{long}"
        );
        let n = Note::parse(&text, "x");
        let errors: Vec<&str> = n.all_errors().collect();
        assert!(errors.contains(&"Error: database is locked"), "{errors:?}");
        assert!(
            errors.contains(&"fatal: unable to access the repository: Permission denied"),
            "{errors:?}"
        );
        assert!(
            errors.contains(&"sqlite3.OperationalError: database is locked"),
            "the last line of a long traceback: {errors:?}"
        );
        assert!(!errors.iter().any(|e| e.contains("git log")), "{errors:?}");
        assert!(!errors.iter().any(|e| e.contains("ls -la")), "{errors:?}");
    }

    #[test]
    fn the_title_is_the_first_level_one_heading_else_the_file_name() {
        assert_eq!(
            Note::parse("## Setup\n\ntext\n", "my-note").title,
            "my-note"
        );
        assert_eq!(
            Note::parse("## Setup\n\n# Real title\n", "my-note").title,
            "Real title"
        );
    }
}
