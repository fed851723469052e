//! Degraded arrays whose structures sit on too few members: with no
//! parity visible, the structures sampled may all lie on some of the
//! members (an NTFS whose MFT fills a few chunks), so every degraded
//! RAID4/5/6 fit leaves the other members unseated, while a RAID0 over
//! all members seats them by elimination and ranks first. The content
//! can still tell (see [`crate::degraded`]): a missing member rebuilt
//! from P and Q reads as data only under the right geometry and seats.
//!
//! [`plausible`] seats the unseated members of the best degraded fits
//! every way, keeps the seatings the content finds plausible, and puts
//! them first when the content contradicts the leading answer, for the
//! file-system validation to choose between. It changes no verdict: a
//! candidate is only promoted by validation ([`crate::promote`]).

use rayon::prelude::*;

use platter_raid::geometry::Level;

use crate::degraded::{PREFER_MAX_IMPLAUSIBILITY, Plausibility, Preference, plausibility, prefer};
use crate::report::Candidate;
use crate::sample::Samples;
use crate::search::Scored;

/// Degraded fits whose unseated members are seated, at most.
const MAX_FITS: usize = 32;
/// Seatings whose plausibility is measured, at most (bounds the work).
const MAX_SEATINGS: usize = 96;
/// Plausible seatings put before the other candidates, at most: the rest
/// of the validated candidates stay the structure fit's own.
const MAX_FIRST: usize = crate::VALIDATED - 2;

/// Reorders `cands` (the structure fit's candidates, best first) when a
/// seating of a tied degraded fit (`tied`: RAID4/5/6 candidates with
/// slots missing and members unseated, `unseated` members each) is
/// plausible and the content contradicts the leading candidate, or the
/// leading candidate leaves members unseated itself.
pub(crate) fn plausible(
    cands: &mut Vec<Candidate>,
    tied: &[(Candidate, Vec<usize>)],
    samples: &Samples,
    member_sizes: &[u64],
) {
    let mut seated: Vec<Candidate> = Vec::new();
    for (c, unseated) in tied.iter().take(MAX_FITS) {
        for s in crate::anchored::completions(c, unseated) {
            if seated.len() >= MAX_SEATINGS {
                break;
            }
            if !seated.iter().any(|x| x.geometry == s.geometry)
                && crate::anchored::related(samples, &s.geometry, member_sizes)
            {
                seated.push(s);
            }
        }
    }
    if seated.is_empty() {
        return;
    }
    let judged: Vec<_> = seated
        .par_iter()
        .map(|c| plausibility(samples, &c.geometry, member_sizes))
        .collect();
    let mut good: Vec<(Candidate, f64, u32)> = seated
        .into_iter()
        .zip(judged)
        .filter_map(|(c, p)| {
            let p = p?;
            let i = p.implausibility();
            (i <= PREFER_MAX_IMPLAUSIBILITY).then(|| (c, i, p.judged()))
        })
        .collect();
    if good.is_empty() {
        return;
    }
    good.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.2.cmp(&a.2)));
    let Some(lead) = cands.first() else {
        return;
    };
    let lead_open = !crate::complete(lead, member_sizes.len());
    if !lead_open {
        let best = plausibility(samples, &good[0].0.geometry, member_sizes);
        let lead_p = plausibility(samples, &lead.geometry, member_sizes);
        if prefer(best.as_ref(), lead_p.as_ref()) != Some(Preference::First) {
            return;
        }
    }
    let mut out: Vec<Candidate> = good.into_iter().take(MAX_FIRST).map(|g| g.0).collect();
    for c in cands.drain(..) {
        if !out.iter().any(|x| x.geometry == c.geometry) {
            out.push(c);
        }
    }
    *cands = out;
}

/// True for the levels whose degraded fits are seated here.
pub(crate) fn parity_level(l: Level) -> bool {
    matches!(l, Level::Raid4 | Level::Raid5 | Level::Raid6)
}

/// Classes of fit (level and slot count) whose best fit is weighed by
/// content.
const CONTENT_CLASSES: usize = 6;

/// Without visible parity, RAID0 over the members and a RAID4/5/6 with
/// members missing can fit the same structures; the content tells them
/// apart ([`crate::degraded`]): a missing member rebuilt from parity reads
/// as data only when the parity is real, and parity read as data does not.
/// The classes whose best fit the content contradicts, against a rival
/// class it supports, are dropped.
pub(crate) fn by_content(
    found: Vec<Scored>,
    samples: &Samples,
    member_sizes: &[u64],
) -> Vec<Scored> {
    let class = |s: &Scored| (s.shape.level, s.shape.slots);
    let mut best: Vec<&Scored> = Vec::new();
    for s in &found {
        if best.len() >= CONTENT_CLASSES {
            break;
        }
        if s.fit.rate() >= crate::anchored::MIN_RATE - 0.1
            && !best.iter().any(|b| class(b) == class(s))
        {
            best.push(s);
        }
    }
    if best.len() < 2 {
        return found;
    }
    let judged: Vec<Option<Plausibility>> = best
        .par_iter()
        .map(|s| plausibility(samples, &s.fit.geometry, member_sizes))
        .collect();
    let mut dropped = Vec::new();
    for (i, a) in judged.iter().enumerate() {
        let contradicted = judged
            .iter()
            .enumerate()
            .any(|(j, b)| i != j && prefer(b.as_ref(), a.as_ref()) == Some(Preference::First));
        if contradicted {
            dropped.push(class(best[i]));
        }
    }
    if dropped.len() == best.len() {
        return found;
    }
    found
        .into_iter()
        .filter(|s| !dropped.contains(&class(s)))
        .collect()
}
