//! From signals to a level, candidates and a verdict.

use platter_raid::geometry::{Geometry, Layout, Level};

use crate::placement::PlacementTable;
use crate::raid6::Scored;
use crate::report::{Candidate, Evidence, Verdict, describe};
use crate::sample::Samples;
use crate::search::Family;
use crate::signals::{SignalSummary, Signals};
use crate::{anchored, continuity, raid6};

mod parity;
mod raid6_missing;
use parity::{constant_parity, decide_raid5, decide_raid6, raid6_behind_fit, rotation_raid5};

/// Fewer informative sectors than this give no verdict.
const MIN_INFORMATIVE: u64 = 64;
/// Rate of a redundancy signal that names the level.
const LEVEL_RATE: f64 = 0.95;
/// Rate of equal sectors that makes members mirrors.
const MIRROR_RATE: f64 = 0.98;
/// Fraction of informative sectors where parity holds (XOR zero, or Q on
/// one member) that still says RAID5/4 or RAID6 when a stale member breaks
/// the rest.
const STALE_LEVEL_RATE: f64 = 0.6;
/// A RAID6 candidate must recompute this fraction of sectors.
const RAID6_MIN_SCORE: f64 = 0.95;
/// … and beat the runner-up by this much.
const RAID6_MIN_MARGIN: f64 = 0.05;
/// Continuity: the top candidate's lead, in standard errors.
const CONTINUITY_MIN_Z: f64 = 4.0;
/// Same-member continuity drop that marks the chunk size, in standard errors.
const CHUNK_MIN_Z: f64 = 4.0;
/// Largest member count whose orders are all enumerated (RAID5); wider
/// arrays are searched by beam ([`crate::order_beam`]).
const RAID5_MAX_MEMBERS: usize = 6;
/// Largest member count for RAID6 (the located Q members pin most slots;
/// at most a few unpinned ones are enumerated).
const RAID6_MAX_MEMBERS: usize = 16;
/// Data offsets are aligned to this.
const OFFSET_ALIGN: u64 = 4096;

fn base_evidence(s: &SignalSummary) -> Evidence {
    Evidence {
        informative_sectors: s.informative_sectors,
        parity_consistent_rate: s.rate(s.xor_zero_sectors),
        q_located_rate: s.rate(s.q_located_sectors),
        mirror_rate: s.rate(s.all_equal_sectors),
        ..Evidence::default()
    }
}

/// Pairs every member with a mirror partner, if the equality counts allow.
fn mirror_pairs(s: &SignalSummary, n: usize) -> Option<Vec<(usize, usize)>> {
    if n < 4 || n % 2 != 0 {
        return None;
    }
    let mut used = vec![false; n];
    let mut pairs = Vec::new();
    for a in 0..n {
        if used[a] {
            continue;
        }
        // Mirrors are equal wherever either holds data; in a sparse RAID5
        // a data chunk and its parity are equal only in rows with one
        // non-zero chunk.
        let b = (a + 1..n).find(|&b| {
            !used[b]
                && s.pair_either[a][b] > 0
                && s.pair_equal[a][b] as f64 / s.pair_either[a][b] as f64 >= MIRROR_RATE
                && s.pair_equal[a][b] >= 16
        })?;
        used[a] = true;
        used[b] = true;
        pairs.push((a, b));
    }
    Some(pairs)
}

/// Equality rate of members `a` and `b` where either holds data.
fn pair_rate(s: &SignalSummary, a: usize, b: usize) -> Option<f64> {
    (s.pair_either[a][b] >= 16).then(|| s.pair_equal[a][b] as f64 / s.pair_either[a][b] as f64)
}

/// Members equal to one another wherever they hold data, except one that
/// matches them only in part: a RAID1 whose odd member is stale (with two
/// members, either may be). The answer leaves the stale member out.
fn stale_mirror(
    s: &SignalSummary,
    n: usize,
    st: &Structures<'_>,
    ev: &Evidence,
) -> Option<(Verdict, Vec<Candidate>)> {
    let partial = |r: f64| (STALE_MIRROR_MIN..MIRROR_RATE).contains(&r);
    let stale: Vec<usize> = if n == 2 {
        partial(pair_rate(s, 0, 1)?).then(|| vec![0, 1])?
    } else {
        let odd: Vec<usize> = (0..n)
            .filter(|&k| {
                let rest = (0..n).filter(|&x| x != k);
                rest.clone().all(|a| {
                    rest.clone()
                        .filter(|&b| b > a)
                        .all(|b| pair_rate(s, a, b).is_some_and(|r| r >= MIRROR_RATE))
                }) && (0..n)
                    .filter(|&x| x != k)
                    .all(|x| pair_rate(s, k, x).is_some_and(partial))
            })
            .collect();
        (odd.len() == 1).then_some(odd)?
    };
    let offset = st
        .starts
        .first()
        .copied()
        .filter(|&x| s.first_informative_offset.is_none_or(|f| x <= f))
        .or(s.first_informative_offset)
        .unwrap_or(0);
    let other = |k: usize| (0..n).find(|&x| x != k).unwrap_or(0);
    let cands: Vec<Candidate> = stale
        .iter()
        .map(|&k| {
            let order: Vec<Option<usize>> = (0..n).map(|i| (i != k).then_some(i)).collect();
            let rate = pair_rate(s, k, other(k)).unwrap_or(0.0);
            Candidate {
                level: Level::Raid1,
                layout: None,
                chunk_bytes: 0,
                order: order.clone(),
                data_offset_bytes: offset,
                score: rate,
                margin: 0.0,
                evidence: ev.clone(),
                geometry: Geometry::new(Level::Raid1, Layout::None, 0, n)
                    .with_order(&order)
                    .with_data_offset(offset),
            }
        })
        .collect();
    let k = stale[0];
    let rate = pair_rate(s, k, other(k)).unwrap_or(0.0) * 100.0;
    if n == 2 {
        let reason = format!(
            "the two members are a mirror that agrees on only {rate:.1}% of the sectors holding data: one of them is stale, and two members cannot say which; compare their contents or supply the array's metadata"
        );
        return Some((Verdict::Ambiguous { reason }, cands));
    }
    let mut cands = cands;
    cands[0].margin = cands[0].score;
    Some((Verdict::Found, cands))
}

/// A mirror member agreeing with the others on at least this share of the
/// sectors holding data is a stale copy (below: not a mirror).
const STALE_MIRROR_MIN: f64 = 0.5;

/// What the self-locating structures say, for [`decide`].
pub struct Structures<'a> {
    /// The equations.
    pub eqs: &'a [crate::fit::Equation],
    /// Counts of structure kinds.
    pub kinds: Vec<String>,
    /// The member sizes, in the order given.
    pub member_sizes: Vec<u64>,
    /// Member offsets where a partition table or file system starts
    /// (an MBR, a GPT header less 512, a boot sector or superblock less
    /// its own offset), lowest first.
    pub starts: Vec<u64>,
    /// Member offsets where the array may start ([`anchored::array_starts`]).
    pub array_starts: Vec<u64>,
}

/// Combines the structure-based decision with the parity/continuity one.
/// Structures win when they decide. A confident parity/continuity answer
/// stands when it explains (nearly) as many structures as the structures'
/// own best fit, and becomes ambiguous when it explains clearly fewer.
fn combine(
    anchored: Option<(Verdict, Vec<Candidate>)>,
    st: &Structures<'_>,
    n: usize,
    other: impl FnOnce() -> (Verdict, Vec<Candidate>),
) -> (Verdict, Vec<Candidate>) {
    match anchored {
        Some((Verdict::Found, c)) => (Verdict::Found, c),
        Some((av, ac)) => {
            let (ov, mut oc) = other();
            match ov {
                Verdict::Found => {
                    let strong = ac.first().filter(|c| c.score >= 0.9);
                    if let (Some(a), Some(o)) = (strong, oc.first_mut()) {
                        let member_bytes = st.member_sizes.iter().copied().min().unwrap_or(0);
                        let own = crate::fit::explain(st.eqs, n, member_bytes, &o.geometry);
                        let top = a.evidence.anchors_explained.unwrap_or(0);
                        if let Some(f) = &own {
                            o.evidence.anchors_explained = Some(f.explained as u64);
                            o.evidence.anchors_considered = Some(f.considered as u64);
                        }
                        let agrees = own.is_some_and(|f| (f.explained as f64) >= 0.95 * top as f64);
                        if a.geometry != o.geometry && !agrees {
                            let reason = format!(
                                "ambiguous: parity and continuity favour {}, but self-locating structures favour {}; supply --hint or more data",
                                describe(o),
                                describe(a)
                            );
                            oc.push(a.clone());
                            return (Verdict::Ambiguous { reason }, oc);
                        }
                    }
                    (Verdict::Found, oc)
                }
                _ if !ac.is_empty() => (av, ac),
                _ => (ov, oc),
            }
        }
        None => other(),
    }
}

/// The level, candidates (best first, margins set) and verdict.
pub fn decide(
    samples: &Samples,
    signals: &Signals,
    n: usize,
    st: &Structures<'_>,
    hint: &crate::Hint,
) -> (Verdict, Vec<Candidate>) {
    let (verdict, mut cands) = decide_inner(samples, signals, n, st, hint);
    for c in &mut cands {
        c.evidence.structures = st.kinds.clone();
    }
    (verdict, cands)
}

/// Candidates of an open structure fit listed beside an open rotation:
/// enough for every RAID5 layout tied on the structures of a small array
/// to reach validation (with three members all six explain the same
/// structures when those lie in row 0; two left the true one out).
const FIT_BESIDE_ROTATION: usize = 4;

/// Lists the best candidates of an open structure fit second, after an
/// open rotation's first, for validation to weigh with it.
fn beside(cands: &mut Vec<Candidate>, fit: Vec<Candidate>) {
    let fit: Vec<Candidate> = fit
        .into_iter()
        .filter(|c| !cands.iter().any(|d| d.geometry == c.geometry))
        .take(FIT_BESIDE_ROTATION)
        .collect();
    let at = 1.min(cands.len());
    cands.splice(at..at, fit);
}

fn decide_inner(
    samples: &Samples,
    signals: &Signals,
    n: usize,
    st: &Structures<'_>,
    hint: &crate::Hint,
) -> (Verdict, Vec<Candidate>) {
    let s = &signals.summary;
    if s.informative_sectors < MIN_INFORMATIVE {
        // Members that never hold data at the same offsets (a linear
        // array) can still be placed by their structures.
        if let Some(found) = anchored::decide(
            samples,
            st.eqs,
            Family::None,
            n,
            &st.member_sizes,
            s.first_informative_offset,
            &st.array_starts,
            &base_evidence(s),
            hint,
        )
        .filter(|(v, _)| *v == Verdict::Found)
        {
            return found;
        }
        return (
            Verdict::NoInformativeData {
                reason: format!(
                    "{} informative sectors (at least two members non-zero) in {} sampled; need {MIN_INFORMATIVE}",
                    s.informative_sectors, s.sectors_examined
                ),
            },
            Vec::new(),
        );
    }
    let ev = base_evidence(s);
    let offset = s.first_informative_offset.unwrap_or(0) / OFFSET_ALIGN * OFFSET_ALIGN;
    if ev.mirror_rate >= MIRROR_RATE {
        // A mirror's data starts where its first structure starts, or at
        // the first sector holding data.
        let offset = st
            .starts
            .first()
            .copied()
            .filter(|&x| s.first_informative_offset.is_none_or(|f| x <= f))
            .or(s.first_informative_offset)
            .unwrap_or(0);
        let c = Candidate {
            level: Level::Raid1,
            layout: None,
            chunk_bytes: 0,
            order: (0..n).map(Some).collect(),
            data_offset_bytes: offset,
            score: ev.mirror_rate,
            margin: ev.mirror_rate,
            evidence: ev,
            geometry: Geometry::new(Level::Raid1, Layout::None, 0, n).with_data_offset(offset),
        };
        return (Verdict::Found, vec![c]);
    }
    if let Some(found) = stale_mirror(s, n, st, &ev) {
        return found;
    }
    if let Some(pairs) = mirror_pairs(s, n) {
        if let Some(found) = anchored::decide_raid10(
            samples,
            st.eqs,
            &pairs,
            &st.member_sizes,
            s.first_informative_offset,
            &ev,
            hint,
        ) {
            return found;
        }
        if let Some(found) = raid10_near_by_continuity(samples, &pairs, offset, &ev, hint) {
            return found;
        }
        return (
            Verdict::Unsupported {
                reason: format!(
                    "members form mirrored pairs {pairs:?} (RAID10 near or RAID1+0); RAID10 near: without self-locating structures or continuity the order of the pairs and the chunk size cannot be told"
                ),
            },
            Vec::new(),
        );
    }
    let q_rate = s.rate(s.q_located_sectors + s.q_ambiguous_sectors);
    // A stale member breaks parity in the rows written since it left, and
    // only there.
    let stale_p = ev.parity_consistent_rate >= STALE_LEVEL_RATE && q_rate < STALE_LEVEL_RATE;
    if ev.parity_consistent_rate >= LEVEL_RATE || stale_p {
        // Where the content puts parity pins the rotation; the structures
        // then only choose among the layouts it allows.
        // An open one yields to the structure fit when that decides (a
        // rotation read at twice the chunk follows its rows just as well)
        // and is weighed beside it when it does not.
        let content = if hint.level.is_none_or(|l| l == Level::Raid5) && hint.layout.is_none() {
            rotation_raid5(samples, st, n, n, s.first_informative_offset, &ev, false)
        } else {
            None
        };
        if let Some(found) = content.as_ref().filter(|(v, _)| *v == Verdict::Found) {
            return found.clone();
        }
        // Content that does not repeat (random, compressed) shows no
        // parity by its repeat rate; a sparse array still shows it by the
        // sectors parity copies. An open answer from those yields to the
        // structures and continuity when they decide, and stands (for
        // validation to weigh) when they do not.
        let copies = if hint.level.is_none_or(|l| l == Level::Raid5) && hint.layout.is_none() {
            rotation_raid5(samples, st, n, n, s.first_informative_offset, &ev, true)
        } else {
            None
        };
        if let Some(found) = copies.as_ref().filter(|(v, _)| *v == Verdict::Found) {
            return found.clone();
        }
        let hint = &constant_parity(samples, n, hint, false);
        let a = anchored::decide(
            samples,
            st.eqs,
            Family::Xor,
            n,
            &st.member_sizes,
            s.first_informative_offset,
            &st.array_starts,
            &ev,
            hint,
        );
        // The structure fit's candidates go beside an open rotation.
        let fit = a.as_ref().map(|(_, c)| c.clone()).unwrap_or_default();
        let decided = combine(a, st, n, || {
            if n > crate::order_beam::MAX_MEMBERS {
                return unsupported(format!(
                    "RAID5/4 parity on {:.1}% of informative sectors, but without self-locating structures the order search supports at most {} members",
                    ev.parity_consistent_rate * 100.0,
                    crate::order_beam::MAX_MEMBERS
                ));
            }
            decide_raid5(samples, n, offset, ev.clone())
        });
        if decided.0 == Verdict::Found {
            return decided;
        }
        return match content.or(copies) {
            Some((verdict, mut cands)) => {
                beside(&mut cands, fit);
                (verdict, cands)
            }
            None => decided,
        };
    }
    // A stale member breaks P and Q in the rows written since it left;
    // elsewhere Q still sits on one member per row, which nothing but
    // RAID6 does.
    let stale_q = q_rate >= STALE_LEVEL_RATE && ev.parity_consistent_rate < STALE_LEVEL_RATE;
    if (q_rate >= LEVEL_RATE || stale_q) && n >= 4 {
        let a = anchored::decide(
            samples,
            st.eqs,
            Family::Q,
            n,
            &st.member_sizes,
            s.first_informative_offset,
            &st.array_starts,
            &ev,
            hint,
        );
        let mut decided = combine(a, st, n, || {
            if n > RAID6_MAX_MEMBERS {
                return unsupported(format!(
                    "RAID6 parity on {:.1}% of informative sectors, but without self-locating structures the order search supports at most {RAID6_MAX_MEMBERS} members",
                    q_rate * 100.0
                ));
            }
            decide_raid6(samples, signals, n, offset, ev.clone())
        });
        raid6_behind_fit(&mut decided, samples, signals, n, st, offset, &ev);
        return decided;
    }
    // A RAID6 with one member missing keeps one GF(2^8) relation per row.
    if let Some(found) = raid6_missing::decide(
        samples,
        signals,
        n,
        st,
        s.first_informative_offset,
        &ev,
        hint,
    ) {
        return found;
    }
    // No parity visible: a RAID5 with a member missing still shows where
    // its parity sits in the content. An open answer from it yields to a
    // structure fit that decides (a RAID0 whose content merely looks as if
    // parity rotated); a confident one leads, with the structure fit's
    // best beside it for validation to weigh (nothing checks a degraded
    // row's parity: content that only looks rotated reads as one).
    let rotation = if hint.level.is_none_or(|l| l == Level::Raid5) && hint.layout.is_none() {
        rotation_raid5(
            samples,
            st,
            n,
            n + 1,
            s.first_informative_offset,
            &ev,
            false,
        )
    } else {
        None
    };
    let anchored = anchored::decide(
        samples,
        st.eqs,
        Family::None,
        n,
        &st.member_sizes,
        s.first_informative_offset,
        &st.array_starts,
        &ev,
        &constant_parity(samples, n, hint, true),
    );
    match (anchored, rotation) {
        (fit, Some((Verdict::Found, mut cands))) => {
            beside(&mut cands, fit.map(|(_, c)| c).unwrap_or_default());
            return (Verdict::Found, cands);
        }
        (Some(found), rotation) if found.0 == Verdict::Found || rotation.is_none() => {
            return found;
        }
        // Both open: the rotation's answer leads, the structure fit's best
        // candidates come next, for validation to weigh with it.
        (Some((_, fit)), Some((verdict, mut cands))) => {
            beside(&mut cands, fit);
            return (verdict, cands);
        }
        (None, Some(open)) => return open,
        _ => {}
    }
    if hint.level.is_none_or(|l| l == Level::Raid0) {
        if let Some(found) = raid0_by_continuity(samples, n, offset, &ev, hint) {
            return zones(found, &st.member_sizes);
        }
    }
    (
        Verdict::NoParity {
            reason: format!(
                "no redundancy: XOR-zero on {:.1}%, single-member (Q) XOR on {:.1}%, all-equal on {:.1}% of {} informative sectors; RAID0, JBOD/linear, unrelated members or another layout, with no self-locating structures or continuity to place the members by",
                ev.parity_consistent_rate * 100.0,
                q_rate * 100.0,
                ev.mirror_rate * 100.0,
                s.informative_sectors
            ),
        },
        Vec::new(),
    )
}

/// RAID0 from content alone: the chunk where same-member continuity
/// drops, the order whose chunk boundaries run on best. Found only when
/// the best order leads the runner-up by [`CONTINUITY_MIN_Z`] and its
/// boundaries run on nearly as well as the inside of a chunk does (a
/// degraded RAID5's parity chunks break that).
fn raid0_by_continuity(
    samples: &Samples,
    n: usize,
    offset: u64,
    ev: &Evidence,
    hint: &crate::Hint,
) -> Option<(Verdict, Vec<Candidate>)> {
    let breaks = continuity::chunk_breaks(samples, n, offset);
    let (chunk, _) = match hint.chunk_bytes {
        Some(c) => (c, 0.0),
        None => continuity::pick_chunk(&breaks, CHUNK_MIN_Z)?,
    };
    let inside = breaks
        .iter()
        .filter(|b| b.chunk_bytes < chunk && b.stat.count > 0)
        .map(|b| b.stat.mean)
        .next_back()?;
    let (orders, z) = crate::raid0_order::search(samples, n, chunk, offset)?;
    let cands: Vec<Candidate> = orders
        .iter()
        .map(|o| {
            let order: Vec<Option<usize>> = o.order.iter().map(|&i| Some(i)).collect();
            let mut evidence = ev.clone();
            evidence.checked = o.continuity.count;
            Candidate {
                level: Level::Raid0,
                layout: None,
                chunk_bytes: chunk,
                order: order.clone(),
                data_offset_bytes: offset,
                score: o.continuity.mean,
                margin: 0.0,
                evidence,
                geometry: Geometry::new(Level::Raid0, Layout::default_for(Level::Raid0), chunk, n)
                    .with_order(&order)
                    .with_data_offset(offset),
            }
        })
        .collect();
    let mut cands = cands;
    if let [first, second, ..] = &mut cands[..] {
        first.margin = first.score - second.score;
    }
    let top = &orders[0].continuity;
    let runs_on = top.mean >= RAID0_RUN_ON * inside;
    let verdict = if z >= CONTINUITY_MIN_Z && runs_on {
        Verdict::Found
    } else {
        Verdict::Ambiguous {
            reason: format!(
                "no redundancy; continuity across {}K chunk boundaries puts the members in order {:?} ({z:.1} standard errors ahead of the next order, need {CONTINUITY_MIN_Z}; boundaries run on {:.0}% as well as the inside of a chunk, need {:.0}%); supply --hint or more data",
                chunk >> 10,
                orders[0].order,
                100.0 * top.mean / inside.max(f64::MIN_POSITIVE),
                100.0 * RAID0_RUN_ON
            ),
        }
    };
    Some((verdict, cands))
}

/// A RAID0 over members of different sizes has zones past the smallest
/// one, where md's original and alternate layouts differ; the samples
/// cover only the first zone, so both are listed and the answer is
/// ambiguous.
fn zones(
    (verdict, mut cands): (Verdict, Vec<Candidate>),
    sizes: &[u64],
) -> (Verdict, Vec<Candidate>) {
    let (Some(&lo), Some(&hi)) = (sizes.iter().min(), sizes.iter().max()) else {
        return (verdict, cands);
    };
    let Some(top) = cands.first().cloned() else {
        return (verdict, cands);
    };
    if top.level != Level::Raid0 || hi - lo < top.chunk_bytes.max(1) {
        return (verdict, cands);
    }
    let mut alt = top.clone();
    alt.geometry.layout = Layout::Raid0(platter_raid::geometry::Raid0Layout::Alternate);
    alt.margin = 0.0;
    let reason = format!(
        "{}: the members differ in size, so the array has zones past the smallest member, where md's original and alternate RAID0 layouts (Linux before 3.14, and 3.14 to 5.3) place chunks differently; supply --hint or check both",
        describe(&top)
    );
    cands.insert(1, alt);
    let _ = verdict;
    (Verdict::Ambiguous { reason }, cands)
}

/// RAID10 near with two copies: a RAID0 over the mirrored pairs, ordered
/// by continuity over one member of each pair.
fn raid10_near_by_continuity(
    samples: &Samples,
    pairs: &[(usize, usize)],
    offset: u64,
    ev: &Evidence,
    hint: &crate::Hint,
) -> Option<(Verdict, Vec<Candidate>)> {
    if pairs.len() < 2 || hint.level.is_some_and(|l| l != Level::Raid10) {
        return None;
    }
    let firsts = Samples {
        windows: samples
            .windows
            .iter()
            .map(|w| crate::sample::SampleWindow {
                offset: w.offset,
                data: pairs.iter().map(|&(a, _)| w.data[a].clone()).collect(),
            })
            .collect(),
        bytes_read_per_member: samples.bytes_read_per_member,
        common_bytes: samples.common_bytes,
    };
    let hint0 = crate::Hint {
        level: Some(Level::Raid0),
        ..*hint
    };
    let (verdict, cands) = raid0_by_continuity(&firsts, pairs.len(), offset, ev, &hint0)?;
    let layout = Layout::Raid10(platter_raid::geometry::Raid10Layout {
        near: 2,
        far: 1,
        offset: false,
        far_sets: false,
    });
    let cands = cands
        .into_iter()
        .map(|mut c| {
            let order: Vec<Option<usize>> = c
                .order
                .iter()
                .flatten()
                .flat_map(|&p| [Some(pairs[p].0), Some(pairs[p].1)])
                .collect();
            c.geometry = Geometry::new(Level::Raid10, layout, c.chunk_bytes, order.len())
                .with_order(&order)
                .with_data_offset(c.data_offset_bytes);
            c.level = Level::Raid10;
            c.layout = None;
            c.order = order;
            c
        })
        .collect();
    Some((verdict, cands))
}

/// How well a RAID0 order's boundaries must run on, relative to the
/// inside of a chunk.
const RAID0_RUN_ON: f64 = 0.8;

fn unsupported(reason: String) -> (Verdict, Vec<Candidate>) {
    (Verdict::Unsupported { reason }, Vec::new())
}

fn to_candidate(s: &Scored, ev: &Evidence) -> Candidate {
    let order: Vec<Option<usize>> = s.order.iter().map(|&i| Some(i)).collect();
    let geometry = Geometry::new(
        s.level,
        Layout::Parity(s.layout),
        s.chunk_bytes,
        order.len(),
    )
    .with_order(&order)
    .with_data_offset(s.data_offset_bytes);
    Candidate {
        geometry,
        level: s.level,
        layout: Some(s.layout),
        chunk_bytes: s.chunk_bytes,
        order,
        data_offset_bytes: s.data_offset_bytes,
        score: s.score,
        margin: 0.0,
        evidence: Evidence {
            checked: s.checked_sectors,
            ..ev.clone()
        },
    }
}

fn sort_desc<T>(v: &mut [T], key: impl Fn(&T) -> f64) {
    v.sort_by(|a, b| key(b).total_cmp(&key(a)));
}

/// The images holding each data chunk over one rotation period: two
/// candidates with the same signature assemble the same bytes.
fn signature(s: &Scored, n: usize) -> Option<Vec<usize>> {
    let level = if s.level == Level::Raid6 {
        Level::Raid6
    } else {
        Level::Raid5
    };
    let t = PlacementTable::new(level, s.layout, n)?;
    let period = (n * n.saturating_sub(1)) as u64;
    Some(
        (0..period)
            .flat_map(|r| {
                t.row(r)
                    .data_slots
                    .iter()
                    .map(|&d| s.order[d])
                    .collect::<Vec<_>>()
            })
            .collect(),
    )
}

/// Drops candidates that assemble the same bytes as a better one.
fn dedupe<T>(v: Vec<T>, n: usize, scored: impl Fn(&T) -> &Scored) -> Vec<T> {
    let mut seen: Vec<(u64, u64, Vec<usize>)> = Vec::new();
    v.into_iter()
        .filter(|x| {
            let s = scored(x);
            let key = (
                s.chunk_bytes,
                s.data_offset_bytes,
                signature(s, n).unwrap_or_default(),
            );
            if seen.contains(&key) {
                false
            } else {
                seen.push(key);
                true
            }
        })
        .collect()
}

/// Continuity lead of `a` over `b` in standard errors: paired over the
/// boundaries where they differ when both share level and chunk size.
fn lead_z(cache: &mut continuity::RowCache<'_>, n: usize, a: &Scored, b: &Scored) -> f64 {
    let table = |s: &Scored| {
        let level = if s.level == Level::Raid6 {
            Level::Raid6
        } else {
            Level::Raid5
        };
        PlacementTable::new(level, s.layout, n)
    };
    let (Some(ta), Some(tb)) = (table(a), table(b)) else {
        return 0.0;
    };
    if a.chunk_bytes == b.chunk_bytes && a.level == b.level {
        cache.paired_z(a.chunk_bytes, (&ta, &a.order), (&tb, &b.order))
    } else {
        let ca = cache.candidate(a.chunk_bytes, &ta, &a.order);
        let cb = cache.candidate(b.chunk_bytes, &tb, &b.order);
        continuity::z(&ca, &cb)
    }
}

fn chunk_note(chunk: Option<(u64, f64)>) -> String {
    match chunk {
        Some((c, z)) => format!(
            "chunk boundaries every {}K ({z:.1} standard errors)",
            c >> 10
        ),
        None => "no chunk boundary visible in same-member continuity".into(),
    }
}
