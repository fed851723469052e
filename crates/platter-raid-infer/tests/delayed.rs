//! RAID5 with delayed parity (HP Smart Array style) over a real NTFS,
//! striped by the independent striper of `common::stripe_delayed`: the
//! rows parity stays on one member for, and the first group's length,
//! must be found exactly from the members alone, with level, layout,
//! chunk and order, and the array must read back the file system.

mod common;

use platter_raid_infer::Verdict;

/// (md layout, members, chunk, (rows per group, first group rows), image
/// order).
type Case = (u32, usize, usize, (usize, usize), &'static [usize]);

#[test]
fn delayed_parity_over_ntfs_is_found_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let Some(content) = common::fs::ntfs_image(dir.path(), 48) else {
        eprintln!("skipped: mkntfs/ntfscp missing");
        return;
    };
    let cases: [Case; 3] = [
        (2, 4, 16 << 10, (4, 1), &[2, 0, 3, 1]),
        (0, 5, 64 << 10, (8, 8), &[4, 1, 3, 0, 2]),
        (3, 5, 4 << 10, (16, 3), &[1, 4, 0, 2, 3]),
    ];
    let mut bad = Vec::new();
    for (layout, n, chunk, delay, order) in cases {
        let rows = content.len() / (chunk * (n - 1));
        let data = &content[..rows * chunk * (n - 1)];
        let slots = common::stripe_delayed(layout, n, chunk, 0, data, delay);
        let members = common::shuffle(slots, order);
        let report = common::run_top(&members, 8);
        let exact = common::reads_back(&members, &report, data, false);
        let top = report
            .candidates
            .first()
            .map(platter_raid_infer::report::describe);
        let label = format!("layout {layout} n {n} chunk {chunk} delay {delay:?}");
        eprintln!("{label}: {:?} exact={exact} top={top:?}", report.verdict);
        let delayed = report
            .candidates
            .first()
            .and_then(|c| c.geometry.delayed_parity)
            .map(|d| (d.rows_per_group as usize, d.first_group_rows as usize));
        if !(exact && report.verdict == Verdict::Found && delayed == Some(delay)) {
            bad.push(format!(
                "{label}: {:?} exact={exact} top={top:?}",
                report.verdict
            ));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}
