//! Unit tests of the scrub.

use std::sync::Arc;

use platter_core::{MemSource, SharedSource};

use super::*;
use crate::geometry::{Geometry, Layout, ParityLayout, Raid10Layout};
use crate::gf::raid6;

fn sources(members: Vec<Vec<u8>>) -> Vec<Option<SharedSource>> {
    members
        .into_iter()
        .enumerate()
        .map(|(i, b)| Some(Arc::new(MemSource::new(format!("m{i}"), b)) as SharedSource))
        .collect()
}

/// A RAID6 (parity-last: D0 D1 D2 P Q in every row) of `rows` rows of
/// 512-byte chunks with varied data.
fn raid6(rows: usize) -> (Geometry, Vec<Vec<u8>>) {
    let g = Geometry::new(
        Level::Raid6,
        Layout::Parity(ParityLayout::ParityLast),
        512,
        5,
    );
    let mut members = vec![Vec::new(); 5];
    for r in 0..rows {
        let data: Vec<Vec<u8>> = (0..3)
            .map(|d| (0..512).map(|i| (i * 7 + d * 31 + r * 3) as u8).collect())
            .collect();
        let refs: Vec<&[u8]> = data.iter().map(|d| &d[..]).collect();
        let (mut p, mut q) = (vec![0u8; 512], vec![0u8; 512]);
        // md-native numbering with Q last: data disks 0, 1, 2.
        raid6::gen_pq(&refs, &[0, 1, 2], &mut p, &mut q);
        for (d, b) in data.iter().enumerate() {
            members[d].extend_from_slice(b);
        }
        members[3].extend_from_slice(&p);
        members[4].extend_from_slice(&q);
    }
    (g, members)
}

#[test]
fn raid6_names_the_culprit() {
    let (g, mut members) = raid6(6);
    members[1][2 * 512 + 10] ^= 0x40; // data, row 2
    members[1][3 * 512 + 10] ^= 0x40; // data, row 3 (merges with row 2)
    members[3][4 * 512] ^= 1; // P, row 4
    members[4][5 * 512 + 100] ^= 9; // Q, row 5
    members[0][0] ^= 1; // two data blocks in row 0
    members[2][0] ^= 2;
    let a = RaidArray::new(g, sources(members)).unwrap();
    let r = scrub(&a, &|_| {}).unwrap();
    assert_eq!(r.check, Check::ParityAndQ);
    assert_eq!((r.units, r.units_checked, r.inconsistent_units), (6, 6, 5));
    let got: Vec<(u64, u64, Verdict)> = r
        .inconsistent
        .iter()
        .map(|x| (x.first_unit, x.units, x.verdict.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 1, Verdict::Multiple),
            (2, 2, Verdict::DataWrong { slot: 1 }),
            (4, 1, Verdict::PWrong { slot: 3 }),
            (5, 1, Verdict::QWrong { slot: 4 }),
        ]
    );
    let run = &r.inconsistent[1];
    assert_eq!((run.array_offset, run.array_len), (2 * 1536, 2 * 1536));
    assert_eq!(run.members.len(), 5);
    assert_eq!((run.members[1].offset, run.members[1].len), (1024, 1024));
}

#[test]
fn missing_members_skip_rows() {
    let (g, members) = raid6(2);
    let mut s = sources(members);
    s[2] = None;
    let a = RaidArray::new(g, s).unwrap();
    let r = scrub(&a, &|_| {}).unwrap();
    assert_eq!((r.units_checked, r.units_skipped), (0, 2));
    assert!(r.skipped_reason.unwrap().contains("slot 2 missing"));
}

#[test]
fn mirrors_find_the_odd_copy() {
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let mut members = vec![data.clone(), data.clone(), data];
    members[2][1000] ^= 1;
    let g = Geometry::new(Level::Raid1, Layout::None, 0, 3);
    let a = RaidArray::new(g, sources(members.clone())).unwrap();
    let r = scrub(&a, &|_| {}).unwrap();
    assert_eq!(r.unit, "block");
    assert_eq!(r.inconsistent.len(), 1);
    assert_eq!(
        r.inconsistent[0].verdict,
        Verdict::CopyWrong { slots: vec![2] }
    );
    // RAID10 n2 over two members is a mirror pair with chunks.
    let g = Geometry::new(
        Level::Raid10,
        Layout::Raid10(Raid10Layout {
            near: 2,
            far: 1,
            offset: false,
            far_sets: false,
        }),
        512,
        2,
    );
    let a = RaidArray::new(g, sources(members[1..].to_vec())).unwrap();
    let r = scrub(&a, &|_| {}).unwrap();
    assert_eq!((r.unit, r.units, r.inconsistent_units), ("chunk", 8, 1));
    let run = &r.inconsistent[0];
    assert_eq!(run.first_unit, 1);
    assert_eq!(run.verdict, Verdict::CopiesDiffer { slots: vec![0, 1] });
}

#[test]
fn large_chunks_are_compared_window_by_window() {
    // RAID1 of three members, 1 MiB: each block spans one window, but a
    // RAID10 n3 chunk of 1 MiB spans four. Copy 2 is wrong in the first
    // window, copy 0 in the last: no single culprit for the chunk.
    let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    let mut members = vec![data.clone(), data.clone(), data];
    members[2][10] ^= 1;
    let g = Geometry::new(
        Level::Raid10,
        Layout::Raid10(Raid10Layout {
            near: 3,
            far: 1,
            offset: false,
            far_sets: false,
        }),
        1 << 20,
        3,
    );
    let a = RaidArray::new(g.clone(), sources(members.clone())).unwrap();
    let r = scrub(&a, &|_| {}).unwrap();
    assert_eq!(
        r.inconsistent[0].verdict,
        Verdict::CopyWrong { slots: vec![2] }
    );
    members[0][(1 << 20) - 1] ^= 1;
    let a = RaidArray::new(g, sources(members)).unwrap();
    let r = scrub(&a, &|_| {}).unwrap();
    assert_eq!(
        r.inconsistent[0].verdict,
        Verdict::CopiesDiffer {
            slots: vec![0, 1, 2]
        }
    );
    assert_eq!(r.inconsistent[0].members[1].len, 1 << 20);
}

#[test]
fn raid0_has_nothing_to_check() {
    let g = Geometry::new(Level::Raid0, Layout::default_for(Level::Raid0), 512, 2);
    let a = RaidArray::new(g, sources(vec![vec![0; 1024]; 2])).unwrap();
    assert!(scrub(&a, &|_| {}).is_err());
}
