//! VMDK files made by qemu-img, read by platter, compared byte for byte
//! with `qemu-img convert -O raw` of the same file.

mod vmdk_common;

use std::path::Path;
use std::process::Command;

use platter_core::Source;
use platter_vdisk::{Error, VdiskOptions, vmdk};
use vmdk_common::{MIB, assert_same, make_raw, qemu_raw, run};

fn convert(dir: &Path, raw: &Path, subformat: &str, zeroed: bool) -> std::path::PathBuf {
    let out = dir.join(format!("{subformat}-{zeroed}.vmdk"));
    let opts = format!(
        "subformat={subformat}{}",
        if zeroed { ",zeroed_grain=on" } else { "" }
    );
    run(Command::new("qemu-img")
        .args(["convert", "-O", "vmdk", "-o", &opts])
        .arg(raw)
        .arg(&out));
    out
}

fn check(subformat: &str, zeroed: bool, size: u64, want_create_type: &str) {
    let dir = tempfile::tempdir().unwrap();
    let raw = make_raw(dir.path(), size);
    let img = convert(dir.path(), &raw, subformat, zeroed);
    let oracle = dir.path().join("oracle.raw");
    qemu_raw(&img, &oracle);
    let disk = vmdk::open(&img, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.subformat, want_create_type);
    assert!(disk.info.anomalies.is_empty(), "{:?}", disk.info.anomalies);
    assert_same(&*disk.source, &oracle);
    // Small unaligned reads across a grain boundary agree too.
    let mut a = [0u8; 700];
    let mut b = [0u8; 700];
    disk.source.read_exact_at(&mut a, MIB + 65_000).unwrap();
    std::fs::File::open(&oracle)
        .and_then(|f| std::os::unix::fs::FileExt::read_exact_at(&f, &mut b, MIB + 65_000))
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn monolithic_sparse() {
    check("monolithicSparse", false, 9 * MIB, "monolithicSparse");
    check("monolithicSparse", true, 9 * MIB, "monolithicSparse");
}

#[test]
fn monolithic_flat() {
    check("monolithicFlat", false, 9 * MIB, "monolithicFlat");
}

#[test]
fn stream_optimized_qemu_style() {
    check("streamOptimized", false, 9 * MIB, "streamOptimized");
    check("streamOptimized", true, 9 * MIB, "streamOptimized");
}

#[test]
fn two_gb_max_extent_sparse_spans_extents() {
    check(
        "twoGbMaxExtentSparse",
        false,
        4200 * MIB,
        "twoGbMaxExtentSparse",
    );
    check(
        "twoGbMaxExtentSparse",
        true,
        4200 * MIB,
        "twoGbMaxExtentSparse",
    );
}

#[test]
fn two_gb_max_extent_flat_spans_extents() {
    check(
        "twoGbMaxExtentFlat",
        false,
        4200 * MIB,
        "twoGbMaxExtentFlat",
    );
}

/// A base, and a child written with qemu-io: patterns, and zeroed grains
/// (GTE 1) that must hide the parent's data.
fn make_chain(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let raw = make_raw(dir, 9 * MIB);
    let base = dir.join("base.vmdk");
    run(Command::new("qemu-img")
        .args(["convert", "-O", "vmdk"])
        .arg(&raw)
        .arg(&base));
    let child = dir.join("child.vmdk");
    run(Command::new("qemu-img")
        .args([
            "create",
            "-f",
            "vmdk",
            "-o",
            "zeroed_grain=on",
            "-b",
            "base.vmdk",
            "-F",
            "vmdk",
        ])
        .arg(&child)
        .current_dir(dir));
    for cmd in [
        "write -P 0xab 1M 100k",
        "write -P 0xcd 7000k 3k",
        "write -z 2M 128k",
        "write -P 0x11 8M 64k",
    ] {
        run(Command::new("qemu-io")
            .args(["-f", "vmdk", "-c", cmd])
            .arg(&child));
    }
    (base, child)
}

#[test]
fn snapshot_chain_with_zeroed_grains() {
    let dir = tempfile::tempdir().unwrap();
    let (base, child) = make_chain(dir.path());
    let oracle = dir.path().join("oracle.raw");
    qemu_raw(&child, &oracle);
    let disk = vmdk::open(&child, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.chain.len(), 2);
    assert_eq!(disk.info.chain[1].path, base);
    assert!(disk.info.chain.iter().all(|l| l.status == "ok"));
    assert!(disk.info.files.contains(&base));
    assert_same(&*disk.source, &oracle);
    // The zeroed range really hides parent data.
    let mut parent = [0u8; 16];
    let pdisk = vmdk::open(&base, &VdiskOptions::default()).unwrap();
    pdisk.source.read_exact_at(&mut parent, 2 * MIB).unwrap();
    assert_ne!(parent, [0u8; 16]);
    let mut z = [1u8; 16];
    disk.source.read_exact_at(&mut z, 2 * MIB).unwrap();
    assert_eq!(z, [0u8; 16]);
}

/// Replaces the first `from` in the file with `to` (same length).
fn patch(path: &Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let mut d = std::fs::read(path).unwrap();
    let i = d
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .expect("pattern present");
    d[i..i + to.len()].copy_from_slice(to.as_bytes());
    std::fs::write(path, d).unwrap();
}

#[test]
fn parent_cid_mismatch_is_an_error_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (_base, child) = make_chain(dir.path());
    let oracle = dir.path().join("oracle.raw");
    qemu_raw(&child, &oracle);
    let text = String::from_utf8_lossy(&std::fs::read(&child).unwrap()[..8192]).into_owned();
    let pcid = text
        .lines()
        .find_map(|l| l.strip_prefix("parentCID="))
        .unwrap()
        .to_string();
    let first = if pcid.starts_with('0') { '1' } else { '0' };
    let other: String = std::iter::once(first).chain(pcid.chars().skip(1)).collect();
    patch(
        &child,
        &format!("parentCID={pcid}"),
        &format!("parentCID={other}"),
    );
    match vmdk::open(&child, &VdiskOptions::default()) {
        Err(Error::ParentMismatch {
            expected, found, ..
        }) => {
            assert!(expected.contains(&other), "{expected}");
            assert!(found.contains(&pcid), "{found}");
        }
        other => panic!("expected ParentMismatch, got {other:?}"),
    }
    let opts = VdiskOptions {
        ignore_cid: true,
        ..Default::default()
    };
    let disk = vmdk::open(&child, &opts).unwrap();
    assert!(
        disk.info
            .anomalies
            .iter()
            .any(|a| a.kind == "parent_cid_mismatch")
    );
    assert_eq!(disk.info.chain[1].status, "parent CID mismatch (ignored)");
    assert_same(&*disk.source, &oracle);
    let strict = VdiskOptions {
        ignore_cid: true,
        strict: true,
        ..Default::default()
    };
    assert!(matches!(vmdk::open(&child, &strict), Err(Error::Strict(_))));
}

#[test]
fn missing_parent_makes_unallocated_ranges_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let (base, child) = make_chain(dir.path());
    std::fs::remove_file(&base).unwrap();
    let disk = vmdk::open(&child, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.chain[1].status, "missing");
    let mut buf = [0u8; 512];
    // Written in the child: readable. Only in the parent: an error, not zeros.
    disk.source.read_exact_at(&mut buf, MIB).unwrap();
    assert_eq!(buf, [0xab; 512]);
    assert!(disk.source.read_exact_at(&mut buf, 5 * MIB).is_err());
    assert!(
        vmdk::open(
            &child,
            &VdiskOptions {
                strict: true,
                ..Default::default()
            }
        )
        .is_err()
    );
}
