//! `kb add`: record a fix, from the editor or entirely from flags and stdin.

use super::Context;
use crate::cli::AddArgs;
use crate::error::KbError;
use crate::frontmatter::yaml_string;
use crate::index::NoteIndex;
use crate::note::Note;
use crate::output;
use crate::search::{self, SearchRequest};
use crate::vault::{self, Vault};
use anyhow::{bail, Context as _, Result};
use std::io::Write;

/// A recorded error this similar to a pasted one is the same error.
pub const DUPLICATE_SIMILARITY: f32 = 0.9;

pub fn run(ctx: &Context, mut args: AddArgs) -> Result<i32> {
    let vault = ctx.vault()?;
    let team = super::team_config(ctx, &vault);
    for t in &team.default_tags {
        if !args.tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            args.tags.push(t.clone());
        }
    }
    if args.folder.is_none() {
        args.folder = team.folder.clone();
    }
    let template = team
        .template
        .as_deref()
        .map(|t| read_template(&vault, t))
        .transpose()?;
    let now = super::now_rfc3339();
    let stdin_body = if !ctx.stdin_tty && !args.edit {
        let s = super::read_stdin()?;
        (!s.trim().is_empty()).then_some(s)
    } else {
        None
    };
    let interactive = args.edit
        || (ctx.interactive() && !args.no_edit && args.fix.is_none() && stdin_body.is_none());
    let text = if interactive {
        let template = render(&args, None, &now, template.as_deref());
        match edit_template(ctx, &vault, &template)? {
            Some(t) => t,
            None => {
                output::status("kb: the note was left unchanged or empty; nothing written");
                return Ok(1);
            }
        }
    } else {
        render(&args, stdin_body.as_deref(), &now, template.as_deref())
    };
    let text = super::screen_secrets(ctx, &text, args.redact);
    let note = Note::parse(&text, "");
    if note.title.trim().is_empty() {
        bail!(KbError::InvalidInput(
            "the note has no title: give --title, a `title:` line or a `# heading`".into()
        ));
    }
    let mut idx = super::open_index(ctx, &vault)?;
    if !args.yes {
        if let Some(code) = check_duplicates(ctx, &mut idx, &note)? {
            return Ok(code);
        }
    }
    let folder = args.folder.as_deref().unwrap_or("");
    let rel = vault.create_note(folder, &vault::slugify(&note.title), &text)?;
    idx.update_files(std::slice::from_ref(&rel))?;
    super::commit(
        ctx,
        &vault,
        std::slice::from_ref(&rel),
        &format!("Add note: {}", output::one_line(&note.title)),
    )?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}\t{}", vault::id_of(&rel), vault.abs(&rel).display())?;
    Ok(0)
}

/// The note's text: front matter from the flags, then either the body given on stdin or the
/// Problem / Cause / Fix template.
/// The team's note template (`template` in kb.toml), a file inside the vault.
fn read_template(vault: &Vault, rel: &str) -> Result<String> {
    let rel = vault.check_rel(rel.trim_end_matches(".md"))?;
    std::fs::read_to_string(vault.abs(&rel))
        .with_context(|| format!("cannot read the note template {rel} named in kb.toml"))
}

fn render(args: &AddArgs, body: Option<&str>, now: &str, template: Option<&str>) -> String {
    let mut s = String::from("---\n");
    let title = args.title.clone().unwrap_or_default();
    let body_has_fm = body.is_some_and(|b| b.trim_start_matches('\u{feff}').starts_with("---"));
    if let (Some(b), true) = (body, body_has_fm) {
        // The body is a whole note already: use it as it is.
        return b.to_string();
    }
    s.push_str(&format!("title: {}\n", yaml_string(&title)));
    let tags: Vec<String> = args.tags.iter().map(|t| yaml_string(t)).collect();
    s.push_str(&format!("tags: [{}]\n", tags.join(", ")));
    if args.errors.is_empty() {
        s.push_str("errors: []\n");
    } else {
        s.push_str("errors:\n");
        for e in &args.errors {
            s.push_str(&format!("  - {}\n", yaml_string(e)));
        }
    }
    s.push_str(&format!("created: {now}\n---\n\n"));
    if let Some(b) = body {
        if !title.is_empty() && !b.trim_start().starts_with("# ") {
            s.push_str(&format!("# {title}\n\n"));
        }
        s.push_str(b.trim_end());
        s.push('\n');
        return s;
    }
    if let Some(t) = template {
        if args.problem.is_none() && args.cause.is_none() && args.fix.is_none() {
            s.push_str(&t.replace("{{title}}", &title));
            if !s.ends_with('\n') {
                s.push('\n');
            }
            return s;
        }
    }
    let section = |name: &str, text: &Option<String>| {
        format!("## {name}\n\n{}\n\n", text.as_deref().unwrap_or("").trim())
    };
    s.push_str(&format!("# {title}\n\n"));
    s.push_str(&section("Problem", &args.problem));
    s.push_str(&section("Cause", &args.cause));
    let fix = args.fix.as_deref().unwrap_or("").trim();
    if fix.is_empty() {
        s.push_str("## Fix\n\n");
    } else {
        s.push_str(&format!("## Fix\n\n{fix}\n"));
    }
    s
}

/// Open the editor on the template; None if the result is empty or unchanged.
fn edit_template(ctx: &Context, vault: &Vault, template: &str) -> Result<Option<String>> {
    let dir = vault.root().join(vault::STATE_DIR);
    let dir = if std::fs::create_dir_all(&dir).is_ok() {
        dir
    } else {
        std::env::temp_dir()
    };
    let mut tmp = tempfile::Builder::new()
        .prefix("new-note-")
        .suffix(".md")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a draft in {}", dir.display()))?;
    tmp.write_all(template.as_bytes())?;
    tmp.flush()?;
    crate::editor::edit(ctx.editor.as_deref(), tmp.path())?;
    let text = std::fs::read_to_string(tmp.path())
        .with_context(|| format!("cannot read the draft {}", tmp.path().display()))?;
    if text.trim().is_empty() || text == template {
        return Ok(None);
    }
    Ok(Some(text))
}

/// If an error of the new note is already recorded in a note, say so; on a terminal offer to
/// link instead. Returns the exit status when the add should stop.
fn check_duplicates(ctx: &Context, idx: &mut NoteIndex, note: &Note) -> Result<Option<i32>> {
    for error in &note.errors {
        let req = SearchRequest {
            text: error.clone(),
            limit: 1,
            tags: Vec::new(),
        };
        let Some(hit) = search::search(&*idx, &req)?.into_iter().next() else {
            continue;
        };
        if hit.explanation.error_similarity < DUPLICATE_SIMILARITY {
            continue;
        }
        let id = hit.note.id().to_string();
        output::warn(
            ctx.color_err,
            &format!(
                "this error is already recorded in {id} \"{}\" (similarity {:.2})",
                hit.note.title, hit.explanation.error_similarity
            ),
        );
        if ctx.interactive() {
            if output::confirm(&format!("Link the error to {id} instead of adding a note?")) {
                super::link::attach(ctx, idx, &hit.note.rel, error)?;
                return Ok(Some(0));
            }
            if !output::confirm("Add a separate note anyway?") {
                return Ok(Some(1));
            }
        } else {
            bail!(KbError::InvalidInput(format!(
                "not adding a duplicate: run `kb link {} {id}` to attach the error to that note, or pass --yes to add a separate note",
                shell_quote(error)
            )));
        }
    }
    Ok(None)
}

fn shell_quote(s: &str) -> String {
    let one = output::one_line(s);
    let short: String = one.chars().take(60).collect();
    format!("'{}'", short.replace('\'', "'\\''"))
}
