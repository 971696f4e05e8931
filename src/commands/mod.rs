//! One module per command. Each takes the resolved [`Context`] and its clap `Args`, does its
//! work through the domain modules, and returns the exit status.

mod add;
mod clone;
mod completions;
mod config;
mod edit;
mod index;
mod init;
mod link;
mod list;
mod mcp;
mod misses;
mod model;
mod outcome;
mod pick;
mod scan;
mod search;
mod serve;
mod show;
mod sync;
mod tags;

use crate::cli::Command;
use crate::context::Context;
use crate::exit_codes::ExitCode;
use crate::index::{Check, NoteIndex, UpdateReport};
use crate::library::Library;
use crate::output;
use crate::vault::Vault;
use crate::workspace::{Attached, Saved, Stored, Workspace};
use anyhow::Result;
use std::io::Read;

pub fn run(ctx: &Context, command: Command) -> Result<ExitCode> {
    // An id written `NAME:id` (several vaults configured) is an id of vault NAME: the command
    // runs on that vault.
    let (command, named) = retarget(ctx, command);
    let ctx = named.as_ref().unwrap_or(ctx);
    match command {
        Command::Init(a) => init::run(ctx, a),
        Command::Add(a) => add::run(ctx, a),
        // `kb search -i` is the picker with the same query, tags, date limit and count.
        Command::Search(a) if a.interactive => {
            let words: Vec<String> = a.query.into_iter().chain(a.more).collect();
            pick::run(
                ctx,
                crate::cli::PickArgs {
                    query: (!words.is_empty()).then(|| words.join(" ")),
                    filter: a.filter,
                    limit: a.limit,
                },
            )
        }
        Command::Search(a) => search::run(ctx, a),
        Command::Pick(a) => pick::run(ctx, a),
        Command::Show(a) => show::run(ctx, a),
        Command::Edit(a) => edit::run(ctx, a),
        Command::List(a) => list::run(ctx, a),
        Command::Link(a) => link::run(ctx, a),
        Command::Worked(a) => outcome::run_worked(ctx, a),
        Command::Failed(a) => outcome::run_failed(ctx, a),
        Command::Verify(a) => outcome::run_verify(ctx, a),
        Command::Misses(a) => misses::run(ctx, a),
        Command::Scan(a) => scan::run(ctx, a),
        Command::Index(a) => index::run(ctx, a),
        Command::Sync(a) => sync::run(ctx, a),
        Command::Clone(a) => clone::run(ctx, a),
        Command::Tags(a) => tags::run(ctx, a),
        Command::Completions(a) => completions::run_completions(a),
        Command::Man(a) => completions::run_man(a),
        Command::Config(a) => config::run(ctx, a),
        Command::Mcp(a) => mcp::run(ctx, a),
        Command::Serve(a) => serve::run(ctx, a),
        Command::Model(a) => model::run(ctx, a),
    }
}

/// The command with a `NAME:` prefix taken off its note id, and the context of vault NAME.
fn retarget(ctx: &Context, mut command: Command) -> (Command, Option<Context>) {
    let reading = matches!(command, Command::Show(_));
    let id: Option<&mut String> = match &mut command {
        Command::Show(a) => Some(&mut a.id),
        Command::Edit(a) => Some(&mut a.id),
        Command::Worked(a) => Some(&mut a.note),
        Command::Failed(a) => Some(&mut a.note),
        Command::Verify(a) => Some(&mut a.note),
        Command::Link(a) => a.note.as_mut(),
        _ => None,
    };
    let Some(id) = id else {
        return (command, None);
    };
    let (vault, rest) = ctx.split_id(id);
    let Some(vault) = vault.cloned() else {
        // Without a prefix, a note to read may be in any of the vaults searched (writes go to
        // the one writes go to).
        if reading {
            if let Some(v) = vault_holding(ctx, id) {
                return (command, Some(ctx.for_vault(&v)));
            }
        }
        return (command, None);
    };
    *id = rest.to_string();
    (command, Some(ctx.for_vault(&vault)))
}

/// The named vault holding note `id`: the one writes go to if it is there, else the first
/// of the others that has it.
fn vault_holding(ctx: &Context, id: &str) -> Option<crate::config::VaultSpec> {
    if ctx.vaults.len() < 2 {
        return None;
    }
    let has = |v: &crate::config::VaultSpec| {
        Vault::open(&v.path)
            .ok()
            .and_then(|vault| NoteIndex::open(&vault, Check::Trust).ok())
            .is_some_and(|(idx, _)| idx.resolve(id).is_ok())
    };
    if ctx.target.as_ref().is_some_and(has) {
        return None;
    }
    ctx.vaults.iter().find(|v| has(v)).cloned()
}

/// Open the vault's index, bringing it up to date ([`crate::library::open_index`]), and
/// report what reading the notes found.
fn open_index(ctx: &Context, vault: &Vault) -> Result<NoteIndex> {
    let (index, warnings) = crate::library::open_index(vault, ctx.freshness())?;
    warn_all(ctx, &warnings);
    Ok(index)
}

/// One vault of a search: its label (when several are searched) and its fresh index.
pub(crate) use crate::library::Shelf as Opened;

/// The library of the vaults a search, pick, list, tags or misses covers
/// ([`Library::open`]: a vault that is missing or cannot be read is reported once and left
/// out; it is an error only when none is left).
fn open_library(ctx: &Context) -> Result<Library> {
    let (library, warnings) = Library::open(&ctx.search_set()?, ctx.freshness())?;
    warn_all(ctx, &warnings);
    Ok(library.with_model(ctx.model.clone()))
}

/// After a command's output: the full checks the library found due (vaults too large for a
/// full check on every command), and the vaults whose notes are not all embedded (with a
/// model), each in a background `kb index`: it catches notes edited in place and computes
/// the missing vectors, while searches go on without them.
fn background_checks(library: &mut Library) {
    let mut roots = library.claim_full_checks();
    for r in library.claim_embedding() {
        if !roots.contains(&r) {
            roots.push(r);
        }
    }
    for root in roots {
        crate::library::index_in_background(&root);
    }
}

fn warn_all(ctx: &Context, warnings: &[String]) {
    for w in warnings {
        ctx.ui.warn(w);
    }
}

/// The vault's team settings (kb.toml), with its problems reported as warnings.
fn team_config<'v>(ctx: &Context, vault: &'v Vault) -> &'v crate::config::VaultConfig {
    warn_all(ctx, vault.team_warnings());
    vault.team()
}

fn report_warnings(ctx: &Context, report: &UpdateReport) {
    warn_all(ctx, &report.warnings);
}

/// The workspace of the vault commands use, with its index brought up to date.
fn open_workspace(ctx: &Context, vault: &Vault) -> Result<Workspace> {
    Ok(workspace_of_index(ctx, open_index(ctx, vault)?))
}

/// The workspace around an opened index, staging its commits with the git program the
/// person's settings name (else libgit2).
fn workspace_of_index(ctx: &Context, index: NoteIndex) -> Workspace {
    let git = match ctx.git_backend() {
        crate::sync::Backend::Git(path) => Some(path),
        crate::sync::Backend::Libgit2 => None,
    };
    Workspace::from_index(index).with_git(git)
}

/// Say what recording written notes did: the commit, and (as warnings, never failures: the
/// note is safe on disk) what git or the index could not take now.
fn report_stored(ctx: &Context, r: &Stored) {
    match &r.commit {
        Ok(Some(id)) if !ctx.ui.quiet() => ctx
            .ui
            .tell(&format!("kb: committed {id} \"{}\"", r.message)),
        Ok(None) if !r.repository && !ctx.ui.quiet() => ctx.ui.tell(
            "kb: the vault is not a git repository; nothing committed (`kb init` makes it one)",
        ),
        Err(e) => {
            ctx.ui.warn(&format!(
                "the note is saved but not committed ({e}); `kb sync` commits it"
            ));
            if let Some(hint) = e.hint() {
                ctx.ui.hint(&hint);
            }
        }
        _ => {}
    }
    match &r.indexed {
        Ok(report) => report_warnings(ctx, report),
        Err(e) => ctx.ui.warn(&format!(
            "the note is saved but not indexed yet ({e}); the next kb command indexes it"
        )),
    }
}

/// Attach an error to a note and say what happened; whether the note changed.
fn attach_and_report(ctx: &Context, ws: &mut Workspace, rel: &str, error: &str) -> Result<bool> {
    match ws.attach_error(rel, error, &now_rfc3339())? {
        Attached::Already => {
            ctx.ui.say(&format!(
                "kb: {} already holds this error (same constant parts); nothing changed",
                crate::vault::id_of(rel)
            ));
            Ok(false)
        }
        Attached::Done(r) => {
            report_stored(ctx, &r);
            ctx.ui.say(&format!(
                "kb: error attached to {}",
                crate::vault::id_of(rel)
            ));
            Ok(true)
        }
    }
}

/// Open the note in the person's editor (on a copy, so that what kb records meanwhile is not
/// overwritten by the editor's buffer); save and record it if it changed. Whether it changed.
fn edit_and_report(ctx: &Context, ws: &mut Workspace, rel: &str) -> Result<bool> {
    let vault = ws.vault().clone();
    vault.require_vault()?;
    vault.check_real(rel)?;
    let before =
        std::fs::read(vault.abs(rel)).map_err(|e| crate::vault::io_err(&vault.abs(rel), e))?;
    // The copy has the note's own file name (the editor's syntax and title) in a folder of
    // its own in kb's folder, else the system's temporary folder.
    let state = vault.state_dir().join("edit");
    let dir = std::fs::create_dir_all(&state).ok().and_then(|_| {
        tempfile::Builder::new()
            .prefix("edit-")
            .tempdir_in(&state)
            .ok()
    });
    let dir = match dir {
        Some(d) => d,
        None => tempfile::Builder::new().prefix("kb-edit-").tempdir()?,
    };
    let copy = dir.path().join(crate::vault::file_name_of(rel));
    std::fs::write(&copy, &before).map_err(|e| crate::vault::io_err(&copy, e))?;
    crate::editor::edit(ctx.editor.as_deref(), &copy)?;
    let after = std::fs::read(&copy).map_err(|e| crate::vault::io_err(&copy, e))?;
    match ws.save_edit(rel, &before, &after)? {
        Saved::Stored { stored, merged } => {
            report_stored(ctx, &stored);
            if merged && !ctx.ui.quiet() {
                ctx.ui.tell(&format!(
                    "kb: merged with what was recorded in {} while the editor was open",
                    crate::vault::id_of(rel)
                ));
            }
            Ok(true)
        }
        Saved::Unchanged => {
            ctx.ui
                .say(&format!("kb: {} unchanged", crate::vault::id_of(rel)));
            Ok(false)
        }
        Saved::Collision { draft } => Err(crate::error::KbError::EditCollision {
            id: crate::vault::id_of(rel).to_string(),
            draft,
        }
        .into()),
    }
}

/// Who records an outcome ([`crate::workspace::who`]).
fn who(ctx: &Context) -> Option<String> {
    crate::workspace::who(ctx.vault().ok().as_ref())
}

/// Look for likely secrets in text about to be written; show them on stderr, and mask them
/// with `--redact` or when the person agrees on a terminal. Returns the text to write.
fn screen_secrets(ctx: &Context, text: &str, redact: bool) -> String {
    let found = crate::secrets::find(text);
    if found.is_empty() {
        return text.to_string();
    }
    for f in &found {
        ctx.ui.warn(&format!(
            "line {}: looks like {} {}: {}",
            f.line,
            output::article(f.kind),
            f.kind,
            f.preview(text)
        ));
    }
    let mask =
        redact || (ctx.interactive() && output::confirm_default_yes("Mask them in the note?"));
    if mask {
        ctx.ui
            .say(&format!("kb: masked {} likely secrets", found.len()));
        crate::secrets::redact(text, &found)
    } else {
        if !ctx.interactive() && !ctx.ui.quiet() {
            ctx.ui.tell("kb: written as given; --redact masks them");
        }
        text.to_string()
    }
}

/// Text from an argument, or from stdin when it is `-`.
fn arg_or_stdin(arg: &str) -> Result<String> {
    if arg == "-" {
        read_stdin()
    } else {
        Ok(arg.to_string())
    }
}

fn read_stdin() -> Result<String> {
    let mut buf = Vec::new();
    std::io::stdin().lock().read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `s` as one POSIX shell word (single quotes; a line break inside stays part of it): the
/// commands kb suggests are copied into a shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The current time as RFC 3339 (UTC, seconds).
fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
