//! Known answers worked out by hand from the kernel's formulas
//! (`raid5_compute_sector`, `raid6_idx_to_slot`, `__raid10_find_phys`,
//! `create_strip_zones`/`map_sector`).

use super::*;
use crate::error::Error;

fn parity(level: Level, layout: ParityLayout, n: usize) -> Mapping {
    Geometry::new(level, Layout::Parity(layout), 512, n)
        .mapping(&vec![Some(512 * 64); n])
        .unwrap()
}

/// (P, Q, data slots, Q exponents) of a row.
type Row = (usize, Option<usize>, Vec<usize>, Vec<u8>);

fn rows(m: &Mapping, count: u64) -> Vec<Row> {
    (0..count)
        .map(|r| {
            let rl = m.row(r).unwrap();
            (rl.p.unwrap(), rl.q, rl.data_slots, rl.q_exponents)
        })
        .collect()
}

#[test]
fn raid5_left_symmetric_4_disks_first_8_rows() {
    let m = parity(Level::Raid5, ParityLayout::LeftSymmetric, 4);
    let want = [
        (3, vec![0, 1, 2]),
        (2, vec![3, 0, 1]),
        (1, vec![2, 3, 0]),
        (0, vec![1, 2, 3]),
    ];
    for (r, got) in rows(&m, 8).into_iter().enumerate() {
        let (p, d) = &want[r % 4];
        assert_eq!((got.0, got.2), (*p, d.clone()), "row {r}");
        assert_eq!(got.1, None);
    }
}

#[test]
fn raid5_other_layouts_4_disks() {
    type Rows4 = [(usize, [usize; 3]); 4];
    let cases: [(ParityLayout, Rows4); 5] = [
        (
            ParityLayout::LeftAsymmetric,
            [
                (3, [0, 1, 2]),
                (2, [0, 1, 3]),
                (1, [0, 2, 3]),
                (0, [1, 2, 3]),
            ],
        ),
        (
            ParityLayout::RightAsymmetric,
            [
                (0, [1, 2, 3]),
                (1, [0, 2, 3]),
                (2, [0, 1, 3]),
                (3, [0, 1, 2]),
            ],
        ),
        (
            ParityLayout::RightSymmetric,
            [
                (0, [1, 2, 3]),
                (1, [2, 3, 0]),
                (2, [3, 0, 1]),
                (3, [0, 1, 2]),
            ],
        ),
        (
            ParityLayout::ParityFirst,
            [
                (0, [1, 2, 3]),
                (0, [1, 2, 3]),
                (0, [1, 2, 3]),
                (0, [1, 2, 3]),
            ],
        ),
        (
            ParityLayout::ParityLast,
            [
                (3, [0, 1, 2]),
                (3, [0, 1, 2]),
                (3, [0, 1, 2]),
                (3, [0, 1, 2]),
            ],
        ),
    ];
    for (layout, want) in cases {
        let m = parity(Level::Raid5, layout, 4);
        for (r, got) in rows(&m, 4).into_iter().enumerate() {
            assert_eq!(
                (got.0, got.2.as_slice()),
                (want[r].0, &want[r].1[..]),
                "{layout} row {r}"
            );
        }
    }
    let m = parity(Level::Raid4, ParityLayout::ParityLast, 3);
    assert_eq!(rows(&m, 2)[1].2, vec![0, 1]);
}

#[test]
fn raid6_placement_and_q_exponents_5_disks() {
    let r = |p, q, d: &[usize], e: &[u8]| -> Row { (p, Some(q), d.to_vec(), e.to_vec()) };
    let cases: Vec<(ParityLayout, Vec<Row>)> = vec![
        (
            // Symmetric: exponent = logical data index.
            ParityLayout::LeftSymmetric,
            vec![
                r(4, 0, &[1, 2, 3], &[0, 1, 2]),
                r(3, 4, &[0, 1, 2], &[0, 1, 2]),
            ],
        ),
        (
            // Asymmetric: the walk starts after Q, so exponents rotate.
            ParityLayout::LeftAsymmetric,
            vec![
                r(4, 0, &[1, 2, 3], &[0, 1, 2]),
                r(3, 4, &[0, 1, 2], &[0, 1, 2]),
                r(2, 3, &[0, 1, 4], &[1, 2, 0]),
            ],
        ),
        (
            ParityLayout::RightAsymmetric,
            vec![
                r(0, 1, &[2, 3, 4], &[0, 1, 2]),
                r(1, 2, &[0, 3, 4], &[2, 0, 1]),
            ],
        ),
        (
            // Same placement as right-asymmetric; Q by physical index.
            ParityLayout::DdfZeroRestart,
            vec![
                r(0, 1, &[2, 3, 4], &[2, 3, 4]),
                r(1, 2, &[0, 3, 4], &[0, 3, 4]),
            ],
        ),
        (
            ParityLayout::DdfNRestart,
            vec![
                r(3, 4, &[0, 1, 2], &[0, 1, 2]),
                r(2, 3, &[0, 1, 4], &[0, 1, 4]),
            ],
        ),
        (
            ParityLayout::DdfNContinue,
            vec![
                r(4, 3, &[0, 1, 2], &[0, 1, 2]),
                r(3, 2, &[4, 0, 1], &[4, 0, 1]),
            ],
        ),
        (
            ParityLayout::LeftSymmetric6,
            vec![
                r(3, 4, &[0, 1, 2], &[0, 1, 2]),
                r(2, 4, &[3, 0, 1], &[2, 0, 1]),
            ],
        ),
        (
            ParityLayout::ParityFirst,
            vec![r(0, 1, &[2, 3, 4], &[0, 1, 2])],
        ),
        (
            ParityLayout::ParityFirst6,
            vec![r(0, 4, &[1, 2, 3], &[0, 1, 2])],
        ),
    ];
    for (layout, want) in cases {
        let m = parity(Level::Raid6, layout, 5);
        assert_eq!(rows(&m, want.len() as u64), want, "{layout}");
    }
    // ddf-N-restart row 4 has P on the last disk.
    let m = parity(Level::Raid6, ParityLayout::DdfNRestart, 5);
    assert_eq!(rows(&m, 5)[4], r(4, 0, &[1, 2, 3], &[1, 2, 3]));
}

#[test]
fn locate_walks_rows_and_offsets() {
    let g = Geometry::new(
        Level::Raid5,
        Layout::Parity(ParityLayout::LeftSymmetric),
        1024,
        3,
    )
    .with_order(&[Some(2), Some(0), Some(1)]);
    let mut g = g;
    g.slots[1].data_offset = 4096;
    let m = g
        .mapping(&[Some(100_000), Some(100_000), Some(100_000)])
        .unwrap();
    // Slot 1 has 4096 fewer usable bytes: smallest = 95904 → 93 chunks.
    assert_eq!(m.array_size(), 93 * 1024 * 2);
    let loc = m.locate(2048 + 5).unwrap(); // row 1 (P on slot 1), D0 on slot 2
    assert_eq!((loc.slot, loc.member_offset, loc.len), (2, 1024 + 5, 1019));
    let loc = m.locate(3072).unwrap(); // row 1 D1 → slot 0
    assert_eq!((loc.slot, loc.member_offset), (0, 1024));
    let loc = m.locate(4096).unwrap(); // row 2: P on slot 0, D0 on slot 1
    assert_eq!((loc.slot, loc.member_offset), (1, 4096 + 2048));
    assert!(m.locate(m.array_size()).is_none());
}

#[test]
fn delayed_parity_holds_parity_for_d_rows() {
    let mut g = Geometry::new(
        Level::Raid5,
        Layout::Parity(ParityLayout::LeftSymmetric),
        512,
        4,
    );
    g.delayed_parity = Some(DelayedParity {
        rows_per_group: 3,
        first_group_rows: 2,
    });
    let m = g.mapping(&[Some(512 * 40); 4]).unwrap();
    let ps: Vec<usize> = (0..9).map(|r| m.row(r).unwrap().p.unwrap()).collect();
    // groups: rows 0-1 → g0, 2-4 → g1, 5-7 → g2, 8 → g3
    assert_eq!(ps, vec![3, 3, 2, 2, 2, 1, 1, 1, 0]);
    assert_eq!(m.row(2).unwrap().offset_in_member, 2 * 512);
}

#[test]
fn raid10_copies_by_hand() {
    let map = |layout: &str, n: usize, dev_chunks: u64| {
        Geometry::new(
            Level::Raid10,
            Layout::Raid10(layout.parse().unwrap()),
            512,
            n,
        )
        .mapping(&vec![Some(512 * dev_chunks); n])
        .unwrap()
    };
    let copies = |m: &Mapping, c: u64| -> Vec<(usize, u64)> {
        m.copies(c * 512)
            .iter()
            .map(|l| (l.slot, l.member_offset / 512))
            .collect()
    };
    let m = map("n2", 4, 10);
    assert_eq!(copies(&m, 1), vec![(2, 0), (3, 0)]);
    assert_eq!(copies(&m, 2), vec![(0, 1), (1, 1)]);
    assert_eq!(m.array_size(), 20 * 512);
    let m = map("n2", 3, 10);
    assert_eq!(copies(&m, 1), vec![(2, 0), (0, 1)]);
    assert_eq!(copies(&m, 2), vec![(1, 1), (2, 1)]);
    assert_eq!(m.array_size(), 15 * 512);
    let m = map("f2", 4, 10);
    assert_eq!(copies(&m, 0), vec![(0, 0), (1, 5)]);
    assert_eq!(copies(&m, 3), vec![(3, 0), (0, 5)]);
    assert_eq!(copies(&m, 4), vec![(0, 1), (1, 6)]);
    let m = map("o2", 3, 10);
    assert_eq!(copies(&m, 2), vec![(2, 0), (0, 1)]);
    assert_eq!(copies(&m, 3), vec![(0, 2), (1, 3)]);
    assert_eq!(
        Raid10Layout::from_md_word(0x102).unwrap().to_string(),
        "n2f1".replace("f1", "")
    );
    assert_eq!("o2".parse::<Raid10Layout>().unwrap().md_word(), 0x10201);
}

#[test]
fn raid0_zones_original_and_alternate() {
    let map = |layout: Raid0Layout| {
        Geometry::new(Level::Raid0, Layout::Raid0(layout), 512, 3)
            .mapping(&[Some(3 * 512), Some(512), Some(2 * 512 + 100)])
            .unwrap()
    };
    let slots = |m: &Mapping| -> Vec<(usize, u64)> {
        (0..6)
            .map(|c| {
                let l = m.locate(c * 512).unwrap();
                (l.slot, l.member_offset / 512)
            })
            .collect()
    };
    let m = map(Raid0Layout::Original);
    assert_eq!(m.array_size(), 6 * 512);
    assert_eq!(
        slots(&m),
        vec![(0, 0), (1, 0), (2, 0), (2, 1), (0, 1), (0, 2)]
    );
    let m = map(Raid0Layout::Alternate);
    assert_eq!(
        slots(&m),
        vec![(0, 0), (1, 0), (2, 0), (0, 1), (2, 1), (0, 2)]
    );
    assert_eq!(m.row_count(), Some(3));
}

#[test]
fn names_round_trip() {
    for l in ParityLayout::ALL {
        assert_eq!(l.name().parse::<ParityLayout>().unwrap(), l);
        assert_eq!(ParityLayout::from_md_number(l.md_number()), Some(l));
        let j = serde_json::to_string(&Layout::Parity(l)).unwrap();
        assert_eq!(
            serde_json::from_str::<Layout>(&j).unwrap(),
            Layout::Parity(l)
        );
    }
    assert_eq!(
        "ls".parse::<ParityLayout>().unwrap(),
        ParityLayout::LeftSymmetric
    );
    assert_eq!(
        "RA".parse::<ParityLayout>().unwrap(),
        ParityLayout::RightAsymmetric
    );
    assert_eq!("RAID-6".parse::<Level>().unwrap(), Level::Raid6);
    assert_eq!(
        Layout::parse_for(Level::Raid10, "258").unwrap().to_string(),
        "n2"
    );
    assert!(Layout::parse_for(Level::Raid10, "2").is_err()); // far = 0
    assert!("left-sym".parse::<ParityLayout>().is_err());
    let g = Geometry::new(
        Level::Raid5,
        Layout::Parity(ParityLayout::LeftSymmetric),
        65536,
        3,
    );
    assert_eq!(g.describe(), "raid5[left-symmetric,64K,3 members]");
    let j = serde_json::to_string(&g).unwrap();
    assert_eq!(serde_json::from_str::<Geometry>(&j).unwrap(), g);
}

#[test]
fn bad_geometry_is_rejected_clearly() {
    let base = Geometry::new(
        Level::Raid5,
        Layout::Parity(ParityLayout::LeftSymmetric),
        65536,
        3,
    );
    let mut g = base.clone();
    g.chunk_bytes = 0;
    assert!(matches!(
        g.validate(),
        Err(Error::InvalidChunk { chunk_bytes: 0 })
    ));
    g.chunk_bytes = 1000;
    assert!(matches!(g.validate(), Err(Error::InvalidChunk { .. })));
    let g = Geometry::new(
        Level::Raid6,
        Layout::Parity(ParityLayout::LeftSymmetric),
        512,
        3,
    );
    assert!(matches!(
        g.validate(),
        Err(Error::TooFewMembers { min: 4, .. })
    ));
    let g = Geometry::new(
        Level::Raid5,
        Layout::Parity(ParityLayout::DdfNRestart),
        512,
        4,
    );
    assert!(matches!(g.validate(), Err(Error::LayoutMismatch { .. })));
    let g = base.clone().with_order(&[Some(0), Some(1), Some(0)]);
    assert!(matches!(
        g.validate(),
        Err(Error::DuplicateImage {
            image: 0,
            first_slot: 0,
            second_slot: 2
        })
    ));
    let mut g = base.clone();
    g.slots.clear();
    assert!(matches!(g.validate(), Err(Error::NoMembers)));
    let mut g = base.clone();
    g.delayed_parity = Some(DelayedParity {
        rows_per_group: 33,
        first_group_rows: 1,
    });
    assert!(matches!(
        g.validate(),
        Err(Error::InvalidDelayedParity { .. })
    ));
    let g = Geometry::new(Level::Raid10, Layout::Raid10("n3".parse().unwrap()), 512, 2);
    assert!(matches!(g.validate(), Err(Error::InvalidRaid10 { .. })));
    // Near copies wrapping into offset copies: md's placement overlaps.
    let n2o2 = Layout::Raid10(Raid10Layout::from_md_word(0x1_02_02).unwrap());
    let g = Geometry::new(Level::Raid10, n2o2, 4096, 5);
    assert!(matches!(
        g.validate(),
        Err(Error::Raid10OffsetOverlap { members: 5, .. })
    ));
    assert!(
        Geometry::new(Level::Raid10, n2o2, 4096, 4)
            .validate()
            .is_ok()
    );
    // A missing RAID0 member has no size to guess.
    let g = Geometry::new(Level::Raid0, Layout::Raid0(Raid0Layout::Original), 512, 2)
        .with_order(&[Some(0), None]);
    assert!(matches!(
        g.mapping(&[Some(4096)]),
        Err(Error::UnknownSize { slot: 1 })
    ));
    // Image shorter than its data offset; image index out of range.
    let g = base.clone().with_data_offset(1 << 20);
    assert!(matches!(
        g.mapping(&[Some(4096); 3]),
        Err(Error::MemberTooSmall { .. })
    ));
    assert!(matches!(
        base.mapping(&[Some(4096); 2]),
        Err(Error::ImageOutOfRange { image: 2, .. })
    ));
    let mut g = base.clone();
    g.array_size = Some(1 << 40);
    assert!(matches!(
        g.mapping(&[Some(1 << 20); 3]),
        Err(Error::ArraySizeTooLarge { .. })
    ));
    // Wildly different sizes: the smallest wins, like md.
    let m = base
        .mapping(&[Some(1 << 40), Some(1 << 20), Some(1 << 30)])
        .unwrap();
    assert_eq!(m.array_size(), 2 << 20);
}

#[test]
fn member_counts_from_metadata_are_bounded() {
    assert!(matches!(
        Geometry::check_member_count(Level::Raid5, 1 << 31),
        Err(Error::TooManyMembers {
            count: 2147483648,
            ..
        })
    ));
    assert!(Geometry::check_member_count(Level::Raid6, 3).is_err());
    assert!(Geometry::check_member_count(Level::Raid6, 4).is_ok());
    assert!(Geometry::check_member_count(Level::Raid1, 0).is_err());
}
