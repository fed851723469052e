//! Members whose data starts at different offsets (a member replaced with
//! another data offset, controllers that reserve different amounts): the
//! per-member data start, found from each member's content, and a second
//! inference over the members shifted to it.
//!
//! At any common offset such an array shows no parity, mirror or structure
//! fit, so [`infer`](crate::infer) calls [`retry`] when its first verdict is
//! not *found*. Two cheap, bounded measurements give each member's start:
//!
//! - **First data**: the first non-zero 512-byte sector of each member
//!   (within [`scan_limit`], holes skipped through
//!   [`Source::extents`]), ignoring md and DDF metadata sectors, snapped
//!   down to a plausible data start (0, 4 KiB, 34 or 63 sectors, 64 KiB,
//!   128 KiB, any MiB boundary…). This is only an upper bound: a member's
//!   first chunk can be all zeros.
//! - **Copies between members**: in a RAID5/6 row where one data chunk
//!   holds data at a sector, parity equals it there; mirrors are equal
//!   everywhere. Unique non-trivial sectors hashed in a window at each
//!   member's first data vote, per member pair, for the difference of the
//!   members' offsets; the strongest pair differences, joined by a maximum
//!   spanning tree, give every connected member's start relative to the
//!   others, exactly.
//!
//! At most [`MAX_VECTORS`] start vectors (one per member) are tried, each
//! by running the ordinary inference over read-only views of the members
//! that begin at those starts; the geometry found is mapped back (each
//! slot's `data_offset` grows by its member's start). A found or
//! ambiguous answer is then weighed against a few start vectors that lower
//! one component (its first chunks may be zeros): see [`lower_starts`].

use std::collections::HashMap;
use std::hash::Hasher;

use platter_core::source::{Extent, ExtentKind, SectorSize, clip};
use platter_core::{Source, size::human_size};

use crate::sample::HEAD_BYTES;
use crate::{Candidate, Options, Report, Result, Verdict};

mod lower;

use lower::lower_starts;

/// Bytes per sector for the scan and the votes.
const SECTOR: u64 = 512;
/// How far into each member its first data is looked for, at least.
pub(crate) const SCAN_LIMIT_BYTES: u64 = 64 << 20;
/// How far at most: mdadm reserves up to 128 MiB of reshape headroom
/// before the data of large members (1/1024 of the member, from 1 MiB),
/// plus its bitmap.
const SCAN_LIMIT_MAX_BYTES: u64 = 256 << 20;

/// How far into a member of `len` bytes its first data is looked for:
/// [`SCAN_LIMIT_BYTES`], or 1/256 of the member up to
/// [`SCAN_LIMIT_MAX_BYTES`], so the scan stays a small share of the member.
pub(crate) fn scan_limit(len: u64) -> u64 {
    (len / 256)
        .clamp(SCAN_LIMIT_BYTES, SCAN_LIMIT_MAX_BYTES)
        .min(len)
}
/// Read size of the scan and the votes.
const BLOCK_BYTES: u64 = 1 << 20;
/// Windows hashed per member for the copy votes, spread from its
/// estimated start over the length all members share from theirs.
const VOTE_WINDOWS: u64 = 8;
/// Bytes per vote window.
const VOTE_WINDOW_BYTES: u64 = 512 << 10;
/// Votes a member pair needs for its offset difference to count.
const MIN_VOTES: u64 = 8;
/// The winning difference of a pair must have this many times the votes
/// of the runner-up.
const VOTE_DOMINANCE: u64 = 4;
/// Distinct byte values a sector needs to vote (fill patterns, bitmaps and
/// near-empty sectors repeat everywhere).
const MIN_DISTINCT_BYTES: usize = 12;
/// A data start shared by every member that is tried all the same: the
/// sampler reads the first [`HEAD_BYTES`] of each member whole, where file
/// systems keep their superblocks, boot sectors and tables, so data that
/// starts this deep (md puts it 8–128 MiB into large members) shows its
/// structures only in the views that begin at it.
const DEEP_START: u64 = HEAD_BYTES / 2;
/// Start vectors tried at most.
pub(crate) const MAX_VECTORS: usize = 3;
/// Smallest data area (bytes) a shifted member must keep.
const MIN_VIEW_BYTES: u64 = 64 << 10;
/// md superblock magic (`MD_SB_MAGIC`, little-endian at byte 0).
const MD_MAGIC: u32 = 0xa92b_4efc;
/// md write-intent bitmap magic ("bitm", little-endian at byte 0).
const MD_BITMAP_MAGIC: u32 = 0x6d74_6962;
/// DDF header signature (big-endian at byte 0).
const DDF_MAGIC: u32 = 0xde11_de11;
/// Data starts that partitioning tools, md and controllers use, besides
/// every MiB boundary.
pub(crate) const PLAUSIBLE: [u64; 8] = [
    0,
    4096,
    8192,
    34 * 512,
    63 * 512,
    64 << 10,
    128 << 10,
    256 << 10,
];

/// Runs `run` again over `members` shifted to their own data starts when
/// those differ, and returns its report (offsets mapped back to the
/// members) when it is better than `first`: *found*, or a stronger kind of
/// verdict, or an ambiguous answer whose parity or mirrors line up only at
/// the shifted starts.
pub(crate) fn retry(
    members: &[&dyn Source],
    opts: &Options,
    first: &Report,
    run: fn(&[&dyn Source], &Options) -> Result<Report>,
) -> Result<Option<Report>> {
    // The user says the offset is the same everywhere.
    if opts.hint.data_offset_bytes.is_some() || first.verdict == Verdict::Found {
        return Ok(None);
    }
    let estimate = estimate(members);
    let mut best: Option<(Report, Vec<u64>)> = None;
    for shift in &estimate.vectors {
        let Some(views) = views(members, shift) else {
            continue;
        };
        let refs: Vec<&dyn Source> = views.iter().map(|v| v as &dyn Source).collect();
        let report = run(&refs, opts)?;
        let found = report.verdict == Verdict::Found;
        if best.as_ref().is_none_or(|(b, _)| better(&report, b)) {
            best = Some((report, shift.clone()));
        }
        if found {
            break;
        }
    }
    let Some((report, shift)) = best else {
        return Ok(None);
    };
    let weigh = matches!(report.verdict, Verdict::Found | Verdict::Ambiguous { .. });
    let (report, shift, extra, rivals) = if weigh {
        lower_starts(members, opts, run, &estimate.comps, report, shift)?
    } else {
        (report, shift, 0, Vec::new())
    };
    if !(report.verdict == Verdict::Found || better(&report, first)) {
        return Ok(None);
    }
    // Starts that leave structures unexplained where the common offset
    // explained every one, and more of them, are not the members' starts
    // (copies between the members of a degraded array voted for a wrong
    // shift, and validation then picked among arrays that read the same
    // metadata).
    let fit = |r: &Report| {
        r.candidates.first().map_or((0, 0), |c| {
            (
                c.evidence.anchors_explained.unwrap_or(0),
                c.evidence.anchors_considered.unwrap_or(0),
            )
        })
    };
    let ((got, of), (first_got, first_of)) = (fit(&report), fit(first));
    if first_of > 0 && first_got == first_of && got < of && got < first_got {
        return Ok(None);
    }
    let mut report = map_back(
        report,
        &shift,
        first,
        estimate.read_bytes.saturating_add(extra),
    );
    for (k, c) in rivals.into_iter().enumerate() {
        report.candidates.insert(k + 1, c);
    }
    report.candidates.truncate(opts.top.max(1));
    Ok(Some(report))
}

/// The kind of a verdict, stronger first: found, ambiguous, the rest.
fn rank(v: &Verdict) -> u8 {
    match v {
        Verdict::Found => 3,
        Verdict::Ambiguous { .. } => 2,
        Verdict::NoParity { .. } | Verdict::Unsupported { .. } => 1,
        _ => 0,
    }
}

/// How strongly the top candidate's redundancy shows: parity, Q or
/// mirrors.
fn redundancy_rate(r: &Report) -> f64 {
    r.candidates.first().map_or(0.0, |c| {
        let e = &c.evidence;
        e.parity_consistent_rate
            .max(e.q_located_rate)
            .max(e.mirror_rate)
    })
}

/// True when `a` is strictly better than `b`: a stronger kind of verdict,
/// or, both ambiguous, redundancy that lines up (≥ 90 %) where it did not
/// (< 50 %).
fn better(a: &Report, b: &Report) -> bool {
    let (ra, rb) = (rank(&a.verdict), rank(&b.verdict));
    ra > rb || (ra == rb && ra == 2 && redundancy_rate(a) >= 0.9 && redundancy_rate(b) < 0.5)
}

/// Shifts `report`'s geometries back onto the members.
fn map_back(mut report: Report, shift: &[u64], first: &Report, read_bytes: u64) -> Report {
    for c in &mut report.candidates {
        shift_candidate(c, shift);
    }
    let note = report.candidates.first().and_then(|c| {
        let offsets: Vec<u64> = c.geometry.slots.iter().map(|s| s.data_offset).collect();
        differs(c).then(|| {
            format!(
                "members' data start at different offsets (slot order: {})",
                offsets
                    .iter()
                    .zip(&c.order)
                    .map(|(o, i)| i.map_or("missing".into(), |_| human_size(*o)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    });
    if let Some(note) = note {
        for c in &mut report.candidates {
            if differs(c) {
                c.evidence.structures.push(note.clone());
            }
        }
        if let Verdict::Ambiguous { reason } = &mut report.verdict {
            reason.push_str("; ");
            reason.push_str(&note);
        }
    }
    report.member_bytes = first.member_bytes.clone();
    report.sampled_bytes_per_member = report
        .sampled_bytes_per_member
        .saturating_add(first.sampled_bytes_per_member)
        .saturating_add(read_bytes)
        .min(
            report
                .member_bytes
                .iter()
                .copied()
                .max()
                .unwrap_or(u64::MAX),
        );
    report
}

/// True when the present slots of `c` start at different member offsets.
fn differs(c: &Candidate) -> bool {
    let mut present = c
        .geometry
        .slots
        .iter()
        .filter(|s| s.image.is_some())
        .map(|s| s.data_offset);
    let first = present.next();
    present.any(|o| Some(o) != first)
}

/// Adds each member's start to the data offset of its slot.
/// `data_offset_bytes` becomes the data offset of the first present slot.
fn shift_candidate(c: &mut Candidate, shift: &[u64]) {
    for s in &mut c.geometry.slots {
        if let Some(add) = s.image.and_then(|i| shift.get(i)) {
            s.data_offset = s.data_offset.saturating_add(*add);
        }
    }
    if let Some(first) = c.geometry.slots.iter().find(|s| s.image.is_some()) {
        c.data_offset_bytes = first.data_offset;
    }
}

/// A member seen from its data start on: a read-only view of `len` bytes
/// at `shift`.
#[derive(Debug)]
struct Shifted<'a> {
    inner: &'a dyn Source,
    shift: u64,
    len: u64,
    name: String,
}

impl Source for Shifted<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> platter_core::Result<usize> {
        let (start, end) = clip(self.len, offset, buf.len() as u64);
        let n = usize::try_from(end - start).unwrap_or(0);
        if n == 0 {
            return Ok(0);
        }
        self.inner.read_at(&mut buf[..n], self.shift + start)
    }

    fn sector_size(&self) -> SectorSize {
        self.inner.sector_size()
    }

    fn extents(&self, offset: u64, len: u64) -> platter_core::Result<Vec<Extent>> {
        let (start, end) = clip(self.len, offset, len);
        if end == start {
            return Ok(Vec::new());
        }
        Ok(self
            .inner
            .extents(self.shift + start, end - start)?
            .into_iter()
            .map(|e| Extent {
                offset: e.offset.saturating_sub(self.shift),
                ..e
            })
            .collect())
    }
}

/// Views of `members` from `shift[i]` on, all as long as the shortest, or
/// `None` when a member would keep less than [`MIN_VIEW_BYTES`].
fn views<'a>(members: &[&'a dyn Source], shift: &[u64]) -> Option<Vec<Shifted<'a>>> {
    let len = members
        .iter()
        .zip(shift)
        .map(|(m, &s)| m.len().checked_sub(s))
        .collect::<Option<Vec<u64>>>()?
        .into_iter()
        .min()?;
    if len < MIN_VIEW_BYTES {
        return None;
    }
    Some(
        members
            .iter()
            .zip(shift)
            .map(|(m, &s)| Shifted {
                inner: *m,
                shift: s,
                len,
                name: format!("{} (data from {s:#x})", m.name()),
            })
            .collect(),
    )
}

/// The start vectors to try, and the bytes read per member to find them.
#[derive(Debug, Default)]
struct Estimate {
    vectors: Vec<Vec<u64>>,
    /// `(component, relative start)` per member (see [`components`]).
    comps: Vec<(usize, i64)>,
    read_bytes: u64,
}

/// Estimates each member's data start; returns nothing to try when the
/// starts look equal.
fn estimate(members: &[&dyn Source]) -> Estimate {
    let n = members.len();
    let mut read_bytes = 0u64;
    let first: Vec<Option<u64>> = members
        .iter()
        .map(|m| {
            let (f, read) = first_data(*m);
            read_bytes = read_bytes.max(read);
            f
        })
        .collect();
    // Windows at the same distance from each member's estimated start,
    // spread over the span all members have from theirs.
    let anchor: Vec<Option<u64>> = first.iter().map(|f| f.map(snap_down)).collect();
    let span = members
        .iter()
        .zip(&anchor)
        .filter_map(|(m, a)| a.map(|a| m.len().saturating_sub(a)))
        .min()
        .unwrap_or(0);
    let step = (span / VOTE_WINDOWS).max(VOTE_WINDOW_BYTES) / SECTOR * SECTOR;
    let mut hashes = Vec::with_capacity(n);
    let mut vote_bytes = 0u64;
    for (m, a) in members.iter().zip(&anchor) {
        let (h, read) = a.map_or((Vec::new(), 0), |a| {
            let starts: Vec<u64> = (0..VOTE_WINDOWS)
                .map(|k| a.saturating_add(k.saturating_mul(step)))
                .take_while(|&x| x < m.len())
                .collect();
            sector_hashes(*m, &starts)
        });
        vote_bytes = vote_bytes.max(read);
        hashes.push(h);
    }
    let read_bytes = read_bytes.saturating_add(vote_bytes);
    let edges = pair_differences(&hashes);
    let vectors = start_vectors(&first, &edges, n);
    Estimate {
        vectors,
        comps: components(&edges, n),
        read_bytes,
    }
}

/// The largest plausible data start at or below `x`.
pub(crate) fn snap_down(x: u64) -> u64 {
    let mib = x / (1 << 20) * (1 << 20);
    PLAUSIBLE
        .iter()
        .copied()
        .filter(|&p| p <= x)
        .chain(std::iter::once(mib))
        .max()
        .unwrap_or(0)
}

/// True when a sector holds md or DDF metadata rather than array data.
pub(crate) fn is_metadata(sector: &[u8]) -> bool {
    let Some(head) = sector.get(..4) else {
        return false;
    };
    let le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let be = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    le == MD_MAGIC || le == MD_BITMAP_MAGIC || be == DDF_MAGIC
}

/// The first non-zero 512-byte sector of `m` within [`scan_limit`]
/// that is not md/DDF metadata (a metadata sector skips its 4 KiB), and the
/// bytes read. Holes are skipped; unreadable ranges are passed over.
pub(crate) fn first_data(m: &dyn Source) -> (Option<u64>, u64) {
    let limit = scan_limit(m.len());
    let extents = m.extents(0, limit).unwrap_or_else(|_| {
        vec![Extent {
            offset: 0,
            len: limit,
            kind: ExtentKind::Data,
        }]
    });
    let mut read = 0u64;
    let mut skip_to = 0u64;
    let mut buf = vec![0u8; BLOCK_BYTES as usize];
    for e in extents.iter().filter(|e| e.kind == ExtentKind::Data) {
        let mut at = e.offset.max(skip_to) / SECTOR * SECTOR;
        let end = e.end().min(limit);
        while at < end {
            let len = (end - at).min(BLOCK_BYTES);
            let b = &mut buf[..len as usize];
            read += len;
            if m.read_exact_at(b, at).is_err() {
                at += len;
                continue;
            }
            for (i, s) in b.chunks(SECTOR as usize).enumerate() {
                let pos = at + i as u64 * SECTOR;
                if pos < skip_to || s.iter().all(|&x| x == 0) {
                    continue;
                }
                if is_metadata(s) {
                    skip_to = pos + 4096;
                    continue;
                }
                return (Some(pos), read);
            }
            at += len;
        }
    }
    (None, read)
}

/// Hashes of the unique, non-trivial sectors of `m` in the vote windows at
/// `starts`, with their member offsets, sorted by hash; and the bytes read.
fn sector_hashes(m: &dyn Source, starts: &[u64]) -> (Vec<(u64, u64)>, u64) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; VOTE_WINDOW_BYTES as usize];
    let mut read = 0u64;
    for &at in starts {
        let len = m.len().saturating_sub(at).min(VOTE_WINDOW_BYTES);
        let b = &mut buf[..len as usize];
        read += len;
        if m.read_exact_at(b, at).is_err() {
            continue;
        }
        for (i, s) in b.chunks_exact(SECTOR as usize).enumerate() {
            if !trivial(s) {
                let mut h = std::hash::DefaultHasher::new();
                h.write(s);
                out.push((h.finish(), at + i as u64 * SECTOR));
            }
        }
    }
    out.sort_unstable();
    // Sectors repeated inside a member vote for nothing.
    let mut unique = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        let mut j = i + 1;
        while j < out.len() && out[j].0 == out[i].0 {
            j += 1;
        }
        if j == i + 1 {
            unique.push(out[i]);
        }
        i = j;
    }
    (unique, read)
}

/// Too few distinct byte values to mean anything when equal elsewhere.
fn trivial(s: &[u8]) -> bool {
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in s {
        if !seen[usize::from(b)] {
            seen[usize::from(b)] = true;
            distinct += 1;
            if distinct >= MIN_DISTINCT_BYTES {
                return false;
            }
        }
    }
    true
}

/// A confident offset difference between two members: `start[b] −
/// start[a] = delta`, with its votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Edge {
    a: usize,
    b: usize,
    delta: i64,
    votes: u64,
}

/// The confident offset differences between member pairs, from sectors
/// equal on both.
fn pair_differences(hashes: &[Vec<(u64, u64)>]) -> Vec<Edge> {
    let mut by_hash: HashMap<u64, Vec<(usize, u64)>> = HashMap::new();
    for (m, h) in hashes.iter().enumerate() {
        for &(hash, pos) in h {
            by_hash.entry(hash).or_default().push((m, pos));
        }
    }
    let mut votes: HashMap<(usize, usize), HashMap<i64, u64>> = HashMap::new();
    for copies in by_hash.values().filter(|c| c.len() >= 2) {
        for (x, &(a, pa)) in copies.iter().enumerate() {
            for &(b, pb) in &copies[x + 1..] {
                let delta = i128::from(pb) - i128::from(pa);
                let Ok(delta) = i64::try_from(delta) else {
                    continue;
                };
                *votes.entry((a, b)).or_default().entry(delta).or_default() += 1;
            }
        }
    }
    let mut edges: Vec<Edge> =
        votes
            .into_iter()
            .filter_map(|((a, b), deltas)| {
                let mut v: Vec<(u64, i64)> = deltas.into_iter().map(|(d, c)| (c, d)).collect();
                v.sort_unstable_by(|x, y| y.cmp(x));
                let (votes, delta) = *v.first()?;
                let second = v.get(1).map_or(0, |s| s.0);
                (votes >= MIN_VOTES && votes >= VOTE_DOMINANCE.saturating_mul(second))
                    .then_some(Edge { a, b, delta, votes })
            })
            .collect();
    edges.sort_unstable_by(|x, y| y.votes.cmp(&x.votes).then((x.a, x.b).cmp(&(y.a, y.b))));
    edges
}

/// Relative starts from the strongest differences (a maximum spanning
/// forest): `(component, relative start)` per member, the smallest start of
/// each component 0.
fn components(edges: &[Edge], n: usize) -> Vec<(usize, i64)> {
    let mut rel: Vec<Option<(usize, i64)>> = vec![None; n];
    let mut comp = 0;
    // Grow a tree from the strongest edge with both ends unplaced.
    while let Some(seed) = edges
        .iter()
        .find(|e| rel[e.a].is_none() && rel[e.b].is_none())
    {
        rel[seed.a] = Some((comp, 0));
        loop {
            let next = edges.iter().find_map(|e| match (rel[e.a], rel[e.b]) {
                (Some((c, ra)), None) if c == comp => Some((e.b, ra.checked_add(e.delta)?)),
                (None, Some((c, rb))) if c == comp => Some((e.a, rb.checked_sub(e.delta)?)),
                _ => None,
            });
            let Some((m, r)) = next else { break };
            rel[m] = Some((comp, r));
        }
        comp += 1;
    }
    let mut out: Vec<(usize, i64)> = rel
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                comp += 1;
                (comp - 1, 0)
            })
        })
        .collect();
    for c in 0..comp {
        let min = out
            .iter()
            .filter(|x| x.0 == c)
            .map(|x| x.1)
            .min()
            .unwrap_or(0);
        for x in out.iter_mut().filter(|x| x.0 == c) {
            x.1 -= min;
        }
    }
    out
}

/// The start vectors to try, most likely first, none when every member
/// looks aligned.
fn start_vectors(first: &[Option<u64>], edges: &[Edge], n: usize) -> Vec<Vec<u64>> {
    let comps = components(edges, n);
    let joined = n > 0 && comps.iter().all(|&c| c == (comps[0].0, 0));
    let count = comps.iter().map(|c| c.0 + 1).max().unwrap_or(0);
    let mut base = vec![0u64; n];
    // A component starts where its members' first data allows: the common
    // start c with c + rel ≤ first data for every member, snapped.
    for comp in 0..count {
        let bound = comps
            .iter()
            .zip(first)
            .filter(|(c, _)| c.0 == comp)
            .filter_map(|(c, f)| f.and_then(|f| f.checked_sub(u64::try_from(c.1).ok()?)))
            .min();
        let c = bound.map_or(0, snap_down);
        for (i, x) in comps.iter().enumerate() {
            if x.0 == comp {
                base[i] = c.saturating_add(u64::try_from(x.1).unwrap_or(0));
            }
        }
    }
    // Data that starts past the sampler's whole-read head is tried from
    // its start first, the same on every member (see [`DEEP_START`]): no
    // member's data starts before the earliest first data. Copies between
    // members can mislead here, since duplicate files vote too.
    let deep = first
        .iter()
        .flatten()
        .min()
        .map(|&f| snap_down(f))
        .filter(|&d| d >= DEEP_START);
    let mut out: Vec<Vec<u64>> = deep.map(|d| vec![d; n]).into_iter().collect();
    // Every member joined and all equal: the offsets do not differ.
    if joined {
        return out;
    }
    let mut vectors = vec![base.clone()];
    // Members alone in their component may have an all-zero first chunk:
    // their start is then likely one another member starts at.
    let alone: Vec<bool> = (0..n)
        .map(|i| comps.iter().filter(|c| c.0 == comps[i].0).count() == 1)
        .collect();
    let sure: Vec<u64> = (0..n)
        .filter(|&i| first[i].is_some_and(|f| f - base[i].min(f) < 4096))
        .map(|i| base[i])
        .collect();
    let mut shared = base.clone();
    for i in 0..n {
        if alone[i]
            && let Some(f) = first[i]
        {
            shared[i] = sure
                .iter()
                .copied()
                .filter(|&s| s <= f)
                .max()
                .unwrap_or(base[i]);
        }
    }
    vectors.push(shared);
    // The same relative starts, the smallest at 0: the ordinary search
    // then finds the common part.
    for v in vectors.clone() {
        let min = v.iter().copied().min().unwrap_or(0);
        vectors.push(v.iter().map(|x| x - min).collect());
    }
    for v in vectors {
        let aligned = v.iter().all(|&x| x == v[0]);
        if !aligned && !out.contains(&v) {
            out.push(v);
        }
    }
    out.truncate(MAX_VECTORS);
    out
}

#[cfg(test)]
mod tests;
