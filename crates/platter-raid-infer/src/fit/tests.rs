//! Tests of [`super`]: equations made from known geometries.

use super::*;
use platter_raid::geometry::ParityLayout;

/// Equations for array offsets `xs` (space starting at `start`) under
/// `g` with `order[slot] = image`.
pub(crate) fn equations(g: &Geometry, member_bytes: u64, start: u64, xs: &[u64]) -> Vec<Equation> {
    let sizes = vec![Some(member_bytes); g.slots.len()];
    let m = g.mapping(&sizes).unwrap();
    xs.iter()
        .filter_map(|&x| {
            let loc = m.locate(start + x)?;
            Some(Equation {
                member: g.slots[loc.slot].image?,
                member_offset: loc.member_offset,
                space: 7,
                fs_offset: x,
                lone: false,
            })
        })
        .collect()
}

#[test]
fn finds_order_of_every_raid5_layout() {
    let member = 64 << 20;
    // The six md RAID5 layouts lead the list.
    for &layout in &ParityLayout::ALL[..6] {
        let order = [Some(3), Some(0), Some(4), Some(1), Some(2)];
        let g = Geometry::new(Level::Raid5, Layout::Parity(layout), 64 << 10, 5)
            .with_order(&order)
            .with_data_offset(1 << 20);
        let xs: Vec<u64> = (0..400).map(|i| i * 37 * 1024 + 3 * 512).collect();
        let eqs = equations(&g, member, 5 << 20, &xs);
        let shape = Shape {
            level: Level::Raid5,
            layout: Layout::Parity(layout),
            delayed: None,
            slots: 5,
        };
        let f = fit(&eqs, 5, member, shape, 64 << 10, 1 << 20).unwrap();
        assert_eq!(f.explained, f.considered, "{layout:?}");
        let got: Vec<_> = f.geometry.slots.iter().map(|s| s.image).collect();
        assert_eq!(got, order, "{layout:?}");
        // A wrong chunk explains much less.
        let f2 = fit(&eqs, 5, member, shape, 128 << 10, 1 << 20).unwrap();
        assert!(f2.rate() < 0.8, "{layout:?} {}", f2.rate());
    }
}

/// RAID0 shape with `slots` members.
fn raid0(slots: usize) -> Shape {
    Shape {
        level: Level::Raid0,
        layout: Layout::default_for(Level::Raid0),
        delayed: None,
        slots,
    }
}

#[test]
fn a_run_kept_whole_by_the_true_chunk_counts_as_explained() {
    // RAID0 over three members, 256 KiB chunks: file-system structures
    // spread over the array, and an inode table run of 40 records in
    // one chunk of one member (its own space: inode numbers). The true
    // chunk keeps the run in one cell, where it says nothing of the
    // order; a wrong 64 KiB chunk cuts it in two and counts it. The
    // true fit must not lose for keeping it whole.
    let member = 8 << 20;
    let order = [Some(2), Some(0), Some(1)];
    let g = Geometry::new(
        Level::Raid0,
        Layout::default_for(Level::Raid0),
        256 << 10,
        3,
    )
    .with_order(&order);
    let xs: Vec<u64> = (0..12).map(|i| i * (1 << 20) + 3 * 512).collect();
    let mut eqs = equations(&g, member, 0, &xs);
    let run_start = 2 * (256 << 10) + (60 << 10);
    for e in equations(
        &g,
        member,
        run_start,
        &(0..40).map(|i| i * 256).collect::<Vec<_>>(),
    ) {
        eqs.push(Equation { space: 8, ..e });
    }
    let truth = fit(&eqs, 3, member, raid0(3), 256 << 10, 0).unwrap();
    let got: Vec<_> = truth.geometry.slots.iter().map(|s| s.image).collect();
    assert_eq!(got, order);
    assert_eq!(truth.explained, truth.considered);
    assert_eq!(truth.neutral, 40, "the run is consistent with the fit");
    // Degraded RAID5 (4 slots) and RAID6 (5 slots) with members
    // missing seat the members freely; many cut the run and explain
    // it piecewise. None may outrank the truth.
    let raid5 = [
        ParityLayout::LeftAsymmetric,
        ParityLayout::RightAsymmetric,
        ParityLayout::LeftSymmetric,
        ParityLayout::RightSymmetric,
    ];
    let shapes = raid5
        .iter()
        .map(|&l| (Level::Raid5, l, 4))
        .chain(ParityLayout::ALL.iter().map(|&l| (Level::Raid6, l, 5)));
    let mut cut = 0;
    for (level, layout, slots) in shapes {
        for chunk in [16u64 << 10, 32 << 10, 64 << 10, 128 << 10] {
            for off in [0u64, 4096, 32256] {
                let shape = Shape {
                    level,
                    layout: Layout::Parity(layout),
                    delayed: None,
                    slots,
                };
                let Some(w) = fit(&eqs, 3, member, shape, chunk, off) else {
                    continue;
                };
                cut += usize::from(w.neutral == 0);
                assert!(
                    w.merit() <= truth.merit(),
                    "{level:?} {layout:?} chunk {chunk} offset {off}: {} of {} (+{}) beats {}",
                    w.explained,
                    w.considered,
                    w.neutral,
                    truth.merit()
                );
            }
        }
    }
    assert!(cut > 0, "some wrong fits cut the run");
}

#[test]
fn a_structure_claimed_twice_counts_once() {
    // MFT-like records spread over a RAID0, and copies of the first
    // four (NTFS's $MFTMirr) further on, claiming the same positions:
    // the copies neither count against the right fit nor give a
    // wrong chunk the lead.
    let member = 8 << 20;
    let order = [Some(1), Some(3), Some(0), Some(2)];
    let g = Geometry::new(Level::Raid0, Layout::default_for(Level::Raid0), 16 << 10, 4)
        .with_order(&order);
    let xs: Vec<u64> = (0..40).map(|i| i * 9 * 1024).collect();
    let mut eqs = equations(&g, member, 0, &xs);
    let mirror: Vec<Equation> = equations(&g, member, 2 << 20, &xs[..4])
        .into_iter()
        .collect();
    eqs.extend(&mirror);
    let f = fit(&eqs, 4, member, raid0(4), 16 << 10, 0).unwrap();
    assert_eq!((f.explained, f.considered), (xs.len(), xs.len()));
    assert_eq!(
        f.geometry.slots.iter().map(|s| s.image).collect::<Vec<_>>(),
        order
    );
}

#[test]
fn a_space_held_in_one_chunk_is_no_evidence() {
    // 60 records of an inode table in one 64K chunk of member 2, plus
    // a few structures of the file system spread over the members.
    let member = 8 << 20;
    let order = [Some(3), Some(0), Some(2), Some(1)];
    let g = Geometry::new(Level::Raid0, Layout::default_for(Level::Raid0), 64 << 10, 4)
        .with_order(&order);
    let xs: Vec<u64> = (0..24).map(|i| i * 96 * 1024 + 4096).collect();
    let mut eqs = equations(&g, member, 0, &xs);
    let table: Vec<Equation> = (0..60u64)
        .map(|i| Equation {
            member: 2,
            member_offset: 128 * 1024 + i * 256,
            space: 9,
            fs_offset: 5 * 4096 + i * 256,
            lone: false,
        })
        .collect();
    eqs.extend(&table);
    let f = fit(&eqs, 4, member, raid0(4), 64 << 10, 0).unwrap();
    // The table counts neither way: only the spread structures do.
    assert_eq!(f.considered, xs.len());
    assert_eq!(f.explained, xs.len());
    assert_eq!(
        f.geometry.slots.iter().map(|s| s.image).collect::<Vec<_>>(),
        order
    );
    // Alone, the table decides nothing.
    let alone = fit(&table, 4, member, raid0(4), 64 << 10, 0).unwrap();
    assert_eq!((alone.explained, alone.considered), (0, 0));
}

#[test]
fn fragments_confined_to_one_chunk_explain_nothing() {
    // Two 128K pieces of one contiguous run of 1K records (an MFT),
    // 256K apart on member 1. A RAID0 of 4 with 128K chunks puts them
    // in rows 16 and 18, which no single start of the run fits; each
    // piece alone would fit a start of its own (a "fragment"), but a
    // fragment inside one chunk is no evidence.
    let member = 8 << 20;
    let piece = |at: u64, from: u64| {
        (0..128u64).map(move |i| Equation {
            member: 1,
            member_offset: at + i * 1024,
            space: 11,
            fs_offset: from + i * 1024,
            lone: false,
        })
    };
    let run: Vec<Equation> = piece(2 << 20, 0)
        .chain(piece((2 << 20) + (256 << 10), 128 << 10))
        .collect();
    let wrong = fit(&run, 4, member, raid0(4), 128 << 10, 0).unwrap();
    assert_eq!((wrong.explained, wrong.considered), (0, 256));
}

#[test]
fn equal_starts_prefer_a_space_at_the_array_start() {
    // Structures of one space in chunks 1..3 of row 0 of a RAID0 of 4
    // (32K chunks, 4K records): a start one chunk before the array
    // and one at its first byte explain them alike; the file system
    // at array offset 0 is preferred.
    let member = 4 << 20;
    let order = [Some(1), Some(3), Some(0), Some(2)];
    let g = Geometry::new(Level::Raid0, Layout::default_for(Level::Raid0), 32 << 10, 4)
        .with_order(&order);
    let xs: Vec<u64> = (8..32).map(|i| i * 4096).collect();
    let eqs = equations(&g, member, 0, &xs);
    let f = fit_fast(&eqs, 4, member, raid0(4), 32 << 10, 0).unwrap();
    assert_eq!(f.origins_at_zero, 1);
    assert_eq!(f.explained, f.considered);
    assert_eq!(
        f.geometry.slots.iter().map(|s| s.image).collect::<Vec<_>>(),
        order
    );
}

#[test]
fn missing_member_is_the_unvoted_slot() {
    let member = 16 << 20;
    let layout = Layout::Parity(ParityLayout::LeftSymmetric);
    let truth = Geometry::new(Level::Raid6, layout, 16 << 10, 6).with_order(&[
        Some(0),
        Some(1),
        Some(2),
        Some(3),
        Some(4),
        Some(5),
    ]);
    let xs: Vec<u64> = (0..300).map(|i| i * 13 * 1024).collect();
    // Image 2 is gone; renumber the rest 0..4.
    let eqs: Vec<Equation> = equations(&truth, member, 0, &xs)
        .into_iter()
        .filter(|e| e.member != 2)
        .map(|mut e| {
            if e.member > 2 {
                e.member -= 1;
            }
            e
        })
        .collect();
    let shape = Shape {
        level: Level::Raid6,
        layout,
        delayed: None,
        slots: 6,
    };
    let f = fit(&eqs, 5, member, shape, 16 << 10, 0).unwrap();
    let got: Vec<_> = f.geometry.slots.iter().map(|s| s.image).collect();
    assert_eq!(got, [Some(0), Some(1), None, Some(2), Some(3), Some(4)]);
}

/// A degraded RAID5 whose missing member held the start of a file
/// system: where the row's other data chunks are zero its parity member
/// holds a copy of the missing chunk, and the copies vote that member
/// into the missing member's slot. Its few structures of its own say
/// where it sits, and the fit moves it there: the slot it leaves reads as
/// the missing one, whose chunk the copies then explain.
#[test]
fn a_parity_member_holding_a_missing_chunk_is_moved_to_its_own_slot() {
    let member = 16 << 20;
    let chunk = 64u64 << 10;
    let layout = Layout::Parity(ParityLayout::RightSymmetric);
    let order = [Some(2), None, Some(0), Some(1), Some(3)];
    let g = Geometry::new(Level::Raid5, layout, chunk, 5).with_order(&order);
    let sizes = vec![Some(member); 5];
    let m = g.mapping(&sizes).unwrap();
    // `lone`: whether the copies' sectors hold data on their member only.
    let equations = |lone: bool| {
        let mut eqs = Vec::new();
        let mut push = |x: u64, copy: bool| {
            let loc = m.locate(x).unwrap();
            let row = m.row(loc.row.unwrap()).unwrap();
            let slot = if copy { row.p.unwrap() } else { loc.slot };
            if let Some(img) = g.slots[slot].image {
                eqs.push(Equation {
                    member: img,
                    member_offset: loc.member_offset,
                    space: 7,
                    fs_offset: x,
                    lone: copy && lone,
                });
            }
        };
        // Sparse structures all over the array (those on the missing
        // member are gone)...
        for i in 0..24 {
            push(i * 150 * 1024 + 512, false);
        }
        // ...and a dozen in the first chunk, on the missing member, whose
        // copies sit in row 0's parity (image 2).
        for i in 0..12 {
            push(i * 5 * 1024 + 1024, true);
        }
        eqs
    };
    let eqs = equations(true);
    let votes_for_parity = eqs.iter().filter(|e| e.member == 2).count();
    assert!(votes_for_parity > 12, "{votes_for_parity}");
    let shape = Shape {
        level: Level::Raid5,
        layout,
        delayed: None,
        slots: 5,
    };
    let f = fit(&eqs, 4, member, shape, chunk, 0).unwrap();
    let got: Vec<_> = f.geometry.slots.iter().map(|s| s.image).collect();
    assert_eq!(got, order);
    assert_eq!(f.explained, f.considered);
    // Where the other members hold data at those sectors, parity is no
    // copy of anything: the structures stay where they vote.
    let f = fit(&equations(false), 4, member, shape, chunk, 0).unwrap();
    let got: Vec<_> = f.geometry.slots.iter().map(|s| s.image).collect();
    assert_eq!(got[1], Some(2));
}

/// A RAID6 with two members missing: in a row whose only data sits on
/// a missing member, P holds a copy of it, and so does Q when its
/// coefficient is 1. Both copies are present at the same member offset
/// and name the structure's true position: the true geometry explains
/// them as the missing chunk, and they count for it.
#[test]
fn copies_of_a_missing_chunk_in_p_and_q_explain_the_truth() {
    let member = 16 << 20;
    let chunk = 64u64 << 10;
    let layout = Layout::Parity(ParityLayout::LeftSymmetric);
    let order = [Some(3), None, Some(2), Some(1), None, Some(0)];
    let g = Geometry::new(Level::Raid6, layout, chunk, 6).with_order(&order);
    let sizes = vec![Some(member); 6];
    let m = g.mapping(&sizes).unwrap();
    let mut eqs = Vec::new();
    let mut copied = 0;
    for i in 0..200u64 {
        let x = i * 29 * 1024 + 512;
        let loc = m.locate(x).unwrap();
        match g.slots[loc.slot].image {
            Some(img) => eqs.push(Equation {
                member: img,
                member_offset: loc.member_offset,
                space: 7,
                fs_offset: x,
                lone: false,
            }),
            None => {
                let row = m.row(loc.row.unwrap()).unwrap();
                let copies: Vec<usize> = [row.p, row.q]
                    .into_iter()
                    .flatten()
                    .filter_map(|s| g.slots[s].image)
                    .collect();
                if copies.len() == 2 {
                    copied += 1;
                }
                for img in copies {
                    eqs.push(Equation {
                        member: img,
                        member_offset: loc.member_offset,
                        space: 7,
                        fs_offset: x,
                        lone: false,
                    });
                }
            }
        }
    }
    assert!(copied > 10, "{copied}");
    let f = explain(&eqs, 4, member, &g).unwrap();
    assert_eq!(f.explained, f.considered);
    let structures: std::collections::HashSet<u64> = eqs.iter().map(|e| e.fs_offset).collect();
    assert_eq!(
        f.explained,
        structures.len(),
        "every structure, copies included"
    );
}

#[test]
fn a_boot_sector_and_its_backup_are_two_structures() {
    // keys: (member, member offset, space, fs offset). An NTFS boot
    // sector reads as the primary (0) or the backup (END): the primary
    // on member 0 and the backup on member 2 each place their own member;
    // the copy of the primary in parity (member 1, same offset) is one
    // structure with it, as are MFT records and their $MFTMirr copies.
    const END: u64 = 300 << 20;
    let keys = [
        (0, 0, 5, 0),
        (0, 0, 5, END),
        (2, (100 << 20) - 512, 5, 0),
        (2, (100 << 20) - 512, 5, END),
        (1, 0, 5, 0),
        (1, 0, 5, END),
        (0, 16384, 6, 0),
        (1, 50 << 20, 6, 0),
    ];
    let (group, groups) = structure_groups(&keys);
    assert_eq!(groups, 3, "{group:?}");
    assert_eq!(group[0], group[1]);
    assert_eq!(group[2], group[3]);
    assert_ne!(group[0], group[2]);
    assert_eq!(group[4], group[0]);
    assert_eq!(group[6], group[7]);
}

#[test]
fn a_run_crossing_two_members_tries_its_tied_starts() {
    // RAID0 of 3, 512K chunks, order [2, 0, 1]: an MFT of 1K records
    // with 100 in chunk 0 (one chunk of one member: no evidence, though
    // the largest group) and a later run of 24 crossing from chunk 46 to
    // chunk 47 (one row: data index 1 then 2, or 0 then 1 alike). The
    // boot sector (array 0) and its backup (in chunk 599) tell the two
    // apart only with the later run at its true start.
    let member = 256 << 20;
    let chunk = 512u64 << 10;
    let order = [Some(2), Some(0), Some(1)];
    let g =
        Geometry::new(Level::Raid0, Layout::default_for(Level::Raid0), chunk, 3).with_order(&order);
    let mut eqs = equations(
        &g,
        member,
        0,
        &(0..100).map(|i| 16384 + i * 1024).collect::<Vec<_>>(),
    );
    let run: Vec<u64> = (0..24).map(|i| 47 * chunk - 12 * 1024 + i * 1024).collect();
    eqs.extend(
        equations(&g, member, 0, &run)
            .into_iter()
            .map(|e| Equation {
                fs_offset: e.fs_offset - 46 * chunk + 140 * 1024,
                ..e
            }),
    );
    for (x, fs) in [(0, 0), (600 * chunk - 512, 600 * chunk - 512)] {
        eqs.extend(
            equations(&g, member, 0, &[x])
                .into_iter()
                .map(|e| Equation {
                    space: 8,
                    fs_offset: fs,
                    ..e
                }),
        );
    }
    let f = fit(&eqs, 3, member, raid0(3), chunk, 0).unwrap();
    assert_eq!(f.explained, f.considered);
    assert_eq!(
        f.geometry.slots.iter().map(|s| s.image).collect::<Vec<_>>(),
        order
    );
}

/// A sector non-zero on its member only is lone; one that another member
/// also holds data in, or that the samples do not cover, is not.
#[test]
fn a_sector_with_data_on_one_member_only_is_lone() {
    use crate::sample::{SampleWindow, Samples};
    let mut data = vec![vec![0u8; 4096]; 3];
    data[0][512..1024].fill(7);
    data[1][2048..2560].fill(9);
    data[2][2048] = 1;
    let samples = Samples {
        windows: vec![SampleWindow {
            offset: 1 << 20,
            data,
        }],
        bytes_read_per_member: 0,
        common_bytes: 0,
    };
    let eq = |member, member_offset| Equation {
        member,
        member_offset,
        space: 7,
        fs_offset: 0,
        lone: false,
    };
    let mut eqs = [
        eq(0, (1 << 20) + 512),
        eq(1, (1 << 20) + 2048),
        eq(0, (1 << 20) + 1024),
        eq(0, 0),
    ];
    mark_lone(&mut eqs, &samples);
    let got: Vec<bool> = eqs.iter().map(|e| e.lone).collect();
    assert_eq!(got, [true, false, false, false]);
}
