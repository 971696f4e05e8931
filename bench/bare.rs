//! The engine's own cost, for the benchmark: a bare tantivy program over the same notes, title +
//! body with tantivy's default tokenizer, queried through tantivy's lenient query parser, one
//! process per search, as a minimal notes search built on tantivy would be. `bench/bench.py`
//! runs it beside `kb search` on the same queries.
//!
//!   cargo run --release --example bare -- index VAULT INDEX_DIR
//!   cargo run --release --example bare -- search INDEX_DIR QUERY

use std::path::Path;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Schema, Value, STORED, STRING, TEXT};
use tantivy::{doc, Index, TantivyDocument};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, vault, dir] if cmd == "index" => index(Path::new(vault), Path::new(dir)),
        [cmd, dir, query] if cmd == "search" => search(Path::new(dir), query),
        _ => Err("usage: bare index VAULT INDEX_DIR | bare search INDEX_DIR QUERY".into()),
    }
}

fn schema() -> Schema {
    let mut b = Schema::builder();
    b.add_text_field("path", STRING | STORED);
    b.add_text_field("title", TEXT);
    b.add_text_field("body", TEXT);
    b.build()
}

fn index(vault: &Path, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let schema = schema();
    let (path, title, body) = (
        schema.get_field("path")?,
        schema.get_field("title")?,
        schema.get_field("body")?,
    );
    let index = Index::create_in_dir(dir, schema)?;
    let mut writer = index.writer(200_000_000)?;
    for entry in walkdir::WalkDir::new(vault)
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'))
    {
        let entry = entry?;
        if !entry.file_type().is_file() || entry.path().extension().is_none_or(|x| x != "md") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path())?;
        let rel = entry
            .path()
            .strip_prefix(vault)?
            .to_string_lossy()
            .into_owned();
        let (t, b) = title_and_body(&text, entry.path());
        writer.add_document(doc!(path => rel, title => t, body => b))?;
    }
    writer.commit()?;
    Ok(())
}

/// Front matter `title:`, else the first `# ` heading, else the file name; the body is the
/// file without its front matter.
fn title_and_body(text: &str, file: &Path) -> (String, String) {
    let mut body = text;
    let mut title = None;
    if let Some(rest) = text.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---") {
            let front = &rest[..end];
            body = rest[end + 4..].trim_start_matches('-');
            title = front
                .lines()
                .find_map(|l| l.strip_prefix("title:"))
                .map(|t| t.trim().trim_matches(['"', '\'']).to_string());
        }
    }
    let title = title
        .or_else(|| {
            body.lines()
                .find_map(|l| l.strip_prefix("# "))
                .map(|t| t.trim().to_string())
        })
        .unwrap_or_else(|| {
            file.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    (title, body.to_string())
}

fn search(dir: &Path, query: &str) -> Result<(), Box<dyn std::error::Error>> {
    let index = Index::open_in_dir(dir)?;
    let schema = index.schema();
    let (path, title, body) = (
        schema.get_field("path")?,
        schema.get_field("title")?,
        schema.get_field("body")?,
    );
    let searcher = index.reader()?.searcher();
    let parser = QueryParser::for_index(&index, vec![title, body]);
    let (q, _) = parser.parse_query_lenient(query);
    let top = searcher.search(&q, &TopDocs::with_limit(10).order_by_score())?;
    let mut out = String::new();
    for (_, addr) in top {
        let d: TantivyDocument = searcher.doc(addr)?;
        if let Some(p) = d.get_first(path).and_then(|v| v.as_str()) {
            out.push_str(p);
            out.push('\n');
        }
    }
    print!("{out}");
    Ok(())
}
