//! RAID inference for platter: from member images alone, find the RAID
//! level, chunk size, member order, parity layout and data offset, with a
//! score, a margin over the runner-up, and the evidence, or say plainly
//! that the evidence cannot decide.
//!
//! How it works (docs/inference.md has the details):
//! 1. [`sample`] reads aligned windows at spread-out offsets from every
//!    member (a fixed budget, under 5 % of large members), then more
//!    windows around those holding self-locating structures.
//! 2. [`signals`] classifies each 512-byte sector with at least two
//!    non-zero members: XOR of all zero (RAID5/4), exactly one member equal
//!    to the XOR of all (RAID6's Q), all or pairs of members equal
//!    (mirrors).
//! 3. [`structures`] finds self-locating structures (GPT/MBR, NTFS boot
//!    and MFT records, ext superblocks, inodes, directory and extent
//!    blocks, FAT tables and directories, XFS and btrfs blocks); each is an
//!    exact equation on chunk, order and offsets, solved by votes in
//!    [`fit`] over every shape, chunk size and data offset ([`search`]).
//! 4. [`parity_pos`] finds where the content puts RAID5 parity (data
//!    repeats itself, parity does not), which seats every member; RAID6's
//!    Q rotation and syndrome come from [`raid6`]; RAID10 far/offset copies
//!    from shifted mirrors; [`continuity`] is the last resort.
//! 5. The top candidates are assembled and their file systems checked;
//!    guards turn anything the evidence does not pin (two members that
//!    could swap, a RAID0 member that reads as parity, partly failing
//!    parity, a file system missing where the answer puts it) into
//!    [`Verdict::Ambiguous`] with the rivals listed. Stale members are
//!    located by RAID6's syndrome, by per-member rebuilds for RAID5, and
//!    by agreement for mirrors.
//!
//! ```
//! use platter_core::{MemSource, Source};
//! use platter_raid_infer::{infer, Options, Verdict};
//! use platter_raid::geometry::Level;
//!
//! let data: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 251) as u8 | 1).collect();
//! let a = MemSource::new("a", data.clone());
//! let b = MemSource::new("b", data);
//! let report = infer(&[&a as &dyn Source, &b], &Options::default()).unwrap();
//! assert_eq!(report.verdict, Verdict::Found);
//! assert_eq!(report.candidates[0].level, Level::Raid1);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod anchored;
mod assembled;
mod backups;
mod bytes;
mod completion;
pub mod continuity;
pub mod degraded;
mod delayed;
mod doubt;
pub mod error;
pub mod fit;
mod linear;
mod member_offsets;
pub mod naturalness;
mod order_beam;
pub mod parity_copies;
pub mod parity_pos;
pub mod placement;
mod promote;
mod raid0_order;
mod raid10;
pub mod raid6;
pub mod raid6_degraded;
pub mod report;
pub mod sample;
pub mod search;
pub mod signals;
pub mod stale;
pub mod structures;
mod text_flow;
mod tiebreak;
mod validation;
mod verdict;

pub use error::{Error, Result};
pub use report::{Candidate, Evidence, Report, Verdict};
pub use sample::SampleOptions;

use platter_core::Source;
use platter_raid::geometry::Level;

/// Largest member count accepted.
pub const MAX_MEMBERS: usize = 16;

/// What the user already knows (`--hint level=5,chunk=64K,…`): the
/// search keeps to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hint {
    /// RAID level.
    pub level: Option<platter_raid::geometry::Level>,
    /// Parity layout.
    pub layout: Option<platter_raid::geometry::ParityLayout>,
    /// Chunk size in bytes.
    pub chunk_bytes: Option<u64>,
    /// Slots in the array, missing members included.
    pub slots: Option<usize>,
    /// Data offset in bytes, the same on every member.
    pub data_offset_bytes: Option<u64>,
    /// The member image that holds parity on every row (RAID4 and the
    /// parity-first/last layouts), as given to [`infer`]: the search then
    /// keeps to those layouts with parity on that image. Inference sets it
    /// itself when the content shows one member holding parity throughout
    /// ([`parity_pos::constant_member`]).
    pub parity_member: Option<usize>,
}

impl Hint {
    /// True when `c` agrees with every given hint.
    pub fn accepts(&self, c: &Candidate) -> bool {
        let level_ok = self.level.is_none_or(|l| {
            l == c.level
                || (matches!(
                    l,
                    platter_raid::geometry::Level::Raid4 | platter_raid::geometry::Level::Raid5
                ) && matches!(
                    c.level,
                    platter_raid::geometry::Level::Raid4 | platter_raid::geometry::Level::Raid5
                ))
        });
        level_ok
            && self.layout.is_none_or(|l| c.layout == Some(l))
            && self.chunk_bytes.is_none_or(|b| b == c.chunk_bytes)
            && self.slots.is_none_or(|s| s == c.order.len())
            && self
                .data_offset_bytes
                .is_none_or(|o| o == c.data_offset_bytes)
    }
}

/// Inference options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// What to sample.
    pub sample: SampleOptions,
    /// How many candidates to return.
    pub top: usize,
    /// What the user already knows.
    pub hint: Hint,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sample: SampleOptions::default(),
            top: 5,
            hint: Hint::default(),
        }
    }
}

/// Infers how `members` (in any order) form an array.
pub fn infer(members: &[&dyn Source], opts: &Options) -> Result<Report> {
    let first = infer_aligned(members, opts)?;
    if first.verdict == Verdict::Found {
        return Ok(first);
    }
    // Members whose data starts at different offsets show no parity or
    // structure fit at any common offset: try again with each member's
    // own data start.
    Ok(member_offsets::retry(members, opts, &first, infer_aligned)?.unwrap_or(first))
}

/// [`infer`] with one data offset for every member.
fn infer_aligned(members: &[&dyn Source], opts: &Options) -> Result<Report> {
    let n = members.len();
    if n < 2 {
        return Err(Error::TooFewMembers { count: n });
    }
    if n > MAX_MEMBERS {
        return Err(Error::TooManyMembers {
            count: n,
            max: MAX_MEMBERS,
        });
    }
    let mut samples = sample::read_samples(members, &opts.sample)?;
    zoom(members, &mut samples, &opts.sample)?;
    backups::probe(members, &mut samples)?;
    let signals = signals::compute(&samples, n);
    let mut anchors = anchored::anchors(&samples, n);
    anchors.extend(anchored::tail_anchors(members, samples.common_bytes));
    let mut eqs = anchored::equations(&anchors);
    fit::mark_lone(&mut eqs, &samples);
    let st = verdict::Structures {
        eqs: &eqs,
        kinds: anchored::kinds(&anchors),
        member_sizes: members.iter().map(|m| m.len()).collect(),
        starts: anchored::starts(&anchors),
        array_starts: anchored::array_starts(&anchors),
    };
    let (mut verdict, mut candidates) = match mirror_with_offsets(members, &anchors)? {
        Some(found) if opts.hint.level.is_none_or(|l| l == Level::Raid1) => found,
        _ => match raid10::infer(members, &samples, &st, &opts.hint)? {
            Some(found) => found,
            None => verdict::decide(&samples, &signals, n, &st, &opts.hint),
        },
    };
    tiebreak::by_continuity(
        members,
        &samples,
        &st.member_sizes,
        &mut verdict,
        &mut candidates,
    );
    if verdict != Verdict::Found {
        let current = (verdict, candidates);
        (verdict, candidates) = linear::infer(
            members,
            &samples,
            &signals.summary,
            &st,
            &opts.hint,
            &current,
        )?
        .unwrap_or(current);
    }
    if verdict != Verdict::Found {
        parity_copies::weigh(&mut candidates, &samples, &st.member_sizes);
    }
    parity_copies::raid0_as_degraded(&mut candidates, &samples, n);
    validate_candidates(
        members,
        &mut verdict,
        &mut candidates,
        fs_expected(&anchors),
    );
    let mirror_stale = stale_mirror_member(&signals.summary, &candidates);
    if verdict == Verdict::Found
        && mirror_stale.is_none()
        && !candidates.first().is_some_and(|c| complete(c, n))
    {
        verdict = Verdict::Ambiguous {
            reason: format!(
                "{} leaves members unplaced or more slots missing than its redundancy allows; supply --hint or more data",
                candidates.first().map(report::describe).unwrap_or_default()
            ),
        };
    }
    let stale = find_stale(&samples, members, &mut verdict, &mut candidates).or(mirror_stale);
    doubt::parity_member(&samples, &signals.summary, &mut verdict, &candidates);
    if opts.hint != Hint::default() {
        let before = candidates.len();
        candidates.retain(|c| opts.hint.accepts(c));
        if candidates.is_empty() && before > 0 {
            verdict = Verdict::Ambiguous {
                reason: "no candidate agrees with the hint".into(),
            };
        }
    }
    if let (Verdict::Ambiguous { reason }, Some(top)) = (&mut verdict, candidates.first()) {
        // Completions, continuity and content may have reordered the list
        // after the reason was written: say which candidate leads it.
        let first = report::describe(top);
        if !reason.contains(&first) {
            reason.push_str(&format!("; listed first: {first}"));
        }
    }
    candidates.truncate(opts.top.max(1));
    Ok(Report {
        verdict,
        candidates,
        member_bytes: members.iter().map(|m| m.len()).collect(),
        sampled_bytes_per_member: samples.bytes_read_per_member,
        signals: signals.summary,
        stale,
    })
}

/// Checks the top candidate for a stale member and, when one is found,
/// makes the first candidate the array without it.
fn find_stale(
    samples: &sample::Samples,
    members: &[&dyn Source],
    verdict: &mut Verdict,
    candidates: &mut Vec<Candidate>,
) -> Option<stale::StaleMember> {
    let top = candidates.first_mut()?;
    if top.geometry.slots.iter().any(|s| s.image.is_none()) {
        return None;
    }
    let Some(found) =
        stale::detect(samples, members, top).or_else(|| stale_by_validation(samples, members, top))
    else {
        suspect_unlocated(samples, members, verdict, candidates);
        return None;
    };
    top.geometry.slots[found.slot].image = None;
    top.order[found.slot] = None;
    top.evidence.validation = validation::check(members, top);
    if let Verdict::Ambiguous { reason } = verdict {
        reason.push_str(&format!(
            "; member {} looks stale ({})",
            found.member, found.evidence
        ));
    }
    Some(found)
}

/// A member too little out of date for the parity rates to name it (a
/// few sectors fail): when parity fails somewhere and the complete array
/// fails file-system checks, the array without that member alone passes
/// every check.
fn stale_by_validation(
    samples: &sample::Samples,
    members: &[&dyn Source],
    top: &Candidate,
) -> Option<stale::StaleMember> {
    let v = top.evidence.validation.as_ref()?;
    if v.passed == v.checks || v.checks < validation::MIN_CHECKS {
        return None;
    }
    let (checked, bad) = stale::failures(samples, members, top)?;
    if bad == 0 {
        return None;
    }
    let clean: Vec<(usize, u64)> = (0..top.geometry.slots.len())
        .filter_map(|slot| {
            let mut c = top.clone();
            c.geometry.slots[slot].image = None;
            let w = validation::check(members, &c)?;
            (w.checks >= v.checks && w.passed == w.checks).then_some((slot, w.checks))
        })
        .collect();
    let [(slot, checks)] = clean[..] else {
        return None;
    };
    Some(stale::StaleMember {
        member: top.geometry.slots[slot].image?,
        slot,
        checked_sectors: checked,
        inconsistent_sectors: bad,
        evidence: format!(
            "parity fails on {bad} of {checked} checked sectors; the array passes {} of {} file-system checks with this member, all {checks} without it, and fails some without any other",
            v.passed, v.checks
        ),
    })
}

/// The member a RAID1 answer leaves out as stale (see
/// `verdict::stale_mirror`), with the evidence.
fn stale_mirror_member(
    s: &signals::SignalSummary,
    candidates: &[Candidate],
) -> Option<stale::StaleMember> {
    let top = candidates.first()?;
    if top.level != Level::Raid1 || candidates.len() != 1 {
        return None;
    }
    let n = top.order.len();
    let slot = top.order.iter().position(Option::is_none)?;
    let other = top.order.iter().flatten().next().copied()?;
    let (equal, either) = (s.pair_equal[slot][other], s.pair_either[slot][other]);
    Some(stale::StaleMember {
        member: slot,
        slot,
        checked_sectors: either,
        inconsistent_sectors: either - equal,
        evidence: format!(
            "the other {} members are equal wherever they hold data; this one agrees with them on {:.1}% of {either} sectors",
            n - 1,
            100.0 * equal as f64 / either.max(1) as f64
        ),
    })
}

/// Parity that fails on a share of the rows of a complete top candidate
/// whose stale member could not be told: the answer is not confident, and
/// the arrays without each member follow the top for the engineer (and
/// validation) to compare.
fn suspect_unlocated(
    samples: &sample::Samples,
    members: &[&dyn Source],
    verdict: &mut Verdict,
    candidates: &mut Vec<Candidate>,
) {
    let Some(top) = candidates.first() else {
        return;
    };
    let Some((checked, bad)) = stale::suspect(samples, members, top) else {
        return;
    };
    let top = top.clone();
    let mut without: Vec<Candidate> = (0..top.geometry.slots.len())
        .map(|slot| {
            let mut c = top.clone();
            c.geometry.slots[slot].image = None;
            c.order[slot] = None;
            c.margin = 0.0;
            c.evidence.validation = validation::check(members, &c);
            c
        })
        .collect();
    without.retain(|c| !candidates.iter().any(|x| x.geometry == c.geometry));
    // The variant whose file system checks out best first.
    let rate = |c: &Candidate| {
        c.evidence
            .validation
            .as_ref()
            .and_then(|v| v.rate().map(|r| (r, v.passed)))
            .unwrap_or((0.0, 0))
    };
    without.sort_by(|a, b| {
        let (ra, pa) = rate(a);
        let (rb, pb) = rate(b);
        rb.total_cmp(&ra).then(pb.cmp(&pa))
    });
    let at = 1.min(candidates.len());
    candidates.splice(at..at, without);
    let reason = format!(
        "{}: parity fails on {bad} of {checked} checked sectors ({:.1}%): a member looks stale (or the array was not in sync), and which one could not be told; the arrays without each member are listed",
        report::describe(&top),
        100.0 * bad as f64 / checked.max(1) as f64
    );
    match verdict {
        Verdict::Ambiguous { reason: r } => {
            r.push_str("; ");
            r.push_str(&reason);
        }
        _ => *verdict = Verdict::Ambiguous { reason },
    }
}

/// Self-locating structures cluster (an MFT, inode tables, AG headers):
/// after the first spread-out pass, the windows around those holding
/// structures are read too, in rounds, within a second budget as large as
/// the first, so the structures cover more rows of the array.
fn zoom(
    members: &[&dyn Source],
    samples: &mut sample::Samples,
    opts: &SampleOptions,
) -> Result<()> {
    let w = opts.window_bytes;
    let budget = samples.bytes_read_per_member;
    let mut extra = 0u64;
    for _round in 0..8 {
        let anchors = anchored::anchors(samples, members.len());
        let mut hot: Vec<u64> = anchors.iter().map(|a| a.member_offset / w * w).collect();
        hot.sort_unstable();
        hot.dedup();
        let mut want: Vec<u64> = hot
            .iter()
            .flat_map(|&o| [o.checked_sub(w), o.checked_add(w)])
            .flatten()
            .filter(|o| !samples.windows.iter().any(|x| x.offset == *o))
            .collect();
        want.sort_unstable();
        want.dedup();
        if want.is_empty() {
            break;
        }
        let room = budget.saturating_sub(extra) / w;
        want.truncate(usize::try_from(room).unwrap_or(usize::MAX));
        if want.is_empty() {
            break;
        }
        extra += sample::read_more(members, samples, &want, w)?;
    }
    Ok(())
}

/// True when `c` seats every one of the `images` members exactly once and
/// misses no more slots than its redundancy rebuilds.
fn complete(c: &Candidate, images: usize) -> bool {
    let mut seen = vec![false; images];
    for i in c.order.iter().flatten() {
        match seen.get_mut(*i) {
            Some(s) if !*s => *s = true,
            _ => return false,
        }
    }
    let missing = c.order.iter().filter(|o| o.is_none()).count();
    seen.iter().all(|&s| s) && missing <= c.geometry.redundancy()
}

/// RAID1 whose members start at different offsets (partitions at
/// different places, different metadata sizes): each member's first
/// partition table or file system gives its start, and the members must be
/// equal from there on. Same-offset mirrors are found by the signals.
fn mirror_with_offsets(
    members: &[&dyn Source],
    anchors: &[structures::Anchor],
) -> Result<Option<(Verdict, Vec<Candidate>)>> {
    let n = members.len();
    let mut starts: Vec<Option<u64>> = vec![None; n];
    for a in anchors {
        let one = std::slice::from_ref(a);
        if let Some(&s) = anchored::starts(one).first() {
            let cur = &mut starts[a.member];
            *cur = Some(cur.map_or(s, |c: u64| c.min(s)));
        }
    }
    let Some(starts) = starts.into_iter().collect::<Option<Vec<u64>>>() else {
        return Ok(None);
    };
    if starts.iter().all(|&s| s == starts[0]) {
        return Ok(None);
    }
    let span = members
        .iter()
        .zip(&starts)
        .map(|(m, &s)| m.len().saturating_sub(s))
        .min()
        .unwrap_or(0);
    const PROBE: usize = 64 << 10;
    let mut nonzero = 0;
    let mut x = 0u64;
    while x + PROBE as u64 <= span {
        let mut first: Option<Vec<u8>> = None;
        for (i, m) in members.iter().enumerate() {
            let mut buf = vec![0u8; PROBE];
            m.read_exact_at(&mut buf, starts[i] + x)
                .map_err(|source| Error::Read {
                    member: i,
                    name: m.name().to_string(),
                    offset: starts[i] + x,
                    source,
                })?;
            match &first {
                None => first = Some(buf),
                Some(f) if *f != buf => return Ok(None),
                Some(_) => {}
            }
        }
        if first.as_deref().is_some_and(|f| !bytes::is_zero(f)) {
            nonzero += 1;
        }
        x = if x == 0 { 1 << 20 } else { x * 2 };
    }
    if nonzero < 2 {
        return Ok(None);
    }
    if far_copies_cross(members, &starts)? {
        return Ok(None);
    }
    let mut g = platter_raid::geometry::Geometry::new(
        Level::Raid1,
        platter_raid::geometry::Layout::None,
        0,
        n,
    );
    for (slot, s) in g.slots.iter_mut().enumerate() {
        s.data_offset = starts[slot];
    }
    let c = Candidate {
        level: Level::Raid1,
        layout: None,
        chunk_bytes: 0,
        order: (0..n).map(Some).collect(),
        data_offset_bytes: starts[0],
        score: 1.0,
        margin: 1.0,
        evidence: report::Evidence {
            mirror_rate: 1.0,
            checked: nonzero,
            structures: vec![format!(
                "members start at {starts:?} and are equal from there on"
            )],
            ..report::Evidence::default()
        },
        geometry: g,
    };
    Ok(Some((Verdict::Found, vec![c])))
}

/// True when two members that are equal from different starts (`a` at
/// `starts[a]`, `b` at `starts[b] < starts[a]`) are also equal the other
/// way round: `b` at `starts[a]` equals `a` at `starts[b]`. That is RAID10
/// far 2 over two members, whose second half of each member holds the
/// first half of the other, not a mirror with different data offsets (a
/// mirror's bytes before its data start are not the other's data).
fn far_copies_cross(members: &[&dyn Source], starts: &[u64]) -> Result<bool> {
    let [a, b] = match starts {
        [s0, s1] if s0 > s1 => [0, 1],
        [s0, s1] if s1 > s0 => [1, 0],
        _ => return Ok(false),
    };
    let (hi, lo) = (starts[a], starts[b]);
    let span = (hi - lo).min(members[b].len().saturating_sub(hi));
    const PROBE: usize = 16 << 10;
    let read = |m: usize, at: u64| -> Result<Vec<u8>> {
        let mut buf = vec![0u8; PROBE];
        members[m]
            .read_exact_at(&mut buf, at)
            .map_err(|source| Error::Read {
                member: m,
                name: members[m].name().to_string(),
                offset: at,
                source,
            })?;
        Ok(buf)
    };
    let mut nonzero = 0;
    let mut x = 0u64;
    while x + PROBE as u64 <= span {
        let (mine, theirs) = (read(b, hi + x)?, read(a, lo + x)?);
        if mine != theirs {
            return Ok(false);
        }
        nonzero += usize::from(!bytes::is_zero(&mine));
        x = if x == 0 { 64 << 10 } else { x * 2 };
    }
    Ok(nonzero >= 2)
}

/// How many candidates are checked on their assembled array.
pub(crate) const VALIDATED: usize = 6;

/// True when the structures show a partition table or a file system that
/// validation finds on a right candidate (one that starts at array offset
/// 0 or in a partition; not behind LVM or LUKS).
fn fs_expected(anchors: &[structures::Anchor]) -> bool {
    use structures::AnchorKind as K;
    anchors.iter().any(|a| {
        matches!(
            a.kind,
            K::Mbr | K::GptHeader | K::NtfsBoot | K::ExtSuperblock | K::FatBoot | K::XfsSuperblock
        )
    }) && !anchors
        .iter()
        .any(|a| matches!(a.kind, K::Lvm2Label | K::LuksHeader))
}

/// Checks the file systems inside the top candidates' arrays and adjusts
/// the verdict: a confident answer whose array fails the checks becomes
/// ambiguous; among ambiguous candidates, the only one whose array passes
/// (when the others fail or hold no recognisable file system) is promoted.
fn validate_candidates(
    members: &[&dyn Source],
    verdict: &mut Verdict,
    candidates: &mut Vec<Candidate>,
    fs_expected: bool,
) {
    for c in candidates.iter_mut().take(VALIDATED) {
        c.evidence.validation = validation::check(members, c);
    }
    let Some(top) = candidates.first() else {
        return;
    };
    let sizes: Vec<u64> = members.iter().map(|m| m.len()).collect();
    match verdict {
        Verdict::Found
            if fs_expected
                && top
                    .evidence
                    .validation
                    .as_ref()
                    .is_none_or(|v| v.checks == 0) =>
        {
            *verdict = Verdict::Ambiguous {
                reason: format!(
                    "{} explains the self-locating structures, but the partition table or file system they belong to is not where its assembled array should show it; supply --hint or more data",
                    report::describe(top)
                ),
            };
            // Another candidate whose array shows it may stand alone.
            promote_validated(verdict, candidates, &sizes, fs_expected);
        }
        Verdict::Found => {
            if let Some(v) = top
                .evidence
                .validation
                .as_ref()
                .filter(|v| v.checks >= validation::MIN_CHECKS && !validation::passes(v))
            {
                *verdict = Verdict::Ambiguous {
                    reason: format!(
                        "{} fits the parity and structure evidence, but its assembled array fails {} of {} file-system checks ({}); supply --hint or more data",
                        report::describe(top),
                        v.checks - v.passed,
                        v.checks,
                        v.found.join("; ")
                    ),
                };
            } else if top
                .evidence
                .validation
                .as_ref()
                .is_some_and(|v| v.passed < v.checks)
            {
                // Too few checks to doubt it alone, but a rival whose
                // array passes in full takes its place (a degraded RAID5
                // read from content that only looks rotated, beside the
                // RAID0 whose NTFS reads whole).
                promote_validated(verdict, candidates, &sizes, fs_expected);
            }
        }
        Verdict::Ambiguous { .. } => {
            promote_validated(verdict, candidates, &sizes, fs_expected);
            if *verdict != Verdict::Found {
                promote::validate_open_seatings(members, verdict, candidates, &sizes, fs_expected);
            }
        }
        _ => {}
    }
}

/// Puts the one candidate validation picks ([`promote::validated_winner`])
/// first and makes the verdict found.
fn promote_validated(
    verdict: &mut Verdict,
    candidates: &mut Vec<Candidate>,
    sizes: &[u64],
    fs_expected: bool,
) {
    if let Some(winner) = promote::validated_winner(&candidates[..], sizes, fs_expected) {
        let v = candidates[winner]
            .evidence
            .validation
            .clone()
            .unwrap_or_default();
        let c = candidates.remove(winner);
        candidates.insert(0, c);
        *verdict = Verdict::Found;
        let next = candidates
            .get(1)
            .and_then(|c| c.evidence.validation.as_ref())
            .and_then(|v| v.rate())
            .unwrap_or(0.0);
        candidates[0].margin = v.rate().unwrap_or(0.0) - next;
    }
}
