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

/// Vectors' bytes from which [`Embeddings::nearest`] shares the work with a second thread:
/// one core alone does not draw them from memory as fast as two (about 20,000 passages of 384
/// dimensions).
const SHARED_SCAN: usize = 8 << 20;

/// The dot products of `q` with each row of `q.len()` bytes of `rows`: one call for all the
/// vectors of a vault (one per passage, one after another in the file).
fn dots(rows: &[i8], q: &[i8]) -> Vec<i32> {
    if q.is_empty() {
        return Vec::new();
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("avx512bw")
        {
            // SAFETY: the processor has AVX-512 F, BW and VNNI.
            return unsafe { dots_vnni(rows, q) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { dots_avx2(rows, q) };
        }
    }
    plain_dots(rows, q)
}

fn plain_dots(rows: &[i8], q: &[i8]) -> Vec<i32> {
    rows.chunks_exact(q.len())
        .map(|r| plain_dot(r, q))
        .collect()
}

/// [`dots`] 64 bytes at a time with VNNI, four rows at once. `vpdpbusd` multiplies unsigned
/// bytes by signed ones: each row's bytes are read as unsigned with 128 added (their top bit
/// flipped), and 128 times the query's sum is taken off again (exact for every byte).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn dots_vnni(rows: &[i8], q: &[i8]) -> Vec<i32> {
    use std::arch::x86_64::*;
    let dim = q.len();
    let n = rows.len() / dim;
    let steps = dim.div_ceil(64);
    // The last step's bytes past the row are masked out of the loads.
    let tail: __mmask64 = match dim % 64 {
        0 => !0,
        r => (1u64 << r) - 1,
    };
    let mask = |s: usize| if s + 1 == steps { tail } else { !0 };
    // SAFETY: every load is within `q` (masked at its end).
    let qs: Vec<__m512i> = (0..steps)
        .map(|s| unsafe { _mm512_maskz_loadu_epi8(mask(s), q.as_ptr().add(s * 64).cast()) })
        .collect();
    let offset = 128 * q.iter().map(|&b| b as i32).sum::<i32>();
    let flip = _mm512_set1_epi8(-128);
    let mut out = Vec::with_capacity(n);
    let mut r = 0;
    while r < n {
        let rows_now = (n - r).min(4);
        let mut acc = [_mm512_setzero_si512(); 4];
        for (s, qv) in qs.iter().enumerate() {
            for (j, a) in acc.iter_mut().enumerate().take(rows_now) {
                // SAFETY: row r + j < n lies within `rows`, the load within it (masked).
                let x = unsafe {
                    _mm512_maskz_loadu_epi8(
                        mask(s),
                        rows.as_ptr().add((r + j) * dim + s * 64).cast(),
                    )
                };
                // Bytes masked out read 128 once flipped, times the query's 0 there.
                *a = _mm512_dpbusd_epi32(*a, _mm512_xor_si512(x, flip), *qv);
            }
        }
        for a in acc.iter().take(rows_now) {
            out.push(_mm512_reduce_add_epi32(*a) - offset);
        }
        r += rows_now;
    }
    out
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
    /// Which file was mapped ([`Embeddings::is_current`]).
    file: FileId,
}

/// What tells one vectors' file from the next `kb index` writes in its place (a new file
/// renamed over it): its path, size and modification time, and where the system has them
/// its device and inode.
#[derive(Debug, PartialEq)]
struct FileId {
    path: PathBuf,
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
}

impl FileId {
    fn of(path: PathBuf, meta: &std::fs::Metadata) -> FileId {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        FileId {
            path,
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
        }
    }
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
        let path = dir.join(FILE);
        let file = std::fs::File::open(&path).ok()?;
        let id = FileId::of(path, &file.metadata().ok()?);
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
            file: id,
        })
    }

    /// Whether these are still the vectors in `dir` (no `kb index` replaced them since they
    /// were opened): a long-running front end keeps them mapped from one question to the
    /// next.
    pub fn is_current(&self, dir: &Path) -> bool {
        let path = dir.join(FILE);
        std::fs::metadata(&path).is_ok_and(|m| FileId::of(path.clone(), &m) == self.file)
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

    /// The `k` notes nearest the query (by their best passage), nearest first (of equals,
    /// the first in the file).
    pub fn nearest(&self, q: &Probe, k: usize) -> Vec<(usize, f32)> {
        self.nearest_by(q, k, self.passages * self.dim >= SHARED_SCAN)
    }

    /// [`Embeddings::nearest`], the notes' second half on another thread if `shared`.
    fn nearest_by(&self, q: &Probe, k: usize, shared: bool) -> Vec<(usize, f32)> {
        if q.0.bytes.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let all = 0..self.notes;
        if !shared || self.notes < 2 {
            return self.nearest_in(all, q, k);
        }
        let half = self.notes / 2;
        let here = crate::cores::current();
        let (mut near, other) = std::thread::scope(|s| {
            let other = std::thread::Builder::new()
                .spawn_scoped(s, || {
                    crate::cores::leave(here);
                    self.nearest_in(half..self.notes, q, k)
                })
                .ok();
            // The new thread, placed on this core, moves to another now.
            std::thread::yield_now();
            (self.nearest_in(0..half, q, k), other.map(|t| t.join()))
        });
        // A thread that could not start (or stopped) leaves its half to this one.
        near.extend(match other {
            Some(Ok(n)) => n,
            _ => self.nearest_in(half..self.notes, q, k),
        });
        near.sort_by_key(|&(i, s)| std::cmp::Reverse(Near(s, i)));
        near.truncate(k);
        near
    }

    /// The first passage of note `i` (the end of all if `i` is the last), within the file's.
    fn first_passage(&self, i: usize) -> usize {
        if i >= self.notes {
            return self.passages;
        }
        u32_at(&self.map, self.entry(i) + 16).min(self.passages)
    }

    /// [`Embeddings::nearest`] among `notes`: their passages' dot products in one call (kb
    /// writes a note's passages after the previous note's; any other passage is compared on
    /// its own).
    fn nearest_in(&self, notes: std::ops::Range<usize>, q: &Probe, k: usize) -> Vec<(usize, f32)> {
        let from = self.first_passage(notes.start);
        let to = self.first_passage(notes.end).max(from);
        let at = self.vectors_at();
        let rows = &self.map[at + from * self.dim..at + to * self.dim];
        // SAFETY: i8 and u8 have the same size and alignment; every bit pattern is valid.
        let rows = unsafe { std::slice::from_raw_parts(rows.as_ptr().cast::<i8>(), rows.len()) };
        let dots = dots(rows, &q.0.bytes);
        let cos = |p: usize| {
            let d = match p.checked_sub(from).and_then(|i| dots.get(i)) {
                Some(&d) => d,
                None => dot(self.bytes(p), &q.0.bytes),
            };
            d as f32 * self.scale(p) * q.0.scale
        };
        // The k best so far, the least of them on top: most notes are compared with it alone.
        let mut top = std::collections::BinaryHeap::with_capacity(k + 1);
        for i in notes {
            let near = std::cmp::Reverse(Near(self.combined(i, cos), i));
            if top.len() < k {
                top.push(near);
            } else if top.peek().is_some_and(|least| near < *least) {
                top.pop();
                top.push(near);
            }
        }
        top.into_sorted_vec()
            .into_iter()
            .map(|std::cmp::Reverse(Near(s, i))| (i, s))
            .collect()
    }
}

/// A note's similarity and its place in the file, ordered by similarity (the first in the
/// file ahead of an equal one later).
struct Near(f32, usize);

impl PartialEq for Near {
    fn eq(&self, other: &Near) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Near {}

impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Near) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Near {
    fn cmp(&self, other: &Near) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
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
    fn the_nearest_notes_are_those_of_every_score_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Builder::default();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % 2001) as f32 / 1000.0 - 1.0
        };
        let vectors: Vec<Vec<f32>> = (0..40)
            .map(|_| unit((0..8).map(|_| next()).collect()))
            .collect();
        for n in 0..300 {
            // Some notes alike (equal scores), some of several passages.
            let ps = (0..1 + n % 3)
                .map(|p| Packed::of(&vectors[(n * 7 + p) % 40]))
                .collect();
            w.add(format!("n{n:04}.md"), n as u64, ps);
        }
        w.write(dir.path(), 1, 8).unwrap();
        let e = Embeddings::open(dir.path(), 1).unwrap();
        let q = Probe::new(&vectors[3]);
        let mut all: Vec<(usize, f32)> = (0..e.len()).map(|i| (i, e.score(i, &q))).collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for k in [1, 2, 10, 50, 299, 300, 1000] {
            for shared in [false, true] {
                let near = e.nearest_by(&q, k, shared);
                assert_eq!(near, all[..k.min(300)].to_vec(), "{k} {shared}");
            }
        }
        assert!(e.nearest(&q, 0).is_empty());
        // A file kb did not write: a note's passages elsewhere than after the previous
        // note's (in the other half) are compared too.
        drop(e);
        let path = dir.path().join(FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let first = |i: usize| HEADER + i * ENTRY + 16;
        let far = bytes[first(290)..first(290) + 4].to_vec();
        bytes[first(10)..first(10) + 4].copy_from_slice(&far);
        std::fs::write(&path, bytes).unwrap();
        let e = Embeddings::open(dir.path(), 1).unwrap();
        let mut all: Vec<(usize, f32)> = (0..e.len()).map(|i| (i, e.score(i, &q))).collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for shared in [false, true] {
            assert_eq!(e.nearest_by(&q, 300, shared), all, "{shared}");
        }
    }

    #[test]
    fn every_scan_of_all_vectors_gives_the_exact_dot_products() {
        // Lengths below, at and past the vector widths; in the rows every byte value, -128
        // included (a file kb did not write); a query's bytes are within ±127 (`Packed::of`).
        for dim in [1usize, 5, 32, 63, 64, 65, 384, 390] {
            for rows in [0usize, 1, 3, 4, 5, 9] {
                let all: Vec<i8> = (0..rows * dim)
                    .map(|i| (i * 37 % 256) as u8 as i8)
                    .collect();
                let q: Vec<i8> = (0..dim)
                    .map(|i| ((i * 91 % 255) as i32 - 127) as i8)
                    .collect();
                let want = plain_dots(&all, &q);
                assert_eq!(want.len(), rows);
                assert_eq!(dots(&all, &q), want, "{dim} x {rows}");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the processor has AVX2.
                    assert_eq!(unsafe { dots_avx2(&all, &q) }, want, "{dim} x {rows}");
                }
                let ends = vec![-128i8; rows * dim];
                let top = vec![127i8; dim];
                assert!(dots(&ends, &top)
                    .iter()
                    .all(|&d| d == -128 * 127 * dim as i32));
                let bottom = vec![-127i8; dim];
                assert!(dots(&ends, &bottom)
                    .iter()
                    .all(|&d| d == 128 * 127 * dim as i32));
            }
        }
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
