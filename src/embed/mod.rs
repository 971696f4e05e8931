//! Meaning: an optional sentence-embedding model that finds notes by what a question means
//! when it shares few words with them ("save my arrangement of tabs" → "Workspaces").
//!
//! The model ([`Model`]) is a folder the person names (`model =` in config.toml, or
//! `KB_MODEL`); without one kb searches by words alone, exactly as it did before. The notes'
//! vectors are part of the disposable index ([`store`]): computed by `kb index` for new and
//! changed notes only ([`update`]), never by a search, which ranks the notes not yet embedded
//! by their words alone.

mod compact;
mod encoder;
mod model;
mod store;
mod tokenizer;
mod wordpiece;

pub use model::{unit, Model, Pooling, BATCH, MAX_PASSAGES};
pub use store::{Builder, Embeddings, Packed, Probe};

use crate::error::Result;
use crate::index::NoteIndex;
use crate::note::Note;
use crate::vault;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The environment variable naming the model's folder (empty: no model, whatever the
/// configuration says).
pub const ENV: &str = "KB_MODEL";

/// Where the model is: `KB_MODEL` when set (empty turns the model off), else the
/// configuration's `model`.
pub fn configured(setting: Option<&Path>) -> Option<PathBuf> {
    match std::env::var_os(ENV) {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(crate::config::expand_home(&v.to_string_lossy())),
        None => setting.map(Path::to_path_buf),
    }
}

/// The text of a note that is embedded: its title (and aliases) heads every passage.
pub fn note_passages(model: &Model, note: &Note) -> Vec<String> {
    let mut head = note.title.clone();
    for a in &note.aliases {
        head.push_str(" / ");
        head.push_str(a);
    }
    let mut text = note.body_text.clone();
    if !note.tags.is_empty() {
        text.push('\n');
        text.push_str(&note.tags.join(" "));
    }
    model.passages(&head, &text)
}

/// What bringing a vault's vectors up to date did.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Notes embedded now, and their passages.
    pub embedded: usize,
    pub passages: usize,
    /// Notes whose vectors were kept (unchanged since).
    pub kept: usize,
    /// Vectors of notes gone (or no longer indexed), dropped.
    pub dropped: usize,
    /// Notes that could not be read (gone meanwhile).
    pub unreadable: usize,
    /// Notes with vectors now.
    pub total: usize,
}

/// While vectors are computed, what is done is saved this often (an interrupted `kb index`
/// of a large vault keeps most of its work).
const CHECKPOINT: Duration = Duration::from_secs(60);

/// Notes read and embedded together (their passages sorted by length into batches).
const GROUP: usize = 64;

/// Bring the vectors of the index's notes up to date with `model`: notes added or changed
/// since are embedded, those of notes removed are dropped, the others are kept as they are.
/// How far it is goes to [`crate::progress`] ("embedding notes").
pub fn update(index: &NoteIndex, model: &Model) -> Result<Report> {
    let dir = index.state_dir();
    let notes = index.content_hashes();
    let old = Embeddings::open(dir, model.fingerprint());
    let mut out = Builder::default();
    let mut todo = Vec::new();
    let mut report = Report::default();
    let mut replaced = 0;
    for (rel, hash) in notes {
        match old.as_ref().and_then(|o| o.find(&rel).map(|i| (o, i))) {
            Some((o, i)) if o.hash(i) == hash => {
                out.add(rel, hash, o.packed(i));
                report.kept += 1;
            }
            Some(_) => {
                replaced += 1;
                todo.push(rel);
            }
            None => todo.push(rel),
        }
    }
    let before = old.as_ref().map_or(0, Embeddings::len);
    report.dropped = before.saturating_sub(report.kept + replaced);
    if todo.is_empty() && report.dropped == 0 && old.is_some() {
        report.total = report.kept;
        return Ok(report);
    }
    drop(old);
    let write = |out: &mut Builder| {
        out.write(dir, model.fingerprint(), model.dim())
            .map_err(|e| crate::error::KbError::CannotWrite {
                what: dir.join(store::FILE).display().to_string(),
                why: e.to_string(),
            })
    };
    let mut saved = Instant::now();
    let progress =
        |done: usize| crate::progress::report("embedding notes", done as u64, todo.len() as u64);
    progress(0);
    for (g, group) in todo.chunks(GROUP).enumerate() {
        let r = embed_notes(index.vault(), model, group, &mut out)?;
        report.embedded += r.0;
        report.passages += r.1;
        report.unreadable += group.len() - r.0;
        progress((g * GROUP + group.len()).min(todo.len()));
        if saved.elapsed() >= CHECKPOINT {
            write(&mut out)?;
            renew(dir);
            saved = Instant::now();
        }
    }
    report.total = out.len();
    write(&mut out)?;
    Ok(report)
}

/// A passage's vector: (note, passage, vector).
type Embedded = (usize, usize, Vec<f32>);

/// Read and embed these notes into `out`: how many were read, and their passages.
fn embed_notes(
    vault: &vault::Vault,
    model: &Model,
    rels: &[String],
    out: &mut Builder,
) -> Result<(usize, usize)> {
    let mut read = Vec::new();
    for rel in rels {
        let Ok((bytes, _)) = vault.read(rel) else {
            continue;
        };
        let note = Note::parse_bytes(&bytes, vault::stem_of(rel));
        read.push((
            rel.clone(),
            crate::index::content_hash(&bytes),
            note_passages(model, &note),
        ));
    }
    // Passages of similar length go together: a batch is as long as its longest.
    let mut order: Vec<(usize, usize)> = read
        .iter()
        .enumerate()
        .flat_map(|(n, (_, _, ps))| (0..ps.len()).map(move |p| (n, p)))
        .collect();
    order.sort_by_key(|&(n, p)| read[n].2[p].len());
    let mut vectors: Vec<Vec<Option<Packed>>> =
        read.iter().map(|(_, _, ps)| vec![None; ps.len()]).collect();
    // The model's matrix products keep about one core busy for passages this short: the
    // batches are shared among the cores, one model run each at a time.
    let batches: Vec<&[(usize, usize)]> = order.chunks(BATCH).collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(batches.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: Vec<Result<Vec<Embedded>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut got = Vec::new();
                    loop {
                        let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(batch) = batches.get(b) else { break };
                        let texts: Vec<&str> =
                            batch.iter().map(|&(n, p)| read[n].2[p].as_str()).collect();
                        for (&(n, p), v) in batch.iter().zip(model.embed(&texts)?) {
                            got.push((n, p, v));
                        }
                    }
                    Ok(got)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Ok(Vec::new())))
            .collect()
    });
    for got in done {
        for (n, p, v) in got? {
            vectors[n][p] = Some(Packed::of(&v));
        }
    }
    let passages = order.len();
    let count = read.len();
    for ((rel, hash, _), vs) in read.into_iter().zip(vectors) {
        out.add(rel, hash, vs.into_iter().flatten().collect());
    }
    Ok((count, passages))
}

/// What a search compares with: the query's vector and each searched vault's vectors (None
/// where the vault has none of this model's yet).
pub struct Semantic {
    pub probe: Probe,
    pub stores: Vec<Option<Embeddings>>,
}

impl Semantic {
    /// For the query `text`, over these indexes; the vectors an earlier question was
    /// compared with (`earlier`, by vault) are kept where they are still current.
    pub fn new(
        model: &Model,
        text: &str,
        idxs: &[&NoteIndex],
        earlier: Option<Semantic>,
    ) -> Result<Semantic> {
        let v = model.embed(&[text])?.pop().unwrap_or_default();
        let kept = earlier.map(|s| s.stores).unwrap_or_default();
        let stores = Semantic::open_keeping(idxs.iter().map(|i| i.state_dir()), kept);
        Ok(Semantic::of_vector(model, &v, stores))
    }

    /// The vectors of the vaults whose kb folders are `dirs`, whichever model made them,
    /// their pages mapped: opened while a question is still being read.
    pub fn open<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Vec<Option<Embeddings>> {
        Semantic::open_keeping(dirs, Vec::new())
    }

    /// [`Semantic::open`], keeping those of `kept` (by vault) still current: unmapping them
    /// and mapping them again cost a `kb mcp` question at 100,000 notes about a millisecond.
    fn open_keeping<'a>(
        dirs: impl IntoIterator<Item = &'a Path>,
        mut kept: Vec<Option<Embeddings>>,
    ) -> Vec<Option<Embeddings>> {
        dirs.into_iter()
            .enumerate()
            .map(|(v, d)| match kept.get_mut(v).and_then(Option::take) {
                Some(e) if e.is_current(d) => Some(e),
                _ => {
                    let e = Embeddings::open_any(d);
                    if let Some(e) = &e {
                        e.prefetch();
                    }
                    e
                }
            })
            .collect()
    }

    /// For a query whose vector (by `model`) is `v`, over the vaults' `stores`
    /// ([`Semantic::open`]; the vectors of another model are none).
    pub fn of_vector(model: &Model, v: &[f32], stores: Vec<Option<Embeddings>>) -> Semantic {
        Semantic {
            probe: Probe::new(v),
            stores: stores
                .into_iter()
                .map(|s| s.and_then(|s| s.of_model(model.fingerprint())))
                .collect(),
        }
    }

    /// Whether some searched vault has notes without vectors (or with a changed note's old
    /// ones): `kb index` has work to do.
    pub fn incomplete(&self, idxs: &[&NoteIndex]) -> Vec<usize> {
        idxs.iter()
            .enumerate()
            .filter(|(v, i)| {
                self.stores[*v]
                    .as_ref()
                    .is_none_or(|s| (s.len() as u64) < i.num_notes())
            })
            .map(|(v, _)| v)
            .collect()
    }
}

/// A question's vector computed on another thread, the model loaded for it with its weights
/// read in place ([`Model::load_mapped`]), while the process does the rest of its work: a
/// `kb search` prepares the query and searches by words meanwhile. The model is loaded and
/// the text read at once; dropped before [`Early::finish`] (a text that turned out to be a
/// pasted error, which is not read by meaning), the thread gives up before its next layer.
pub struct Early {
    text: String,
    dir: PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<Read>>>,
}

/// The model loaded and the question's vector.
type Read = (Model, Vec<f32>);

impl Early {
    /// Start loading the model in folder `dir` and reading `text` with it.
    pub fn start(dir: PathBuf, text: String) -> Early {
        let (d, t) = (dir.clone(), text.clone());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let model = Model::load_mapped(&d)?;
            model.prefetch();
            match model.embed_alone(&t, &stopped)? {
                Some(v) => Ok((model, v)),
                None => Err(crate::error::KbError::Model {
                    path: d,
                    reason: "the question was not to be read by meaning".into(),
                }),
            }
        });
        // Its own core from the start, beside the search by words.
        crate::cores::elsewhere(&thread);
        Early {
            text,
            dir,
            stop,
            thread: Some(thread),
        }
    }

    /// The text it reads.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The model and the text's vector, once both are ready.
    pub fn finish(mut self) -> Result<(Model, Vec<f32>)> {
        let dir = std::mem::take(&mut self.dir);
        let stopped = || crate::error::KbError::Model {
            path: dir.clone(),
            reason: "reading the question stopped unexpectedly".into(),
        };
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| Err(stopped())),
            None => Err(stopped()),
        }
    }
}

impl Drop for Early {
    /// Not finished: the question is not wanted, its thread stops at the next layer.
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A background `kb index` computing vectors is claimed for this long (it renews its claim
/// as it saves its work): no second one starts meanwhile.
const CLAIM: Duration = Duration::from_secs(300);
const CLAIM_FILE: &str = "embeddings.claim";

/// Whether the caller should start computing the vault's vectors in the background: nobody
/// claimed it within [`CLAIM`]; if so it is claimed now.
pub fn claim(state_dir: &Path) -> bool {
    let path = state_dir.join(CLAIM_FILE);
    let fresh = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < CLAIM);
    !fresh && std::fs::write(&path, b"").is_ok()
}

/// A claim of [`claim`] still held by the process computing the vectors.
fn renew(state_dir: &Path) {
    let path = state_dir.join(CLAIM_FILE);
    if path.exists() {
        let _ = std::fs::write(&path, b"");
    }
}

/// The claim of [`claim`] is over (the vectors are computed).
pub fn release(state_dir: &Path) {
    let _ = std::fs::remove_file(state_dir.join(CLAIM_FILE));
}
