//! VHD images made by qemu-img, read by platter and compared byte for byte
//! with `qemu-img convert -O raw`.

mod vhd_support;

use platter_core::ExtentKind;
use platter_vdisk::{VdiskFormat, VdiskOptions, vhd};
use vhd_support::*;

fn check(subformat: &str, extra: &[&str], seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    // 27.5 MiB: not a multiple of the 2 MiB block.
    let size = 27 * (1 << 20) + 512 * 1024;
    let src = source_disk(dir.path(), "src.raw", size, seed);
    let img = dir.path().join(format!("{subformat}.vhd"));
    let mut opts = vec!["subformat=".to_string() + subformat];
    opts.extend(extra.iter().map(|s| s.to_string()));
    qemu_from_raw(&src, "vpc", &opts.join(","), &img);
    let disk = vhd::open(&img, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.format, VdiskFormat::Vhd);
    assert_eq!(disk.info.subformat, subformat);
    assert!(disk.info.anomalies.is_empty(), "{:?}", disk.info.anomalies);
    let ours = read_all(&*disk.source);
    let theirs = qemu_raw(&img, "vpc");
    assert_same(&ours, &theirs, &format!("vhd {subformat} {extra:?}"));
    // The original data is all there (qemu may round the size up to CHS).
    let original = std::fs::read(&src).unwrap();
    assert_same(&ours[..original.len()], &original, "original bytes");
    assert!(ours[original.len()..].iter().all(|&b| b == 0));
    if subformat == "dynamic" {
        // Unallocated blocks are reported as zero extents (sparse copies).
        assert!(bytes_of_kind(&*disk.source, ExtentKind::Zero) >= 8 << 20);
        assert!(disk.info.allocated_bytes.unwrap() < size as u64);
    }
}

#[test]
fn dynamic_matches_qemu() {
    check("dynamic", &[], 1);
}

#[test]
fn dynamic_force_size_matches_qemu() {
    check("dynamic", &["force_size=on"], 2);
}

#[test]
fn fixed_matches_qemu() {
    check("fixed", &[], 3);
}

#[test]
fn fixed_force_size_matches_qemu() {
    check("fixed", &["force_size=on"], 4);
}
