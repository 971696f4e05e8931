//! One text through the BERT encoder, written out for the case a search has: a single
//! sentence of a few tokens.
//!
//! candle's matrix products pack the weight matrices for their kernels at every call, which
//! pays for itself over the thousands of token rows of a batch of passages (`kb index` uses
//! candle) but dominates a question of a dozen tokens: a query took 12-18 ms that way, most of
//! it packing 43 MB of weights (measured with perf). Here every output is a dot product of a
//! token row with a weight row as stored (row-major, `out x in`), a few token rows per weight
//! row so that each weight is read once; the same arithmetic as candle's BertModel, checked
//! against it by the tests (`same_vectors_as_candle`).
//!
//! Questions are normally read from kb's copy of the model ([`super::compact`]): the
//! matrices in 16-bit floats, widened a pair of rows at a time (half the bytes to bring from
//! memory), read in place. Without a copy, a process that answers one question (`kb search`)
//! reads the model file's 32-bit weights where its map puts them instead of copying 90 MB
//! into fresh memory (two thirds of such a search, measured with perf); a long-running one
//! (`kb mcp`, `kb serve`) copies them, so that a model file replaced or cut while it runs
//! cannot change or take away its weights.

use super::compact::{Compact, Stored, Tensor};
use candle_core::DType;
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use half::f16;
use std::sync::Arc;

type Floats = Stored<f32>;

/// Where the weights come from: candle's loader (any dtype, copied), or, for f32 tensors of
/// a mapped file, the map itself.
pub struct Source<'a> {
    vb: VarBuilder<'a>,
    /// The names `vb` is under (`encoder.layer.0`...), for finding them in the map.
    prefix: String,
    /// The map, its header, and where its data starts; shared by every prefix (`pp`).
    mapped: Option<Arc<(Arc<memmap2::Mmap>, safetensors::tensor::Metadata, usize)>>,
}

impl<'a> Source<'a> {
    /// Every tensor copied by candle's loader.
    pub fn copied(vb: VarBuilder<'a>) -> Source<'a> {
        Source {
            vb,
            prefix: String::new(),
            mapped: None,
        }
    }

    /// The f32 tensors of `map` (a safetensors file) read in place; others through `vb`.
    pub fn mapped(vb: VarBuilder<'a>, map: Arc<memmap2::Mmap>) -> Source<'a> {
        let meta = safetensors::SafeTensors::read_metadata(&map[..]).ok();
        Source {
            vb,
            prefix: String::new(),
            mapped: meta.map(|(n, m)| Arc::new((map, m, 8 + n))),
        }
    }

    fn pp(&self, prefix: impl ToString) -> Source<'a> {
        let prefix = prefix.to_string();
        Source {
            vb: self.vb.pp(&prefix),
            prefix: self.path(&prefix),
            mapped: self.mapped.clone(),
        }
    }

    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.vb.contains_tensor(name)
    }

    fn floats(&self, shape: &[usize], name: &str) -> candle_core::Result<Floats> {
        if let Some((map, meta, data)) = self.mapped.as_deref() {
            let full = self.path(name);
            if let Some(info) = meta.info(&full) {
                let (from, to) = info.data_offsets;
                let start = data + from;
                let len = shape.iter().product::<usize>();
                if info.dtype == safetensors::Dtype::F32
                    && info.shape == shape
                    && to.checked_sub(from) == Some(len * 4)
                {
                    if let Some(f) = Stored::mapped(map, start, len) {
                        return Ok(f);
                    }
                }
            }
        }
        Ok(Floats::Owned(
            self.vb
                .get(shape, name)?
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?,
        ))
    }
}

/// A matrix, row-major: 32-bit floats (as the model's file has them), or 16-bit (kb's copy of
/// the model, [`super::compact`]: half the bytes to read for every question).
enum Matrix {
    F32(Floats),
    F16(Stored<f16>),
}

impl Matrix {
    fn len(&self) -> usize {
        match self {
            Matrix::F32(v) => v.len(),
            Matrix::F16(v) => v.len(),
        }
    }

    /// Add row `i` (of `out.len()` values) to `out`.
    fn add_row(&self, i: usize, out: &mut [f32]) {
        let h = out.len();
        match self {
            Matrix::F32(v) => add(out, &v[i * h..(i + 1) * h]),
            Matrix::F16(v) => {
                for (o, w) in out.iter_mut().zip(&v[i * h..(i + 1) * h]) {
                    *o += w.to_f32();
                }
            }
        }
    }

    /// The same in 16-bit floats (as they are when already so).
    #[cfg(test)]
    fn halved(self) -> Matrix {
        match self {
            Matrix::F32(v) => {
                Matrix::F16(Stored::Owned(v.iter().map(|x| f16::from_f32(*x)).collect()))
            }
            m => m,
        }
    }

    /// To write in kb's copy: 16-bit (None: already 16-bit, not from the model's file).
    fn to_write(&self, shape: Vec<usize>) -> Option<Tensor<'_>> {
        match self {
            Matrix::F32(v) => Some(Tensor::F16(v, shape)),
            Matrix::F16(_) => None,
        }
    }
}

/// A dense layer: `y = x W^T + b`, `W` stored `out x inp`, row-major.
struct Linear {
    w: Matrix,
    b: Floats,
    out: usize,
    inp: usize,
}

struct Norm {
    g: Floats,
    b: Floats,
}

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// The weights of a BERT encoder, as plain vectors.
pub struct Encoder {
    word: Matrix,
    position: Matrix,
    token_type: Matrix,
    norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    act: HiddenAct,
    eps: f32,
    vocab: usize,
    positions: usize,
}

fn linear(src: &Source, inp: usize, out: usize) -> candle_core::Result<Linear> {
    Ok(Linear {
        w: Matrix::F32(src.floats(&[out, inp], "weight")?),
        b: src.floats(&[out], "bias")?,
        out,
        inp,
    })
}

/// LayerNorm parameters under `weight`/`bias`, or the older `gamma`/`beta`.
fn norm(src: &Source, size: usize) -> candle_core::Result<Norm> {
    let src = src.pp("LayerNorm");
    let (g, b) = if src.contains("weight") {
        ("weight", "bias")
    } else {
        ("gamma", "beta")
    };
    Ok(Norm {
        g: src.floats(&[size], g)?,
        b: src.floats(&[size], b)?,
    })
}

impl Encoder {
    /// The weights `BertModel::load` would read (same names, same prefixes).
    pub fn load(src: Source, c: &Config) -> candle_core::Result<Encoder> {
        let vb = if src.contains("bert.embeddings.word_embeddings.weight") {
            src.pp("bert")
        } else {
            match &c.model_type {
                Some(t) if src.contains(&format!("{t}.embeddings.word_embeddings.weight")) => {
                    src.pp(t)
                }
                _ => src,
            }
        };
        let h = c.hidden_size;
        if c.num_attention_heads == 0 || !h.is_multiple_of(c.num_attention_heads) {
            return Err(candle_core::Error::Msg(format!(
                "hidden size {h} is not a multiple of {} heads",
                c.num_attention_heads
            )));
        }
        let e = vb.pp("embeddings");
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let a = l.pp("attention");
            layers.push(Layer {
                q: linear(&a.pp("self.query"), h, h)?,
                k: linear(&a.pp("self.key"), h, h)?,
                v: linear(&a.pp("self.value"), h, h)?,
                o: linear(&a.pp("output.dense"), h, h)?,
                attn_norm: norm(&a.pp("output"), h)?,
                up: linear(&l.pp("intermediate.dense"), h, c.intermediate_size)?,
                down: linear(&l.pp("output.dense"), c.intermediate_size, h)?,
                out_norm: norm(&l.pp("output"), h)?,
            });
        }
        let embeddings = [
            (c.vocab_size, "word_embeddings.weight"),
            (c.max_position_embeddings, "position_embeddings.weight"),
            (c.type_vocab_size.max(1), "token_type_embeddings.weight"),
        ]
        .map(|(rows, name)| e.floats(&[rows, h], name).map(Matrix::F32));
        let [word, position, token_type] = embeddings;
        Ok(Encoder::of(
            c,
            [word?, position?, token_type?],
            norm(&e, h)?,
            layers,
        ))
    }

    /// The encoder of configuration `c` with these word, position and token type embeddings,
    /// normalisation of them, and layers.
    fn of(c: &Config, embeddings: [Matrix; 3], norm: Norm, layers: Vec<Layer>) -> Encoder {
        let [word, position, token_type] = embeddings;
        Encoder {
            word,
            position,
            token_type,
            norm,
            layers,
            hidden: c.hidden_size,
            heads: c.num_attention_heads,
            act: c.hidden_act,
            eps: c.layer_norm_eps as f32,
            vocab: c.vocab_size,
            positions: c.max_position_embeddings,
        }
    }

    /// The same encoder with its matrices in 16-bit floats, as kb's copy of the model has
    /// them ([`super::compact`]).
    #[cfg(test)]
    pub fn halved(self) -> Encoder {
        let lin = |l: Linear| Linear {
            w: l.w.halved(),
            ..l
        };
        Encoder {
            word: self.word.halved(),
            position: self.position.halved(),
            token_type: self.token_type.halved(),
            layers: self
                .layers
                .into_iter()
                .map(|l| Layer {
                    q: lin(l.q),
                    k: lin(l.k),
                    v: lin(l.v),
                    o: lin(l.o),
                    up: lin(l.up),
                    down: lin(l.down),
                    ..l
                })
                .collect(),
            ..self
        }
    }

    /// Its tensors as kb's copy of the model keeps them (matrices 16-bit, the rest 32-bit),
    /// named as [`Encoder::from_compact`] reads them; None for an encoder read from a copy.
    pub fn to_compact(&self) -> Option<Vec<(String, Tensor<'_>)>> {
        let h = self.hidden;
        let mut out = vec![
            ("word".to_string(), self.word.to_write(vec![self.vocab, h])?),
            (
                "position".to_string(),
                self.position.to_write(vec![self.positions, h])?,
            ),
            (
                "token_type".to_string(),
                self.token_type
                    .to_write(vec![self.token_type.len() / h, h])?,
            ),
        ];
        fn norm<'a>(name: String, n: &'a Norm, out: &mut Vec<(String, Tensor<'a>)>) {
            out.push((format!("{name}.g"), Tensor::F32(&n.g, vec![n.g.len()])));
            out.push((format!("{name}.b"), Tensor::F32(&n.b, vec![n.b.len()])));
        }
        norm("norm".into(), &self.norm, &mut out);
        for (i, l) in self.layers.iter().enumerate() {
            for (name, lin) in [
                ("q", &l.q),
                ("k", &l.k),
                ("v", &l.v),
                ("o", &l.o),
                ("up", &l.up),
                ("down", &l.down),
            ] {
                out.push((
                    format!("layer.{i}.{name}.w"),
                    lin.w.to_write(vec![lin.out, lin.inp])?,
                ));
                out.push((
                    format!("layer.{i}.{name}.b"),
                    Tensor::F32(&lin.b, vec![lin.out]),
                ));
            }
            norm(format!("layer.{i}.attn_norm"), &l.attn_norm, &mut out);
            norm(format!("layer.{i}.out_norm"), &l.out_norm, &mut out);
        }
        Some(out)
    }

    /// The encoder of configuration `c` from kb's copy of the model, in place; None when the
    /// copy lacks a tensor or has another shape.
    pub fn from_compact(k: &Compact, c: &Config) -> Option<Encoder> {
        let h = c.hidden_size;
        if c.num_attention_heads == 0 || !h.is_multiple_of(c.num_attention_heads) {
            return None;
        }
        let norm = |name: &str| {
            Some(Norm {
                g: k.floats(&format!("{name}.g"), &[h])?,
                b: k.floats(&format!("{name}.b"), &[h])?,
            })
        };
        let lin = |name: String, inp: usize, out: usize| {
            Some(Linear {
                w: Matrix::F16(k.halves(&format!("{name}.w"), &[out, inp])?),
                b: k.floats(&format!("{name}.b"), &[out])?,
                out,
                inp,
            })
        };
        let inter = c.intermediate_size;
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                Some(Layer {
                    q: lin(format!("layer.{i}.q"), h, h)?,
                    k: lin(format!("layer.{i}.k"), h, h)?,
                    v: lin(format!("layer.{i}.v"), h, h)?,
                    o: lin(format!("layer.{i}.o"), h, h)?,
                    attn_norm: norm(&format!("layer.{i}.attn_norm"))?,
                    up: lin(format!("layer.{i}.up"), h, inter)?,
                    down: lin(format!("layer.{i}.down"), inter, h)?,
                    out_norm: norm(&format!("layer.{i}.out_norm"))?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let half = |name, rows| k.halves(name, &[rows, h]).map(Matrix::F16);
        let embeddings = [
            half("word", c.vocab_size)?,
            half("position", c.max_position_embeddings)?,
            half("token_type", c.type_vocab_size.max(1))?,
        ];
        Some(Encoder::of(c, embeddings, norm("norm")?, layers))
    }

    /// Have the layers' weights read from kb's copy of the model mapped now (a question
    /// reads every one of them; the word embeddings, mostly unread, are left).
    pub fn prefetch(&self) {
        for l in &self.layers {
            for m in [&l.q, &l.k, &l.v, &l.o, &l.up, &l.down] {
                if let Matrix::F16(w) = &m.w {
                    w.prefetch();
                }
            }
        }
    }

    /// The last layer's vector of every token of one sequence (`ids`, token type 0, no
    /// padding), row after row; if `share`, a text long enough is shared with a second
    /// thread.
    pub fn forward_on(&self, ids: &[u32], share: bool) -> candle_core::Result<Vec<f32>> {
        let mut x = self.tokens(ids)?;
        let (h, n) = (self.hidden, x.len() / self.hidden);
        // Two cores: each computes the layers of half the tokens (every weight read by both,
        // the second mostly from the shared cache), and they trade their keys and values once
        // per layer. Each token's numbers are the same either way.
        let two = share
            && n >= 2 * ROWS_APART
            && std::thread::available_parallelism().is_ok_and(|c| c.get() >= 2);
        if !two {
            return Ok(self.layers_of(x, 0, n, None, None).unwrap_or_default());
        }
        let m = n / 2;
        let theirs = x.split_off(m * h);
        let (to_b, from_a) = std::sync::mpsc::channel();
        let (to_a, from_b) = std::sync::mpsc::channel();
        let (mut first, second) = std::thread::scope(|s| {
            let b = s.spawn(move || {
                self.layers_of(theirs, m, n, Some((to_a, from_a)), None)
                    .unwrap_or_default()
            });
            let first = self
                .layers_of(x, 0, n, Some((to_b, from_b)), None)
                .unwrap_or_default();
            (first, b.join())
        });
        match second {
            Ok(second) => {
                first.extend(second);
                Ok(first)
            }
            Err(_) => Err(candle_core::Error::Msg(
                "the encoder's second thread stopped".into(),
            )),
        }
    }

    /// [`Encoder::forward_on`] on this thread alone, given up before the next layer once
    /// `stop` is set (None then).
    pub fn forward_unless(
        &self,
        ids: &[u32],
        stop: &std::sync::atomic::AtomicBool,
    ) -> candle_core::Result<Option<Vec<f32>>> {
        let x = self.tokens(ids)?;
        let n = x.len() / self.hidden;
        Ok(self.layers_of(x, 0, n, None, Some(stop)))
    }

    /// The embedded tokens of `ids` (word, position and token type, normalised), row after
    /// row; at most as many as the model has positions.
    fn tokens(&self, ids: &[u32]) -> candle_core::Result<Vec<f32>> {
        let (n, h) = (ids.len().min(self.positions), self.hidden);
        let mut x = vec![0f32; n * h];
        for (t, &id) in ids.iter().take(n).enumerate() {
            let id = id as usize;
            if id >= self.vocab {
                return Err(candle_core::Error::Msg(format!(
                    "token {id} is outside the vocabulary of {}",
                    self.vocab
                )));
            }
            let row = &mut x[t * h..(t + 1) * h];
            self.word.add_row(id, row);
            self.position.add_row(t, row);
            self.token_type.add_row(0, row);
        }
        layer_norm(&mut x, &self.norm, self.eps);
        Ok(x)
    }

    /// The layers for token rows `at..at + x.len() / hidden` of the `n` of a text; with a
    /// `peer` computing the others, the keys and values are traded with it at each layer.
    /// None if `stop` is set before a layer.
    fn layers_of(
        &self,
        mut x: Vec<f32>,
        at: usize,
        n: usize,
        peer: Option<Peer>,
        stop: Option<&std::sync::atomic::AtomicBool>,
    ) -> Option<Vec<f32>> {
        let h = self.hidden;
        let mine = x.len() / h;
        let heads = self.heads;
        let mut q = vec![0f32; mine * h];
        let mut k = vec![0f32; mine * h];
        let mut v = vec![0f32; mine * h];
        let mut ctx = vec![0f32; mine * h];
        let mut tmp = vec![0f32; mine * h];
        for l in &self.layers {
            if stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
                return None;
            }
            matmul(&l.q, &x, &mut q);
            matmul(&l.k, &x, &mut k);
            matmul(&l.v, &x, &mut v);
            // Every token's keys and values, in order.
            let (keys, values) = match &peer {
                None => (k.clone(), v.clone()),
                Some((send, receive)) => {
                    // The peer stopped (it cannot, short of a panic): its rows are zeros, and
                    // its own failure is reported when it is joined.
                    let _ = send.send((k.clone(), v.clone()));
                    let (ok, ov) = receive
                        .recv()
                        .unwrap_or_else(|_| (vec![0.0; (n - mine) * h], vec![0.0; (n - mine) * h]));
                    if at == 0 {
                        ([&k[..], &ok[..]].concat(), [&v[..], &ov[..]].concat())
                    } else {
                        ([&ok[..], &k[..]].concat(), [&ov[..], &v[..]].concat())
                    }
                }
            };
            attend(&q, &keys, &values, heads, h, &mut ctx);
            matmul(&l.o, &ctx, &mut tmp);
            add(&mut x, &tmp);
            layer_norm(&mut x, &l.attn_norm, self.eps);
            let mut inter = vec![0f32; mine * l.up.out];
            matmul(&l.up, &x, &mut inter);
            activate(self.act, &mut inter);
            matmul(&l.down, &inter, &mut tmp);
            add(&mut x, &tmp);
            layer_norm(&mut x, &l.out_norm, self.eps);
        }
        Some(x)
    }
}

/// Self-attention of these query rows (`q`, some of the text's tokens, rows of `h` values:
/// `heads` heads one after another) over all the text's `keys` and `values`, into `ctx`.
/// The keys are transposed first, so that a query's scores against every key are sums of
/// whole rows (the processor's widest vectors, chosen when running) rather than one short
/// dot product per key: for a passage of 256 tokens those were a third of the time.
fn attend(q: &[f32], keys: &[f32], values: &[f32], heads: usize, h: usize, ctx: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            unsafe { attend_avx2(q, keys, values, heads, h, ctx) };
            return;
        }
    }
    attend_plain(q, keys, values, heads, h, ctx);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn attend_avx2(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    heads: usize,
    h: usize,
    ctx: &mut [f32],
) {
    attend_plain(q, keys, values, heads, h, ctx);
}

#[inline(always)]
fn attend_plain(q: &[f32], keys: &[f32], values: &[f32], heads: usize, h: usize, ctx: &mut [f32]) {
    let (mine, n, d) = (q.len() / h, keys.len() / h, h / heads);
    let scale = 1.0 / (d as f32).sqrt();
    // Column c of the keys as row c.
    let mut kt = vec![0f32; n * h];
    for (j, row) in keys.chunks_exact(h).enumerate() {
        for (c, &k) in row.iter().enumerate() {
            kt[c * n + j] = k;
        }
    }
    let mut scores = vec![0f32; n];
    for head in 0..heads {
        let part = head * d..(head + 1) * d;
        for i in 0..mine {
            scores.fill(0.0);
            for (c, &a) in part.clone().zip(&q[i * h..][part.clone()]) {
                for (s, k) in scores.iter_mut().zip(&kt[c * n..(c + 1) * n]) {
                    *s += a * k;
                }
            }
            for s in &mut scores {
                *s *= scale;
            }
            softmax(&mut scores);
            let c = &mut ctx[i * h..][part.clone()];
            c.fill(0.0);
            for (j, &p) in scores.iter().enumerate() {
                for (ci, vj) in c.iter_mut().zip(&values[j * h..][part.clone()]) {
                    *ci += p * vj;
                }
            }
        }
    }
}

/// The other thread of a text's layers: where this one's keys and values go, and where its
/// come from.
type Peer = (
    std::sync::mpsc::Sender<(Vec<f32>, Vec<f32>)>,
    std::sync::mpsc::Receiver<(Vec<f32>, Vec<f32>)>,
);

/// A text is shared between two threads from this many tokens per thread on (fewer: the
/// trading costs more than the half saved).
const ROWS_APART: usize = 4;

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

fn layer_norm(x: &mut [f32], n: &Norm, eps: f32) {
    let h = n.g.len();
    for row in x.chunks_mut(h) {
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for (i, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) * inv * n.g[i] + n.b[i];
        }
    }
}

fn softmax(s: &mut [f32]) {
    let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in s.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in s.iter_mut() {
        *v /= sum;
    }
}

fn activate(act: HiddenAct, xs: &mut [f32]) {
    match act {
        HiddenAct::Gelu => gelu(xs),
        HiddenAct::GeluApproximate => {
            let c = (2.0 / std::f32::consts::PI).sqrt();
            for x in xs {
                *x = 0.5 * *x * (1.0 + (c * (*x + 0.044715 * *x * *x * *x)).tanh());
            }
        }
        HiddenAct::Relu => {
            for x in xs {
                *x = x.max(0.0);
            }
        }
    }
}

/// GELU, `x (1 + erf(x / sqrt 2)) / 2`, for every value: most of a question's time outside
/// the matrix products was calls of `erff`, one value at a time. Here erf is a ratio of two
/// polynomials (within 1e-6 of it, tested), with no branch, so the loop runs on the
/// processor's widest vectors (AVX2 where it has them, chosen when running).
fn gelu(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            unsafe { gelu_avx2(xs) };
            return;
        }
    }
    gelu_plain(xs);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gelu_avx2(xs: &mut [f32]) {
    gelu_plain(xs);
}

#[inline(always)]
fn gelu_plain(xs: &mut [f32]) {
    for x in xs {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// The error function, as a ratio of an odd polynomial of degree 13 and an even one of
/// degree 8 on [-4, 4] (erf is 1 to single precision beyond), the monomial form used by
/// Eigen and XLA for single precision.
#[inline(always)]
fn erf(x: f32) -> f32 {
    const A: [f32; 7] = [
        -1.609_603_3e-2,
        -2.954_6e-3,
        -7.349_906_3e-4,
        -5.692_506_4e-5,
        -2.101_024e-6,
        2.770_681_4e-8,
        -2.726_142_3e-10,
    ];
    const B: [f32; 5] = [
        -1.426_474e-2,
        -7.373_329e-3,
        -1.682_827e-3,
        -2.133_740_6e-4,
        -1.456_607_2e-5,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = A[6];
    for a in A[..6].iter().rev() {
        p = p * x2 + a;
    }
    let mut q = B[4];
    for b in B[..4].iter().rev() {
        q = q * x2 + b;
    }
    x * p / q
}

fn plain_dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The widest instructions the processor has for the matrix products, chosen when running
/// (one binary serves every x86-64 machine).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Wide {
    /// 512-bit vectors: twice the multiply-adds per instruction (for the 16-bit weights; the
    /// 32-bit ones take the 256-bit path).
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// 256-bit fused multiply-adds and 16-bit float conversions.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// Nothing beyond the target's baseline.
    Portable,
}

impl Wide {
    /// Every path this processor can run, widest first.
    fn available() -> Vec<Wide> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            // Every processor with 512-bit vectors has the 256-bit features too (the 32-bit
            // weights take the 256-bit path there).
            if has!("avx2") && has!("fma") && has!("f16c") {
                if has!("avx512f") {
                    all.push(Wide::Avx512);
                }
                all.push(Wide::Avx2);
            }
        }
        all.push(Wide::Portable);
        all
    }

    fn widest() -> Wide {
        static WIDEST: std::sync::OnceLock<Wide> = std::sync::OnceLock::new();
        *WIDEST.get_or_init(|| Wide::available()[0])
    }
}

/// `y = x W^T + b` for the rows of `x`, with the widest instructions the processor has.
fn matmul(l: &Linear, x: &[f32], y: &mut [f32]) {
    matmul_with(Wide::widest(), l, x, y)
}

fn matmul_with(wide: Wide, l: &Linear, x: &[f32], y: &mut [f32]) {
    let (k, out, b) = (l.inp, l.out, &l.b[..]);
    match (wide, &l.w) {
        // SAFETY (each): `Wide::available` found the features the function is compiled for.
        #[cfg(target_arch = "x86_64")]
        (Wide::Avx512, Matrix::F16(w)) => unsafe { avx512::matmul_f16(w, b, k, out, x, y) },
        #[cfg(target_arch = "x86_64")]
        (Wide::Avx2, Matrix::F16(w)) => unsafe { avx2::matmul_f16(w, b, k, out, x, y) },
        #[cfg(target_arch = "x86_64")]
        (Wide::Avx512 | Wide::Avx2, Matrix::F32(w)) => unsafe { avx2::matmul(w, b, k, out, x, y) },
        _ => portable(l, x, y),
    }
}

/// The same without wider instructions than the target's baseline.
fn portable(l: &Linear, x: &[f32], y: &mut [f32]) {
    let (k, out) = (l.inp, l.out);
    let mut row = vec![0f32; k];
    for j in 0..out {
        let w: &[f32] = match &l.w {
            Matrix::F32(w) => &w[j * k..(j + 1) * k],
            Matrix::F16(w) => {
                for (r, h) in row.iter_mut().zip(&w[j * k..(j + 1) * k]) {
                    *r = h.to_f32();
                }
                &row
            }
        };
        for (xr, yr) in x.chunks_exact(k).zip(y.chunks_exact_mut(out)) {
            yr[j] = plain_dot(xr, w) + l.b[j];
        }
    }
}

/// Token rows that go through the weights together: a question's tokens are one group; a
/// passage of 256 is cut into groups (each weight row widened once per group) whose rows stay
/// in the core's nearest caches, rather than read again from farther away for every pair of
/// weight rows (kb's encoder on 300 passages: 12.5 -> 11.4 s; 16 and 32 rows did less).
const TOKEN_ROWS: usize = 24;

/// Weight rows asked of memory ahead of the pair being multiplied: the rows stream from
/// memory (a question's first pass reads 21 MB of them) while earlier ones are multiplied,
/// rather than each pair waiting for its own. A question's first forward pass in a `kb
/// search` process 5.21 -> 4.33 ms (median of 60, in-process timing; 8 and 32 rows did the
/// same).
const AHEAD: usize = 16;

/// The kernels of the 16-bit weights, the same for each vector width: inside a module that
/// defines `V` (a vector of `LANES` floats) and its `zero`, `load`, `fmadd`, `total` and
/// `widen` (`LANES` 16-bit floats to 32-bit), compiled for `$features`.
#[cfg(target_arch = "x86_64")]
macro_rules! kernels {
    ($features:literal) => {
        /// Token rows that share one pass over a weight row (each weight is read once for
        /// them).
        const ROWS: usize = 4;

        /// `y = x W^T + b` (W: `out` rows of `k` 16-bit floats): each pair of weight rows is
        /// widened once into a scratch row (in the core's first-level cache), then multiplied
        /// with every token.
        #[target_feature(enable = $features)]
        pub unsafe fn matmul_f16(
            lw: &[half::f16],
            lb: &[f32],
            k: usize,
            out: usize,
            x: &[f32],
            y: &mut [f32],
        ) {
            assert!(lw.len() == k * out && lb.len() == out);
            let mut scratch = vec![0f32; 2 * k];
            let n = x.len() / k;
            for t in (0..n).step_by(super::TOKEN_ROWS) {
                let rows = t..(t + super::TOKEN_ROWS).min(n);
                let (x, y) = (
                    &x[rows.start * k..rows.end * k],
                    &mut y[rows.start * out..rows.end * out],
                );
                let mut j = 0;
                while j < out {
                    let m = (out - j).min(2);
                    let w = &lw[j * k..(j + m) * k];
                    // The weight rows [`AHEAD`] on are asked of memory now (each row once).
                    let ahead = &lw[((j + super::AHEAD) * k).min(lw.len())
                        ..((j + super::AHEAD + m) * k).min(lw.len())];
                    let mut i = 0;
                    while i + LANES <= w.len() {
                        // SAFETY: i + LANES <= w.len() <= scratch.len().
                        unsafe { widen(w.as_ptr().add(i), scratch.as_mut_ptr().add(i)) };
                        i += LANES;
                    }
                    // One request per line of 64 bytes (32 weights).
                    for line in ahead.chunks(32) {
                        _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
                    }
                    for i in i..w.len() {
                        scratch[i] = w[i].to_f32();
                    }
                    // SAFETY: the processor has the features of this function.
                    unsafe { block(&scratch[..m * k], &lb[j..j + m], j, k, out, x, y) };
                    j += m;
                }
            }
        }

        /// Outputs `j..j + w.len() / k` of every token row of `x` from these weight rows
        /// (one or two): weight rows outside, token rows inside, so that every weight is read
        /// from memory once (the tokens stay in the core's cache); two weight rows and up to
        /// [`ROWS`] tokens at a time (eight independent sums in flight).
        #[target_feature(enable = $features)]
        unsafe fn block(
            w: &[f32],
            b: &[f32],
            j: usize,
            k: usize,
            out: usize,
            x: &[f32],
            y: &mut [f32],
        ) {
            let n = x.len() / k;
            assert!(y.len() >= n * out && w.len() == b.len() * k);
            if w.len() != 2 * k {
                for t in 0..n {
                    for (jj, bj) in b.iter().enumerate() {
                        // SAFETY: the processor has the features of this function.
                        let d = unsafe {
                            dots::<1, 1>(&w[jj * k..(jj + 1) * k], &x[t * k..(t + 1) * k])
                        };
                        y[t * out + j + jj] = d[0][0] + bj;
                    }
                }
                return;
            }
            let mut put = |t: usize, sums: [&[f32]; 2]| {
                for (jj, row) in sums.iter().enumerate() {
                    for (r, s) in row.iter().enumerate() {
                        y[(t + r) * out + j + jj] = s + b[jj];
                    }
                }
            };
            let mut t = 0;
            while t < n {
                let r = (n - t).min(ROWS);
                let rows = &x[t * k..(t + r) * k];
                // SAFETY (each): the processor has the features of this function.
                match r {
                    4 => {
                        let s = unsafe { dots::<2, 4>(w, rows) };
                        put(t, [&s[0], &s[1]]);
                    }
                    3 => {
                        let s = unsafe { dots::<2, 3>(w, rows) };
                        put(t, [&s[0], &s[1]]);
                    }
                    2 => {
                        let s = unsafe { dots::<2, 2>(w, rows) };
                        put(t, [&s[0], &s[1]]);
                    }
                    _ => {
                        let s = unsafe { dots::<2, 1>(w, rows) };
                        put(t, [&s[0], &s[1]]);
                    }
                }
                t += ROWS;
            }
        }

        /// Each of the `W` rows of `w` with each of the `R` rows of `x` (rows of one length,
        /// one after another).
        #[target_feature(enable = $features)]
        unsafe fn dots<const W: usize, const R: usize>(w: &[f32], x: &[f32]) -> [[f32; R]; W] {
            let k = w.len() / W;
            assert!(w.len() == W * k && x.len() == R * k);
            let (wp, xp) = (w.as_ptr(), x.as_ptr());
            let mut acc = [[zero(); R]; W];
            let mut i = 0;
            while i + LANES <= k {
                // SAFETY: i + LANES <= k; weight row jj is w[jj*k..], token row r is
                // x[r*k..] (asserted lengths).
                unsafe {
                    let mut wv = [zero(); W];
                    for (jj, v) in wv.iter_mut().enumerate() {
                        *v = load(wp.add(jj * k + i));
                    }
                    for r in 0..R {
                        let xv = load(xp.add(r * k + i));
                        for jj in 0..W {
                            acc[jj][r] = fmadd(xv, wv[jj], acc[jj][r]);
                        }
                    }
                }
                i += LANES;
            }
            let mut out = [[0f32; R]; W];
            for jj in 0..W {
                for r in 0..R {
                    out[jj][r] = total(acc[jj][r]);
                    for m in i..k {
                        out[jj][r] += x[r * k + m] * w[jj * k + m];
                    }
                }
            }
            out
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    type V = __m512;
    const LANES: usize = 16;

    #[target_feature(enable = "avx512f")]
    fn zero() -> V {
        _mm512_setzero_ps()
    }
    #[target_feature(enable = "avx512f")]
    unsafe fn load(p: *const f32) -> V {
        // SAFETY: the caller's: LANES floats at p.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[target_feature(enable = "avx512f")]
    fn fmadd(a: V, b: V, c: V) -> V {
        _mm512_fmadd_ps(a, b, c)
    }
    #[target_feature(enable = "avx512f")]
    fn total(v: V) -> f32 {
        _mm512_reduce_add_ps(v)
    }
    #[target_feature(enable = "avx512f")]
    unsafe fn widen(from: *const half::f16, to: *mut f32) {
        // SAFETY: the caller's: LANES values at each.
        unsafe { _mm512_storeu_ps(to, _mm512_cvtph_ps(_mm256_loadu_si256(from.cast()))) }
    }

    kernels!("avx512f");
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    type V = __m256;
    const LANES: usize = 8;

    #[target_feature(enable = "avx2,fma,f16c")]
    fn zero() -> V {
        _mm256_setzero_ps()
    }
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load(p: *const f32) -> V {
        // SAFETY: the caller's: LANES floats at p.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[target_feature(enable = "avx2,fma,f16c")]
    fn fmadd(a: V, b: V, c: V) -> V {
        _mm256_fmadd_ps(a, b, c)
    }
    #[target_feature(enable = "avx2,fma,f16c")]
    fn total(v: V) -> f32 {
        let pair = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let pair = _mm_add_ps(pair, _mm_movehl_ps(pair, pair));
        _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)))
    }
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn widen(from: *const half::f16, to: *mut f32) {
        // SAFETY: the caller's: LANES values at each.
        unsafe { _mm256_storeu_ps(to, _mm256_cvtph_ps(_mm_loadu_si128(from.cast()))) }
    }

    kernels!("avx2,fma,f16c");

    /// `y = x W^T + b` with the weights in 32-bit floats (the model's own file): the same
    /// kernel as the 16-bit weights, without widening.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn matmul(lw: &[f32], lb: &[f32], k: usize, out: usize, x: &[f32], y: &mut [f32]) {
        assert!(lw.len() == k * out && lb.len() == out);
        let mut j = 0;
        while j < out {
            let m = (out - j).min(2);
            // SAFETY: the processor has the features of this function.
            unsafe { block(&lw[j * k..(j + m) * k], &lb[j..j + m], j, k, out, x, y) };
            j += m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};
    use candle_transformers::models::bert::BertModel;
    use std::collections::HashMap;

    /// A small BERT with pseudo-random weights whose sizes are not multiples of the vector
    /// width (the kernels' remainders run too).
    fn model(act: &str) -> (Config, HashMap<String, Tensor>) {
        let config: Config = serde_json::from_value(serde_json::json!({
            "vocab_size": 50, "hidden_size": 20, "num_hidden_layers": 2,
            "num_attention_heads": 4, "intermediate_size": 36, "hidden_act": act,
            "hidden_dropout_prob": 0.0, "max_position_embeddings": 16, "type_vocab_size": 2,
            "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
            "model_type": "bert"
        }))
        .unwrap();
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 0.8
        };
        let mut tensors = HashMap::new();
        let mut put = |name: String, shape: Vec<usize>| {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n).map(|_| next()).collect();
            tensors.insert(name, Tensor::from_vec(v, shape, &Device::Cpu).unwrap());
        };
        let (h, i) = (20, 36);
        put("embeddings.word_embeddings.weight".into(), vec![50, h]);
        put("embeddings.position_embeddings.weight".into(), vec![16, h]);
        put("embeddings.token_type_embeddings.weight".into(), vec![2, h]);
        let mut norms = vec!["embeddings".to_string()];
        for l in 0..2 {
            let p = format!("encoder.layer.{l}");
            for (name, out, inp) in [
                ("attention.self.query", h, h),
                ("attention.self.key", h, h),
                ("attention.self.value", h, h),
                ("attention.output.dense", h, h),
                ("intermediate.dense", i, h),
                ("output.dense", h, i),
            ] {
                put(format!("{p}.{name}.weight"), vec![out, inp]);
                put(format!("{p}.{name}.bias"), vec![out]);
            }
            norms.push(format!("{p}.attention.output"));
            norms.push(format!("{p}.output"));
        }
        for n in norms {
            put(format!("{n}.LayerNorm.weight"), vec![h]);
            put(format!("{n}.LayerNorm.bias"), vec![h]);
        }
        (config, tensors)
    }

    #[test]
    fn same_vectors_as_candle() {
        for act in ["gelu", "geluapproximate", "relu"] {
            let (config, tensors) = model(act);
            let vb = || VarBuilder::from_tensors(tensors.clone(), DType::F32, &Device::Cpu);
            let ours = Encoder::load(Source::copied(vb()), &config).unwrap();
            let bert = BertModel::load(vb(), &config).unwrap();
            // 1 to 9 tokens: fewer than, exactly and more than the rows that share a pass.
            for n in 1..=9u32 {
                let ids: Vec<u32> = (0..n).map(|t| (t * 7 + 3) % 50).collect();
                let mine = ours.forward_on(&ids, true).unwrap();
                let t = Tensor::new(ids.as_slice(), &Device::Cpu)
                    .unwrap()
                    .unsqueeze(0)
                    .unwrap();
                let theirs: Vec<f32> = bert
                    .forward(&t, &t.zeros_like().unwrap(), None)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap();
                assert_eq!(mine.len(), theirs.len());
                let drift = mine
                    .iter()
                    .zip(&theirs)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(drift < 1e-4, "{act}, {n} tokens: differs by {drift}");
            }
        }
    }

    #[test]
    fn weights_read_in_place_give_the_same_vectors() {
        let (config, tensors) = model("gelu");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        candle_core::safetensors::save(&tensors, &path).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let map = Arc::new(unsafe { memmap2::Mmap::map(&file) }.unwrap());
        let vb = || VarBuilder::from_tensors(tensors.clone(), DType::F32, &Device::Cpu);
        let mapped = Encoder::load(Source::mapped(vb(), map), &config).unwrap();
        assert!(matches!(mapped.word, Matrix::F32(Stored::Mapped { .. })));
        assert!(matches!(
            mapped.layers[1].down.w,
            Matrix::F32(Stored::Mapped { .. })
        ));
        let copied = Encoder::load(Source::copied(vb()), &config).unwrap();
        assert!(matches!(copied.word, Matrix::F32(Stored::Owned(_))));
        let ids = [3, 9, 27, 4, 1];
        assert_eq!(
            mapped.forward_on(&ids, true).unwrap(),
            copied.forward_on(&ids, true).unwrap()
        );
    }

    #[test]
    fn the_wide_products_equal_the_portable_ones() {
        // Even and odd numbers of weight rows, lengths below, at and above the vector width.
        for (out, inp) in [(36, 20), (7, 13), (1, 8), (5, 3)] {
            let v = |n: usize, m: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i * m % 101) as f32 - 50.0) / 50.0)
                    .collect()
            };
            let wide = Linear {
                w: Matrix::F32(Floats::Owned(v(out * inp, 37))),
                b: Floats::Owned(v(out, 11)),
                out,
                inp,
            };
            let half = Linear {
                w: Matrix::F32(Floats::Owned(v(out * inp, 37))).halved(),
                b: Floats::Owned(v(out, 11)),
                out,
                inp,
            };
            for l in [wide, half] {
                for n in 1..=9 {
                    let x = v(n * inp, 53);
                    let mut want = vec![0f32; n * out];
                    portable(&l, &x, &mut want);
                    for path in Wide::available() {
                        let mut got = vec![0f32; n * out];
                        matmul_with(path, &l, &x, &mut got);
                        for (p, q) in got.iter().zip(&want) {
                            assert!(
                                (p - q).abs() < 1e-4,
                                "{path:?}, {out}x{inp}, {n} rows: {p} vs {q}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn kbs_16_bit_copy_gives_nearly_the_same_vectors() {
        let (config, tensors) = model("gelu");
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let full = Encoder::load(Source::copied(vb), &config).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.safetensors");
        super::super::compact::write(&path, 5, full.to_compact().unwrap(), None).unwrap();
        let copy = Compact::open(&path, 5).unwrap();
        let small = Encoder::from_compact(&copy, &config).unwrap();
        assert!(small.to_compact().is_none(), "a copy is not copied again");
        assert!(matches!(
            small.layers[0].q.w,
            Matrix::F16(Stored::Mapped { .. })
        ));
        let mut other = config.clone();
        other.hidden_size += 4;
        assert!(
            Encoder::from_compact(&copy, &other).is_none(),
            "another shape"
        );
        // The same weights halved in memory.
        let halved = Encoder::load(
            Source::copied(VarBuilder::from_tensors(
                model("gelu").1,
                DType::F32,
                &Device::Cpu,
            )),
            &config,
        )
        .unwrap()
        .halved();
        for n in [1usize, 5, 9] {
            let ids: Vec<u32> = (0..n as u32).map(|t| (t * 11 + 2) % 50).collect();
            let (a, b) = (
                full.forward_on(&ids, true).unwrap(),
                small.forward_on(&ids, true).unwrap(),
            );
            let cos = a.iter().zip(&b).map(|(x, y)| x * y).sum::<f32>()
                / (a.iter().map(|x| x * x).sum::<f32>().sqrt()
                    * b.iter().map(|x| x * x).sum::<f32>().sqrt());
            assert!(cos > 0.9999, "{n} tokens: cosine {cos}");
            // The same in memory as read from the file.
            assert_eq!(halved.forward_on(&ids, true).unwrap(), b);
        }
    }

    #[test]
    fn two_threads_give_the_same_numbers_as_one() {
        let (config, tensors) = model("gelu");
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let ours = Encoder::load(Source::copied(vb), &config).unwrap();
        // Below and from the length that is shared between two threads, even and odd.
        for n in [7u32, 8, 9, 13, 16] {
            let ids: Vec<u32> = (0..n).map(|t| (t * 13 + 5) % 50).collect();
            let one = ours
                .layers_of(ours.tokens(&ids).unwrap(), 0, n as usize, None, None)
                .unwrap();
            assert_eq!(ours.forward_on(&ids, true).unwrap(), one, "{n} tokens");
            assert_eq!(ours.forward_on(&ids, false).unwrap(), one, "{n} tokens");
        }
    }

    #[test]
    fn a_question_no_longer_wanted_is_given_up_and_one_wanted_is_the_same() {
        use std::sync::atomic::AtomicBool;
        let (config, tensors) = model("gelu");
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let ours = Encoder::load(Source::copied(vb), &config).unwrap();
        let ids: Vec<u32> = (0..9).map(|t| (t * 7 + 3) % 50).collect();
        let wanted = ours.forward_unless(&ids, &AtomicBool::new(false)).unwrap();
        assert_eq!(wanted, Some(ours.forward_on(&ids, false).unwrap()));
        assert_eq!(
            ours.forward_unless(&ids, &AtomicBool::new(true)).unwrap(),
            None
        );
    }

    #[test]
    fn erf_is_within_a_millionth_of_libms() {
        let mut worst = 0f64;
        for i in -600_000..=600_000 {
            let x = i as f32 / 100_000.0;
            let e = (erf(x) as f64 - libm::erf(x as f64)).abs();
            worst = worst.max(e);
        }
        assert!(worst < 1e-6, "{worst}");
        for x in [f32::INFINITY, 50.0, -50.0, f32::NEG_INFINITY] {
            assert!((erf(x) - x.signum()).abs() < 1e-6, "{x}");
        }
        let mut xs: Vec<f32> = (-2000..2000).map(|i| i as f32 / 250.0).collect();
        let want: Vec<f32> = xs
            .iter()
            .map(|&x| 0.5 * x * (1.0 + libm::erff(x / std::f32::consts::SQRT_2)))
            .collect();
        gelu(&mut xs);
        for (g, w) in xs.iter().zip(&want) {
            assert!((g - w).abs() < 4e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn a_token_outside_the_vocabulary_is_an_error() {
        let (config, tensors) = model("gelu");
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let ours = Encoder::load(Source::copied(vb), &config).unwrap();
        assert!(ours.forward_on(&[3, 50], true).is_err());
        assert!(ours.forward_on(&[], true).unwrap().is_empty());
    }
}
