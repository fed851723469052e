//! The parity paths of the verdict: RAID6 from where Q sits, RAID5/4 from
//! where the content puts parity and from continuity.

use super::*;

pub(super) fn decide_raid6(
    samples: &Samples,
    signals: &Signals,
    n: usize,
    offset: u64,
    ev: Evidence,
) -> (Verdict, Vec<Candidate>) {
    let mut found = raid6::search(samples, signals, n, &[offset]);
    sort_desc(&mut found, |s| s.score);
    let found = dedupe(found, n, |s| s);
    let Some(top_score) = found.first().map(|s| s.score) else {
        return unsupported(
            "RAID6 parity found (one member breaks the XOR per sector) but no md/DDF layout and chunk size of 4 KiB–1 MiB explains where Q sits".into(),
        );
    };
    let (mut group, rest): (Vec<Scored>, Vec<Scored>) = found
        .into_iter()
        .partition(|s| s.score > top_score - RAID6_MIN_MARGIN);
    let chunk = continuity::pick_chunk(&continuity::chunk_breaks(samples, n, offset), CHUNK_MIN_Z);
    if let Some((c, _)) = chunk {
        if group.iter().any(|s| s.chunk_bytes == c) {
            group.retain(|s| s.chunk_bytes == c);
        }
    }
    // Parity cannot separate what is left (md's asymmetric and symmetric
    // layouts share Q coefficients per member): continuity decides.
    let mut cache = continuity::RowCache::new(samples, n, offset);
    let mut ranked: Vec<(Scored, continuity::Continuity)> = group
        .into_iter()
        .map(|s| {
            let c = PlacementTable::new(Level::Raid6, s.layout, n)
                .map(|t| cache.candidate(s.chunk_bytes, &t, &s.order))
                .unwrap_or_default();
            (s, c)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.mean.total_cmp(&a.1.mean));
    let second_score = rest.first().map_or(0.0, |s| s.score);
    let mut cands: Vec<Candidate> = ranked
        .iter()
        .map(|(s, c)| {
            let mut cand = to_candidate(s, &ev);
            cand.evidence.q_placement_rate = Some(s.q_placement_rate);
            cand.evidence.q_consistent_rate = Some(s.score);
            cand.evidence.continuity_score = (c.count > 0).then_some(c.mean);
            cand
        })
        .collect();
    cands.extend(rest.iter().map(|s| {
        let mut cand = to_candidate(s, &ev);
        cand.evidence.q_placement_rate = Some(s.q_placement_rate);
        cand.evidence.q_consistent_rate = Some(s.score);
        cand
    }));
    let top = &cands[0];
    let mut chunks: Vec<u64> = ranked.iter().map(|(s, _)| s.chunk_bytes).collect();
    chunks.sort_unstable();
    chunks.dedup();
    // A stale member breaks P and Q where the array was written since it
    // left: the failures the syndromes pin on it do not count against the
    // layout.
    let sizes = vec![Some(samples.common_bytes); n];
    let excused = (top.score < RAID6_MIN_SCORE)
        .then(|| crate::stale::raid6_rate_excusing_stale(samples, &top.geometry, &sizes))
        .flatten()
        .is_some_and(|(rate, _)| rate >= RAID6_MIN_SCORE);
    let verdict = if top.score < RAID6_MIN_SCORE && !excused {
        Verdict::Ambiguous {
            reason: format!(
                "best RAID6 candidate ({}) recomputes only {:.1}% of checked sectors",
                describe(top),
                top.score * 100.0
            ),
        }
    } else if chunks.len() > 1 {
        Verdict::Ambiguous {
            reason: format!(
                "{} recomputes P and Q, but so do chunk sizes {:?} K: parity does not rotate over the sampled rows, and {}; supply a chunk hint or more data",
                describe(top),
                chunks.iter().map(|c| c >> 10).collect::<Vec<_>>(),
                chunk_note(chunk)
            ),
        }
    } else if ranked.len() > 1
        && lead_z(&mut cache, n, &ranked[0].0, &ranked[1].0) < CONTINUITY_MIN_Z
    {
        Verdict::Ambiguous {
            reason: format!(
                "{} vs {} recompute P and Q equally well and continuity cannot separate them ({:.1} standard errors, need {CONTINUITY_MIN_Z}); {}; supply a hint or more data",
                describe(top),
                describe(&cands[1]),
                lead_z(&mut cache, n, &ranked[0].0, &ranked[1].0),
                chunk_note(chunk)
            ),
        }
    } else {
        Verdict::Found
    };
    cands[0].margin = if ranked.len() > 1 {
        ranked[0].1.mean - ranked[1].1.mean
    } else {
        top.score - second_score
    };
    (verdict, cands)
}

/// Candidates of the RAID6 parity search listed behind a structure fit
/// that starts elsewhere.
const PARITY_BEHIND_FIT: usize = 2;

/// A found RAID6 structure fit that starts elsewhere than the first data
/// gets the parity search's best from there behind it.
pub(super) fn raid6_behind_fit(
    decided: &mut (Verdict, Vec<Candidate>),
    samples: &Samples,
    signals: &Signals,
    n: usize,
    st: &Structures<'_>,
    offset: u64,
    ev: &Evidence,
) {
    if decided.0 == Verdict::Found
        && n <= RAID6_MAX_MEMBERS
        && decided
            .1
            .first()
            .is_some_and(|c| c.data_offset_bytes != offset)
    {
        // A structure fit seated by copies of structures in parity
        // chunks can land a whole row early, where the same parity
        // holds: where Q sits from the first data on goes last, for
        // validation to weigh should the fit's array show no file
        // system.
        let (_, more) = decide_raid6(samples, signals, n, offset, ev.clone());
        let member_bytes = st.member_sizes.iter().copied().min().unwrap_or(0);
        for mut c in more.into_iter().take(PARITY_BEHIND_FIT) {
            if let Some(f) = crate::fit::explain(st.eqs, n, member_bytes, &c.geometry) {
                c.evidence.anchors_explained = Some(f.explained as u64);
                c.evidence.anchors_considered = Some(f.considered as u64);
            }
            if !decided.1.iter().any(|d| d.geometry == c.geometry) {
                decided.1.push(c);
            }
        }
    }
}

/// RAID5 placed by where the content puts parity ([`crate::parity_pos`]):
/// the rotation seats every member for left and right layouts (and, with
/// `slots = n + 1`, the missing one); the self-locating structures, the
/// first data and continuity choose among asymmetric/symmetric and offsets
/// a whole number of rows apart.
///
/// With `by_copies`, the rotation comes from the sectors parity copies
/// ([`crate::parity_copies`]) instead of the repeat rate.
pub(super) fn rotation_raid5(
    samples: &Samples,
    st: &Structures<'_>,
    n: usize,
    slots: usize,
    first_informative: Option<u64>,
    ev: &Evidence,
    by_copies: bool,
) -> Option<(Verdict, Vec<Candidate>)> {
    let member_bytes = st.member_sizes.iter().copied().min().unwrap_or(0);
    let offsets = crate::search::offsets(first_informative, member_bytes);
    let rotations = if by_copies {
        crate::parity_copies::find(samples, n, slots, &offsets)
    } else {
        crate::parity_pos::find(samples, n, slots, &offsets)
    };
    let first_data = first_informative.map(|f| f / OFFSET_ALIGN * OFFSET_ALIGN);
    // (candidate, structures explained, prior: file systems at array
    // offset 0 and data starting at the first data).
    let mut ranked: Vec<(Candidate, usize, (usize, bool))> = Vec::new();
    for r in &rotations {
        let score = r.consistent as f64 / r.rows.max(1) as f64;
        // Where a partition table or file system says the array starts,
        // less than a chunk from the rotation's offset, is tried too: the
        // repeat rate cannot tell offsets a block apart, and a file system
        // whose first blocks are zero (btrfs) moves the first data.
        let shifted = starts_near(r.data_offset, r.chunk_bytes, &st.array_starts).map(|s| {
            crate::parity_pos::Rotation {
                data_offset: s,
                ..r.clone()
            }
        });
        for g in std::iter::once(r.clone())
            .chain(shifted)
            .flat_map(|r| r.geometries())
        {
            let Layout::Parity(layout) = g.layout else {
                continue;
            };
            if ranked.iter().any(|(c, _, _)| c.geometry == g) {
                continue;
            }
            let offset = g.slots.first().map_or(0, |x| x.data_offset);
            let fit = crate::fit::explain(st.eqs, n, member_bytes, &g);
            let explained = fit.as_ref().map_or(0, |f| f.explained);
            let at_zero = fit.as_ref().map_or(0, |f| f.origins_at_zero);
            let mut evidence = ev.clone();
            evidence.anchors_explained = Some(explained as u64);
            evidence.anchors_considered = Some(fit.map_or(st.eqs.len(), |f| f.considered) as u64);
            evidence.checked = r.rows as u64;
            ranked.push((
                Candidate {
                    level: Level::Raid5,
                    layout: Some(layout),
                    chunk_bytes: r.chunk_bytes,
                    order: g.slots.iter().map(|x| x.image).collect(),
                    data_offset_bytes: offset,
                    score,
                    margin: 0.0,
                    evidence,
                    geometry: g,
                },
                explained,
                (at_zero, Some(offset) == first_data),
            ));
        }
    }
    if ranked.is_empty() {
        return None;
    }
    ranked.sort_by_key(|r| std::cmp::Reverse((r.1, r.2)));
    let scored = |c: &Candidate| -> Option<Scored> {
        Some(Scored {
            level: Level::Raid5,
            layout: c.layout?,
            chunk_bytes: c.chunk_bytes,
            data_offset_bytes: c.data_offset_bytes,
            order: c.order.iter().copied().collect::<Option<Vec<usize>>>()?,
            q_placement_rate: 0.0,
            score: c.score,
            checked_sectors: 0,
        })
    };
    let decided = match ranked.get(1) {
        None => true,
        Some(second) => {
            let top = &ranked[0];
            top.1 >= second.1 + MIN_ROTATION_GAP
                || (top.1 >= second.1 && top.2 > second.2)
                || (top.1 == second.1
                    && top.2 == second.2
                    && top.0.data_offset_bytes == second.0.data_offset_bytes
                    && match (scored(&top.0), scored(&second.0)) {
                        (Some(a), Some(b)) => {
                            let mut cache =
                                continuity::RowCache::new(samples, n, a.data_offset_bytes);
                            lead_z(&mut cache, n, &a, &b) >= CONTINUITY_MIN_Z
                        }
                        _ => false,
                    })
        }
    };
    // Nor does a rotation whose array leaves many of the structures found
    // unexplained (a RAID0 whose content merely looks as if parity
    // rotated): it stays open for the structure fit and validation.
    let considered = ranked[0].0.evidence.anchors_considered.unwrap_or(0) as usize;
    let fits = considered < crate::anchored::MIN_EXPLAINED
        || ranked[0].1 as f64 >= crate::anchored::MIN_RATE * considered as f64;
    let (cands, explained) = by_structures(ranked);
    // Nor do rotations that seat some members by guess (one of several
    // ways the copies allow): validation weighs them.
    let guessed = rotations.iter().any(|r| r.guessed);
    if decided && fits && !guessed {
        return Some((Verdict::Found, cands));
    }
    let r = &rotations[0];
    let reason = format!(
        "the content puts parity on a rotating member ({} of {} decided {}K rows follow the rotation), which seats every member, but {} and {} explain {} and {} self-locating structures; supply --hint or more data",
        r.consistent,
        r.rows,
        r.chunk_bytes >> 10,
        describe(&cands[0]),
        describe(&cands[1]),
        explained[0],
        explained[1]
    );
    Some((Verdict::Ambiguous { reason }, cands))
}

/// The array starts (`starts`) less than a chunk from a rotation's data
/// offset, other than it: rows keep their numbers there, so the rotation
/// holds as it is.
pub(super) fn starts_near(offset: u64, chunk: u64, starts: &[u64]) -> impl Iterator<Item = u64> {
    starts
        .iter()
        .copied()
        .filter(move |&s| s != offset && s.abs_diff(offset) < chunk)
}

/// Candidates ranked by the structures they explain (best first, with
/// its margin over the next in structures, as a share of those
/// considered), and the count each explains.
pub(super) fn by_structures(
    ranked: Vec<(Candidate, usize, (usize, bool))>,
) -> (Vec<Candidate>, Vec<usize>) {
    let considered = ranked
        .first()
        .and_then(|r| r.0.evidence.anchors_considered)
        .unwrap_or(0)
        .max(1) as f64;
    let margin = match (ranked.first(), ranked.get(1)) {
        (Some(a), Some(b)) => (a.1 as f64 - b.1 as f64) / considered,
        _ => 1.0,
    };
    let explained: Vec<usize> = ranked.iter().map(|r| r.1).collect();
    let mut cands: Vec<Candidate> = ranked.into_iter().map(|r| r.0).collect();
    if let Some(c) = cands.first_mut() {
        c.margin = margin;
    }
    (cands, explained)
}

/// `hint` with the member the content shows holding parity on every row,
/// when one does and the user said nothing against it. With no parity
/// visible (`degraded`), the member must also read as parity against the
/// others (its XOR with one of them looks like data): a RAID0 member that
/// happens to hold less repetitive data does not.
pub(super) fn constant_parity(
    samples: &Samples,
    n: usize,
    hint: &crate::Hint,
    degraded: bool,
) -> crate::Hint {
    let open = hint.parity_member.is_none()
        && hint
            .level
            .is_none_or(|l| matches!(l, Level::Raid4 | Level::Raid5))
        && hint.layout.is_none_or(|l| {
            matches!(
                l,
                platter_raid::geometry::ParityLayout::ParityFirst
                    | platter_raid::geometry::ParityLayout::ParityLast
            )
        });
    crate::Hint {
        parity_member: if open {
            crate::parity_pos::constant_member(samples, n)
                .or_else(|| crate::parity_copies::constant_member(samples, n))
                .filter(|&p| {
                    !degraded
                        || crate::naturalness::parity_suspect(samples, &(0..n).collect::<Vec<_>>())
                            .is_some_and(|s| s.parity == p)
                })
        } else {
            hint.parity_member
        },
        ..*hint
    }
}

/// Structures a rotation candidate must explain beyond the next to win.
pub(super) const MIN_ROTATION_GAP: usize = 2;

pub(super) fn decide_raid5(
    samples: &Samples,
    n: usize,
    offset: u64,
    ev: Evidence,
) -> (Verdict, Vec<Candidate>) {
    let chunk = continuity::pick_chunk(&continuity::chunk_breaks(samples, n, offset), CHUNK_MIN_Z);
    let Some((chunk_bytes, _)) = chunk else {
        return (
            Verdict::Ambiguous {
                reason: format!(
                    "RAID5/4 parity on {:.1}% of informative sectors, but {}: the content gives no continuity to order members by; supply a hint or more data",
                    ev.parity_consistent_rate * 100.0,
                    chunk_note(None)
                ),
            },
            Vec::new(),
        );
    };
    let mut found = if n <= RAID5_MAX_MEMBERS {
        continuity::search(samples, n, chunk_bytes, offset)
    } else {
        crate::order_beam::search(samples, n, chunk_bytes, offset)
    };
    sort_desc(&mut found, |(s, _)| s.score);
    let found = dedupe(found, n, |(s, _)| s);
    let mut cands: Vec<Candidate> = found
        .iter()
        .map(|(s, c)| {
            let mut cand = to_candidate(s, &ev);
            cand.evidence.continuity_score = Some(c.mean);
            cand
        })
        .collect();
    let (Some((s1, c1)), Some((s2, c2))) = (found.first(), found.get(1)) else {
        return (
            Verdict::Ambiguous {
                reason: "RAID5/4 parity found, but no chunk boundary had data on both sides to order the members".into(),
            },
            cands,
        );
    };
    let z = lead_z(
        &mut continuity::RowCache::new(samples, n, offset),
        n,
        s1,
        s2,
    );
    cands[0].margin = c1.mean - c2.mean;
    let verdict = if z >= CONTINUITY_MIN_Z {
        Verdict::Found
    } else {
        Verdict::Ambiguous {
            reason: format!(
                "RAID5/4 parity on {:.1}% of informative sectors and {}, but continuity cannot separate {} from {} ({z:.1} standard errors, need {CONTINUITY_MIN_Z}); supply a hint or more data",
                ev.parity_consistent_rate * 100.0,
                chunk_note(chunk),
                describe(&cands[0]),
                describe(&cands[1]),
            ),
        }
    };
    (verdict, cands)
}

#[cfg(test)]
mod tests {
    use super::starts_near;

    #[test]
    fn array_starts_within_a_chunk_of_the_rotation_are_tried() {
        // btrfs over a degraded RAID5 at 1 MiB: the repeat rate put the
        // rotation 4 KiB late, the superblock copy says 1 MiB.
        let starts = [1 << 20, 8 << 20, 4096];
        let near: Vec<u64> = starts_near((1 << 20) + 4096, 512 << 10, &starts).collect();
        assert_eq!(near, vec![1 << 20]);
        // The rotation's own offset is not repeated; nothing near, nothing.
        assert_eq!(starts_near(1 << 20, 64 << 10, &starts).count(), 0);
        assert_eq!(starts_near(3 << 20, 64 << 10, &[]).count(), 0);
    }
}
