//! RAID0 or a degraded RAID4/5/6? The content decides.
//!
//! With no parity visible, `n` member images fit a RAID0 over `n` members,
//! a RAID4/5 over `n + 1` slots with one missing, and a RAID6 with one or
//! two missing. Self-locating structures sit only in the chunks present
//! and often cannot choose. The data can: file data repeats itself
//! ([`repeat_rate`]), and the XOR of unrelated blocks repeats less than
//! any of them, because it carries the new content of all of them.
//!
//! Per **block row** (the same 4 KiB, or chunk-sized, stretch of every
//! slot in one row), a geometry makes a claim about one XOR:
//!
//! - when a data slot is missing there, it **rebuilds** that block from
//!   the blocks present (RAID4/5: the XOR of P and the data present;
//!   RAID6: from P, or from Q, or from both when two data slots are
//!   missing) and claims the result is one block of file data. Under the
//!   right geometry it is, and it is less novel than the parity it was
//!   computed from. Under a wrong one (a true RAID0 read as a degraded
//!   RAID5) it is the XOR of unrelated data chunks, more novel than every
//!   block it was computed from;
//! - when every data slot is present, it claims the XOR of the data blocks
//!   is a **mixture** of unrelated chunks, more novel than each of them.
//!   Under a wrong RAID0 reading of a degraded RAID5 that XOR is the
//!   missing member's data chunk in every row whose parity sits on a
//!   present member: less novel than that parity.
//!
//! A claim the content contradicts is a **contradiction**;
//! [`Plausibility::implausibility`] is the share of judged claims that
//! are: near 0 for the true geometry, near `n/(n+1)` for its rival in
//! either direction (a RAID0 over `n` members and a RAID5 over `n + 1`
//! slots with one missing). The test compares blocks of the same row with
//! each other, so it holds for content of any repetitiveness, including
//! fixed-width records whose XOR still repeats. [`prefer`] compares two
//! geometries over the same members.
//!
//! Only informative stretches count. A block row needs two non-zero
//! blocks; an XOR and the blocks it was computed from are compared on the
//! same bytes: the 8-byte words where the XOR is non-zero and at least two
//! of those blocks are (elsewhere the XOR is a plain copy of one block,
//! which says nothing). Claims with too few such bytes, or whose blocks
//! are all about as novel, are not judged. Content that does not repeat
//! (compressed, encrypted) or is all zero gives no verdict.
//!
//! Novelty is `1 − repeat_rate`: the share of 4-byte patterns not seen
//! earlier in the bytes compared.
//!
//! The work is bounded: at most [`MAX_BLOCK_ROWS`] block rows are
//! measured, spread over the samples, with buffers of a few blocks.

use platter_raid::geometry::{Geometry, Level, Mapping, RowLayout};
use platter_raid::gf;
use std::rc::Rc;

use crate::bytes::is_zero;
use crate::naturalness::repeat_rate;
use crate::sample::Samples;

/// Largest block measured (smaller when the chunk is smaller).
const BLOCK: usize = 4096;
/// Word the masks are computed on.
const WORD: usize = 8;
/// A claim is judged on at least this many bytes, and at least a quarter
/// of the block.
const MIN_JUDGED_BYTES: usize = 256;
/// A mixture is more novel than the most novel block it was computed from
/// by at least this; one data block is less novel than the most novel by
/// at least this, and not less novel than the least novel by more than
/// this (an XOR far less novel than all its inputs is aligned structure
/// cancelling, not data). Otherwise the claim is not judged.
const NOVELTY_MARGIN: f64 = 0.05;
/// A direct data block with at least this repeat rate reads as file data
/// (for the per-slot tallies).
const NATURAL: f64 = 0.25;
/// A direct data block below this repeat rate reads as parity or
/// compressed data.
const UNNATURAL: f64 = 0.10;
/// Block rows measured at most (bounds the work).
pub const MAX_BLOCK_ROWS: usize = 1024;
/// Block row candidates examined at most before sampling (bounds memory).
const MAX_CANDIDATES: usize = 1 << 16;
/// Judged claims needed before anything is said.
pub const MIN_JUDGED: u32 = 24;
/// [`prefer`]: the better geometry's implausibility must be lower by this.
pub const PREFER_MARGIN: f64 = 0.25;
/// [`prefer`]: the better geometry's implausibility at most.
pub const PREFER_MAX_IMPLAUSIBILITY: f64 = 0.2;

/// Judged blocks of one kind, and how many read as one block of data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Blocks judged.
    pub judged: u32,
    /// Of those, blocks that read as one block of file data (for direct
    /// blocks: repetitive; for an XOR: clearly less novel than the most
    /// novel block it was computed from).
    pub natural: u32,
}

impl Tally {
    /// Share of judged blocks that read as natural (0 when none judged).
    pub fn share(&self) -> f64 {
        if self.judged == 0 {
            0.0
        } else {
            f64::from(self.natural) / f64::from(self.judged)
        }
    }

    fn add(&mut self, natural: bool) {
        self.judged += 1;
        self.natural += u32::from(natural);
    }
}

/// How natural the data a geometry assembles from the samples is.
#[derive(Debug, Clone, PartialEq)]
pub struct Plausibility {
    /// Informative block rows measured.
    pub block_rows: usize,
    /// Data blocks read directly from present members (repeat rate).
    pub direct: Tally,
    /// Direct data blocks per slot: a slot that reads as data much less
    /// often than the others holds parity (in a rotating pattern across
    /// slots for RAID5 read as RAID0).
    pub by_slot: Vec<Tally>,
    /// Blocks the geometry reads as P or Q (repeat rate).
    pub parity: Tally,
    /// Data blocks of missing slots, rebuilt from P and/or Q: natural
    /// ones agree with the geometry.
    pub rebuilt: Tally,
    /// XORs of the data blocks of complete rows: natural ones contradict
    /// the geometry.
    pub mixture: Tally,
    /// Block rows with at least two natural direct data blocks and exactly
    /// one unnatural one: what parity read as data looks like.
    pub odd_rows: usize,
    /// The slot of that unnatural block, per slot.
    pub odd_by_slot: Vec<usize>,
}

impl Plausibility {
    /// Judged claims: rebuilt blocks and mixtures.
    pub fn judged(&self) -> u32 {
        self.rebuilt.judged + self.mixture.judged
    }

    /// Claims the content contradicts: rebuilt blocks that read as
    /// mixtures, and mixtures that read as one block of data.
    pub fn contradictions(&self) -> u32 {
        (self.rebuilt.judged - self.rebuilt.natural) + self.mixture.natural
    }

    /// Share of judged claims contradicted, in `[0, 1]`: near 0 for the
    /// true geometry, near `n/(n+1)` for a RAID0 read as degraded RAID5
    /// and the reverse.
    pub fn implausibility(&self) -> f64 {
        match self.judged() {
            0 => 0.0,
            j => f64::from(self.contradictions()) / f64::from(j),
        }
    }
}

/// Which of two geometries the content prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preference {
    /// The first.
    First,
    /// The second.
    Second,
}

/// The geometry the content clearly prefers, or `None` when either has no
/// verdict or they are too close: the better one must be plausible
/// ([`PREFER_MAX_IMPLAUSIBILITY`]) and ahead by [`PREFER_MARGIN`].
pub fn prefer(a: Option<&Plausibility>, b: Option<&Plausibility>) -> Option<Preference> {
    let (ia, ib) = (a?.implausibility(), b?.implausibility());
    if ia + PREFER_MARGIN <= ib && ia <= PREFER_MAX_IMPLAUSIBILITY {
        Some(Preference::First)
    } else if ib + PREFER_MARGIN <= ia && ib <= PREFER_MAX_IMPLAUSIBILITY {
        Some(Preference::Second)
    } else {
        None
    }
}

/// Measures how natural the data assembled under `g` is over the sampled
/// windows (`member_sizes[i]`: the length of image `i`). `None` for levels
/// other than RAID0/4/5/6, geometries that do not resolve, and when the
/// samples give fewer than [`MIN_JUDGED`] judged claims (content that
/// does not repeat, all zero, too little sampled).
pub fn plausibility(samples: &Samples, g: &Geometry, member_sizes: &[u64]) -> Option<Plausibility> {
    if !matches!(
        g.level,
        Level::Raid0 | Level::Raid4 | Level::Raid5 | Level::Raid6
    ) {
        return None;
    }
    let sizes: Vec<Option<u64>> = member_sizes.iter().map(|&s| Some(s)).collect();
    let mapping = g.mapping(&sizes).ok()?;
    let chunk = usize::try_from(g.chunk_bytes).ok()?;
    let unit = chunk.min(BLOCK);
    let units = block_rows(samples, g, &mapping, unit)?;
    let mut m = Measure::new(g.slots.len(), unit);
    let step = units.len().div_ceil(MAX_BLOCK_ROWS).max(1);
    for (layout, in_chunk) in units.iter().step_by(step) {
        m.block_row(samples, g, layout, *in_chunk);
    }
    let p = m.out;
    (p.judged() >= MIN_JUDGED).then_some(p)
}

/// A block row: the layout of its row (shared by the block rows of one
/// row) and its offset inside the chunk.
type BlockRow = (Rc<RowLayout>, usize);

/// The informative block rows of the samples under `g`: every `unit`-sized
/// stretch of a row whose blocks are all sampled and at least two of them
/// non-zero.
fn block_rows(
    samples: &Samples,
    g: &Geometry,
    mapping: &Mapping,
    unit: usize,
) -> Option<Vec<BlockRow>> {
    let chunk = g.chunk_bytes;
    let unit64 = unit as u64;
    // Block rows are enumerated along the first present slot.
    let (reference, ref_slot) = g
        .slots
        .iter()
        .enumerate()
        .find(|(_, s)| s.image.is_some())?;
    let ref_off = ref_slot.data_offset;
    let mut out = Vec::new();
    let mut last: Option<(u64, Option<Rc<RowLayout>>)> = None;
    for w in &samples.windows {
        let len = w.data.first().map_or(0, Vec::len) as u64;
        let end = w.offset.saturating_add(len);
        // First unit boundary at or after the window start.
        let start = if w.offset <= ref_off {
            ref_off
        } else {
            ref_off + (w.offset - ref_off).div_ceil(unit64) * unit64
        };
        let mut pos = start;
        while pos.saturating_add(unit64) <= end {
            if out.len() >= MAX_CANDIDATES {
                return Some(out);
            }
            let rel = pos - ref_off;
            let (row, in_chunk) = (rel / chunk, rel % chunk);
            pos += unit64;
            if in_chunk + unit64 > chunk {
                continue;
            }
            if last.as_ref().is_none_or(|(r, _)| *r != row) {
                last = Some((row, mapping.row(row).map(Rc::new)));
            }
            let Some((_, Some(layout))) = &last else {
                continue;
            };
            // RAID0 zones past the first: this member offset is not where
            // the reference slot holds the row.
            if layout.offset_in_member != row * chunk || !layout.slots().any(|s| s == reference) {
                continue;
            }
            let in_chunk = in_chunk as usize;
            let mut non_zero = 0usize;
            let mut complete = true;
            for slot in layout.slots() {
                let Some(img) = g.slots[slot].image else {
                    continue;
                };
                match block(samples, g, img, slot, layout, in_chunk, unit) {
                    Some(b) => non_zero += usize::from(!is_zero(b)),
                    None => complete = false,
                }
            }
            if complete && non_zero >= 2 {
                out.push((layout.clone(), in_chunk));
            }
        }
    }
    Some(out)
}

/// The sampled block of `slot` (image `img`) at `in_chunk` of the row, if
/// sampled.
fn block<'a>(
    samples: &'a Samples,
    g: &Geometry,
    img: usize,
    slot: usize,
    layout: &RowLayout,
    in_chunk: usize,
    unit: usize,
) -> Option<&'a [u8]> {
    let at = g.slots[slot]
        .data_offset
        .checked_add(layout.offset_in_member)?
        .checked_add(in_chunk as u64)?;
    let wi = samples.windows.partition_point(|w| w.offset <= at);
    let w = samples.windows.get(wi.checked_sub(1)?)?;
    let data = w.data.get(img)?;
    let start = usize::try_from(at - w.offset).ok()?;
    data.get(start..start.checked_add(unit)?)
}

/// The running measurement.
struct Measure {
    out: Plausibility,
    unit: usize,
    /// Rebuilt blocks (at most two) and the mixture.
    work: [Vec<u8>; 3],
    /// Word indices an XOR is compared on.
    mask: Vec<usize>,
    /// The compacted bytes of one block.
    compact: Vec<u8>,
}

impl Measure {
    fn new(slots: usize, unit: usize) -> Measure {
        Measure {
            out: Plausibility {
                block_rows: 0,
                direct: Tally::default(),
                by_slot: vec![Tally::default(); slots],
                parity: Tally::default(),
                rebuilt: Tally::default(),
                mixture: Tally::default(),
                odd_rows: 0,
                odd_by_slot: vec![0; slots],
            },
            unit,
            work: [vec![0; unit], vec![0; unit], vec![0; unit]],
            mask: Vec::with_capacity(unit / WORD),
            compact: Vec::with_capacity(unit),
        }
    }

    fn min_bytes(&self) -> usize {
        MIN_JUDGED_BYTES.max(self.unit / 4)
    }

    /// Novelty of `b` on the masked words.
    fn novelty(&mut self, b: &[u8]) -> f64 {
        self.compact.clear();
        for &i in &self.mask {
            self.compact.extend_from_slice(&b[i * WORD..(i + 1) * WORD]);
        }
        1.0 - repeat_rate(&self.compact)
    }

    /// A direct block on its non-zero words: `Some(true)` repetitive,
    /// `Some(false)` not, `None` too few bytes or in between.
    fn judge_direct(&mut self, b: &[u8]) -> Option<bool> {
        self.mask.clear();
        let words = b.chunks_exact(WORD).enumerate();
        self.mask.extend(
            words
                .filter(|(_, w)| w.iter().any(|&v| v != 0))
                .map(|(i, _)| i),
        );
        if self.mask.len() * WORD < self.min_bytes() {
            return None;
        }
        let r = 1.0 - self.novelty(b);
        if r >= NATURAL {
            Some(true)
        } else if r < UNNATURAL {
            Some(false)
        } else {
            None
        }
    }

    /// Does `x`, the XOR (or GF combination) of `inputs`, read as one
    /// block of data (`Some(true)`: clearly less novel than the most novel
    /// input) or as a mixture (`Some(false)`: clearly more novel than every
    /// input)? Compared on the words where `x` and at least two inputs are
    /// non-zero; `None` when those are too few or it is not clear.
    fn judge_xor(&mut self, x: &[u8], inputs: &[&[u8]]) -> Option<bool> {
        self.mask.clear();
        for (i, w) in x.chunks_exact(WORD).enumerate() {
            if w.iter().all(|&v| v == 0) {
                continue;
            }
            let at = i * WORD..(i + 1) * WORD;
            let busy = inputs
                .iter()
                .filter(|b| b[at.clone()].iter().any(|&v| v != 0))
                .count();
            if busy >= 2 {
                self.mask.push(i);
            }
        }
        if self.mask.len() * WORD < self.min_bytes() {
            return None;
        }
        let nx = self.novelty(x);
        let (mut least, mut most) = (f64::INFINITY, 0.0f64);
        for b in inputs {
            let n = self.novelty(b);
            least = least.min(n);
            most = most.max(n);
        }
        if nx >= most + NOVELTY_MARGIN {
            Some(false)
        } else if nx + NOVELTY_MARGIN <= most && nx + NOVELTY_MARGIN >= least {
            Some(true)
        } else {
            // About as novel as the most novel input, or far less novel
            // than every input: aligned structures (records, counters,
            // tables) cancel in the XOR. Neither says anything.
            None
        }
    }

    fn block_row(&mut self, samples: &Samples, g: &Geometry, layout: &RowLayout, in_chunk: usize) {
        let unit = self.unit;
        let get = |slot: usize| -> Option<&[u8]> {
            let img = g.slots.get(slot)?.image?;
            block(samples, g, img, slot, layout, in_chunk, unit)
        };
        self.out.block_rows += 1;
        // Direct data, in `data_slots` order; `None` for missing slots.
        let data: Vec<Option<&[u8]>> = layout.data_slots.iter().map(|&s| get(s)).collect();
        let (mut natural, mut odd) = (0usize, Vec::new());
        for (&slot, d) in layout.data_slots.iter().zip(&data) {
            let Some(v) = d.and_then(|d| self.judge_direct(d)) else {
                continue;
            };
            self.out.direct.add(v);
            self.out.by_slot[slot].add(v);
            if v {
                natural += 1;
            } else {
                odd.push(slot);
            }
        }
        if let ([slot], 2..) = (odd.as_slice(), natural) {
            self.out.odd_rows += 1;
            self.out.odd_by_slot[*slot] += 1;
        }
        for s in [layout.p, layout.q].into_iter().flatten() {
            if let Some(v) = get(s).and_then(|b| self.judge_direct(b)) {
                self.out.parity.add(v);
            }
        }
        let missing: Vec<usize> = (0..data.len()).filter(|&i| data[i].is_none()).collect();
        if missing.is_empty() {
            self.mixture(&data);
        } else {
            self.rebuild(layout, &data, &missing, &get);
        }
    }

    /// A complete row: the XOR of its data blocks must read as a mixture.
    fn mixture(&mut self, data: &[Option<&[u8]>]) {
        let inputs: Vec<&[u8]> = data.iter().flatten().copied().collect();
        if inputs.iter().filter(|b| !is_zero(b)).count() < 2 {
            return;
        }
        let mut x = std::mem::take(&mut self.work[2]);
        x.fill(0);
        for b in &inputs {
            gf::xor_into(&mut x, b);
        }
        if let Some(v) = self.judge_xor(&x, &inputs) {
            self.out.mixture.add(v);
        }
        self.work[2] = x;
    }

    /// Rebuilds the missing data blocks of a row (when its parity allows)
    /// and judges them: each must read as one block of data.
    fn rebuild<'a>(
        &mut self,
        layout: &RowLayout,
        data: &[Option<&'a [u8]>],
        missing: &[usize],
        get: &dyn Fn(usize) -> Option<&'a [u8]>,
    ) {
        let p = layout.p.and_then(get);
        let q = layout.q.and_then(get);
        let exps = &layout.q_exponents;
        let mut inputs: Vec<&[u8]> = data.iter().flatten().copied().collect();
        let [mut a, mut b, x] = std::mem::take(&mut self.work);
        let rebuilt = match (missing, p, q) {
            // One data block from P: P ⊕ the data present.
            ([_], Some(p), _) => {
                a.copy_from_slice(p);
                for d in data.iter().flatten() {
                    gf::xor_into(&mut a, d);
                }
                inputs.push(p);
                1
            }
            // One data block z from Q: (Q ⊕ Σ g^e·D) / g^e_z.
            ([z], None, Some(q)) if exps.len() == data.len() => {
                a.copy_from_slice(q);
                for (d, &e) in data.iter().zip(exps) {
                    if let Some(d) = d {
                        gf::mul_acc(&mut a, d, gf::exp(e.into()));
                    }
                }
                gf::mul_in_place(&mut a, gf::inv(gf::exp(exps[*z].into())));
                inputs.push(q);
                1
            }
            // Two data blocks x, y from P and Q:
            // D_x = (Q' ⊕ g^e_y·P') / (g^e_x ⊕ g^e_y), D_y = P' ⊕ D_x.
            ([zx, zy], Some(p), Some(q)) if exps.len() == data.len() => {
                // a = P', b = Q'.
                a.copy_from_slice(p);
                b.copy_from_slice(q);
                for (d, &e) in data.iter().zip(exps) {
                    if let Some(d) = d {
                        gf::xor_into(&mut a, d);
                        gf::mul_acc(&mut b, d, gf::exp(e.into()));
                    }
                }
                let (gx, gy) = (gf::exp(exps[*zx].into()), gf::exp(exps[*zy].into()));
                gf::mul_acc(&mut b, &a, gy);
                gf::mul_in_place(&mut b, gf::inv(gx ^ gy));
                // b = D_x; a = P' ⊕ D_x = D_y.
                gf::xor_into(&mut a, &b);
                inputs.push(p);
                inputs.push(q);
                2
            }
            // More missing than the parity covers.
            _ => 0,
        };
        if inputs.iter().filter(|v| !is_zero(v)).count() >= 2 {
            for blk in [&a, &b].into_iter().take(rebuilt) {
                if is_zero(blk) {
                    continue;
                }
                if let Some(v) = self.judge_xor(blk, &inputs) {
                    self.out.rebuilt.add(v);
                }
            }
        }
        self.work = [a, b, x];
    }
}

#[cfg(test)]
#[path = "degraded_tests.rs"]
mod tests;
