//! Damaged VMDK files: each recovers exactly the recoverable data, or
//! reports exactly what is lost. The expected losses are computed from the
//! intact file with independent means (qemu-img map, a marker walk written
//! here), never from the reader.

mod vmdk_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use platter_core::Source;
use platter_vdisk::{Error, VdiskOptions, vmdk};
use vmdk_common::{MIB, assert_same, make_raw, qemu_raw, random_bytes, read_all_filled, run};

fn le32(d: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(d[at..at + 4].try_into().unwrap()))
}
fn le64(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

/// A qemu-made image of a 9 MiB raw disk, and the raw oracle of it.
fn image(dir: &Path, subformat: &str) -> (PathBuf, PathBuf) {
    let raw = make_raw(dir, 9 * MIB);
    let img = dir.join("disk.vmdk");
    run(Command::new("qemu-img")
        .args([
            "convert",
            "-O",
            "vmdk",
            "-o",
            &format!("subformat={subformat}"),
        ])
        .arg(&raw)
        .arg(&img));
    let oracle = dir.join("oracle.raw");
    qemu_raw(&img, &oracle);
    (img, oracle)
}

fn kinds(d: &platter_vdisk::VirtualDisk) -> Vec<String> {
    d.info.anomalies.iter().map(|a| a.kind.clone()).collect()
}

#[test]
fn zeroed_primary_grain_directory_uses_the_redundant_one() {
    let dir = tempfile::tempdir().unwrap();
    let (img, oracle) = image(dir.path(), "monolithicSparse");
    let mut d = std::fs::read(&img).unwrap();
    let gd = le64(&d, 56) as usize * 512;
    d[gd..gd + 512].fill(0);
    std::fs::write(&img, &d).unwrap();
    let disk = vmdk::open(&img, &VdiskOptions::default()).unwrap();
    assert!(
        kinds(&disk).contains(&"redundant_gt_used".to_string()),
        "{:?}",
        kinds(&disk)
    );
    assert_same(&*disk.source, &oracle);
    let strict = VdiskOptions {
        strict: true,
        ..Default::default()
    };
    assert!(matches!(vmdk::open(&img, &strict), Err(Error::Strict(_))));
}

#[test]
fn garbage_primary_grain_table_uses_the_redundant_one() {
    let dir = tempfile::tempdir().unwrap();
    let (img, oracle) = image(dir.path(), "monolithicSparse");
    let mut d = std::fs::read(&img).unwrap();
    let gd = le64(&d, 56) as usize * 512;
    let gt = le32(&d, gd) as usize * 512;
    d[gt..gt + 2048].copy_from_slice(&random_bytes(9, 2048));
    std::fs::write(&img, &d).unwrap();
    let disk = vmdk::open(&img, &VdiskOptions::default()).unwrap();
    assert!(
        kinds(&disk).contains(&"redundant_gt_used".to_string()),
        "{:?}",
        kinds(&disk)
    );
    assert_same(&*disk.source, &oracle);
}

/// `(virtual start, length, host offset)` of the data ranges of an
/// uncompressed image, from `qemu-img map --output=json`.
fn qemu_map(img: &Path) -> Vec<(u64, u64, u64)> {
    let out = run(Command::new("qemu-img")
        .args(["map", "--output=json"])
        .arg(img));
    let field = |line: &str, name: &str| -> Option<u64> {
        let i = line.find(&format!("\"{name}\": "))? + name.len() + 4;
        line[i..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    out.lines()
        .filter(|l| l.contains("\"data\": true"))
        .map(|l| {
            (
                field(l, "start").unwrap(),
                field(l, "length").unwrap(),
                field(l, "offset").unwrap(),
            )
        })
        .collect()
}

#[test]
fn truncated_sparse_reports_exactly_the_missing_grains() {
    let dir = tempfile::tempdir().unwrap();
    let (img, oracle) = image(dir.path(), "monolithicSparse");
    let map = qemu_map(&img);
    let full = std::fs::metadata(&img).unwrap().len();
    let cut = full / 2 + 1000; // not grain aligned
    std::fs::OpenOptions::new()
        .write(true)
        .open(&img)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let mut expected: Vec<(u64, u64)> = Vec::new();
    for (start, len, host) in map {
        if host + len > cut {
            let first_lost = start + cut.saturating_sub(host);
            expected.push((first_lost, start + len - first_lost));
        }
    }
    let disk = vmdk::open(&img, &VdiskOptions::default()).unwrap();
    assert!(
        kinds(&disk).contains(&"truncated".to_string()),
        "{:?}",
        kinds(&disk)
    );
    let (bytes, bad) = read_all_filled(&*disk.source);
    // Byte-exact: the grain holding the cut keeps its bytes before the cut.
    assert_eq!(bad, expected);
    let want = std::fs::read(&oracle).unwrap();
    let mut pos = 0u64;
    for (o, l) in bad.iter().copied().chain([(want.len() as u64, 0)]) {
        assert_eq!(
            bytes[pos as usize..o as usize],
            want[pos as usize..o as usize]
        );
        pos = o + l;
    }
}

/// `(lba sectors, marker offset, compressed size)` of every grain marker of
/// a stream, walked from sector `overhead` by this test's own code.
fn walk_markers(d: &[u8]) -> Vec<(u64, u64, u64)> {
    let mut out = Vec::new();
    let mut s = le64(d, 64) as usize;
    while (s + 1) * 512 <= d.len() {
        let off = s * 512;
        let (val, size) = (le64(d, off), le32(d, off + 8));
        if size > 0 {
            out.push((val, off as u64, size));
            s = (off + 12 + size as usize).div_ceil(512);
        } else if le32(d, off + 12) == 0 {
            break;
        } else {
            s += 1 + val as usize;
        }
    }
    out
}

#[test]
fn one_corrupt_compressed_grain_is_the_only_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (img, oracle) = image(dir.path(), "streamOptimized");
    let mut d = std::fs::read(&img).unwrap();
    let grains = walk_markers(&d);
    let (lba, off, size) = grains[7];
    let at = off as usize + 12 + size as usize / 2;
    for b in &mut d[at..at + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&img, &d).unwrap();
    let disk = vmdk::open(&img, &VdiskOptions::default()).unwrap();
    let (bytes, bad) = read_all_filled(&*disk.source);
    assert_eq!(bad, vec![(lba * 512, 65536)]);
    let want = std::fs::read(&oracle).unwrap();
    let lost = (lba * 512) as usize..(lba * 512 + 65536) as usize;
    assert_eq!(bytes[..lost.start], want[..lost.start]);
    assert_eq!(bytes[lost.end..], want[lost.end..]);
    // Once found, the grain is reported by extents() too.
    let ext = disk.source.extents(lba * 512, 65536).unwrap();
    assert_eq!(ext[0].kind, platter_core::ExtentKind::Unreadable);
}

/// A VMware-style stream (GD at the end, footer, markers) made by Debian's
/// python3-vmdkstream.
fn vmware_stream(dir: &Path) -> (PathBuf, PathBuf) {
    let raw = make_raw(dir, 9 * MIB);
    let img = dir.join("stream.vmdk");
    run(Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys, VMDKstream; VMDKstream.convert_to_stream(sys.argv[1], sys.argv[2])",
        ])
        .arg(&raw)
        .arg(&img));
    let d = std::fs::read(&img).unwrap();
    assert_eq!(le64(&d, 56), u64::MAX, "VMDKstream writes GD_AT_END");
    (img, raw)
}

#[test]
fn vmware_style_stream_with_footer() {
    let dir = tempfile::tempdir().unwrap();
    let (img, raw) = vmware_stream(dir.path());
    let oracle = dir.path().join("oracle.raw");
    qemu_raw(&img, &oracle);
    assert_eq!(
        std::fs::read(&oracle).unwrap(),
        std::fs::read(&raw).unwrap()
    );
    let disk = vmdk::open(&img, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.subformat, "streamOptimized");
    assert!(disk.info.anomalies.is_empty(), "{:?}", disk.info.anomalies);
    assert_same(&*disk.source, &oracle);
}

#[test]
fn truncated_vmware_stream_recovers_every_complete_grain() {
    let dir = tempfile::tempdir().unwrap();
    let (img, raw) = vmware_stream(dir.path());
    let d = std::fs::read(&img).unwrap();
    let cut = d.len() / 2;
    let grains = walk_markers(&d);
    let complete: Vec<_> = grains
        .iter()
        .filter(|(_, o, s)| (o + 12 + s) as usize <= cut)
        .collect();
    let last = complete.last().unwrap().0 * 512 + 65536;
    std::fs::write(&img, &d[..cut]).unwrap();
    let disk = vmdk::open(&img, &VdiskOptions::default()).unwrap();
    assert!(kinds(&disk).contains(&"stream_recovered".to_string()));
    let (bytes, bad) = read_all_filled(&*disk.source);
    let want = std::fs::read(&raw).unwrap();
    assert_eq!(bad, vec![(last, want.len() as u64 - last)]);
    assert_eq!(bytes[..last as usize], want[..last as usize]);
    let strict = VdiskOptions {
        strict: true,
        ..Default::default()
    };
    assert!(vmdk::open(&img, &strict).is_err());
}

fn write_descriptor(dir: &Path, name: &str, extent: &str, extra: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!("# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n{extra}\nRW 2048 FLAT \"{extent}\" 0\n"),
    )
    .unwrap();
    p
}

#[test]
fn paths_outside_the_folder_are_refused() {
    let top = tempfile::tempdir().unwrap();
    let vm = top.path().join("vm");
    std::fs::create_dir(&vm).unwrap();
    let flat = top.path().join("outside-flat.vmdk");
    std::fs::write(&flat, random_bytes(5, 1 << 20)).unwrap();
    let cases = [
        write_descriptor(&vm, "a.vmdk", "../outside-flat.vmdk", ""),
        write_descriptor(&vm, "b.vmdk", flat.to_str().unwrap(), ""),
    ];
    for c in &cases {
        match vmdk::open(c, &VdiskOptions::default()) {
            Err(Error::PathEscape { reference, .. }) => assert!(reference.contains("outside-flat")),
            other => panic!("expected PathEscape, got {other:?}"),
        }
        let opts = VdiskOptions {
            allow_outside_paths: true,
            ..Default::default()
        };
        let disk = vmdk::open(c, &opts).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        disk.source.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(buf, random_bytes(5, 1 << 20));
    }
    std::fs::copy(&flat, vm.join("in-flat.vmdk")).unwrap();
    let child = write_descriptor(
        &vm,
        "c.vmdk",
        "in-flat.vmdk",
        "parentFileNameHint=\"../base.vmdk\"",
    );
    std::fs::write(
        &child,
        std::fs::read_to_string(&child)
            .unwrap()
            .replace("parentCID=ffffffff", "parentCID=00000001"),
    )
    .unwrap();
    assert!(matches!(
        vmdk::open(&child, &VdiskOptions::default()),
        Err(Error::PathEscape { .. })
    ));
}

#[test]
fn truncated_flat_extent_is_unreadable_not_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d-flat.vmdk"), random_bytes(6, 600_000)).unwrap();
    let p = write_descriptor(dir.path(), "d.vmdk", "d-flat.vmdk", "");
    let disk = vmdk::open(&p, &VdiskOptions::default()).unwrap();
    assert!(kinds(&disk).contains(&"truncated".to_string()));
    let (bytes, bad) = read_all_filled(&*disk.source);
    assert_eq!(bad, vec![(600_000, (1 << 20) - 600_000)]);
    assert_eq!(bytes[..600_000], random_bytes(6, 600_000)[..]);
}
