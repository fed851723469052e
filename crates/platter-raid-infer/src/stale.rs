//! Stale members: a member that dropped out of the array and kept old data
//! while the others were written degraded. Parity then fails in the rows
//! written since, and only for that reason.
//!
//! Given a geometry with every slot filled, the sampled rows are checked:
//! - **RAID6** locates the odd member out in each inconsistent sector from
//!   the syndromes: with `P' = P ⊕ ΣDᵢ` and `Q' = Q ⊕ Σ gᵉⁱDᵢ`, a wrong data
//!   member z gives `Q' = g^{e_z}·P'` byte for byte, a wrong P gives
//!   `Q' = 0`, a wrong Q gives `P' = 0` (the kernel's and mdadm's RAID6
//!   check use the same algebra).
//! - **RAID5** cannot locate by algebra. Each member's content in the
//!   inconsistent rows is rebuilt from the others: only the stale member's
//!   rebuild is the *current* data, so self-locating structures are found
//!   in it, while rebuilding a fresh member from stale data gives garbage.
//!   The file systems of the arrays assembled without each member are also
//!   checked: only the one without the stale member passes.

use std::collections::HashMap;

use platter_core::Source;
use platter_raid::geometry::{Geometry, Level, Mapping, RowLayout};
use platter_raid::gf;
use serde::Serialize;

use crate::bytes::is_zero;
use crate::report::Candidate;
use crate::sample::{SECTOR, SampleWindow, Samples};
use crate::structures::scan;
use crate::validation;

/// Inconsistent sectors needed, and their share of those checked, before
/// a member is suspected: a member a few writes behind fails on few
/// sectors of an array holding little data (7 of 373 on a small ext4).
const MIN_INCONSISTENT_FEW: u64 = 4;
const MIN_INCONSISTENT_RATE: f64 = 0.01;
/// RAID6, whose syndromes name the member: this many at any rate.
const MIN_INCONSISTENT: u64 = 16;

/// Parity fails on enough of the checked sectors to suspect a member:
/// 4 sectors and 1 %; with `any_rate` (RAID6), 16 sectors at any rate.
fn suspicious(rc: &RowCheck, any_rate: bool) -> bool {
    let rate = rc.inconsistent as f64 / rc.checked.max(1) as f64;
    (any_rate && rc.inconsistent >= MIN_INCONSISTENT)
        || (rc.inconsistent >= MIN_INCONSISTENT_FEW && rate >= MIN_INCONSISTENT_RATE)
}
/// Share of located votes the stale member must hold (RAID6).
const LOCATOR_SHARE: f64 = 0.8;

/// A member found stale, with the evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaleMember {
    /// Index of the member image (as given).
    pub member: usize,
    /// Its slot in the geometry.
    pub slot: usize,
    /// Informative sectors checked under the geometry.
    pub checked_sectors: u64,
    /// Of those, sectors whose parity does not hold.
    pub inconsistent_sectors: u64,
    /// How the member was identified, in plain words.
    pub evidence: String,
}

/// What the sampled rows say under a geometry.
#[derive(Debug, Clone, Default)]
struct RowCheck {
    checked: u64,
    inconsistent: u64,
    /// RAID6 syndrome votes per slot.
    votes: HashMap<usize, u64>,
    /// (window, first sector, sectors) runs of inconsistent sectors.
    runs: Vec<(usize, usize, usize)>,
}

fn check_rows(samples: &Samples, g: &Geometry, sizes: &[Option<u64>]) -> Option<RowCheck> {
    check_rows_limited(samples, g, sizes, u64::MAX)
}

/// Fraction of informative sampled sectors whose P and Q recompute under
/// `g` (every slot filled), over at most `max_sectors` sectors; `None`
/// when the geometry does not resolve or nothing was checked.
pub fn parity_rate(
    samples: &Samples,
    g: &Geometry,
    sizes: &[Option<u64>],
    max_sectors: u64,
) -> Option<f64> {
    let rc = check_rows_limited(samples, g, sizes, max_sectors)?;
    (rc.checked > 0).then(|| 1.0 - rc.inconsistent as f64 / rc.checked as f64)
}

/// Sectors a limited check takes from each window in its first pass, at
/// least.
const MIN_SHARE: u64 = 16;

/// One row's parity checked on one sector of a window.
struct SectorCheck<'a> {
    mapping: &'a Mapping,
    rows: HashMap<u64, Option<RowLayout>>,
    chunk: u64,
    off: u64,
    images: Vec<usize>,
}

impl SectorCheck<'_> {
    /// Sector `i` of window `w`: `None` when it says nothing (outside the
    /// data area, or a blank row), else whether its row's P (and Q) hold
    /// and, when they do not, the slot the syndromes name.
    fn check(&mut self, w: &SampleWindow, i: usize) -> Option<(bool, Option<usize>)> {
        let pos = w.offset + (i * SECTOR) as u64;
        let row = pos.checked_sub(self.off)? / self.chunk;
        let mapping = self.mapping;
        let layout = self
            .rows
            .entry(row)
            .or_insert_with(|| mapping.row(row))
            .as_ref()?;
        let sec = |slot: usize| w.sector(self.images[slot], i);
        // A blank row says nothing; one with a single non-zero sector
        // cannot be consistent (a data sector's parity equals it), which is
        // what a member that missed writes to free space leaves.
        if layout.slots().all(|s| is_zero(sec(s))) {
            return None;
        }
        let mut p = [0u8; SECTOR];
        let mut q = [0u8; SECTOR];
        for (d, &slot) in layout.data_slots.iter().enumerate() {
            let data = sec(slot);
            let coef = layout.q_exponents.get(d).map(|&e| gf::exp(e.into()));
            for b in 0..SECTOR {
                p[b] ^= data[b];
                if let Some(c) = coef {
                    q[b] ^= gf::mul(c, data[b]);
                }
            }
        }
        let pp = layout.p?;
        for (x, y) in p.iter_mut().zip(sec(pp)) {
            *x ^= y;
        }
        let Some(qs) = layout.q else {
            return Some((is_zero(&p), None));
        };
        for (x, y) in q.iter_mut().zip(sec(qs)) {
            *x ^= y;
        }
        let bad_slot = match (is_zero(&p), is_zero(&q)) {
            (true, true) => return Some((true, None)),
            (false, true) => Some(pp),
            (true, false) => Some(qs),
            (false, false) => locate_data(&p, &q, layout),
        };
        Some((false, bad_slot))
    }
}

/// Checks parity on the sampled sectors, at most `max_sectors` of them
/// that say something (`u64::MAX`: all, window by window). A limited
/// check first takes a share of every window, in [`spread_order`], then
/// the rest.
fn check_rows_limited(
    samples: &Samples,
    g: &Geometry,
    sizes: &[Option<u64>],
    max_sectors: u64,
) -> Option<RowCheck> {
    let mapping = g.mapping(sizes).ok()?;
    let mut sc = SectorCheck {
        mapping: &mapping,
        rows: HashMap::new(),
        chunk: g.chunk_bytes,
        off: g.slots.first()?.data_offset,
        images: g.slots.iter().map(|s| s.image).collect::<Option<_>>()?,
    };
    let mut rc = RowCheck::default();
    let limited = max_sectors != u64::MAX;
    let order = spread_order(samples.windows.len(), !limited);
    let share = if limited {
        (max_sectors / samples.windows.len().max(1) as u64).max(MIN_SHARE)
    } else {
        u64::MAX
    };
    // Where each window's second pass starts.
    let mut resume = vec![0usize; order.len()];
    for pass in 0..if limited { 2 } else { 1 } {
        for (k, &wi) in order.iter().enumerate() {
            if rc.checked >= max_sectors {
                break;
            }
            let w = &samples.windows[wi];
            let (from, mut taken) = (if pass == 0 { 0 } else { resume[k] }, 0u64);
            resume[k] = w.sectors();
            let mut run: Option<(usize, usize)> = None;
            for i in from..w.sectors() {
                if pass == 0 && taken >= share {
                    resume[k] = i;
                    break;
                }
                let Some((consistent, bad_slot)) = sc.check(w, i) else {
                    rc.runs.extend(run.take().map(|(s, l)| (wi, s, l)));
                    continue;
                };
                rc.checked += 1;
                taken += 1;
                if consistent {
                    rc.runs.extend(run.take().map(|(s, l)| (wi, s, l)));
                    continue;
                }
                rc.inconsistent += 1;
                if let Some(s) = bad_slot {
                    *rc.votes.entry(s).or_default() += 1;
                }
                run = Some(run.map_or((i, 1), |(s, l)| (s, l + 1)));
            }
            rc.runs.extend(run.map(|(s, l)| (wi, s, l)));
        }
    }
    Some(rc)
}

/// Window indices `0..n`, in order when every window is checked, else
/// spread out (bit-reversed order: 0, n/2, n/4, 3n/4, …), so that a check
/// stopped after a few sectors weighs rows all over the members. Checked
/// in order, a limited check saw only the first windows' rows, where a
/// layout read at half the true chunk agrees with the truth (row 0 of
/// either is the same) and passed as consistent.
fn spread_order(n: usize, in_order: bool) -> Vec<usize> {
    if in_order || n < 3 {
        return (0..n).collect();
    }
    let bits = usize::BITS - (n - 1).leading_zeros();
    (0..1usize << bits)
        .map(|i| i.reverse_bits() >> (usize::BITS - bits))
        .filter(|&i| i < n)
        .collect()
}

/// The data slot z with `Q' = g^{e_z}·P'` on every byte, if exactly one.
fn locate_data(p: &[u8; SECTOR], q: &[u8; SECTOR], layout: &RowLayout) -> Option<usize> {
    let b = p.iter().position(|&x| x != 0)?;
    let ratio = gf::div(q[b], p[b]);
    let e = gf::log(ratio)?;
    let d = layout.q_exponents.iter().position(|&x| x == e)?;
    let c = gf::exp(e.into());
    (0..SECTOR)
        .all(|i| gf::mul(c, p[i]) == q[i])
        .then(|| layout.data_slots[d])
}

/// Sampled sectors whose parity fails under `c` (RAID4/5/6 with every
/// slot filled), however few: (checked, inconsistent).
pub fn failures(samples: &Samples, members: &[&dyn Source], c: &Candidate) -> Option<(u64, u64)> {
    let g = &c.geometry;
    if !matches!(g.level, Level::Raid4 | Level::Raid5 | Level::Raid6) {
        return None;
    }
    let sizes: Vec<Option<u64>> = members.iter().map(|m| Some(m.len())).collect();
    let rc = check_rows(samples, g, &sizes)?;
    Some((rc.checked, rc.inconsistent))
}

/// Parity that fails under `c` (RAID4/5/6 with every slot filled) on
/// enough sampled sectors to suspect a stale member: (checked,
/// inconsistent) sectors, or `None` when parity holds (or cannot be
/// checked).
pub fn suspect(samples: &Samples, members: &[&dyn Source], c: &Candidate) -> Option<(u64, u64)> {
    failures(samples, members, c).filter(|&(checked, inconsistent)| {
        suspicious(
            &RowCheck {
                checked,
                inconsistent,
                ..RowCheck::default()
            },
            false,
        )
    })
}

/// Fraction of informative sampled sectors whose P and Q recompute under
/// the RAID6 geometry `g` once the failures the syndromes pin on one slot
/// are put down to that slot's member being stale (as [`detect`] would
/// find it), with that slot; `None` when no slot stands out.
pub fn raid6_rate_excusing_stale(
    samples: &Samples,
    g: &Geometry,
    sizes: &[Option<u64>],
) -> Option<(f64, usize)> {
    if g.level != Level::Raid6 {
        return None;
    }
    let rc = check_rows(samples, g, sizes)?;
    let located: u64 = rc.votes.values().sum();
    let (&slot, &top) = rc.votes.iter().max_by_key(|(_, v)| **v)?;
    if rc.checked == 0
        || rc.inconsistent < MIN_INCONSISTENT
        || (top as f64) < LOCATOR_SHARE * located as f64
        || (top as f64) < 0.5 * rc.inconsistent as f64
    {
        return None;
    }
    let good = rc.checked - rc.inconsistent + top;
    Some((good as f64 / rc.checked as f64, slot))
}

/// Looks for a stale member under `c` (RAID4/5/6 with every slot filled).
pub fn detect(samples: &Samples, members: &[&dyn Source], c: &Candidate) -> Option<StaleMember> {
    let g = &c.geometry;
    if !matches!(g.level, Level::Raid4 | Level::Raid5 | Level::Raid6) {
        return None;
    }
    let sizes: Vec<Option<u64>> = members.iter().map(|m| Some(m.len())).collect();
    let rc = check_rows(samples, g, &sizes)?;
    // RAID6 names the member: failures the syndromes pin on one slot are
    // evidence at any rate (a member that missed a few writes), while
    // unclean stripes would point at whichever member was being written.
    if !suspicious(&rc, g.level == Level::Raid6) {
        return None;
    }
    let image_of = |slot: usize| g.slots[slot].image;
    let rate = 100.0 * rc.inconsistent as f64 / rc.checked.max(1) as f64;
    if g.level == Level::Raid6 {
        let located: u64 = rc.votes.values().sum();
        let (&slot, &top) = rc.votes.iter().max_by_key(|(_, v)| **v)?;
        if (top as f64) < LOCATOR_SHARE * located as f64
            || (top as f64) < 0.5 * rc.inconsistent as f64
        {
            return None;
        }
        return Some(StaleMember {
            member: image_of(slot)?,
            slot,
            checked_sectors: rc.checked,
            inconsistent_sectors: rc.inconsistent,
            evidence: format!(
                "P and Q fail on {rate:.1}% of checked sectors; the RAID6 syndromes locate slot {slot} in {top} of the {} located sectors",
                located
            ),
        });
    }
    // RAID4/5: structures in each member's rebuild of the failing rows.
    let n = g.slots.len();
    let mut found = vec![0u64; n];
    for &(wi, start, len) in &rc.runs {
        let w = &samples.windows[wi];
        for (slot, count) in found.iter_mut().enumerate() {
            let mut rebuilt = vec![0u8; len * SECTOR];
            for (other, s) in g.slots.iter().enumerate() {
                if other == slot {
                    continue;
                }
                let Some(img) = s.image else { continue };
                let src = &w.data[img][start * SECTOR..(start + len) * SECTOR];
                for (d, x) in rebuilt.iter_mut().zip(src) {
                    *d ^= x;
                }
            }
            let mut anchors = Vec::new();
            scan(
                0,
                w.offset + (start * SECTOR) as u64,
                &rebuilt,
                &mut anchors,
            );
            *count += anchors.len() as u64;
        }
    }
    // The arrays without each member, checked on their file systems.
    let mut valid: Vec<Option<f64>> = vec![None; n];
    for (slot, v) in valid.iter_mut().enumerate() {
        let mut without = c.clone();
        without.geometry.slots[slot].image = None;
        *v = validation::check(members, &without)
            .filter(|v| v.checks >= validation::MIN_CHECKS)
            .and_then(|v| v.rate());
    }
    let best_struct = (0..n).max_by_key(|&s| found[s])?;
    let second_struct = (0..n)
        .filter(|&s| s != best_struct)
        .map(|s| found[s])
        .max()
        .unwrap_or(0);
    let by_structs = found[best_struct] >= 4 && found[best_struct] >= 4 * second_struct.max(1);
    let best_valid =
        (0..n).max_by(|&a, &b| valid[a].unwrap_or(0.0).total_cmp(&valid[b].unwrap_or(0.0)))?;
    let second_valid = (0..n)
        .filter(|&s| s != best_valid)
        .filter_map(|s| valid[s])
        .fold(0.0f64, f64::max);
    let by_valid =
        valid[best_valid].is_some_and(|v| v >= validation::VALID_RATE && v - second_valid >= 0.02);
    let slot = match (by_structs, by_valid) {
        (true, true) if best_struct != best_valid => return None,
        (true, _) => best_struct,
        (false, true) => best_valid,
        (false, false) => return None,
    };
    let mut evidence = format!("parity fails on {rate:.1}% of checked sectors");
    if by_structs {
        evidence.push_str(&format!(
            "; rebuilding slot {slot} from the others yields {} self-locating structures in the failing rows, any other slot at most {second_struct}",
            found[slot]
        ));
    }
    if let Some(v) = valid[slot] {
        evidence.push_str(&format!(
            "; the array without it passes {:.1}% of file-system checks, without any other member at most {:.1}%",
            v * 100.0,
            (0..n)
                .filter(|&s| s != slot)
                .filter_map(|s| valid[s])
                .fold(0.0f64, f64::max)
                * 100.0
        ));
    }
    Some(StaleMember {
        member: image_of(slot)?,
        slot,
        checked_sectors: rc.checked,
        inconsistent_sectors: rc.inconsistent,
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(checked: u64, inconsistent: u64) -> RowCheck {
        RowCheck {
            checked,
            inconsistent,
            ..RowCheck::default()
        }
    }

    /// A RAID6 left-symmetric of five at 32 KiB whose chunks hold data in
    /// their first half only, read at 16 KiB: every second row of that
    /// reading is blank, and its first row is the truth's first row, but
    /// after that its P and Q sit elsewhere. A check limited to a few
    /// sectors must weigh rows from all over the members, not the first
    /// window's only, or the wrong chunk passes as consistent (a layout at
    /// half the true chunk passed so beside an mdadm RAID6 over ext4).
    #[test]
    fn a_limited_check_weighs_rows_from_every_window() {
        use platter_raid::geometry::{Layout, ParityLayout};
        let (n, chunk, member) = (5usize, 32usize << 10, 1usize << 20);
        let order: Vec<Option<usize>> = (0..n).map(Some).collect();
        let g = |chunk: usize| {
            Geometry::new(
                Level::Raid6,
                Layout::Parity(ParityLayout::LeftSymmetric),
                chunk as u64,
                n,
            )
            .with_order(&order)
        };
        let truth = g(chunk);
        let sizes = vec![Some(member as u64); n];
        let mapping = truth.mapping(&sizes).unwrap();
        let mut disks = vec![vec![0u8; member]; n];
        let half = chunk / 2;
        for row in 0..(member / chunk) as u64 {
            let r = mapping.row(row).unwrap();
            let at = row as usize * chunk;
            let mut p = vec![0u8; half];
            let mut q = vec![0u8; half];
            for (d, &slot) in r.data_slots.iter().enumerate() {
                let data = crate::structures::test_support::noise(row * 8 + d as u64 + 1, half);
                let c = gf::exp(r.q_exponents[d].into());
                for b in 0..half {
                    p[b] ^= data[b];
                    q[b] ^= gf::mul(c, data[b]);
                }
                disks[slot][at..at + half].copy_from_slice(&data);
            }
            disks[r.p.unwrap()][at..at + half].copy_from_slice(&p);
            disks[r.q.unwrap()][at..at + half].copy_from_slice(&q);
        }
        let window = chunk;
        let samples = Samples {
            windows: (0..member / window)
                .map(|w| crate::sample::SampleWindow {
                    offset: (w * window) as u64,
                    data: disks
                        .iter()
                        .map(|d| d[w * window..(w + 1) * window].to_vec())
                        .collect(),
                })
                .collect(),
            bytes_read_per_member: member as u64,
            common_bytes: member as u64,
        };
        let limit = (half / SECTOR) as u64;
        assert_eq!(parity_rate(&samples, &truth, &sizes, limit), Some(1.0));
        let wrong = g(half);
        let rate = parity_rate(&samples, &wrong, &sizes, limit).unwrap();
        assert!(rate < 0.95, "half the chunk passes: {rate}");
        // The first window alone cannot tell them apart.
        let first = Samples {
            windows: samples.windows[..1].to_vec(),
            ..samples.clone()
        };
        assert_eq!(parity_rate(&first, &wrong, &sizes, limit), Some(1.0));
    }

    /// Seed 3 case 26 of the accuracy harness: a RAID5 (parity first)
    /// over a small FAT whose stale member fails parity on 10 of the 129
    /// sectors checked was answered confidently with that member.
    #[test]
    fn few_failures_over_little_data_are_suspicious() {
        assert!(suspicious(&rc(129, 10), false));
        assert!(suspicious(&rc(1000, 16), false));
        // A member a few writes behind on a small ext4 (test stale_fs).
        assert!(suspicious(&rc(373, 7), false));
        // A few unclean stripes among many consistent ones are not.
        assert!(!suspicious(&rc(5000, 10), false));
        assert!(!suspicious(&rc(100, 3), false));
        assert!(!suspicious(&rc(3000, 20), false));
        // RAID6 drops the 1 % floor: the syndromes name the member.
        assert!(suspicious(&rc(3000, 20), true));
        assert!(!suspicious(&rc(3000, 15), true));
    }
}
