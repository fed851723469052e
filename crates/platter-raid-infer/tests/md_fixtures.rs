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

/// sha256 of the array `g` assembles from `images`, over `len` bytes.
fn array_sha256(
    g: &platter_raid::geometry::Geometry,
    images: &[Vec<u8>],
    len: u64,
) -> Option<String> {
    use sha2::{Digest, Sha256};
    let members: Vec<Option<platter_core::SharedSource>> = images
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Some(
                std::sync::Arc::new(platter_core::MemSource::new(format!("m{i}"), d.clone()))
                    as platter_core::SharedSource,
            )
        })
        .collect();
    let array = platter_raid::array::RaidArray::new(g.clone(), members).ok()?;
    if platter_core::Source::len(&array) < len {
        return None;
    }
    let mut buf = vec![0u8; len as usize];
    platter_core::Source::read_exact_at(&array, &mut buf, 0).ok()?;
    Some(
        Sha256::digest(&buf)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// RAID0, RAID1 and RAID10 (near, far, offset) with no structures:
/// continuity over the content's sector labels orders the members (and,
/// for far and offset, picks the rotation and chunk the copies leave
/// open); the assembled array must hash like the kernel's. RAID0 over members of different sizes (zones)
/// stays ambiguous between md's original and alternate layouts, with the
/// truth listed.
#[test]
fn stripe_and_mirror_fixtures() {
    let m = common::manifest();
    for (name, want_found) in [
        ("r1", true),
        ("r10-n2", true),
        ("r10-f2", true),
        ("r10-o2", true),
        ("r10-n2-3", true),
        ("linear", true),
        ("r0-zones", false),
        ("r0-zones-alt", false),
    ] {
        let array = m["arrays"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap();
        let images = common::members_without_superblock(array);
        let report = common::run_top(&images, 8);
        let want = array["sha256"].as_str().unwrap();
        let len = array["array_bytes"].as_u64().unwrap();
        let hashes: Vec<Option<String>> = report
            .candidates
            .iter()
            .map(|c| array_sha256(&c.geometry, &images, len))
            .collect();
        if want_found {
            assert_eq!(report.verdict, Verdict::Found, "{name}");
            assert_eq!(hashes[0].as_deref(), Some(want), "{name}");
        } else {
            assert!(
                matches!(report.verdict, Verdict::Ambiguous { .. }),
                "{name}: {:?}",
                report.verdict
            );
            assert!(
                hashes.iter().any(|h| h.as_deref() == Some(want)),
                "{name}: truth not listed"
            );
        }
    }
}
