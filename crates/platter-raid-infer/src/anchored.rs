//! The decision from self-locating structures: gather the equations the
//! samples hold, search the shapes the signals allow, and decide between
//! the best fits (see [`fit`](crate::fit) for the arithmetic).

use std::collections::BTreeMap;

use platter_raid::geometry::{Geometry, Layout, Level};

use crate::fit::{ARRAY_SPACE, Equation};
use crate::report::{Candidate, Evidence, Verdict, describe};
use crate::sample::Samples;
use crate::search::{self, Family, Scored};
use crate::structures::{ARRAY_KEY, Anchor, scan_all_lent};

mod seating;
pub(crate) use seating::completions;
pub(crate) use seating::related;
use seating::{
    MAX_COMPLETIONS, improve_by_swaps, parity_open_or, q_consistent, related_seating, seat_parity,
    swap_rival,
};

/// Fewer explained equations than this decide nothing.
pub const MIN_EXPLAINED: usize = 8;
/// The top fit must explain this fraction of the equations it places.
pub(crate) const MIN_RATE: f64 = 0.9;
/// A rival whose merit is within this (or 1 % of the top's explained
/// count) of the top's, with an equal or better prior, keeps the verdict
/// ambiguous.
const MIN_GAP: i64 = 4;
fn merit(f: &crate::fit::Fit) -> i64 {
    f.merit()
}

/// Every self-locating structure in the samples. The XOR of all members
/// (a missing RAID5 member's content) lends its ext4 superblocks, so the
/// inodes on the members present are found when the primary superblock
/// sat on the missing one.
pub fn anchors(samples: &Samples, n: usize) -> Vec<Anchor> {
    let mut out = Vec::new();
    let bufs: Vec<(usize, u64, &[u8])> = samples
        .windows
        .iter()
        .flat_map(|w| (0..n).map(move |m| (m, w.offset, w.data[m].as_slice())))
        .collect();
    let xors = samples.xors(n);
    let lent: Vec<(u64, &[u8])> = xors.iter().map(|(o, x)| (*o, x.as_slice())).collect();
    scan_all_lent(&bufs, &lent, &mut out);
    out
}

/// Bytes at the end of a member longer than the sampled common length
/// scanned for the structures that mark a volume's end.
const TAIL_BYTES: u64 = 256 << 10;

/// The structures that mark the end of a volume or disk (an NTFS backup
/// boot sector, a GPT backup header) in the tails of members longer than
/// the common length the samples cover. Members of a concatenation
/// (JBOD, md linear) differ in size, and the last one ends the volume;
/// the samples, read at the same offsets from every member, never reach
/// the end of the longer ones. A member that cannot be read there adds
/// nothing.
pub fn tail_anchors(members: &[&dyn platter_core::Source], common: u64) -> Vec<Anchor> {
    use crate::structures::AnchorKind as K;
    let sector = crate::sample::SECTOR as u64;
    let mut out = Vec::new();
    for (m, src) in members.iter().enumerate() {
        let len = src.len() / sector * sector;
        let from = len.saturating_sub(TAIL_BYTES).max(common);
        if from >= len {
            continue;
        }
        // At most TAIL_BYTES, so the cast is lossless.
        let mut buf = vec![0u8; (len - from) as usize];
        if src.read_exact_at(&mut buf, from).is_err() {
            continue;
        }
        let mut found = Vec::new();
        crate::structures::scan(m, from, &buf, &mut found);
        out.extend(
            found
                .into_iter()
                .filter(|a| matches!(a.kind, K::NtfsBoot | K::NtfsBootBackup | K::GptHeader)),
        );
    }
    out
}

/// Member offsets where a partition table or a file system starts, lowest
/// first: an MBR, a GPT header (less 512 bytes), an NTFS/FAT boot sector,
/// an ext primary superblock (less 1024), an XFS superblock, a btrfs
/// superblock (less 64 KiB), an LVM2 label or a LUKS header.
pub fn starts(anchors: &[Anchor]) -> Vec<u64> {
    use crate::structures::AnchorKind as K;
    let mut v: Vec<u64> = anchors
        .iter()
        .filter(|a| match a.kind {
            K::Mbr | K::NtfsBoot | K::FatBoot | K::XfsSuperblock | K::LuksHeader => {
                a.fs_offset == 0
            }
            K::GptHeader => a.fs_offset == 512,
            K::ExtSuperblock => a.fs_offset == 1024,
            K::BtrfsSuperblock => a.fs_offset == 65536,
            _ => false,
        })
        .filter_map(|a| a.member_offset.checked_sub(a.fs_offset))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Member offsets where the array may start, from its structures: where
/// a partition table starts when there is one (the file systems inside
/// start at their partitions, not at the array's start), otherwise where
/// any file system starts ([`starts`]).
pub fn array_starts(anchors: &[Anchor]) -> Vec<u64> {
    use crate::structures::AnchorKind as K;
    let tables: Vec<Anchor> = anchors
        .iter()
        .filter(|a| matches!(a.kind, K::Mbr | K::GptHeader))
        .cloned()
        .collect();
    if tables.is_empty() {
        starts(anchors)
    } else {
        starts(&tables)
    }
}

/// The equations of `anchors`.
pub fn equations(anchors: &[Anchor]) -> Vec<Equation> {
    anchors
        .iter()
        .map(|a| Equation {
            member: a.member,
            member_offset: a.member_offset,
            space: if a.fs_key == ARRAY_KEY {
                ARRAY_SPACE
            } else {
                a.fs_key
            },
            fs_offset: a.fs_offset,
            lone: false,
        })
        .collect()
}

/// Most equations a search uses; more are thinned evenly over the member
/// offsets (every row keeps its share), which keeps a search over
/// thousands of inodes fast without losing rows.
const MAX_EQUATIONS: usize = 1500;

/// `eqs`, thinned to at most [`MAX_EQUATIONS`], keeping every array-offset
/// equation.
fn thin(eqs: &[Equation]) -> Vec<Equation> {
    if eqs.len() <= MAX_EQUATIONS {
        return eqs.to_vec();
    }
    // Whole member offsets are kept or dropped together: the structures
    // at one offset on several members (parity copies, XOR artefacts)
    // are judged together.
    let mut offsets: Vec<u64> = eqs.iter().map(|e| e.member_offset).collect();
    offsets.sort_unstable();
    offsets.dedup();
    let per_offset = eqs.len().div_ceil(offsets.len().max(1));
    let keep_offsets = (MAX_EQUATIONS / per_offset.max(1)).max(1);
    let step = offsets.len().div_ceil(keep_offsets);
    let kept: std::collections::HashSet<u64> =
        offsets.iter().step_by(step.max(1)).copied().collect();
    eqs.iter()
        .filter(|e| kept.contains(&e.member_offset) || e.space == ARRAY_SPACE)
        .copied()
        .collect()
}

/// Counts of structure kinds, for the evidence.
pub fn kinds(anchors: &[Anchor]) -> Vec<String> {
    let mut m: BTreeMap<&'static str, usize> = BTreeMap::new();
    for a in anchors {
        *m.entry(a.kind.name()).or_default() += 1;
    }
    m.into_iter().map(|(k, v)| format!("{v} {k}")).collect()
}

/// Where sampled array offsets are read from, by image and member offset.
type Signature = Vec<(Option<usize>, u64)>;

/// Where `probe` array offsets are read from under `g`: two geometries with
/// equal signatures assemble the same bytes there.
fn signature(g: &Geometry, member_bytes: u64) -> Signature {
    let sizes = vec![Some(member_bytes); g.slots.len()];
    let Ok(m) = g.mapping(&sizes) else {
        return Vec::new();
    };
    let size = m.array_size();
    (0..2048u64)
        .filter_map(|i| {
            let x = (i * 37 * 4096 + i * 512) % size.max(1);
            let loc = m.locate(x)?;
            Some((g.slots[loc.slot].image, loc.member_offset))
        })
        .collect()
}

fn data_offset(s: &Scored) -> u64 {
    s.fit.geometry.slots.first().map_or(0, |s| s.data_offset)
}

/// The candidate of one fit. RAID5 with parity on a fixed member is
/// reported as RAID4.
fn candidate(s: &Scored, ev: &Evidence) -> Candidate {
    let mut g = s.fit.geometry.clone();
    if g.level == Level::Raid5
        && matches!(
            g.layout,
            Layout::Parity(
                platter_raid::geometry::ParityLayout::ParityFirst
                    | platter_raid::geometry::ParityLayout::ParityLast
            )
        )
        && g.delayed_parity.is_none()
    {
        g.level = Level::Raid4;
    }
    Candidate::of(
        g,
        s.fit.rate(),
        Evidence {
            anchors_explained: Some(s.fit.explained as u64),
            anchors_considered: Some(s.fit.considered as u64),
            ..ev.clone()
        },
    )
}

/// Structure starts added to the data offsets tried, at most.
const MAX_STARTS: usize = 4;

/// Decides from the equations, or `None` when they are too few to try.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    samples: &Samples,
    eqs: &[Equation],
    family: Family,
    n: usize,
    member_sizes: &[u64],
    first_informative: Option<u64>,
    starts: &[u64],
    ev: &Evidence,
    hint: &crate::Hint,
) -> Option<(Verdict, Vec<Candidate>)> {
    let member_bytes = member_sizes.iter().copied().min().unwrap_or(0);
    if eqs.len() < MIN_EXPLAINED {
        return None;
    }
    // The member the content shows holding parity on every row holds no
    // data: what reads as a structure on it is a copy or an XOR of its
    // row's data, which would vote it into a data slot.
    let known_parity = hint.parity_member;
    let own: Vec<Equation> = eqs
        .iter()
        .filter(|e| known_parity != Some(e.member))
        .copied()
        .collect();
    if own.len() < MIN_EXPLAINED {
        return None;
    }
    let thinned = thin(&own);
    let eqs = &thinned[..];
    let constant = |l: Layout| {
        matches!(
            l,
            Layout::Parity(
                platter_raid::geometry::ParityLayout::ParityFirst
                    | platter_raid::geometry::ParityLayout::ParityLast
            )
        )
    };
    let keep_shape = |s: &crate::fit::Shape| {
        hint.parity_member
            .is_none_or(|_| constant(s.layout) && s.delayed.is_none())
            && hint.slots.is_none_or(|n| n == s.slots)
            && hint.layout.is_none_or(|l| s.layout == Layout::Parity(l))
            && hint
                .level
                .is_none_or(|l| l == s.level || (l == Level::Raid4 && s.level == Level::Raid5))
    };
    let family = match hint.level {
        // A hinted level with members missing shows no parity.
        Some(Level::Raid4 | Level::Raid5 | Level::Raid6 | Level::Raid0) => Family::None,
        _ => family,
    };
    let mut shapes = search::shapes(family, n, false);
    if let Some(Level::Raid5 | Level::Raid4) = hint.level {
        shapes.extend(search::shapes(Family::Xor, n, false));
    }
    if hint.level == Some(Level::Raid6) {
        shapes.extend(search::shapes(Family::Q, n, false));
    }
    shapes.retain(keep_shape);
    let chunks = match hint.chunk_bytes {
        Some(c) => vec![c],
        None => search::chunk_sizes(),
    };
    let offsets = match hint.data_offset_bytes {
        Some(o) => vec![o],
        None => {
            // Where a file system or partition table starts on a member
            // is where the array may start: the first data can lie far
            // beyond it (an ext superblock alone on one member).
            let mut v = search::offsets(first_informative, member_bytes);
            v.extend(
                starts
                    .iter()
                    .copied()
                    .filter(|&o| o < member_bytes && o % 512 == 0)
                    .take(MAX_STARTS),
            );
            v.sort_unstable();
            v.dedup();
            v
        }
    };
    let mut found = search::run(
        eqs,
        n,
        member_bytes,
        &shapes,
        &chunks,
        &offsets,
        MIN_EXPLAINED,
    );
    if hint.chunk_bytes.is_none() {
        // Three times a power of two, weighed against the powers of two
        // once the parity checks below have had their say.
        found.extend(search::run(
            eqs,
            n,
            member_bytes,
            &shapes,
            &search::odd_chunk_sizes(),
            &offsets,
            MIN_EXPLAINED,
        ));
    }
    // Parity on a known image: the fits that put it elsewhere go.
    if let Some(p) = hint.parity_member {
        found.retain(|s| parity_open_or(&s.fit.geometry, p));
    }
    let first_data = first_informative.map(|f| f / 4096 * 4096);
    let key = |s: &Scored| {
        (
            merit(&s.fit),
            s.fit.origins_at_zero,
            std::cmp::Reverse(s.fit.undecided_members.len()),
            Some(data_offset(s)) == first_data,
            std::cmp::Reverse(s.fit.considered - s.fit.explained),
            std::cmp::Reverse(s.shape.slots),
            s.shape.delayed.is_none(),
            s.fit.geometry.chunk_bytes.is_power_of_two(),
            std::cmp::Reverse(s.fit.geometry.chunk_bytes),
        )
    };
    if matches!(family, Family::Xor | Family::None) && hint.parity_member.is_none() {
        // Rows whose parity stays on one member for several rows: fit
        // that grouping at the chunk size and offset found.
        found.sort_by_key(|s| std::cmp::Reverse(key(s)));
        let slots = if family == Family::Xor { n } else { n + 1 };
        let extra = crate::delayed::fits(samples, eqs, n, slots, member_bytes, &found, keep_shape);
        found.extend(extra);
    }
    // Delayed parity only when plain rotation explains poorly, once the
    // best fast fits are refined (a fast fit may seat a member wrongly
    // where the full fit explains everything).
    let best_rate = |found: &[Scored]| {
        found
            .iter()
            .max_by_key(|s| merit(&s.fit))
            .map_or(0.0, |s| s.fit.rate())
    };
    if family == Family::Xor && best_rate(&found) < MIN_RATE {
        found.sort_by_key(|s| std::cmp::Reverse(key(s)));
        found = search::refine(eqs, n, member_bytes, found, REFINED_FITS);
    }
    if family == Family::Xor && best_rate(&found) < MIN_RATE {
        let delayed: Vec<_> = search::shapes(family, n, true)
            .into_iter()
            .filter(|s| s.delayed.is_some())
            .collect();
        found.extend(search::run(
            eqs,
            n,
            member_bytes,
            &delayed,
            &chunks,
            &offsets,
            MIN_EXPLAINED,
        ));
    }
    if family == Family::None && hint.level.is_none_or(|l| l == Level::Linear) {
        // The same data offset on every member, each usual one tried.
        let per_member: Vec<Vec<u64>> = offsets.iter().map(|&o| vec![o; n]).collect();
        if let Some(f) = crate::fit::fit_linear(eqs, member_sizes, &per_member) {
            if f.explained >= MIN_EXPLAINED {
                found.push(Scored {
                    shape: crate::fit::Shape {
                        level: Level::Linear,
                        layout: Layout::None,
                        delayed: None,
                        slots: n,
                    },
                    fit: f,
                });
            }
        }
    }
    found.sort_by_key(|s| std::cmp::Reverse(key(s)));
    found = search::refine(eqs, n, member_bytes, found, REFINED_FITS);
    improve_by_swaps(&mut found, eqs, n, member_bytes);
    if let Some(p) = known_parity {
        // Refining may seat another member in the parity slot.
        found.retain(|s| parity_open_or(&s.fit.geometry, p));
        for s in &mut found {
            seat_parity(&mut s.fit, p);
        }
    }
    found.sort_by_key(|s| std::cmp::Reverse(key(s)));
    if family == Family::None {
        // Without visible parity, a RAID4/5/6 with every member present is
        // only plausible with a stale member, which breaks parity in the
        // rows written since it left, not everywhere.
        let sizes: Vec<Option<u64>> = member_sizes.iter().map(|&b| Some(b)).collect();
        let (mut checked, mut checked_related) = (0, 0);
        found.retain(|s| {
            let parity = matches!(s.shape.level, Level::Raid4 | Level::Raid5 | Level::Raid6);
            if s.shape.level == Level::Raid6 && s.shape.slots == n + 1 {
                // A RAID6 with one member missing keeps one relation on
                // every row (every way to seat the members no structure
                // placed fails it: the fit goes too).
                checked_related += 1;
                return checked_related > Q_CHECKED_FITS
                    || related_seating(samples, &s.fit, member_sizes);
            }
            if !parity || s.shape.slots != n {
                return true;
            }
            checked += 1;
            checked <= Q_CHECKED_FITS
                && crate::stale::parity_rate(samples, &s.fit.geometry, &sizes, Q_CHECK_SECTORS)
                    .is_some_and(|r| r >= STALE_MIN_PARITY)
        });
    }
    if family == Family::Q || hint.level == Some(Level::Raid6) {
        let sizes: Vec<Option<u64>> = member_sizes.iter().map(|&b| Some(b)).collect();
        // Fits whose P and Q do not recompute are wrong whatever the
        // structures say; when none recomputes, the structures cannot
        // decide (the parity search then has its say).
        found = q_consistent(found, samples, &sizes);
        found.sort_by_key(|s| std::cmp::Reverse(key(s)));
    }
    // Chunks of three times a power of two only where they explain the
    // structures better than every power of two left: they are rare, and
    // with few structures one of them ties with the true power of two as
    // often as not (a 12 KiB fit beside the true 8 KiB kept an ext4 answer
    // open). A RAID6 power of two whose Q does not recompute is gone by
    // now and leaves the true 384 KiB alone.
    let pow2 = |s: &Scored| s.fit.geometry.chunk_bytes.is_power_of_two();
    let best_pow2 = found
        .iter()
        .filter(|s| pow2(s))
        .map(|s| merit(&s.fit))
        .max();
    found.retain(|s| pow2(s) || best_pow2.is_none_or(|b| merit(&s.fit) > b));
    if family == Family::None && hint.level.is_none() {
        found = crate::completion::by_content(found, samples, member_sizes);
    }
    let prior = |s: &Scored| (s.fit.origins_at_zero, Some(data_offset(s)) == first_data);
    if found.is_empty() {
        return None;
    }
    let top = found[0].clone();
    // Without visible parity, RAID0, a degraded RAID4/5 and a degraded
    // RAID6 over the same members can all fit the structures that were
    // sampled: the best fit of another kind that comes close keeps the
    // answer ambiguous.
    let class = |s: &Scored| (s.shape.level, s.shape.slots);
    let other_class = (family == Family::None && hint.level.is_none())
        .then(|| {
            found
                .iter()
                .filter(|s| class(s) != class(&top))
                // Degraded parity arrays of different levels or widths fit
                // the same structures; RAID0 and linear are preferred when
                // they explain as much (fewer missing members).
                .filter(|s| {
                    let parity = |l: Level| matches!(l, Level::Raid4 | Level::Raid5 | Level::Raid6);
                    parity(s.shape.level) && parity(top.shape.level)
                })
                .find(|s| {
                    s.fit.rate() >= MIN_RATE
                        && (s.fit.explained as f64) >= CLASS_RIVAL * top.fit.explained as f64
                        // A RAID6 whose Q slot is missing assembles what
                        // the RAID5 of its other slots does: no rival.
                        && signature(&s.fit.geometry, member_bytes)
                            != signature(&top.fit.geometry, member_bytes)
                })
                .cloned()
        })
        .flatten();
    // The degraded fits tied with the top whose members are not all
    // seated (weighed by content below when the answer stays open).
    let tied: Vec<(Candidate, Vec<usize>)> = if family == Family::None && hint.level.is_none() {
        found
            .iter()
            .take(200)
            .filter(|s| {
                crate::completion::parity_level(s.shape.level)
                    && s.shape.slots > n
                    && !s.fit.undecided_members.is_empty()
                    && merit(&s.fit) == merit(&top.fit)
            })
            .map(|s| (candidate(s, ev), s.fit.undecided_members.clone()))
            .collect()
    } else {
        Vec::new()
    };
    // Keep one fit per assembled result, best first.
    let mut distinct: Vec<(Scored, Signature)> = Vec::new();
    for s in found.into_iter().take(200) {
        let sig = signature(&s.fit.geometry, member_bytes);
        if distinct.iter().any(|(_, d)| *d == sig) {
            continue;
        }
        distinct.push((s, sig));
        if distinct.len() >= 8 {
            break;
        }
    }
    let mut cands: Vec<Candidate> = distinct.iter().map(|(s, _)| candidate(s, ev)).collect();
    let runner = distinct.get(1).map(|(s, _)| s);
    if let Some(r) = runner {
        cands[0].margin = top.fit.rate() - r.fit.rate();
    } else {
        cands[0].margin = top.fit.rate();
    }
    let verdict = if top.fit.rate() < MIN_RATE {
        Verdict::Ambiguous {
            reason: format!(
                "the best fit ({}) explains only {} of {} self-locating structures",
                describe(&cands[0]),
                top.fit.explained,
                top.fit.considered
            ),
        }
    } else if !top.fit.undecided_members.is_empty() {
        Verdict::Ambiguous {
            reason: format!(
                "{} explains {} of {} structures, but no structure was found on member(s) {:?}, so their slots are unknown; supply --hint order=… or more data",
                describe(&cands[0]),
                top.fit.explained,
                top.fit.considered,
                top.fit.undecided_members
            ),
        }
    } else if let Some(r) = runner.filter(|r| {
        let gap = merit(&top.fit) - merit(&r.fit);
        r.fit.rate() >= MIN_RATE - 0.1
            && gap < (top.fit.explained as i64 / 100).max(MIN_GAP)
            && prior(r) >= prior(&top)
    }) {
        Verdict::Ambiguous {
            reason: format!(
                "ambiguous: {} explains {} of {} structures, {} explains {} of {}; supply --hint or more data",
                describe(&cands[0]),
                top.fit.explained,
                top.fit.considered,
                describe(&cands[1]),
                r.fit.explained,
                r.fit.considered
            ),
        }
    } else if let Some(r) = &other_class {
        let rc = candidate(r, ev);
        let reason = format!(
            "ambiguous: {} explains {} of {} structures, but {} explains {} of {}; with no parity visible the sampled structures cannot tell RAID0 from a degraded RAID4/5/6 here; supply --hint or more data",
            describe(&cands[0]),
            top.fit.explained,
            top.fit.considered,
            describe(&rc),
            r.fit.explained,
            r.fit.considered
        );
        if !cands.iter().any(|c| c.geometry == rc.geometry) {
            cands.insert(1, rc);
        }
        Verdict::Ambiguous { reason }
    } else if let Some((rival, f)) = swap_rival(
        eqs,
        n,
        member_bytes,
        &top,
        samples,
        member_sizes,
        known_parity,
    ) {
        // The structures do not pin every member: two of them trade
        // places and the structures are explained as well.
        let mut rc = cands[0].clone();
        rc.order = rival.slots.iter().map(|x| x.image).collect();
        rc.geometry = rival;
        rc.score = f.rate();
        rc.margin = 0.0;
        rc.evidence.anchors_explained = Some(f.explained as u64);
        rc.evidence.anchors_considered = Some(f.considered as u64);
        let reason = format!(
            "ambiguous: {} and {} (two members swapped) both explain {} of {} structures: no structure tells those members apart; supply --hint or more data",
            describe(&cands[0]),
            describe(&rc),
            f.explained,
            f.considered
        );
        cands.retain(|c| c.geometry != rc.geometry);
        cands.insert(1, rc);
        Verdict::Ambiguous { reason }
    } else {
        Verdict::Found
    };
    if !top.fit.undecided_members.is_empty() {
        // Every way to seat the undecided members goes first, for the
        // file-system validation to choose between; then those of the
        // best open fit of another layout that explains as much (a RAID4
        // whose data rows a RAID5 rotation reads alike wherever the
        // structures lie), so that validation weighs both layouts.
        let mut done = completions(&cands[0], &top.fit.undecided_members);
        // The parity member known, it is seated in the parity slot only.
        let seated = |c: &Candidate| {
            known_parity.is_none_or(|p| parity_open_or(&c.geometry, p))
                && related(samples, &c.geometry, member_sizes)
        };
        done.retain(seated);
        if !done.is_empty() {
            let rival = distinct.iter().skip(1).find(|(s, _)| {
                !s.fit.undecided_members.is_empty()
                    && merit(&s.fit) == merit(&top.fit)
                    && (s.shape.level, s.shape.layout) != (top.shape.level, top.shape.layout)
            });
            if let Some((s, _)) = rival {
                let mut more = completions(&candidate(s, ev), &s.fit.undecided_members);
                more.retain(seated);
                if done.len() + more.len() <= MAX_COMPLETIONS {
                    done.extend(more);
                }
            }
            done.extend(cands);
            cands = done;
        }
    }
    if let Some(r) = runner.filter(|r| {
        verdict != Verdict::Found
            && top.fit.undecided_members.is_empty()
            && !r.fit.undecided_members.is_empty()
            && (r.shape.level, r.shape.slots) == (top.shape.level, top.shape.slots)
    }) {
        // A complete top against a runner-up of its level and width with
        // members open (another chunk size): the runner-up's seatings are
        // assembled too, for validation to judge both on every member
        // (with members missing it reads zeros where the top reads data,
        // which proves nothing).
        let mut more = completions(&candidate(r, ev), &r.fit.undecided_members);
        more.retain(|c| {
            known_parity.is_none_or(|p| parity_open_or(&c.geometry, p))
                && related(samples, &c.geometry, member_sizes)
                && !cands.iter().any(|d| d.geometry == c.geometry)
        });
        let at = 1.min(cands.len());
        cands.splice(at..at, more);
    }
    if verdict != Verdict::Found {
        crate::completion::plausible(&mut cands, &tied, samples, member_sizes);
    }
    Some((verdict, cands))
}

/// A complete RAID4/5/6 without visible parity must still recompute on
/// this share of its rows (the rest being a stale member's).
const STALE_MIN_PARITY: f64 = 0.5;
/// Sectors a RAID6 fit with one member missing is checked on.
const RELATION_CHECK_SECTORS: usize = 512;

/// A fit of another kind (level, slot count) explaining this share of the
/// top's structures keeps a no-parity answer ambiguous.
const CLASS_RIVAL: f64 = 0.9;

/// Fits of the fast pass refitted with every tied start (and the best
/// few of each chunk size, see [`search::refine`]).
const REFINED_FITS: usize = 64;

/// Fits whose Q is checked, best first.
const Q_CHECKED_FITS: usize = 40;
/// Best fits of each chunk size whose Q is checked whatever their rank,
/// and the sectors checked for each.
const Q_CHECKED_PER_CHUNK: usize = 8;
const Q_CHECK_SECTORS_PER_CHUNK: u64 = 256;
/// Sectors checked per fit.
const Q_CHECK_SECTORS: u64 = 2048;
/// P and Q must recompute on this share of them.
const Q_MIN_RATE: f64 = 0.95;

/// RAID10 near-2 over `pairs` of mirrored members: a RAID0 over one
/// member of each pair, whose slot `s` becomes the pair in slots `2s` and
/// `2s + 1` (md places chunk `c` on devices `2c mod n` and `2c + 1 mod n`).
pub fn decide_raid10(
    samples: &Samples,
    eqs: &[Equation],
    pairs: &[(usize, usize)],
    member_sizes: &[u64],
    first_informative: Option<u64>,
    ev: &Evidence,
    hint: &crate::Hint,
) -> Option<(Verdict, Vec<Candidate>)> {
    let mut pair_of = vec![usize::MAX; member_sizes.len()];
    for (i, &(a, b)) in pairs.iter().enumerate() {
        pair_of[a] = i;
        pair_of[b] = i;
    }
    // Both copies of a structure map to the same pair and offset, so they
    // count once.
    let reduced: Vec<Equation> = eqs
        .iter()
        .filter(|e| pair_of.get(e.member).is_some_and(|&p| p != usize::MAX))
        .map(|e| Equation {
            member: pair_of[e.member],
            ..*e
        })
        .collect();
    let sizes: Vec<u64> = pairs
        .iter()
        .map(|&(a, b)| member_sizes[a].min(member_sizes[b]))
        .collect();
    let hint0 = crate::Hint {
        level: Some(Level::Raid0),
        slots: None,
        ..*hint
    };
    let (verdict, cands) = decide(
        samples,
        &reduced,
        Family::None,
        pairs.len(),
        &sizes,
        first_informative,
        &[],
        ev,
        &hint0,
    )?;
    let layout = Layout::Raid10(platter_raid::geometry::Raid10Layout {
        near: 2,
        far: 1,
        offset: false,
        far_sets: false,
    });
    let cands = cands
        .into_iter()
        .filter(|c| c.level == Level::Raid0)
        .map(|mut c| {
            let order: Vec<Option<usize>> = c
                .order
                .iter()
                .flat_map(|p| match p {
                    Some(p) => [Some(pairs[*p].0), Some(pairs[*p].1)],
                    None => [None, None],
                })
                .collect();
            let g = Geometry::new(Level::Raid10, layout, c.chunk_bytes, order.len())
                .with_order(&order)
                .with_data_offset(c.data_offset_bytes);
            c.level = Level::Raid10;
            c.layout = None;
            c.order = order;
            c.geometry = g;
            c
        })
        .collect::<Vec<_>>();
    if cands.is_empty() {
        return None;
    }
    Some((verdict, cands))
}

#[cfg(test)]
#[path = "anchored_tests.rs"]
mod tests;
