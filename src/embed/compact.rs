//! kb's copy of a model as a question reads it: the encoder's matrices in 16-bit floats (half
//! the bytes to bring from memory for every question; the vectors and norms stay 32-bit) and
//! the vocabulary as a sorted table with the tokenizer's settings ([`super::wordpiece`]).
//! One safetensors file per model in the user's cache folder (`kb/models/`), named after the
//! model's fingerprint, written whole and renamed into place the first time the model is
//! loaded; disposable like the index (deleted, it is written again).
//!
//! Reading a question with the model's own files took a `kb search` 20-25 ms more than by
//! words alone at 10,000 notes: 8-12 ms building the tokenizer's maps, 10-12 ms bringing 43 MB
//! of 32-bit weights into memory (measured). With this file both are mapped in place.
//!
//! The file is only ever replaced by a rename, never written in place, so it is read in
//! place by every process, long-running ones too.

use super::wordpiece::Settings;
use safetensors::tensor::{Dtype, Metadata, TensorView};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Types read in place from a file's bytes (any bit pattern is a value).
///
/// # Safety
/// Implemented only for plain numbers: every bit pattern of their size is valid.
pub unsafe trait Plain: Copy + 'static {}
// SAFETY: plain numbers.
unsafe impl Plain for f32 {}
// SAFETY: plain numbers.
unsafe impl Plain for u32 {}
// SAFETY: plain numbers.
unsafe impl Plain for u8 {}
// SAFETY: a 16-bit float is any 16 bits.
unsafe impl Plain for half::f16 {}

/// A tensor's values: owned, or in place in a mapped file.
pub enum Stored<T: Plain> {
    Owned(Vec<T>),
    Mapped {
        map: Arc<memmap2::Mmap>,
        start: usize,
        len: usize,
    },
}

impl<T: Plain> Stored<T> {
    /// `len` values at byte `start` of `map`, when they lie inside it, aligned.
    pub fn mapped(map: &Arc<memmap2::Mmap>, start: usize, len: usize) -> Option<Stored<T>> {
        let bytes = len.checked_mul(std::mem::size_of::<T>())?;
        let end = start.checked_add(bytes)?;
        (cfg!(target_endian = "little")
            && end <= map.len()
            && (map.as_ptr() as usize + start).is_multiple_of(std::mem::align_of::<T>()))
        .then(|| Stored::Mapped {
            map: map.clone(),
            start,
            len,
        })
    }
}

impl<T: Plain> Stored<T> {
    /// Values in place in a file: their pages mapped now ([`populate`]). Nothing to do for
    /// values in memory.
    pub fn prefetch(&self) {
        let Stored::Mapped { map, start, len } = self else {
            return;
        };
        populate(map, *start..start + len * std::mem::size_of::<T>());
    }
}

/// Have the system map the pages of `bytes` of `map` now, in one go, rather than one fault at
/// a time as they are first read: Linux's `MADV_POPULATE_READ`; where the system has no such
/// advice (or refuses it), a read of a byte of each page.
pub fn populate(map: &memmap2::Mmap, bytes: std::ops::Range<usize>) {
    const PAGE: usize = 4096;
    let (from, end) = (bytes.start / PAGE * PAGE, bytes.end.min(map.len()));
    if from >= end {
        return;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if map
        .advise_range(memmap2::Advice::PopulateRead, from, end - from)
        .is_ok()
    {
        return;
    }
    let mut sum = 0u8;
    for at in (from..end).step_by(PAGE) {
        sum = sum.wrapping_add(map[at]);
    }
    std::hint::black_box(sum);
}

impl<T: Plain> std::ops::Deref for Stored<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Stored::Owned(v) => v,
            // SAFETY: `start..start + len * size_of::<T>()` lies inside the map and is
            // aligned for T (checked by `Stored::mapped`), T is a plain number stored
            // little-endian on a little-endian machine, and the map lives as long as this
            // value.
            Stored::Mapped { map, start, len } => unsafe {
                std::slice::from_raw_parts(map.as_ptr().add(*start).cast::<T>(), *len)
            },
        }
    }
}

/// A vocabulary: its words sorted by their bytes, each with its id.
pub struct Table {
    /// The words one after another.
    text: Stored<u8>,
    /// Per word, in order: its offset and length in `text`, and its id.
    rows: Stored<u32>,
}

impl Table {
    /// The table of these words and ids.
    pub fn of(words: impl IntoIterator<Item = (String, u32)>) -> Table {
        let mut words: Vec<(String, u32)> = words.into_iter().collect();
        words.sort();
        let mut text = Vec::new();
        let mut rows = Vec::with_capacity(words.len() * 3);
        for (w, id) in &words {
            rows.extend([text.len() as u32, w.len() as u32, *id]);
            text.extend_from_slice(w.as_bytes());
        }
        Table {
            text: Stored::Owned(text),
            rows: Stored::Owned(rows),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len() / 3
    }

    fn word(&self, i: usize) -> &[u8] {
        let (at, len) = (self.rows[3 * i] as usize, self.rows[3 * i + 1] as usize);
        self.text.get(at..at + len).unwrap_or_default()
    }

    /// The id of `word`.
    pub fn id(&self, word: &str) -> Option<u32> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.word(mid).cmp(word.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(self.rows[3 * mid + 2]),
            }
        }
        None
    }

    /// Whether its words are in order and inside the text (a table read from a file).
    fn whole(&self) -> bool {
        self.rows.len().is_multiple_of(3)
            && (0..self.len()).all(|i| {
                let (at, len) = (self.rows[3 * i] as usize, self.rows[3 * i + 1] as usize);
                at.checked_add(len)
                    .is_some_and(|end| end <= self.text.len())
            })
            && (1..self.len()).all(|i| self.word(i - 1) < self.word(i))
    }
}

/// One tensor to write: 32-bit floats kept as they are, or stored as 16-bit.
pub enum Tensor<'a> {
    F32(&'a [f32], Vec<usize>),
    F16(&'a [f32], Vec<usize>),
}

/// What the file says of itself (its safetensors metadata, `kb`).
#[derive(serde::Serialize, serde::Deserialize)]
struct About {
    format: u32,
    fingerprint: String,
    words: Option<Settings>,
}

const FORMAT: u32 = 1;

/// Where kb keeps its copy of the model with this fingerprint: the user's cache folder
/// (None without one: nothing is written elsewhere, a shared temporary folder included).
pub fn path(fingerprint: u64) -> Option<PathBuf> {
    Some(
        dirs::cache_dir()?
            .join("kb")
            .join("models")
            .join(format!("{fingerprint:016x}.safetensors")),
    )
}

/// Write the copy at `path`: a temporary file beside it, renamed into place.
pub fn write(
    path: &Path,
    fingerprint: u64,
    tensors: Vec<(String, Tensor)>,
    words: Option<(&Settings, &Table)>,
) -> std::io::Result<()> {
    let invalid = |e: safetensors::SafeTensorError| std::io::Error::other(e.to_string());
    let mut bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, t)| match t {
            Tensor::F32(v, shape) => (
                name,
                Dtype::F32,
                shape,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Tensor::F16(v, shape) => (
                name,
                Dtype::F16,
                shape,
                v.iter()
                    .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                    .collect(),
            ),
        })
        .collect();
    if let Some((_, table)) = words {
        let rows: Vec<u8> = table.rows.iter().flat_map(|x| x.to_le_bytes()).collect();
        bytes.push(("vocab.rows".into(), Dtype::U32, vec![table.len(), 3], rows));
        bytes.push((
            "vocab.text".into(),
            Dtype::U8,
            vec![table.text.len()],
            table.text.to_vec(),
        ));
    }
    let about = About {
        format: FORMAT,
        fingerprint: format!("{fingerprint:016x}"),
        words: words.map(|(s, _)| s.clone()),
    };
    let info = HashMap::from([(
        "kb".to_string(),
        serde_json::to_string(&about).map_err(std::io::Error::other)?,
    )]);
    let views = bytes
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    safetensors::serialize_to_file(views, Some(info), tmp.path()).map_err(invalid)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// kb's copy of a model, mapped.
pub struct Compact {
    map: Arc<memmap2::Mmap>,
    meta: Metadata,
    data: usize,
    words: Option<Settings>,
}

impl Compact {
    /// The copy at `path` of the model with this fingerprint; None when there is none, it is
    /// another model's or another format's, or it is not whole.
    pub fn open(path: &Path, fingerprint: u64) -> Option<Compact> {
        let file = std::fs::File::open(path).ok()?;
        // SAFETY: kb's own file, only ever replaced by a rename, never written in place.
        let map = Arc::new(unsafe { memmap2::Mmap::map(&file) }.ok()?);
        let (n, meta) = safetensors::SafeTensors::read_metadata(&map[..]).ok()?;
        let about: About = serde_json::from_str(meta.metadata().as_ref()?.get("kb")?).ok()?;
        if about.format != FORMAT || about.fingerprint != format!("{fingerprint:016x}") {
            return None;
        }
        let data = 8 + n;
        let end = meta
            .tensors()
            .values()
            .map(|t| t.data_offsets.1)
            .max()
            .unwrap_or(0);
        if data.checked_add(end)? > map.len() {
            return None;
        }
        Some(Compact {
            map,
            meta,
            data,
            words: about.words,
        })
    }

    fn tensor<T: Plain>(&self, name: &str, dtype: Dtype, shape: &[usize]) -> Option<Stored<T>> {
        let info = self.meta.info(name)?;
        let (from, to) = info.data_offsets;
        let len = shape.iter().product::<usize>();
        if info.dtype != dtype
            || info.shape != shape
            || to.checked_sub(from) != Some(len * std::mem::size_of::<T>())
        {
            return None;
        }
        Stored::mapped(&self.map, self.data + from, len)
    }

    /// A tensor of 32-bit floats of this shape.
    pub fn floats(&self, name: &str, shape: &[usize]) -> Option<Stored<f32>> {
        self.tensor(name, Dtype::F32, shape)
    }

    /// A tensor of 16-bit floats of this shape.
    pub fn halves(&self, name: &str, shape: &[usize]) -> Option<Stored<half::f16>> {
        self.tensor(name, Dtype::F16, shape)
    }

    /// The tokenizer's settings and vocabulary, when the model's tokenizer is one
    /// [`super::wordpiece::Words`] reads.
    pub fn words(&self) -> Option<super::wordpiece::Words> {
        let settings = self.words.clone()?;
        let rows = self.meta.info("vocab.rows")?;
        let text = self.meta.info("vocab.text")?;
        let n = rows.shape.first().copied()?;
        let table = Table {
            rows: self.tensor("vocab.rows", Dtype::U32, &[n, 3])?,
            text: self.tensor("vocab.text", Dtype::U8, &[text.shape.first().copied()?])?,
        };
        table
            .whole()
            .then_some(super::wordpiece::Words { settings, table })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_finds_every_word_and_no_other() {
        let t = Table::of([
            ("b".into(), 2),
            ("##ing".into(), 7),
            ("é".into(), 9),
            ("a".into(), 1),
        ]);
        assert_eq!(t.id("a"), Some(1));
        assert_eq!(t.id("##ing"), Some(7));
        assert_eq!(t.id("é"), Some(9));
        assert_eq!(t.id("c"), None);
        assert_eq!(t.id(""), None);
        assert!(t.whole());
    }

    #[test]
    fn the_copy_is_read_back_and_refused_for_another_model_or_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let w = [0.5f32, -1.25, 3.0, 1e-3, 65504.0, 0.1];
        let b = [0.1f32, 0.2];
        let table = Table::of([("x".into(), 0), ("y".into(), 1)]);
        let settings = Settings {
            clean_text: true,
            chinese_chars: true,
            strip_accents: true,
            lowercase: true,
            max_chars: 100,
            prefix: "##".into(),
            unk: 0,
            first: 1,
            last: 1,
            specials: vec![],
        };
        write(
            &path,
            7,
            vec![
                ("w".into(), Tensor::F16(&w, vec![2, 3])),
                ("b".into(), Tensor::F32(&b, vec![2])),
            ],
            Some((&settings, &table)),
        )
        .unwrap();
        assert!(Compact::open(&path, 8).is_none(), "another model's copy");
        let c = Compact::open(&path, 7).unwrap();
        let halves = c.halves("w", &[2, 3]).unwrap();
        let back: Vec<f32> = halves.iter().map(|h| h.to_f32()).collect();
        for (x, y) in w.iter().zip(&back) {
            assert!((x - y).abs() <= x.abs() * 1e-3, "{x} {y}");
        }
        assert_eq!(&c.floats("b", &[2]).unwrap()[..], &b);
        assert!(c.floats("w", &[2, 3]).is_none(), "16-bit, not 32");
        assert!(c.halves("w", &[3, 2]).is_none(), "another shape");
        let words = c.words().unwrap();
        assert_eq!(words.settings, settings);
        assert_eq!(words.table.id("y"), Some(1));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        assert!(Compact::open(&path, 7).is_none(), "a cut file");
    }
}
