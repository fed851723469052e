//! Hashing an image in order: the whole image, every `--hash-window`
//! window, and every contiguous good range, each with every algorithm.
//!
//! [`ImageHasher`] is fed the image's blocks in order, together with the
//! bad spans inside each block. It reuses [`MultiHasher`] (one thread per
//! algorithm): one for the whole image, one for the current window, one for
//! the current good range. Until the first bad span the only good range is
//! the image so far: its digests are a [`MultiHasher::snapshot`] of the
//! image's, so an image without bad spans is never hashed twice.

use platter_hash::{Block, BlockPool, Digest, HashAlg, MultiHasher};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Digests of one byte range of the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeDigest {
    /// First byte of the range.
    pub offset: u64,
    /// Length of the range in bytes.
    pub len: u64,
    /// `algorithm -> lowercase hex`, in the order of the algorithms.
    pub digests: Vec<NamedDigest>,
}

/// A digest as stored in logs: algorithm name and hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDigest {
    /// `md5`, `sha1` or `sha256`.
    pub alg: String,
    /// Lowercase hexadecimal.
    pub hex: String,
}

impl From<&Digest> for NamedDigest {
    fn from(d: &Digest) -> Self {
        NamedDigest {
            alg: d.alg.name().to_string(),
            hex: d.hex.clone(),
        }
    }
}

/// Converts digests to their stored form.
pub fn named(digests: &[Digest]) -> Vec<NamedDigest> {
    digests.iter().map(NamedDigest::from).collect()
}

/// Everything an [`ImageHasher`] computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDigests {
    /// Bytes hashed.
    pub bytes: u64,
    /// Digests of the whole image.
    pub image: Vec<NamedDigest>,
    /// The window size, if windows were hashed.
    pub window_bytes: Option<u64>,
    /// Digests of every window, in order.
    pub windows: Vec<RangeDigest>,
    /// Digests of every contiguous good (readable) range, in order.
    pub good_ranges: Vec<RangeDigest>,
}

struct Open {
    start: u64,
    hasher: MultiHasher,
}

/// Hashes an image fed in order; see the module docs.
pub struct ImageHasher {
    algs: Vec<HashAlg>,
    pos: u64,
    image: MultiHasher,
    window_bytes: Option<u64>,
    window: Option<Open>,
    windows: Vec<RangeDigest>,
    /// `None` until the first bad span: the image so far is one good range.
    ranges: Option<Vec<RangeDigest>>,
    range: Option<Open>,
}

impl std::fmt::Debug for ImageHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageHasher")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl ImageHasher {
    /// A hasher starting at image offset 0.
    pub fn new(algs: &[HashAlg], window_bytes: Option<u64>) -> Self {
        ImageHasher {
            algs: algs.to_vec(),
            pos: 0,
            image: MultiHasher::new(algs),
            window_bytes,
            window: None,
            windows: Vec::new(),
            ranges: None,
            range: None,
        }
    }

    /// Feeds the next block. `bad` lists the unreadable spans inside it
    /// (absolute `(offset, len)`, sorted); they are part of the image (as
    /// fill) but end the current good range.
    pub fn feed(&mut self, block: Block, bad: &[(u64, u64)]) {
        let start = self.pos;
        let end = start + block.len() as u64;
        let first_bad = bad
            .iter()
            .map(|&(o, l)| (o.max(start), o.saturating_add(l).min(end)))
            .find(|(a, b)| a < b)
            .map(|(a, _)| a);
        let mut ranges_from = start;
        match (self.ranges.is_none(), first_bad) {
            (true, Some(b)) => {
                ranges_from = b;
                // The first bad span: the good range before it is the image
                // so far.
                if b > start {
                    self.image.update(slice(&block, start, start, b));
                }
                let so_far = named(&self.image.snapshot());
                self.ranges = Some(if b > 0 {
                    vec![RangeDigest {
                        offset: 0,
                        len: b,
                        digests: so_far,
                    }]
                } else {
                    Vec::new()
                });
                if b < end {
                    self.image.update(slice(&block, start, b, end));
                }
            }
            _ => self.image.update(block.clone()),
        }
        if let Some(w) = self.window_bytes {
            let mut at = start;
            while at < end {
                let win_end = (at / w + 1).saturating_mul(w).min(end);
                let open = self.window.get_or_insert_with(|| Open {
                    start: at,
                    hasher: MultiHasher::new(&self.algs),
                });
                open.hasher.update(slice(&block, start, at, win_end));
                if win_end % w == 0 {
                    let done = self.window.take().map(|o| finish(o, win_end));
                    self.windows.extend(done);
                }
                at = win_end;
            }
        }
        if self.ranges.is_some() {
            let mut at = ranges_from;
            for &(b_off, b_len) in bad {
                let b_start = b_off.max(start);
                let b_end = b_off.saturating_add(b_len).min(end);
                if b_end <= b_start {
                    continue;
                }
                if b_start > at {
                    self.good(&block, start, at, b_start);
                }
                self.close_range(b_start);
                at = b_end;
            }
            if at < end {
                self.good(&block, start, at, end);
            }
        }
        self.pos = end;
    }

    fn good(&mut self, block: &Block, block_start: u64, a: u64, b: u64) {
        let algs = &self.algs;
        let open = self.range.get_or_insert_with(|| Open {
            start: a,
            hasher: MultiHasher::new(algs),
        });
        open.hasher.update(slice(block, block_start, a, b));
    }

    fn close_range(&mut self, end: u64) {
        if let (Some(open), Some(list)) = (self.range.take(), self.ranges.as_mut()) {
            list.push(finish(open, end));
        }
    }

    /// Waits for every hasher and returns the digests.
    pub fn finish(mut self) -> ImageDigests {
        let end = self.pos;
        if let Some(open) = self.window.take() {
            self.windows.push(finish(open, end));
        }
        self.close_range(end);
        let image = named(&self.image.finish());
        let good_ranges = match self.ranges {
            Some(list) => list,
            None if end > 0 => vec![RangeDigest {
                offset: 0,
                len: end,
                digests: image.clone(),
            }],
            None => Vec::new(),
        };
        ImageDigests {
            bytes: end,
            image,
            window_bytes: self.window_bytes,
            windows: self.windows,
            good_ranges,
        }
    }
}

fn finish(open: Open, end: u64) -> RangeDigest {
    RangeDigest {
        offset: open.start,
        len: end - open.start,
        digests: named(&open.hasher.finish()),
    }
}

/// The part `[a, b)` (absolute) of `block`, which starts at `block_start`:
/// the block itself when it is all of it, else a copy.
fn slice(block: &Block, block_start: u64, a: u64, b: u64) -> Block {
    if a == block_start && b == block_start + block.len() as u64 {
        block.clone()
    } else {
        Block::from(&block[(a - block_start) as usize..(b - block_start) as usize])
    }
}

/// The bad spans of `bad` (sorted `(offset, len)`) that touch
/// `[start, end)`, advancing `*next` past those that end before `end`.
pub(crate) fn spans_in(
    bad: &[(u64, u64)],
    next: &mut usize,
    start: u64,
    end: u64,
) -> Vec<(u64, u64)> {
    while *next < bad.len() && bad[*next].0 + bad[*next].1 <= start {
        *next += 1;
    }
    let mut out = Vec::new();
    let mut i = *next;
    while i < bad.len() && bad[i].0 < end {
        out.push(bad[i]);
        i += 1;
    }
    out
}

/// Reads an image of `len` bytes in order with `read(buf, offset)` and
/// hashes it. `bad` (sorted, absolute) are the spans that are not part of
/// any good range; `None` means the whole image is one good range.
/// `progress` gets the bytes done.
pub fn hash_reader(
    len: u64,
    block_size: usize,
    algs: &[HashAlg],
    window_bytes: Option<u64>,
    bad: Option<&[(u64, u64)]>,
    read: &mut dyn FnMut(&mut [u8], u64) -> Result<()>,
    progress: &dyn Fn(u64),
) -> Result<ImageDigests> {
    let pool = BlockPool::new(block_size.max(1));
    let mut hasher = ImageHasher::new(algs, window_bytes);
    let bad = bad.unwrap_or(&[]);
    let mut next = 0usize;
    let mut pos = 0u64;
    while pos < len {
        let n = usize::try_from(len - pos).map_or(pool.block_size(), |r| r.min(pool.block_size()));
        let mut buf = pool.take();
        if let Err(e) = read(&mut buf[..n], pos) {
            // Join the hasher threads before reporting.
            drop(hasher.finish());
            return Err(e);
        }
        let end = pos + n as u64;
        let spans = spans_in(bad, &mut next, pos, end);
        hasher.feed(pool.seal(buf, n), &spans);
        pos = end;
        progress(pos);
    }
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use platter_hash::hash_bytes;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn hex(algs: &[HashAlg], d: &[u8]) -> Vec<NamedDigest> {
        named(&hash_bytes(algs, d))
    }

    #[test]
    fn windows_and_good_ranges_match_direct_hashes() {
        let algs = [HashAlg::Md5, HashAlg::Sha256];
        let d = data(10_000);
        let bad = [(1000u64, 512u64), (1512, 88), (9000, 1000)];
        for bs in [1, 333, 4096, 20_000] {
            let mut read = |buf: &mut [u8], off: u64| {
                buf.copy_from_slice(&d[off as usize..off as usize + buf.len()]);
                Ok(())
            };
            let r = hash_reader(
                10_000,
                bs,
                &algs,
                Some(3000),
                Some(&bad),
                &mut read,
                &|_| {},
            )
            .unwrap();
            assert_eq!(r.image, hex(&algs, &d), "bs {bs}");
            let w: Vec<(u64, u64)> = r.windows.iter().map(|w| (w.offset, w.len)).collect();
            assert_eq!(w, [(0, 3000), (3000, 3000), (6000, 3000), (9000, 1000)]);
            for win in &r.windows {
                let s = win.offset as usize;
                assert_eq!(win.digests, hex(&algs, &d[s..s + win.len as usize]));
            }
            let g: Vec<(u64, u64)> = r.good_ranges.iter().map(|g| (g.offset, g.len)).collect();
            assert_eq!(g, [(0, 1000), (1600, 7400)], "bs {bs}");
            for gr in &r.good_ranges {
                let s = gr.offset as usize;
                assert_eq!(gr.digests, hex(&algs, &d[s..s + gr.len as usize]));
            }
        }
    }

    #[test]
    fn without_bad_spans_the_good_range_is_the_image() {
        let algs = [HashAlg::Sha1];
        let d = data(5000);
        let mut read = |buf: &mut [u8], off: u64| {
            buf.copy_from_slice(&d[off as usize..off as usize + buf.len()]);
            Ok(())
        };
        let r = hash_reader(5000, 1024, &algs, None, None, &mut read, &|_| {}).unwrap();
        assert_eq!(r.good_ranges.len(), 1);
        assert_eq!(r.good_ranges[0].digests, r.image);
        assert!(r.windows.is_empty());
    }
}
