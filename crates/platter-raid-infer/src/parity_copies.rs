//! Where RAID5 parity sits, from copies: in a row where only one data
//! chunk holds data at some sector, the parity chunk is a copy of it
//! there, so exactly two members hold the same non-zero sector at the
//! same offset. Within one row the parity member takes part in every such
//! copy and each data member only in its own, so a row whose copies name
//! two or more partners names its parity member: the one they share.
//!
//! This needs no repetitive content: it works on random and compressed
//! data, which [`crate::parity_pos`]'s repeat-rate test cannot read, as
//! long as the array is sparse somewhere (partly filled file systems,
//! zero-filled files, unwritten space between structures). Rows with one
//! partner only narrow the parity to two members; the rotation (residue
//! `k` of the row number puts parity on one member, a different one for
//! each `k`) settles the rest by elimination.
//!
//! Two data chunks can also be equal (a FAT and its copy side by side),
//! but then the parity of that sector is zero and the row's copies
//! disagree on a hub, or the residue's rows do: such rows count against
//! the chunk size and offset, which must explain nearly every row.

use std::collections::BTreeMap;

use crate::parity_pos::Rotation;
use crate::sample::{SECTOR, Samples};

/// Decided residues need this many rows with copies each.
const MIN_ROWS_PER_RESIDUE: usize = 2;
/// Rows with copies that disagree with their residue may be at most this
/// share of all rows with copies.
const MAX_CONFLICT_SHARE: f64 = 0.05;
/// Distinct byte values a copied sector must hold: fills and short
/// patterns (0xFF runs, repeated words) are equal anywhere.
const MIN_DISTINCT_BYTES: usize = 16;
/// Copies scanned at most (bounds the work).
const MAX_COPIES: usize = 1 << 16;

/// One copy: members `a` and `b` hold the same non-zero sector at member
/// offset `offset`, and every other member holds zeros there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Copy {
    pub(crate) offset: u64,
    pub(crate) a: usize,
    pub(crate) b: usize,
}

fn rich(sector: &[u8]) -> bool {
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in sector {
        if !std::mem::replace(&mut seen[b as usize], true) {
            distinct += 1;
            if distinct >= MIN_DISTINCT_BYTES {
                return true;
            }
        }
    }
    false
}

pub(crate) fn copies(samples: &Samples, n: usize) -> Vec<Copy> {
    let mut out = Vec::new();
    for w in &samples.windows {
        for i in 0..w.sectors() {
            let mut nz = (0..n).filter(|&m| w.sector(m, i).iter().any(|&x| x != 0));
            let (Some(a), Some(b), None) = (nz.next(), nz.next(), nz.next()) else {
                continue;
            };
            let sa = w.sector(a, i);
            if sa == w.sector(b, i) && rich(sa) {
                out.push(Copy {
                    offset: w.offset + (i * SECTOR) as u64,
                    a,
                    b,
                });
                if out.len() >= MAX_COPIES {
                    return out;
                }
            }
        }
    }
    out
}

/// Members that may hold a row's parity: those in every copy of the row
/// (a bit set; empty when the copies share no member).
pub(crate) fn row_sets(copies: &[Copy], chunk: u64, offset: u64) -> BTreeMap<u64, u32> {
    let mut rows: BTreeMap<u64, u32> = BTreeMap::new();
    for c in copies {
        let Some(rel) = c.offset.checked_sub(offset) else {
            continue;
        };
        let set = (1u32 << c.a) | (1 << c.b);
        *rows.entry(rel / chunk).or_insert(u32::MAX) &= set;
    }
    rows
}

/// The rotations the copies allow: one, or each way of seating the last
/// few members by elimination when their residues' copies name two
/// members each (too few sparse rows to settle them), for the structures
/// and validation to choose from.
fn rotations(copies: &[Copy], n: usize, slots: usize, chunk: u64, offset: u64) -> Vec<Rotation> {
    let rows = row_sets(copies, chunk, offset);
    let all = (1u32 << n) - 1;
    let mut residue = vec![all; slots];
    let mut count = vec![0usize; slots];
    let mut conflicts = 0usize;
    for (&r, &set) in &rows {
        let k = (r % slots as u64) as usize;
        if set == 0 || residue[k] & set == 0 {
            conflicts += 1;
            continue;
        }
        residue[k] &= set;
        count[k] += 1;
    }
    let total: usize = count.iter().sum::<usize>() + conflicts;
    if total == 0 || conflicts as f64 > MAX_CONFLICT_SHARE * total as f64 {
        return Vec::new();
    }
    // Elimination: a residue down to one member seats it; no other
    // residue may then hold it.
    let mut seated: Vec<Option<usize>> = vec![None; slots];
    loop {
        let mut changed = false;
        for k in 0..slots {
            if seated[k].is_some() || count[k] < MIN_ROWS_PER_RESIDUE {
                continue;
            }
            let taken = seated.iter().flatten().fold(0u32, |acc, &m| acc | 1 << m);
            let left = residue[k] & !taken;
            if left == 0 {
                return Vec::new();
            }
            if left.count_ones() == 1 {
                seated[k] = Some(left.trailing_zeros() as usize);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let open: Vec<usize> = (0..slots).filter(|&k| seated[k].is_none()).collect();
    let unseated: Vec<usize> = (0..n).filter(|m| !seated.contains(&Some(*m))).collect();
    let rotation = |seated: Vec<Option<usize>>, guessed: bool| {
        let decided: usize = (0..slots)
            .filter(|&k| seated[k].is_some())
            .map(|k| count[k])
            .sum();
        Rotation {
            chunk_bytes: chunk,
            data_offset: offset,
            parity: seated,
            guessed,
            rows: decided + conflicts,
            consistent: decided,
        }
    };
    match (slots - n, open.as_slice(), unseated.as_slice()) {
        (_, [], []) => vec![rotation(seated, false)],
        // A member missing: its residue shows no copies at all.
        (1, [k], []) if count[*k] == 0 => vec![rotation(seated, false)],
        // The residues left take the members left, each where its copies
        // allow.
        (0, open, left) if open.len() <= MAX_OPEN_RESIDUES => {
            let mut ways = Vec::new();
            seat_rest(&residue, open, left, &mut seated, &mut |s| {
                ways.push(s.to_vec())
            });
            // Even one way is a guess when it rests on residues with too
            // few rows to seat a member by elimination.
            let guessed = open.len() > 1;
            ways.into_iter().map(|s| rotation(s, guessed)).collect()
        }
        _ => Vec::new(),
    }
}

/// Residues left open by elimination that are completed in every way.
const MAX_OPEN_RESIDUES: usize = 2;

/// Calls `found` with each seating of the members `left` on the residues
/// `open` that every residue's copies allow.
fn seat_rest(
    residue: &[u32],
    open: &[usize],
    left: &[usize],
    seated: &mut [Option<usize>],
    found: &mut impl FnMut(&[Option<usize>]),
) {
    let Some((&k, rest)) = open.split_first() else {
        found(seated);
        return;
    };
    for (i, &m) in left.iter().enumerate() {
        if residue[k] >> m & 1 == 0 {
            continue;
        }
        seated[k] = Some(m);
        let others: Vec<usize> = left
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &x)| x)
            .collect();
        seat_rest(residue, rest, &others, seated, found);
        seated[k] = None;
    }
}

/// The parity rotations the copies show best over chunk sizes of 4 KiB to
/// 4 MiB and the given data offsets (several when offsets a whole number
/// of rows apart fit equally), or none when none is clear. `slots` is as
/// for [`crate::parity_pos::find`].
pub fn find(samples: &Samples, n: usize, slots: usize, offsets: &[u64]) -> Vec<Rotation> {
    if slots < 3 || n > 31 || !(n..=n + 1).contains(&slots) {
        return Vec::new();
    }
    let copies = copies(samples, n);
    if copies.is_empty() {
        return Vec::new();
    }
    crate::parity_pos::best(offsets, |chunk, off| {
        rotations(&copies, n, slots, chunk, off)
    })
}

/// Copies needed before they can name a constant parity member.
const MIN_CONSTANT_COPIES: usize = 32;
/// Share of the copies the constant parity member must take part in.
const CONSTANT_COPY_SHARE: f64 = 0.95;

/// The member that holds parity on every row (RAID4), from the copies: it
/// takes part in every one, while each member of a rotation takes part in
/// those of the rows it holds parity in and of its own sole data only.
/// Works on random data, which [`crate::parity_pos::constant_member`]
/// cannot read.
pub fn constant_member(samples: &Samples, n: usize) -> Option<usize> {
    if !(3..=31).contains(&n) {
        return None;
    }
    hub(&copies(samples, n), MIN_CONSTANT_COPIES, n)
}

/// The member that takes part in all but a few of at least `min` copies,
/// with two partners or more: copies that all pair the same two members
/// name neither (one of them holds all the sparse data sampled).
fn hub(all: &[Copy], min: usize, n: usize) -> Option<usize> {
    if all.len() < min {
        return None;
    }
    let mut part = vec![0usize; n];
    for c in all {
        part[c.a] += 1;
        part[c.b] += 1;
    }
    let (p, &top) = part.iter().enumerate().max_by_key(|(_, v)| **v)?;
    let partners = part
        .iter()
        .enumerate()
        .filter(|&(m, &v)| m != p && v >= 2 && v * 50 >= all.len())
        .count();
    (top as f64 >= CONSTANT_COPY_SHARE * all.len() as f64 && partners >= 2).then_some(p)
}

/// Copies a RAID0 reading must show around one member before its RAID4
/// reading is listed ([`raid0_as_degraded`]).
const MIN_HUB_COPIES: usize = 8;

/// RAID0 candidates this far down the list get their RAID4 readings
/// ([`raid0_as_degraded`]); more would push others out of validation.
const RAID0_READ_AS_DEGRADED: usize = 3;

/// A RAID4 (or parity-first/last RAID5) whose missing member is a data
/// member reads like a RAID0 over the members present, the parity member
/// in the missing member's place: the structures the missing chunks held
/// show in parity wherever the row's other chunks are zero, and explain
/// both readings alike. The copies tell them apart: the parity member
/// shares them with every other member. When a RAID0 candidate leads and
/// its copies name such a hub, the RAID4 reading (the hub holding parity,
/// its RAID0 slot missing and rebuilt from it) of each RAID0 candidate
/// among the first few (of the first only, with two members) is listed
/// after it, for file-system validation to weigh them.
pub(crate) fn raid0_as_degraded(
    cands: &mut Vec<crate::report::Candidate>,
    samples: &Samples,
    n: usize,
) {
    use platter_raid::geometry::{Layout, Level, ParityLayout};
    let raid0 = |c: &crate::report::Candidate| {
        c.level == Level::Raid0 && c.geometry.slots.iter().all(|s| s.image.is_some())
    };
    if !cands.first().is_some_and(raid0) || !(2..=31).contains(&n) {
        return;
    }
    let all = copies(samples, n);
    // Two members share every copy: either may hold parity.
    let hubs: Vec<usize> = if n == 2 {
        if all.len() < MIN_HUB_COPIES {
            return;
        }
        vec![0, 1]
    } else {
        hub(&all, MIN_HUB_COPIES, n).into_iter().collect()
    };
    let readings = |c: &crate::report::Candidate| -> Vec<crate::report::Candidate> {
        hubs.iter()
            .filter_map(|&h| {
                let mut g = c.geometry.clone();
                let at = g.slots.iter().position(|s| s.image == Some(h))?;
                let parity = g.slots[at];
                g.slots[at].image = None;
                g.slots.push(parity);
                g.level = Level::Raid4;
                g.layout = Layout::Parity(ParityLayout::ParityLast);
                Some(crate::report::Candidate::of(g, c.score, c.evidence.clone()))
            })
            .collect()
    };
    let mut out: Vec<crate::report::Candidate> = Vec::with_capacity(cands.len() + 4);
    for (i, c) in std::mem::take(cands).into_iter().enumerate() {
        // Of two members either may be parity: two readings each, for the
        // top only (more would crowd out the candidates validation fails,
        // which show that it discriminates).
        let more = if (i == 0 || (i < RAID0_READ_AS_DEGRADED && n > 2)) && raid0(&c) {
            readings(&c)
        } else {
            Vec::new()
        };
        out.push(c);
        for r in more {
            if !out.iter().any(|c| c.geometry == r.geometry) {
                out.push(r);
            }
        }
    }
    // A reading listed further down already goes (the first copy stays).
    let mut seen: Vec<platter_raid::geometry::Geometry> = Vec::new();
    out.retain(|c| {
        if seen.contains(&c.geometry) {
            return false;
        }
        seen.push(c.geometry.clone());
        true
    });
    *cands = out;
}

/// How `copies` agree with the parity placement of a RAID4/5 geometry
/// whose slots are all filled: `(agree, disagree)`, the copies that have
/// the row's parity member as one of their two members and those that do
/// not. `None` for other geometries.
///
/// Two layouts that seat the data rows the file system shows alike (a
/// RAID4 and a RAID5 rotation agreeing on the rows its metadata lies in)
/// differ in where parity sits in every row; the copies in sparse rows
/// tell. Equal data chunks (a FAT and its copy) disagree with every
/// layout, so only the difference between layouts means anything.
fn agreement(
    copies: &[Copy],
    g: &platter_raid::geometry::Geometry,
    sizes: &[Option<u64>],
) -> Option<(u64, u64)> {
    use platter_raid::geometry::Level;
    if !matches!(g.level, Level::Raid4 | Level::Raid5) {
        return None;
    }
    let images: Vec<usize> = g.slots.iter().map(|s| s.image).collect::<Option<_>>()?;
    let mapping = g.mapping(sizes).ok()?;
    let mut slot_of = vec![usize::MAX; sizes.len()];
    for (s, &i) in images.iter().enumerate() {
        *slot_of.get_mut(i)? = s;
    }
    let (mut agree, mut disagree) = (0, 0);
    let mut rows: BTreeMap<u64, Option<usize>> = BTreeMap::new();
    for c in copies {
        let (Some(&sa), Some(&sb)) = (slot_of.get(c.a), slot_of.get(c.b)) else {
            continue;
        };
        let (Some(a), Some(b)) = (g.slots.get(sa), g.slots.get(sb)) else {
            continue;
        };
        if a.data_offset != b.data_offset {
            continue;
        }
        let Some(rel) = c.offset.checked_sub(a.data_offset) else {
            continue;
        };
        let row = rel / g.chunk_bytes;
        let p = *rows
            .entry(row)
            .or_insert_with(|| mapping.row(row).and_then(|r| r.p));
        match p {
            Some(p) if p == sa || p == sb => agree += 1,
            Some(_) => disagree += 1,
            None => {}
        }
    }
    Some((agree, disagree))
}

/// Copies a layout must agree with before it can rule out others.
const MIN_AGREEING: u64 = 8;

/// Records in the evidence of the complete RAID4/5 candidates how the
/// copies agree with their parity placement.
pub(crate) fn weigh(
    cands: &mut [crate::report::Candidate],
    samples: &Samples,
    member_sizes: &[u64],
) {
    let n = member_sizes.len();
    if n > 31 {
        return;
    }
    let sizes: Vec<Option<u64>> = member_sizes.iter().map(|&b| Some(b)).collect();
    let mut found: Option<Vec<Copy>> = None;
    for c in cands.iter_mut() {
        if !crate::complete(c, n)
            || !matches!(
                c.level,
                platter_raid::geometry::Level::Raid4 | platter_raid::geometry::Level::Raid5
            )
        {
            continue;
        }
        let all = found.get_or_insert_with(|| copies(samples, n));
        c.evidence.parity_copies = agreement(all, &c.geometry, &sizes);
    }
}

/// True when the copies agree with nearly all of the parity placement of
/// `c` (one in twenty may disagree: equal data chunks).
pub(crate) fn clean(c: &crate::report::Candidate) -> bool {
    c.evidence
        .parity_copies
        .is_some_and(|(a, d)| a >= MIN_AGREEING && d * 20 <= a + d)
}

/// True when the copies contradict the parity placement of `c`: one in
/// ten of them or more (twice what a [`clean`] one may), four at least.
/// A rotation that shares a RAID4's parity member in one row of `n` still
/// meets many copies whose data member it takes for parity.
pub(crate) fn contradicted(c: &crate::report::Candidate) -> bool {
    c.evidence
        .parity_copies
        .is_some_and(|(a, d)| d >= 4 && d * 10 >= a + d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::SampleWindow;
    use crate::structures::test_support::noise;
    use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout};

    /// Random data, sparse: each 512-byte sector is random or zero (one
    /// in three random), as in a partly filled volume of compressed files.
    fn sparse(len: usize, seed: u64) -> Vec<u8> {
        let mut out = noise(seed, len);
        let picks = noise(seed ^ 0x5eed, len / 512);
        for (s, p) in out.chunks_mut(512).zip(picks) {
            if p % 3 != 0 {
                s.fill(0);
            }
        }
        out
    }

    /// An independent right-asymmetric RAID5 striper (md's algorithm 1):
    /// parity on disk `r mod n`, data on the others in disk order. With
    /// `parity_disk` set, parity sits on that disk in every row (RAID4).
    fn stripe(data: &[u8], n: usize, chunk: usize, parity_disk: Option<usize>) -> Vec<Vec<u8>> {
        let rows = data.len() / (chunk * (n - 1));
        let mut disks = vec![vec![0u8; rows * chunk]; n];
        for r in 0..rows {
            let p = parity_disk.unwrap_or(r % n);
            for d in 0..n - 1 {
                let src = &data[(r * (n - 1) + d) * chunk..][..chunk];
                let disk = if d < p { d } else { d + 1 };
                disks[disk][r * chunk..][..chunk].copy_from_slice(src);
                for (x, y) in disks[p][r * chunk..][..chunk].iter_mut().zip(src) {
                    *x ^= y;
                }
            }
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

    /// Images in the order `perm` (image `i` is disk `perm[i]`), and
    /// `order[slot]` = image.
    fn shuffled(disks: &[Vec<u8>], perm: &[usize]) -> (Vec<Vec<u8>>, Vec<Option<usize>>) {
        let mut order = vec![None; perm.len()];
        for (img, &disk) in perm.iter().enumerate() {
            order[disk] = Some(img);
        }
        (perm.iter().map(|&d| disks[d].clone()).collect(), order)
    }

    /// Copies pairing members `a` and `b` in row `row` of `chunk` bytes.
    fn copy_in(row: u64, chunk: u64, a: usize, b: usize) -> Copy {
        Copy {
            offset: row * chunk + 512,
            a,
            b,
        }
    }

    /// Too few sparse rows to settle two residues (each of their copies
    /// names the same two members): both seatings are rotations, for the
    /// structures and validation to choose from, not none (which left a
    /// rotation at twice the chunk, whose rows merge two, as the only one).
    #[test]
    fn residues_left_open_are_seated_every_way_the_copies_allow() {
        let c = 128 << 10;
        // Right-asymmetric over 4 members: parity on member r mod 4 in
        // truth; residues 2 and 3 are settled, 0 and 1 are not.
        let copies = [
            copy_in(0, c, 0, 1),
            copy_in(4, c, 0, 1),
            copy_in(2, c, 2, 3),
            copy_in(6, c, 2, 1),
            copy_in(10, c, 2, 0),
            copy_in(3, c, 3, 0),
            copy_in(7, c, 3, 2),
        ];
        let mut got: Vec<Vec<Option<usize>>> = rotations(&copies, 4, 4, c, 0)
            .into_iter()
            .map(|r| {
                assert_eq!(r.consistent, r.rows);
                assert!(r.guessed, "{r:?}");
                r.parity
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                vec![Some(0), Some(1), Some(2), Some(3)],
                vec![Some(1), Some(0), Some(2), Some(3)],
            ]
        );
    }

    #[test]
    fn sparse_random_raid5_shows_its_rotation_by_copies() {
        let (n, chunk) = (5, 32 << 10);
        let disks = stripe(&sparse(4 << 20, 7), n, chunk, None);
        let (images, order) = shuffled(&disks, &[2, 4, 0, 3, 1]);
        let s = samples(images);
        let found = find(&s, n, n, &[0, 4096]);
        assert_eq!(found.len(), 1, "{found:?}");
        let r = &found[0];
        assert_eq!((r.chunk_bytes, r.data_offset), (chunk as u64, 0));
        assert_eq!(r.consistent, r.rows, "{r:?}");
        let truth = Geometry::new(
            Level::Raid5,
            Layout::Parity(ParityLayout::RightAsymmetric),
            chunk as u64,
            n,
        )
        .with_order(&order);
        assert!(r.geometries().contains(&truth), "{:?}", r.geometries());
    }

    /// RAID4 puts every row's parity on one member, which cannot hold
    /// every residue; a RAID0 of sparse random data and dense random
    /// data hold no copies at all.
    #[test]
    fn constant_parity_raid0_and_dense_data_show_no_rotation() {
        let (n, chunk) = (4, 16 << 10);
        let raid4 = stripe(&sparse(3 << 20, 11), n, chunk, Some(3));
        assert!(find(&samples(raid4), n, n, &[0]).is_empty());
        let raid0 = crate::structures::test_support::stripe(&sparse(4 << 20, 12), n, chunk);
        assert!(find(&samples(raid0.clone()), n, n, &[0]).is_empty());
        assert!(find(&samples(raid0), n, n + 1, &[0]).is_empty());
        let dense = stripe(&noise(13, 3 << 20), n, chunk, None);
        assert!(find(&samples(dense), n, n, &[0]).is_empty());
    }

    /// Two data chunks equal in a row (a FAT and its copy side by side)
    /// share no member with the row's parity copies: the row contradicts
    /// itself and is not read as naming a parity member.
    #[test]
    fn equal_data_chunks_make_a_row_contradict_itself() {
        let c = |offset, a, b| Copy { offset, a, b };
        // Row 0: parity copies with two partners name member 2; row 1:
        // copies between data members 0 and 1 next to parity copies of 2
        // and 3 leave no common member.
        let copies = [c(0, 2, 0), c(512, 2, 1), c(4096, 0, 1), c(4608, 2, 3)];
        let rows = row_sets(&copies, 4096, 0);
        assert_eq!(rows[&0], 1 << 2);
        assert_eq!(rows[&1], 0);
        // A fill or a short pattern is equal anywhere and is no copy.
        assert!(!rich(&[0xff; 512]));
        assert!(!rich(&b"0123456789".repeat(52)[..512]));
        assert!(rich(&noise(3, 512)));
    }
    /// A sparse RAID4 (parity first) read as a RAID5 whose rotation
    /// seats row 0 alike: the copies agree with the RAID4's parity member
    /// in every row and contradict the rotation's in most.
    #[test]
    fn copies_tell_constant_parity_from_a_rotation() {
        use crate::report::{Candidate, Evidence};
        let (n, chunk) = (5, 16 << 10);
        let disks = stripe(&sparse(4 << 20, 21), n, chunk, Some(0));
        let (images, order) = shuffled(&disks, &[3, 0, 4, 1, 2]);
        let sizes: Vec<u64> = images.iter().map(|d| d.len() as u64).collect();
        let s = samples(images);
        let g = |level, layout, order: &[Option<usize>]| {
            Geometry::new(level, Layout::Parity(layout), chunk as u64, n).with_order(order)
        };
        let truth = g(Level::Raid4, ParityLayout::ParityFirst, &order);
        // Left-asymmetric puts row 0's parity on the last slot: the RAID4's
        // data members first, its parity member last.
        let mut rotated = order[1..].to_vec();
        rotated.push(order[0]);
        let rival = g(Level::Raid5, ParityLayout::LeftAsymmetric, &rotated);
        let mut open = rotated.clone();
        open[0] = None;
        let partial = g(Level::Raid5, ParityLayout::LeftAsymmetric, &open);
        let mut cands: Vec<Candidate> = [truth, rival, partial]
            .into_iter()
            .map(|g| Candidate::of(g, 1.0, Evidence::default()))
            .collect();
        weigh(&mut cands, &s, &sizes);
        let (a, d) = cands[0].evidence.parity_copies.unwrap();
        assert!(a > 100 && d == 0, "{a} {d}");
        assert!(clean(&cands[0]) && !contradicted(&cands[0]));
        let (a, d) = cands[1].evidence.parity_copies.unwrap();
        assert!(d > a, "{a} {d}");
        assert!(contradicted(&cands[1]) && !clean(&cands[1]));
        // A candidate with a slot open is not judged.
        assert_eq!(cands[2].evidence.parity_copies, None);
    }
    /// RAID4's parity member takes part in every copy, with several
    /// partners; a rotation spreads the copies over all members; copies
    /// that all pair the same two members name neither.
    #[test]
    fn the_hub_of_every_copy_is_the_constant_parity_member() {
        let (n, chunk) = (4, 16 << 10);
        let raid4 = stripe(&sparse(3 << 20, 31), n, chunk, Some(2));
        let (images, _) = shuffled(&raid4, &[2, 0, 3, 1]);
        // Disk 2 (parity) is image 0.
        assert_eq!(constant_member(&samples(images), n), Some(0));
        let raid5 = stripe(&sparse(3 << 20, 32), n, chunk, None);
        assert_eq!(constant_member(&samples(raid5), n), None);
        let data = sparse(1 << 20, 33);
        let pair = vec![data.clone(), vec![0; data.len()], data];
        assert_eq!(constant_member(&samples(pair), 3), None);
    }

    /// A RAID4 whose missing member held data reads as a RAID0 with the
    /// parity member in its place. Too few copies to call that member a
    /// constant parity member up front still name it as their hub, and the
    /// RAID4 reading is listed after the RAID0 one; a RAID0 holds no copies
    /// and gets no such reading. Of two members, either may be parity.
    #[test]
    fn a_raid0_reading_whose_copies_name_a_hub_gets_its_raid4_reading() {
        use crate::report::{Candidate, Evidence};
        let (n, chunk) = (4, 4 << 10);
        let disks = stripe(&sparse(96 << 10, 41), n, chunk, Some(3));
        // Disk 0 (data) is missing; images: disk 3 (parity), 1, 2.
        let images = vec![disks[3].clone(), disks[1].clone(), disks[2].clone()];
        let s = samples(images);
        let found = copies(&s, 3).len();
        assert!(
            (MIN_HUB_COPIES..MIN_CONSTANT_COPIES).contains(&found),
            "{found}"
        );
        assert_eq!(constant_member(&s, 3), None);
        let raid0 = |order: &[Option<usize>]| {
            let g = Geometry::new(
                Level::Raid0,
                Layout::default_for(Level::Raid0),
                chunk as u64,
                order.len(),
            )
            .with_order(order);
            Candidate::of(g, 1.0, Evidence::default())
        };
        let raid4 = |order: &[Option<usize>]| {
            Geometry::new(
                Level::Raid4,
                Layout::Parity(ParityLayout::ParityLast),
                chunk as u64,
                order.len(),
            )
            .with_order(order)
        };
        // Each RAID0 candidate near the top gets its reading after it.
        let mut cands = vec![
            raid0(&[Some(0), Some(1), Some(2)]),
            raid0(&[Some(1), Some(0), Some(2)]),
        ];
        raid0_as_degraded(&mut cands, &s, 3);
        assert_eq!(cands.len(), 4);
        assert_eq!(cands[1].geometry, raid4(&[None, Some(1), Some(2), Some(0)]));
        assert_eq!(cands[3].geometry, raid4(&[Some(1), None, Some(2), Some(0)]));
        // A RAID0 of the same data: no copies, no RAID4 reading.
        let plain = crate::structures::test_support::stripe(&sparse(96 << 10, 41), 3, chunk);
        let mut cands = vec![raid0(&[Some(0), Some(1), Some(2)])];
        raid0_as_degraded(&mut cands, &samples(plain), 3);
        assert_eq!(cands.len(), 1);
        // Two members present share every copy: both readings are listed.
        let disks = stripe(&sparse(96 << 10, 42), 3, chunk, Some(2));
        let s = samples(vec![disks[1].clone(), disks[2].clone()]);
        let mut cands = vec![raid0(&[Some(1), Some(0)])];
        raid0_as_degraded(&mut cands, &s, 2);
        let got: Vec<_> = cands[1..].iter().map(|c| c.geometry.clone()).collect();
        assert_eq!(
            got,
            [
                raid4(&[Some(1), None, Some(0)]),
                raid4(&[None, Some(0), Some(1)])
            ]
        );
    }
}
