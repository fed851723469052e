//! The engine against 34 real md arrays made by a Linux 6.1 kernel
//! (`fixtures/raid/`, see its README): every array assembled from the
//! manifest's parameters must hash to the kernel's own sha256 of
//! `/dev/mdN`, and every degraded assembly within the redundancy must read
//! the same bytes (RAID4/5 and RAID1/10 without each member, whole; RAID6
//! without each pair of members, over two parity rotations and the last
//! row). The stale member of `stale-r5` must be left out to match,
//! and a scrub with it included must flag exactly the rows rewritten while
//! it was away.
//!
//! Members are decompressed with the `xz` command (xz-utils) into memory.

mod md_fixtures;

use std::sync::Arc;

use md_fixtures::{Fixture, all};
use platter_core::{MemSource, SharedSource, Source};
use platter_raid::array::RaidArray;
use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout, Raid0Layout, Raid10Layout};
use platter_raid::scrub::{Verdict, scrub};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The geometry from the manifest's own numbers (never from our metadata
/// parser): level, md layout number, chunk, and per member its role, data
/// offset and md's data size (for 0.90, up to the superblock).
fn geometry(a: &Value) -> Geometry {
    let level: Level = a["level"].as_str().unwrap().parse().unwrap();
    let layout_md = a["layout_md"].as_u64().unwrap() as u32;
    let layout = match level {
        // md stores 0 for RAID4 but always keeps parity on the last member.
        Level::Raid4 => Layout::Parity(ParityLayout::ParityLast),
        Level::Raid5 | Level::Raid6 => {
            Layout::Parity(ParityLayout::from_md_number(layout_md).unwrap())
        }
        Level::Raid10 => Layout::Raid10(Raid10Layout::from_md_word(layout_md).unwrap()),
        Level::Raid0 if layout_md == 2 => Layout::Raid0(Raid0Layout::Alternate),
        Level::Raid0 => Layout::Raid0(Raid0Layout::Original),
        Level::Raid1 | Level::Linear => Layout::None,
    };
    let chunk = match (level, a["chunk_bytes"].as_u64().unwrap()) {
        (Level::Linear, 0) => 512,
        (_, c) => c,
    };
    let members = a["members"].as_array().unwrap();
    let mut g = Geometry::new(level, layout, chunk, members.len());
    for (i, mem) in members.iter().enumerate() {
        let role = mem["role"].as_u64().unwrap() as usize;
        let slot = &mut g.slots[role];
        slot.image = Some(i);
        slot.data_offset = mem["data_offset_bytes"].as_u64().unwrap();
        let superblock = mem["super_offset_bytes"].as_u64().unwrap();
        slot.size = match mem["data_size_bytes"].as_u64() {
            Some(s) => Some(s),
            // 0.90: the data runs up to the superblock at the end.
            None if superblock > slot.data_offset => Some(superblock - slot.data_offset),
            None => None,
        };
    }
    g
}

fn sources(f: &Fixture, leave_out: &[usize]) -> Vec<Option<SharedSource>> {
    f.members
        .iter()
        .enumerate()
        .map(|(i, b)| {
            (!leave_out.contains(&i)).then(|| {
                Arc::new(MemSource::new(format!("{}/m{i}", f.name), b.to_vec())) as SharedSource
            })
        })
        .collect()
}

/// The whole array in one read (large reads run across rayon workers).
fn read_all(a: &RaidArray) -> Vec<u8> {
    let mut out = vec![0u8; a.len() as usize];
    a.read_exact_at(&mut out, 0)
        .unwrap_or_else(|e| panic!("{}: {e}", a.name()));
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The member images (by image index) that fill the slots of `g`, by slot.
fn image_of_slot(g: &Geometry) -> Vec<usize> {
    g.slots.iter().map(|s| s.image.unwrap()).collect()
}

#[test]
fn every_real_array_matches_the_kernel_whole_and_degraded() {
    let mut degraded_reads = 0;
    for f in all() {
        let a = &f.array;
        let g = geometry(a);
        let stale: Vec<usize> = a["members"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .filter(|(_, m)| m["stale"].as_bool() == Some(true))
            .map(|(i, _)| i)
            .collect();
        let array = RaidArray::new(g.clone(), sources(f, &stale))
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(
            array.len(),
            a["array_bytes"].as_u64().unwrap(),
            "{}: array size",
            f.name
        );
        let whole = read_all(&array);
        assert_eq!(
            sha256_hex(&whole),
            a["sha256"].as_str().unwrap(),
            "{}: sha256 of the assembled array",
            f.name
        );
        if !stale.is_empty() {
            continue; // checked by its own test below
        }
        // Every set of members the redundancy can spare. The degraded read
        // must equal the intact one, which equals the kernel's hash.
        let n = g.slots.len();
        let by_slot = image_of_slot(&g);
        let sets: Vec<Vec<usize>> = match g.level {
            Level::Raid4 | Level::Raid5 | Level::Raid1 | Level::Raid10 => {
                (0..n).map(|s| vec![by_slot[s]]).collect()
            }
            Level::Raid6 => (0..n)
                .flat_map(|x| (x + 1..n).map(move |y| (x, y)))
                .map(|(x, y)| vec![by_slot[x], by_slot[y]])
                .collect(),
            Level::Raid0 | Level::Linear => Vec::new(),
        };
        for out in sets {
            let degraded = RaidArray::new(g.clone(), sources(f, &out)).unwrap();
            if out.len() == 1 {
                let got = read_all(&degraded);
                assert!(
                    got == whole,
                    "{}: degraded read without image {out:?} differs from the kernel's array",
                    f.name
                );
            } else {
                // RAID6 pairs: the first two parity rotations (every role
                // the pair can play) and the last row, to keep debug builds quick.
                let row = g.chunk_bytes * (n as u64 - 2);
                let len = whole.len() as u64;
                for (at, l) in [(0, (2 * n as u64 * row).min(len)), (len - row, row)] {
                    let mut got = vec![0u8; l as usize];
                    degraded.read_exact_at(&mut got, at).unwrap();
                    assert!(
                        got[..] == whole[at as usize..(at + l) as usize],
                        "{}: degraded read without images {out:?} at {at:#x} differs",
                        f.name
                    );
                }
            }
            let stats = degraded.repair_stats();
            let rebuilt = stats.rebuilt_from_parity_bytes + stats.rebuilt_from_mirror_bytes;
            // A member holding only parity (parity-first/-last, RAID4)
            // leaves nothing to rebuild.
            // Mirrors read a present copy first: nothing counts as rebuilt.
            let holds_data = match degraded.mapping().row(0) {
                Some(_) => (0..n as u64).any(|r| {
                    let row = degraded.mapping().row(r).unwrap();
                    row.data_slots.iter().any(|s| out.contains(&by_slot[*s]))
                }),
                None => false,
            };
            assert_eq!(
                rebuilt > 0,
                holds_data,
                "{}: rebuilt {rebuilt} bytes without {out:?}",
                f.name
            );
            assert_eq!(stats.unreadable_bytes, 0);
            degraded_reads += 1;
        }
    }
    // 11 RAID4/5 × 4 + 14 RAID6 × 10 pairs + r1 × 2 + 4 RAID10 (3 with 4
    // members, 1 with 3); stale-r5 has its own test.
    assert_eq!(degraded_reads, 11 * 4 + 14 * 10 + 2 + 3 * 4 + 3);
}

#[test]
fn stale_member_is_out_of_date_exactly_where_the_array_was_rewritten() {
    let f = all().iter().find(|f| f.name == "stale-r5").unwrap();
    let a = &f.array;
    let g = geometry(a);
    let stale = a["members"]
        .as_array()
        .unwrap()
        .iter()
        .position(|m| m["stale"].as_bool() == Some(true))
        .unwrap();
    // With the stale member the array reads as the pre-failure content in
    // rows the degraded rewrite touched: not the kernel's array.
    let with = RaidArray::new(g.clone(), sources(f, &[])).unwrap();
    assert_ne!(sha256_hex(&read_all(&with)), a["sha256"].as_str().unwrap());
    let without = RaidArray::new(g.clone(), sources(f, &[stale])).unwrap();
    assert_eq!(
        sha256_hex(&read_all(&without)),
        a["sha256"].as_str().unwrap()
    );

    // The rewritten range, from the manifest's content list.
    let rewritten = a["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["seed"].as_str().unwrap().ends_with("#2"))
        .unwrap();
    let (start, len) = (
        rewritten["array_offset"].as_u64().unwrap(),
        rewritten["bytes"].as_u64().unwrap(),
    );
    let row_bytes = g.chunk_bytes * (g.slots.len() as u64 - 1);
    let (first_row, end_row) = (start / row_bytes, (start + len).div_ceil(row_bytes));

    let report = scrub(&with, &|_| {}).unwrap();
    assert_eq!(report.units, with.len() / row_bytes);
    assert_eq!(report.units_checked, report.units);
    assert_eq!(report.inconsistent_units, end_row - first_row);
    assert_eq!(report.inconsistent.len(), 1, "{:?}", report.inconsistent);
    let run = &report.inconsistent[0];
    assert_eq!(
        (run.first_unit, run.units),
        (first_row, end_row - first_row)
    );
    assert_eq!(run.array_offset, first_row * row_bytes);
    assert_eq!(run.verdict, Verdict::ParityMismatch);
    let data_offset = a["data_offset_bytes"].as_u64().unwrap();
    for mr in &run.members {
        assert_eq!(mr.offset, data_offset + first_row * g.chunk_bytes);
        assert_eq!(mr.len, (end_row - first_row) * g.chunk_bytes);
    }
    // Without the stale member there is nothing to compare P against.
    let r = scrub(&without, &|_| {}).unwrap();
    assert_eq!((r.units_checked, r.units_skipped), (0, r.units));
    assert!(r.skipped_reason.unwrap().contains("missing"));
}

#[test]
fn every_real_redundant_array_scrubs_clean() {
    // md's own `check` found mismatch_cnt 0 for every redundant array; the
    // scrub must agree, including Q in all 14 RAID6 layouts.
    let mut checked = 0;
    for f in all() {
        if f.array["mismatch_cnt"] != 0 || f.name == "stale-r5" {
            continue;
        }
        let array = RaidArray::new(geometry(&f.array), sources(f, &[])).unwrap();
        let r = scrub(&array, &|_| {}).unwrap();
        assert!(r.units > 0 && r.units_checked == r.units, "{}", f.name);
        assert!(r.is_consistent(), "{}: {:?}", f.name, r.inconsistent);
        checked += 1;
    }
    assert_eq!(checked, 11 + 14 + 4 + 1);
}
