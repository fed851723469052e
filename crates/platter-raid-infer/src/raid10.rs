//! RAID10 far and offset layouts, and near layouts whose copies shift
//! between members (the copy count does not divide the member count).
//!
//! What shows without metadata is the copies: the same non-trivial sector
//! on two members at member offsets a fixed delta apart (see
//! [`store`]). Far copies sit on the next member one far stride further
//! (md: the per-member data size divided by the far copies, in whole
//! chunks); offset copies on the next member one chunk further; near
//! copies on the neighbouring member at the same offset, or one chunk row
//! further where they wrap past the last member.
//!
//! 1. Sector hashes of the samples; the deltas to look at: one and two
//!    chunks (counted over the whole head), the far strides the member
//!    size allows for each chunk size and data offset, and deltas at
//!    which sampled sectors happen to repeat (both read at a few probe
//!    blocks).
//! 2. A delta at which every member's sectors reappear on exactly one
//!    other member, the members forming one cycle, is a far or offset
//!    layout with that cyclic member order (a member with no data at the
//!    probes takes the one place left); a one-chunk delta seen on some
//!    members only, with equal sectors at equal offsets, a near layout.
//!    Members whose data starts differ show one delta per member: see
//!    [`far`], which also tells far 3 from far 2.
//! 3. Every geometry those allow (layout, copies, chunk, data offset and,
//!    for near, the member order) is assembled over what was read: its
//!    copies must agree ([`mapping::agreement`]).
//! 4. The survivors, with every rotation of the cycle and every chunk size
//!    that divides a far stride, are ranked by the self-locating structures
//!    they explain ([`mapping::explain`]); *found* needs a clear lead,
//!    otherwise the verdict is ambiguous and names the rivals (the caller
//!    then validates the file systems on the first candidates).

mod far;
mod mapping;
mod store;

use platter_core::Source;
use platter_raid::geometry::{Geometry, Layout, Level, Raid10Layout};

use crate::report::{Candidate, Evidence, Verdict, describe};
use crate::sample::{SECTOR, Samples};
use crate::verdict::Structures;
use crate::{Hint, Result};
use mapping::{Agreement, Explained, Resolved};
use store::{HashStore, Relation, TRIVIAL};

/// Probe blocks (4 KiB) whose far copies are read.
const PROBES: usize = 12;
/// Bytes of one probe block.
const PROBE_BYTES: u64 = 4096;
/// Most large deltas read at the probes.
const MAX_PROBE_DELTAS: usize = 128;
/// Deltas found by repeated sampled sectors that are tried.
const MAX_DISCOVERED: usize = 8;
/// A far/offset copy relation: this share of a member's sectors reappear
/// on its successor.
const CYCLE_RATE: f64 = 0.2;
/// A near wrap relation (only some rows wrap).
const WRAP_RATE: f64 = 0.05;
/// Copies compared before a candidate counts.
const MIN_COMPARED: u64 = 64;
/// Share of compared copies that must agree.
const MIN_AGREEMENT: f64 = 0.95;
/// Largest member count whose near orders are all enumerated.
const MAX_ENUMERATED: usize = 6;
/// Fewest explained structures that decide.
const MIN_EXPLAINED: usize = 8;
/// Share of placed structures the winner must explain.
const MIN_RATE: f64 = 0.9;
/// Merit lead over the runner-up that decides.
const MIN_GAP: i64 = 4;
/// Candidates returned.
const MAX_CANDIDATES: usize = 8;

/// Chunk sizes: powers of two 512 B … 4 MiB and three times a power of two.
fn chunk_sizes(hint: &Hint) -> Vec<u64> {
    let mut v: Vec<u64> = (9..=22).map(|s| 1u64 << s).collect();
    v.extend((9..=20).map(|s| 3u64 << s));
    v.sort_unstable();
    v.retain(|c| hint.chunk_bytes.is_none_or(|h| h == *c));
    v
}

fn r10(near: u8, far: u8, offset: bool) -> Layout {
    Layout::Raid10(Raid10Layout {
        near,
        far,
        offset,
        far_sets: false,
    })
}

/// A geometry that passed the copy check, with its score.
#[derive(Debug, Clone)]
struct Scored {
    geometry: Geometry,
    agreement: Agreement,
    explained: Explained,
    note: String,
    /// Mean continuity across its chunk boundaries, when scored.
    continuity: Option<f64>,
}

/// Decides RAID10 layouts whose copies sit at shifted member offsets, or
/// `None` when the members do not look like one.
pub(crate) fn infer(
    members: &[&dyn Source],
    samples: &Samples,
    st: &Structures<'_>,
    hint: &Hint,
) -> Result<Option<(Verdict, Vec<Candidate>)>> {
    let n = members.len();
    if n < 2 || hint.level.is_some_and(|l| l != Level::Raid10) {
        return Ok(None);
    }
    if hint.slots.is_some_and(|s| s != n) {
        return Ok(None);
    }
    let mut store = HashStore::new(samples, n);
    store.set_lens(&st.member_sizes);
    if store.head_bytes < 64 * 1024 || mirrored(&store) {
        return Ok(None);
    }
    let common = store.common_bytes;
    let first = first_data(&store);
    let offsets = match hint.data_offset_bytes {
        Some(o) => vec![o],
        None => crate::search::offsets(first, common),
    };
    let chunks = chunk_sizes(hint);
    let probes = probe_sectors(&store, n);

    // Deltas to look at.
    let mut small: Vec<u64> = chunks
        .iter()
        .flat_map(|&c| [c, 2 * c])
        .filter(|&d| d + 64 * 1024 <= store.head_bytes)
        .collect();
    small.sort_unstable();
    small.dedup();
    let discovered: Vec<u64> = store
        .discovered_deltas(store::MIN_MATCHES as usize, MAX_DISCOVERED)
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    let mut strides = Vec::new();
    for f in [2u64, 3] {
        for &off in &offsets {
            for &c in &chunks {
                let avail = common.saturating_sub(off);
                let d = avail / c / f * c;
                if d > 0 {
                    strides.push(d);
                }
            }
        }
    }
    let mut large = discovered.clone();
    large.extend(&strides);
    large.extend(chunks.iter().flat_map(|&c| [c, 2 * c]));
    let mut seen = std::collections::HashSet::new();
    large.retain(|d| !small.contains(d) && seen.insert(*d));
    large.truncate(MAX_PROBE_DELTAS);
    let blocks: Vec<u64> = probes
        .iter()
        .copied()
        .filter(|x| x % PROBE_BYTES == 0)
        .collect();
    let mut relations: Vec<Relation> = small
        .iter()
        .map(|&d| Relation::count(&store, d, None))
        .collect();
    for &d in &large {
        let at: Vec<u64> = blocks.iter().filter_map(|p| p.checked_add(d)).collect();
        store.read_blocks(members, &at, PROBE_BYTES)?;
        relations.push(Relation::count(&store, d, Some(&probes)));
    }

    let mut passed: Vec<Scored> = Vec::new();
    // Far and offset: one cycle through every member.
    for rel in &relations {
        let Some(succ) = rel.cycle(CYCLE_RATE) else {
            continue;
        };
        let order = cycle_order(&succ);
        let d = rel.delta;
        // Far copies of the probes two strides on (f3).
        let at: Vec<u64> = blocks.iter().filter_map(|p| p.checked_add(2 * d)).collect();
        store.read_blocks(members, &at, PROBE_BYTES)?;
        for far in [2u8, 3] {
            if usize::from(far) > n {
                continue;
            }
            if chunks.contains(&d) {
                let g = Geometry::new(Level::Raid10, r10(1, far, true), d, n).with_order(&order);
                check_offsets(&store, g, &offsets, &probes, &mut passed, |off| {
                    format!(
                        "copies of each chunk one chunk further on the next member (offset {off})"
                    )
                });
            }
            // Far: the stride is d; the chunk is checked later.
            let Some(c) = chunks.iter().copied().find(|&c| d % c == 0 && d / c >= 2) else {
                continue;
            };
            let g = far_geometry(far, c, d, n, &order);
            check_offsets(&store, g, &offsets, &probes, &mut passed, |off| {
                format!("copies {d} bytes further on the next member (far stride, offset {off})")
            });
        }
    }
    if passed.is_empty() {
        let ctx = far::Ctx {
            members,
            lens: &st.member_sizes,
            chunks: &chunks,
            offsets: &offsets,
            blocks: &blocks,
            probes: &probes,
        };
        far::far_with_starts(
            &ctx,
            &mut store,
            &relations,
            &strides,
            &discovered,
            &mut passed,
        )?;
    }
    // Near with copies not dividing the members.
    let zero = Relation::count(&store, 0, None);
    for rel in relations.iter().filter(|r| chunks.contains(&r.delta)) {
        for near in [2u8, 3] {
            let nn = usize::from(near);
            if nn >= n || n % nn == 0 {
                continue;
            }
            for order in near_orders(rel, &zero, n) {
                let g = Geometry::new(Level::Raid10, r10(near, 1, false), rel.delta, n)
                    .with_order(&order);
                check_offsets(&store, g, &offsets, &probes, &mut passed, |off| {
                    format!(
                        "near copies on neighbouring members, wrapping one chunk row down (offset {off})"
                    )
                });
            }
        }
    }
    if passed.is_empty() {
        return Ok(None);
    }
    far::prefer_third_copies(&mut passed);
    let member_bytes = st.member_sizes.iter().copied().min().unwrap_or(0);
    let mut ranked = expand(passed, &chunks, n, member_bytes, st);
    ranked.retain(|s| hint.chunk_bytes.is_none_or(|c| c == s.geometry.chunk_bytes));
    if ranked.is_empty() {
        return Ok(None);
    }
    let first_data = first.map(|f| f / 4096 * 4096);
    let key = |s: &Scored| {
        (
            spans_members(&s.geometry, common),
            s.explained.merit(),
            s.explained.origins_at_zero,
            Some(offset_of(&s.geometry)) == first_data,
            (s.agreement.rate() * 1000.0) as i64,
            std::cmp::Reverse(offset_of(&s.geometry)),
            s.geometry.chunk_bytes,
        )
    };
    ranked.sort_by_key(|s| std::cmp::Reverse(key(s)));
    ranked.dedup_by(|a, b| a.geometry == b.geometry);
    let cands_of = |ranked: &[Scored]| -> Vec<Candidate> {
        ranked
            .iter()
            .take(MAX_CANDIDATES)
            .map(|s| candidate(s, st))
            .collect()
    };
    let mut cands = cands_of(&ranked);
    let prior = |s: &Scored| {
        (
            s.explained.origins_at_zero,
            Some(offset_of(&s.geometry)) == first_data,
        )
    };
    let mut verdict = decide(&ranked, &cands, prior);
    if matches!(verdict, Verdict::Ambiguous { .. })
        && by_continuity(members, samples, st, common, first_data, &mut ranked)
    {
        cands = cands_of(&ranked);
        verdict = Verdict::Found;
    }
    for (c, s) in cands.iter_mut().zip(&ranked) {
        c.evidence.continuity_score = s.continuity;
    }
    if let (Some(a), b) = (ranked.first(), ranked.get(1)) {
        cands[0].margin = a.explained.rate() - b.map_or(0.0, |b| b.explained.rate());
    }
    if let Some((v, suspects)) = stale(&ranked[0], &cands[0], n) {
        // Only arrays without the suspect: the full ones read its old
        // data, and its old file system can look consistent.
        verdict = v;
        cands = suspects
            .iter()
            .flat_map(|&img| cands.iter().map(move |c| without(c, img)))
            .take(MAX_CANDIDATES)
            .collect();
    }
    Ok(Some((verdict, cands)))
}

/// Lead in standard errors that lets continuity decide between
/// geometries the copies and structures accept alike.
const CONTINUITY_MIN_Z: f64 = 4.0;
/// Geometries scored for continuity.
const MAX_CONTINUITY: usize = 32;

/// Geometries the copies and structures cannot separate (the rotations of
/// a far or offset cycle, the chunk sizes dividing a far stride) read the
/// array in different orders: reorders them by the continuity of what
/// they assemble ([`crate::assembled`]). True, with the winner first,
/// when it leads every other that reads differently by
/// [`CONTINUITY_MIN_Z`] standard errors; the order is left alone
/// otherwise.
fn by_continuity(
    members: &[&dyn Source],
    samples: &Samples,
    st: &Structures<'_>,
    common: u64,
    first_data: Option<u64>,
    ranked: &mut [Scored],
) -> bool {
    let Some(top) = ranked.first() else {
        return false;
    };
    let head = |s: &Scored| {
        (
            spans_members(&s.geometry, common),
            s.explained.merit(),
            s.explained.origins_at_zero,
        )
    };
    let (top_head, rate) = (head(top), top.agreement.rate());
    let tied = ranked
        .iter()
        .take(MAX_CONTINUITY)
        .take_while(|s| head(s) == top_head && s.agreement.rate() + 0.01 >= rate)
        .count();
    if tied < 2 {
        return false;
    }
    let geoms: Vec<Geometry> = ranked[..tied].iter().map(|s| s.geometry.clone()).collect();
    let text = crate::text_flow::TextModel::learn(samples);
    let scored = crate::assembled::rank(members, &st.member_sizes, &geoms, text.as_ref());
    let Some(best) = scored.first() else {
        return false;
    };
    if best.continuity.count < 8 {
        return false;
    }
    // A rival that differs only in a data offset away from the first data
    // (reading the same array shifted, with zeros in front) is not one.
    let best_g = &geoms[best.index];
    let shifted = |g: &Geometry| {
        let mut x = g.clone();
        for (s, b) in x.slots.iter_mut().zip(&best_g.slots) {
            s.data_offset = b.data_offset;
        }
        x == *best_g && Some(offset_of(best_g)) == first_data && Some(offset_of(g)) != first_data
    };
    let rivals: Vec<&crate::assembled::Scored> = scored[1..]
        .iter()
        .filter(|o| !shifted(&geoms[o.index]))
        .collect();
    let leads: Vec<f64> = rivals
        .iter()
        .filter_map(|o| crate::assembled::lead(best, o))
        .collect();
    // A rival that reads the same sectors everywhere measured is not
    // separated here (the copies ranked it); with only shifted rivals the
    // offset at the first data decides.
    let z = leads.into_iter().reduce(f64::min);
    if !(rivals.is_empty() || z.is_some_and(|z| z >= CONTINUITY_MIN_Z)) {
        return false;
    }
    let mut reordered: Vec<Scored> = scored
        .iter()
        .map(|s| {
            let mut x = ranked[s.index].clone();
            x.continuity = Some(s.continuity.mean);
            x
        })
        .collect();
    ranked[..tied].swap_with_slice(&mut reordered);
    true
}

/// Copies that disagree (more than [`STALE_DISAGREEMENT`]) mean a member
/// dropped out and holds older data, or damage: never *found*. The
/// member taking part in nearly every disagreement is the stale one, and
/// candidates are listed without it (with two members either could be,
/// and both variants are listed). `None` when the copies agree.
fn stale(top: &Scored, cand: &Candidate, n: usize) -> Option<(Verdict, Vec<usize>)> {
    let a = top.agreement;
    let bad = a.compared - a.agreed;
    if a.compared == 0 || (bad as f64) <= STALE_DISAGREEMENT * a.compared as f64 {
        return None;
    }
    let suspects: Vec<usize> = if n == 2 {
        vec![0, 1]
    } else {
        (0..n.min(mapping::TRACKED))
            .filter(|&i| a.disagreed_by[i] as f64 >= 0.8 * bad as f64)
            .collect()
    };
    let reason = format!(
        "{} fits, but {bad} of {} copies compared disagree: a member holds older data (stale) or is damaged{}; supply --hint or more data",
        describe(cand),
        a.compared,
        match suspects.as_slice() {
            [one] =>
                format!("; member {one} takes part in nearly every disagreement, listed without it"),
            _ => String::new(),
        }
    );
    Some((Verdict::Ambiguous { reason }, suspects))
}

/// `c` with member image `img` left out.
fn without(c: &Candidate, img: usize) -> Candidate {
    let mut c = c.clone();
    for s in &mut c.geometry.slots {
        if s.image == Some(img) {
            s.image = None;
        }
    }
    c.order = c.geometry.slots.iter().map(|s| s.image).collect();
    c
}

/// Share of disagreeing copies above which a member is suspected stale.
const STALE_DISAGREEMENT: f64 = 0.002;

/// The verdict over the ranked candidates.
/// A rival within [`MIN_GAP`] merit keeps the answer open only when its
/// `prior` (a file system or partition table starting at array offset 0,
/// data starting at the first data) is as good as the top's.
fn decide<P: Ord>(ranked: &[Scored], cands: &[Candidate], prior: impl Fn(&Scored) -> P) -> Verdict {
    let top = &ranked[0];
    let e = top.explained;
    let runner = ranked.get(1);
    let close = |r: &Scored| {
        e.merit() - r.explained.merit() < MIN_GAP.max(e.explained as i64 / 100)
            && prior(r) >= prior(top)
    };
    let structures_decide =
        e.explained >= MIN_EXPLAINED && e.rate() >= MIN_RATE && !ranked[1..].iter().any(close);
    // Near layouts whose copies pin everything: the only geometry left.
    let copies_decide = runner.is_none()
        && top.agreement.compared >= 4 * MIN_COMPARED
        && top.agreement.rate() >= 0.99;
    if structures_decide || copies_decide {
        return Verdict::Found;
    }
    let reason = match (runner, cands.get(1)) {
        (Some(r), Some(rc)) => format!(
            "ambiguous: {} and {} both agree with the copies seen ({:.1}% and {:.1}%), explaining {} of {} and {} of {} self-locating structures; supply --hint or more data",
            describe(&cands[0]),
            describe(rc),
            top.agreement.rate() * 100.0,
            r.agreement.rate() * 100.0,
            e.explained,
            e.considered,
            r.explained.explained,
            r.explained.considered
        ),
        _ => format!(
            "{} agrees with the copies seen ({:.1}% of {}), but too few of them or of the self-locating structures pin it; supply --hint or more data",
            describe(&cands[0]),
            top.agreement.rate() * 100.0,
            top.agreement.compared
        ),
    };
    Verdict::Ambiguous { reason }
}

/// Whether `g` uses most of members `common` bytes long: md sets the far
/// stride from the member size, so a far geometry whose copies fill only
/// the start of the members (a short stride that happens to match the
/// copies near the head, as an offset layout's does) is unlikely.
fn spans_members(g: &Geometry, common: u64) -> bool {
    let used = g.slots.first().and_then(|s| s.size);
    used.is_none_or(|u| 2 * u >= common.saturating_sub(offset_of(g)))
}

fn offset_of(g: &Geometry) -> u64 {
    g.slots.first().map_or(0, |s| s.data_offset)
}

/// True when every pair of members holds equal sectors at equal offsets
/// (RAID1, or near copies on every member): not a shifted layout.
fn mirrored(store: &HashStore) -> bool {
    let zero = Relation::count(store, 0, None);
    let n = store.members();
    (0..n).all(|a| {
        let t = zero.tested[a];
        t > 0 && (0..n).all(|b| b == a || zero.matched[a][b] as f64 >= 0.9 * t as f64)
    })
}

/// The first head offset where any member holds data.
fn first_data(store: &HashStore) -> Option<u64> {
    (0..store.members())
        .filter_map(|m| {
            store
                .head(m)
                .iter()
                .position(|&h| h != TRIVIAL)
                .map(|i| (i * SECTOR) as u64)
        })
        .min()
}

/// Sector offsets of up to [`PROBES`] 4 KiB head blocks with the most data
/// on the most members, spread over different 64 KiB regions, in the first
/// third of the members (the part far layouts keep their first copies in).
fn probe_sectors(store: &HashStore, n: usize) -> Vec<u64> {
    let per = (PROBE_BYTES / SECTOR as u64) as usize;
    let limit = store.head_bytes.min(store.common_bytes / 3);
    let blocks = (limit / PROBE_BYTES) as usize;
    let mut scored: Vec<(usize, u64)> = (0..blocks)
        .map(|b| {
            let count = (0..n)
                .map(|m| {
                    store.head(m)[b * per..(b + 1) * per]
                        .iter()
                        .filter(|&&h| h != TRIVIAL)
                        .count()
                })
                .sum::<usize>();
            (count, b as u64 * PROBE_BYTES)
        })
        .filter(|&(c, _)| c > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut regions = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (_, p) in scored {
        if out.len() >= PROBES * per {
            break;
        }
        if regions.insert(p / (64 * 1024)) {
            out.extend((0..per as u64).map(|i| p + i * SECTOR as u64));
        }
    }
    out.sort_unstable();
    out
}

/// Slot order from a successor map: slot `s + 1` holds the successor of
/// slot `s`'s member, slot 0 the member 0.
fn cycle_order(succ: &[usize]) -> Vec<Option<usize>> {
    let mut order = Vec::with_capacity(succ.len());
    let mut x = 0;
    for _ in 0..succ.len() {
        order.push(Some(x));
        x = succ[x];
    }
    order
}

/// A far geometry with stride `stride_bytes`: the slot size is set so md's
/// stride comes out exactly (`far × stride`).
fn far_geometry(
    far: u8,
    chunk: u64,
    stride_bytes: u64,
    n: usize,
    order: &[Option<usize>],
) -> Geometry {
    let mut g = Geometry::new(Level::Raid10, r10(1, far, false), chunk, n).with_order(order);
    for s in &mut g.slots {
        s.size = Some(stride_bytes * u64::from(far));
    }
    g
}

/// Checks `g` at every data offset and keeps those whose copies agree.
fn check_offsets(
    store: &HashStore,
    g: Geometry,
    offsets: &[u64],
    probes: &[u64],
    passed: &mut Vec<Scored>,
    note: impl Fn(u64) -> String,
) {
    let lens = vec![store.common_bytes; store.members()];
    for &off in offsets {
        let g = g.clone().with_data_offset(off);
        check(store, &lens, g, probes, passed, note(off));
    }
}

/// Keeps `g` (its slots' data offsets set) when its copies agree and each
/// slot's data fits its member (`lens`, by image).
fn check(
    store: &HashStore,
    lens: &[u64],
    g: Geometry,
    probes: &[u64],
    passed: &mut Vec<Scored>,
    note: String,
) {
    let fits = g.slots.iter().all(|s| {
        let len = s
            .image
            .and_then(|i| lens.get(i).copied())
            .unwrap_or(store.common_bytes);
        s.size
            .is_none_or(|size| s.data_offset.checked_add(size).is_some_and(|e| e <= len))
    });
    if !fits {
        return;
    }
    let Some(r) = Resolved::new(g, store.members(), store.common_bytes) else {
        return;
    };
    // Quick screen, then the full count.
    let quick = mapping::agreement(&r, store, probes, 4, 24);
    if quick.compared >= 24 && quick.rate() < 0.8 {
        return;
    }
    let a = mapping::agreement(&r, store, probes, 1, u64::MAX);
    if a.compared >= MIN_COMPARED && a.rate() >= MIN_AGREEMENT {
        passed.push(Scored {
            geometry: r.geometry,
            agreement: a,
            explained: Explained::default(),
            note,
            continuity: None,
        });
    }
}

/// Member orders for a near layout at chunk `rel.delta`: the member that
/// receives the strongest wrap (one chunk row further) is slot 0; the rest
/// are enumerated for small arrays, else chained by equal sectors at
/// equal offsets.
fn near_orders(rel: &Relation, zero: &Relation, n: usize) -> Vec<Vec<Option<usize>>> {
    let wraps: Vec<(u64, usize)> = (0..n)
        .filter_map(|a| {
            let b = rel.successor(a, WRAP_RATE)?;
            Some((rel.matched[a][b], b))
        })
        .collect();
    let Some(&(_, first)) = wraps.iter().max() else {
        return Vec::new();
    };
    let rest: Vec<usize> = (0..n).filter(|&m| m != first).collect();
    let mut out = Vec::new();
    if n <= MAX_ENUMERATED {
        permutations(&rest, &mut Vec::new(), &mut |p| {
            let mut o = vec![Some(first)];
            o.extend(p.iter().map(|&m| Some(m)));
            out.push(o);
        });
    } else {
        let mut o = vec![first];
        let mut left = rest;
        while !left.is_empty() {
            let prev = *o.last().unwrap_or(&first);
            let (i, _) = left
                .iter()
                .enumerate()
                .max_by_key(|(_, b)| zero.matched[prev][**b])
                .unwrap_or((0, &0));
            o.push(left.remove(i));
        }
        out.push(o.into_iter().map(Some).collect());
    }
    out
}

fn permutations(items: &[usize], prefix: &mut Vec<usize>, f: &mut impl FnMut(&[usize])) {
    if prefix.len() == items.len() {
        f(prefix);
        return;
    }
    for &x in items {
        if !prefix.contains(&x) {
            prefix.push(x);
            permutations(items, prefix, f);
            prefix.pop();
        }
    }
}

/// Every rotation of far/offset cycles and every chunk dividing a far
/// stride, scored by the structures they explain.
fn expand(
    passed: Vec<Scored>,
    chunks: &[u64],
    n: usize,
    member_bytes: u64,
    st: &Structures<'_>,
) -> Vec<Scored> {
    let mut out = Vec::new();
    for p in passed {
        let Layout::Raid10(l) = p.geometry.layout else {
            continue;
        };
        let mut variants = vec![p.geometry.clone()];
        if l.near == 1 {
            let chunk_list: Vec<u64> = if l.offset {
                vec![p.geometry.chunk_bytes]
            } else {
                let stride = p.geometry.slots[0].size.unwrap_or(0) / u64::from(l.far);
                chunks
                    .iter()
                    .copied()
                    .filter(|&c| stride % c == 0 && stride / c >= 2)
                    .collect()
            };
            variants = (0..n)
                .flat_map(|rot| {
                    let base = p.geometry.clone();
                    chunk_list.iter().map(move |&c| {
                        // Slots rotate with their data offsets.
                        let mut g = base.clone();
                        g.slots.rotate_left(rot);
                        g.chunk_bytes = c;
                        g
                    })
                })
                .collect();
        }
        for g in variants {
            let Some(r) = Resolved::new(g, n, member_bytes) else {
                continue;
            };
            out.push(Scored {
                explained: mapping::explain(&r, st.eqs),
                geometry: r.geometry,
                agreement: p.agreement,
                note: p.note.clone(),
                continuity: None,
            });
        }
    }
    out
}

fn candidate(s: &Scored, st: &Structures<'_>) -> Candidate {
    let g = s.geometry.clone();
    let mut structures = vec![s.note.clone()];
    structures.extend(st.kinds.iter().cloned());
    Candidate {
        level: Level::Raid10,
        layout: None,
        chunk_bytes: g.chunk_bytes,
        order: g.slots.iter().map(|x| x.image).collect(),
        data_offset_bytes: offset_of(&g),
        score: s.agreement.rate()
            * if s.explained.considered > 0 {
                s.explained.rate()
            } else {
                1.0
            },
        margin: 0.0,
        evidence: Evidence {
            informative_sectors: s.agreement.compared,
            mirror_rate: s.agreement.rate(),
            checked: s.agreement.compared,
            anchors_explained: Some(s.explained.explained as u64),
            anchors_considered: Some(s.explained.considered as u64),
            structures,
            ..Evidence::default()
        },
        geometry: g,
    }
}
