//! Far readings: far 3 told from far 2, and far and offset copies on
//! members whose data starts differ.
//!
//! A far-3 array reads like the far-2 array of the same stride (the first
//! copies sit alike); only the far-3 reading compares and matches the
//! third copies ([`prefer_third_copies`]).
//!
//! With a start `s(m)` per member, the copy of member `a`'s sector at `x`
//! sits on its successor `b` at `x + stride + s(b) - s(a)`: one delta per
//! member, not one for the array. Each member's successor is the one its
//! sectors reappear on most at any delta probed (the deltas the sampled
//! sectors revealed among them); when those successors form one cycle
//! through every member, the deltas add up to `n × stride` (the starts
//! cancel around the cycle), and the walk around it gives every start
//! relative to the first. The geometries this allows are then checked copy
//! by copy like any other ([`super::check`]).

use platter_core::Source;
use platter_raid::geometry::{Geometry, Layout, Level};

use super::store::{HashStore, MIN_MATCHES, Relation, TRIVIAL};
use super::{CYCLE_RATE, PROBE_BYTES, Scored, check, cycle_order, far_geometry, r10};
use crate::error::Result;

/// Each slot's member image and data offset.
type Seats = Vec<(Option<usize>, u64)>;

/// Copies move in whole sectors.
const SECTOR: u64 = 512;
/// Probe blocks of its own for a member with little data at the probes.
const MEMBER_BLOCKS: usize = 4;
/// Strides whose neighbourhood is probed when no cycle shows at the deltas
/// probed before.
const MAX_STRIDES: usize = 2;

/// What the far search reads and checks with.
pub(super) struct Ctx<'a> {
    pub members: &'a [&'a dyn Source],
    /// Member lengths, by image.
    pub lens: &'a [u64],
    pub chunks: &'a [u64],
    /// Data offsets tried for the lowest start.
    pub offsets: &'a [u64],
    /// 4 KiB probe blocks whose copies are read.
    pub blocks: &'a [u64],
    /// Probe sector offsets.
    pub probes: &'a [u64],
}

/// Differences between two plausible data starts (md, partitioning tools,
/// controllers; see [`crate::member_offsets::PLAUSIBLE`]), and 0.
fn start_differences() -> Vec<i128> {
    let starts: Vec<i128> = crate::member_offsets::PLAUSIBLE
        .iter()
        .chain(&[1 << 20, 2 << 20, 4 << 20, 8 << 20])
        .map(|&x| i128::from(x))
        .collect();
    let mut d: Vec<i128> = starts
        .iter()
        .flat_map(|a| starts.iter().map(move |b| a - b))
        .collect();
    d.sort_unstable();
    d.dedup();
    d
}

/// Each member's strongest successor over `relations` (each with its
/// signed delta) with its delta, when they form one cycle through all `n`
/// members and the deltas differ (one delta is the common-start case,
/// handled before). With the stride known, one member with too little data
/// to show its successor gets the member no other names, and the delta
/// that makes the deltas add up.
pub(super) fn mixed_cycle(
    relations: &[(i64, &Relation)],
    n: usize,
    stride: Option<u64>,
) -> Option<(Vec<usize>, Vec<i64>)> {
    let mut succ = vec![usize::MAX; n];
    let mut delta = vec![0i64; n];
    let mut silent = None;
    for a in 0..n {
        let best = relations
            .iter()
            .filter_map(|(d, r)| {
                let b = r.successor(a, CYCLE_RATE)?;
                Some((r.matched[a][b], b, *d))
            })
            .max();
        match best {
            Some((_, b, d)) => (succ[a], delta[a]) = (b, d),
            None if silent.is_none()
                && stride.is_some()
                && relations.iter().all(|(_, r)| r.tested[a] < MIN_MATCHES) =>
            {
                silent = Some(a);
            }
            None => return None,
        }
    }
    if let (Some(a), Some(s)) = (silent, stride) {
        let mut named = vec![false; n];
        for &b in succ.iter().filter(|&&b| b < n) {
            named[b] = true;
        }
        let mut free = (0..n).filter(|&b| !named[b] && b != a);
        let (Some(b), None) = (free.next(), free.next()) else {
            return None;
        };
        let known: i64 = delta.iter().sum();
        succ[a] = b;
        delta[a] = i64::try_from(n as u64 * s).ok()? - known;
    }
    let distinct = delta.iter().any(|&d| d != delta[0]);
    (distinct && super::store::one_cycle(&succ)).then_some((succ, delta))
}

/// Member starts relative to the lowest, from the cycle `succ` and each
/// member's copy delta; with the stride. `None` when the deltas do not
/// share out evenly in whole sectors.
pub(super) fn relative_starts(succ: &[usize], delta: &[i64]) -> Option<(Vec<u64>, u64)> {
    let n = i128::try_from(succ.len()).ok()?;
    let total: i128 = delta.iter().map(|&d| i128::from(d)).sum();
    if n == 0 || total <= 0 || total % n != 0 {
        return None;
    }
    let stride = total / n;
    if stride % i128::from(SECTOR) != 0 {
        return None;
    }
    let mut rel = vec![0i128; succ.len()];
    let mut x = 0;
    for _ in 1..succ.len() {
        let y = succ[x];
        rel[y] = rel[x] + i128::from(delta[x]) - stride;
        x = y;
    }
    let lo = rel.iter().copied().min()?;
    let starts = rel
        .iter()
        .map(|&r| u64::try_from(r - lo).ok())
        .collect::<Option<Vec<u64>>>()?;
    Some((starts, u64::try_from(stride).ok()?))
}

/// Adds to `passed` the far and offset geometries whose copies agree with
/// members starting at different offsets. First from the deltas probed
/// already (`relations`); then, when that shows no cycle, around each far
/// stride (of `strides`) that a `discovered` delta lies a plausible start
/// difference from, at every such difference.
pub(super) fn far_with_starts(
    ctx: &Ctx<'_>,
    store: &mut HashStore,
    relations: &[Relation],
    strides: &[u64],
    discovered: &[u64],
    passed: &mut Vec<Scored>,
) -> Result<()> {
    let n = store.members();
    let signed: Vec<(i64, &Relation)> = relations
        .iter()
        .filter_map(|r| Some((i64::try_from(r.delta).ok()?, r)))
        .collect();
    if let Some((succ, delta)) = mixed_cycle(&signed, n, None) {
        try_cycle(ctx, store, &succ, &delta, passed)?;
        if !passed.is_empty() {
            return Ok(());
        }
    }
    let diffs = start_differences();
    let near = |d: u64, s: u64| {
        [s, 2 * s].iter().any(|&k| {
            diffs
                .binary_search(&(i128::from(d) - i128::from(k)))
                .is_ok()
        })
    };
    // The strides a discovered delta equals (one or two strides), then
    // those most discovered deltas lie near, first.
    let mut ranked: Vec<(bool, usize, u64)> = strides
        .iter()
        .map(|&s| {
            let exact = discovered.iter().any(|&d| d == s || d == 2 * s);
            (exact, discovered.iter().filter(|&&d| near(d, s)).count(), s)
        })
        .filter(|&(_, k, _)| k > 0)
        .collect();
    ranked.sort_by_key(|&(e, k, _)| std::cmp::Reverse((e, k)));
    // Members with little data at the probes (those whose data starts
    // late hold zeros there) get probes of their own.
    let (mut probes, mut blocks) = (ctx.probes.to_vec(), ctx.blocks.to_vec());
    for m in 0..n {
        let data = ctx
            .probes
            .iter()
            .filter(|&&x| store.get(m, x).is_some_and(|h| h != TRIVIAL))
            .count();
        if (data as u64) < MIN_MATCHES {
            for b in member_blocks(store, m) {
                if !blocks.contains(&b) {
                    blocks.push(b);
                    probes.extend((0..PROBE_BYTES / SECTOR).map(|i| b + i * SECTOR));
                }
            }
        }
    }
    let ctx = &Ctx {
        probes: &probes,
        blocks: &blocks,
        ..*ctx
    };
    let mut tried = Vec::new();
    for (_, _, s) in ranked {
        if tried.len() >= MAX_STRIDES || tried.contains(&s) {
            continue;
        }
        tried.push(s);
        // Copies may sit lower on the next member than on this one.
        let deltas: Vec<i64> = diffs
            .iter()
            .filter_map(|&x| i64::try_from(i128::from(s) + x).ok())
            .filter(|&d| d != 0)
            .collect();
        let mut around = Vec::with_capacity(deltas.len());
        for d in deltas {
            let at: Vec<u64> = ctx
                .blocks
                .iter()
                .filter_map(|p| p.checked_add_signed(d))
                .collect();
            store.read_blocks(ctx.members, &at, PROBE_BYTES)?;
            around.push((d, Relation::count_signed(store, d, Some(ctx.probes))));
        }
        let around: Vec<(i64, &Relation)> = around.iter().map(|(d, r)| (*d, r)).collect();
        if let Some((succ, delta)) = mixed_cycle(&around, n, Some(s)) {
            try_cycle(ctx, store, &succ, &delta, passed)?;
            if !passed.is_empty() {
                break;
            }
        }
    }
    Ok(())
}

/// Up to [`MEMBER_BLOCKS`] 4 KiB head blocks (in different 64 KiB
/// regions) where member `m` holds the most non-trivial sectors.
fn member_blocks(store: &HashStore, m: usize) -> Vec<u64> {
    let per = (PROBE_BYTES / SECTOR) as usize;
    let head = store.head(m);
    let mut scored: Vec<(usize, u64)> = head
        .chunks_exact(per)
        .enumerate()
        .map(|(i, b)| {
            let data = b.iter().filter(|&&h| h != TRIVIAL).count();
            (data, i as u64 * PROBE_BYTES)
        })
        .filter(|&(d, _)| d > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut regions = std::collections::HashSet::new();
    scored
        .into_iter()
        .filter(|&(_, p)| regions.insert(p / (64 << 10)))
        .map(|(_, p)| p)
        .take(MEMBER_BLOCKS)
        .collect()
}

/// Checks the far and offset geometries of the cycle `succ` with copy
/// deltas `delta`.
fn try_cycle(
    ctx: &Ctx<'_>,
    store: &mut HashStore,
    succ: &[usize],
    delta: &[i64],
    passed: &mut Vec<Scored>,
) -> Result<()> {
    let n = store.members();
    let Some((starts, stride)) = relative_starts(succ, delta) else {
        return Ok(());
    };
    // Second far copies: two members on, two deltas further.
    let mut two: Vec<i64> = (0..n).map(|a| delta[a] + delta[succ[a]]).collect();
    two.sort_unstable();
    two.dedup();
    let at: Vec<u64> = ctx
        .blocks
        .iter()
        .flat_map(|p| two.iter().filter_map(move |d| p.checked_add_signed(*d)))
        .collect();
    store.read_blocks(ctx.members, &at, PROBE_BYTES)?;
    let order = cycle_order(succ);
    let placed = |g: Geometry, base: u64| {
        let mut g = g;
        for s in &mut g.slots {
            s.data_offset = base + s.image.map_or(0, |m| starts[m]);
        }
        g
    };
    let describe = |base: u64| -> String {
        let list: Vec<String> = starts.iter().map(|s| (base + s).to_string()).collect();
        format!("members start at [{}]", list.join(", "))
    };
    for far in [2u8, 3] {
        if usize::from(far) > n {
            continue;
        }
        let mut geometries = Vec::new();
        if ctx.chunks.contains(&stride) {
            geometries.push((
                Geometry::new(Level::Raid10, r10(1, far, true), stride, n).with_order(&order),
                "copies of each chunk one chunk further on the next member",
            ));
        }
        if let Some(c) = ctx
            .chunks
            .iter()
            .copied()
            .find(|&c| stride % c == 0 && stride / c >= 2)
        {
            geometries.push((
                far_geometry(far, c, stride, n, &order),
                "far copies on the next member",
            ));
        }
        for (g, what) in geometries {
            for &base in ctx.offsets {
                check(
                    store,
                    ctx.lens,
                    placed(g.clone(), base),
                    ctx.probes,
                    passed,
                    format!("{what} ({stride}-byte stride, {})", describe(base)),
                );
            }
        }
    }
    Ok(())
}

/// A far-3 array reads like the far-2 array of the same stride (the
/// first copies sit alike), but only the far-3 reading compares and
/// matches the third copies: where both pass and the far-3 one agrees on
/// more copies, the far-2 one goes. (A far-2 array's third region holds no
/// copies, so a far-3 reading of it agrees on no more.)
pub(super) fn prefer_third_copies(passed: &mut Vec<Scored>) {
    let far_key = |s: &Scored| -> Option<(u8, u64, Seats)> {
        let Layout::Raid10(l) = s.geometry.layout else {
            return None;
        };
        if l.offset || l.near != 1 {
            return None;
        }
        let stride = s.geometry.slots.first()?.size? / u64::from(l.far);
        let slots = s
            .geometry
            .slots
            .iter()
            .map(|x| (x.image, x.data_offset))
            .collect();
        Some((l.far, stride, slots))
    };
    let threes: Vec<(u64, Seats, u64)> = passed
        .iter()
        .filter_map(|s| {
            let (far, stride, slots) = far_key(s)?;
            (far == 3).then_some((stride, slots, s.agreement.agreed))
        })
        .collect();
    passed.retain(|s| {
        let Some((2, stride, slots)) = far_key(s) else {
            return true;
        };
        !threes
            .iter()
            .any(|(st, sl, agreed)| *st == stride && *sl == slots && *agreed > s.agreement.agreed)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_come_from_the_deltas_around_the_cycle() {
        // Far 2 over 4 members starting at 0, 1 MiB, 64 KiB and 0, in
        // cycle order 0 → 3 → 1 → 2 → 0, stride 704 KiB: member 1's copies
        // sit lower on member 2 than on itself.
        let stride = 704i64 << 10;
        let start = [0i64, 1 << 20, 64 << 10, 0];
        let succ = vec![3, 2, 0, 1];
        let delta: Vec<i64> = (0..4)
            .map(|a: usize| stride + start[succ[a]] - start[a])
            .collect();
        assert!(delta[1] < 0);
        assert_eq!(
            relative_starts(&succ, &delta),
            Some((vec![0, 1 << 20, 64 << 10, 0], 704 << 10))
        );
        // Deltas that do not share out evenly in sectors are no cycle of
        // copies.
        let mut bad = delta.clone();
        bad[0] += 512;
        assert_eq!(relative_starts(&succ, &bad), None);
    }

    #[test]
    fn a_silent_member_closes_the_cycle_once_the_stride_is_known() {
        // Far 3 over 5 members (harness seed 1, case 194): member 2 holds
        // data in too few probed sectors to show where its copies go.
        let stride = 3584u64 << 10;
        let pairs = [
            (0usize, 3usize, 2638848i64),
            (1, 4, 3665920),
            (3, 2, 4701184),
            (4, 0, 4718592),
        ];
        let rels: Vec<(i64, Relation)> = pairs
            .iter()
            .map(|&(a, b, d)| {
                let mut matched = vec![vec![0u64; 5]; 5];
                matched[a][b] = 60;
                let mut tested = vec![60; 5];
                tested[2] = 4;
                let delta = d.unsigned_abs();
                (
                    d,
                    Relation {
                        delta,
                        tested,
                        matched,
                    },
                )
            })
            .collect();
        let rels: Vec<(i64, &Relation)> = rels.iter().map(|(d, r)| (*d, r)).collect();
        assert_eq!(mixed_cycle(&rels, 5, None), None, "stride unknown");
        let (succ, delta) = mixed_cycle(&rels, 5, Some(stride)).expect("one cycle");
        assert_eq!(succ, vec![3, 4, 1, 2, 0]);
        assert_eq!(
            delta[2],
            5 * stride as i64 - 2638848 - 3665920 - 4701184 - 4718592
        );
        let (starts, s) = relative_starts(&succ, &delta).expect("starts");
        assert_eq!(s, stride);
        assert_eq!(starts, vec![1 << 20, 4096, 1 << 20, 17408, 0]);
    }

    #[test]
    fn a_far_3_reading_whose_third_copies_agree_drops_far_2() {
        let scored = |far: u8, agreed: u64| {
            let stride = 1u64 << 20;
            let mut g = far_geometry(far, 64 << 10, stride, 3, &[Some(0), Some(1), Some(2)]);
            g.slots[1].data_offset = 4096;
            Scored {
                geometry: g,
                agreement: super::super::Agreement {
                    compared: agreed,
                    agreed,
                    ..Default::default()
                },
                explained: super::super::Explained::default(),
                note: String::new(),
                continuity: None,
            }
        };
        let mut passed = vec![scored(2, 500), scored(3, 1000)];
        prefer_third_copies(&mut passed);
        assert_eq!(passed.len(), 1);
        assert!(matches!(passed[0].geometry.layout, Layout::Raid10(l) if l.far == 3));
        // No more copies agree at far 3 (a far-2 array's third region
        // is empty): both stay, for the structures to weigh.
        let mut passed = vec![scored(2, 500), scored(3, 500)];
        prefer_third_copies(&mut passed);
        assert_eq!(passed.len(), 2);
    }

    #[test]
    fn each_member_takes_its_strongest_successor_at_any_delta() {
        let rel = |pairs: &[(usize, usize)]| {
            let mut matched = vec![vec![0u64; 4]; 4];
            for &(a, b) in pairs {
                matched[a][b] = 40;
            }
            Relation {
                delta: 0,
                tested: vec![40; 4],
                matched,
            }
        };
        let (up, down) = (rel(&[(0, 3), (3, 1)]), rel(&[(1, 2), (2, 0)]));
        let (hi, lo) = (1000i64 << 10, -(300i64 << 10));
        assert_eq!(
            mixed_cycle(&[(hi, &up), (lo, &down)], 4, None),
            Some((vec![3, 2, 0, 1], vec![hi, lo, lo, hi]))
        );
        // Two cycles of two members are not one array.
        let split = rel(&[(1, 0), (2, 1)]);
        assert_eq!(mixed_cycle(&[(hi, &up), (lo, &split)], 4, None), None);
        // One delta for every member is the common-start case.
        let same = rel(&[(0, 3), (3, 1), (1, 2), (2, 0)]);
        assert_eq!(mixed_cycle(&[(hi, &same)], 4, None), None);
    }
}
