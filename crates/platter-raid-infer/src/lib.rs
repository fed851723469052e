//! RAID inference for platter: from member images alone, find the RAID
//! level, chunk size, member order, parity layout and data offset, with a
//! score, a margin over the runner-up, and the evidence, or say plainly
//! that the evidence cannot decide.
//!
//! This slice handles RAID6 (exact: the GF(2^8) syndrome is recomputed
//! under every candidate), RAID5/RAID4 (parity detection is exact; layout,
//! chunk and order come from content continuity across chunk boundaries),
//! RAID1 (all members equal) and diagnoses mirrored pairs (RAID10 near),
//! missing redundancy (RAID0/JBOD) and members without informative data.
//!
//! How it works:
//! 1. [`sample`] reads aligned windows at spread-out offsets from every
//!    member (at most `max(5 %, 8 MiB)` per member by default, capped at
//!    16 MiB) and drops windows that are zero on every member.
//! 2. [`signals`] classifies each 512-byte sector with at least two non-zero
//!    members: XOR of all members zero (RAID5/4), exactly one member equal
//!    to the XOR of all (that member is RAID6's Q), all members equal.
//! 3. The level follows from the rates. The data offset is taken as the
//!    first informative sector, aligned down to 4 KiB (the same on every
//!    member).
//! 4. RAID6 ([`raid6`]): the Q member per sector must follow a layout's Q
//!    rotation at a chunk size (4 KiB–1 MiB); orders compatible with it are
//!    scored by recomputing P and Q with the layout's coefficients.
//!    Candidates that assemble the same bytes are merged. Parity cannot
//!    separate md's asymmetric from its symmetric layouts (same Q
//!    coefficient per member), nor chunk sizes of layouts whose parity
//!    does not rotate: [`continuity`] decides, or the verdict is
//!    [`Verdict::Ambiguous`].
//! 5. RAID5/4 ([`continuity`]): every member is the XOR of the others, so
//!    the chunk size comes from where same-member continuity breaks, and
//!    layout and order from continuity across the chunk boundaries each
//!    candidate predicts; a lead under 4 standard errors is ambiguous.
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
mod bytes;
pub mod continuity;
pub mod error;
pub mod fit;
pub mod placement;
pub mod raid6;
pub mod report;
pub mod sample;
pub mod search;
pub mod signals;
pub mod stale;
pub mod structures;
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
    let signals = signals::compute(&samples, n);
    let anchors = anchored::anchors(&samples, n);
    let eqs = anchored::equations(&anchors);
    let st = verdict::Structures {
        eqs: &eqs,
        kinds: anchored::kinds(&anchors),
        member_sizes: members.iter().map(|m| m.len()).collect(),
        starts: anchored::starts(&anchors),
    };
    let (mut verdict, mut candidates) = match mirror_with_offsets(members, &anchors)? {
        Some(found) if opts.hint.level.is_none_or(|l| l == Level::Raid1) => found,
        _ => verdict::decide(&samples, &signals, n, &st, &opts.hint),
    };
    validate_candidates(members, &mut verdict, &mut candidates);
    if verdict == Verdict::Found && !candidates.first().is_some_and(|c| complete(c, n)) {
        verdict = Verdict::Ambiguous {
            reason: format!(
                "{} leaves members unplaced or more slots missing than its redundancy allows; supply --hint or more data",
                candidates.first().map(report::describe).unwrap_or_default()
            ),
        };
    }
    let stale = find_stale(&samples, members, &mut verdict, &mut candidates);
    if opts.hint != Hint::default() {
        let before = candidates.len();
        candidates.retain(|c| opts.hint.accepts(c));
        if candidates.is_empty() && before > 0 {
            verdict = Verdict::Ambiguous {
                reason: "no candidate agrees with the hint".into(),
            };
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
    candidates: &mut [Candidate],
) -> Option<stale::StaleMember> {
    let top = candidates.first_mut()?;
    if top.geometry.slots.iter().any(|s| s.image.is_none()) {
        return None;
    }
    let found = stale::detect(samples, members, top)?;
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

/// How many candidates are checked on their assembled array.
const VALIDATED: usize = 6;

/// Checks the file systems inside the top candidates' arrays and adjusts
/// the verdict: a confident answer whose array fails the checks becomes
/// ambiguous; among ambiguous candidates, the only one whose array passes
/// (when the others fail or hold no recognisable file system) is promoted.
fn validate_candidates(
    members: &[&dyn Source],
    verdict: &mut Verdict,
    candidates: &mut Vec<Candidate>,
) {
    for c in candidates.iter_mut().take(VALIDATED) {
        c.evidence.validation = validation::check(members, c);
    }
    let Some(top) = candidates.first() else {
        return;
    };
    match verdict {
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
            }
        }
        Verdict::Ambiguous { reason } => {
            let passing: Vec<usize> = candidates
                .iter()
                .take(VALIDATED)
                .enumerate()
                .filter(|(_, c)| {
                    complete(c, members.len())
                        && c.evidence
                            .validation
                            .as_ref()
                            .is_some_and(|v| v.checks >= 16 && v.passed == v.checks)
                })
                .map(|(i, _)| i)
                .collect();
            // A candidate that reads little of the file system (members
            // missing, metadata mapped to zeros) passes few checks: it does
            // not stand against one that passes many.
            let checks = |i: usize| {
                candidates[i]
                    .evidence
                    .validation
                    .as_ref()
                    .map_or(0, |v| v.checks)
            };
            let best = passing.iter().copied().max_by_key(|&i| checks(i));
            let strong: Vec<usize> = passing
                .iter()
                .copied()
                .filter(|&i| best.is_some_and(|b| 2 * checks(i) >= checks(b)))
                .collect();
            // Validation must have shown it discriminates: another complete
            // candidate read enough of the file system and failed.
            let discriminating = candidates.iter().take(VALIDATED).any(|c| {
                complete(c, members.len())
                    && c.evidence
                        .validation
                        .as_ref()
                        .is_some_and(|v| v.checks >= 16 && !validation::passes(v))
            });
            if let ([winner], true) = (&strong[..], discriminating) {
                let winner = *winner;
                let v = candidates[winner]
                    .evidence
                    .validation
                    .clone()
                    .unwrap_or_default();
                let c = candidates.remove(winner);
                candidates.insert(0, c);
                let _ = reason;
                *verdict = Verdict::Found;
                let next = candidates
                    .get(1)
                    .and_then(|c| c.evidence.validation.as_ref())
                    .and_then(|v| v.rate())
                    .unwrap_or(0.0);
                candidates[0].margin = v.rate().unwrap_or(0.0) - next;
            }
        }
        _ => {}
    }
}
