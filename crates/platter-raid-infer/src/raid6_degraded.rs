//! RAID6 with one member missing, from the one parity relation every row
//! still keeps.
//!
//! With `n` of `n + 1` slots present, no XOR vanishes on most rows, so the
//! RAID5/6 tests see no parity. Yet two parities minus one lost chunk
//! leave exactly one linear relation over GF(2^8) between the chunks
//! present in every row (`⊕ a_m · M_m = 0` at every byte), and its
//! coefficients depend on what the missing slot held:
//!
//! - **Q** missing: P and the data XOR to zero, `a = 1` for every member;
//! - **P** missing: `Q ⊕ ⊕ g^e_j · D_j = 0`, so Q has 1 and data `g^e_j`;
//! - **data `k`** missing: P ⊕ ⊕D_j rebuilds `D_k`, and Q ⊕ ⊕ g^e_j·D_j
//!   leaves `g^e_k · D_k`, so Q has 1, P `g^e_k`, the other data
//!   `g^e_j ⊕ g^e_k`.
//!
//! No coefficient is zero. The relation is read from the bytes alone
//! ([`relation`]: Gaussian elimination over the sector's byte rows), up to
//! a common factor, without knowing the geometry; unrelated data (RAID0, a
//! degraded RAID5 away from its parity copies) has none, because 512 byte
//! rows make `n` columns independent. Each layout, chunk size, data offset
//! and missing slot then predicts the relation of every sampled sector,
//! and a depth-first search seats the members slot by slot, pruning as
//! soon as the seated members contradict too many relations. md's
//! asymmetric and symmetric layouts share the coefficients of every
//! member (they number data from after Q), so the survivors are ranked by
//! the self-locating structures they explain, then checked by validation.

use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout, RowLayout};
use platter_raid::gf;
use rayon::prelude::*;
use std::collections::HashMap;

use crate::bytes::is_zero;
use crate::placement::{CHUNKS, PlacementTable};
use crate::sample::{SECTOR, Samples};
use crate::signals::Signals;

/// Sectors whose relation is computed at most (spread over the samples).
const MAX_SECTORS: usize = 1024;
/// Relations a geometry is checked against at most.
const MAX_CHECKS: usize = 256;
/// A geometry must agree with this share of the relations it judges.
pub const MIN_AGREEMENT: f64 = 0.9;
/// Relations judged at least.
const MIN_JUDGED: usize = 24;
/// Share of sectors with three or more non-zero members that must show a
/// relation with no zero coefficient for the test to run at all.
const MIN_RELATION_RATE: f64 = 0.8;
/// Share of those relations that must not be the plain XOR (all
/// coefficients equal): a degraded RAID5 shows only the XOR, where the
/// missing member's data is zero.
const MIN_GF_RATE: f64 = 0.3;
/// Most slots (members present plus the missing one).
const MAX_SLOTS: usize = 17;

/// The linear relation of one sector: `coef[m]` for member `m`, `None`
/// where its sector is all zero; scaled so the first known one is 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Member byte offset of the sector.
    pub offset: u64,
    /// The coefficients.
    pub coef: Vec<Option<u8>>,
}

impl Relation {
    fn known(&self) -> usize {
        self.coef.iter().flatten().count()
    }
    fn plain_xor(&self) -> bool {
        self.coef.iter().flatten().all(|&c| c == 1)
    }
}

/// The one GF(2^8) relation between the non-zero sectors
/// `sectors[m]` hold, when their byte rows leave exactly one (and it has
/// no zero coefficient); `None` otherwise.
pub fn relation(sectors: &[&[u8]]) -> Option<Vec<Option<u8>>> {
    let cols: Vec<usize> = (0..sectors.len())
        .filter(|&m| !is_zero(sectors[m]))
        .collect();
    let k = cols.len();
    if k < 2 {
        return None;
    }
    // Reduced row echelon basis of the byte rows seen so far.
    let mut basis: Vec<(usize, Vec<u8>)> = Vec::with_capacity(k);
    let mut null: Option<Vec<u8>> = None;
    let mut x = vec![0u8; k];
    let bytes: Vec<&[u8]> = cols.iter().map(|&m| sectors[m]).collect();
    for b in 0..SECTOR {
        for (xj, col) in x.iter_mut().zip(&bytes) {
            *xj = col[b];
        }
        if let Some(v) = &null {
            // The relation found must hold on every further byte row.
            let dot = x
                .iter()
                .zip(v)
                .fold(0u8, |acc, (&a, &c)| acc ^ gf::mul(a, c));
            if dot != 0 {
                return None;
            }
            continue;
        }
        for (p, row) in &basis {
            let f = x[*p];
            if f != 0 {
                for (xj, &rj) in x.iter_mut().zip(row) {
                    *xj ^= gf::mul(f, rj);
                }
            }
        }
        let Some(p) = x.iter().position(|&v| v != 0) else {
            continue;
        };
        let s = gf::inv(x[p]);
        let new: Vec<u8> = x.iter().map(|&v| gf::mul(v, s)).collect();
        for (_, row) in basis.iter_mut() {
            let f = row[p];
            if f != 0 {
                for (rj, &nj) in row.iter_mut().zip(&new) {
                    *rj ^= gf::mul(f, nj);
                }
            }
        }
        basis.push((p, new));
        if basis.len() == k {
            return None;
        }
        if basis.len() == k - 1 && b >= 4 * k {
            null = Some(null_vector(&basis, k));
        }
    }
    if basis.len() != k - 1 {
        return None;
    }
    let v = null.unwrap_or_else(|| null_vector(&basis, k));
    if v.contains(&0) {
        return None;
    }
    let s = gf::inv(v[0]);
    let mut coef = vec![None; sectors.len()];
    for (j, &m) in cols.iter().enumerate() {
        coef[m] = Some(gf::mul(v[j], s));
    }
    Some(coef)
}

/// The null vector of a reduced basis of rank `k − 1` over `k` columns:
/// the free column gets 1, each pivot the free column's entry of its row.
fn null_vector(basis: &[(usize, Vec<u8>)], k: usize) -> Vec<u8> {
    let free = (0..k)
        .find(|c| !basis.iter().any(|(p, _)| p == c))
        .unwrap_or(0);
    let mut v = vec![0u8; k];
    v[free] = 1;
    for (p, row) in basis {
        v[*p] = row[free];
    }
    v
}

/// The relations of up to [`MAX_SECTORS`] sectors with three or more
/// non-zero members, spread over the informative ones, and the share of
/// those sectors that show one. `None` when the share, or the share of
/// relations that are more than the plain XOR, is too low for a RAID6
/// with one member missing.
pub fn relations(samples: &Samples, signals: &Signals, n: usize) -> Option<Vec<Relation>> {
    let rich: Vec<_> = signals
        .obs
        .iter()
        .filter(|o| {
            let w = &samples.windows[o.window as usize];
            (0..n)
                .filter(|&m| !is_zero(w.sector(m, o.index as usize)))
                .count()
                >= 3
        })
        .collect();
    if rich.len() < MIN_JUDGED {
        return None;
    }
    let picked: Vec<_> = spread(rich.len(), MAX_SECTORS).map(|i| rich[i]).collect();
    let found: Vec<Relation> = picked
        .par_iter()
        .filter_map(|o| {
            let w = &samples.windows[o.window as usize];
            let sectors: Vec<&[u8]> = (0..n).map(|m| w.sector(m, o.index as usize)).collect();
            relation(&sectors).map(|coef| Relation {
                offset: o.offset,
                coef,
            })
        })
        .collect();
    let rate = found.len() as f64 / picked.len() as f64;
    let gf = found
        .iter()
        .filter(|r| r.known() >= 3 && !r.plain_xor())
        .count();
    (rate >= MIN_RELATION_RATE && gf as f64 >= MIN_GF_RATE * found.len() as f64).then_some(found)
}

/// Up to `k` indices into `0..len`, one from each of `k` equal stretches
/// at a pseudo-random place in it: a fixed stride over sectors of
/// equally sized windows could land on one row residue only.
fn spread(len: usize, k: usize) -> impl Iterator<Item = usize> {
    let k = k.min(len);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..k).map(move |i| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (lo, hi) = (i * len / k, (i + 1) * len / k);
        lo + (x % (hi - lo).max(1) as u64) as usize
    })
}

/// A geometry that agrees with the relations.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The array: `n + 1` slots, one of them missing.
    pub geometry: Geometry,
    /// Relations judged.
    pub judged: usize,
    /// Relations it agrees with.
    pub agreed: usize,
}

impl Fit {
    /// Share of the judged relations it agrees with.
    pub fn rate(&self) -> f64 {
        self.agreed as f64 / self.judged.max(1) as f64
    }
}

/// The relation each slot should show in one row: `pred[slot]`, with the
/// missing slot's entry unused.
fn predicted(t: &PlacementTable, row: u64, missing: usize, slots: usize) -> Option<Vec<u8>> {
    predicted_row(t.row(row), missing, slots)
}

/// [`predicted`] for one row layout.
fn predicted_row(r: &RowLayout, missing: usize, slots: usize) -> Option<Vec<u8>> {
    let (p, q) = (r.p?, r.q?);
    let mut pred = vec![0u8; slots];
    let exp = |e: u8| gf::exp(usize::from(e));
    if missing == q {
        for s in r.data_slots.iter().chain([&p]) {
            pred[*s] = 1;
        }
    } else if missing == p {
        pred[q] = 1;
        for (&s, &e) in r.data_slots.iter().zip(&r.q_exponents) {
            pred[s] = exp(e);
        }
    } else {
        let k = r.data_slots.iter().position(|&s| s == missing)?;
        let ek = exp(r.q_exponents[k]);
        pred[q] = 1;
        pred[p] = ek;
        for (&s, &e) in r.data_slots.iter().zip(&r.q_exponents) {
            if s != missing {
                pred[s] = exp(e) ^ ek;
            }
        }
    }
    Some(pred)
}

/// True when the row predicts the plain XOR: every present member's
/// coefficient the same (Q is the missing slot there). The missing slot's
/// entry is 0 in `pred` and every other is non-zero.
fn plain_xor_row(pred: &[u8]) -> bool {
    let mut present = pred.iter().filter(|&&p| p != 0);
    let first = present.next().copied();
    present.all(|&p| Some(p) == first)
}

/// One (layout, chunk, offset, missing slot) under test: the relations
/// at or after the offset and what each predicts.
struct Job<'a> {
    rels: Vec<&'a Relation>,
    preds: Vec<Vec<u8>>,
}

/// Counts (judged, contradicted) relations under a partial seating
/// (`seat[slot] = Some(image)`).
fn tally(job: &Job<'_>, seat: &[Option<usize>]) -> (usize, usize) {
    let (mut judged, mut bad) = (0, 0);
    for (r, pred) in job.rels.iter().zip(&job.preds) {
        let mut reference: Option<(u8, u8)> = None;
        let mut known = 0;
        let mut ok = true;
        for (slot, img) in seat.iter().enumerate() {
            let Some(img) = img else { continue };
            let Some(v) = r.coef[*img] else { continue };
            known += 1;
            match reference {
                None => reference = Some((v, pred[slot])),
                Some((v0, p0)) => {
                    // v / p must be the same factor for every member.
                    if gf::mul(v, p0) != gf::mul(pred[slot], v0) {
                        ok = false;
                    }
                }
            }
        }
        if known >= 2 {
            judged += 1;
            bad += usize::from(!ok);
        }
    }
    (judged, bad)
}

/// Depth-first seating of the members, slot by slot.
struct Seating<'a> {
    job: &'a Job<'a>,
    missing: usize,
    /// Contradicted relations allowed.
    budget: usize,
    seat: Vec<Option<usize>>,
    used: Vec<bool>,
    /// Seatings tried so far, bounded by [`MAX_NODES`].
    nodes: usize,
    /// Complete seatings: (order, judged, agreed).
    out: Vec<(Vec<Option<usize>>, usize, usize)>,
}

/// Partial seatings tried at most per geometry (relations that pin
/// nothing would otherwise let every permutation through).
const MAX_NODES: usize = 20_000;
/// Complete seatings kept at most per geometry.
const MAX_SEATINGS: usize = 16;

impl Seating<'_> {
    fn go(&mut self, slot: usize) {
        if slot == self.seat.len() {
            let (judged, bad) = tally(self.job, &self.seat);
            if judged >= MIN_JUDGED && self.out.len() < MAX_SEATINGS {
                self.out.push((self.seat.clone(), judged, judged - bad));
            }
            return;
        }
        if slot == self.missing {
            return self.go(slot + 1);
        }
        for img in 0..self.used.len() {
            if self.used[img] || self.nodes >= MAX_NODES {
                continue;
            }
            self.nodes += 1;
            self.seat[slot] = Some(img);
            if tally(self.job, &self.seat).1 <= self.budget {
                self.used[img] = true;
                self.go(slot + 1);
                self.used[img] = false;
            }
            self.seat[slot] = None;
        }
    }
}

/// Every RAID6 layout, chunk size, data offset in `offsets` and missing
/// slot whose predicted relations the members can be seated to agree
/// with, on at least [`MIN_AGREEMENT`] of the relations judged; best
/// first.
pub fn search(rels: &[Relation], n: usize, offsets: &[u64]) -> Vec<Fit> {
    let slots = n + 1;
    if !(4..=MAX_SLOTS).contains(&slots) {
        return Vec::new();
    }
    let mut jobs = Vec::new();
    for layout in ParityLayout::ALL {
        let Some(t) = PlacementTable::new(Level::Raid6, layout, slots) else {
            continue;
        };
        for &chunk in &CHUNKS {
            for &off in offsets {
                for missing in 0..slots {
                    jobs.push((layout, t.clone(), chunk, off, missing));
                }
            }
        }
    }
    let mut fits: Vec<Fit> = jobs
        .par_iter()
        .flat_map_iter(|(layout, t, chunk, off, missing)| {
            let mut rels: Vec<&Relation> = rels.iter().filter(|r| r.offset >= *off).collect();
            rels = spread(rels.len(), MAX_CHECKS).map(|i| rels[i]).collect();
            let mut job = Job {
                rels: Vec::new(),
                preds: Vec::new(),
            };
            for r in rels {
                if let Some(p) = predicted(t, (r.offset - off) / chunk, *missing, slots) {
                    job.rels.push(r);
                    job.preds.push(p);
                }
            }
            let total = job.rels.iter().filter(|r| r.known() >= 2).count();
            let budget = ((1.0 - MIN_AGREEMENT) * total as f64) as usize;
            // Whether a row shows the plain XOR does not depend on the
            // seating (Q missing there or not): most geometries fail here.
            let xor_misfits = job
                .rels
                .iter()
                .zip(&job.preds)
                .filter(|(r, p)| r.known() >= 3 && r.plain_xor() != plain_xor_row(p))
                .count();
            if xor_misfits > budget {
                return Vec::new().into_iter();
            }
            let mut dfs = Seating {
                job: &job,
                missing: *missing,
                budget,
                seat: vec![None; slots],
                used: vec![false; n],
                nodes: 0,
                out: Vec::new(),
            };
            dfs.go(0);
            let found = std::mem::take(&mut dfs.out);
            found
                .into_iter()
                .filter_map(|(order, judged, agreed)| {
                    let fit = Fit {
                        geometry: Geometry::new(
                            Level::Raid6,
                            Layout::Parity(*layout),
                            *chunk,
                            slots,
                        )
                        .with_order(&order)
                        .with_data_offset(*off),
                        judged,
                        agreed,
                    };
                    (fit.rate() >= MIN_AGREEMENT).then_some(fit)
                })
                .collect::<Vec<_>>()
                .into_iter()
        })
        .collect();
    fits.sort_by(|a, b| b.rate().total_cmp(&a.rate()).then(b.judged.cmp(&a.judged)));
    fits
}

/// Share of the sampled sectors that keep the one relation a RAID6
/// geometry with exactly one slot missing predicts for its row, among
/// those where at least two members present hold data; at most
/// `max_sectors` judged, spread over the samples. `None` when `g` is not
/// such a geometry (every member seated at one data offset) or fewer than
/// [`MIN_JUDGED`] sectors can be judged.
///
/// A true RAID6 with a member missing keeps the relation on every row it
/// has written; the XOR and GF(2^8) sums of unrelated chunks (a degraded
/// RAID5 or a RAID0 read as one) keep it nowhere.
pub fn geometry_agreement(
    samples: &Samples,
    g: &Geometry,
    sizes: &[Option<u64>],
    max_sectors: usize,
) -> Option<f64> {
    if g.level != Level::Raid6 {
        return None;
    }
    let missing: Vec<usize> = (0..g.slots.len())
        .filter(|&s| g.slots[s].image.is_none())
        .collect();
    let off = g.slots.first()?.data_offset;
    if missing.len() != 1 || g.slots.iter().any(|s| s.data_offset != off) {
        return None;
    }
    let missing = missing[0];
    let mapping = g.mapping(sizes).ok()?;
    let chunk = g.chunk_bytes.max(1);
    let per_window = max_sectors.div_ceil(samples.windows.len().max(1)).max(1);
    let mut preds: HashMap<u64, Option<Vec<u8>>> = HashMap::new();
    let (mut judged, mut agreed) = (0usize, 0usize);
    for w in &samples.windows {
        let mut taken = 0;
        for i in 0..w.sectors() {
            if taken >= per_window || judged >= max_sectors {
                break;
            }
            let Some(rel) = (w.offset + (i * SECTOR) as u64).checked_sub(off) else {
                continue;
            };
            let row = rel / chunk;
            let Some(pred) = preds
                .entry(row)
                .or_insert_with(|| {
                    mapping
                        .row(row)
                        .and_then(|r| predicted_row(&r, missing, g.slots.len()))
                })
                .as_ref()
            else {
                continue;
            };
            let present: Vec<(u8, &[u8])> = g
                .slots
                .iter()
                .zip(pred)
                .filter_map(|(s, &c)| s.image.map(|m| (c, w.sector(m, i))))
                .collect();
            if present.iter().filter(|(_, x)| !is_zero(x)).count() < 2 {
                continue;
            }
            taken += 1;
            judged += 1;
            let holds = (0..SECTOR).all(|b| {
                present
                    .iter()
                    .fold(0u8, |acc, (c, x)| acc ^ gf::mul(*c, x[b]))
                    == 0
            });
            agreed += usize::from(holds);
        }
    }
    (judged >= MIN_JUDGED).then(|| agreed as f64 / judged as f64)
}

#[cfg(test)]
#[path = "raid6_degraded_tests.rs"]
mod tests;
