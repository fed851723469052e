//! Delayed parity (HP Smart Array style: parity stays on one member for
//! `D` rows, the first group holding `F`) from the copies of
//! [`crate::parity_copies`]: in a sparse row the parity member holds a
//! copy of the row's lone data chunk, so each row with copies narrows its
//! parity member to the members those copies share.
//!
//! A grouping `(D, F)` maps row `r` to group `g` (0 below `F`, then one
//! group per `D` rows) and group `g` to rotation residue `g mod slots`;
//! every row of a residue must then share its parity member. The plain
//! rotation is `D = 1`. Too long a group puts rows of two true groups
//! together, too short a one breaks the rotation across groups, a wrong
//! `F` straddles a boundary: each shows as rows whose parity member
//! contradicts their residue's. The grouping the copies contradict least
//! wins, the simplest among equals (plain first, then short groups).
//!
//! Placing parity does not seat the data: the structure fit does that with
//! the grouping found here, and validation then weighs it against the
//! plain rotations that explain the same structures (a volume's metadata
//! often lies in the first rows, where a delayed layout and a plain one
//! agree).

use std::collections::BTreeMap;

use platter_raid::geometry::{DelayedParity, Level};

use crate::fit::{Equation, Shape};
use crate::search::{self, Scored};

use crate::parity_copies::{Copy, copies, row_sets};
use crate::sample::Samples;

/// Longest parity group the engine supports (`D`).
const MAX_ROWS_PER_GROUP: u32 = 32;
/// Rows with copies needed, once each residue's first row is set aside.
const MIN_TESTED_ROWS: usize = 12;
/// Share of the tested rows the winning grouping may contradict.
const MAX_CONFLICT_SHARE: f64 = 0.05;
/// The plain rotation must be contradicted this often, and by this share
/// of the tested rows at least, before a delayed grouping replaces it.
const MIN_PLAIN_CONFLICTS: usize = 4;
const MIN_PLAIN_CONFLICT_SHARE: f64 = 0.15;

/// `(tested, conflicts)` of one grouping: rows whose parity member set
/// was checked against an earlier row of their residue, and those of them
/// that share no member with it.
fn score(rows: &BTreeMap<u64, u32>, slots: usize, d: DelayedParity) -> (usize, usize) {
    let mut residue: Vec<Option<u32>> = vec![None; slots];
    let (mut tested, mut conflicts) = (0, 0);
    for (&r, &set) in rows {
        let k = (d.group(r) % slots as u64) as usize;
        match residue[k] {
            None => residue[k] = Some(set),
            Some(have) => {
                tested += 1;
                if have & set == 0 {
                    conflicts += 1;
                } else {
                    residue[k] = Some(have & set);
                }
            }
        }
    }
    (tested, conflicts)
}

/// The delayed-parity grouping the copies show for rows of `chunk` bytes
/// from member offset `offset` in an array of `slots` members, or `None`
/// when the plain rotation explains them as well (or nothing is clear).
fn grouping(rows: &BTreeMap<u64, u32>, slots: usize) -> Option<DelayedParity> {
    if slots < 3 {
        return None;
    }
    let plain = DelayedParity {
        rows_per_group: 1,
        first_group_rows: 1,
    };
    let (tested, plain_conflicts) = score(rows, slots, plain);
    if tested < MIN_TESTED_ROWS
        || plain_conflicts < MIN_PLAIN_CONFLICTS
        || (plain_conflicts as f64) < MIN_PLAIN_CONFLICT_SHARE * tested as f64
    {
        return None;
    }
    let mut best: Option<(usize, usize, DelayedParity)> = None;
    for every in 2..=MAX_ROWS_PER_GROUP {
        // F = D first: the full first group is the usual one.
        for first in (1..=every).rev() {
            let d = DelayedParity {
                rows_per_group: every,
                first_group_rows: first,
            };
            let (t, c) = score(rows, slots, d);
            if t < MIN_TESTED_ROWS {
                continue;
            }
            // Fewer conflicts per tested row wins; the first found
            // (shorter groups) among equals.
            if best.is_none_or(|(bt, bc, _)| c * bt < bc * t) {
                best = Some((t, c, d));
            }
        }
    }
    let (t, c, d) = best?;
    (c as f64 <= MAX_CONFLICT_SHARE * t as f64).then_some(d)
}

/// Each row's possible parity members (a bit set), from the copies and
/// from the repeat rates: rows where the two disagree are left out.
fn parity_rows(
    copies: &[Copy],
    blocks: &[crate::parity_pos::BlockRow],
    n: usize,
    chunk: u64,
    offset: u64,
) -> BTreeMap<u64, u32> {
    let mut rows = row_sets(copies, chunk, offset);
    for (r, p) in crate::parity_pos::decided_rows(blocks, n, chunk, offset) {
        *rows.entry(r).or_insert(u32::MAX) &= 1 << p;
    }
    rows.retain(|_, set| *set != 0);
    rows
}

/// The delayed groupings the copies show at each `(chunk, offset)` of
/// `at` (the best plain fits' chunk sizes and data offsets), for an array
/// of `slots` members of which the `n` images are present.
fn groupings(
    samples: &Samples,
    n: usize,
    slots: usize,
    at: &[(u64, u64)],
) -> Vec<(DelayedParity, u64, u64)> {
    if n > 31 || at.is_empty() {
        return Vec::new();
    }
    let all = copies(samples, n);
    let blocks = crate::parity_pos::measure(samples, n);
    let mut done: Vec<(u64, u64)> = Vec::new();
    let mut out: Vec<(DelayedParity, u64, u64)> = Vec::new();
    for &(chunk, offset) in at {
        if chunk == 0 || done.contains(&(chunk, offset)) {
            continue;
        }
        done.push((chunk, offset));
        if let Some(d) = grouping(&parity_rows(&all, &blocks, n, chunk, offset), slots) {
            out.push((d, chunk, offset));
        }
    }
    out
}

/// Best plain RAID5 fits whose chunk size and offset are checked.
const TRIES: usize = 8;

/// The structure fits of the delayed groupings the content shows at the
/// chunk sizes and offsets of the best plain RAID5 fits of `found` (best
/// first) over `slots` members, and at those chunks halved up to five
/// times: a plain rotation of `D` chunks places parity as groups of `D`
/// rows do. Only shapes `keep` accepts are fitted.
pub(crate) fn fits(
    samples: &Samples,
    eqs: &[Equation],
    n: usize,
    slots: usize,
    member_bytes: u64,
    found: &[Scored],
    keep: impl Fn(&Shape) -> bool,
) -> Vec<Scored> {
    let at: Vec<(u64, u64)> = found
        .iter()
        .filter(|s| {
            s.shape.level == Level::Raid5 && s.shape.slots == slots && s.shape.delayed.is_none()
        })
        .take(TRIES)
        .flat_map(|s| {
            let g = &s.fit.geometry;
            let offset = g.slots.first().map_or(0, |x| x.data_offset);
            (0..=5)
                .map(move |k| (g.chunk_bytes >> k, offset))
                .filter(|&(c, _)| c >= 4096 && c % 4096 == 0)
        })
        .collect();
    let mut out = Vec::new();
    for (d, chunk, offset) in groupings(samples, n, slots, &at) {
        let shapes: Vec<Shape> = search::delayed_shapes(slots, d)
            .filter(|s| keep(s))
            .collect();
        out.extend(search::run(
            eqs,
            n,
            member_bytes,
            &shapes,
            &[chunk],
            &[offset],
            crate::anchored::MIN_EXPLAINED,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies of a RAID5 with delayed parity: `rows` rows of `chunk`
    /// bytes, parity of row `r` on member `parity(group)`, each row with
    /// one copy pairing parity with a data member.
    fn copies_of(d: DelayedParity, slots: usize, chunk: u64, rows: u64) -> Vec<Copy> {
        (0..rows)
            .map(|r| {
                let g = d.group(r);
                // left-asymmetric: parity on slot n-1-(g mod n).
                let p = slots - 1 - (g % slots as u64) as usize;
                let pick = (r.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33) as usize;
                let data = (p + 1 + pick % (slots - 1)) % slots;
                Copy {
                    offset: r * chunk + 512,
                    a: p.min(data),
                    b: p.max(data),
                }
            })
            .collect()
    }

    #[test]
    fn the_grouping_the_copies_follow_is_found() {
        for (every, first) in [(4, 1), (4, 4), (8, 3), (16, 16), (2, 1)] {
            let d = DelayedParity {
                rows_per_group: every,
                first_group_rows: first,
            };
            let rows = row_sets(&copies_of(d, 5, 65536, 400), 65536, 0);
            assert_eq!(grouping(&rows, 5), Some(d), "{every}/{first}");
        }
    }

    #[test]
    fn a_plain_rotation_is_left_plain() {
        let d = DelayedParity {
            rows_per_group: 1,
            first_group_rows: 1,
        };
        let rows = row_sets(&copies_of(d, 5, 65536, 400), 65536, 0);
        assert_eq!(grouping(&rows, 5), None);
    }

    #[test]
    fn too_few_rows_say_nothing() {
        let d = DelayedParity {
            rows_per_group: 4,
            first_group_rows: 1,
        };
        let rows = row_sets(&copies_of(d, 5, 65536, 10), 65536, 0);
        assert_eq!(grouping(&rows, 5), None);
    }
}
