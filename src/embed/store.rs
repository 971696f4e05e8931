//! The notes' vectors, one file beside the index (`embeddings.bin` in kb's folder of the
//! vault): disposable like the index, replaced whole by a rename (never written in place, so a
//! search maps it safely while `kb index` writes the next one).
//!
//! Each passage's vector is kept as signed bytes with its own scale (a quarter of the size of
//! 32-bit floats; the cosine of two such vectors is within about 1% of the exact one), and
//! compared as bytes: at 100,000 notes a search reads tens of megabytes, not hundreds.
//!
//! Layout, little-endian: a header (magic, model fingerprint, dimensions, notes, passages),
//! a table of notes sorted by path (name offset and length, content hash, first passage,
//! passages), the passages' scales (f32), their vectors (i8 × dimensions), then the names.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The share of a note's similarity that is its first passage's ([`Embeddings::score`]);
/// chosen on the development sets (bench/EVAL.md): the best passage alone found the right
/// note first for fewer questions in people's own words.
const HEAD_SHARE: f32 = 0.5;

const MAGIC: &[u8; 8] = b"KBVEC001";
const HEADER: usize = 32;
const ENTRY: usize = 24;
pub const FILE: &str = "embeddings.bin";

/// One passage's vector as stored: bytes and the scale that turns them back into floats.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub scale: f32,
    pub bytes: Vec<i8>,
}

impl Packed {
    /// A unit vector quantised to bytes (largest component to ±127).
    pub fn of(v: &[f32]) -> Packed {
        let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        Packed {
            scale,
            bytes: v
                .iter()
                .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8)
                .collect(),
        }
    }
}

/// A query vector ready to compare with stored passages.
pub struct Probe(Packed);

impl Probe {
    pub fn new(v: &[f32]) -> Probe {
        Probe(Packed::of(v))
    }
}

/// The dot product of two byte vectors (exact: components are within ±127).
fn dot(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { dot_avx2(a, b) };
        }
    }
    plain_dot(a, b)
}

/// The dot products of `q` with each row of `q.len()` bytes of `rows`: one call for all the
/// vectors of a vault (one per passage, one after another in the file).
fn dots(rows: &[i8], q: &[i8]) -> Vec<i32> {
    if q.is_empty() {
        return Vec::new();
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { dots_avx2(rows, q) };
        }
    }
    rows.chunks_exact(q.len())
        .map(|r| plain_dot(r, q))
        .collect()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dots_avx2(rows: &[i8], q: &[i8]) -> Vec<i32> {
    rows.chunks_exact(q.len())
        // SAFETY: the processor has AVX2 (this function's feature).
        .map(|r| unsafe { dot_avx2(r, q) })
        .collect()
}

fn plain_dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
}

/// 32 byte products at a time: |a| times b with a's sign (one operand of `maddubs` is
/// unsigned), pairs summed to 16 bits (at most 2 x 127 x 127, no saturation), then to 32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn dot_avx2(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let ones = _mm256_set1_epi16(1);
    let mut acc = _mm256_setzero_si256();
    let mut i = 0;
    while i + 32 <= n {
        // SAFETY: i + 32 <= n, the length of both.
        let (x, y) = unsafe {
            (
                _mm256_loadu_si256(a.as_ptr().add(i).cast()),
                _mm256_loadu_si256(b.as_ptr().add(i).cast()),
            )
        };
        let pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
        i += 32;
    }
    let mut lanes = [0i32; 8];
    // SAFETY: eight i32 fit the 256 bits stored.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
    lanes.iter().sum::<i32>() + plain_dot(&a[i..n], &b[i..n])
}

/// The vectors of one vault, mapped from disk.
pub struct Embeddings {
    map: memmap2::Mmap,
    dim: usize,
    notes: usize,
    passages: usize,
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default()) as usize
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

impl Embeddings {
    /// The vectors in `dir` made by the model with this fingerprint; None when there are none,
    /// they are another model's, or the file is not whole.
    pub fn open(dir: &Path, fingerprint: u64) -> Option<Embeddings> {
        Embeddings::open_any(dir).and_then(|e| e.of_model(fingerprint))
    }

    /// The vectors in `dir`, whichever model made them ([`Embeddings::of_model`] checks it
    /// later: a search opens them while its question is still being read).
    ///
    /// Only the sizes of the header are checked here (at once, whatever the number of
    /// notes); a note's entry that points outside the file or at a name that is not UTF-8,
    /// in a file kb did not write whole (or did not write), reads as a note without vectors
    /// or name where it is used.
    pub fn open_any(dir: &Path) -> Option<Embeddings> {
        let file = std::fs::File::open(dir.join(FILE)).ok()?;
        // SAFETY: the file is only ever replaced by a rename, never written in place, so the
        // mapped bytes do not change under the map.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        if map.len() < HEADER || &map[..8] != MAGIC {
            return None;
        }
        let (dim, notes, passages) = (u32_at(&map, 16), u32_at(&map, 20), u32_at(&map, 24));
        let fixed = notes
            .checked_mul(ENTRY)
            .and_then(|t| passages.checked_mul(dim + 4).and_then(|p| p.checked_add(t)))
            .and_then(|n| n.checked_add(HEADER))?;
        if dim == 0 || fixed > map.len() {
            return None;
        }
        Some(Embeddings {
            map,
            dim,
            notes,
            passages,
        })
    }

    /// These vectors if the model with this fingerprint made them.
    pub fn of_model(self, fingerprint: u64) -> Option<Embeddings> {
        (u64_at(&self.map, 8) == fingerprint).then_some(self)
    }

    /// Have the file's pages mapped now ([`super::compact::populate`]): a search compares
    /// the question with every vector, and does this while the question is still being read.
    pub fn prefetch(&self) {
        super::compact::populate(&self.map, 0..self.map.len());
    }

    fn entry(&self, i: usize) -> usize {
        HEADER + i * ENTRY
    }
    fn scales_at(&self) -> usize {
        HEADER + self.notes * ENTRY
    }
    fn vectors_at(&self) -> usize {
        self.scales_at() + self.passages * 4
    }
    fn names_at(&self) -> usize {
        self.vectors_at() + self.passages * self.dim
    }

    /// Notes with vectors.
    pub fn len(&self) -> usize {
        self.notes
    }

    pub fn is_empty(&self) -> bool {
        self.notes == 0
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The path of note `i` (empty if the file does not hold it whole).
    pub fn rel(&self, i: usize) -> &str {
        let at = self.entry(i);
        let (off, len) = (u32_at(&self.map, at), u32_at(&self.map, at + 4));
        let start = self.names_at().saturating_add(off);
        self.map
            .get(start..start.saturating_add(len))
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// The hash of the bytes note `i` was embedded from.
    pub fn hash(&self, i: usize) -> u64 {
        u64_at(&self.map, self.entry(i) + 8)
    }

    /// The passages of note `i` (none if they lie outside the file's).
    fn passages_of(&self, i: usize) -> std::ops::Range<usize> {
        let first = u32_at(&self.map, self.entry(i) + 16);
        let count = u32_at(&self.map, self.entry(i) + 20);
        match first.checked_add(count) {
            Some(end) if end <= self.passages => first..end,
            _ => 0..0,
        }
    }

    /// The note at `rel`, if it has vectors.
    pub fn find(&self, rel: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.notes);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.rel(mid).cmp(rel) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    fn scale(&self, p: usize) -> f32 {
        let at = self.scales_at() + p * 4;
        f32::from_le_bytes(self.map[at..at + 4].try_into().unwrap_or_default())
    }

    fn bytes(&self, p: usize) -> &[i8] {
        let at = self.vectors_at() + p * self.dim;
        let b = &self.map[at..at + self.dim];
        // SAFETY: i8 and u8 have the same size and alignment; every bit pattern is valid.
        unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<i8>(), b.len()) }
    }

    /// The passages of note `i`, as stored.
    pub fn packed(&self, i: usize) -> Vec<Packed> {
        self.passages_of(i)
            .map(|p| Packed {
                scale: self.scale(p),
                bytes: self.bytes(p).to_vec(),
            })
            .collect()
    }

    /// How near the query is to note `i`: the cosine to its best passage, averaged with the
    /// cosine to its first (the title and the problem as stated): a long note is not found
    /// by one stray paragraph alone.
    pub fn score(&self, i: usize, q: &Probe) -> f32 {
        if q.0.bytes.len() != self.dim {
            return 0.0;
        }
        self.combined(i, |p| {
            dot(self.bytes(p), &q.0.bytes) as f32 * self.scale(p) * q.0.scale
        })
    }

    /// Note `i`'s similarity from its passages' cosines ([`Embeddings::score`]).
    fn combined(&self, i: usize, cos: impl Fn(usize) -> f32) -> f32 {
        let mut passages = self.passages_of(i);
        let Some(first) = passages.next() else {
            return 0.0;
        };
        let head = cos(first);
        let best = passages.map(cos).fold(head, f32::max);
        (1.0 - HEAD_SHARE) * best + HEAD_SHARE * head
    }

    /// The `k` notes nearest the query (by their best passage), nearest first.
    pub fn nearest(&self, q: &Probe, k: usize) -> Vec<(usize, f32)> {
        if q.0.bytes.len() != self.dim {
            return Vec::new();
        }
        let at = self.vectors_at();
        let rows = &self.map[at..at + self.passages * self.dim];
        // SAFETY: i8 and u8 have the same size and alignment; every bit pattern is valid.
        let rows = unsafe { std::slice::from_raw_parts(rows.as_ptr().cast::<i8>(), rows.len()) };
        let dots = dots(rows, &q.0.bytes);
        let cos = |p: usize| dots[p] as f32 * self.scale(p) * q.0.scale;
        let mut all: Vec<(usize, f32)> = (0..self.notes)
            .map(|i| (i, self.combined(i, cos)))
            .collect();
        let k = k.min(all.len());
        if k == 0 {
            return Vec::new();
        }
        all.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        all.truncate(k);
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all
    }
}

/// The vectors of a vault's notes, to write.
#[derive(Default)]
pub struct Builder {
    notes: Vec<(String, u64, Vec<Packed>)>,
}

impl Builder {
    pub fn add(&mut self, rel: String, hash: u64, passages: Vec<Packed>) {
        self.notes.push((rel, hash, passages));
    }

    pub fn len(&self) -> usize {
        self.notes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// Write the file in `dir` for the model `fingerprint` (vectors of `dim`): a temporary
    /// file renamed over the old one.
    pub fn write(&mut self, dir: &Path, fingerprint: u64, dim: usize) -> std::io::Result<PathBuf> {
        self.notes.sort_by(|a, b| a.0.cmp(&b.0));
        self.notes.dedup_by(|a, b| a.0 == b.0);
        self.notes
            .retain(|(_, _, ps)| ps.iter().all(|p| p.bytes.len() == dim));
        let passages: usize = self.notes.iter().map(|n| n.2.len()).sum();
        let mut out =
            Vec::with_capacity(HEADER + self.notes.len() * (ENTRY + 40) + passages * (4 + dim));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&fingerprint.to_le_bytes());
        for n in [dim, self.notes.len(), passages, 0] {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        let (mut name_off, mut first) = (0usize, 0usize);
        for (rel, hash, ps) in &self.notes {
            for n in [name_off, rel.len()] {
                out.extend_from_slice(&(n as u32).to_le_bytes());
            }
            out.extend_from_slice(&hash.to_le_bytes());
            for n in [first, ps.len()] {
                out.extend_from_slice(&(n as u32).to_le_bytes());
            }
            name_off += rel.len();
            first += ps.len();
        }
        for p in self.notes.iter().flat_map(|n| &n.2) {
            out.extend_from_slice(&p.scale.to_le_bytes());
        }
        for p in self.notes.iter().flat_map(|n| &n.2) {
            out.extend(p.bytes.iter().map(|&b| b as u8));
        }
        for (rel, _, _) in &self.notes {
            out.extend_from_slice(rel.as_bytes());
        }
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&out)?;
        tmp.as_file().sync_all()?;
        let path = dir.join(FILE);
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn vectors_written_are_read_back_and_compared_as_cosines() {
        let dir = tempfile::tempdir().unwrap();
        let a = unit(vec![1.0, 0.0, 0.2, 0.0]);
        let b = unit(vec![0.0, 1.0, 0.0, 0.3]);
        let c = unit(vec![0.5, 0.5, 0.5, 0.5]);
        let mut w = Builder::default();
        w.add("z/last.md".into(), 7, vec![Packed::of(&b)]);
        w.add("a/first.md".into(), 9, vec![Packed::of(&a), Packed::of(&b)]);
        // The query's passage is not its first: half its similarity is the first's.
        w.add("y/tail.md".into(), 4, vec![Packed::of(&b), Packed::of(&a)]);
        w.add("m/mid.md".into(), 3, vec![Packed::of(&c)]);
        w.write(dir.path(), 42, 4).unwrap();
        assert!(
            Embeddings::open(dir.path(), 41).is_none(),
            "another model's vectors"
        );
        let e = Embeddings::open(dir.path(), 42).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(e.rel(0), "a/first.md");
        assert_eq!(e.find("m/mid.md"), Some(1));
        assert_eq!(e.find("m/none.md"), None);
        assert_eq!(e.hash(e.find("z/last.md").unwrap()), 7);
        let q = Probe::new(&a);
        // The first note's first passage is `a` itself.
        assert!((e.score(0, &q) - 1.0).abs() < 0.02, "{}", e.score(0, &q));
        let ab: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let tail = e.score(e.find("y/tail.md").unwrap(), &q);
        assert!((tail - (0.5 + 0.5 * ab)).abs() < 0.02, "{tail}");
        let near = e.nearest(&q, 2);
        assert_eq!(
            near.iter().map(|n| e.rel(n.0)).collect::<Vec<_>>(),
            ["a/first.md", "m/mid.md"]
        );
        // The scan of all the vectors at once gives each note's own score.
        for (i, s) in e.nearest(&q, 4) {
            assert_eq!(s, e.score(i, &q), "{}", e.rel(i));
        }
        assert!(
            e.nearest(&Probe::new(&[1.0, 0.0]), 4).is_empty(),
            "another length"
        );
        let exact: f32 = a.iter().zip(&c).map(|(x, y)| x * y).sum();
        assert!((near[1].1 - exact).abs() < 0.02, "{} vs {exact}", near[1].1);
        assert_eq!(e.packed(0).len(), 2);
    }

    #[test]
    fn the_wide_dot_product_is_the_exact_one() {
        // Lengths below, at and past the vector width, the extremes of the bytes.
        for n in [0usize, 5, 32, 33, 384, 390] {
            let a: Vec<i8> = (0..n)
                .map(|i| ((i * 37 % 255) as i32 - 127) as i8)
                .collect();
            let b: Vec<i8> = (0..n)
                .map(|i| ((i * 91 % 255) as i32 - 127) as i8)
                .collect();
            assert_eq!(dot(&a, &b), plain_dot(&a, &b), "{n}");
            let max = vec![127i8; n];
            let min = vec![-127i8; n];
            assert_eq!(dot(&max, &min), -(127 * 127 * n as i32));
            assert_eq!(dot(&min, &min), 127 * 127 * n as i32);
        }
    }

    #[test]
    fn a_cut_damaged_or_foreign_file_gives_no_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Builder::default();
        w.add("a.md".into(), 1, vec![Packed::of(&[0.6, 0.8])]);
        let path = w.write(dir.path(), 5, 2).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let q = Probe::new(&[0.6, 0.8]);
        assert!(Embeddings::open(dir.path(), 5).unwrap().score(0, &q) > 0.99);
        // Cut in its vectors: nothing.
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        assert!(Embeddings::open(dir.path(), 5).is_none());
        // Cut in its names: the note has no name, so no note has these vectors.
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let e = Embeddings::open(dir.path(), 5).unwrap();
        assert_eq!((e.rel(0), e.find("a.md")), ("", None));
        // A name that is not UTF-8, a note's passages outside the file's: no name, no
        // vectors (nothing read outside the file).
        let mut bad = bytes.clone();
        let name = bad.len() - 4;
        bad[name] = 0xff;
        bad[HEADER + 16..HEADER + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &bad).unwrap();
        let e = Embeddings::open(dir.path(), 5).unwrap();
        assert_eq!((e.rel(0), e.score(0, &q)), ("", 0.0));
        assert!(e.packed(0).is_empty());
        std::fs::write(&path, b"not vectors at all, just some text").unwrap();
        assert!(Embeddings::open(dir.path(), 5).is_none());
        // Another model's vectors.
        std::fs::write(&path, &bytes).unwrap();
        assert!(Embeddings::open(dir.path(), 6).is_none());
        assert!(Embeddings::open_any(dir.path())
            .unwrap()
            .of_model(5)
            .is_some());
    }
}
