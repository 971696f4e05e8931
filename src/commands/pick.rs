//! `kb pick [QUERY]` (also `kb search -i`): an interactive picker on the terminal. Results and
//! a preview of the selected note's fix update as the person types or pastes; Enter opens the
//! note in the editor, Ctrl-Y copies its fix, Ctrl-L attaches the typed error to it, Ctrl-W and
//! Ctrl-F record that its fix worked or failed on this call.
//!
//! With several vaults configured it searches all of them (or those of `--vault`) as `kb
//! search` does, each hit labelled `NAME:id`; what Enter, Ctrl-L, Ctrl-W and Ctrl-F write goes
//! to the selected note's own vault, and a read-only vault is refused (Ctrl-Y still copies).
//!
//! The screen is drawn on stderr (so `id=$(kb pick)` works: the chosen note's id goes to
//! stdout) with ratatui over crossterm, which also runs on Windows consoles.

use super::{Context, Opened};
use crate::exit_codes::ExitCode;
use crate::index::NoteIndex;
use crate::note::Note;
use crate::output;
use crate::search::{self, Hit, SearchRequest};
use crate::workspace::Workspace;
use anyhow::{bail, Result};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    self, DisableBracketedPaste, EnableBracketedPaste, Event, KeyCode, KeyEventKind, KeyModifiers,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::{Frame, Terminal};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};

/// Hits shown in the list.
const LIMIT: usize = 30;

/// A note of the picker: which of the opened vaults holds it, and its path there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Chosen {
    vault: usize,
    rel: String,
}

enum Outcome {
    Quit,
    Open(Chosen),
    Copy(Chosen),
    Link(Chosen),
    /// The selected note's fix worked (true) or failed on this call.
    Used(Chosen, bool),
}

pub fn run(ctx: &Context, args: crate::cli::PickArgs) -> Result<ExitCode> {
    let filter = args.filter.filter()?;
    let limit = args.limit.unwrap_or(LIMIT).max(1);
    if !std::io::stderr().is_terminal() || !ctx.stdin_tty {
        bail!(crate::error::KbError::InvalidInput(
            "the picker needs a terminal; use `kb search` in scripts".into()
        ));
    }
    let opened = super::open_library(ctx)?.shelves;
    let mut picker = Picker {
        query: args.query.unwrap_or_default(),
        filter,
        limit,
        hits: Vec::new(),
        labels: Vec::new(),
        state: ListState::default(),
        previews: HashMap::new(),
    };
    picker.refresh(&opened)?;
    let outcome = with_screen(|terminal| picker.event_loop(terminal, &opened))?;
    match outcome {
        Outcome::Quit => Ok(ExitCode::NothingFound),
        Outcome::Open(c) => {
            let (ctx, mut ws) = workspace_of(ctx, opened, c.vault)?;
            super::edit_and_report(&ctx, &mut ws, &c.rel)?;
            println_id(&c.rel)
        }
        Outcome::Copy(c) => {
            let rel = c.rel;
            let note = read_note(&opened[c.vault].index, &rel);
            let fix = note
                .as_ref()
                .and_then(|n| n.fix_section())
                .map(|s| s.raw.trim().to_string())
                .unwrap_or_default();
            if fix.is_empty() {
                ctx.ui.tell("kb: that note has no Fix section");
                return Ok(ExitCode::NothingFound);
            }
            let how = output::copy_to_clipboard(&fix)?;
            ctx.ui.tell(&format!("kb: the fix is {how}"));
            println_id(&rel)
        }
        Outcome::Link(c) => {
            let error = output::sanitize(&picker.query);
            if error.trim().is_empty() {
                ctx.ui.tell("kb: nothing typed to attach");
                return Ok(ExitCode::NothingFound);
            }
            let (ctx, mut ws) = workspace_of(ctx, opened, c.vault)?;
            super::attach_and_report(&ctx, &mut ws, &c.rel, error.trim())?;
            println_id(&c.rel)
        }
        Outcome::Used(c, worked) => {
            let (ctx, mut ws) = workspace_of(ctx, opened, c.vault)?;
            let used = crate::outcomes::Outcome {
                at: super::now_rfc3339(),
                worked,
                ticket: None,
                minutes: None,
                by: super::who(&ctx),
                why: None,
            };
            let r = ws.record_outcome(&c.rel, &used)?;
            super::report_stored(&ctx, &r);
            println_id(&c.rel)
        }
    }
}

/// The context and workspace of opened vault `v`, to write to it: refused for a read-only
/// vault (or a folder that is not a vault).
fn workspace_of(ctx: &Context, opened: Vec<Opened>, v: usize) -> Result<(Context, Workspace)> {
    let Some(o) = opened.into_iter().nth(v) else {
        bail!("the picked note's vault is gone");
    };
    let named = o
        .label
        .as_deref()
        .and_then(|name| ctx.vaults.iter().find(|s| s.name == name));
    let ctx = match named {
        Some(spec) => ctx.for_vault(spec),
        None => ctx.clone(),
    };
    ctx.vault_for_writing()?;
    let ws = super::workspace_of_index(&ctx, o.index);
    Ok((ctx, ws))
}

fn println_id(rel: &str) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", crate::vault::id_of(rel))?;
    Ok(ExitCode::Success)
}

type Screen = Terminal<CrosstermBackend<std::io::Stderr>>;

/// Raw mode and the alternate screen for the duration of `f`, restored whatever happens.
fn with_screen<T>(f: impl FnOnce(&mut Screen) -> Result<T>) -> Result<T> {
    enable_raw_mode()?;
    let mut err = std::io::stderr();
    execute!(err, EnterAlternateScreen, EnableBracketedPaste)?;
    let result = Terminal::new(CrosstermBackend::new(std::io::stderr()))
        .map_err(anyhow::Error::from)
        .and_then(|mut t| f(&mut t));
    let _ = execute!(
        std::io::stderr(),
        DisableBracketedPaste,
        LeaveAlternateScreen
    );
    let _ = disable_raw_mode();
    result
}

struct Picker {
    query: String,
    filter: crate::filter::Filter,
    limit: usize,
    hits: Vec<Hit>,
    /// The opened vaults' labels when several are searched (else empty).
    labels: Vec<Option<String>>,
    state: ListState,
    previews: HashMap<Chosen, Vec<String>>,
}

impl Picker {
    fn refresh(&mut self, opened: &[Opened]) -> Result<()> {
        let req = SearchRequest {
            text: self.query.clone(),
            limit: self.limit,
            filter: self.filter.clone(),
        };
        self.hits = if self.query.trim().is_empty() {
            Vec::new()
        } else {
            let idxs: Vec<&NoteIndex> = opened.iter().map(|o| &o.index).collect();
            search::search_many(&idxs, &req, &search::prepare(&req.text), &|| None)?
        };
        // Hits are labelled with their vault when several are searched.
        self.labels = if opened.len() > 1 {
            opened.iter().map(|o| o.label.clone()).collect()
        } else {
            Vec::new()
        };
        self.state
            .select(if self.hits.is_empty() { None } else { Some(0) });
        Ok(())
    }

    fn selected(&self) -> Option<Chosen> {
        self.state
            .selected()
            .and_then(|i| self.hits.get(i))
            .map(|h| Chosen {
                vault: h.vault,
                rel: h.note.rel.clone(),
            })
    }

    /// A hit's id as shown, `NAME:id` when several vaults are searched.
    fn shown_id(&self, h: &Hit) -> String {
        match self.labels.get(h.vault).and_then(Option::as_deref) {
            Some(label) => format!("{label}:{}", h.note.id()),
            None => h.note.id().to_string(),
        }
    }

    fn event_loop(&mut self, terminal: &mut Screen, opened: &[Opened]) -> Result<Outcome> {
        loop {
            let preview = self.preview(opened);
            terminal.draw(|f| self.draw(f, &preview))?;
            let ctrl = |k: &event::KeyEvent| k.modifiers.contains(KeyModifiers::CONTROL);
            match event::read()? {
                Event::Paste(text) => {
                    self.query.push_str(&text.replace(['\r', '\n'], " "));
                    self.refresh(opened)?;
                }
                Event::Key(k) if k.kind == KeyEventKind::Press => match k.code {
                    KeyCode::Esc => return Ok(Outcome::Quit),
                    KeyCode::Char('c') if ctrl(&k) => return Ok(Outcome::Quit),
                    KeyCode::Enter => {
                        if let Some(rel) = self.selected() {
                            return Ok(Outcome::Open(rel));
                        }
                    }
                    KeyCode::Char('y') if ctrl(&k) => {
                        if let Some(rel) = self.selected() {
                            return Ok(Outcome::Copy(rel));
                        }
                    }
                    KeyCode::Char('l') if ctrl(&k) => {
                        if let Some(rel) = self.selected() {
                            return Ok(Outcome::Link(rel));
                        }
                    }
                    KeyCode::Char(c @ ('w' | 'f')) if ctrl(&k) => {
                        if let Some(rel) = self.selected() {
                            return Ok(Outcome::Used(rel, c == 'w'));
                        }
                    }
                    KeyCode::Up => self.state.select_previous(),
                    KeyCode::Char('p') if ctrl(&k) => self.state.select_previous(),
                    KeyCode::Down => self.state.select_next(),
                    KeyCode::Char('n') if ctrl(&k) => self.state.select_next(),
                    KeyCode::Char('u') if ctrl(&k) => {
                        self.query.clear();
                        self.refresh(opened)?;
                    }
                    KeyCode::Backspace => {
                        self.query.pop();
                        self.refresh(opened)?;
                    }
                    KeyCode::Char(c) if !ctrl(&k) => {
                        self.query.push(c);
                        self.refresh(opened)?;
                    }
                    _ => {}
                },
                _ => {}
            }
            if let Some(i) = self.state.selected() {
                if i >= self.hits.len() && !self.hits.is_empty() {
                    self.state.select(Some(self.hits.len() - 1));
                }
            }
        }
    }

    /// The selected note's Fix section (or its first lines), read once per note.
    fn preview(&mut self, opened: &[Opened]) -> Vec<String> {
        let Some(chosen) = self.selected() else {
            return Vec::new();
        };
        let idx = &opened[chosen.vault].index;
        let rel = chosen.rel.clone();
        self.previews
            .entry(chosen)
            .or_insert_with(|| {
                let Some(note) = read_note(idx, &rel) else {
                    return vec!["(the note cannot be read)".into()];
                };
                let mut lines = vec![output::one_line(&note.title), String::new()];
                let text = match note.fix_section() {
                    Some(s) => format!("Fix:\n{}", s.raw.trim()),
                    None => note.body_text.chars().take(1500).collect(),
                };
                lines.extend(text.lines().map(output::sanitize));
                lines
            })
            .clone()
    }

    fn draw(&mut self, f: &mut Frame, preview: &[String]) {
        let [input, body, help] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(f.area());
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(body);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("> ", Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(output::one_line(&self.query)),
                Span::styled(
                    format!("   {} notes", self.hits.len()),
                    Style::new().add_modifier(Modifier::DIM),
                ),
            ])),
            input,
        );
        let items: Vec<ListItem> = self
            .hits
            .iter()
            .map(|h| {
                ListItem::new(Line::from(vec![
                    Span::styled(
                        output::one_line(&self.shown_id(h)),
                        Style::new().add_modifier(Modifier::BOLD),
                    ),
                    Span::raw("  "),
                    Span::raw(output::one_line(&h.note.title)),
                ]))
            })
            .collect();
        let list = List::new(items)
            .block(Block::default().borders(Borders::ALL).title("notes"))
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .highlight_symbol("▶ ");
        f.render_stateful_widget(list, left, &mut self.state);
        let text: Vec<Line> = preview.iter().map(|l| Line::from(l.clone())).collect();
        f.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title("fix")),
            right,
        );
        f.render_widget(
            Paragraph::new(
                "Enter open · ^Y copy fix · ^L link typed error · ^W worked · ^F failed · ↑↓ · Esc quit",
            )
            .style(Style::new().add_modifier(Modifier::DIM)),
            help,
        );
    }
}

fn read_note(idx: &NoteIndex, rel: &str) -> Option<Note> {
    let (bytes, _) = idx.vault().read(rel).ok()?;
    Some(Note::parse_bytes(&bytes, crate::vault::stem_of(rel)))
}
