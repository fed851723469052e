//! Tests of [`super`]: first data, copy votes and start vectors.

use super::*;
use platter_core::MemSource;

fn text(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = seed;
    while out.len() < len {
        out.extend_from_slice(format!("record {i:010} of seed {seed}: data\n").as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

#[test]
fn snaps_to_plausible_starts() {
    assert_eq!(snap_down(0), 0);
    assert_eq!(snap_down(1024), 0);
    assert_eq!(snap_down(4096 + 1024), 4096);
    assert_eq!(snap_down(34 * 512 + 3), 34 * 512);
    assert_eq!(snap_down((64 << 10) + 512), 64 << 10);
    assert_eq!(snap_down((1 << 20) + 1024), 1 << 20);
    assert_eq!(snap_down((1 << 20) + 8192), 1 << 20);
    assert_eq!(snap_down((128 << 20) + 1024), 128 << 20);
}

#[test]
fn first_data_skips_zeros_and_metadata() {
    let mut d = vec![0u8; 4 << 20];
    // An md v1.2 superblock at 4 KiB, data from 1 MiB + 1 KiB.
    d[4096..4100].copy_from_slice(&MD_MAGIC.to_le_bytes());
    d[4096 + 100] = 7;
    d[(1 << 20) + 1024] = 1;
    let m = MemSource::new("m", d);
    assert_eq!(first_data(&m).0, Some((1 << 20) + 1024));
    let z = MemSource::new("z", vec![0u8; 1 << 20]);
    assert_eq!(first_data(&z).0, None);
    let e = MemSource::new("e", Vec::new());
    assert_eq!(first_data(&e).0, None);
}

#[test]
fn data_past_the_head_is_tried_from_its_start_on_every_member() {
    let m = 1u64 << 20;
    // Every member's first data 16 MiB in (the first chunk's within a
    // sector of it, the others later): tried from 16 MiB everywhere.
    let first = [Some(16 * m + 1024), Some(16 * m + 70_000), Some(17 * m)];
    let v = start_vectors(&first, &[], 3);
    assert_eq!(v.first(), Some(&vec![16 * m; 3]), "{v:?}");
    // Data within the sampled head: nothing to try at equal starts.
    let v = start_vectors(&[Some(1024), Some(70_000), Some(4096)], &[], 3);
    assert!(v.iter().all(|x| x.iter().any(|&o| o != x[0])), "{v:?}");
    // A large member is scanned further than a small one.
    assert_eq!(scan_limit(1 << 30), SCAN_LIMIT_BYTES);
    assert_eq!(scan_limit(1 << 40), SCAN_LIMIT_MAX_BYTES);
    assert_eq!(scan_limit(32 << 30), 128 << 20);
    assert_eq!(scan_limit(4096), 4096);
}

#[test]
fn scan_is_bounded() {
    // Data only past the scan limit: not found, and at most the limit
    // read.
    let mut d = vec![0u8; (SCAN_LIMIT_BYTES + (1 << 20)) as usize];
    let at = d.len() - 10;
    d[at] = 1;
    let m = MemSource::new("m", d);
    let (f, read) = first_data(&m);
    assert_eq!(f, None);
    assert!(read <= SCAN_LIMIT_BYTES);
}

#[test]
fn mirrors_at_different_offsets_vote_their_difference() {
    let body = text(2 << 20, 3);
    let mut a = vec![0u8; 64 << 10];
    a.extend_from_slice(&body);
    let mut b = vec![0u8; 1 << 20];
    b.extend_from_slice(&body);
    let c = body.clone();
    let srcs = [
        MemSource::new("a", a),
        MemSource::new("b", b),
        MemSource::new("c", c),
    ];
    let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
    let e = estimate(&refs);
    assert_eq!(e.vectors.first(), Some(&vec![64 << 10, 1 << 20, 0]));
}

#[test]
fn aligned_members_give_nothing_to_try() {
    let body = text(1 << 20, 5);
    let srcs = [MemSource::new("a", body.clone()), MemSource::new("b", body)];
    let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
    assert!(estimate(&refs).vectors.is_empty());
}

#[test]
fn unrelated_members_fall_back_to_first_data() {
    let mut a = vec![0u8; 128 << 10];
    a.extend_from_slice(&text(1 << 20, 1));
    let b = text(1 << 20, 2);
    let srcs = [MemSource::new("a", a), MemSource::new("b", b)];
    let refs: Vec<&dyn Source> = srcs.iter().map(|s| s as &dyn Source).collect();
    let e = estimate(&refs);
    assert_eq!(e.vectors.first(), Some(&vec![128 << 10, 0]));
}

#[test]
fn trivial_sectors_do_not_vote() {
    assert!(trivial(&[0xff; 512]));
    assert!(!trivial(&text(512, 9)));
}
