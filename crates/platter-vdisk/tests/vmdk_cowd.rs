//! COWD (vmfsSparse) redo logs made by the independent generator in
//! `vmdk_gen`, read through `platter_vdisk::open` and compared byte for
//! byte with the model (parent bytes overlaid with the guest writes). qemu-img
//! reads the same files as a second oracle, which also proves the generator
//! writes what qemu understands.

mod vmdk_common;
mod vmdk_gen;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use platter_vdisk::{Error, VdiskOptions};
use vmdk_common::{MIB, make_raw, qemu_raw, random_bytes, run};
use vmdk_gen::check::{assert_file_is, assert_loses_exactly, assert_reads_as, merge};
use vmdk_gen::{COWD_GT_SECTORS, COWD_GTES, Cowd, SECTOR, cid_of, descriptor, pattern};

const CHILD_CID: u32 = 0x5eed_c0d1;

fn open(p: &Path) -> platter_vdisk::VirtualDisk {
    platter_vdisk::open(p, &VdiskOptions::default()).unwrap()
}

fn kinds(d: &platter_vdisk::VirtualDisk) -> Vec<String> {
    d.info.anomalies.iter().map(|a| a.kind.clone()).collect()
}

/// Writes `cowd` as `<name>-delta.vmdk` and its ESX descriptor `<name>.vmdk`
/// pointing at `parent`. Returns the descriptor path.
fn write_child(dir: &Path, name: &str, cowd: &Cowd, parent: &str, parent_cid: u32) -> PathBuf {
    let delta = format!("{name}-delta.vmdk");
    cowd.image().write_to(&dir.join(&delta));
    let desc = descriptor(
        CHILD_CID,
        parent_cid,
        "vmfsSparse",
        Some(parent),
        (u64::from(cowd.capacity_sectors), "VMFSSPARSE", &delta),
    );
    let p = dir.join(format!("{name}.vmdk"));
    std::fs::write(&p, desc).unwrap();
    p
}

/// A flat ESX base disk (`vmfs`, extent `VMFS`) holding `bytes`.
fn flat_base(dir: &Path, bytes: &[u8], cid: u32) -> PathBuf {
    std::fs::write(dir.join("base-flat.vmdk"), bytes).unwrap();
    let sectors = bytes.len() as u64 / SECTOR;
    let p = dir.join("base.vmdk");
    std::fs::write(
        &p,
        descriptor(
            cid,
            0xffff_ffff,
            "vmfs",
            None,
            (sectors, "VMFS", "base-flat.vmdk"),
        ),
    )
    .unwrap();
    p
}

/// Guest writes used by several tests: aligned and unaligned, one across
/// a grain-table boundary, one at the very end, one rewriting earlier data.
fn guest_writes(cowd: &mut Cowd, disk: &mut [u8]) {
    let cov = COWD_GTES * u64::from(cowd.grain_sectors) * SECTOR;
    let len = disk.len() as u64;
    let w: Vec<(u64, Vec<u8>)> = vec![
        (512, random_bytes(11, 1024)),
        (MIB + 512, random_bytes(12, 64 << 10)),
        (5 * MIB + 7 * 512 + 100, random_bytes(13, 1500)),
        ((cov - 2048).min(len / 2), random_bytes(14, 8192)),
        (len - 4096, random_bytes(15, 4096)),
        (MIB + 4096, random_bytes(16, 700)),
        (
            (3 * cov + 1234).min(len - MIB),
            b"platter cowd test".repeat(40),
        ),
    ];
    for (off, data) in w {
        cowd.write(disk, off, &data);
    }
}

#[test]
fn redo_log_over_a_qemu_sparse_base_reads_like_the_model_and_qemu() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let size = 12 * MIB;
    let raw = make_raw(d, size);
    let base = d.join("base.vmdk");
    run(Command::new("qemu-img")
        .args(["convert", "-O", "vmdk", "-o", "subformat=monolithicSparse"])
        .arg(&raw)
        .arg(&base));
    let mut disk = std::fs::read(&raw).unwrap();
    // ESX's default redo-log granularity: one sector.
    let mut cowd = Cowd::new((size / SECTOR) as u32, 1, "base.vmdk");
    assert_eq!(cowd.gd_entries, 6, "2 MiB per table at 1-sector grains");
    guest_writes(&mut cowd, &mut disk);
    let child = write_child(d, "disk", &cowd, "base.vmdk", cid_of(&base));

    let vd = open(&child);
    assert_eq!(vd.info.subformat, "vmfsSparse");
    assert_eq!(vd.info.chain.len(), 2);
    assert!(vd.info.anomalies.is_empty(), "{:?}", vd.info.anomalies);
    assert_reads_as(&*vd.source, &disk);

    let out = d.join("qemu.raw");
    qemu_raw(&child, &out);
    assert_file_is(&out, &disk);
}

#[test]
fn chain_of_two_redo_logs_over_a_flat_base() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let size = 20 * MIB;
    let mut disk = pattern(1, size as usize);
    disk[4 * MIB as usize..6 * MIB as usize].fill(0);
    flat_base(d, &disk, 0x0bad_ba5e);

    // First snapshot: 8 KiB grains, so small writes copy the rest of the
    // grain from the base.
    let mut s1 = Cowd::new((size / SECTOR) as u32, 16, "base.vmdk");
    guest_writes(&mut s1, &mut disk);
    s1.write(&mut disk, 4 * MIB + 3000, &random_bytes(21, 5000));
    let mid = write_child(d, "snap1", &s1, "base.vmdk", 0x0bad_ba5e);
    let mid_disk = disk.clone();

    // Second snapshot on top, one-sector grains, partly over the first's.
    let mut s2 = Cowd::new((size / SECTOR) as u32, 1, "snap1.vmdk");
    s2.write(&mut disk, MIB + 10_000, &random_bytes(22, 20_000));
    s2.write(&mut disk, 17 * MIB + 1, &random_bytes(23, 3));
    s2.write(&mut disk, 0, &[0u8; 512]);
    let delta2 = "snap2-delta.vmdk";
    s2.image().write_to(&d.join(delta2));
    let top = d.join("snap2.vmdk");
    std::fs::write(
        &top,
        descriptor(
            0x7777_7777,
            CHILD_CID,
            "vmfsSparse",
            Some("snap1.vmdk"),
            (size / SECTOR, "VMFSSPARSE", delta2),
        ),
    )
    .unwrap();

    let vd = open(&mid);
    assert_reads_as(&*vd.source, &mid_disk);
    let vd = open(&top);
    assert_eq!(vd.info.chain.len(), 3);
    assert!(vd.info.anomalies.is_empty(), "{:?}", vd.info.anomalies);
    assert_reads_as(&*vd.source, &disk);

    let out = d.join("qemu.raw");
    qemu_raw(&top, &out);
    assert_file_is(&out, &disk);
}

#[test]
fn a_redo_log_opened_alone_holds_only_its_grains() {
    let dir = tempfile::tempdir().unwrap();
    let size = 8 * MIB;
    let mut disk = pattern(2, size as usize);
    let mut cowd = Cowd::new((size / SECTOR) as u32, 16, "base.vmdk");
    guest_writes(&mut cowd, &mut disk);
    let file = dir.path().join("lone-delta.vmdk");
    cowd.image().write_to(&file);
    let gb = 16 * SECTOR;
    let mut alone = vec![0u8; size as usize];
    for (g, _) in cowd.allocated() {
        let r = (g * gb) as usize..((g + 1) * gb) as usize;
        alone[r.clone()].copy_from_slice(&disk[r]);
    }
    let vd = open(&file);
    assert_eq!(vd.info.subformat, "vmfsSparse");
    assert_eq!(vd.info.block_size, Some(gb));
    assert_reads_as(&*vd.source, &alone);
}

/// Grain size of the damaged fixtures, in sectors (tables of 8 MiB).
const DAMAGED_GRAIN: u32 = 4;

/// A flat base, a 32 MiB redo log with 2 KiB grains (four tables), and
/// the model.
fn damaged_fixture(d: &Path) -> (Cowd, Vec<u8>, PathBuf) {
    let size = 32 * MIB;
    let mut disk = pattern(3, size as usize);
    flat_base(d, &disk, 0x1234_5678);
    let mut cowd = Cowd::new((size / SECTOR) as u32, DAMAGED_GRAIN, "base.vmdk");
    guest_writes(&mut cowd, &mut disk);
    (cowd, disk, d.join("disk.vmdk"))
}

#[test]
fn truncated_redo_log_loses_exactly_the_grains_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (cowd, disk, _) = damaged_fixture(d);
    let gb = u64::from(DAMAGED_GRAIN) * SECTOR;
    let cov = COWD_GTES * gb;
    let mut img = cowd.image();
    let alloc = cowd.allocated();
    // Cut 1000 bytes into a grain about two thirds through the file.
    let mut offs: Vec<u64> = alloc.iter().map(|a| a.1).collect();
    offs.sort_unstable();
    let cut = offs[offs.len() * 2 / 3] + 1000;
    img.len = cut;
    let child = write_child(d, "disk", &cowd, "base.vmdk", 0x1234_5678);
    img.write_to(&d.join("disk-delta.vmdk"));

    // Expected losses, from the generator's own placement: a grain table
    // cut off loses its whole range; a grain cut off loses what lies past
    // the cut.
    let cap = disk.len() as u64;
    let mut lost = Vec::new();
    for t in 0..u64::from(cowd.gd_entries) {
        if let Some(o) = cowd.gt_offset(t as usize) {
            if o + u64::from(COWD_GT_SECTORS) * SECTOR > cut {
                lost.push((t * cov, ((t + 1) * cov).min(cap)));
            }
        }
    }
    for &(g, o) in &alloc {
        if o + gb > cut {
            lost.push((g * gb + cut.saturating_sub(o), (g + 1) * gb));
        }
    }
    let lost = merge(lost);
    assert!(!lost.is_empty());

    let vd = open(&child);
    assert!(
        kinds(&vd).contains(&"truncated".to_string()),
        "{:?}",
        kinds(&vd)
    );
    assert_loses_exactly(&*vd.source, &disk, &lost);
}

#[test]
fn grain_pointers_outside_the_file_or_into_the_header_are_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (cowd, disk, _) = damaged_fixture(d);
    let gb = u64::from(DAMAGED_GRAIN) * SECTOR;
    let cov = COWD_GTES * gb;
    let alloc = cowd.allocated();
    let mut img = cowd.image();
    // Grain A points far past the end; grain B into the 2048-byte header.
    let (ga, _) = alloc[1];
    let (gbi, _) = *alloc.iter().find(|(g, _)| g / COWD_GTES == 1).unwrap();
    img.put(cowd.gte_offset(ga).unwrap(), &0x7fff_fff0u32.to_le_bytes());
    img.put(cowd.gte_offset(gbi).unwrap(), &2u32.to_le_bytes());
    // Directory entry 3 points past the end: its whole table is lost.
    img.put(cowd.gd_offset() + 3 * 4, &0x00ff_ff00u32.to_le_bytes());
    write_child(d, "disk", &cowd, "base.vmdk", 0x1234_5678);
    img.write_to(&d.join("disk-delta.vmdk"));

    let vd = open(&d.join("disk.vmdk"));
    let k = kinds(&vd);
    assert!(k.contains(&"invalid_gd_entry".to_string()), "{k:?}");
    for t in [0, 1] {
        assert!(
            vd.info
                .anomalies
                .iter()
                .any(|a| a.offset == cowd.gt_offset(t)),
            "no anomaly at damaged table {t}: {:?}",
            vd.info.anomalies
        );
    }
    let lost = merge(vec![
        (ga * gb, (ga + 1) * gb),
        (gbi * gb, (gbi + 1) * gb),
        (3 * cov, 4 * cov),
    ]);
    assert_loses_exactly(&*vd.source, &disk, &lost);

    let strict = VdiskOptions {
        strict: true,
        ..Default::default()
    };
    assert!(matches!(
        platter_vdisk::open(&d.join("disk.vmdk"), &strict),
        Err(Error::Strict(_))
    ));
}

#[test]
fn hostile_cowd_headers_fail_fast_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut disk = vec![0u8; (4 * MIB) as usize];
    let mut cowd = Cowd::new((4 * MIB / SECTOR) as u32, 1, "");
    cowd.write(&mut disk, 0, &[1u8; 4096]);
    let cases: [(usize, u32, &str); 4] = [
        (24, u32::MAX, "numGDEntries"),
        (16, 0, "granularity 0"),
        (16, u32::MAX, "huge granularity"),
        (24, 0, "numGDEntries 0"),
    ];
    for (at, value, what) in cases {
        let mut img = cowd.image();
        img.put(at as u64, &value.to_le_bytes());
        let p = d.join("hostile-delta.vmdk");
        img.write_to(&p);
        let t = Instant::now();
        let r = platter_vdisk::open(&p, &VdiskOptions::default());
        assert!(t.elapsed().as_secs_f64() < 1.0, "{what}: slow");
        let e = r.err().unwrap_or_else(|| panic!("{what}: opened"));
        assert!(
            matches!(e, Error::Limit { .. } | Error::Corrupt { .. }),
            "{what}: {e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("hostile-delta.vmdk"), "{what}: {msg}");
    }
    // A directory too small for the capacity: the rest is unreadable, and
    // said so.
    let mut img = cowd.image();
    img.put(24, &1u32.to_le_bytes());
    let p = d.join("short-delta.vmdk");
    img.write_to(&p);
    let vd = open(&p);
    assert!(kinds(&vd).contains(&"short_grain_directory".to_string()));
    let cov = COWD_GTES * SECTOR;
    assert_loses_exactly(&*vd.source, &disk, &[(cov, 4 * MIB)]);
}
