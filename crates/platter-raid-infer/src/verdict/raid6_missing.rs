//! The verdict for a RAID6 with one member missing
//! ([`crate::raid6_degraded`]): the relation every row keeps seats the
//! members; the self-locating structures choose among the layouts that
//! share its coefficients.

use super::parity::{MIN_ROTATION_GAP, by_structures};
use super::*;
use crate::raid6_degraded;

/// Fits within this of the best agreement stay in the running.
const AGREEMENT_TIE: f64 = 0.05;

pub(super) fn decide(
    samples: &Samples,
    signals: &Signals,
    n: usize,
    st: &Structures<'_>,
    first_informative: Option<u64>,
    ev: &Evidence,
    hint: &crate::Hint,
) -> Option<(Verdict, Vec<Candidate>)> {
    if n < 3 || hint.level.is_some_and(|l| l != Level::Raid6) || hint.parity_member.is_some() {
        return None;
    }
    let rels = raid6_degraded::relations(samples, signals, n)?;
    let member_bytes = st.member_sizes.iter().copied().min().unwrap_or(0);
    let offsets = crate::search::offsets(first_informative, member_bytes);
    let fits = raid6_degraded::search(&rels, n, &offsets);
    let best = fits.first()?.rate();
    let first_data = first_informative.map(|f| f / OFFSET_ALIGN * OFFSET_ALIGN);
    // (candidate, structures explained, prior: file systems at array
    // offset 0 and data starting at the first data).
    let mut ranked: Vec<(Candidate, usize, (usize, bool))> = Vec::new();
    for f in fits.iter().filter(|f| f.rate() >= best - AGREEMENT_TIE) {
        let g = &f.geometry;
        let Layout::Parity(layout) = g.layout else {
            continue;
        };
        if ranked.iter().any(|(c, _, _)| c.geometry == *g)
            || hint.layout.is_some_and(|l| l != layout)
            || hint.chunk_bytes.is_some_and(|c| c != g.chunk_bytes)
        {
            continue;
        }
        let fit = crate::fit::explain(st.eqs, n, member_bytes, g);
        let explained = fit.as_ref().map_or(0, |x| x.explained);
        let at_zero = fit.as_ref().map_or(0, |x| x.origins_at_zero);
        let offset = g.slots.first().map_or(0, |s| s.data_offset);
        let mut evidence = ev.clone();
        evidence.anchors_explained = Some(explained as u64);
        evidence.anchors_considered = Some(fit.map_or(st.eqs.len(), |x| x.considered) as u64);
        evidence.checked = f.judged as u64;
        evidence.q_consistent_rate = Some(f.rate());
        ranked.push((
            Candidate {
                level: Level::Raid6,
                layout: Some(layout),
                chunk_bytes: g.chunk_bytes,
                order: g.slots.iter().map(|x| x.image).collect(),
                data_offset_bytes: offset,
                score: f.rate(),
                margin: 0.0,
                evidence,
                geometry: g.clone(),
            },
            explained,
            (at_zero, Some(offset) == first_data),
        ));
    }
    if ranked.is_empty() {
        return None;
    }
    ranked.sort_by_key(|r| std::cmp::Reverse((r.1, r.2)));
    let decided = match ranked.get(1) {
        None => true,
        Some(second) => {
            let top = &ranked[0];
            top.1 >= second.1 + MIN_ROTATION_GAP || (top.1 >= second.1 && top.2 > second.2)
        }
    };
    let (cands, explained) = by_structures(ranked);
    if decided {
        return Some((Verdict::Found, cands));
    }
    let top = &cands[0];
    let agree = format!(
        "{} of {} sectors keep the one GF(2^8) relation a RAID6 with this slot missing leaves",
        top.evidence
            .checked
            .saturating_sub(((1.0 - top.score) * top.evidence.checked as f64).round() as u64),
        top.evidence.checked
    );
    let reason = format!(
        "RAID6 with a member missing ({agree}), but {} and {} explain {} and {} self-locating structures; supply --hint or more data",
        describe(&cands[0]),
        describe(&cands[1]),
        explained[0],
        explained[1]
    );
    Some((Verdict::Ambiguous { reason }, cands))
}
