//! Linear (JBOD) concatenations without metadata.
//!
//! A linear array (md `--level=linear`, a controller's JBOD/span) holds
//! the array's bytes member after member: member k's data runs from its
//! data offset to the end of its data area, and the next member's data
//! carries on from there. With no metadata the engineer needs the order,
//! each member's data offset and where each member's data ends.
//!
//! Evidence that members are concatenated rather than striped:
//! - no redundancy (no parity, no Q, no mirror) in the signals;
//! - same-member continuity never breaks at any chunk size
//!   ([`continuity::pick_chunk`] finds none);
//! - **junctions**: the last data sector of one member runs on into the
//!   first data sector of the next (sequence numbers, bytes that persist,
//!   flowing text: [`continuity::similarity`]).
//!
//! Where a member's data ends: md 1.1/1.2 (and most JBODs) use the whole
//! member; md 0.90/1.0 keep their superblock 64–128 KiB before the end and
//! the data stops before it. Neither is known when the superblocks are
//! wiped, and an unfilled file system leaves zeros at the end of a member.
//! So a junction is scored only where the member's last non-zero sector
//! sits at a plausible end (the member's end, or a 4 KiB boundary in the
//! last [`END_SLACK_BYTES`]) and the next member's first non-zero sector
//! at a plausible data start; a zero tail that is really free space never
//! produces a junction, it only leaves that member's successor open.
//!
//! A junction links two members when its similarity stands
//! [`MIN_Z`] standard errors above the same member end scored against
//! sectors from the inside of every member (where nothing follows it),
//! and no rival junction of either member does. Links that chain every
//! member give the order ([`Verdict::Found`]); structures placed by
//! [`fit_linear`](crate::fit::fit_linear) may complete a partial chain
//! when they pin every member. Anything weaker is
//! [`Verdict::Ambiguous`] listing the best orders.

use platter_core::Source;
use platter_core::source::ExtentKind;
use platter_raid::geometry::{Geometry, Layout, Level};

use crate::bytes::is_zero;
use crate::continuity::{chunk_breaks, pick_chunk, similarity};
use crate::fit::fit_linear;
use crate::member_offsets::{first_data, snap_down};
use crate::placement::permutations;
use crate::report::{Candidate, Evidence, Verdict};
use crate::sample::{SECTOR, Samples};
use crate::signals::SignalSummary;
use crate::text_flow::TextModel;
use crate::verdict::Structures;
use crate::{Hint, Result};

/// Largest member count whose orders are all tried.
const MAX_MEMBERS: usize = 8;
/// Share of informative sectors that may pass a redundancy test (XOR
/// zero, Q located, all equal, a pair equal) by chance.
const MAX_REDUNDANCY_RATE: f64 = 0.2;
/// Standard errors a chunk size's continuity drop needs to show stripes.
const CHUNK_MIN_Z: f64 = 4.0;
/// Standard errors a junction needs above its member end's null scores.
pub(crate) const MIN_Z: f64 = 4.0;
/// A junction's similarity must also exceed the null mean by this much.
const MIN_GAP: f64 = 0.25;
/// Same-member continuity between close sectors that content must show
/// before junctions between members are weighed.
const MIN_INSIDE: f64 = 0.3;
/// How far back from a member's end its last data is looked for (an end
/// further back than [`END_SLACK_BYTES`] is not taken as the data end).
const TAIL_SCAN_BYTES: u64 = END_SLACK_BYTES + (1 << 20);
/// Read size of the tail scan.
const BLOCK_BYTES: u64 = 1 << 20;
/// A data end may lie this far before the member's end (md 0.90/1.0
/// superblock and bitmap area, rounding).
const END_SLACK_BYTES: u64 = 192 << 10;
/// Inner sector pairs read per member for the null scores.
const NULL_PER_MEMBER: u64 = 24;
/// Null scores a member end needs before its junctions are judged.
const MIN_NULL: usize = 12;
/// Orders listed when the evidence does not decide.
const LISTED: usize = 4;
/// Structures a fit must explain to complete a chain.
const MIN_FIT_EXPLAINED: usize = 8;
/// Structures of one space needed on each side of a junction to bind it.
const MIN_SIDE: usize = 2;
/// md superblock magic (`MD_SB_MAGIC`, little-endian at byte 0).
const MD_MAGIC: u32 = 0xa92b_4efc;

/// What one member shows of its data area.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    /// First non-zero, non-metadata sector.
    first: u64,
    /// `first` when it is a plausible data start (the junction into the
    /// member can be scored there).
    start: Option<u64>,
    /// The end of the last non-zero sector when that is a plausible data
    /// end (the junction out of the member can be scored there).
    end: Option<u64>,
    /// Member length.
    len: u64,
}

/// A linear answer when the members read as a concatenation, given the
/// verdict the other levels reached (not *found*); `None` to keep it.
pub(crate) fn infer(
    members: &[&dyn Source],
    samples: &Samples,
    summary: &SignalSummary,
    st: &Structures<'_>,
    hint: &Hint,
    current: &(Verdict, Vec<Candidate>),
) -> Result<Option<(Verdict, Vec<Candidate>)>> {
    let n = members.len();
    if !(2..=MAX_MEMBERS).contains(&n)
        || hint.level.is_some_and(|l| l != Level::Linear)
        || hint.chunk_bytes.is_some()
        || hint.parity_member.is_some()
        || redundant(summary, n)
    {
        return Ok(None);
    }
    let breaks = chunk_breaks(samples, n, 0);
    // Content whose consecutive sectors do not resemble each other inside
    // a member (random, compressed or encrypted data) gives junctions no
    // meaning: a chance byte in common would read as a link.
    let inside = breaks
        .iter()
        .find(|b| b.stat.count > 0)
        .map_or(0.0, |b| b.stat.mean);
    if inside < MIN_INSIDE || pick_chunk(&breaks, CHUNK_MIN_Z).is_some() {
        return Ok(None);
    }
    let Some(ext) = members
        .iter()
        .map(|m| bounds(*m))
        .collect::<Option<Vec<Bounds>>>()
    else {
        // An all-zero member: nothing to place it by.
        return Ok(None);
    };
    let text = TextModel::learn(samples);
    let z = junction_z(members, &ext, text.as_ref());
    let links = links(&z, n);
    let fit = structure_fit(st, &ext, n);
    let spans = fit.as_ref().map_or_else(
        || vec![false; n - 1],
        |f| spanned(st.eqs, &st.member_sizes, f),
    );
    let (orders, decided) = rank(&z, &links, fit.as_ref(), &spans, n);
    let Some(best) = orders.first() else {
        return Ok(None);
    };
    let linked = links.iter().flatten().count();
    let candidates: Vec<Candidate> = orders
        .iter()
        .take(LISTED)
        .enumerate()
        .map(|(i, o)| candidate(o, &ext, fit.as_ref(), &z, i == 0 && decided))
        .collect();
    if decided {
        return Ok(Some((Verdict::Found, candidates)));
    }
    // Without a single link or a structure binding two members, nothing
    // says the members are concatenated at all: keep the answer.
    if linked == 0 && spans.iter().all(|&s| !s) {
        return Ok(None);
    }
    let reason = format!(
        "linear (JBOD): {linked} of {} junctions between members link clearly, which leaves {} orders open (best {:?}); supply --hint or more data",
        n - 1,
        orders.len(),
        best
    );
    let mut all = current.1.clone();
    let at = all.len().min(2);
    all.splice(at..at, candidates);
    if current.1.is_empty() {
        return Ok(Some((Verdict::Ambiguous { reason }, all)));
    }
    let reason = match &current.0 {
        Verdict::Ambiguous { reason: r } => format!("{r}; {reason}"),
        _ => reason,
    };
    Ok(Some((Verdict::Ambiguous { reason }, all)))
}

/// True when any redundancy test passes on more than chance.
fn redundant(s: &SignalSummary, n: usize) -> bool {
    if s.informative_sectors == 0 {
        return false;
    }
    let pair = (0..n).any(|a| {
        (0..n).any(|b| {
            a != b && {
                let either = s.pair_either[a][b];
                either >= 16 && s.pair_equal[a][b] as f64 > MAX_REDUNDANCY_RATE * either as f64
            }
        })
    });
    pair || s.rate(s.xor_zero_sectors) > MAX_REDUNDANCY_RATE
        || s.rate(s.q_located_sectors) > MAX_REDUNDANCY_RATE
        || s.rate(s.all_equal_sectors) > MAX_REDUNDANCY_RATE
}

/// True when a sector opens md metadata (a superblock).
fn is_md(sector: &[u8]) -> bool {
    sector
        .get(..4)
        .is_some_and(|h| u32::from_le_bytes([h[0], h[1], h[2], h[3]]) == MD_MAGIC)
}

/// Reads `len` bytes at `at`, `None` on a read error.
fn read(m: &dyn Source, at: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    m.read_exact_at(&mut buf, at).ok()?;
    Some(buf)
}

/// The end of the last non-zero sector of `m` within [`TAIL_SCAN_BYTES`]
/// of its end that is not md metadata (a superblock's 4 KiB is skipped).
/// Holes are skipped; unreadable blocks are passed over.
fn last_data(m: &dyn Source) -> Option<u64> {
    let len = m.len() / SECTOR as u64 * SECTOR as u64;
    let from = len.saturating_sub(TAIL_SCAN_BYTES);
    let extents = m.extents(from, len - from).unwrap_or_else(|_| {
        vec![platter_core::source::Extent {
            offset: from,
            len: len - from,
            kind: ExtentKind::Data,
        }]
    });
    for e in extents.iter().rev().filter(|e| e.kind == ExtentKind::Data) {
        let lo = e.offset.max(from) / SECTOR as u64 * SECTOR as u64;
        let mut hi = e.end().min(len) / SECTOR as u64 * SECTOR as u64;
        while hi > lo {
            let at = hi.saturating_sub(BLOCK_BYTES).max(lo);
            let Some(b) = read(m, at, (hi - at) as usize) else {
                hi = at;
                continue;
            };
            let mut i = b.len() / SECTOR;
            while i > 0 {
                i -= 1;
                let s = &b[i * SECTOR..(i + 1) * SECTOR];
                if is_zero(s) {
                    continue;
                }
                let pos = at + (i * SECTOR) as u64;
                let block = pos / 4096 * 4096;
                let head = if block >= at {
                    let k = ((block - at) as usize) / SECTOR;
                    Some(b[k * SECTOR..(k + 1) * SECTOR].to_vec())
                } else {
                    read(m, block, SECTOR)
                };
                if head.as_deref().is_some_and(is_md) {
                    if block < at {
                        hi = block;
                        break;
                    }
                    i = ((block - at) as usize) / SECTOR;
                    continue;
                }
                return Some(pos + SECTOR as u64);
            }
            hi = hi.min(at);
        }
    }
    None
}

/// A member's data bounds, `None` when it shows no data.
fn bounds(m: &dyn Source) -> Option<Bounds> {
    let first = first_data(m).0?;
    let len = m.len();
    let start = (first % 4096 == 0 || snap_down(first) == first).then_some(first);
    let end = last_data(m)
        .filter(|&e| e > first && (e == len || (e % 4096 == 0 && len - e <= END_SLACK_BYTES)));
    Some(Bounds {
        first,
        start,
        end,
        len,
    })
}

/// `z[a][b]`: how many standard errors the junction from member `a`'s end
/// into member `b`'s start stands above `a`'s end scored against inner
/// sectors of every member; `None` when it cannot be scored.
fn junction_z(
    members: &[&dyn Source],
    ext: &[Bounds],
    text: Option<&TextModel>,
) -> Vec<Vec<Option<f64>>> {
    let n = members.len();
    let sec = SECTOR as u64;
    let pair = |m: usize, at: u64| read(members[m], at, 2 * SECTOR);
    // Inner sector pairs of every member, where no member end leads.
    let starts: Vec<u64> = ext.iter().filter_map(|e| e.start).collect();
    let mut inner: Vec<Vec<u8>> = Vec::new();
    for (m, e) in ext.iter().enumerate() {
        let end = e.end.unwrap_or(e.len);
        let span = end.saturating_sub(e.first);
        let step = (span / (NULL_PER_MEMBER + 1)) / sec * sec;
        if step < 2 * sec {
            continue;
        }
        for k in 1..=NULL_PER_MEMBER {
            let at = e.first + k * step;
            if starts.contains(&at) || at + 2 * sec > end {
                continue;
            }
            if let Some(b) = pair(m, at).filter(|b| !is_zero(&b[..SECTOR])) {
                inner.push(b);
            }
        }
    }
    let mut z = vec![vec![None; n]; n];
    for (a, ea) in ext.iter().enumerate() {
        let Some(end) = ea.end else { continue };
        let Some(tail) = end.checked_sub(2 * sec).and_then(|at| pair(a, at)) else {
            continue;
        };
        let (a_prev, a_last) = tail.split_at(SECTOR);
        // A copy (an NTFS backup boot sector at a volume's end, equal to
        // the boot sector that opens it) is no continuity.
        let score = |b: &[u8]| {
            let head = &b[..SECTOR];
            if head == a_last || head == a_prev {
                return None;
            }
            similarity(a_prev, a_last, head, &b[SECTOR..], text)
        };
        let null: Vec<f64> = inner
            .iter()
            .filter_map(|b| score(b))
            .map(f64::from)
            .collect();
        if null.len() < MIN_NULL {
            continue;
        }
        let stat = crate::continuity::stats(null.iter().copied());
        let sd = stat.var.sqrt();
        for (b, eb) in ext.iter().enumerate() {
            if a == b {
                continue;
            }
            let Some(head) = eb.start.and_then(|s| pair(b, s)) else {
                continue;
            };
            let Some(v) = score(&head).map(f64::from) else {
                continue;
            };
            let lead = v - stat.mean;
            z[a][b] = Some(if lead < MIN_GAP {
                lead / sd.max(1e-9)
            } else if sd > 0.0 {
                lead / sd
            } else {
                f64::INFINITY
            });
        }
    }
    z
}

/// `links[a] = Some(b)`: member `b` clearly follows member `a`, and no
/// rival junction into `b` or out of `a` comes near.
fn links(z: &[Vec<Option<f64>>], n: usize) -> Vec<Option<usize>> {
    let strong = |a: usize, b: usize| z[a][b].is_some_and(|v| v >= MIN_Z);
    (0..n)
        .map(|a| {
            let outs: Vec<usize> = (0..n).filter(|&b| strong(a, b)).collect();
            match outs[..] {
                [b] if (0..n).filter(|&x| strong(x, b)).count() == 1 => Some(b),
                _ => None,
            }
        })
        .collect()
}

/// The structures' linear fit, over the common data offsets and each
/// member's own data start.
fn structure_fit(st: &Structures<'_>, ext: &[Bounds], n: usize) -> Option<crate::fit::Fit> {
    let own: Vec<u64> = ext.iter().map(|e| snap_down(e.first)).collect();
    let mut offsets: Vec<Vec<u64>> = crate::search::offsets(
        ext.iter().map(|e| e.first).min(),
        st.member_sizes.iter().copied().min().unwrap_or(0),
    )
    .into_iter()
    .map(|o| vec![o; n])
    .collect();
    offsets.push(own.clone());
    // Starts the junctions can see are exact.
    offsets.push(
        ext.iter()
            .zip(&own)
            .map(|(e, o)| e.start.unwrap_or(*o))
            .collect(),
    );
    offsets.dedup();
    fit_linear(st.eqs, &st.member_sizes, &offsets)
}

/// For each junction of `fit`'s order (between slots p and p+1): true
/// when one space's structures, placed consistently by the fit, sit on
/// members on both sides of it (their distance then rests on the sizes
/// and data offsets of the members between).
fn spanned(eqs: &[crate::fit::Equation], sizes: &[u64], fit: &crate::fit::Fit) -> Vec<bool> {
    let g = &fit.geometry;
    let n = g.slots.len();
    let mut slot_of = vec![None; sizes.len()];
    let mut start = vec![0i128; sizes.len()];
    let mut at = 0i128;
    for (slot, s) in g.slots.iter().enumerate() {
        let Some(m) = s.image.filter(|&m| m < sizes.len()) else {
            return vec![false; n.saturating_sub(1)];
        };
        slot_of[m] = Some(slot);
        start[m] = at - i128::from(s.data_offset);
        at += i128::from(sizes[m].saturating_sub(s.data_offset));
    }
    // Per (space, start): the slots holding its structures.
    let mut per: std::collections::HashMap<(u64, i128), Vec<usize>> =
        std::collections::HashMap::new();
    for e in eqs {
        let Some(slot) = slot_of.get(e.member).copied().flatten() else {
            continue;
        };
        if e.member_offset < g.slots[slot].data_offset {
            continue;
        }
        let x = start[e.member] + i128::from(e.member_offset) - i128::from(e.fs_offset);
        if e.space == crate::fit::ARRAY_SPACE && x != 0 {
            continue;
        }
        per.entry((e.space, x)).or_default().push(slot);
    }
    // Array offsets (a GPT and its backup at the array's end) coincide for
    // any layout of the same capacity: only file-system spaces count, with
    // structures on both sides.
    (0..n.saturating_sub(1))
        .map(|p| {
            per.iter().any(|((space, _), slots)| {
                *space != crate::fit::ARRAY_SPACE
                    && slots.iter().filter(|&&s| s <= p).count() >= MIN_SIDE
                    && slots.iter().filter(|&&s| s > p).count() >= MIN_SIDE
            })
        })
        .collect()
}

/// Orders consistent with every link, best first, and whether the first
/// is decided: the links chain every member, or the structures pin a
/// complete order that agrees with them.
fn rank(
    z: &[Vec<Option<f64>>],
    links: &[Option<usize>],
    fit: Option<&crate::fit::Fit>,
    spans: &[bool],
    n: usize,
) -> (Vec<Vec<usize>>, bool) {
    let agrees = |o: &[usize]| {
        links
            .iter()
            .enumerate()
            .all(|(a, l)| l.is_none_or(|b| o.windows(2).any(|w| w == [a, b])))
    };
    let fit_order: Option<Vec<usize>> = fit.and_then(|f| {
        f.geometry
            .slots
            .iter()
            .map(|s| s.image)
            .collect::<Option<Vec<usize>>>()
    });
    // Every junction of the fit's order must be bound: by a space whose
    // structures it places on members on both sides, or by a link.
    let fit_sure = fit.is_some_and(|f| {
        f.explained >= MIN_FIT_EXPLAINED
            && f.undecided_members.is_empty()
            && f.explained == f.considered
    }) && fit_order.as_ref().is_some_and(|o| {
        o.windows(2)
            .zip(spans)
            .all(|(w, &s)| s || links[w[0]] == Some(w[1]))
    });
    let score = |o: &[usize]| -> f64 {
        o.windows(2)
            .filter_map(|w| z[w[0]][w[1]])
            .map(|v| v.clamp(-MIN_Z, MIN_Z))
            .sum()
    };
    let mut orders: Vec<(bool, f64, Vec<usize>)> = permutations(n, &vec![None; n])
        .into_iter()
        .filter(|o| agrees(o))
        .map(|o| (fit_order.as_ref() == Some(&o), score(&o), o))
        .collect();
    orders.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)));
    let chained = links.iter().flatten().count() == n - 1;
    let decided = match orders.first() {
        Some((by_fit, _, _)) => orders.len() == 1 && chained || (*by_fit && fit_sure),
        None => false,
    };
    (orders.into_iter().map(|(_, _, o)| o).collect(), decided)
}

/// The candidate of one order.
fn candidate(
    order: &[usize],
    ext: &[Bounds],
    fit: Option<&crate::fit::Fit>,
    z: &[Vec<Option<f64>>],
    decided: bool,
) -> Candidate {
    let n = order.len();
    let slots: Vec<Option<usize>> = order.iter().copied().map(Some).collect();
    let mut g = Geometry::new(Level::Linear, Layout::None, 512, n).with_order(&slots);
    // The structures' offsets when they fit this order, else the starts
    // the junctions read, else each member's first data snapped down.
    let fitted = fit.filter(|f| {
        f.geometry
            .slots
            .iter()
            .map(|s| s.image)
            .eq(slots.iter().copied())
    });
    for (i, (slot, &m)) in g.slots.iter_mut().zip(order).enumerate() {
        let linked = i > 0 && z[order[i - 1]][m].is_some_and(|v| v >= MIN_Z);
        slot.data_offset = match (fitted, linked, ext[m].start) {
            (Some(f), _, _) => f.geometry.slots[i].data_offset,
            (None, true, Some(s)) => s,
            _ => snap_down(ext[m].first),
        };
        // The member before a linked junction ends where its data did.
        if let (Some(next), Some(end)) = (order.get(i + 1), ext[m].end) {
            if z[m][*next].is_some_and(|v| v >= MIN_Z) && end < ext[m].len {
                slot.size = end.checked_sub(slot.data_offset);
            }
        }
    }
    let junctions: Vec<String> = order
        .windows(2)
        .map(|w| match z[w[0]][w[1]] {
            // A null with no spread (sequence numbers: every other
            // sector reads as not following) makes the lead unbounded.
            Some(v) if v.is_infinite() => format!("{}→{}: decisive", w[0], w[1]),
            Some(v) => format!("{}→{}: {v:.1} SE", w[0], w[1]),
            None => format!("{}→{}: not scored", w[0], w[1]),
        })
        .collect();
    let mut structures = vec![format!(
        "junction continuity over the null of each member end: {}",
        junctions.join(", ")
    )];
    if let Some(f) = fitted {
        structures.push(format!(
            "{} of {} structures placed by this order",
            f.explained, f.considered
        ));
    }
    Candidate {
        level: Level::Linear,
        layout: None,
        chunk_bytes: 512,
        order: slots,
        data_offset_bytes: g.slots.first().map_or(0, |s| s.data_offset),
        score: if decided { 1.0 } else { 0.5 },
        margin: if decided { 0.5 } else { 0.0 },
        evidence: Evidence {
            anchors_explained: fitted.map(|f| f.explained as u64),
            anchors_considered: fitted.map(|f| f.considered as u64),
            structures,
            ..Evidence::default()
        },
        geometry: g,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::describe;
    use crate::{Options, infer as infer_all};
    use platter_core::MemSource;
    use platter_raid::array::RaidArray;

    /// Array sector `k` of a labelled stream (`tag` names the stream).
    fn labelled(tag: &str, k: u64) -> Vec<u8> {
        let mut s = format!("{tag} linear sector {k:>10} of the volume\n").into_bytes();
        s.resize(SECTOR, b'.');
        s
    }

    /// Members of a linear array of `data[m]` data bytes each, data at
    /// `off[m]`, in `order`, filled with the labelled stream.
    fn concat(data: &[u64], off: &[u64], order: &[usize]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut imgs: Vec<Vec<u8>> = (0..data.len())
            .map(|m| vec![0u8; (off[m] + data[m]) as usize])
            .collect();
        let mut whole = Vec::new();
        let mut k = 0;
        for &m in order {
            for at in (0..data[m]).step_by(SECTOR) {
                let s = labelled("platter", k);
                let p = (off[m] + at) as usize;
                imgs[m][p..p + SECTOR].copy_from_slice(&s);
                whole.extend_from_slice(&s);
                k += 1;
            }
        }
        (imgs, whole)
    }

    fn sources(imgs: &[Vec<u8>]) -> Vec<MemSource> {
        imgs.iter()
            .enumerate()
            .map(|(i, d)| MemSource::new(format!("m{i}"), d.clone()))
            .collect()
    }

    /// The first `len` bytes the geometry assembles.
    fn assemble(g: &Geometry, srcs: &[MemSource], len: usize) -> Vec<u8> {
        let members = srcs
            .iter()
            .map(|s| Some(std::sync::Arc::new(s.clone()) as platter_core::SharedSource))
            .collect();
        let a = RaidArray::new(g.clone(), members).unwrap();
        let mut buf = vec![0u8; len];
        a.read_exact_at(&mut buf, 0).unwrap();
        buf
    }

    #[test]
    fn every_order_of_a_labelled_concatenation_is_found() {
        let data = [384u64 << 10, 640 << 10, 512 << 10, 448 << 10];
        let off = [64u64 << 10, 0, 4096, 1 << 20];
        for order in permutations(4, &[None; 4]) {
            let (imgs, whole) = concat(&data, &off, &order);
            let srcs = sources(&imgs);
            let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
            let r = infer_all(&refs, &Options::default()).unwrap();
            assert_eq!(r.verdict, Verdict::Found, "{order:?}: {:?}", r.verdict);
            let top = &r.candidates[0];
            assert_eq!(top.level, Level::Linear, "{order:?}");
            let want: Vec<Option<usize>> = order.iter().copied().map(Some).collect();
            assert_eq!(top.order, want);
            assert_eq!(assemble(&top.geometry, &srcs, whole.len()), whole);
        }
        // Three members, all orders, the same offset everywhere.
        for order in permutations(3, &[None; 3]) {
            let (imgs, whole) = concat(&data[..3], &[128 << 10; 3], &order);
            let srcs = sources(&imgs);
            let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
            let r = infer_all(&refs, &Options::default()).unwrap();
            assert_eq!(r.verdict, Verdict::Found, "{order:?}");
            assert_eq!(
                assemble(&r.candidates[0].geometry, &srcs, whole.len()),
                whole
            );
        }
    }

    #[test]
    fn a_stripe_of_the_same_content_is_not_linear() {
        // RAID0, 3 members, 64 KiB chunks, over the labelled stream.
        let (chunk, member) = (64u64 << 10, 1u64 << 20);
        let mut imgs = vec![vec![0u8; member as usize]; 3];
        for k in 0..3 * member / SECTOR as u64 {
            let x = k * SECTOR as u64;
            let (c, within) = (x / chunk, x % chunk);
            let m = (c % 3) as usize;
            let at = ((c / 3) * chunk + within) as usize;
            imgs[m][at..at + SECTOR].copy_from_slice(&labelled("platter", k));
        }
        let srcs = sources(&imgs);
        let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
        let r = infer_all(&refs, &Options::default()).unwrap();
        assert!(
            r.candidates
                .first()
                .is_none_or(|c| c.level != Level::Linear),
            "{:?} {:?}",
            r.verdict,
            r.candidates.first().map(describe)
        );
    }

    #[test]
    fn unrelated_members_are_not_called_linear() {
        // Three independent labelled streams: every junction reads another
        // number behind the same label.
        let imgs: Vec<Vec<u8>> = ["alpha", "bravo", "delta"]
            .iter()
            .map(|tag| {
                (0..1024u64)
                    .flat_map(|k| labelled(tag, k * 7 + 3))
                    .collect()
            })
            .collect();
        let srcs = sources(&imgs);
        let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
        let r = infer_all(&refs, &Options::default()).unwrap();
        assert!(
            !(r.verdict == Verdict::Found
                && r.candidates
                    .first()
                    .is_some_and(|c| c.level == Level::Linear)),
            "{:?}",
            r.verdict
        );
    }

    #[test]
    fn data_end_skips_zero_tails_and_md_superblocks() {
        let mut d = vec![0u8; 1 << 20];
        d[..4096].fill(7);
        // An md 0.90 superblock 64 KiB before the end, zeros up to it.
        let sb = (1 << 20) - (64 << 10);
        d[sb..sb + 4].copy_from_slice(&MD_MAGIC.to_le_bytes());
        d[sb + 600] = 1;
        let m = MemSource::new("m", d.clone());
        assert_eq!(last_data(&m), Some(4096));
        // The data end is only trusted near the member's end.
        let b = bounds(&m).unwrap();
        assert_eq!((b.first, b.end), (0, None));
        d[..sb].fill(9);
        let m = MemSource::new("m", d);
        assert_eq!(bounds(&m).unwrap().end, Some(sb as u64));
        assert_eq!(last_data(&MemSource::new("z", vec![0u8; 8192])), None);
    }
}
