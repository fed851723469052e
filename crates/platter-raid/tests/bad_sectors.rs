//! Member bad sectors: rebuilt from parity or a mirror where the row (or
//! chunk) still has enough redundancy, reported as exact unreadable array
//! ranges where not — by `read_checked`, by `extents` and so by
//! `read_filled`. Expected results come from the independent oracle.

mod harness;
mod oracle;

use std::sync::Arc;

use harness::{Pick, geometry_for, place};
use oracle::{Spec, stripe};
use platter_core::mapfile::{BlockStatus, Mapfile, MapfileSource};
use platter_core::{
    Error as CoreError, Extent, ExtentKind, MemSource, SharedSource, Source, clip, push_extent,
    read_filled,
};
use platter_raid::array::RaidArray;
use proptest::prelude::*;

/// A member with bad byte ranges. `announce`: whether `extents` reports
/// them (a mapfile does) or reads just fail (a dying disk).
#[derive(Debug)]
struct BadSource {
    name: String,
    data: Vec<u8>,
    bad: Vec<(u64, u64)>,
    announce: bool,
}

impl Source for BadSource {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> platter_core::Result<usize> {
        let (s, e) = clip(self.len(), offset, buf.len() as u64);
        if let Some(&(a, b)) = self.bad.iter().find(|&&(a, b)| a < e && s < b) {
            return Err(if self.announce {
                CoreError::Unreadable {
                    name: self.name.clone(),
                    offset: a.max(s),
                    len: b.min(e) - a.max(s),
                }
            } else {
                CoreError::Read {
                    name: self.name.clone(),
                    offset: s,
                    len: e - s,
                    source: std::io::Error::other("medium error"),
                }
            });
        }
        buf[..(e - s) as usize].copy_from_slice(&self.data[s as usize..e as usize]);
        Ok((e - s) as usize)
    }
    fn extents(&self, offset: u64, len: u64) -> platter_core::Result<Vec<Extent>> {
        let (s, e) = clip(self.len(), offset, len);
        let mut out = Vec::new();
        let mut pos = s;
        let mut bad = if self.announce {
            self.bad.clone()
        } else {
            Vec::new()
        };
        bad.sort();
        for (a, b) in bad {
            let (a, b) = (a.max(pos), b.min(e));
            if a >= b {
                continue;
            }
            push_extent(
                &mut out,
                Extent {
                    offset: pos,
                    len: a - pos,
                    kind: ExtentKind::Data,
                },
            );
            push_extent(
                &mut out,
                Extent {
                    offset: a,
                    len: b - a,
                    kind: ExtentKind::Unreadable,
                },
            );
            pos = b;
        }
        push_extent(
            &mut out,
            Extent {
                offset: pos,
                len: e - pos,
                kind: ExtentKind::Data,
            },
        );
        Ok(out)
    }
}

fn ranges(exts: &[Extent]) -> Vec<(u64, u64)> {
    exts.iter()
        .filter(|e| e.kind == ExtentKind::Unreadable)
        .map(|e| (e.offset, e.end()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn bad_sectors_repaired_or_reported_exactly(seed in any::<u64>(), announce in any::<bool>()) {
        let mut p = Pick(seed);
        let level = [0, 1, 4, 5, 6, 10, -1][p.next(7) as usize];
        let chunk = [512usize, 1024, 2048][p.next(3) as usize];
        let (n, layout, parity) = match level {
            0 => (2 + p.next(4) as usize, 1 + p.next(2) as u32, 0),
            1 => (2 + p.next(3) as usize, 0, 0),
            4 => (3 + p.next(4) as usize, 5, 1),
            5 => (3 + p.next(5) as usize, p.next(6) as u32, 1),
            6 => (4 + p.next(5) as usize, [0u32, 1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 18, 19, 20][p.next(14) as usize], 2),
            10 => (4, [0x102u32, 0x201, 0x10201][p.next(3) as usize], 0),
            _ => (3, 0, 0),
        };
        let rows = 2 + p.next(4) as usize;
        let sizes = vec![rows * chunk; n];
        let spec = Spec { level, layout, chunk, sizes, delay: None };
        let st = stripe(&spec, seed);
        let offsets: Vec<usize> = (0..n).map(|_| 512 * p.next(3) as usize).collect();
        let mut perm: Vec<usize> = (0..n).collect();
        p.shuffle(&mut perm);
        // Bad 512-byte sectors, in member image coordinates.
        let mut bad: Vec<Vec<(u64, u64)>> = vec![Vec::new(); n];
        for (slot, b) in bad.iter_mut().enumerate() {
            for _ in 0..p.next(4) {
                let sectors = (st.members[slot].len() / 512) as u64;
                let first = p.next(sectors);
                let count = 1 + p.next(3);
                let a = offsets[slot] as u64 + first * 512;
                b.push((a, a + count * 512));
            }
        }
        let missing = if parity > 0 && p.next(3) == 0 { Some(p.next(n as u64) as usize) } else { None };
        let g = place(geometry_for(&spec), &offsets, &perm);
        let mut members: Vec<Option<SharedSource>> = vec![None; n];
        for slot in 0..n {
            if Some(slot) == missing {
                continue;
            }
            let mut img = vec![0xeeu8; offsets[slot]];
            img.extend_from_slice(&st.members[slot]);
            members[perm[slot]] = Some(Arc::new(BadSource {
                name: format!("img{}", perm[slot]),
                data: img,
                bad: bad[slot].clone(),
                announce,
            }));
        }
        let is_bad = |slot: usize, rel: usize| -> bool {
            let abs = (offsets[slot] + rel) as u64;
            Some(slot) == missing || bad[slot].iter().any(|&(a, b)| a <= abs && abs < b)
        };
        // Expected unreadable array sectors.
        let mut want: Vec<Extent> = Vec::new();
        let mut recoverable_bad = false;
        for sector in 0..st.data.len() / 512 {
            let b = sector * 512;
            let homes = &st.chunk_homes[b / chunk];
            let lost = if parity > 0 {
                let (slot, at) = homes[0];
                let rel = at + b % chunk;
                let count = (0..n).filter(|&s| is_bad(s, rel)).count();
                if is_bad(slot, rel) && count <= parity {
                    recoverable_bad = true;
                }
                is_bad(slot, rel) && count > parity
            } else {
                homes.iter().all(|&(s, at)| is_bad(s, at + b % chunk))
            };
            if lost {
                push_extent(&mut want, Extent { offset: b as u64, len: 512, kind: ExtentKind::Unreadable });
            }
        }
        let array = RaidArray::new(g, members).unwrap();
        let what = format!("{} perm {perm:?} offs {offsets:?} bad {bad:?} missing {missing:?} announce {announce}", array.name());
        let mut buf = vec![0u8; st.data.len()];
        let (covered, got) = array.read_checked(&mut buf, 0).unwrap();
        prop_assert_eq!(covered, st.data.len());
        prop_assert_eq!(ranges(&got), ranges(&want), "{}", what);
        for (i, (&x, &y)) in buf.iter().zip(&st.data).enumerate() {
            let lost = want.iter().any(|e| e.offset <= i as u64 && (i as u64) < e.end());
            prop_assert_eq!(x, if lost { 0 } else { y }, "byte {} {}", i, what);
        }
        if announce {
            let ext = array.extents(0, u64::MAX).unwrap();
            prop_assert_eq!(ranges(&ext), ranges(&want), "extents {}", what);
        }
        let mut buf2 = vec![0u8; st.data.len()];
        let (_, filled) = read_filled(&array, &mut buf2, 0, 0, 512).unwrap();
        prop_assert_eq!(ranges(&filled), ranges(&want), "read_filled {}", what);
        prop_assert!(buf2 == buf);
        // A plain read fails exactly when something is lost.
        prop_assert_eq!(array.read_exact_at(&mut buf2, 0).is_err(), !want.is_empty());
        if recoverable_bad && parity > 0 {
            prop_assert!(array.repair_stats().rebuilt_from_parity_bytes > 0);
        }
    }
}

fn raid_members(
    level: i32,
    layout: u32,
    n: usize,
    chunk: usize,
    rows: usize,
) -> (oracle::Striped, Spec) {
    let spec = Spec {
        level,
        layout,
        chunk,
        sizes: vec![rows * chunk; n],
        delay: None,
    };
    (stripe(&spec, 99), spec)
}

/// Wraps member `slot` in a ddrescue mapfile marking `bad` (member
/// offsets) as bad sectors.
fn with_map(name: &str, data: Vec<u8>, bad: &[(u64, u64)]) -> SharedSource {
    let mut map = Mapfile::new(data.len() as u64);
    map.set_status(0, data.len() as u64, BlockStatus::Finished);
    for &(a, b) in bad {
        map.set_status(a, b - a, BlockStatus::BadSector);
    }
    Arc::new(MapfileSource::new(MemSource::new(name, data), map).unwrap())
}

#[test]
fn raid5_mapfile_bad_sectors_are_rebuilt_then_reported_when_two_overlap() {
    let chunk = 4096;
    let (st, spec) = raid_members(5, 2, 4, chunk, 8);
    let g = geometry_for(&spec);
    // Member 1 has bad sectors 0x1000..0x1400 (row 1); member 2 overlaps
    // it at 0x1200..0x1600.
    let members = |second: bool| -> Vec<Option<SharedSource>> {
        (0..4)
            .map(|i| {
                let bad: Vec<(u64, u64)> = match (i, second) {
                    (1, _) => vec![(0x1000, 0x1400)],
                    (2, true) => vec![(0x1200, 0x1600)],
                    _ => vec![],
                };
                Some(with_map(&format!("m{i}"), st.members[i].clone(), &bad))
            })
            .collect()
    };
    let array = RaidArray::new(g.clone(), members(false)).unwrap();
    let mut buf = vec![0u8; st.data.len()];
    array.read_exact_at(&mut buf, 0).unwrap();
    assert!(buf == st.data);
    assert_eq!(array.repair_stats().rebuilt_from_parity_bytes, 0x400);
    assert!(
        array
            .extents(0, u64::MAX)
            .unwrap()
            .iter()
            .all(|e| e.kind == ExtentKind::Data)
    );

    // Row 1 of a 4-disk left-symmetric: P on member 2, D0 on member 3,
    // D1 on member 0, D2 on member 1. Member 1 (D2) and member 2 (P) are
    // both bad at member offsets 0x1200..0x1400: D2 there is lost, at
    // array offset row 1 start (3 chunks) + 2 chunks + 0x200.
    let array = RaidArray::new(g, members(true)).unwrap();
    let lost = (3 * chunk + 2 * chunk + 0x200) as u64;
    let (_, bad) = read_filled(&array, &mut buf, 0, 0xff, 512).unwrap();
    assert_eq!(ranges(&bad), vec![(lost, lost + 0x200)]);
    assert_eq!(
        ranges(&array.extents(0, u64::MAX).unwrap()),
        vec![(lost, lost + 0x200)]
    );
    for (i, (&x, &y)) in buf.iter().zip(&st.data).enumerate() {
        let i = i as u64;
        assert_eq!(
            x,
            if i >= lost && i < lost + 0x200 {
                0xff
            } else {
                y
            }
        );
    }
    match array.read_exact_at(&mut buf, 0) {
        Err(CoreError::Unreadable { offset, len, .. }) => assert_eq!((offset, len), (lost, 0x200)),
        other => panic!("expected unreadable, got {other:?}"),
    }
}

#[test]
fn raid6_two_bad_per_row_repaired_three_reported() {
    let chunk = 1024;
    let (st, spec) = raid_members(6, 2, 6, chunk, 6);
    let g = geometry_for(&spec);
    let bad_on = |set: &[usize]| -> Vec<Option<SharedSource>> {
        (0..6)
            .map(|i| {
                let bad = if set.contains(&i) {
                    vec![(2048u64, 2560u64)]
                } else {
                    vec![]
                };
                Some(with_map(&format!("m{i}"), st.members[i].clone(), &bad))
            })
            .collect()
    };
    // Any two members bad at the same sector of row 2: all repaired.
    for a in 0..6 {
        for b in a + 1..6 {
            let array = RaidArray::new(g.clone(), bad_on(&[a, b])).unwrap();
            let mut buf = vec![0u8; st.data.len()];
            array.read_exact_at(&mut buf, 0).unwrap();
            assert!(buf == st.data, "bad on {a},{b}");
        }
    }
    // Three: the data members among them lose that sector.
    let array = RaidArray::new(g, bad_on(&[0, 1, 2])).unwrap();
    let mut buf = vec![0u8; st.data.len()];
    let (_, bad) = array.read_checked(&mut buf, 0).unwrap();
    // Row 2 of 6-disk left-symmetric RAID6: P on 3, Q on 4, data 5,0,1,2.
    let row = (2 * 4 * chunk) as u64;
    let want: Vec<(u64, u64)> = [1u64, 2, 3]
        .iter()
        .map(|d| (row + d * chunk as u64, row + d * chunk as u64 + 512))
        .collect();
    assert_eq!(ranges(&bad), want);
    assert_eq!(ranges(&array.extents(0, u64::MAX).unwrap()), want);
}

#[test]
fn raid0_and_linear_with_a_missing_member_are_unreadable_there() {
    let (st, spec) = raid_members(0, 1, 3, 512, 4);
    let mut g = geometry_for(&spec);
    g.slots[1].size = Some(st.members[1].len() as u64);
    let members: Vec<Option<SharedSource>> = (0..3)
        .map(|i| {
            (i != 1).then(|| Arc::new(MemSource::new("m", st.members[i].clone())) as SharedSource)
        })
        .collect();
    let array = RaidArray::new(g, members).unwrap();
    let ext = array.extents(0, u64::MAX).unwrap();
    let want: Vec<(u64, u64)> = (0..4).map(|r| (r * 1536 + 512, r * 1536 + 1024)).collect();
    assert_eq!(ranges(&ext), want);
    let mut buf = vec![0u8; st.data.len()];
    let (_, bad) = read_filled(&array, &mut buf, 0, 0, 512).unwrap();
    assert_eq!(ranges(&bad), want);
}

#[test]
fn zero_members_give_zero_extents() {
    use platter_core::ZeroSource;
    let g = platter_raid::geometry::Geometry::new(
        platter_raid::geometry::Level::Raid5,
        platter_raid::geometry::Layout::Parity(platter_raid::geometry::ParityLayout::LeftSymmetric),
        512,
        3,
    );
    let z: SharedSource = Arc::new(ZeroSource::new("z", 4096));
    let array = RaidArray::new(g, vec![Some(z.clone()), None, Some(z)]).unwrap();
    let ext = array.extents(0, u64::MAX).unwrap();
    assert_eq!(ext.len(), 1);
    assert_eq!(ext[0].kind, ExtentKind::Zero);
}
