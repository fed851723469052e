use super::*;
use crate::structures::test_support::noise;

/// P and Q of `data` with Q exponents 0, 1, 2, …
fn pq(data: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
    let mut p = vec![0u8; SECTOR];
    let mut q = vec![0u8; SECTOR];
    for (e, d) in data.iter().enumerate() {
        for b in 0..SECTOR {
            p[b] ^= d[b];
            q[b] ^= gf::mul(gf::exp(e), d[b]);
        }
    }
    (p, q)
}

/// `v` scaled so that member `m` has coefficient 1.
fn scaled(v: &[Option<u8>], m: usize) -> Vec<Option<u8>> {
    let s = gf::inv(v[m].unwrap());
    v.iter().map(|c| c.map(|c| gf::mul(c, s))).collect()
}

#[test]
fn each_missing_role_leaves_the_relation_its_row_predicts() {
    let data: Vec<Vec<u8>> = (0..3).map(|i| noise(2 * i + 1, SECTOR)).collect();
    let (p, q) = pq(&data);
    let g = |e: usize| gf::exp(e);
    // Q missing: D0 D1 D2 P, the plain XOR.
    let rel = relation(&[&data[0], &data[1], &data[2], &p]).unwrap();
    assert_eq!(rel, vec![Some(1); 4]);
    // P missing: Q ⊕ D0 ⊕ g·D1 ⊕ g²·D2 = 0.
    let rel = relation(&[&q, &data[0], &data[1], &data[2]]).unwrap();
    assert_eq!(
        scaled(&rel, 0),
        vec![Some(1), Some(g(0)), Some(g(1)), Some(g(2))]
    );
    // D1 missing: Q ⊕ g·P ⊕ (1⊕g)·D0 ⊕ (g²⊕g)·D2 = 0.
    let rel = relation(&[&p, &q, &data[0], &data[2]]).unwrap();
    assert_eq!(
        scaled(&rel, 1),
        vec![Some(g(1)), Some(1), Some(g(0) ^ g(1)), Some(g(2) ^ g(1))]
    );
    // A zero sector takes no part.
    let zero = vec![0u8; SECTOR];
    let (p, _) = pq(&[data[0].clone(), zero.clone(), data[2].clone()]);
    let rel = relation(&[&data[0], &zero, &data[2], &p]).unwrap();
    assert_eq!(rel, vec![Some(1), None, Some(1), Some(1)]);
}

#[test]
fn unrelated_or_merely_equal_sectors_show_no_raid6_relation() {
    let a = noise(7, SECTOR);
    let b = noise(9, SECTOR);
    let c = noise(11, SECTOR);
    assert_eq!(relation(&[&a, &b, &c]), None, "independent");
    // Two equal sectors beside an unrelated one: the relation leaves the
    // third out (coefficient 0), which RAID6 never does.
    assert_eq!(relation(&[&a, &a, &c]), None);
    // Fewer than two non-zero members say nothing.
    let zero = vec![0u8; SECTOR];
    assert_eq!(relation(&[&a, &zero, &zero]), None);
    // Text in every member is still independent over GF(2^8).
    let text = |s: &str| s.bytes().cycle().take(SECTOR).collect::<Vec<u8>>();
    let (x, y, z) = (
        text("the quick brown fox jumps "),
        text("over the lazy dog, again and "),
        text("lorem ipsum dolor sit amet "),
    );
    assert_eq!(relation(&[&x, &y, &z]), None);
}

#[test]
fn predictions_follow_the_missing_slot_role() {
    let t = PlacementTable::new(Level::Raid6, ParityLayout::LeftSymmetric, 5).unwrap();
    for row in 0..10u64 {
        let r = t.row(row).clone();
        let (p, q) = (r.p.unwrap(), r.q.unwrap());
        for missing in 0..5 {
            let pred = predicted(&t, row, missing, 5).unwrap();
            assert_eq!(pred[missing], 0);
            assert!(
                pred.iter()
                    .enumerate()
                    .all(|(s, &c)| s == missing || c != 0)
            );
            assert_eq!(
                plain_xor_row(&pred),
                missing == q,
                "row {row} slot {missing}"
            );
            if missing != q {
                assert_eq!(pred[q], 1);
            }
            if missing == p {
                assert!(r.data_slots.iter().all(|&d| pred[d] != 0));
            }
        }
    }
}

#[test]
fn spread_picks_every_residue_of_a_regular_stride() {
    // 64 windows of 128 sectors, every one informative: a stride of 32
    // would see one residue of a 32-sector row period only.
    let picked: Vec<usize> = spread(64 * 128, 256).collect();
    assert_eq!(picked.len(), 256);
    assert!(picked.windows(2).all(|w| w[0] < w[1]));
    let mut residues: Vec<usize> = picked.iter().map(|i| i % 32).collect();
    residues.sort_unstable();
    residues.dedup();
    assert!(residues.len() >= 16, "{residues:?}");
    assert!(spread(3, 10).eq([0, 1, 2]));
}
