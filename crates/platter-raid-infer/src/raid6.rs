//! RAID6 candidates: exact, from the Q member located per sector and the
//! GF(2^8) syndrome recomputed under each candidate.
//!
//! 1. For every layout × chunk size, the per-sector Q member observations
//!    must follow the layout's Q rotation: count, per slot, which image
//!    holds Q. Layouts that fit pin the image of every Q slot.
//! 2. For each fitting (layout, chunk), every member order compatible with
//!    those pins is scored by recomputing P and Q from the data members
//!    with the layout's Q exponents: a right candidate matches every
//!    informative sector, a wrong one almost none.

use platter_raid::geometry::{Level, ParityLayout};
use platter_raid::gf;
use rayon::prelude::*;

use crate::placement::{CHUNKS, PlacementTable, permutations};
use crate::sample::{SECTOR, Samples};
use crate::signals::{SectorKind, SectorObs, Signals};

/// Fraction of Q observations a layout's rotation must explain.
const Q_FIT_MIN: f64 = 0.9;
/// Sectors recomputed per candidate.
const CHECK_SECTORS: usize = 192;
/// Candidates scoring below this after `EARLY_SECTORS` are dropped.
const EARLY_SECTORS: usize = 16;

/// A scored parity candidate (RAID6 or RAID5/4).
#[derive(Debug, Clone)]
pub struct Scored {
    /// Level.
    pub level: Level,
    /// Parity layout.
    pub layout: ParityLayout,
    /// Chunk size in bytes.
    pub chunk_bytes: u64,
    /// Data offset in bytes (every member).
    pub data_offset_bytes: u64,
    /// `order[slot]` = image index.
    pub order: Vec<usize>,
    /// Fraction of located Q sectors the rotation explains (RAID6).
    pub q_placement_rate: f64,
    /// Fraction of checked sectors whose P and Q recompute exactly (RAID6),
    /// or the continuity score (RAID5).
    pub score: f64,
    /// Sectors checked.
    pub checked_sectors: u64,
}

/// The sectors used for the syndrome check: spread over the Q-bearing
/// informative sectors at or after `offset`.
fn check_set(signals: &Signals, offset: u64) -> Vec<SectorObs> {
    let all: Vec<SectorObs> = signals
        .obs
        .iter()
        .filter(|o| {
            o.offset >= offset && matches!(o.kind, SectorKind::Q(_) | SectorKind::QAmbiguous)
        })
        .copied()
        .collect();
    if all.len() <= CHECK_SECTORS {
        return all;
    }
    (0..CHECK_SECTORS)
        .map(|i| all[i * all.len() / CHECK_SECTORS])
        .collect()
}

/// `mul[e][v]` = 2^e · v in GF(2^8), for the exponents RAID6 uses.
type MulTables = Vec<[u8; 256]>;

fn mul_tables(n: usize) -> MulTables {
    (0..n.max(1))
        .map(|e| {
            let c = gf::exp(e);
            let mut t = [0u8; 256];
            for (v, out) in t.iter_mut().enumerate() {
                // `v` < 256.
                *out = gf::mul(c, v as u8);
            }
            t
        })
        .collect()
}

/// One candidate under test.
struct Trial<'a> {
    t: &'a PlacementTable,
    chunk: u64,
    off: u64,
    order: &'a [usize],
}

/// True when P and Q of the sector recompute under the candidate.
fn sector_matches(samples: &Samples, o: &SectorObs, trial: &Trial<'_>, mul: &MulTables) -> bool {
    let w = &samples.windows[o.window as usize];
    let i = o.index as usize;
    let row = trial.t.row((o.offset - trial.off) / trial.chunk);
    let (Some(p), Some(q)) = (row.p, row.q) else {
        return false;
    };
    let order = trial.order;
    if let SectorKind::Q(img) = o.kind {
        if order[q] != img {
            return false;
        }
    }
    let ps = w.sector(order[p], i);
    let qs = w.sector(order[q], i);
    let mut data: Vec<(&[u8], &[u8; 256])> = Vec::with_capacity(row.data_slots.len());
    for (&slot, &e) in row.data_slots.iter().zip(&row.q_exponents) {
        let Some(m) = mul.get(usize::from(e)) else {
            return false;
        };
        data.push((w.sector(order[slot], i), m));
    }
    // Byte by byte, so a wrong candidate stops at its first mismatch.
    for b in 0..SECTOR {
        let (mut pv, mut qv) = (0u8, 0u8);
        for (d, m) in &data {
            pv ^= d[b];
            qv ^= m[usize::from(d[b])];
        }
        if pv != ps[b] || qv != qs[b] {
            return false;
        }
    }
    true
}

/// Scores one (layout, chunk, offset, order); `None` when it fails early.
fn score_order(
    samples: &Samples,
    checks: &[SectorObs],
    trial: &Trial<'_>,
    mul: &MulTables,
) -> Option<(f64, u64)> {
    let mut hits = 0usize;
    for (k, o) in checks.iter().enumerate() {
        if k == EARLY_SECTORS && hits * 2 < k {
            return None;
        }
        hits += usize::from(sector_matches(samples, o, trial, mul));
    }
    if checks.is_empty() {
        return None;
    }
    Some((hits as f64 / checks.len() as f64, checks.len() as u64))
}

/// How well the Q rotation of `t` at (`chunk`, `off`) explains the located
/// Q members, and the image pinned to each Q slot.
fn q_fit(
    signals: &Signals,
    t: &PlacementTable,
    n: usize,
    chunk: u64,
    off: u64,
) -> (f64, Vec<Option<usize>>) {
    let mut counts = vec![vec![0u64; n]; n];
    let mut total = 0u64;
    for o in &signals.obs {
        if let (SectorKind::Q(img), true) = (o.kind, o.offset >= off) {
            if let Some(q) = t.row((o.offset - off) / chunk).q {
                counts[q][img] += 1;
                total += 1;
            }
        }
    }
    if total == 0 {
        return (0.0, vec![None; n]);
    }
    let mut explained = 0u64;
    let mut pins = vec![None; n];
    for (slot, c) in counts.iter().enumerate() {
        let (img, &best) = c
            .iter()
            .enumerate()
            .max_by_key(|(_, v)| **v)
            .unwrap_or((0, &0));
        explained += best;
        if best > 0 {
            pins[slot] = Some(img);
        }
    }
    (explained as f64 / total as f64, pins)
}

/// Most slots left unpinned by the located Q members (their orders are
/// enumerated: 7! = 5040 per layout and chunk).
const MAX_FREE_SLOTS: usize = 7;

/// Every RAID6 candidate whose Q rotation fits, scored by the syndrome.
pub fn search(samples: &Samples, signals: &Signals, n: usize, offsets: &[u64]) -> Vec<Scored> {
    let mut jobs = Vec::new();
    for layout in ParityLayout::ALL {
        let Some(t) = PlacementTable::new(Level::Raid6, layout, n) else {
            continue;
        };
        for &chunk in &CHUNKS {
            for &off in offsets {
                let (fit, pins) = q_fit(signals, &t, n, chunk, off);
                // Slots Q never landed on are enumerated: only a few.
                let free = pins.iter().filter(|p| p.is_none()).count();
                if fit >= Q_FIT_MIN && free <= MAX_FREE_SLOTS {
                    jobs.push((layout, t.clone(), chunk, off, fit, pins));
                }
            }
        }
    }
    let mul = mul_tables(n);
    let checks: Vec<(u64, Vec<SectorObs>)> = offsets
        .iter()
        .map(|&o| (o, check_set(signals, o)))
        .collect();
    jobs.par_iter()
        .flat_map_iter(|(layout, t, chunk, off, fit, pins)| {
            let checks: &[SectorObs] = checks
                .iter()
                .find(|(o, _)| o == off)
                .map_or(&[], |(_, c)| c.as_slice());
            let mul = &mul;
            permutations(n, pins).into_iter().filter_map(move |order| {
                let trial = Trial {
                    t,
                    chunk: *chunk,
                    off: *off,
                    order: &order,
                };
                let (score, checked) = score_order(samples, checks, &trial, mul)?;
                Some(Scored {
                    level: Level::Raid6,
                    layout: *layout,
                    chunk_bytes: *chunk,
                    data_offset_bytes: *off,
                    order,
                    q_placement_rate: *fit,
                    score,
                    checked_sectors: checked,
                })
            })
        })
        .collect()
}
