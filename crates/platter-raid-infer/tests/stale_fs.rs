//! A stale member over a real file system: one member dropped out before
//! the last files were written (debugfs on a copy of the mkfs.ext4 image)
//! and holds the older state. Few sectors differ, too few for the parity
//! rates to name it: the file-system checks of the array with and without
//! each member must, and the answer must never be a confident array that
//! reads the stale data.

mod common;

use std::path::Path;
use std::process::Command;

use platter_raid_infer::Verdict;

/// An ext4 of 16 MiB (4 KiB blocks) holding `files` random files.
fn ext4(root: &Path, files: u64) -> std::path::PathBuf {
    let d = root.join("content");
    for g in 0..4 {
        std::fs::create_dir_all(d.join(format!("d{g}"))).unwrap();
    }
    for i in 0..files {
        let len = 3000 + (i as usize * 7919) % 30000;
        std::fs::write(
            d.join(format!("d{}/f{i}.bin", i % 4)),
            common::noise(i + 1, len),
        )
        .unwrap();
    }
    let img = root.join("old.img");
    common::mkfs_ext4(&img, 16 << 20, &d, &[]);
    img
}

/// `old` with `files` more small files written by debugfs: the state the
/// members that stayed in the array hold.
fn newer(root: &Path, old: &Path, files: u64) -> Vec<u8> {
    let img = root.join("new.img");
    std::fs::copy(old, &img).unwrap();
    let mut cmds = String::new();
    for i in 0..files {
        let f = root.join(format!("late{i}"));
        std::fs::write(&f, common::noise(1000 + i, 2000 + 500 * i as usize)).unwrap();
        cmds.push_str(&format!("write {} late{i}\n", f.display()));
    }
    let script = root.join("cmds");
    std::fs::write(&script, cmds).unwrap();
    common::run_cmd(
        Command::new("debugfs")
            .args(["-w", "-f"])
            .arg(&script)
            .arg(&img),
    );
    std::fs::read(&img).unwrap()
}

#[test]
fn a_member_a_few_writes_behind_is_named_or_the_answer_stays_open() {
    if !common::have("mkfs.ext4") || !common::have("debugfs") {
        eprintln!("skipped: mkfs.ext4 or debugfs missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let old_img = ext4(dir.path(), 24);
    let old = std::fs::read(&old_img).unwrap();
    let new = newer(dir.path(), &old_img, 3);
    let order = [2usize, 0, 3, 1];
    let (mut named, mut tried) = (0, 0);
    let mut bad = Vec::new();
    // RAID5 left-symmetric 16 KiB, RAID4 (parity last) 64 KiB, RAID5
    // left-asymmetric 8 KiB; each member stale in turn, then none.
    for (layout, chunk) in [(2u32, 16usize << 10), (5, 64 << 10), (0, 8 << 10)] {
        let n = 4;
        let row = chunk * (n - 1);
        let len = new.len() / row * row;
        let now = common::stripe(false, layout, n, chunk, 0, &new[..len]);
        let before = common::stripe(false, layout, n, chunk, 0, &old[..len]);
        for stale in 0..=n {
            let mut members = now.clone();
            if stale < n {
                members[stale] = before[stale].clone();
            }
            let members = common::shuffle(members, &order);
            let report = common::run_top(&members, 8);
            let exact = common::reads_back(&members, &report, &new[..len], false);
            let label = format!("layout {layout} chunk {chunk} stale slot {stale}");
            eprintln!(
                "{label}: {:?} exact={exact} stale={:?}",
                report.verdict, report.stale
            );
            let found = report.verdict == Verdict::Found;
            // Never a confident array that reads the stale member's data.
            if found && !exact {
                bad.push(format!("{label}: confident, reads stale data"));
            }
            if stale == n {
                // With every member current: found, nothing called stale.
                if !(found && exact) || report.stale.is_some() {
                    bad.push(format!(
                        "{label}: {:?} stale {:?}",
                        report.verdict, report.stale
                    ));
                }
            } else {
                tried += 1;
                named += usize::from(
                    found && exact && report.stale.as_ref().map(|s| s.member) == Some(order[stale]),
                );
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
    // RAID4 64 KiB names all 4, left-symmetric 16 KiB 2 of 4 and
    // left-asymmetric 8 KiB 1 of 4 (the others stay open, with the arrays
    // without each member listed). The stop-19 code answered 4 of the 12
    // confidently with the stale data, and neither RAID4 64 KiB nor
    // left-asymmetric 8 KiB with every member current.
    assert!(named >= 7, "named {named} of {tried}");
}
