//! seSparse snapshots (ESXi 6.5+) made by the independent generator in
//! `vmdk_gen`, read through `platter_vdisk::open` and compared byte for
//! byte with the model (parent bytes overlaid with the guest's writes,
//! zeroed and unmapped grains). qemu-img reads the same files as a second
//! oracle.

mod vmdk_common;
mod vmdk_gen;

use std::path::{Path, PathBuf};
use std::time::Instant;

use platter_vdisk::{Error, VdiskOptions};
use vmdk_common::{MIB, make_raw, qemu_raw, random_bytes};
use vmdk_gen::check::{assert_file_is, assert_loses_exactly, assert_reads_as, merge, zero_within};
use vmdk_gen::{
    SE_GRAIN, SE_GTES, SECTOR, SeSparse, SeState, descriptor, pattern, se_allocated_entry,
};

const BASE_CID: u32 = 0x2c0f_fee0;
const CHILD_CID: u32 = 0x5e5b_a25e;
/// The capacity of the ESXi hostd.log example the layout comes from.
const CAPACITY_SECTORS: u64 = 204_800;

fn open(p: &Path) -> platter_vdisk::VirtualDisk {
    platter_vdisk::open(p, &VdiskOptions::default()).unwrap()
}

fn kinds(d: &platter_vdisk::VirtualDisk) -> Vec<String> {
    d.info.anomalies.iter().map(|a| a.kind.clone()).collect()
}

/// A 100 MiB flat ESX base (`vmfs`) made from an sfdisk-partitioned raw
/// disk with random, zero and text ranges. Returns its bytes.
fn flat_base(d: &Path) -> Vec<u8> {
    let raw = make_raw(d, CAPACITY_SECTORS * SECTOR);
    std::fs::rename(&raw, d.join("base-flat.vmdk")).unwrap();
    std::fs::write(
        d.join("base.vmdk"),
        descriptor(
            BASE_CID,
            0xffff_ffff,
            "vmfs",
            None,
            (CAPACITY_SECTORS, "VMFS", "base-flat.vmdk"),
        ),
    )
    .unwrap();
    std::fs::read(d.join("base-flat.vmdk")).unwrap()
}

/// What the guest did in the snapshot: writes (aligned, unaligned, across
/// the 16 MiB table boundary, at the end), zeroed grains over parent data,
/// unmapped grains (allocated, unallocated and zero ones), and a rewrite
/// of an unmapped grain. Returns the grains zeroed or unmapped.
fn guest_activity(se: &mut SeSparse, disk: &mut [u8]) -> Vec<u64> {
    let len = disk.len() as u64;
    let cov = SE_GTES * SE_GRAIN;
    let writes: Vec<(u64, Vec<u8>)> = vec![
        (0, random_bytes(31, 446)), // boot code, keeps the partition table
        (MIB + 100, random_bytes(32, 40_000)),
        (cov - 3000, random_bytes(33, 9000)),
        (5 * cov + 4096, random_bytes(34, 4096)),
        (len - 4096, random_bytes(35, 4096)),
        (6 * MIB + 7, b"seSparse grain ".repeat(1000)),
        (MIB + 20_000, random_bytes(36, 100)),
    ];
    for (off, data) in &writes {
        se.write(disk, *off, data);
    }
    let g = |off: u64| off / SE_GRAIN;
    // Zero grains over random parent data (2 MiB) and over a written one.
    let zeroed = [g(2 * MIB), g(2 * MIB) + 1, g(MIB + 100) + 2];
    for z in zeroed {
        se.zero(disk, z);
    }
    // Unmap: an allocated grain, an unallocated one over parent data, a
    // zero one; then write into another unmapped grain again.
    let unmapped = [g(cov - 3000), g(3 * MIB + 8192), g(2 * MIB)];
    for u in unmapped {
        se.unmap(disk, u);
    }
    se.unmap(disk, g(6 * MIB + 7) + 1);
    se.write(disk, 6 * MIB + 4096 + 10, &random_bytes(37, 50));
    let mut hidden: Vec<u64> = zeroed.iter().chain(&unmapped).copied().collect();
    hidden.sort_unstable();
    hidden.dedup();
    hidden
}

/// Writes the snapshot as `disk-000001-sesparse.vmdk` with its descriptor
/// `disk-000001.vmdk` over `base.vmdk`.
fn write_child(d: &Path, se: &SeSparse) -> PathBuf {
    se.image().write_to(&d.join("disk-000001-sesparse.vmdk"));
    let p = d.join("disk-000001.vmdk");
    std::fs::write(
        &p,
        descriptor(
            CHILD_CID,
            BASE_CID,
            "seSparse",
            Some("base.vmdk"),
            (se.capacity_sectors, "SESPARSE", "disk-000001-sesparse.vmdk"),
        ),
    )
    .unwrap();
    p
}

#[test]
fn snapshot_over_a_flat_base_reads_like_the_model_and_qemu() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut disk = flat_base(d);
    let mut se = SeSparse::new(CAPACITY_SECTORS);
    let hidden = guest_activity(&mut se, &mut disk);
    // The index sequence must reach past 4096, where the entry encoding
    // splits the index.
    assert!(
        se.allocated()
            .iter()
            .any(|&(_, o)| o >= SeSparse::index_offset(4096))
    );
    assert!(matches!(
        se.state(hidden[0]),
        SeState::Zero | SeState::Unmapped(_)
    ));
    let child = write_child(d, &se);

    let vd = open(&child);
    assert_eq!(vd.info.subformat, "seSparse");
    assert_eq!(vd.info.block_size, Some(SE_GRAIN));
    assert_eq!(vd.info.chain.len(), 2);
    assert!(vd.info.anomalies.is_empty(), "{:?}", vd.info.anomalies);
    assert_reads_as(&*vd.source, &disk);
    // Zeroed and unmapped grains hide the parent's data and are reported
    // as zero extents (so copies stay sparse).
    for g in hidden {
        let (a, b) = (g * SE_GRAIN, (g + 1) * SE_GRAIN);
        assert_eq!(zero_within(&*vd.source, a, b), vec![(a, b)], "grain {g}");
    }

    let out = d.join("qemu.raw");
    qemu_raw(&child, &out);
    assert_file_is(&out, &disk);
}

#[test]
fn a_snapshot_file_opened_alone_holds_only_its_grains() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let size = CAPACITY_SECTORS * SECTOR;
    let mut disk = pattern(4, size as usize);
    let mut se = SeSparse::new(size / SECTOR);
    guest_activity(&mut se, &mut disk);
    let file = d.join("lone-sesparse.vmdk");
    se.image().write_to(&file);
    // Alone, unallocated grains are zeros; everything else as in the model.
    let mut alone = vec![0u8; size as usize];
    for g in 0..size / SE_GRAIN {
        if se.state(g) != SeState::Unallocated {
            let r = (g * SE_GRAIN) as usize..((g + 1) * SE_GRAIN) as usize;
            alone[r.clone()].copy_from_slice(&disk[r]);
        }
    }
    let vd = open(&file);
    assert_eq!(vd.info.subformat, "seSparse");
    assert_reads_as(&*vd.source, &alone);
}

/// A smaller snapshot over a random flat base, for the damage tests.
fn damaged_fixture(d: &Path) -> (SeSparse, Vec<u8>) {
    let size = CAPACITY_SECTORS * SECTOR;
    let mut disk = pattern(5, size as usize);
    std::fs::write(d.join("base-flat.vmdk"), &disk).unwrap();
    std::fs::write(
        d.join("base.vmdk"),
        descriptor(
            BASE_CID,
            0xffff_ffff,
            "vmfs",
            None,
            (CAPACITY_SECTORS, "VMFS", "base-flat.vmdk"),
        ),
    )
    .unwrap();
    let mut se = SeSparse::new(CAPACITY_SECTORS);
    guest_activity(&mut se, &mut disk);
    (se, disk)
}

#[test]
fn truncated_snapshot_loses_exactly_the_grains_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (se, disk) = damaged_fixture(d);
    let child = write_child(d, &se);
    let alloc = se.allocated();
    let mut offs: Vec<u64> = alloc.iter().map(|a| a.1).collect();
    offs.sort_unstable();
    let cut = offs[offs.len() / 2] + 1000;
    let mut img = se.image();
    img.len = cut;
    img.write_to(&d.join("disk-000001-sesparse.vmdk"));
    let lost = merge(
        alloc
            .iter()
            .filter(|&&(_, o)| o + SE_GRAIN > cut)
            .map(|&(g, o)| (g * SE_GRAIN + cut.saturating_sub(o), (g + 1) * SE_GRAIN))
            .collect(),
    );
    assert!(lost.len() > 3);

    let vd = open(&child);
    assert!(
        kinds(&vd).contains(&"truncated".to_string()),
        "{:?}",
        kinds(&vd)
    );
    assert_loses_exactly(&*vd.source, &disk, &lost);
}

#[test]
fn bad_table_entries_make_only_their_grains_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (se, disk) = damaged_fixture(d);
    let child = write_child(d, &se);
    let alloc = se.allocated();
    let mut img = se.image();
    // Grain A: an allocated entry whose index lies far past the file.
    let ga = alloc[0].0;
    img.put(
        se.gte_offset(ga).unwrap(),
        &se_allocated_entry(1 << 40).to_le_bytes(),
    );
    // Grain B: an unknown type nibble.
    let gb = alloc[alloc.len() / 2].0;
    img.put(
        se.gte_offset(gb).unwrap(),
        &0x7000_0000_0000_0001u64.to_le_bytes(),
    );
    // Table 5: a directory entry without the "allocated" nibble.
    img.put(
        SeSparse::gde_offset(5),
        &0x2000_0000_0000_0003u64.to_le_bytes(),
    );
    img.write_to(&d.join("disk-000001-sesparse.vmdk"));
    let cov = SE_GTES * SE_GRAIN;
    assert_ne!(ga / SE_GTES, 5);
    assert_ne!(gb / SE_GTES, 5);
    let lost = merge(vec![
        (ga * SE_GRAIN, (ga + 1) * SE_GRAIN),
        (gb * SE_GRAIN, (gb + 1) * SE_GRAIN),
        (5 * cov, 6 * cov),
    ]);

    let vd = open(&child);
    let k = kinds(&vd);
    assert!(k.contains(&"invalid_gd_entry".to_string()), "{k:?}");
    for g in [ga, gb] {
        let table = se.gte_offset(g).unwrap() / (SE_GTES * 8) * (SE_GTES * 8);
        assert!(
            vd.info.anomalies.iter().any(|a| a.offset == Some(table)),
            "no anomaly at the table of grain {g}: {:?}",
            vd.info.anomalies
        );
    }
    assert_loses_exactly(&*vd.source, &disk, &lost);
}

#[test]
fn hostile_headers_fail_fast_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut disk = vec![0u8; (16 * MIB) as usize];
    let mut se = SeSparse::new(16 * MIB / SECTOR);
    se.write(&mut disk, 0, &[7u8; 8192]);
    // (byte offset, value, what)
    let cases: [(u64, u64, &str); 6] = [
        (2 * 8, u64::MAX, "capacity"),
        (3 * 8, 1 << 40, "grain size"),
        (4 * 8, 0, "grain table size"),
        (17 * 8, u64::MAX, "grain directory size"),
        (10 * 8, u64::MAX, "volatile header offset"),
        (512, 0xdead_beef, "volatile magic"),
    ];
    for (at, value, what) in cases {
        let mut img = se.image();
        img.put(at, &value.to_le_bytes());
        let p = d.join("hostile-sesparse.vmdk");
        img.write_to(&p);
        let t = Instant::now();
        let r = platter_vdisk::open(&p, &VdiskOptions::default());
        assert!(t.elapsed().as_secs_f64() < 1.0, "{what}: slow");
        let e = r.err().unwrap_or_else(|| panic!("{what}: opened"));
        assert!(
            matches!(
                e,
                Error::Limit { .. } | Error::Corrupt { .. } | Error::Unsupported { .. }
            ),
            "{what}: {e:?}"
        );
        assert!(
            e.to_string().contains("hostile-sesparse.vmdk"),
            "{what}: {e}"
        );
    }
    // A journal that needs replaying is reported, and strict refuses it.
    let mut img = se.image();
    img.put(512 + 24, &1u64.to_le_bytes());
    let p = d.join("dirty-sesparse.vmdk");
    img.write_to(&p);
    assert!(kinds(&open(&p)).contains(&"journal_not_replayed".to_string()));
    let strict = VdiskOptions {
        strict: true,
        ..Default::default()
    };
    assert!(matches!(
        platter_vdisk::open(&p, &strict),
        Err(Error::Strict(_))
    ));
}
