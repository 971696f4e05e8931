//! The vaults kb serves, opened once, under every front end: the CLI opens a library for one
//! command, `kb mcp` (and the web view) keep one for their whole life. Searching (with the
//! re-read of hits changed since they were indexed), finding a note by id across vaults, and
//! what to advise when nothing answers are here, once.

use crate::error::{KbError, Result};
use crate::index::{Check, NoteIndex, UpdateReport};
use crate::note::Note;
use crate::search::{self, Hit, Prepared, SearchRequest};
use crate::vault::{self, Vault};
use crate::view::NoteView;
use std::path::PathBuf;

/// One vault of the library: its label (when several are served) and its index.
pub struct Shelf {
    pub label: Option<String>,
    pub index: NoteIndex,
}

impl Shelf {
    /// The id of the note at `rel` as every front end takes it back ([`qualified_id`]).
    pub fn id_of(&self, rel: &str) -> String {
        qualified_id(self.label.as_deref(), vault::id_of(rel))
    }
}

/// A note's id with its vault's label when several vaults are served (`team:windows/foo`, an
/// id `kb show`, `kb mcp` and the web view take as it is), else the id itself.
pub fn qualified_id(label: Option<&str>, id: &str) -> String {
    match label {
        Some(l) => format!("{l}:{id}"),
        None => id.to_string(),
    }
}

pub struct Library {
    pub shelves: Vec<Shelf>,
    freshness: Freshness,
    meaning: Meaning,
    /// What the person should know that is not an error (a model that cannot be loaded),
    /// taken by the front end ([`Library::take_notices`]).
    notices: Vec<String>,
    /// Vaults (their positions) whose notes are not all embedded: the front end may start
    /// `kb index` for them ([`Library::claim_embedding`]).
    unembedded: std::collections::BTreeSet<usize>,
    /// The vectors the last search compared its question with, kept mapped: the next
    /// question keeps those still current ([`crate::embed::Semantic::new`]), and a `kb
    /// search` process leaves their unmapping (most of a millisecond at 100,000 notes) to its
    /// end, where the system frees them in one go.
    compared: Option<crate::embed::Semantic>,
}

/// The embedding model of the library: none, named but not loaded yet (it is loaded by the
/// first typed question: a pasted error never waits for it), loaded, or unusable.
enum Meaning {
    Off,
    Named(PathBuf),
    /// Being loaded on another thread, with the question's vector ([`Library::with_early`]).
    Early(Box<crate::embed::Early>),
    Loaded(Box<crate::embed::Model>),
    Failed,
}

/// How fresh an index must be before it answers: the person's settings, the same for every
/// front end.
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    /// Vaults up to this many notes get a full check of every note before each use; larger
    /// ones are checked by folder ([`Check::Quick`]) and fully in the background.
    pub full_check_limit: u64,
    /// How often a larger vault gets its full check in the background (None: the default,
    /// [`crate::index::full_check_due`]).
    pub full_check_interval: Option<std::time::Duration>,
}

impl Default for Freshness {
    fn default() -> Freshness {
        Freshness {
            full_check_limit: crate::index::DEFAULT_FULL_CHECK_LIMIT,
            full_check_interval: None,
        }
    }
}

impl Freshness {
    /// The check an index gets before it answers.
    pub fn check(&self) -> Check {
        Check::Quick {
            full_limit: self.full_check_limit,
        }
    }
}

/// Start `kb index` on the vault at `root` in a background process of its own (the full
/// check of a large vault, the vectors of notes not embedded yet): the caller does not wait.
pub fn index_in_background(root: &std::path::Path) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let _ = std::process::Command::new(exe)
        .arg("--dir")
        .arg(root)
        .args(["--quiet", "index"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// What to do when no note answers: the web search to try, and the `kb add` that starts the
/// note once it is solved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Advice {
    pub reason: &'static str,
    pub web_query: String,
    pub add_command: Option<String>,
}

/// Open one vault's index, brought up to date. When it cannot be updated (another kb holds
/// the writer too long, the disk is full, the cache is read-only) but holds notes, it answers
/// as it is, with a warning saying so. Also the warnings of what reading the notes found.
pub fn open_index(vault: &Vault, fresh: Freshness) -> Result<(NoteIndex, Vec<String>)> {
    match NoteIndex::open(vault, fresh.check()) {
        Ok((index, report)) => Ok((index, report.warnings)),
        Err(e) => match NoteIndex::open(vault, Check::Trust) {
            Ok((index, _)) if index.num_notes() > 0 => {
                let msg = format!(
                    "the index could not be updated ({e}); results may miss the latest changes"
                );
                Ok((index, vec![msg]))
            }
            _ => Err(e),
        },
    }
}

impl Library {
    /// Open the vaults of `set` (label, folder), each index brought up to date
    /// ([`open_index`]). A vault that is missing or unreadable is left out with a warning
    /// when others remain. Also the warnings.
    pub fn open(
        set: &[(Option<String>, PathBuf)],
        freshness: Freshness,
    ) -> Result<(Library, Vec<String>)> {
        let mut shelves = Vec::new();
        let mut warnings = Vec::new();
        let mut first_error = None;
        for (label, dir) in set {
            match Vault::open(dir).and_then(|v| open_index(&v, freshness)) {
                Ok((index, w)) => {
                    warnings.extend(w);
                    shelves.push(Shelf {
                        label: label.clone(),
                        index,
                    });
                }
                Err(e) if set.len() > 1 => {
                    warnings.push(format!(
                        "vault '{}' left out: {e}",
                        label.as_deref().unwrap_or("?")
                    ));
                    first_error.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        match (shelves.is_empty(), first_error) {
            (true, Some(e)) => Err(e),
            _ => Ok((
                Library {
                    shelves,
                    freshness,
                    meaning: Meaning::Off,
                    notices: Vec::new(),
                    unembedded: Default::default(),
                    compared: None,
                },
                warnings,
            )),
        }
    }

    /// The vaults (their roots) of a one-off front end (the CLI) whose full check of every
    /// note is due now, each claimed so that one process runs it: the caller starts that
    /// check apart (a background `kb index`) after answering. The long-running front ends
    /// (`kb mcp`, `kb serve`) do not start it: they call [`Library::refresh`] before each
    /// request (the quick check, by folder, in a vault too large for a full one) and re-read
    /// the hits whose files changed; a note of a large vault edited in place that is not a
    /// hit waits for the next CLI command's background check or `kb index`.
    pub fn claim_full_checks(&self) -> Vec<PathBuf> {
        self.shelves
            .iter()
            .filter(|s| {
                s.index.claim_full_check(
                    self.freshness.full_check_limit,
                    self.freshness.full_check_interval,
                )
            })
            .map(|s| s.index.vault().root().to_path_buf())
            .collect()
    }

    /// Who wrote and who last changed these notes of shelf `shelf`, from git's history
    /// (cached beside the index; notes never committed are absent).
    pub fn authorship(
        &self,
        shelf: usize,
        rels: &[&str],
    ) -> std::collections::HashMap<String, crate::history::Authorship> {
        let index = &self.shelves[shelf].index;
        crate::history::of_notes(index.vault().root(), index.state_dir(), rels)
    }

    /// Bring every index up to date with the notes (what another kb wrote since, notes edited
    /// by hand) and see the other processes' index commits: a long-running front end calls
    /// this before each request. Warnings of what could not be read.
    pub fn refresh(&mut self) -> Vec<String> {
        let mut warnings = Vec::new();
        for s in &mut self.shelves {
            match s.index.bring_up_to_date(self.freshness.check()) {
                Ok(r) => warnings.extend(r.warnings),
                Err(e) => warnings.push(format!("the index could not be updated ({e})")),
            }
        }
        warnings
    }

    /// The labels of the shelves, by position (a hit's `vault`).
    pub fn labels(&self) -> Vec<Option<&str>> {
        self.shelves.iter().map(|s| s.label.as_deref()).collect()
    }

    /// [`Library::open`] for a long-running front end (`kb mcp`, `kb serve`): the embedding
    /// model in folder `model` (None: none) is loaded now, once, before the first question.
    /// Also the warnings (a model that cannot be loaded among them).
    pub fn open_serving(
        set: &[(Option<String>, PathBuf)],
        freshness: Freshness,
        model: Option<PathBuf>,
    ) -> Result<(Library, Vec<String>)> {
        let (library, mut warnings) = Library::open(set, freshness)?;
        let mut library = library.with_model(model);
        library.load_model();
        warnings.extend(library.take_notices());
        Ok((library, warnings))
    }

    /// Use the embedding model in folder `path` (None: none) for typed questions; it is
    /// loaded when the first one comes.
    pub fn with_model(mut self, path: Option<PathBuf>) -> Library {
        self.meaning = path.map_or(Meaning::Off, Meaning::Named);
        self
    }

    /// Use the model already being loaded (with a question's vector) on another thread, when
    /// there is one: a process that answers that one question ([`crate::embed::Early`]).
    pub fn with_early(mut self, early: Option<crate::embed::Early>) -> Library {
        if let Some(e) = early {
            self.meaning = Meaning::Early(Box::new(e));
        }
        self
    }

    /// Load the model now if one is named (a long-running front end pays the time once,
    /// before its first question); whether one is ready.
    pub fn load_model(&mut self) -> bool {
        self.load(crate::embed::Model::load)
    }

    /// Load the model now if one is named, by `how`; whether one is ready.
    fn load(&mut self, how: fn(&std::path::Path) -> Result<crate::embed::Model>) -> bool {
        self.finish_early();
        if let Meaning::Named(path) = &self.meaning {
            self.meaning = match how(path) {
                Ok(m) => Meaning::Loaded(Box::new(m)),
                Err(e) => {
                    self.notices.push(format!("{e}; searching by words alone"));
                    Meaning::Failed
                }
            };
        }
        matches!(self.meaning, Meaning::Loaded(_))
    }

    /// The model, when one is configured and usable.
    pub fn model(&self) -> Option<&crate::embed::Model> {
        match &self.meaning {
            Meaning::Loaded(m) => Some(m),
            _ => None,
        }
    }

    /// Messages for the person since the last call (a model that could not be loaded).
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// The vaults (their roots) whose notes are not all embedded and whose embedding nobody
    /// started: each is claimed, so that one process computes them (the caller starts a
    /// background `kb index`).
    pub fn claim_embedding(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.unembedded)
            .into_iter()
            .filter(|&v| crate::embed::claim(self.shelves[v].index.state_dir()))
            .map(|v| self.shelves[v].index.vault().root().to_path_buf())
            .collect()
    }

    /// For a long-running front end, after a request: start in the background the work the
    /// library found due (vectors of notes not embedded yet), and the messages for the
    /// person (a model that could not be loaded).
    pub fn after_request(&mut self) -> Vec<String> {
        for root in self.claim_embedding() {
            index_in_background(&root);
        }
        self.take_notices()
    }

    /// The model being loaded on another thread, once it is ready: loaded (or failed, with a
    /// notice); the vector it computed is not used.
    fn finish_early(&mut self) {
        if let Some(early) = self.take_early() {
            self.early_done(early.finish().map(|(model, _)| model));
        }
    }

    /// The model being loaded on another thread, taken out (the meaning is then what
    /// [`Library::early_done`] makes of it).
    fn take_early(&mut self) -> Option<crate::embed::Early> {
        match std::mem::replace(&mut self.meaning, Meaning::Failed) {
            Meaning::Early(e) => Some(*e),
            other => {
                self.meaning = other;
                None
            }
        }
    }

    /// What became of the model loaded on another thread.
    fn early_done(&mut self, result: Result<crate::embed::Model>) {
        self.meaning = match result {
            Ok(model) => Meaning::Loaded(Box::new(model)),
            Err(e) => {
                self.notices.push(format!("{e}; searching by words alone"));
                Meaning::Failed
            }
        };
    }

    /// The model being loaded on another thread with this query's vector, taken to be
    /// waited for when the search needs it (typed words, the same text).
    fn early_for(&mut self, req: &SearchRequest, p: &Prepared) -> Option<crate::embed::Early> {
        if p.needs_recorded_error() {
            return None;
        }
        let early = self.take_early()?;
        if early.text() == req.text {
            return Some(early);
        }
        self.meaning = Meaning::Early(Box::new(early));
        None
    }

    /// The query's meaning for typed words, when a model is configured.
    fn meaning_of(&mut self, req: &SearchRequest, p: &Prepared) -> Option<crate::embed::Semantic> {
        if p.needs_recorded_error() {
            return None;
        }
        // Loaded here, the model answers this process's question or two (a long-running
        // front end loaded it at its start): its weights are read in place.
        if !self.load(crate::embed::Model::load_mapped) {
            return None;
        }
        let earlier = self.compared.take();
        let model = self.model()?;
        let idxs: Vec<&NoteIndex> = self.shelves.iter().map(|s| &s.index).collect();
        match crate::embed::Semantic::new(model, &req.text, &idxs, earlier) {
            Ok(m) => {
                let missing = m.incomplete(&idxs);
                self.unembedded.extend(missing);
                Some(m)
            }
            Err(e) => {
                self.notices.push(format!("{e}; searching by words alone"));
                None
            }
        }
    }

    /// Search every vault as one ([`search::search_many`]); a hit whose file changed since it
    /// was indexed (edited in place in a large vault) is re-read and the search runs again.
    /// Typed words are also compared by meaning when a model is configured. Also the reports
    /// of the notes re-read.
    pub fn search(
        &mut self,
        req: &SearchRequest,
        prepared: &Prepared,
    ) -> Result<(Vec<Hit>, Vec<UpdateReport>)> {
        // The query's meaning, asked for by the search once it has the notes found by their
        // words: a question read on another thread ([`Library::with_early`]) is waited for
        // only then.
        let meaning = std::cell::OnceCell::new();
        let early = self.early_for(req, prepared);
        if early.is_none() {
            let _ = meaning.set(self.meaning_of(req, prepared));
        }
        let dirs: Vec<PathBuf> = self
            .shelves
            .iter()
            .map(|s| s.index.state_dir().to_path_buf())
            .collect();
        let early = std::cell::Cell::new(early);
        let joined = std::cell::RefCell::new(None);
        let get = || {
            meaning
                .get_or_init(|| {
                    let early = early.take()?;
                    // The vaults' vectors are opened while the question is still being read.
                    let stores = crate::embed::Semantic::open(dirs.iter().map(PathBuf::as_path));
                    let (model, v) = match early.finish() {
                        Ok(done) => done,
                        Err(e) => {
                            *joined.borrow_mut() = Some(Err(e));
                            return None;
                        }
                    };
                    let m = crate::embed::Semantic::of_vector(&model, &v, stores);
                    *joined.borrow_mut() = Some(Ok(model));
                    Some(m)
                })
                .as_ref()
        };
        let run = |shelves: &[Shelf]| {
            let idxs: Vec<&NoteIndex> = shelves.iter().map(|s| &s.index).collect();
            search::search_many(&idxs, req, prepared, &get)
        };
        let hits = run(&self.shelves);
        // The other thread is waited for whatever the search needed.
        get();
        if let Some(result) = joined.take() {
            self.early_done(result);
            if let Some(m) = meaning.get().and_then(Option::as_ref) {
                let idxs: Vec<&NoteIndex> = self.shelves.iter().map(|s| &s.index).collect();
                let missing = m.incomplete(&idxs);
                self.unembedded.extend(missing);
            }
        }
        let mut hits = hits?;
        self.unembedded.extend(
            hits.iter()
                .filter(|h| h.explanation.not_embedded)
                .map(|h| h.vault),
        );
        let mut reports = Vec::new();
        for (v, s) in self.shelves.iter_mut().enumerate() {
            let stale = s
                .index
                .stale(hits.iter().filter(|h| h.vault == v).map(|h| &h.note));
            if !stale.is_empty() {
                reports.push(s.index.update_files(&stale)?);
            }
        }
        if !reports.is_empty() {
            hits = run(&self.shelves)?;
        }
        if let Some(m) = meaning.into_inner().flatten() {
            self.compared = Some(m);
        }
        Ok((hits, reports))
    }

    /// The note an id names: `NAME:id` in vault NAME, else the first vault holding it. Its
    /// shelf and relative path.
    pub fn find(&self, id: &str) -> Result<(usize, String)> {
        if let Some((name, rest)) = id.split_once(':') {
            if let Some(i) = self
                .shelves
                .iter()
                .position(|s| s.label.as_deref() == Some(name))
            {
                return Ok((i, self.shelves[i].index.resolve(rest)?));
            }
        }
        let mut first_error = None;
        for (i, s) in self.shelves.iter().enumerate() {
            match s.index.resolve(id) {
                Ok(rel) => return Ok((i, rel)),
                Err(KbError::NoteNotFound(_)) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| KbError::NoteNotFound(id.to_string())))
    }

    /// A note as every front end shows it, with its parsed text.
    pub fn view(&self, shelf: usize, rel: &str) -> Result<(NoteView, Note, String)> {
        let s = &self.shelves[shelf];
        let v = s.index.vault();
        v.check_real(rel)?;
        let bytes = std::fs::read(v.abs(rel)).map_err(|e| vault::io_err(&v.abs(rel), e))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let note = Note::parse(&text, vault::stem_of(rel));
        let who = self.authorship(shelf, &[rel]).remove(rel);
        let view = NoteView::new(s.label.as_deref(), rel, &note, who.as_ref());
        Ok((view, note, text))
    }
}

/// A search's answer as a front end shows it: the notes found, in order, and what to do when
/// none answers.
pub struct Answer {
    pub found: Vec<Found>,
    pub advice: Option<Advice>,
    /// The query as prepared (for remembering a miss).
    pub prepared: Prepared,
}

/// One note found.
pub struct Found {
    /// The note's id as the front ends take it back (`team:windows/foo` with several vaults).
    pub id: String,
    pub view: NoteView,
    pub score: f32,
    /// The note's recorded errors (as written) that the query matched.
    pub matched_errors: Vec<String>,
    /// The hit's scoring, for `--explain`-like displays.
    pub explanation: search::Explanation,
}

impl Library {
    /// Search (see [`Library::search`]) and read the notes found as every front end shows
    /// them; only vault `vault` when given (an unknown name is an error naming the vaults).
    /// `writable`: kb may write here (the advice then includes the `kb add` line).
    pub fn answer(
        &mut self,
        req: &SearchRequest,
        vault: Option<&str>,
        writable: bool,
    ) -> Result<Answer> {
        if let Some(v) = vault {
            if !self.shelves.iter().any(|s| s.label.as_deref() == Some(v)) {
                let names: Vec<&str> = self.labels().into_iter().flatten().collect();
                return Err(KbError::InvalidInput(if names.is_empty() {
                    format!("there is one vault here, not several: leave out the vault ('{v}')")
                } else {
                    format!(
                        "there is no vault '{v}'; the vaults are {}",
                        names.join(", ")
                    )
                }));
            }
        }
        let prepared = search::prepare(&req.text);
        let (mut hits, _) = self.search(req, &prepared)?;
        if let Some(v) = vault {
            let labels = self.labels();
            hits.retain(|h| labels[h.vault] == Some(v));
        }
        let advice = advice(&prepared, &req.text, &hits, writable);
        let mut found = Vec::with_capacity(hits.len());
        for h in hits {
            // A note gone since the search (deleted meanwhile) is left out.
            let Ok((view, note, _)) = self.view(h.vault, &h.note.rel) else {
                continue;
            };
            found.push(Found {
                id: qualified_id(view.vault.as_deref(), &view.id),
                matched_errors: matched_errors(&note, h.explanation.matched_error.as_deref()),
                view,
                score: h.score,
                explanation: h.explanation,
            });
        }
        Ok(Answer {
            found,
            advice,
            prepared,
        })
    }
}

/// The note's recorded errors (as written) whose normalised form is the one that matched.
fn matched_errors(note: &Note, matched: Option<&str>) -> Vec<String> {
    let Some(m) = matched else {
        return Vec::new();
    };
    let found: Vec<String> = note
        .all_errors()
        .filter(|e| crate::normalize::key(e) == m)
        .map(|e| crate::misses::clip(e.trim(), 500).to_string())
        .fold(Vec::new(), |mut seen, e| {
            // An error quoted in the body as in the front matter is one error.
            if !seen.contains(&e) && seen.len() < 3 {
                seen.push(e);
            }
            seen
        });
    if found.is_empty() {
        vec![m.to_string()]
    } else {
        found
    }
}

/// What to do when the hits do not answer the query (None when they do): the web query (the
/// query's constant parts, bounded) and the `kb add` line (the first line, at most 300
/// characters; only when kb may write: `writable`).
pub fn advice(p: &Prepared, text: &str, hits: &[Hit], writable: bool) -> Option<Advice> {
    if search::answers(p, hits) {
        return None;
    }
    let first = crate::misses::clip(
        text.lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim(),
        300,
    )
    .trim_end();
    Some(Advice {
        reason: if hits.is_empty() {
            "no hit"
        } else {
            "no note records a similar error"
        },
        web_query: crate::misses::web_query(p),
        add_command: (writable && !first.is_empty()).then(|| {
            format!(
                "kb add --error {} --title '...' --fix '...'",
                crate::error::shell_word(first)
            )
        }),
    })
}
