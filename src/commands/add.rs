//! `kb add`: record a fix, from the editor or entirely from flags and stdin.

use super::Context;
use crate::cli::AddArgs;
use crate::error::KbError;
use crate::exit_codes::ExitCode;
use crate::frontmatter::yaml_string;
use crate::note::Note;
use crate::output;
use crate::vault::{self, Vault};
use crate::workspace::Workspace;
use anyhow::{bail, Context as _, Result};
use std::io::Write;

pub fn run(ctx: &Context, mut args: AddArgs) -> Result<ExitCode> {
    let vault = ctx.vault_for_writing()?;
    let team = super::team_config(ctx, &vault);
    for t in &team.default_tags {
        if !args.tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            args.tags.push(t.clone());
        }
    }
    if args.folder.is_none() {
        args.folder = team.folder.clone();
    }
    // Checked before anything is typed: a folder no system could check out is refused now.
    let folder = vault.check_folder(args.folder.as_deref().unwrap_or(""))?;
    let template = team
        .template
        .as_deref()
        .and_then(|t| read_template(ctx, &vault, t));
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
        let template = render(&args, None, &now, template.as_deref(), true);
        match edit_template(ctx, &vault, &template)? {
            Some(t) => t,
            None => {
                ctx.ui
                    .tell("kb: the note was left unchanged or empty; nothing written");
                return Ok(ExitCode::NothingFound);
            }
        }
    } else {
        match stdin_body.as_deref() {
            Some(body) => match compose_from_stdin(&args, body, &now) {
                Ok(t) => t,
                Err(e) => return Err(keep_draft(ctx, &vault, body, e)),
            },
            None => render(&args, None, &now, template.as_deref(), false),
        }
    };
    // From here on, `text` holds what the person typed: if the note is not written, it is
    // kept as a draft whose path kb prints.
    match write_note(ctx, &vault, &args, &folder, &text) {
        Ok(Written::Added) => Ok(ExitCode::Success),
        Ok(Written::Linked) => {
            keep_draft_quietly(ctx, &vault, &text);
            Ok(ExitCode::Success)
        }
        Ok(Written::Declined) => {
            keep_draft_quietly(ctx, &vault, &text);
            Ok(ExitCode::NothingFound)
        }
        Err(e) => Err(keep_draft(ctx, &vault, &text, e)),
    }
}

/// How an add ended without an error.
enum Written {
    Added,
    /// The person chose to link the error to an existing note instead.
    Linked,
    /// The person chose not to add a second note for a known error.
    Declined,
}

fn write_note(
    ctx: &Context,
    vault: &Vault,
    args: &AddArgs,
    folder: &str,
    text: &str,
) -> Result<Written> {
    let text = super::screen_secrets(ctx, text, args.redact);
    let note = Note::parse(&text, "");
    if note.title.trim().is_empty() {
        bail!(KbError::InvalidInput(
            "the note has no title: give --title, a `title:` line or a `# heading`".into()
        ));
    }
    let mut ws = super::open_workspace(ctx, vault)?;
    if !args.yes {
        if let Some(w) = check_duplicates(ctx, &mut ws, &note)? {
            return Ok(w);
        }
    }
    let stored = ws.add_note(folder, &note.title, &text)?;
    super::report_stored(ctx, &stored);
    let rel = stored.rels[0].clone();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}\t{}", vault::id_of(&rel), vault.abs(&rel).display())?;
    Ok(Written::Added)
}

/// Keep text the person typed that did not become a note, and turn `e` into an error that
/// says where it is.
fn keep_draft(ctx: &Context, vault: &Vault, text: &str, e: anyhow::Error) -> anyhow::Error {
    // The command that adds the draft as it is: with a title when it lacks one (else it would
    // fail again and keep a second draft).
    let untitled = Note::parse(text, "").title.trim().is_empty();
    match vault.keep_draft(text) {
        Ok(path) => {
            let shown = crate::error::shell_word(&path.display().to_string());
            let add = if untitled {
                format!("kb add --yes --title 'TITLE' < {shown}")
            } else {
                format!("kb add --yes < {shown}")
            };
            e.context(format!(
                "your text is kept in {} (add it with `{add}`)",
                path.display()
            ))
        }
        Err(save) => {
            ctx.ui
                .warn(&format!("the draft could not be kept either: {save}"));
            e
        }
    }
}

fn keep_draft_quietly(ctx: &Context, vault: &Vault, text: &str) {
    match vault.keep_draft(text) {
        Ok(path) => ctx.ui.tell(&format!(
            "kb: your new note is kept as a draft in {} (`kb add --yes < {}` adds it)",
            path.display(),
            path.display()
        )),
        Err(e) => ctx.ui.warn(&format!("the draft could not be kept: {e}")),
    }
}

/// The team's note template (`template` in kb.toml), a file inside the vault; a template that
/// cannot be read is a warning, and the built-in Problem / Cause / Fix skeleton is used.
fn read_template(ctx: &Context, vault: &Vault, rel: &str) -> Option<String> {
    match vault.template_text()? {
        Ok(t) => Some(t),
        Err(e) => {
            ctx.ui.warn(&format!(
                    "the note template '{rel}' named in kb.toml is not usable ({e}); using the built-in one"
                ),
            );
            None
        }
    }
}

/// A note from text given on stdin together with flags: nothing given is dropped. Without
/// front matter, the text is the body under a front matter made from the flags; with front
/// matter, the flags' tags and errors are added to it, `--title` and `created` fill in what it
/// lacks (a different title is an error, not a silent choice); `--problem`, `--cause` and
/// `--fix` become sections after the text.
fn compose_from_stdin(args: &AddArgs, body: &str, now: &str) -> Result<String> {
    let bare = body.trim_start_matches('\u{feff}');
    let mut text = if bare.starts_with("---") {
        merge_flags_into_front_matter(args, body, bare, now)?
    } else {
        // A body that starts with a `# Heading` gives the title (an empty `title:` would hide
        // it from search and from the note's file name).
        let heading = bare
            .lines()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim().strip_prefix("# "))
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty());
        match (&args.title, heading) {
            (None, Some(h)) => {
                let mut with_title = args.clone();
                with_title.title = Some(h);
                render(&with_title, Some(body), now, None, false)
            }
            _ => render(args, Some(body), now, None, false),
        }
    };
    for (name, value) in [
        ("Problem", &args.problem),
        ("Cause", &args.cause),
        ("Workaround", &args.workaround),
        ("Fix", &args.fix),
    ] {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("\n## {name}\n\n{v}\n"));
        }
    }
    Ok(text)
}

/// A note given on stdin with its own front matter (`bare`: without a byte-order mark): the
/// flags' tags, errors and applies_to it lacks are added; `--title`, `--status` and `created`
/// fill in what it lacks, and a different title or status is an error.
fn merge_flags_into_front_matter(
    args: &AddArgs,
    body: &str,
    bare: &str,
    now: &str,
) -> Result<String> {
    let fm = crate::frontmatter::split(bare)
        .yaml
        .and_then(|y| crate::frontmatter::parse(y).ok())
        .unwrap_or_default();
    let mut set: Vec<(&str, String)> = Vec::new();
    if let Some(t) = &args.title {
        // An empty `title:` (a draft kept because it had none) takes the one given.
        match fm.title.as_deref().filter(|old| !old.trim().is_empty()) {
            None => set.push(("title", t.clone())),
            Some(old) if old.trim() == t.trim() => {}
            Some(old) => bail!(KbError::InvalidInput(format!(
                "the note on stdin is titled \"{old}\" and --title says \"{t}\": give one title"
            ))),
        }
    }
    if fm.created.is_none() {
        set.push(("created", now.to_string()));
    }
    if let Some(st) = args.status {
        match fm.status.as_deref() {
            None => set.push(("status", st.as_str().to_string())),
            Some(old) if old.trim().eq_ignore_ascii_case(st.as_str()) => {}
            Some(old) => bail!(KbError::InvalidInput(format!(
                "the note on stdin has status \"{old}\" and --status says \"{}\": give one",
                st.as_str()
            ))),
        }
    }
    // Each flag's items the note does not hold yet.
    let missing = |given: &[String], held: &[String], same: fn(&str, &str) -> bool| {
        given
            .iter()
            .filter(|g| !held.iter().any(|h| same(h, g)))
            .cloned()
            .collect::<Vec<String>>()
    };
    let trimmed_equal: fn(&str, &str) -> bool = |a, b| a.trim() == b.trim();
    let tags = missing(&args.tags, &fm.tags, |a, b| a.eq_ignore_ascii_case(b));
    let errors = missing(&args.errors, &fm.errors, trimmed_equal);
    let applies = missing(&args.applies_to, &fm.applies_to, trimmed_equal);
    let added = crate::frontmatter::edit_fields(
        body,
        &[
            ("tags", &tags),
            ("errors", &errors),
            ("applies_to", &applies),
        ],
        &set,
    )
    .map_err(|reason| {
        KbError::InvalidInput(format!(
            "cannot add the flags to the front matter given on stdin: {reason}"
        ))
    })?;
    Ok(added)
}

/// The note's text: front matter from the flags, then either the body given on stdin or the
/// Problem / Cause / Fix template.
fn render(
    args: &AddArgs,
    body: Option<&str>,
    now: &str,
    template: Option<&str>,
    editing: bool,
) -> String {
    let mut s = String::from("---\n");
    let title = args.title.clone().unwrap_or_default();
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
    if let Some(st) = args.status {
        s.push_str(&format!("status: {}\n", st.as_str()));
    }
    if !args.applies_to.is_empty() {
        let items: Vec<String> = args.applies_to.iter().map(|a| yaml_string(a)).collect();
        s.push_str(&format!("applies_to: [{}]\n", items.join(", ")));
    }
    if editing && args.status.is_none() && args.applies_to.is_empty() {
        // Shown in the editor only: the known-error fields a note may carry.
        s.push_str("# status: workaround | fixed | retired   applies_to: [product, version, OS]\n");
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
    if editing || args.workaround.is_some() {
        s.push_str(&section("Workaround", &args.workaround));
    }
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
    let dir = vault.state_dir();
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
/// link instead. Returns how the add ends when it should stop.
fn check_duplicates(ctx: &Context, ws: &mut Workspace, note: &Note) -> Result<Option<Written>> {
    let Some(known) = ws.known_error(note)? else {
        return Ok(None);
    };
    let id = vault::id_of(&known.rel).to_string();
    ctx.ui.warn(&format!(
        "this error is already recorded in {id} \"{}\" (similarity {:.2})",
        known.title, known.similarity
    ));
    if ctx.interactive() {
        if output::confirm(&format!("Link the error to {id} instead of adding a note?")) {
            super::attach_and_report(ctx, ws, &known.rel, &known.error)?;
            return Ok(Some(Written::Linked));
        }
        if !output::confirm("Add a separate note anyway?") {
            return Ok(Some(Written::Declined));
        }
        Ok(None)
    } else {
        bail!(KbError::InvalidInput(format!(
            "not adding a duplicate: run `kb link {} {id}` to attach the error to that note, or pass --yes to add a separate note",
            super::shell_quote(&known.error)
        )));
    }
}
