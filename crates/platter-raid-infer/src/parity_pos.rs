//! Where RAID5 parity sits, from content: a data chunk holds file data,
//! which repeats itself (words, instruction patterns, tables, padding);
//! the parity chunk is the XOR of several unrelated data chunks and
//! repeats far less. Per row of a candidate chunk size and data offset,
//! the member whose sampled blocks repeat clearly least is taken for the
//! parity member. At the right chunk size and offset those rows follow a
//! rotation: residue `k` of the row number always puts parity on the same
//! member, a different one for every `k`. The rotation then seats every
//! member (left layouts put parity on slot `n−1−k`, right layouts on slot
//! `k`); what it cannot tell (asymmetric from symmetric) is left to the
//! self-locating structures and continuity.
//!
//! XOR parity alone cannot place anything: every member is the XOR of the
//! others. This signal needs data that repeats (text, executables,
//! metadata); compressed or encrypted content gives no votes, and the
//! search then says nothing.

use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout};

use crate::naturalness::repeat_rate;
use crate::sample::Samples;

/// Block the repeat rate is measured on.
const BLOCK: usize = 4096;
/// Blocks measured per member at most (bounds the work).
const MAX_BLOCKS: usize = 2048;
/// The least repetitive member must trail the next by this much.
const BLOCK_MARGIN: f32 = 0.08;
/// A row's parity member must hold this share of the row's block votes.
const ROW_SHARE: f64 = 0.66;
/// Share of decided rows that must follow the rotation.
const MIN_CONSISTENCY: f64 = 0.85;
/// Decided rows needed, per member.
const MIN_ROWS_PER_MEMBER: usize = 2;

/// Repeat rates of the sampled blocks, all members at one member offset.
pub(crate) struct BlockRow {
    offset: u64,
    rates: Vec<f32>,
}

/// A parity rotation found in the content.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    /// Chunk size in bytes.
    pub chunk_bytes: u64,
    /// Data offset in bytes (the same on every member).
    pub data_offset: u64,
    /// `parity[k]`: the member holding parity in rows `r ≡ k (mod
    /// slots)`; `None` for the missing member's residue.
    pub parity: Vec<Option<usize>>,
    /// True when some residues had too few rows to seat their member by
    /// elimination and this is one way the evidence allows of seating
    /// them (often one of several).
    pub guessed: bool,
    /// Rows whose parity member was decided.
    pub rows: usize,
    /// Of those, rows that follow the rotation.
    pub consistent: usize,
}

impl Rotation {
    /// The geometries the rotation allows: left layouts seat the parity
    /// member of residue `k` on slot `n−1−k`, right layouts on slot `k`.
    pub fn geometries(&self) -> Vec<Geometry> {
        let n = self.parity.len();
        let mut left = vec![None; n];
        let mut right = vec![None; n];
        for (k, &m) in self.parity.iter().enumerate() {
            left[n - 1 - k] = m;
            right[k] = m;
        }
        let g = |layout: ParityLayout, order: &[Option<usize>]| {
            Geometry::new(Level::Raid5, Layout::Parity(layout), self.chunk_bytes, n)
                .with_order(order)
                .with_data_offset(self.data_offset)
        };
        vec![
            g(ParityLayout::LeftSymmetric, &left),
            g(ParityLayout::LeftAsymmetric, &left),
            g(ParityLayout::RightSymmetric, &right),
            g(ParityLayout::RightAsymmetric, &right),
        ]
    }
}

pub(crate) fn measure(samples: &Samples, n: usize) -> Vec<BlockRow> {
    let total: usize = samples
        .windows
        .iter()
        .map(|w| w.data.first().map_or(0, |d| d.len() / BLOCK))
        .sum();
    let step = total.div_ceil(MAX_BLOCKS).max(1);
    let mut out = Vec::new();
    let mut i = 0usize;
    for w in &samples.windows {
        let blocks = w.data.first().map_or(0, |d| d.len() / BLOCK);
        for b in 0..blocks {
            i += 1;
            if i % step != 0 {
                continue;
            }
            let at = b * BLOCK;
            let rates: Vec<f32> = (0..n)
                .map(|m| repeat_rate(&w.data[m][at..at + BLOCK]) as f32)
                .collect();
            out.push(BlockRow {
                offset: w.offset + at as u64,
                rates,
            });
        }
    }
    out
}

/// The member that clearly repeats least in one block row.
fn least(rates: &[f32]) -> Option<usize> {
    let mut idx: Vec<usize> = (0..rates.len()).collect();
    idx.sort_by(|&a, &b| rates[a].total_cmp(&rates[b]));
    let (lo, next) = (idx[0], *idx.get(1)?);
    (rates[next] - rates[lo] >= BLOCK_MARGIN).then_some(lo)
}

/// The parity member each row of `chunk` bytes from `offset` shows: the
/// member that repeats clearly least in most of the row's blocks (rows
/// without such a member are left out).
pub(crate) fn decided_rows(
    blocks: &[BlockRow],
    n: usize,
    chunk: u64,
    offset: u64,
) -> std::collections::BTreeMap<u64, usize> {
    let mut rows: std::collections::BTreeMap<u64, Vec<u32>> = Default::default();
    for b in blocks {
        let Some(rel) = b.offset.checked_sub(offset) else {
            continue;
        };
        if rel % chunk + BLOCK as u64 > chunk {
            continue;
        }
        if let Some(p) = least(&b.rates) {
            rows.entry(rel / chunk).or_insert_with(|| vec![0; n])[p] += 1;
        }
    }
    rows.into_iter()
        .filter_map(|(r, v)| {
            let total: u32 = v.iter().sum();
            let (p, &top) = v.iter().enumerate().max_by_key(|(_, x)| **x)?;
            (f64::from(top) >= ROW_SHARE * f64::from(total)).then_some((r, p))
        })
        .collect()
}

fn rotation(
    blocks: &[BlockRow],
    n: usize,
    slots: usize,
    chunk: u64,
    offset: u64,
) -> Option<Rotation> {
    // Residue → decided rows per member.
    let mut votes = vec![vec![0usize; n]; slots];
    for (r, p) in decided_rows(blocks, n, chunk, offset) {
        votes[(r % slots as u64) as usize][p] += 1;
    }
    let best: Vec<(usize, usize, usize)> = votes
        .iter()
        .map(|v| {
            let (m, &c) = v
                .iter()
                .enumerate()
                .max_by_key(|(_, x)| **x)
                .unwrap_or((0, &0));
            (m, c, v.iter().sum())
        })
        .collect();
    // With a member missing, the residue whose parity sat on it has no
    // parity among the images: the one that agrees least is left out.
    let skip = (slots > n).then(|| {
        (0..slots)
            .min_by(|&a, &b| {
                let share = |k: usize| best[k].1 as f64 / best[k].2.max(1) as f64;
                share(a)
                    .total_cmp(&share(b))
                    .then(best[a].1.cmp(&best[b].1))
            })
            .unwrap_or(0)
    });
    let mut parity = vec![None; slots];
    let (mut decided, mut consistent) = (0usize, 0usize);
    for (k, &(m, c, t)) in best.iter().enumerate() {
        if Some(k) == skip {
            continue;
        }
        decided += t;
        if c > 0 {
            parity[k] = Some(m);
            consistent += c;
        }
    }
    if decided < MIN_ROWS_PER_MEMBER * slots {
        return None;
    }
    // Every image at most once; one residue without votes is seated by
    // elimination.
    let mut seen = vec![false; n];
    for m in parity.iter().flatten() {
        if std::mem::replace(&mut seen[*m], true) {
            return None;
        }
    }
    let unseated: Vec<usize> = (0..n).filter(|&m| !seen[m]).collect();
    let open: Vec<usize> = (0..slots)
        .filter(|&k| parity[k].is_none() && Some(k) != skip)
        .collect();
    match (open.as_slice(), unseated.as_slice()) {
        ([], []) => {}
        ([k], [m]) => parity[*k] = Some(*m),
        _ => return None,
    }
    Some(Rotation {
        chunk_bytes: chunk,
        data_offset: offset,
        parity,
        guessed: false,
        rows: decided,
        consistent,
    })
}

/// Decisive blocks needed before one member is named the parity of every
/// row.
const MIN_CONSTANT_BLOCKS: usize = 64;
/// Share of decisive blocks that member must take.
const CONSTANT_SHARE: f64 = 0.9;

/// The member that holds parity on every row (RAID4, parity-first/last):
/// the one whose blocks repeat clearly least in nearly every decisive
/// block row, whatever the chunk size.
pub fn constant_member(samples: &Samples, n: usize) -> Option<usize> {
    if n < 3 {
        return None;
    }
    let blocks = measure(samples, n);
    let mut votes = vec![0usize; n];
    for b in &blocks {
        if let Some(p) = least(&b.rates) {
            votes[p] += 1;
        }
    }
    let total: usize = votes.iter().sum();
    let (p, &top) = votes.iter().enumerate().max_by_key(|(_, v)| **v)?;
    (total >= MIN_CONSTANT_BLOCKS && top as f64 >= CONSTANT_SHARE * total as f64).then_some(p)
}

/// Chunk sizes the content is measured at: 4 KiB to 4 MiB, powers of two
/// and three times powers of two.
fn chunks() -> Vec<u64> {
    let mut v: Vec<u64> = (12..=22).map(|s| 1u64 << s).collect();
    v.extend((12..=20).map(|s| 3u64 << s));
    v.sort_unstable();
    v
}

/// The parity rotations the content shows best over chunk sizes of 4 KiB
/// to 4 MiB and the given data offsets (several when offsets a whole
/// number of rows apart fit equally), or none when none is clear.
///
/// `slots` is the array's width: `n` for a complete array, `n + 1` when a
/// member is missing (its residue then shows no parity).
pub fn find(samples: &Samples, n: usize, slots: usize, offsets: &[u64]) -> Vec<Rotation> {
    if slots < 3 || !(n..=n + 1).contains(&slots) {
        return Vec::new();
    }
    let blocks = measure(samples, n);
    best(offsets, |chunk, off| {
        rotation(&blocks, n, slots, chunk, off)
            .filter(|r| r.consistent as f64 >= MIN_CONSISTENCY * r.rows as f64)
            .into_iter()
            .collect()
    })
}

/// The rotations of best merit (rows that follow the rotation, less
/// twice those that do not) that `rotations` shows over every chunk size of
/// [`chunks`] and every offset: several when offsets a whole number of
/// rows apart fit equally.
pub(crate) fn best(
    offsets: &[u64],
    mut rotations: impl FnMut(u64, u64) -> Vec<Rotation>,
) -> Vec<Rotation> {
    let mut best: Vec<(i64, Rotation)> = Vec::new();
    for chunk in chunks() {
        for &off in offsets {
            for r in rotations(chunk, off) {
                let merit = r.consistent as i64 - 2 * (r.rows - r.consistent) as i64;
                match best.first().map(|(b, _)| *b) {
                    Some(b) if merit < b => {}
                    Some(b) if merit == b => best.push((merit, r)),
                    _ => best = vec![(merit, r)],
                }
            }
        }
    }
    best.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleWindow;

    /// Text-like content: words from a small vocabulary, a different mix
    /// per 4 KiB block so blocks are not copies of each other.
    fn content(len: usize, seed: u64) -> Vec<u8> {
        let words: [&[u8]; 16] = [
            b"stripe ",
            b"member ",
            b"the ",
            b"of ",
            b"parity ",
            b"chunk ",
            b"array ",
            b"disk ",
            b"data ",
            b"block ",
            b"sector ",
            b"and ",
            b"file ",
            b"system ",
            b"inode ",
            b"record\n",
        ];
        let mut x = seed | 1;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(words[(x % 16) as usize]);
        }
        out.truncate(len);
        out
    }

    /// An independent left-symmetric RAID5 striper (md's algorithm 2):
    /// parity on disk `n−1−(r mod n)`, data from the disk after it.
    fn stripe_ls(data: &[u8], n: usize, chunk: usize) -> Vec<Vec<u8>> {
        let rows = data.len() / (chunk * (n - 1));
        let mut disks = vec![vec![0u8; rows * chunk]; n];
        for r in 0..rows {
            let p = n - 1 - r % n;
            let mut parity = vec![0u8; chunk];
            for d in 0..n - 1 {
                let src = &data[(r * (n - 1) + d) * chunk..][..chunk];
                let disk = (p + 1 + d) % n;
                disks[disk][r * chunk..][..chunk].copy_from_slice(src);
                for (x, y) in parity.iter_mut().zip(src) {
                    *x ^= y;
                }
            }
            disks[p][r * chunk..][..chunk].copy_from_slice(&parity);
        }
        disks
    }

    fn samples(data: Vec<Vec<u8>>) -> Samples {
        Samples {
            windows: vec![SampleWindow { offset: 0, data }],
            bytes_read_per_member: 0,
            common_bytes: 0,
        }
    }

    /// The members in a shuffled order, and `order[slot]` = image index.
    fn shuffled(disks: Vec<Vec<u8>>, perm: &[usize]) -> (Vec<Vec<u8>>, Vec<Option<usize>>) {
        let images: Vec<Vec<u8>> = perm.iter().map(|&d| disks[d].clone()).collect();
        let mut order = vec![None; perm.len()];
        for (img, &disk) in perm.iter().enumerate() {
            order[disk] = Some(img);
        }
        (images, order)
    }

    #[test]
    fn text_in_raid5_shows_its_rotation_and_seats_every_member() {
        let (n, chunk) = (5, 16 << 10);
        let disks = stripe_ls(&content(4 << 20, 3), n, chunk);
        let (images, order) = shuffled(disks, &[3, 0, 4, 1, 2]);
        let found = find(&samples(images), n, n, &[0]);
        assert_eq!(found.len(), 1, "{found:?}");
        let r = &found[0];
        assert_eq!(r.chunk_bytes, chunk as u64);
        assert!(r.consistent * 100 >= r.rows * 95, "{r:?}");
        let truth = Geometry::new(
            Level::Raid5,
            Layout::Parity(ParityLayout::LeftSymmetric),
            chunk as u64,
            n,
        )
        .with_order(&order);
        assert!(r.geometries().contains(&truth), "{:?}", r.geometries());
    }

    #[test]
    fn a_missing_member_leaves_its_residue_empty() {
        let (n, chunk) = (5, 8 << 10);
        let disks = stripe_ls(&content(4 << 20, 5), n, chunk);
        let (mut images, mut order) = shuffled(disks, &[2, 4, 0, 3, 1]);
        // Image 1 (disk 4) is lost: the others shift down one index.
        images.remove(1);
        for o in order.iter_mut() {
            *o = match *o {
                Some(1) => None,
                Some(i) if i > 1 => Some(i - 1),
                x => x,
            };
        }
        let found = find(&samples(images), n - 1, n, &[0]);
        assert!(!found.is_empty());
        let truth = Geometry::new(
            Level::Raid5,
            Layout::Parity(ParityLayout::LeftSymmetric),
            chunk as u64,
            n,
        )
        .with_order(&order);
        assert!(
            found.iter().any(|r| r.geometries().contains(&truth)),
            "{found:?}"
        );
    }

    /// RAID4 (parity on the last disk): the content names the parity
    /// member; a rotating RAID5 has none.
    #[test]
    fn constant_parity_names_its_member() {
        let (n, chunk) = (4, 32 << 10);
        let data = content(3 << 20, 9);
        let rows = data.len() / (chunk * (n - 1));
        let mut disks = vec![vec![0u8; rows * chunk]; n];
        for r in 0..rows {
            for d in 0..n - 1 {
                let src = &data[(r * (n - 1) + d) * chunk..][..chunk];
                disks[d][r * chunk..][..chunk].copy_from_slice(src);
                for (x, y) in disks[n - 1][r * chunk..][..chunk].iter_mut().zip(src) {
                    *x ^= y;
                }
            }
        }
        let (images, order) = shuffled(disks, &[2, 0, 3, 1]);
        assert_eq!(constant_member(&samples(images), n), order[n - 1]);
        let raid5 = stripe_ls(&content(3 << 20, 9), n, chunk);
        assert_eq!(constant_member(&samples(raid5), n), None);
    }

    /// Content that does not repeat (compressed, encrypted) gives no
    /// rotation, nor does a RAID0 of text (no member is parity).
    #[test]
    fn random_content_and_raid0_show_no_rotation() {
        let random: Vec<Vec<u8>> = (0..4u64)
            .map(|i| crate::structures::test_support::noise(99u64 + i, 1 << 20))
            .collect();
        assert!(find(&samples(random), 4, 4, &[0]).is_empty());
        let text: Vec<Vec<u8>> = (0..4).map(|i| content(1 << 20, 10 + i)).collect();
        assert!(find(&samples(text.clone()), 4, 4, &[0]).is_empty());
        assert!(find(&samples(text), 4, 5, &[0]).is_empty());
    }
}
