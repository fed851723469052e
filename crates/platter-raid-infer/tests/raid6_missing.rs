//! RAID6 with one member missing: no XOR vanishes on most rows, yet the
//! one GF(2^8) relation each row keeps seats the members and finds the
//! missing slot. Striped by the tests' own striper (not the engine).

mod common;

use platter_raid::geometry::{Level, ParityLayout};
use platter_raid_infer::{Candidate, Report, Verdict};
use rayon::prelude::*;

/// Stands for the missing slot in signatures.
const GONE: usize = 99;

fn matches(c: &Candidate, layout: ParityLayout, chunk: u64, order: &[Option<usize>]) -> bool {
    let rows = 2 * order.len() * order.len();
    let sig = |layout: ParityLayout, order: &[Option<usize>]| {
        let order: Vec<usize> = order.iter().map(|o| o.unwrap_or(GONE)).collect();
        common::signature(true, layout.md_number(), &order, rows)
    };
    c.level == Level::Raid6
        && c.chunk_bytes == chunk
        && c.data_offset_bytes == 0
        && c.order.iter().position(Option::is_none) == order.iter().position(Option::is_none)
        && sig(c.layout.unwrap(), &c.order) == sig(layout, order)
}

/// The members of a RAID6 over `slots` slots with `missing` left out,
/// handed over in a shuffled order, and the truth (`order[slot]`).
fn degraded(
    layout: ParityLayout,
    slots: usize,
    chunk: usize,
    missing: usize,
    seed: usize,
) -> (Vec<Vec<u8>>, Vec<Option<usize>>) {
    let data = common::content(chunk * (slots - 2) * 48, seed as u64);
    let members = common::stripe(true, layout.md_number(), slots, chunk, 0, &data);
    let present: Vec<usize> = (0..slots).filter(|&s| s != missing).collect();
    // Image i holds slot present[perm[i]].
    let mut perm: Vec<usize> = (0..present.len()).collect();
    for i in (1..perm.len()).rev() {
        perm.swap(i, (seed * 5 + i * 3) % (i + 1));
    }
    let mut order = vec![None; slots];
    let images = perm
        .iter()
        .enumerate()
        .map(|(img, &k)| {
            order[present[k]] = Some(img);
            members[present[k]].clone()
        })
        .collect();
    (images, order)
}

/// Confident means right; ambiguous must list the truth.
fn judge(report: &Report, layout: ParityLayout, chunk: u64, order: &[Option<usize>]) -> bool {
    let what = format!(
        "{layout:?} chunk {chunk} order {order:?}: {:?} {:?}",
        report.verdict,
        report.candidates.first()
    );
    match report.verdict {
        Verdict::Found => {
            assert!(
                matches(&report.candidates[0], layout, chunk, order),
                "{what}"
            );
            true
        }
        Verdict::Ambiguous { .. } => {
            assert!(
                report
                    .candidates
                    .iter()
                    .any(|c| matches(c, layout, chunk, order)),
                "truth not listed: {what}"
            );
            false
        }
        _ => panic!("{what}"),
    }
}

#[test]
fn raid6_with_one_member_missing_is_found_in_every_rotating_layout() {
    use ParityLayout as L;
    let layouts = [
        L::LeftAsymmetric,
        L::RightAsymmetric,
        L::LeftSymmetric,
        L::RightSymmetric,
        L::DdfZeroRestart,
        L::DdfNRestart,
        L::DdfNContinue,
    ];
    let cases: Vec<(ParityLayout, usize, usize)> = layouts
        .iter()
        .enumerate()
        .flat_map(|(i, &l)| [(l, 5, i % 5), (l, 7, (i + 3) % 7)])
        .collect();
    let confident: Vec<bool> = cases
        .par_iter()
        .enumerate()
        .map(|(seed, &(layout, slots, missing))| {
            let chunk = 16 << 10;
            let (images, order) = degraded(layout, slots, chunk, missing, seed);
            let report = common::run_top(&images, 8);
            judge(&report, layout, chunk as u64, &order)
        })
        .collect();
    let found = confident.iter().filter(|&&c| c).count();
    assert!(
        found == cases.len(),
        "found {found} of {}: {confident:?}",
        cases.len()
    );
}

#[test]
fn raid5_with_a_member_missing_is_not_read_as_raid6() {
    // A degraded RAID5 keeps the plain XOR only where the missing data is
    // zero: no GF(2^8) relation, so the RAID6 test stays silent.
    let chunk = 16 << 10;
    let data = common::content(chunk * 4 * 48, 3);
    let mut members = common::stripe(false, 2, 5, chunk, 0, &data);
    members.remove(1);
    let report = common::run_top(&members, 8);
    assert!(
        report.candidates.iter().all(|c| c.level != Level::Raid6),
        "{:?} {:?}",
        report.verdict,
        report.candidates.first()
    );
}
