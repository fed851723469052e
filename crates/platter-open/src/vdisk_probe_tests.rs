//! Tests of the decoding virtual-disk probes through the builtin registry.

use std::path::Path;

use platter_core::sys::OpenOptions;

use crate::registry::Registry;

const SECTOR: u64 = 512;
/// seSparse grain: 8 sectors (the only size qemu and ESXi accept).
const GRAIN: u64 = 8 * SECTOR;
/// Region starts of the ESXi seSparse layout, in sectors (qemu
/// `block/vmdk.c`, `VMDKSESparseConstHeader`).
const VOLATILE: u64 = 1;
const GD: u64 = 4096;
const GTS: u64 = 6144;
const GRAINS: u64 = 12288;
/// Every region is 2048 sectors long.
const REGION: u64 = 2048;

fn put64(b: &mut [u8], at: u64, v: u64) {
    let at = at as usize;
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A bare seSparse extent (no descriptor, no parent) of `capacity_sectors`
/// whose grain 0 holds `grain0` (allocated at grain index 0), grain 1 is a
/// zero grain and the rest unallocated.
fn sesparse(path: &Path, capacity_sectors: u64, grain0: &[u8]) {
    let mut f = vec![0u8; (GRAINS * SECTOR + GRAIN) as usize];
    // Const header: magic, version 2.1, capacity, grain size, table size,
    // flags, 4 reserved, then (offset, size) of each region.
    let head = [
        platter_vdisk::vmdk::SESPARSE_MAGIC,
        0x0000_0002_0000_0001,
        capacity_sectors,
        GRAIN / SECTOR,
        64,
        0,
        0,
        0,
        0,
        0,
        VOLATILE,
        1,
        2,
        2,
        2048,
        REGION,
        GD,
        REGION,
        GTS,
        REGION,
        8192,
        REGION,
        10240,
        REGION,
        GRAINS,
        capacity_sectors,
    ];
    for (i, v) in head.into_iter().enumerate() {
        put64(&mut f, i as u64 * 8, v);
    }
    // Volatile header: magic, free table number 1, no journal to replay.
    put64(&mut f, VOLATILE * SECTOR, 0xcafe_cafe);
    put64(&mut f, VOLATILE * SECTOR + 8, 1);
    // Directory entry 0: allocated, grain table 0.
    put64(&mut f, GD * SECTOR, 0x1000_0000_0000_0000);
    // Grain table 0: grain 0 allocated at index 0 (type 3), grain 1 zero
    // (type 2).
    put64(&mut f, GTS * SECTOR, 3 << 60);
    put64(&mut f, GTS * SECTOR + 8, 2 << 60);
    let at = (GRAINS * SECTOR) as usize;
    f[at..at + grain0.len()].copy_from_slice(grain0);
    std::fs::write(path, f).unwrap();
}

#[test]
fn bare_sesparse_extent_is_detected_and_decoded() {
    let dir = tempfile::tempdir().unwrap();
    // Named like a raw image: detection must come from the magic.
    let path = dir.path().join("snapshot.raw");
    let grain0: Vec<u8> = (0..GRAIN).map(|i| (i % 251) as u8 | 1).collect();
    let capacity_sectors = 2048;
    sesparse(&path, capacity_sectors, &grain0);

    let opened = Registry::builtin()
        .open(&path, &OpenOptions::default())
        .unwrap();
    assert_eq!(opened.format.name, "vmdk", "{:?}", opened.notes);
    assert_eq!(opened.detected.map(|f| f.name), Some("vmdk"));
    let subformat = opened
        .metadata
        .properties
        .iter()
        .find(|(k, _)| k == "subformat")
        .map(|(_, v)| v.as_str());
    assert_eq!(subformat, Some("seSparse"));
    // The guest view: capacity bytes, grain 0 from the file, zeros after
    // (a far cry from the raw file, whose first bytes are the header).
    assert_eq!(opened.source.len(), capacity_sectors * SECTOR);
    let mut disk = vec![0xeeu8; (capacity_sectors * SECTOR) as usize];
    opened.source.read_exact_at(&mut disk, 0).unwrap();
    assert_eq!(&disk[..GRAIN as usize], &grain0[..]);
    assert!(disk[GRAIN as usize..].iter().all(|&b| b == 0));
}
