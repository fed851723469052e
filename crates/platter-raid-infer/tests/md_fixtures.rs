//! The kernel-made md arrays of fixtures/raid/, superblocks zeroed: every
//! RAID6, RAID5 and RAID4 array must be found with the right level,
//! layout, chunk, order and data offset.

mod common;

use platter_raid::geometry::{Level, ParityLayout};
use platter_raid_infer::{Candidate, Verdict};

/// Whether `c` assembles (and, for RAID6, rebuilds) like the manifest says.
fn is_truth(array: &serde_json::Value, c: &Candidate) -> bool {
    let raid6 = array["level"] == "raid6";
    let want_layout = match array["layout"].as_str() {
        Some(l) => ParityLayout::ALL
            .into_iter()
            .find(|x| x.name() == l)
            .unwrap(),
        None => ParityLayout::ParityLast,
    };
    // Member i of the manifest holds slot `role`.
    let members = array["members"].as_array().unwrap();
    let mut want_order = vec![0; members.len()];
    for (i, m) in members.iter().enumerate() {
        want_order[m["role"].as_u64().unwrap() as usize] = i;
    }
    let rows = 2 * members.len() * members.len();
    (c.level == Level::Raid6) == raid6
        && c.chunk_bytes == array["chunk_bytes"].as_u64().unwrap()
        && c.data_offset_bytes == array["data_offset_bytes"].as_u64().unwrap()
        && c.layout.is_some_and(|l| {
            common::signature(
                raid6,
                l.md_number(),
                &c.order
                    .iter()
                    .map(|o| o.unwrap_or(usize::MAX))
                    .collect::<Vec<_>>(),
                rows,
            ) == common::signature(raid6, want_layout.md_number(), &want_order, rows)
        })
}

/// Runs inference on a fixture with zeroed superblocks: a confident answer
/// must be exactly right, an ambiguous one must list the truth when it
/// lists candidates. Returns the verdict.
fn check(name: &str) -> Verdict {
    let m = common::manifest();
    let array = m["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap();
    let images = common::members_without_superblock(array);
    let report = common::run_top(&images, 64);
    let first = report.candidates.first();
    eprintln!("{name}: {:?}", report.verdict);
    match &report.verdict {
        Verdict::Found => assert!(is_truth(array, first.unwrap()), "{name}: {first:?}"),
        Verdict::Ambiguous { .. } => assert!(
            report.candidates.is_empty() || report.candidates.iter().any(|c| is_truth(array, c)),
            "{name}: truth missing from {:?}",
            report.candidates
        ),
        v => panic!("{name}: {v:?}"),
    }
    report.verdict
}

#[test]
fn raid6_fixtures() {
    let names = [
        "r6-la",
        "r6-ra",
        "r6-ls",
        "r6-rs",
        "r6-pf",
        "r6-pl",
        "r6-ddf-zr",
        "r6-ddf-nr",
        "r6-ddf-nc",
        "r6-la6",
        "r6-ra6",
        "r6-ls6",
        "r6-rs6",
        "r6-pf6",
    ];
    let found: Vec<&str> = names
        .into_iter()
        .filter(|n| check(n) == Verdict::Found)
        .collect();
    // The DDF layouts give every member its own Q coefficient, so parity
    // alone pins layout, order and chunk. md's own layouts share Q
    // coefficients between their asymmetric and symmetric forms: the
    // sequence numbers in the content (continuity) separate those.
    assert_eq!(found, names);
}

#[test]
fn raid5_fixtures() {
    let names = [
        "r5-la",
        "r5-ra",
        "r5-ls",
        "r5-rs",
        "r5-pf",
        "r5-pl",
        "r4",
        "r5-defoff",
        "r5-meta090",
        "r5-meta10",
        "r5-meta11",
    ];
    // Continuity over the content's sequence numbers (a labelled sector
    // that carries another number does not follow; boundaries on window
    // edges count) finds every one exactly; check() proves each right.
    let found: Vec<&str> = names
        .into_iter()
        .filter(|n| check(n) == Verdict::Found)
        .collect();
    assert_eq!(found, names);
}
