//! Candidates the evidence ties because they share the seating and the
//! parity coefficients of every member (md's asymmetric and symmetric
//! RAID6 layouts with a member missing) still read the array in different
//! orders: continuity across the chunk boundaries of their assembled
//! arrays ([`crate::assembled`]) separates them.

use platter_core::Source;
use platter_raid::geometry::{Geometry, Level};

use crate::report::{Candidate, Verdict};
use crate::sample::Samples;

/// Candidates compared at most.
const MAX_TIED: usize = 4;
/// Boundaries the best candidate must read.
const MIN_BOUNDARIES: u64 = 8;
/// Chunk boundaries read per candidate: most fall on the missing member
/// or on zeros, and the layouts differ only in some rows.
const POINTS: usize = 768;
/// Lead over every rival, in standard errors.
const MIN_Z: f64 = 4.0;

/// True when `a` and `b` tie by construction: one level, chunk size, data
/// offset and seating, a missing slot, and layouts only.
fn tied(a: &Candidate, b: &Candidate) -> bool {
    a.level == Level::Raid6
        && b.level == a.level
        && a.chunk_bytes == b.chunk_bytes
        && a.data_offset_bytes == b.data_offset_bytes
        && a.order == b.order
        && a.order.iter().any(Option::is_none)
}

/// Puts the candidate whose assembled array runs on best across chunk
/// boundaries first and makes the verdict found, when the top candidates
/// of an ambiguous verdict tie by construction and continuity separates
/// them clearly.
pub(crate) fn by_continuity(
    members: &[&dyn Source],
    samples: &Samples,
    sizes: &[u64],
    verdict: &mut Verdict,
    candidates: &mut [Candidate],
) {
    if !matches!(verdict, Verdict::Ambiguous { .. }) || candidates.len() < 2 {
        return;
    }
    let group = candidates
        .iter()
        .take(MAX_TIED)
        .take_while(|c| tied(&candidates[0], c))
        .count();
    if group < 2 {
        return;
    }
    let geoms: Vec<Geometry> = candidates[..group]
        .iter()
        .map(|c| c.geometry.clone())
        .collect();
    let text = crate::text_flow::TextModel::learn(samples);
    let scored = crate::assembled::rank_at(members, sizes, &geoms, text.as_ref(), POINTS);
    let Some(best) = scored.first() else {
        return;
    };
    if best.continuity.count < MIN_BOUNDARIES {
        return;
    }
    let z = scored[1..]
        .iter()
        .map(|o| crate::assembled::lead(best, o).unwrap_or(0.0))
        .reduce(f64::min)
        .unwrap_or(0.0);
    if z < MIN_Z {
        return;
    }
    let margin = best.continuity.mean - scored.get(1).map_or(0.0, |s| s.continuity.mean);
    let mut reordered: Vec<Candidate> = scored
        .iter()
        .map(|s| {
            let mut c = candidates[s.index].clone();
            c.evidence.continuity_score = Some(s.continuity.mean);
            c
        })
        .collect();
    candidates[..group].swap_with_slice(&mut reordered);
    candidates[0].margin = margin;
    *verdict = Verdict::Found;
}
