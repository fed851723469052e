//! Exact geometry from self-locating structures.
//!
//! A structure that records its own position (an NTFS MFT record's number,
//! an ext superblock's group number, a GPT header's LBA) gives an equation:
//! *the array byte at (member, member offset) is byte `fs_offset` of some
//! address space*. For the right geometry every structure of one address
//! space lands at `fs_start + fs_offset` for one unknown `fs_start`.
//!
//! For a striped layout with chunk `c`, `k` data chunks per row and a data
//! offset `off`, an equation on member offset `o` says:
//! - its row is `r = (o − off) / c` and its place in the chunk is
//!   `p = (o − off) % c`;
//! - with `fs_start = S·c + s0` (`0 ≤ s0 < c`), `p ≡ s0 + fs_offset (mod c)`,
//!   so `s0` is fixed by each equation and must agree across one space;
//! - its logical chunk is `L = S + ⌊(s0 + fs_offset) / c⌋`, which must lie
//!   in row `r`: `L / k = r`. That bounds `S` to `k` values per equation,
//!   and the `S` shared by most equations is found by a sweep;
//! - the data index `L % k` names a slot through the layout's row table, so
//!   each equation *votes* for the slot of its member.
//!
//! A candidate (level, layout, chunk, offset, slot count) is scored by how
//! many equations vote consistently with one member order. No permutation
//! is enumerated, so it scales to 16 members, and a missing member is the
//! slot nobody votes for.

use std::collections::HashMap;

use platter_raid::geometry::{DelayedParity, Geometry, Layout, Level, Mapping, RowLayout};

mod linear;
pub use linear::fit_linear;

/// Disjoint runs of one space (MFT fragments, btrfs chunks) looked for.
const MAX_FRAGMENTS: usize = 8;

/// The address space whose offsets are absolute array offsets (MBR, GPT).
pub const ARRAY_SPACE: u64 = 0;

/// One self-location equation (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Equation {
    /// Member image index.
    pub member: usize,
    /// Byte offset on the member.
    pub member_offset: u64,
    /// Address space; [`ARRAY_SPACE`] means array offsets.
    pub space: u64,
    /// Byte offset the structure claims in its space.
    pub fs_offset: u64,
    /// The sampled sector at `member_offset` is non-zero on this member
    /// only: what a RAID4/5 parity member holding a copy of a missing
    /// member's chunk shows (see [`mark_lone`]).
    pub lone: bool,
}

/// Marks the equations whose sector, in the samples, is non-zero on
/// their member only.
pub fn mark_lone(eqs: &mut [Equation], samples: &crate::sample::Samples) {
    use crate::sample::SECTOR;
    for e in eqs.iter_mut() {
        e.lone = samples.windows.iter().any(|w| {
            let Some(rel) = e.member_offset.checked_sub(w.offset) else {
                return false;
            };
            let at = (rel / SECTOR as u64 * SECTOR as u64) as usize;
            let sector = |m: usize| w.data.get(m).and_then(|d| d.get(at..at + SECTOR));
            sector(e.member).is_some_and(|s| s.iter().any(|&b| b != 0))
                && (0..w.data.len())
                    .filter(|&m| m != e.member)
                    .all(|m| sector(m).is_some_and(|s| s.iter().all(|&b| b == 0)))
        });
    }
}

/// A striped layout to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// RAID0, RAID4, RAID5 or RAID6.
    pub level: Level,
    /// Its layout.
    pub layout: Layout,
    /// Delayed parity, if any.
    pub delayed: Option<DelayedParity>,
    /// Slots in the array (images present plus missing ones).
    pub slots: usize,
}

/// How well one shape, chunk and offset explain the equations.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The geometry, with `slots[i].image` set from the votes (`None` for
    /// a slot no member voted for).
    pub geometry: Geometry,
    /// Equations whose vote agrees with the chosen order.
    pub explained: usize,
    /// Equations that could be placed at all (inside the data area).
    pub considered: usize,
    /// Structures placed inside the data area that say nothing about this
    /// fit's order (a space whose structures all sit in one chunk of one
    /// member, or a space of one structure): consistent with it, like with
    /// any order. Not in `considered`. Another fit may split the same run
    /// across chunks and count it: ranking fits by what they explain must
    /// credit these too, or a wrong chunk that cuts an inode table in two
    /// outranks the true one that keeps it whole.
    pub neutral: usize,
    /// Address spaces that start exactly at array offset 0 under this fit
    /// (a file system or partition table at the array's start), counting
    /// array-offset equations it explains as one.
    pub origins_at_zero: usize,
    /// Other starts of the main space that explain as many structures as
    /// the one used (tried by [`fit`]).
    pub s_ties: Vec<i128>,
    /// Members whose slot no equation decided (assigned by elimination
    /// when only one slot was left, else left unassigned).
    pub undecided_members: Vec<usize>,
}

/// Weight of an unexplained structure against an explained one.
const MISS_WEIGHT: i64 = 3;

/// Rounds of moving one member into a free slot ([`fit`] on a degraded
/// array).
const MOVE_ROUNDS: usize = 2;

/// What one member order explains.
#[derive(Clone, Copy)]
struct Counts {
    considered: usize,
    explained: usize,
    neutral: usize,
}

impl Counts {
    fn merit(&self) -> i64 {
        (self.explained + self.neutral) as i64
            - MISS_WEIGHT * (self.considered - self.explained) as i64
    }
}

impl Fit {
    /// Explained structures minus a penalty for each unexplained one: a
    /// wrong geometry explains many by chance but leaves more unexplained.
    /// The structures the fit finds no order evidence in (`neutral`) count
    /// as explained, so that fits are weighed on the same structures.
    pub fn merit(&self) -> i64 {
        Counts {
            considered: self.considered,
            explained: self.explained,
            neutral: self.neutral,
        }
        .merit()
    }

    /// Fraction of considered equations explained.
    pub fn rate(&self) -> f64 {
        if self.considered == 0 {
            0.0
        } else {
            self.explained as f64 / self.considered as f64
        }
    }
}

/// Row layouts of a mapping, computed once per row.
struct Rows<'a> {
    mapping: &'a Mapping,
    cache: HashMap<u64, Option<RowLayout>>,
}

impl Rows<'_> {
    /// True when `slot` holds P or Q in `row`.
    fn is_parity(&mut self, row: u64, slot: usize) -> bool {
        let m = self.mapping;
        self.cache
            .entry(row)
            .or_insert_with(|| m.row(row))
            .as_ref()
            .is_some_and(|r| r.p == Some(slot) || r.q == Some(slot))
    }

    fn data_slot(&mut self, row: u64, index: usize) -> Option<usize> {
        let m = self.mapping;
        self.cache
            .entry(row)
            .or_insert_with(|| m.row(row))
            .as_ref()?
            .data_slots
            .get(index)
            .copied()
    }
}

/// Fits `shape` with chunk `chunk` and data offset `offset` (the same on
/// every member) to `eqs`, for `images` member images of `member_bytes`
/// bytes each. `None` when the engine rejects the shape or no equation
/// falls in the data area.
pub fn fit(
    eqs: &[Equation],
    images: usize,
    member_bytes: u64,
    shape: Shape,
    chunk: u64,
    offset: u64,
) -> Option<Fit> {
    let first = fit_inner(eqs, images, member_bytes, shape, chunk, offset, None, None)?;
    // When several starts S of the main space explain equally many
    // structures (they rarely cross a row boundary), each gives another
    // member order: try them all and keep the best.
    let mut best = first.clone();
    for &s in first.s_ties.iter().take(MAX_S_TIES) {
        if let Some(f) = fit_inner(
            eqs,
            images,
            member_bytes,
            shape,
            chunk,
            offset,
            None,
            Some(s),
        ) {
            if (f.merit(), f.origins_at_zero) > (best.merit(), best.origins_at_zero) {
                best = f;
            }
        }
    }
    Some(best)
}

/// [`fit`] without trying the tied starts of the main space: the cheap
/// first pass of a search.
pub fn fit_fast(
    eqs: &[Equation],
    images: usize,
    member_bytes: u64,
    shape: Shape,
    chunk: u64,
    offset: u64,
) -> Option<Fit> {
    fit_inner(eqs, images, member_bytes, shape, chunk, offset, None, None)
}

/// Alternative starts of the main space tried by [`fit`].
const MAX_S_TIES: usize = 8;

/// How many equations a given geometry (RAID0/4/5/6, one data offset for
/// all members) explains, with its own member order instead of the voted
/// one.
pub fn explain(eqs: &[Equation], images: usize, member_bytes: u64, g: &Geometry) -> Option<Fit> {
    let shape = Shape {
        level: g.level,
        layout: g.layout,
        delayed: g.delayed_parity,
        slots: g.slots.len(),
    };
    let offset = g.slots.first()?.data_offset;
    let order: Vec<Option<usize>> = g.slots.iter().map(|s| s.image).collect();
    let run = |pick| {
        fit_inner(
            eqs,
            images,
            member_bytes,
            shape,
            g.chunk_bytes,
            offset,
            Some(order.clone()),
            pick,
        )
    };
    let first = run(None)?;
    let mut best = first.clone();
    for &s in first.s_ties.iter().take(MAX_S_TIES) {
        if let Some(f) = run(Some(s)) {
            if f.explained > best.explained {
                best = f;
            }
        }
    }
    Some(best)
}

#[allow(clippy::too_many_arguments)]
fn fit_inner(
    eqs: &[Equation],
    images: usize,
    member_bytes: u64,
    shape: Shape,
    chunk: u64,
    offset: u64,
    fixed: Option<Vec<Option<usize>>>,
    pick: Option<i128>,
) -> Option<Fit> {
    if chunk == 0 || member_bytes <= offset || shape.slots < images {
        return None;
    }
    let mut g =
        Geometry::new(shape.level, shape.layout, chunk, shape.slots).with_data_offset(offset);
    g.delayed_parity = shape.delayed;
    let sizes = vec![Some(member_bytes); shape.slots];
    let mapping = g.mapping(&sizes).ok()?;
    let k = match shape.level {
        Level::Raid0 => shape.slots,
        _ => mapping.data_disks()?,
    } as u64;
    let slot_bytes = mapping.slot_sizes().first().copied()?;
    // Per equation: row, logical chunk past S (q) and the S interval.
    struct Placed {
        member: usize,
        member_offset: u64,
        fs_offset: u64,
        row: u64,
        q: u64,
        space: u64,
        s0: u64,
        lone: bool,
    }
    let mut placed = Vec::with_capacity(eqs.len());
    for e in eqs {
        let Some(rel) = e.member_offset.checked_sub(offset) else {
            continue;
        };
        if rel >= slot_bytes || e.member >= images {
            continue;
        }
        let row = rel / chunk;
        let pos = rel % chunk;
        let s0 = (pos + chunk - e.fs_offset % chunk) % chunk;
        if e.space == ARRAY_SPACE && s0 != 0 {
            // Absolute offsets need fs_start = 0: this one cannot be right.
            continue;
        }
        placed.push(Placed {
            member: e.member,
            member_offset: e.member_offset,
            fs_offset: e.fs_offset,
            row,
            q: (s0 + e.fs_offset) / chunk,
            space: e.space,
            s0,
            lone: e.lone,
        });
    }
    if placed.is_empty() {
        return None;
    }
    // Cells: the structures of one space in one chunk of one member. Any
    // start of the space places one cell's structures alike (an inode
    // table or an MFT run puts hundreds in one chunk): a run of the space
    // is evidence of the order only when it spans two cells.
    let mut cell_ids: HashMap<(u64, usize, u64), usize> = HashMap::new();
    let cell: Vec<usize> = placed
        .iter()
        .map(|p| {
            let next = cell_ids.len();
            *cell_ids.entry((p.space, p.member, p.row)).or_insert(next)
        })
        .collect();
    // Group by (space, s0) and find the S values shared by most equations.
    let mut groups: HashMap<(u64, u64), Vec<usize>> = HashMap::new();
    for (i, p) in placed.iter().enumerate() {
        groups.entry((p.space, p.s0)).or_default().push(i);
    }
    // The logical chunk of each equation, once its space's S is chosen.
    let mut logical: Vec<Option<u64>> = vec![None; placed.len()];
    let mut neutral = vec![false; placed.len()];
    // A space with one structure constrains nothing (some S always fits):
    // it is left out of the count, but says whether the space can start
    // at array offset 0 (a file system at the array's start). Nor does one
    // whose structures all sit in one chunk of one member (an inode
    // table's records): any S places them alike, and the slot their votes
    // would pick is arbitrary.
    let lone = |idx: &[usize]| {
        idx.len() == 1
            || idx.iter().all(|&i| {
                placed[i].fs_offset == placed[idx[0]].fs_offset
                    && placed[i].member_offset == placed[idx[0]].member_offset
            })
            || idx.iter().all(|&i| {
                placed[i].member == placed[idx[0]].member && placed[i].row == placed[idx[0]].row
            })
    };
    // The main group, whose tied starts are tried, is the largest that
    // decides anything: a run of MFT records in one chunk is larger than
    // the few records that cross into the next member, and says nothing.
    let main_group = groups
        .iter()
        .filter(|((space, _), idx)| *space != ARRAY_SPACE && !lone(idx))
        .max_by_key(|(key, idx)| (idx.len(), std::cmp::Reverse(**key)))
        .map(|(key, _)| *key);
    let mut s_ties: Vec<i128> = Vec::new();
    let mut origins_at_zero = 0;
    for ((space, s0), idx) in &groups {
        if *space == ARRAY_SPACE {
            origins_at_zero = 1;
            for &i in idx {
                logical[i] = Some(placed[i].q);
            }
            continue;
        }
        // Each equation allows S in [r·k − q, r·k − q + k − 1]. S may be
        // negative (a space that starts before the array's first row, as
        // an MFT fragment's numbering does), hence i128.
        let lo = |p: &Placed| i128::from(p.row) * i128::from(k) - i128::from(p.q);
        if lone(idx) {
            let l = lo(&placed[idx[0]]);
            if *s0 == 0 && (l..l + i128::from(k)).contains(&0) {
                origins_at_zero += 1;
            }
            for &i in idx {
                neutral[i] = true;
            }
            continue;
        }
        let mut remaining: Vec<usize> = idx.clone();
        // Greedy: the S covering most equations, then the next (fragments).
        for round in 0..MAX_FRAGMENTS {
            if remaining.len() < 2 {
                break;
            }
            let mut ev: Vec<(i128, i32)> = remaining
                .iter()
                .flat_map(|&i| {
                    let l = lo(&placed[i]);
                    [(l, 1), (l + i128::from(k), -1)]
                })
                .collect();
            ev.sort_unstable();
            let (mut best, mut best_s, mut cur) = (0i32, 0i128, 0i32);
            for &(x, d) in &ev {
                cur += d;
                if cur > best {
                    best = cur;
                    best_s = x;
                }
            }
            if best < 2 {
                break;
            }
            if round == 0 && Some((*space, *s0)) == main_group {
                // Every S with the same coverage (bounded).
                let mut cur = 0i32;
                for (j, &(x, d)) in ev.iter().enumerate() {
                    cur += d;
                    let next = ev.get(j + 1).map_or(x, |e| e.0);
                    if cur == best {
                        let mut s = x;
                        while s < next && s_ties.len() < MAX_S_TIES {
                            if s != best_s {
                                s_ties.push(s);
                            }
                            s += 1;
                        }
                    }
                }
                if let Some(p) = pick.filter(|p| s_ties.contains(p)) {
                    best_s = p;
                } else if pick.is_none() {
                    // Among equal starts, a space starting at the array's
                    // first byte (a file system at offset 0) comes first.
                    let zero = |s: i128| s * i128::from(chunk) + i128::from(*s0) == 0;
                    if let Some(&z) = s_ties.iter().find(|&&t| zero(t)) {
                        s_ties.retain(|&t| t != z);
                        s_ties.push(best_s);
                        best_s = z;
                    }
                }
            }
            let (take, keep): (Vec<usize>, Vec<usize>) = remaining.iter().partition(|&&i| {
                let l = lo(&placed[i]);
                (l..l + i128::from(k)).contains(&best_s)
            });
            // A run confined to one cell says nothing about the order.
            let mut cells_taken: Vec<usize> = take.iter().map(|&i| cell[i]).collect();
            cells_taken.sort_unstable();
            cells_taken.dedup();
            if cells_taken.len() < 2 {
                break;
            }
            if round == 0 && best_s * i128::from(chunk) + i128::from(*s0) == 0 {
                origins_at_zero += 1;
            }
            for i in take {
                logical[i] = u64::try_from(best_s + i128::from(placed[i].q)).ok();
            }
            remaining = keep;
        }
    }
    // Votes: member → slot.
    let mut rows = Rows {
        mapping: &mapping,
        cache: HashMap::new(),
    };
    let mut votes = vec![vec![0usize; shape.slots]; images];
    for (i, p) in placed.iter().enumerate() {
        let Some(l) = logical[i] else { continue };
        if l / k != p.row {
            continue;
        }
        let index = (l % k) as usize;
        if let Some(slot) = rows.data_slot(p.row, index) {
            votes[p.member][slot] += 1;
        }
    }
    let voted = fixed.is_none();
    let order = match fixed {
        Some(o) => o,
        None => assign(&votes, shape.slots).0,
    };
    let mut undecided: Vec<usize> = (0..images).filter(|&m| !order.contains(&Some(m))).collect();
    let mut order = order;
    let free: Vec<usize> = (0..shape.slots).filter(|&s| order[s].is_none()).collect();
    // A single unvoted member and as many free slots as missing ones plus
    // one: nothing to decide between only when exactly one slot is free.
    if undecided.len() == 1 && free.len() == 1 {
        order[free[0]] = Some(undecided[0]);
        undecided.clear();
    }
    // Structures on a parity member, in a row where other members hold
    // structures at the same offset, are parity artefacts: a copy of a
    // lone data chunk, or the XOR of an odd number of aligned records
    // (which is a valid-looking record whose number is the XOR of theirs).
    // They are not held against the fit, and explain it only as the copy
    // of a missing data chunk found in both P and Q (a RAID6 with that
    // chunk's member missing, its Q coefficient 1).
    let mut at_offset: HashMap<u64, Vec<usize>> = HashMap::new();
    for p in &placed {
        at_offset.entry(p.member_offset).or_default().push(p.member);
    }
    let keys: Vec<(usize, u64, u64, u64)> = placed
        .iter()
        .map(|p| (p.member, p.member_offset, p.space, p.fs_offset))
        .collect();
    let (group, groups) = structure_groups(&keys);
    // Considered, explained and neutral structures under one order. An
    // equation explained by the order. A structure seen at the same
    // member offset on several members (a RAID5 row with one non-zero
    // chunk copies it into parity) counts once, explained when any copy is.
    let count = |order: &[Option<usize>], rows: &mut Rows| -> Counts {
        let mut slot_of = vec![None; images];
        for (slot, img) in order.iter().enumerate() {
            if let Some(i) = img {
                slot_of[*i] = Some(slot);
            }
        }
        let mut counted = vec![false; groups];
        let mut ok_group = vec![false; groups];
        let mut neutral_group = vec![false; groups];
        for (i, p) in placed.iter().enumerate() {
            let artefact = slot_of[p.member].is_some_and(|slot| {
                at_offset
                    .get(&p.member_offset)
                    .is_some_and(|v| v.iter().any(|&m| m != p.member))
                    && rows.is_parity(p.row, slot)
            });
            if neutral[i] {
                if artefact {
                    continue;
                }
                // Only on a seated member: the fit says nothing of a member
                // it leaves out.
                neutral_group[group[i]] |= slot_of[p.member].is_some();
                continue;
            }
            let ok = logical[i].is_some_and(|l| {
                if l / k != p.row {
                    return false;
                }
                let Some(want) = rows.data_slot(p.row, (l % k) as usize) else {
                    return false;
                };
                // On a degraded array, P holds a copy of a missing member's
                // chunk wherever the row's other data chunks are zero.
                Some(want) == slot_of[p.member]
                    || (order[want].is_none()
                        && (p.lone || shape.level == Level::Raid6)
                        && slot_of[p.member].is_some_and(|s| rows.is_parity(p.row, s)))
            });
            // An artefact counts only as the copy of a missing data chunk
            // kept in P and Q alike: every other copy at its offset sits on
            // the row's other parity slot (a copy beside one on a data slot
            // is that chunk's own parity).
            if artefact {
                let mut all_parity = true;
                for &m in at_offset.get(&p.member_offset).into_iter().flatten() {
                    if m != p.member && !slot_of[m].is_some_and(|s| rows.is_parity(p.row, s)) {
                        all_parity = false;
                    }
                }
                if !(ok && all_parity) {
                    continue;
                }
            }
            counted[group[i]] = true;
            ok_group[group[i]] |= ok;
        }
        Counts {
            considered: counted.iter().filter(|&&c| c).count(),
            explained: ok_group.iter().filter(|&&v| v).count(),
            neutral: (0..groups)
                .filter(|&g| neutral_group[g] && !counted[g])
                .count(),
        }
    };
    let mut counts = count(&order, &mut rows);
    if voted && shape.slots > images && shape.level != Level::Raid6 {
        // The votes seat a member where its structures are data; on a
        // degraded array the parity member's copies of a missing chunk
        // vote it into that chunk's slot. Moving a member into a free slot
        // (its old one then reads as the missing one) is kept while it
        // explains more.
        for _ in 0..MOVE_ROUNDS {
            if counts.explained == counts.considered {
                break;
            }
            let free: Vec<usize> = (0..shape.slots).filter(|&s| order[s].is_none()).collect();
            let mut best: Option<(Counts, Vec<Option<usize>>)> = None;
            for from in (0..shape.slots).filter(|&s| order[s].is_some()) {
                for &to in &free {
                    let mut o = order.clone();
                    o[to] = o[from].take();
                    let c = count(&o, &mut rows);
                    if c.merit() > best.as_ref().map_or(counts.merit(), |b| b.0.merit()) {
                        best = Some((c, o));
                    }
                }
            }
            let Some((c, o)) = best else { break };
            if std::env::var_os("DBG_MOVE").is_some() && chunk == 512 << 10 {
                eprintln!(
                    "move {:?} {:?} {:?}/{} -> {:?} {}/{}+{}",
                    shape.level,
                    shape.layout,
                    order,
                    counts.explained,
                    o,
                    c.explained,
                    c.considered,
                    c.neutral
                );
            }
            counts = c;
            order = o;
        }
    }
    let Counts {
        considered,
        explained,
        neutral,
    } = counts;
    let g = g.with_order(&order);
    Some(Fit {
        geometry: g,
        explained,
        considered,
        neutral,
        origins_at_zero,
        undecided_members: undecided,
        s_ties,
    })
}

/// Groups equations that stand for one structure: copies of it, wherever
/// they sit (a RAID5 row with one non-zero chunk puts a copy in parity at
/// the same member offset; NTFS keeps the first MFT records again in
/// `$MFTMirr`, mid-volume, with the same record numbers), and alternative
/// readings of one structure (an NTFS boot sector read as primary and as
/// backup). Each group counts once
/// and is explained when any of its equations is. Returns the group of
/// each equation and the number of groups.
fn structure_groups(keys: &[(usize, u64, u64, u64)]) -> (Vec<usize>, usize) {
    // keys: (member, member_offset, space, fs_offset).
    let mut parent: Vec<usize> = (0..keys.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut readings: HashMap<(usize, u64, u64), usize> = HashMap::new();
    for &(member, off, space, _) in keys {
        *readings.entry((member, off, space)).or_default() += 1;
    }
    let mut copies: HashMap<(u64, u64, Option<u64>), usize> = HashMap::new();
    let mut alternatives: HashMap<(usize, u64, u64), usize> = HashMap::new();
    for (i, &(member, off, space, fs)) in keys.iter().enumerate() {
        // A sector with several readings (an NTFS boot sector, primary or
        // backup) is a copy only of one at the same member offset (in
        // parity): the primary and the backup are two structures, each
        // placing its own member.
        let at = (readings[&(member, off, space)] > 1).then_some(off);
        for j in [
            *copies.entry((space, fs, at)).or_insert(i),
            *alternatives.entry((member, off, space)).or_insert(i),
        ] {
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            if a != b {
                parent[a] = b;
            }
        }
    }
    let mut ids: HashMap<usize, usize> = HashMap::new();
    let mut out = Vec::with_capacity(keys.len());
    for i in 0..keys.len() {
        let r = find(&mut parent, i);
        let next = ids.len();
        out.push(*ids.entry(r).or_insert(next));
    }
    (out, ids.len())
}

/// Greedy assignment of members to slots by votes, strongest first.
fn assign(votes: &[Vec<usize>], slots: usize) -> (Vec<Option<usize>>, usize) {
    let mut cells: Vec<(usize, usize, usize)> = votes
        .iter()
        .enumerate()
        .flat_map(|(m, v)| v.iter().enumerate().map(move |(s, &c)| (c, m, s)))
        .filter(|&(c, _, _)| c > 0)
        .collect();
    cells.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut order = vec![None; slots];
    let mut used = vec![false; votes.len()];
    let mut explained = 0;
    for (c, m, s) in cells {
        if used[m] || order[s].is_some() {
            continue;
        }
        used[m] = true;
        order[s] = Some(m);
        explained += c;
    }
    (order, explained)
}

#[cfg(test)]
pub(crate) mod tests;
