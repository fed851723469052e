//! Weighing a found or ambiguous answer at per-member starts against
//! lower starts: a member's first data is only an upper bound on where its
//! data begins (see [`lower_starts`]).

use platter_core::Source;

use super::{shift_candidate, views};
use crate::{Candidate, Options, Report, Result, Verdict};

/// Lowered start vectors weighed against a found answer at most.
const MAX_LOWERED: usize = 3;

/// How a found answer's evidence ranks: fewer failed file-system checks,
/// then fewer structures unexplained, then more explained, then more
/// checks passed (greater is better).
fn evidence_key(r: &Report) -> (i64, i64, u64, u64) {
    let Some(c) = r.candidates.first() else {
        return (i64::MIN, i64::MIN, 0, 0);
    };
    let e = &c.evidence;
    let (checks, passed) = e
        .validation
        .as_ref()
        .map_or((0, 0), |v| (v.checks, v.passed));
    let explained = e.anchors_explained.unwrap_or(0);
    let unexplained = e.anchors_considered.unwrap_or(0).saturating_sub(explained);
    (
        -i64::try_from(checks - passed.min(checks)).unwrap_or(i64::MAX),
        -i64::try_from(unexplained).unwrap_or(i64::MAX),
        explained,
        passed,
    )
}

/// Distinct data starts in a start vector.
fn distinct(v: &[u64]) -> usize {
    let mut d = v.to_vec();
    d.sort_unstable();
    d.dedup();
    d.len()
}

/// A member's first data is only an upper bound on its start: its first
/// chunks may be all zeros (the gap between a partition table and the
/// first partition is, on every member but the first). A found or
/// ambiguous answer at `shift` (`found`) is therefore weighed against
/// start vectors that lower one component (members whose relative starts
/// copies fix) until one of its members starts where a member outside it
/// does, or at 0, no more distinct starts than `shift` has, the fewest
/// first, at most [`MAX_LOWERED`]. Only found answers of the same shape
/// (level, layout, chunk, order) as `found`'s first candidate count: the
/// starts are what is in question. A found answer beats an ambiguous one;
/// among found answers the one whose array reads the file system best
/// wins; when the evidence is equal the fewest distinct starts win, and
/// when that ties too the verdict is ambiguous. Returns the report, its
/// shift, the bytes per member the extra runs read, and the tied rivals'
/// first candidates (on the members as given).
pub(super) fn lower_starts(
    members: &[&dyn Source],
    opts: &Options,
    run: fn(&[&dyn Source], &Options) -> Result<Report>,
    comps: &[(usize, i64)],
    found: Report,
    shift: Vec<u64>,
) -> Result<(Report, Vec<u64>, u64, Vec<Candidate>)> {
    let mut runs = vec![(found, shift)];
    let mut extra = 0u64;
    for v in lowered(&runs[0].1, comps) {
        let Some(views) = views(members, &v) else {
            continue;
        };
        let refs: Vec<&dyn Source> = views.iter().map(|x| x as &dyn Source).collect();
        let report = run(&refs, opts)?;
        extra = extra.saturating_add(report.sampled_bytes_per_member);
        // Only the starts are in question: a lower start counts when it
        // reads the same array shape (level, layout, chunk, order).
        let shape = |r: &Report| {
            r.candidates
                .first()
                .map(|c| (c.level, c.layout, c.chunk_bytes, c.order.clone()))
        };
        if report.verdict == Verdict::Found && shape(&report) == shape(&runs[0].0) {
            runs.push((report, v));
        }
    }
    let key = |i: usize| {
        let (r, v) = &runs[i];
        (
            r.verdict == Verdict::Found,
            evidence_key(r),
            std::cmp::Reverse(distinct(v)),
        )
    };
    let Some(best) = (0..runs.len()).map(key).max() else {
        let (r, v) = runs.swap_remove(0);
        return Ok((r, v, extra, Vec::new()));
    };
    let tied: Vec<usize> = (0..runs.len()).filter(|&i| key(i) == best).collect();
    // The tied answers on the members as given; two runs may reach the
    // same geometry (the inner search finds a common offset).
    let mut rivals: Vec<Candidate> = Vec::new();
    for &i in &tied {
        let (r, w) = &runs[i];
        if let Some(c) = r.candidates.first() {
            let mut c = c.clone();
            shift_candidate(&mut c, w);
            if !rivals.iter().any(|x| x.geometry == c.geometry) {
                rivals.push(c);
            }
        }
    }
    if !rivals.is_empty() {
        rivals.remove(0);
    }
    let (mut report, v) = runs.swap_remove(tied[0]);
    if report.verdict != Verdict::Found {
        // Only an ambiguous first answer: nothing lower was found.
        return Ok((report, v, extra, Vec::new()));
    }
    if !rivals.is_empty() {
        report.verdict = Verdict::Ambiguous {
            reason: format!(
                "a member's data start is known only up to its first data, and {} sets of starts read the array equally well",
                rivals.len() + 1
            ),
        };
    }
    Ok((report, v, extra, rivals))
}

/// Start vectors below `v`: see [`lower_starts`].
fn lowered(v: &[u64], comps: &[(usize, i64)]) -> Vec<Vec<u64>> {
    let n = v.len().min(comps.len());
    let count = comps.iter().map(|c| c.0 + 1).max().unwrap_or(0);
    let mut out: Vec<Vec<u64>> = Vec::new();
    for comp in 0..count {
        let inside: Vec<usize> = (0..n).filter(|&i| comps[i].0 == comp).collect();
        let Some(room) = inside.iter().map(|&i| v[i]).min() else {
            continue;
        };
        let targets: Vec<u64> = (0..n)
            .filter(|&i| comps[i].0 != comp)
            .map(|i| v[i])
            .chain([0])
            .collect();
        for &m in &inside {
            for &t in &targets {
                let Some(d) = v[m].checked_sub(t).filter(|&d| d > 0 && d <= room) else {
                    continue;
                };
                let mut w = v.to_vec();
                for &i in &inside {
                    w[i] -= d;
                }
                if !out.contains(&w) {
                    out.push(w);
                }
            }
        }
    }
    let limit = distinct(v);
    out.retain(|w| distinct(w) <= limit);
    out.sort_by_key(|w| distinct(w));
    out.truncate(MAX_LOWERED);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use platter_core::MemSource;

    const M: u64 = 1 << 20;
    const K: u64 = 1 << 10;

    /// Case seed 1 #125's starts as first found: a RAID10 near 2 whose
    /// pairs are components; the pair (2, 3) placed at its first data,
    /// two chunks above its true start.
    fn pairs() -> (Vec<u64>, Vec<(usize, i64)>) {
        let v = vec![M, 128 * K, 256 * K, M + 256 * K, M, M];
        let comps = vec![
            (0, 896 * 1024),
            (0, 0),
            (1, 0),
            (1, 1 << 20),
            (2, 0),
            (2, 0),
        ];
        (v, comps)
    }

    #[test]
    fn lowered_starts_move_a_whole_component_to_a_start_another_member_has() {
        let (v, comps) = pairs();
        let l = lowered(&v, &comps);
        assert!(l.len() <= MAX_LOWERED);
        assert!(l.contains(&vec![M, 128 * K, 0, M, M, M]), "{l:?}");
        assert!(
            l.contains(&vec![M, 128 * K, 128 * K, M + 128 * K, M, M]),
            "{l:?}"
        );
        for w in &l {
            assert!(distinct(w) <= distinct(&v));
            // Each component moves as one.
            for c in 0..3 {
                let d: Vec<u64> = (0..6)
                    .filter(|&i| comps[i].0 == c)
                    .map(|i| v[i] - w[i])
                    .collect();
                assert!(d.windows(2).all(|x| x[0] == x[1]), "{w:?}");
            }
        }
        // Starts already shared by all: nothing lower with as few.
        assert!(lowered(&[M, M], &[(0, 0), (1, 0)]).is_empty());
    }

    /// The start of each view, from its name.
    fn starts(members: &[&dyn Source]) -> Vec<u64> {
        members
            .iter()
            .map(|m| {
                let n = m.name();
                let hex = n.rsplit("0x").next().unwrap_or("0").trim_end_matches(')');
                u64::from_str_radix(hex, 16).unwrap_or(u64::MAX)
            })
            .collect()
    }

    /// A found report whose file-system checks all pass when `good` holds.
    fn found(members: &[&dyn Source], good: bool) -> Report {
        use platter_raid::geometry::{Geometry, Layout, Level};
        let n = members.len();
        let order: Vec<Option<usize>> = (0..n).map(Some).collect();
        let geometry = Geometry::new(Level::Raid1, Layout::None, 0, n).with_order(&order);
        let validation = crate::structures::Validation {
            checks: 10,
            passed: if good { 10 } else { 9 },
            ..Default::default()
        };
        Report {
            verdict: Verdict::Found,
            candidates: vec![Candidate {
                level: Level::Raid1,
                layout: None,
                chunk_bytes: 0,
                order,
                data_offset_bytes: 0,
                score: 1.0,
                margin: 1.0,
                evidence: crate::Evidence {
                    validation: Some(validation),
                    ..Default::default()
                },
                geometry,
            }],
            member_bytes: members.iter().map(|m| m.len()).collect(),
            sampled_bytes_per_member: 0,
            signals: Default::default(),
            stale: None,
        }
    }

    fn members() -> Vec<MemSource> {
        (0..6)
            .map(|i| MemSource::new(format!("m{i}"), vec![1u8; 3 << 20]))
            .collect()
    }

    #[test]
    fn a_lower_start_that_reads_the_file_system_better_wins() {
        fn run(m: &[&dyn Source], _: &Options) -> Result<Report> {
            Ok(found(m, starts(m)[2] == 0))
        }
        let (v, comps) = pairs();
        let srcs = members();
        let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
        let first = found(&refs, false);
        let (r, shift, _, rivals) =
            lower_starts(&refs, &Options::default(), run, &comps, first, v).unwrap();
        assert_eq!(r.verdict, Verdict::Found);
        assert_eq!(shift, vec![M, 128 * K, 0, M, M, M]);
        assert!(rivals.is_empty());
    }

    #[test]
    fn an_ambiguous_answer_yields_to_a_lower_start_found() {
        fn run(m: &[&dyn Source], _: &Options) -> Result<Report> {
            let mut r = found(m, starts(m)[2] == 0);
            if starts(m)[2] != 0 {
                r.verdict = Verdict::Ambiguous {
                    reason: "fails checks".into(),
                };
            }
            Ok(r)
        }
        let (v, comps) = pairs();
        let srcs = members();
        let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
        let mut first = found(&refs, false);
        first.verdict = Verdict::Ambiguous {
            reason: "fails checks".into(),
        };
        let (r, shift, _, _) =
            lower_starts(&refs, &Options::default(), run, &comps, first, v.clone()).unwrap();
        assert_eq!(r.verdict, Verdict::Found);
        assert_eq!(shift, vec![M, 128 * K, 0, M, M, M]);
        // Nothing lower found: the ambiguous answer stays as it was.
        fn never(m: &[&dyn Source], _: &Options) -> Result<Report> {
            let mut r = found(m, true);
            r.verdict = Verdict::Ambiguous {
                reason: "no".into(),
            };
            Ok(r)
        }
        let mut first = found(&refs, false);
        first.verdict = Verdict::Ambiguous {
            reason: "fails checks".into(),
        };
        let (r, shift, _, rivals) =
            lower_starts(&refs, &Options::default(), never, &comps, first, v.clone()).unwrap();
        assert!(matches!(r.verdict, Verdict::Ambiguous { .. }));
        assert_eq!(shift, v);
        assert!(rivals.is_empty());
    }

    #[test]
    fn equal_evidence_at_equally_plain_starts_is_ambiguous() {
        fn run(m: &[&dyn Source], _: &Options) -> Result<Report> {
            Ok(found(m, true))
        }
        let (v, comps) = pairs();
        let srcs = members();
        let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
        let first = found(&refs, true);
        let (r, shift, _, rivals) =
            lower_starts(&refs, &Options::default(), run, &comps, first, v.clone()).unwrap();
        assert!(
            matches!(r.verdict, Verdict::Ambiguous { .. }),
            "{:?}",
            r.verdict
        );
        // Two starts of the stale pair, each with three distinct starts in
        // all, tie; the first found (four distinct) yields to them.
        assert_ne!(shift, v);
        assert_eq!(distinct(&shift), 3);
        assert_eq!(rivals.len(), 1);
    }
}
