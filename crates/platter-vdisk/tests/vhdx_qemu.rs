//! VHDX images made by qemu-img (several block sizes, dynamic and fixed),
//! read by platter and compared byte for byte with `qemu-img convert -O raw`.

mod vhd_support;

use platter_core::ExtentKind;
use platter_vdisk::{VdiskFormat, VdiskOptions, vhdx};
use vhd_support::*;

fn check(opts: &str, subformat: &str, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    // Not a multiple of any block size below.
    let size = 34 * (1 << 20) + 512 * 1024;
    let src = source_disk(dir.path(), "src.raw", size, seed);
    let img = dir.path().join("disk.vhdx");
    qemu_from_raw(&src, "vhdx", opts, &img);
    let disk = vhdx::open(&img, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.format, VdiskFormat::Vhdx);
    assert_eq!(disk.info.subformat, subformat);
    assert!(disk.info.anomalies.is_empty(), "{:?}", disk.info.anomalies);
    let ours = read_all(&*disk.source);
    let theirs = qemu_raw(&img, "vhdx");
    assert_same(&ours, &theirs, opts);
    assert_same(&ours, &std::fs::read(&src).unwrap(), "original bytes");
    if subformat == "dynamic" {
        assert!(bytes_of_kind(&*disk.source, ExtentKind::Zero) > 0, "{opts}");
    }
}

#[test]
fn dynamic_1m_blocks_match_qemu() {
    check("block_size=1M", "dynamic", 11);
}

#[test]
fn dynamic_8m_blocks_match_qemu() {
    check("block_size=8M", "dynamic", 12);
}

#[test]
fn dynamic_32m_blocks_match_qemu() {
    check("block_size=32M", "dynamic", 13);
}

#[test]
fn fixed_matches_qemu() {
    check("subformat=fixed,block_size=8M", "fixed", 14);
}
