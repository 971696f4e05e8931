//! The web view's pages as HTML text: the search page and its results, a note, a tag, an
//! error. Everything that comes from a note or a request is escaped; a note's markdown is
//! rendered by pulldown-cmark and then cleaned by ammonia (no script, no event handler, no
//! `javascript:` URL, no frame), so a note cannot run code in the reader's browser. Pages
//! work without JavaScript; the one script (a keyboard shortcut) is a file of the server's.

use crate::library::{Advice, Found};
use crate::view::NoteView;

/// The page around a body: the search box on every page.
pub fn layout(title: &str, query: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title}</title>
<link rel="stylesheet" href="/static/kb.css">
<script src="/static/kb.js" defer></script>
</head>
<body>
<header>
<a class="home" href="/">kb</a>
<form action="/" method="get" role="search">
<textarea id="q" name="q" rows="{rows}" accesskey="k" placeholder="Paste the error, or describe the problem (press / to come here)" aria-label="Search the notes">{query}</textarea>
<button type="submit">Search</button>
</form>
</header>
<main>
{body}
</main>
</body>
</html>
"#,
        title = esc(title),
        rows = query.lines().count().clamp(2, 8),
        query = esc(query),
    )
}

/// The front page without a query.
pub fn home(notes: u64, vaults: &[String]) -> String {
    let what = if vaults.is_empty() {
        format!("{} notes", notes)
    } else {
        format!("{} notes in {}", notes, esc(&vaults.join(", ")))
    };
    layout(
        "kb",
        "",
        &format!(
            r#"<p class="intro">Search {what}: paste the error message as it appears (paths, names and numbers may differ), or type the problem in a few words. <a href="/tags">All tags</a>.</p>"#
        ),
    )
}

/// The results of a search: each note found, then what to do when none answers.
pub fn results(query: &str, found: &[Found], advice: Option<&Advice>) -> String {
    let mut body = String::new();
    if !found.is_empty() {
        body.push_str("<ol class=\"hits\">\n");
        for f in found {
            body.push_str(&hit(f));
        }
        body.push_str("</ol>\n");
    }
    if let Some(a) = advice {
        body.push_str(&advice_block(a, found.is_empty()));
    }
    let title = format!("{} - kb", crate::misses::clip(query.trim(), 60));
    layout(&title, query, &body)
}

fn hit(f: &Found) -> String {
    let v = &f.view;
    let mut s = format!(
        r#"<li class="hit"><div class="head"><a class="title" href="{href}">{title}</a> {vault}<code class="id">{id}</code></div>"#,
        href = note_href(&f.id),
        title = esc(&v.title),
        vault = vault_badge(v),
        id = esc(&v.id),
    );
    for e in &f.matched_errors {
        s.push_str(&format!(
            r#"<pre class="matched" title="the recorded error that matched">{}</pre>"#,
            esc(e)
        ));
    }
    if !v.fix.is_empty() {
        // The fix's first lines, rendered as the note page renders them.
        let mut first: Vec<&str> = v.fix.iter().take(3).map(String::as_str).collect();
        if v.fix.len() > 3 {
            first.push("&hellip;");
        }
        s.push_str(&format!(
            r#"<div class="fix"><span class="label">Fix:</span>{}</div>"#,
            render_markdown(&first.join("\n"))
        ));
    }
    let line = record_line(v);
    if !line.is_empty() {
        s.push_str(&format!(
            r#"<div class="record{}">{}</div>"#,
            if v.record.is_retired() || v.record.is_doubtful() {
                " warn"
            } else {
                ""
            },
            esc(&line)
        ));
    }
    s.push_str("</li>\n");
    s
}

fn advice_block(a: &Advice, nothing: bool) -> String {
    let head = if nothing {
        "No note matches this yet."
    } else {
        "No note records a similar error; the notes above share only some words."
    };
    let mut s = format!(
        r#"<section class="advice"><p>{head}</p><p>Search the web for: <code class="copy">{}</code></p>"#,
        esc(&a.web_query)
    );
    if let Some(add) = &a.add_command {
        s.push_str(&format!(
            r#"<p>Once it is solved, record the fix:</p><pre class="copy">{}</pre>"#,
            esc(add)
        ));
    }
    s.push_str("</section>\n");
    s
}

/// A note's page: its fields, record and authorship, its text rendered, and the notes that
/// link to it.
pub struct NotePage<'a> {
    pub view: &'a NoteView,
    /// The markdown body (after the front matter).
    pub body: &'a str,
    pub created: Option<&'a str>,
    pub updated: Option<&'a str>,
    /// Notes that link to this one: (id as the web view takes it, title).
    pub backlinks: Vec<(String, String)>,
}

pub fn note(p: &NotePage) -> String {
    let v = p.view;
    let mut s = format!(
        r#"<article class="note"><h1>{title}</h1><p class="meta">{vault}<code class="id">{id}</code> <span class="path">{path}</span></p>"#,
        title = esc(&v.title),
        vault = vault_badge(v),
        id = esc(&v.id),
        path = esc(&v.path),
    );
    if !v.tags.is_empty() {
        s.push_str(r#"<p class="tags">"#);
        for t in &v.tags {
            s.push_str(&format!(
                r##"<a class="tag" href="/tag/{}">#{}</a> "##,
                url_part(t),
                esc(t)
            ));
        }
        s.push_str("</p>");
    }
    let line = record_line(v);
    if !line.is_empty() {
        s.push_str(&format!(r#"<p class="record">{}</p>"#, esc(&line)));
    }
    let dates: Vec<String> = [("created", p.created), ("updated", p.updated)]
        .iter()
        .filter_map(|(k, d)| d.map(|d| format!("{k} {}", esc(d))))
        .collect();
    if !dates.is_empty() {
        s.push_str(&format!(r#"<p class="dates">{}</p>"#, dates.join(", ")));
    }
    if !v.errors.is_empty() {
        s.push_str(r#"<section class="errors"><h2>Errors</h2>"#);
        for e in &v.errors {
            s.push_str(&format!("<pre>{}</pre>", esc(e)));
        }
        s.push_str("</section>");
    }
    s.push_str(r#"<section class="body">"#);
    s.push_str(&render_markdown(p.body));
    s.push_str("</section>");
    if !p.backlinks.is_empty() {
        s.push_str(r#"<section class="backlinks"><h2>Linked from</h2><ul>"#);
        s.push_str(&note_items(&p.backlinks));
        s.push_str("</ul></section>");
    }
    s.push_str("</article>");
    layout(&format!("{} - kb", v.title), "", &s)
}

/// The notes with one tag, or every tag with its count.
pub fn tag(tag: &str, notes: &[(String, String)]) -> String {
    let mut s = format!(
        r#"<h1>#{}</h1><p>{}</p><ul class="list">"#,
        esc(tag),
        crate::output::count(notes.len() as u64, "note")
    );
    s.push_str(&note_items(notes));
    s.push_str("</ul>");
    layout(&format!("#{tag} - kb"), "", &s)
}

/// A list item per note (id as the web view takes it, title): its title linked, its id.
fn note_items(notes: &[(String, String)]) -> String {
    notes
        .iter()
        .map(|(id, title)| {
            format!(
                r#"<li><a href="{}">{}</a> <code class="id">{}</code></li>"#,
                note_href(id),
                esc(title),
                esc(id)
            )
        })
        .collect()
}

pub fn tags(counts: &[(String, usize)]) -> String {
    let mut s = String::from(r#"<h1>Tags</h1><ul class="list">"#);
    for (t, n) in counts {
        s.push_str(&format!(
            r#"<li><a class="tag" href="/tag/{}">#{}</a> {}</li>"#,
            url_part(t),
            esc(t),
            n
        ));
    }
    s.push_str("</ul>");
    layout("Tags - kb", "", &s)
}

/// An error as a page: what went wrong, in one sentence.
pub fn error(status: u16, message: &str) -> String {
    layout(
        &format!("{status} - kb"),
        "",
        &format!(
            r#"<section class="error"><h1>{status}</h1><p>{}</p><p><a href="/">Search the notes</a></p></section>"#,
            esc(message)
        ),
    )
}

/// A note's markdown as clean HTML: tables and strikethrough rendered; whatever
/// HTML the note holds is passed through ammonia's allow-list (scripts, styles, event
/// handlers, frames and forms removed; links only to http, https, mailto or relative
/// addresses, opened without a referrer).
pub fn render_markdown(md: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    // Task lists stay text (`[ ]`): their checkboxes would be form inputs.
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut raw = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(md, opts));
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

/// `written by Dana 2 months ago, worked 3 of 4`: the record line as the CLI shows it.
fn record_line(v: &NoteView) -> String {
    let now = chrono::Utc::now();
    let who = v.authorship().map(|w| w.summary(now));
    v.record.summary(now, who.as_deref())
}

fn vault_badge(v: &NoteView) -> String {
    match &v.vault {
        Some(l) => format!(r#"<span class="vault">{}</span> "#, esc(l)),
        None => String::new(),
    }
}

/// The address of a note's page (its id, each path segment percent-encoded).
pub fn note_href(id: &str) -> String {
    let parts: Vec<String> = id.split('/').map(url_part).collect();
    format!("/note/{}", parts.join("/"))
}

/// Text for HTML: the five characters that could open markup or leave an attribute, escaped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a URL path segment keeps as it is: letters, digits, `-_.~` and the `:` of `team:id`.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':');

/// Percent-encode one URL path segment.
fn url_part(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_structure_and_drops_active_content() {
        let html = render_markdown(
            "# T\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n```\ncode <b>\n```\n\n\
             <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n\
             [go](javascript:alert(1)) <iframe src=\"https://evil.example\"></iframe>\n",
        );
        assert!(
            html.contains("<li>a</li>") && html.contains("<table>"),
            "{html}"
        );
        assert!(html.contains("code &lt;b&gt;"), "{html}");
        for bad in ["<script", "onerror", "javascript:", "<iframe"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn note_addresses_are_encoded_by_segment() {
        assert_eq!(note_href("team:windows/a b"), "/note/team:windows/a%20b");
        assert_eq!(note_href("x/\"><"), "/note/x/%22%3E%3C");
    }
}
