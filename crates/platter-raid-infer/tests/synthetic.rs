//! Synthetic arrays striped by the tests' own striper (REFERENCE.md
//! formulas, not the engine): inference must find them, or say it cannot,
//! and never be confidently wrong.

mod common;

use platter_core::{MemSource, Source};
use platter_raid::geometry::{Level, ParityLayout};
use platter_raid_infer::{Candidate, Error, Options, Report, Verdict, infer};
use rayon::prelude::*;

fn matches(
    c: &Candidate,
    raid6: bool,
    layout: ParityLayout,
    chunk: u64,
    offset: u64,
    order: &[usize],
) -> bool {
    let rows = 2 * order.len() * order.len();
    (c.level == Level::Raid6) == raid6
        && c.chunk_bytes == chunk
        && c.data_offset_bytes == offset
        && common::signature(
            raid6,
            c.layout.unwrap().md_number(),
            &c.order
                .iter()
                .map(|o| o.unwrap_or(usize::MAX))
                .collect::<Vec<_>>(),
            rows,
        ) == common::signature(raid6, layout.md_number(), order, rows)
}

/// A confident verdict must be exactly right (same assembled bytes and
/// syndrome); an ambiguous one must list the truth among its candidates.
/// Returns whether the verdict was confident.
fn check(
    report: &Report,
    raid6: bool,
    layout: ParityLayout,
    chunk: u64,
    offset: u64,
    order: &[usize],
) -> bool {
    let what = format!(
        "{layout:?} chunk {chunk} order {order:?}: {:?} {:?}",
        report.verdict,
        report.candidates.first()
    );
    match report.verdict {
        Verdict::Found => {
            assert!(
                matches(&report.candidates[0], raid6, layout, chunk, offset, order),
                "{what}"
            );
            true
        }
        Verdict::Ambiguous { .. } => {
            assert!(
                report
                    .candidates
                    .iter()
                    .any(|c| matches(c, raid6, layout, chunk, offset, order)),
                "truth not among candidates: {what}"
            );
            false
        }
        _ => panic!("{what}"),
    }
}

/// A deterministic shuffle of 0..n.
fn order_for(n: usize, seed: usize) -> Vec<usize> {
    let mut o: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        o.swap(i, (seed * 7 + i * 3) % (i + 1));
    }
    o
}

#[test]
fn raid6_every_layout_is_found_exactly_or_declared_ambiguous() {
    let n = 5;
    let cases: Vec<(usize, ParityLayout, usize, usize)> = ParityLayout::ALL
        .into_iter()
        .enumerate()
        .flat_map(|(li, l)| {
            [4096usize, 65536]
                .into_iter()
                .enumerate()
                .map(move |(ci, c)| (li, l, ci, c))
        })
        .collect();
    let confident: Vec<bool> = cases
        .par_iter()
        .map(|&(li, layout, ci, chunk)| {
            let offset = 65536;
            let data = common::content(2 * 1024 * 1024, (li * 10 + ci) as u64 + 1);
            let members = common::stripe(true, layout.md_number(), n, chunk, offset, &data);
            let order = order_for(n, li + ci);
            let report = common::run_top(&common::shuffle(members, &order), 64);
            // The best candidate recomputes P and Q on every checked sector.
            assert_eq!(report.candidates[0].evidence.q_consistent_rate, Some(1.0));
            let confident = check(&report, true, layout, chunk as u64, offset as u64, &order);
            if layout.is_ddf() {
                assert!(
                    confident,
                    "DDF Q coefficients are unique: {layout:?} {chunk} {:?}",
                    report.verdict
                );
            }
            confident
        })
        .collect();
    eprintln!(
        "raid6: {}/{} confident",
        confident.iter().filter(|c| **c).count(),
        confident.len()
    );
}

#[test]
fn raid5_layouts_are_found_or_declared_ambiguous() {
    let n = 4;
    for (li, layout) in ParityLayout::RAID5.into_iter().enumerate() {
        for (ci, chunk) in [16384usize, 65536].into_iter().enumerate() {
            let offset = 4096 * (li + 1);
            let data = common::content(3 * 1024 * 1024, (li * 10 + ci) as u64 + 100);
            let members = common::stripe(false, layout.md_number(), n, chunk, offset, &data);
            let order = order_for(n, li * 2 + ci);
            let report = common::run_top(&common::shuffle(members, &order), 64);
            assert_eq!(
                report.signals.xor_zero_sectors,
                report.signals.informative_sectors
            );
            match &report.verdict {
                Verdict::Found => {
                    check(&report, false, layout, chunk as u64, offset as u64, &order);
                }
                Verdict::Ambiguous { reason } => {
                    // Parity is certain; only the arrangement is not.
                    assert!(reason.contains("RAID5/4 parity on 100.0%"), "{reason}");
                }
                v => panic!("{layout:?} {chunk}: {v:?}"),
            }
        }
    }
}

#[test]
fn raid1_mirrors_are_found() {
    let data = common::content(1 << 20, 7);
    let report = common::run(&[data.clone(), data.clone(), data]);
    assert_eq!(report.verdict, Verdict::Found);
    assert_eq!(report.candidates[0].level, Level::Raid1);
    assert!(report.candidates[0].evidence.mirror_rate > 0.99);
}

#[test]
fn raid10_pairs_are_diagnosed_not_guessed() {
    let a = common::content(1 << 20, 8);
    let b = common::content(1 << 20, 9);
    let report = common::run(&[a.clone(), b.clone(), a, b]);
    assert!(
        matches!(&report.verdict, Verdict::Unsupported { reason } if reason.contains("mirrored pairs")),
        "{:?}",
        report.verdict
    );
    assert!(report.candidates.is_empty());
}

/// RAID0 of records or prose, no structures: continuity across chunk
/// boundaries (sequence numbers, the flow of text) gives chunk and order;
/// random bytes give nothing.
#[test]
fn raid0_is_ordered_by_continuity() {
    for (data, chunk, order) in [
        (common::content(3 << 20, 11), 65536usize, vec![2, 0, 1]),
        (prose(4 << 20, 12), 131072, vec![1, 3, 0, 2]),
    ] {
        let n = order.len();
        let mut members = vec![Vec::new(); n];
        for (i, c) in data.chunks(chunk).enumerate() {
            members[i % n].extend_from_slice(c);
        }
        let report = common::run(&common::shuffle(members, &order));
        assert_eq!(report.verdict, Verdict::Found, "{:?}", report.verdict);
        let c = &report.candidates[0];
        assert_eq!((c.level, c.chunk_bytes), (Level::Raid0, chunk as u64));
        let truth: Vec<Option<usize>> = order.iter().map(|&i| Some(i)).collect();
        assert_eq!(c.order, truth);
    }
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let random: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            (0..1 << 20)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        })
        .collect();
    let report = common::run(&random);
    assert!(
        matches!(report.verdict, Verdict::NoParity { .. }),
        "{:?}",
        report.verdict
    );
}

#[test]
fn all_zero_members_give_no_informative_data() {
    let report = common::run(&vec![vec![0u8; 1 << 20]; 4]);
    assert!(
        matches!(report.verdict, Verdict::NoInformativeData { .. }),
        "{:?}",
        report.verdict
    );
    assert!(report.candidates.is_empty());
    // One member with data is still not informative: a sector needs two.
    let mut m = vec![vec![0u8; 1 << 20]; 4];
    m[2] = common::content(1 << 20, 3);
    let report = common::run(&m);
    assert!(
        matches!(report.verdict, Verdict::NoInformativeData { .. }),
        "{:?}",
        report.verdict
    );
}

#[test]
fn bad_member_counts_are_errors() {
    let a = MemSource::new("a", vec![1; 4096]);
    let err = infer(&[&a as &dyn Source], &Options::default()).unwrap_err();
    assert!(matches!(err, Error::TooFewMembers { count: 1 }));
}

#[test]
fn sampling_stays_within_budget_on_large_members() {
    // 1 GiB members of a RAID5 whose data fills the first 8 MiB: the spread
    // pass, the first 4 MiB and the zoom around structures together read
    // under 5 % of each member.
    use platter_core::{Concat, SharedSource, ZeroSource};
    use std::sync::Arc;
    let data = common::content(8 << 20, 5);
    let members: Vec<Concat> = common::stripe(false, 2, 4, 65536, 0, &data)
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let rest = (1u64 << 30) - m.len() as u64;
            let parts: Vec<SharedSource> = vec![
                Arc::new(MemSource::new(format!("m{i}"), m)),
                Arc::new(ZeroSource::new("zeros", rest)),
            ];
            Concat::new(format!("m{i}"), parts)
        })
        .collect();
    let refs: Vec<&dyn Source> = members.iter().map(|m| m as &dyn Source).collect();
    let report = infer(&refs, &Options::default()).unwrap();
    assert!(
        report.sampled_bytes_per_member * 20 <= 1 << 30,
        "{}",
        report.sampled_bytes_per_member
    );
    assert!(report.signals.xor_zero_sectors > 0);
}

#[test]
fn report_serialises() {
    let data = common::content(1 << 20, 7);
    let report = common::run(&[data.clone(), data]);
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["verdict"]["kind"], "found");
    assert_eq!(v["candidates"][0]["level"], "raid1");
}

/// `data` with every fifth 4 KiB block replaced: a copy that kept old
/// data in part.
fn staled(data: &[u8], seed: u64) -> Vec<u8> {
    let other = common::content(data.len(), seed);
    let mut out = data.to_vec();
    for (i, (o, x)) in out.chunks_mut(4096).zip(other.chunks(4096)).enumerate() {
        if i % 5 == 2 {
            o.copy_from_slice(x);
        }
    }
    out
}

#[test]
fn raid1_with_a_stale_member_leaves_it_out() {
    let data = common::content(2 << 20, 21);
    let report = common::run(&[data.clone(), staled(&data, 22), data]);
    assert_eq!(report.verdict, Verdict::Found, "{:?}", report.verdict);
    let top = &report.candidates[0];
    assert_eq!(top.level, Level::Raid1);
    assert_eq!(top.order, vec![Some(0), None, Some(2)]);
    let stale = report.stale.expect("stale member reported");
    assert_eq!(stale.member, 1);
    assert!(stale.inconsistent_sectors > 0);
}

#[test]
fn two_way_mirror_that_disagrees_is_ambiguous_with_both_variants() {
    let data = common::content(2 << 20, 23);
    let report = common::run(&[data.clone(), staled(&data, 24)]);
    assert!(
        matches!(&report.verdict, Verdict::Ambiguous { reason } if reason.contains("stale")),
        "{:?}",
        report.verdict
    );
    let orders: Vec<_> = report.candidates.iter().map(|c| c.order.clone()).collect();
    assert!(orders.contains(&vec![None, Some(1)]), "{orders:?}");
    assert!(orders.contains(&vec![Some(0), None]), "{orders:?}");
}

/// Prose-like text: words of varying length, so that unrelated chunks do
/// not line up (unlike [`common::content`]'s fixed 64-byte records, whose
/// XOR keeps their repeating layout).
fn prose(bytes: usize, seed: u64) -> Vec<u8> {
    let words = [
        "the ",
        "array ",
        "was ",
        "rebuilt ",
        "from ",
        "its ",
        "members ",
        "after ",
        "a ",
        "controller ",
        "failure;\n",
        "every ",
        "stripe ",
        "holds ",
        "parity, ",
        "and ",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(bytes);
    while out.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(words[(x % words.len() as u64) as usize].as_bytes());
    }
    out.truncate(bytes);
    out
}

/// The parity member of `row` for md RAID5 layout `layout` (0–3) with
/// images seated by `order[slot]`.
fn parity_image(layout: u32, order: &[Option<usize>], row: usize) -> Option<usize> {
    let n = order.len();
    let slot = match layout {
        0 | 2 => n - 1 - row % n,
        _ => row % n,
    };
    order[slot]
}

/// Where the content puts parity fixes the rotation: every candidate of
/// an open answer (the first of a found one) agrees with the truth on the
/// parity member of every row and on the chunk size, and the truth is
/// among them (continuity alone lists other chunk sizes and rotations).
#[test]
fn raid5_parity_rotation_from_content_pins_chunk_and_members() {
    let n = 5;
    for (layout, chunk, seed) in [(2u32, 65536usize, 31u64), (1, 16384, 32), (0, 131072, 33)] {
        let data = prose(6 << 20, seed);
        let members = common::stripe(false, layout, n, chunk, 0, &data);
        let order = order_for(n, seed as usize);
        let report = common::run_top(&common::shuffle(members, &order), 16);
        let what = format!(
            "layout {layout} chunk {chunk} truth {order:?}: {:?} {:?}",
            report.verdict,
            report
                .candidates
                .iter()
                .map(|c| (
                    c.layout,
                    c.chunk_bytes,
                    c.data_offset_bytes,
                    c.order.clone()
                ))
                .collect::<Vec<_>>()
        );
        let truth: Vec<Option<usize>> = order.iter().map(|&i| Some(i)).collect();
        assert!(
            matches!(report.verdict, Verdict::Found | Verdict::Ambiguous { .. }),
            "{what}"
        );
        // An open answer lists the rotation's layouts only; a found one
        // (continuity choosing among them) may list others after it.
        let listed = match report.verdict {
            Verdict::Found => 1,
            _ => report.candidates.len(),
        };
        for c in report.candidates.iter().take(listed) {
            assert_eq!(c.chunk_bytes, chunk as u64, "{what}");
            let md = c.layout.unwrap().md_number();
            for row in 0..n {
                assert_eq!(
                    parity_image(md, &c.order, row),
                    parity_image(layout, &truth, row),
                    "{what}"
                );
            }
        }
        let layout_of = ParityLayout::RAID5
            .into_iter()
            .find(|l| l.md_number() == layout)
            .unwrap();
        check(&report, false, layout_of, chunk as u64, 0, &order);
    }
}

/// Wide arrays without structures: RAID5 of 10 members (ordered by the
/// beam search over continuity, too many orders to enumerate) and RAID6 of
/// 12 (the located Q members pin the slots).
#[test]
fn wide_arrays_are_ordered() {
    for (raid6, n, layout, chunk) in [
        (false, 10, ParityLayout::LeftSymmetric, 16384usize),
        (true, 12, ParityLayout::RightAsymmetric, 16384),
    ] {
        let offset = 65536;
        let data = common::content(6 * 1024 * 1024, n as u64 + 500);
        let members = common::stripe(raid6, layout.md_number(), n, chunk, offset, &data);
        let order = order_for(n, 3);
        let report = common::run_top(&common::shuffle(members, &order), 64);
        assert_eq!(
            report.verdict,
            Verdict::Found,
            "n {n}: {:?}",
            report.verdict
        );
        check(&report, raid6, layout, chunk as u64, offset as u64, &order);
    }
}

/// A RAID5 (or RAID6) of `n` members, 64 KiB chunks, whose member in
/// `stale_slot` dropped out earlier and holds the array as it was: where
/// the array was written since (one 16 KiB piece in `every`), parity
/// breaks there.
/// Returns the members in the order of [`order_for`]`(n, seed)`, and that
/// order.
fn with_stale_member(
    raid6: bool,
    layout: ParityLayout,
    n: usize,
    stale_slot: usize,
    seed: u64,
    every: usize,
) -> (Vec<Vec<u8>>, Vec<usize>) {
    let chunk = 65536;
    let now = common::content(8 << 20, seed);
    let mut then = now.clone();
    let other = common::content(8 << 20, seed + 1);
    for (i, (t, o)) in then.chunks_mut(16384).zip(other.chunks(16384)).enumerate() {
        if i % every == 3 {
            t.copy_from_slice(o);
        }
    }
    let mut members = common::stripe(raid6, layout.md_number(), n, chunk, 0, &now);
    members[stale_slot] =
        common::stripe(raid6, layout.md_number(), n, chunk, 0, &then).swap_remove(stale_slot);
    let order = order_for(n, seed as usize);
    (common::shuffle(members, &order), order)
}

#[test]
fn raid6_with_a_stale_member_is_found_and_the_member_left_out() {
    // P and Q break on every member's sector where the array was written
    // since the member left, and RAID6 shows only on the rest.
    let (n, chunk, layout, stale_slot) = (6, 65536, ParityLayout::DdfNRestart, 4);
    let (members, order) = with_stale_member(true, layout, n, stale_slot, 61, 10);
    let report = common::run_top(&members, 16);
    assert_eq!(report.verdict, Verdict::Found, "{:?}", report.verdict);
    let top = &report.candidates[0];
    assert_eq!(top.level, Level::Raid6);
    assert_eq!(top.layout, Some(layout));
    assert_eq!(top.chunk_bytes, chunk as u64);
    let stale = report.stale.as_ref().expect("stale member reported");
    assert_eq!(stale.member, order[stale_slot]);
    assert_eq!(top.order[stale_slot], None, "assembled without it");
    for (slot, &image) in order.iter().enumerate() {
        if slot != stale_slot {
            assert_eq!(top.order[slot], Some(image), "slot {slot}");
        }
    }
}

#[test]
fn raid6_member_that_missed_a_few_writes_is_left_out() {
    // One 16 KiB piece in 200 written since the member left: P and Q fail
    // on well under 1 % of the sampled sectors, and the syndromes pin
    // every failure on that member.
    let (n, layout, stale_slot) = (6, ParityLayout::LeftSymmetric, 1);
    let (members, order) = with_stale_member(true, layout, n, stale_slot, 81, 200);
    let report = common::run_top(&members, 16);
    assert_eq!(report.verdict, Verdict::Found, "{:?}", report.verdict);
    let stale = report.stale.as_ref().expect("stale member reported");
    assert!(
        stale.inconsistent_sectors * 100 < stale.checked_sectors,
        "{stale:?}"
    );
    assert_eq!(stale.member, order[stale_slot]);
    assert_eq!(report.candidates[0].order[stale_slot], None);
}

#[test]
fn raid5_with_a_stale_member_keeps_its_geometry() {
    // Parity holds only where the array was not written since the member
    // left (nine sectors in ten): still RAID5, with the geometry found,
    // and the stale member named or every array without one member
    // listed.
    let (n, chunk, layout, stale_slot) = (5, 65536, ParityLayout::LeftSymmetric, 2);
    let (members, order) = with_stale_member(false, layout, n, stale_slot, 71, 10);
    let report = common::run_top(&members, 16);
    let top = &report.candidates[0];
    assert_eq!(top.level, Level::Raid5, "{:?}", report.verdict);
    assert_eq!(top.layout, Some(layout));
    assert_eq!(top.chunk_bytes, chunk as u64);
    for (slot, &image) in order.iter().enumerate() {
        assert!(
            top.order[slot].is_none_or(|i| i == image),
            "slot {slot}: {:?}",
            top.order
        );
    }
    match &report.verdict {
        Verdict::Found => assert_eq!(
            report.stale.as_ref().map(|s| s.member),
            Some(order[stale_slot])
        ),
        Verdict::Ambiguous { reason } => assert!(reason.contains("stale"), "{reason}"),
        v => panic!("{v:?}"),
    }
}
