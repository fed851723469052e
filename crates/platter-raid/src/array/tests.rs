//! Unit tests of the array engine; the property tests against the
//! independent oracle live in `tests/`.

use std::sync::Arc;

use platter_core::{Error as CoreError, ExtentKind, MemSource, SharedSource, Source};

use super::RaidArray;
use crate::error::Error;
use crate::geometry::{Geometry, Layout, Level, ParityLayout, Raid10Layout};

/// A member whose reads fail with an error that is not a bad sector.
#[derive(Debug)]
struct Broken;

impl Source for Broken {
    fn len(&self) -> u64 {
        1 << 20
    }
    fn name(&self) -> &str {
        "broken.img"
    }
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> platter_core::Result<usize> {
        Err(CoreError::Io {
            name: "broken.img".into(),
            what: "ioctl",
            source: std::io::Error::other("device gone"),
        })
    }
}

fn mem(name: &str, data: Vec<u8>) -> Option<SharedSource> {
    Some(Arc::new(MemSource::new(name, data)))
}

#[test]
fn member_failures_that_are_not_bad_sectors_name_the_member() {
    let g = Geometry::new(
        Level::Raid5,
        Layout::Parity(ParityLayout::LeftSymmetric),
        65536,
        3,
    )
    .with_order(&[Some(2), Some(0), Some(1)]);
    let broken: SharedSource = Arc::new(Broken);
    let array = RaidArray::new(
        g,
        vec![
            mem("a", vec![0; 1 << 20]),
            Some(broken),
            mem("c", vec![0; 1 << 20]),
        ],
    )
    .unwrap();
    assert_eq!(array.name(), "raid5[left-symmetric,64K,3 members]");
    let mut buf = vec![0u8; 4096];
    // Row 0, D0 is on slot 0 = image 2 (fine); D1 on slot 1 = image 0
    // (fine); row 1 D0 on slot 2 = image 1, the broken one.
    match array.read_checked(&mut buf, 2 * 65536) {
        Err(Error::MemberRead {
            slot: 2,
            image: 1,
            offset: 65536,
            ..
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
    let err = array.read_exact_at(&mut buf, 2 * 65536).unwrap_err();
    assert!(err.to_string().contains("broken.img"), "{err}");
}

#[test]
fn raid1_reads_a_missing_mirror_from_the_other() {
    let data: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
    let g = Geometry::new(Level::Raid1, Layout::None, 0, 2);
    let array = RaidArray::new(g, vec![None, mem("b", data.clone())]).unwrap();
    assert_eq!(array.missing_slots(), vec![0]);
    let mut buf = vec![0u8; 8192];
    array.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(buf, data);
    assert!(
        array
            .extents(0, 8192)
            .unwrap()
            .iter()
            .all(|e| e.kind == ExtentKind::Data)
    );
}

#[test]
fn raid10_with_both_copies_missing_is_unreadable_exactly_there() {
    // n2 over 4 members: chunks 0, 2, 4… on members 0+1; 1, 3, 5… on 2+3.
    let layout = Raid10Layout {
        near: 2,
        far: 1,
        offset: false,
        far_sets: false,
    };
    let g = Geometry::new(Level::Raid10, Layout::Raid10(layout), 1024, 4);
    let m = |n: &str| mem(n, vec![7; 4096]);
    let array = RaidArray::new(g, vec![m("a"), m("b"), None, None]).unwrap();
    let ext = array.extents(0, u64::MAX).unwrap();
    let bad: Vec<(u64, u64)> = ext
        .iter()
        .filter(|e| e.kind == ExtentKind::Unreadable)
        .map(|e| (e.offset, e.end()))
        .collect();
    assert_eq!(
        bad,
        vec![(1024, 2048), (3072, 4096), (5120, 6144), (7168, 8192)]
    );
    let mut buf = vec![0u8; 8192];
    let (n, lost) = array.read_checked(&mut buf, 0).unwrap();
    assert_eq!(n, 8192);
    assert_eq!(lost.len(), 4);
    assert_eq!(array.repair_stats().unreadable_bytes, 4096);
}

#[test]
fn reads_past_the_end_are_short_or_empty() {
    let g = Geometry::new(Level::Raid0, Layout::default_for(Level::Raid0), 512, 2);
    let array = RaidArray::new(g, vec![mem("a", vec![1; 1000]), mem("b", vec![2; 1000])]).unwrap();
    assert_eq!(array.len(), 1024); // members rounded down to whole chunks
    let mut buf = [0u8; 100];
    assert_eq!(array.read_at(&mut buf, 1000).unwrap(), 24);
    assert_eq!(array.read_at(&mut buf, 5000).unwrap(), 0);
    assert_eq!(&buf[..24], &[2u8; 24][..]);
}
