//! A sentence-transformers BERT-family model run in process on the CPU: candle for the
//! network, Hugging Face's tokenizers for the words. The folder is what sentence-transformers
//! saves: `config.json` (the BERT configuration), `tokenizer.json`, `model.safetensors`, and
//! optionally `1_Pooling/config.json` (mean or CLS pooling), `modules.json` (whether the
//! vectors are normalised) and `sentence_bert_config.json` (the length it was trained for).

use super::compact::{self, Compact};
use super::encoder::{Encoder, Source};
use super::wordpiece::Words;
use crate::error::{KbError, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The mean of the tokens' vectors (padding left out).
    Mean,
    /// The vector of the first token (`[CLS]`).
    Cls,
}

/// A loaded model.
pub struct Model {
    /// A single text (a question) goes through this.
    encoder: Encoder,
    /// Batches of passages (`kb index`) go through candle's BertModel, loaded when first
    /// needed: a search never loads it.
    bert: std::sync::OnceLock<std::result::Result<BertModel, String>>,
    config: Config,
    weights: PathBuf,
    /// tokenizers' tokenizer, for batches and passages: made when first needed (a question
    /// is read by `words` when it can be) from the file's bytes.
    tokenizer: std::sync::OnceLock<std::result::Result<Tokenizer, String>>,
    tokenizer_json: Vec<u8>,
    /// The same without padding or truncation, for cutting passages (made when first needed:
    /// a search never cuts passages).
    plain: std::sync::OnceLock<Tokenizer>,
    /// A question's tokens, without building tokenizers' tokenizer (a BERT one).
    words: Option<Words>,
    /// kb's copy of the model the question is read from, when there is one.
    copy: Option<PathBuf>,
    pooling: Pooling,
    normalize: bool,
    max_tokens: usize,
    dim: usize,
    layers: usize,
    fingerprint: u64,
    path: PathBuf,
    bytes: u64,
}

/// Passages of a note are embedded this many at a time (similar lengths together).
pub const BATCH: usize = 8;

fn bad(dir: &Path, reason: impl std::fmt::Display) -> KbError {
    KbError::Model {
        path: dir.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>> {
    std::fs::read(dir.join(name)).map_err(|e| bad(dir, format!("{name}: {e}")))
}

fn json(dir: &Path, name: &str) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(dir.join(name)).ok()?).ok()
}

impl Model {
    /// Load the model in folder `dir` for a process that runs long. Questions are read from
    /// kb's copy of the model ([`super::compact`], written now if missing), in place: kb
    /// replaces that file only by a rename. Without a copy, the weights a question needs are
    /// copied into kb's memory (a model file replaced or cut meanwhile does not touch them).
    pub fn load(dir: &Path) -> Result<Model> {
        Model::open(dir, false)
    }

    /// Load the model in folder `dir` for a process that answers a question or two: from
    /// kb's copy, or without one the weights a question needs are read in place from the
    /// model file's map (copying 90 MB was most of such a process's time).
    pub fn load_mapped(dir: &Path) -> Result<Model> {
        Model::open(dir, true)
    }

    fn open(dir: &Path, mapped: bool) -> Result<Model> {
        if !dir.is_dir() {
            return Err(bad(dir, "it is not a folder"));
        }
        let config_bytes = read(dir, "config.json")?;
        let config: Config = serde_json::from_slice(&config_bytes)
            .map_err(|e| bad(dir, format!("config.json is not a BERT configuration: {e}")))?;
        if let Some(t) = config.model_type.as_deref() {
            if t != "bert" {
                return Err(bad(
                    dir,
                    format!("config.json describes a '{t}' model; kb runs BERT models"),
                ));
            }
        }
        let weights_path = dir.join("model.safetensors");
        let tokenizer_bytes = read(dir, "tokenizer.json")?;
        let meta = std::fs::metadata(&weights_path)
            .map_err(|e| bad(dir, format!("model.safetensors: {e}")))?;
        let bytes = meta.len();
        // The weights are identified by their header (names, shapes, offsets), size and
        // modification time rather than by hashing 90 MB at every start: a model replaced by
        // another (even of the same shapes) is a new file.
        let fingerprint = {
            use xxhash_rust::xxh3::Xxh3;
            let mut h = Xxh3::new();
            for part in [
                &config_bytes,
                &tokenizer_bytes,
                &safetensors_header(&weights_path),
            ] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part);
            }
            h.update(&bytes.to_le_bytes());
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            h.update(&mtime.to_le_bytes());
            h.digest()
        };
        let trained = json(dir, "sentence_bert_config.json")
            .and_then(|c| c.get("max_seq_length")?.as_u64())
            .map(|n| n as usize);
        let max_tokens = trained
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings)
            .max(8);
        let pooling = match json(dir, "1_Pooling/config.json") {
            Some(p) if p.get("pooling_mode_cls_token").and_then(|v| v.as_bool()) == Some(true) => {
                Pooling::Cls
            }
            _ => Pooling::Mean,
        };
        // sentence-transformers lists a Normalize module when its vectors are unit length;
        // kb compares by cosine either way, so it normalises always (the flag is reported).
        let normalize = json(dir, "modules.json")
            .and_then(|m| {
                Some(m.as_array()?.iter().any(|x| {
                    x.get("type")
                        .and_then(|t| t.as_str())
                        .is_some_and(|t| t.ends_with("Normalize"))
                }))
            })
            .unwrap_or(false);
        // A question is read from kb's copy of the model when there is one; else from the
        // model's files, and the copy is written for next time (the question read from it).
        let copy_path = compact::path(fingerprint);
        let from_copy = |path: &Option<PathBuf>| {
            let c = Compact::open(path.as_deref()?, fingerprint)?;
            Some((Encoder::from_compact(&c, &config)?, c.words()))
        };
        let tokenizer = std::sync::OnceLock::new();
        let (encoder, words, copy) = match from_copy(&copy_path) {
            Some((encoder, words)) => (encoder, words, copy_path),
            None => {
                let t = configured(&tokenizer_bytes, max_tokens)
                    .map_err(|e| bad(dir, format!("tokenizer.json: {e}")))?;
                let encoder = weights(&weights_path)
                    .and_then(|vb| {
                        let src = if mapped {
                            Source::mapped(vb, Arc::new(map(&weights_path)?))
                        } else {
                            Source::copied(vb)
                        };
                        Encoder::load(src, &config)
                    })
                    .map_err(|e| {
                        bad(
                            dir,
                            format!("model.safetensors does not fit config.json: {e}"),
                        )
                    })?;
                let words = Words::of(&t, max_tokens);
                let _ = tokenizer.set(Ok(t));
                let written =
                    copy_path
                        .as_deref()
                        .zip(encoder.to_compact())
                        .and_then(|(p, tensors)| {
                            compact::write(
                                p,
                                fingerprint,
                                tensors,
                                words.as_ref().map(|w| (&w.settings, &w.table)),
                            )
                            .ok()
                        });
                match written.and_then(|_| from_copy(&copy_path)) {
                    Some((encoder, words)) => (encoder, words, copy_path),
                    // No cache folder to write in (or a full or read-only one): the question
                    // is read with the model's own 32-bit weights.
                    None => (encoder, words, None),
                }
            }
        };
        Ok(Model {
            encoder,
            bert: std::sync::OnceLock::new(),
            weights: weights_path,
            tokenizer,
            tokenizer_json: tokenizer_bytes,
            plain: std::sync::OnceLock::new(),
            words,
            copy,
            pooling,
            normalize,
            max_tokens,
            dim: config.hidden_size,
            layers: config.num_hidden_layers,
            config,
            fingerprint,
            path: dir.to_path_buf(),
            bytes,
        })
    }

    /// Length of its vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Tokens it reads of one text (longer texts are cut).
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Identifies the model's files: vectors made by another model are not compared.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// One line: what the model is.
    pub fn describe(&self) -> String {
        format!(
            "{}: BERT, {} layers, {} dimensions, {} pooling{}, up to {} tokens, {:.1} MB of weights",
            self.path.display(),
            self.layers,
            self.dim,
            match self.pooling {
                Pooling::Mean => "mean",
                Pooling::Cls => "CLS",
            },
            if self.normalize { ", normalised" } else { "" },
            self.max_tokens,
            self.bytes as f64 / 1e6
        )
    }

    /// kb's copy of the model a question is read from (16-bit weights), when there is one.
    pub fn copy(&self) -> Option<&Path> {
        self.copy.as_deref()
    }

    /// tokenizers' tokenizer (padding a batch to its longest, cutting at the model's length).
    fn tokenizer(&self) -> Result<&Tokenizer> {
        self.tokenizer
            .get_or_init(|| configured(&self.tokenizer_json, self.max_tokens))
            .as_ref()
            .map_err(|e| bad(&self.path, format!("tokenizer.json: {e}")))
    }

    /// Unit vectors of the texts, in their order, through kb's encoder: one text is shared
    /// with a second thread when long enough; several are read one after another on this
    /// thread (`kb index` gives each core its own batches).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let run = |e: candle_core::Error| bad(&self.path, format!("running the model: {e}"));
        let share = texts.len() == 1;
        self.ids(texts)?
            .iter()
            .map(|ids| self.one(ids, share).map_err(run))
            .collect()
    }

    /// The same through candle, the texts padded into one batch, with the model file's
    /// 32-bit weights: the reference `kb model check` compares kb's encoder with.
    pub fn embed_reference(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .tokenizer()?
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| bad(&self.path, format!("tokenizing: {e}")))?;
        self.forward(self.batches()?, &enc)
            .map_err(|e| bad(&self.path, format!("running the model: {e}")))
    }

    /// The token ids of each text, cut to the model's length: kb's reading of the vocabulary
    /// when it gives the tokenizer's ids ([`super::wordpiece`]), else the tokenizer's.
    fn ids(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        if let Some(w) = &self.words {
            return Ok(texts.iter().map(|t| w.ids(t, self.max_tokens)).collect());
        }
        Ok(self
            .tokenizer()?
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| bad(&self.path, format!("tokenizing: {e}")))?
            .iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    /// candle's model, the reference ([`Model::embed_reference`]; loaded at the first call).
    pub fn batches(&self) -> Result<&BertModel> {
        self.bert
            .get_or_init(|| {
                weights(&self.weights)
                    .and_then(|vb| BertModel::load(vb, &self.config))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| bad(&self.path, format!("model.safetensors: {e}")))
    }

    /// Have the weights a question reads mapped now ([`Encoder::prefetch`]): done while
    /// the process has other work for its main thread, the question is read sooner.
    pub fn prefetch(&self) {
        self.encoder.prefetch();
    }

    /// One text's vector on this thread alone (the process's other work has the other
    /// cores): [`Model::embed`] of one text otherwise. None if `stop` is set before it is
    /// done (checked at each layer).
    pub fn embed_alone(
        &self,
        text: &str,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<Option<Vec<f32>>> {
        let run = |e: candle_core::Error| bad(&self.path, format!("running the model: {e}"));
        let ids = self.ids(&[text])?.pop().unwrap_or_default();
        let rows = self.encoder.forward_unless(&ids, stop).map_err(run)?;
        Ok(rows.map(|r| self.pooled(&r)))
    }

    /// One text's vector through the hand-written encoder (no padding to mask), shared
    /// with a second thread if `share` ([`Encoder::forward_on`]).
    fn one(&self, ids: &[u32], share: bool) -> candle_core::Result<Vec<f32>> {
        Ok(self.pooled(&self.encoder.forward_on(ids, share)?))
    }

    /// A text's vector from its tokens' last rows, pooled and of unit length.
    fn pooled(&self, rows: &[f32]) -> Vec<f32> {
        let h = self.dim;
        let mut v = vec![0f32; h];
        match self.pooling {
            // No token at all (a tokenizer that adds none to an empty text): a zero vector.
            Pooling::Cls => {
                if let Some(first) = rows.get(..h) {
                    v.copy_from_slice(first);
                }
            }
            Pooling::Mean => {
                let n = rows.len() / h;
                for row in rows.chunks(h) {
                    for (a, b) in v.iter_mut().zip(row) {
                        *a += b;
                    }
                }
                for a in &mut v {
                    *a /= n.max(1) as f32;
                }
            }
        }
        unit(&mut v);
        v
    }

    fn forward(
        &self,
        bert: &BertModel,
        enc: &[tokenizers::Encoding],
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let dev = &bert.device;
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> candle_core::Result<Tensor> {
            let v: Vec<Tensor> = enc
                .iter()
                .map(|e| Tensor::new(f(e), dev))
                .collect::<candle_core::Result<_>>()?;
            Tensor::stack(&v, 0)
        };
        let ids = rows(&|e| e.get_ids())?;
        let types = ids.zeros_like()?;
        let mask = rows(&|e| e.get_attention_mask())?;
        let out = bert.forward(&ids, &types, Some(&mask))?;
        let pooled = match self.pooling {
            Pooling::Cls => out.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let sum = out.broadcast_mul(&m)?.sum(1)?;
                let n = m.sum(1)?.clamp(1.0, f64::MAX)?;
                sum.broadcast_div(&n)?
            }
        };
        let mut vecs = pooled.to_vec2::<f32>()?;
        for v in &mut vecs {
            unit(v);
        }
        Ok(vecs)
    }

    /// Cut a note into passages the model reads whole: each is the title followed by as much
    /// of the text as fits, cut at token boundaries (a note's score is its best passage's).
    pub fn passages(&self, title: &str, text: &str) -> Vec<String> {
        let room = |used: usize| self.max_tokens.saturating_sub(used + 2).max(16);
        let title_tokens = self.count_tokens(title);
        let per = room(title_tokens);
        let Some(enc) = self.plain().and_then(|p| p.encode(text, false).ok()) else {
            return vec![format!("{title}\n{text}")];
        };
        let offsets = enc.get_offsets();
        if offsets.is_empty() {
            return vec![title.to_string()];
        }
        let mut out = Vec::new();
        let mut start = 0;
        while start < offsets.len() {
            let end = (start + per).min(offsets.len());
            let (from, to) = (offsets[start].0, offsets[end - 1].1);
            let piece = text.get(from..to).unwrap_or_default();
            out.push(format!("{title}\n{piece}"));
            start = end;
            if out.len() >= MAX_PASSAGES {
                break;
            }
        }
        out
    }

    fn plain(&self) -> Option<&Tokenizer> {
        let t = self.tokenizer().ok()?;
        Some(self.plain.get_or_init(|| {
            let mut t = t.clone();
            t.with_padding(None);
            // Removing the truncation cannot fail (only a stride longer than it can).
            let _ = t.with_truncation(None);
            t
        }))
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.plain()
            .and_then(|p| p.encode(text, false).ok())
            .map_or(0, |e| e.len())
    }
}

/// The tokenizer in `json` (a `tokenizer.json`), padding a batch to its longest text and
/// cutting texts at `max_tokens`.
fn configured(json: &[u8], max_tokens: usize) -> std::result::Result<Tokenizer, String> {
    let mut t = super::tokenizer::from_bytes(json)?;
    t.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        ..Default::default()
    }));
    t.with_truncation(Some(TruncationParams {
        max_length: max_tokens,
        ..Default::default()
    }))
    .map_err(|e| e.to_string())?;
    Ok(t)
}

/// The weights in `path`, to copy into the model's own memory.
fn weights(path: &Path) -> candle_core::Result<VarBuilder<'static>> {
    // SAFETY: the map lives only while the weights are copied into the model's own memory
    // (the encoder's vectors, candle's tensors); the folder is the person's own model, which
    // nothing rewrites in place while kb starts (a changed file is a new fingerprint next
    // time).
    unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F32, &Device::Cpu) }
}

/// The weights file mapped, for reading in place.
fn map(path: &Path) -> candle_core::Result<memmap2::Mmap> {
    let file = std::fs::File::open(path)?;
    // SAFETY: the person's own model file, which nothing rewrites in place while a
    // one-question process reads it; long-running processes copy the weights instead
    // (`Model::load`).
    unsafe { memmap2::Mmap::map(&file) }.map_err(candle_core::Error::from)
}

/// The JSON header of a safetensors file (its first bytes say how long it is); empty if the
/// file cannot be read (loading it then says why).
fn safetensors_header(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::new();
    let Ok(mut f) = std::fs::File::open(path) else {
        return head;
    };
    let mut len = [0u8; 8];
    if f.read_exact(&mut len).is_ok() {
        let n = u64::from_le_bytes(len).min(100 << 20);
        let _ = f.take(n).read_to_end(&mut head);
    }
    head
}

/// A note longer than this many passages is embedded by its beginning (a 60-page log pasted
/// in a note should not take minutes).
pub const MAX_PASSAGES: usize = 32;

/// Scale `v` to unit length (a zero vector stays zero).
pub fn unit(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}
