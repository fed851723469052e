//! VHD differencing disks and damaged VHDs, built by the independent test
//! generator (`vhd_support/gen.rs`) or damaged from qemu-img images.

mod vhd_support;

use platter_vdisk::{Error, VdiskOptions, vhd};
use vhd_support::generator::{VhdSpec, build_vhd};
use vhd_support::*;

const MIB: u64 = 1 << 20;

/// A qemu-made dynamic parent; returns (path, unique id, guest bytes).
fn parent(dir: &std::path::Path) -> (std::path::PathBuf, [u8; 16], Vec<u8>) {
    let src = source_disk(dir, "src.raw", 12 * MIB as usize, 21);
    let img = dir.join("parent.vhd");
    qemu_from_raw(&src, "vpc", "subformat=dynamic,force_size=on", &img);
    let bytes = std::fs::read(&img).unwrap();
    let foot = &bytes[bytes.len() - 512..];
    let id: [u8; 16] = foot[68..84].try_into().unwrap();
    (img.clone(), id, qemu_raw(&img, "vpc"))
}

/// Child sectors: some in blocks the parent has, some where it has none,
/// runs and single sectors, including a block's first and last sector.
fn child_sectors() -> Vec<(u64, [u8; 512])> {
    let picks = [
        0u64, 1, 2, 100, 2047, 2048, 2049, 4095, 5000, 10_000, 12_000, 24_575,
    ];
    picks
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, random_bytes(1000 + i as u64, 512).try_into().unwrap()))
        .collect()
}

fn expected(parent: &[u8], sectors: &[(u64, [u8; 512])]) -> Vec<u8> {
    let mut out = parent.to_vec();
    for (s, d) in sectors {
        out[*s as usize * 512..*s as usize * 512 + 512].copy_from_slice(d);
    }
    out
}

fn child_spec(id: [u8; 16], locator: &str) -> VhdSpec {
    VhdSpec {
        size: 12 * MIB,
        block_size: 2 << 20,
        id: [7; 16],
        parent: Some((id, locator.into())),
        sectors: child_sectors(),
    }
}

#[test]
fn differencing_reads_child_sectors_over_parent() {
    let dir = tempfile::tempdir().unwrap();
    let (pimg, pid, praw) = parent(dir.path());
    let child = dir.path().join("child.vhd");
    std::fs::write(&child, build_vhd(&child_spec(pid, ".\\parent.vhd"))).unwrap();
    let disk = vhd::open(&child, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.subformat, "differencing");
    assert_eq!(disk.info.chain.len(), 2);
    assert_eq!(disk.info.files, vec![child.clone(), pimg]);
    assert!(disk.info.anomalies.is_empty(), "{:?}", disk.info.anomalies);
    let ours = read_all(&*disk.source);
    assert_same(&ours, &expected(&praw, &child_sectors()), "differencing");
}

#[test]
fn differencing_parent_checks() {
    let dir = tempfile::tempdir().unwrap();
    let (_pimg, pid, praw) = parent(dir.path());
    let child = dir.path().join("child.vhd");
    // Wrong parent id: refused, accepted with ignore_cid and reported.
    std::fs::write(&child, build_vhd(&child_spec([9; 16], "parent.vhd"))).unwrap();
    let err = vhd::open(&child, &VdiskOptions::default()).unwrap_err();
    assert!(matches!(err, Error::ParentMismatch { .. }), "{err}");
    let opts = VdiskOptions {
        ignore_cid: true,
        ..Default::default()
    };
    let disk = vhd::open(&child, &opts).unwrap();
    assert_eq!(disk.info.anomalies[0].kind, "parent_mismatch");
    assert_same(
        &read_all(&*disk.source),
        &expected(&praw, &child_sectors()),
        "ignored id",
    );

    // A parent outside the folder is refused unless allowed.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let child2 = sub.join("child.vhd");
    std::fs::write(&child2, build_vhd(&child_spec(pid, "..\\parent.vhd"))).unwrap();
    let err = vhd::open(&child2, &VdiskOptions::default()).unwrap_err();
    assert!(matches!(err, Error::PathEscape { .. }), "{err}");
    let opts = VdiskOptions {
        allow_outside_paths: true,
        ..Default::default()
    };
    assert!(vhd::open(&child2, &opts).is_ok());
}

#[test]
fn orphaned_child_keeps_its_sectors_and_reports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let child = dir.path().join("child.vhd");
    std::fs::write(&child, build_vhd(&child_spec([1; 16], "gone.vhd"))).unwrap();
    let disk = vhd::open(&child, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.chain[1].status, "missing");
    let mut stored: u64 = 0;
    for (s, d) in child_sectors() {
        let mut buf = [0u8; 512];
        disk.source.read_exact_at(&mut buf, s * 512).unwrap();
        assert_eq!(buf, d);
        stored += 512;
    }
    let lost: u64 = unreadable_ranges(&*disk.source).iter().map(|r| r.1).sum();
    assert_eq!(lost, 12 * MIB - stored, "everything else is unreadable");
    let mut buf = [0u8; 512];
    assert!(
        disk.source.read_exact_at(&mut buf, 3 * 512).is_err(),
        "never silent zeros"
    );
    let strict = VdiskOptions {
        strict: true,
        ..Default::default()
    };
    assert!(matches!(vhd::open(&child, &strict), Err(Error::Strict(_))));
}

#[test]
fn damaged_trailing_footer_uses_the_copy_at_offset_0() {
    let dir = tempfile::tempdir().unwrap();
    let (img, _, praw) = parent(dir.path());
    let mut bytes = std::fs::read(&img).unwrap();
    let n = bytes.len();
    bytes[n - 512 + 100] ^= 0xff;
    let bad = dir.path().join("bad.vhd");
    std::fs::write(&bad, &bytes).unwrap();
    let disk = vhd::open(&bad, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.anomalies.len(), 1);
    assert_eq!(disk.info.anomalies[0].kind, "footer_fallback");
    assert_eq!(disk.info.anomalies[0].offset, Some(n as u64 - 512));
    assert_same(&read_all(&*disk.source), &praw, "fallback footer");
    let strict = VdiskOptions {
        strict: true,
        ..Default::default()
    };
    assert!(matches!(vhd::open(&bad, &strict), Err(Error::Strict(_))));
    // Both copies damaged: the reader says so rather than guessing.
    bytes[100] ^= 0xff;
    std::fs::write(&bad, &bytes).unwrap();
    let disk = vhd::open(&bad, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.anomalies[0].kind, "footer_checksum");
}

#[test]
fn truncated_dynamic_reports_exactly_the_lost_sectors() {
    let dir = tempfile::tempdir().unwrap();
    let spec = VhdSpec {
        size: 12 * MIB,
        block_size: 2 << 20,
        id: [3; 16],
        parent: None,
        sectors: child_sectors(),
    };
    let full = build_vhd(&spec);
    // Cut in the middle of the last allocated block's data.
    let cut = full.len() - 512 - MIB as usize - 300 * 512 - 17;
    let img = dir.path().join("cut.vhd");
    std::fs::write(&img, &full[..cut]).unwrap();
    let disk = vhd::open(&img, &VdiskOptions::default()).unwrap();
    // Expected: stored sectors whose bytes lay (partly) past the cut.
    let mut want = Vec::new();
    for (s, d) in &spec.sectors {
        let at = full.windows(512).position(|w| w == d).unwrap();
        if at + 512 > cut {
            want.push((*s * 512, 512u64));
        }
    }
    assert!(!want.is_empty());
    let got = unreadable_ranges(&*disk.source);
    // The partly present sector is lost whole at sector granularity only
    // where it is cut; compare sector coverage.
    let covered = |ranges: &[(u64, u64)], sector: u64| {
        ranges
            .iter()
            .any(|&(o, l)| o < sector * 512 + 512 && sector * 512 < o + l)
    };
    for s in 0..(12 * MIB / 512) {
        assert_eq!(covered(&got, s), covered(&want, s), "sector {s}");
    }
    assert!(disk.info.anomalies.iter().any(|a| a.kind == "truncated"));
    assert!(
        disk.info
            .anomalies
            .iter()
            .any(|a| a.kind == "footer_fallback")
    );
    // Everything else reads: stored sectors before the cut, zeros elsewhere.
    for (s, d) in &spec.sectors {
        let mut buf = [0u8; 512];
        let r = disk.source.read_exact_at(&mut buf, s * 512);
        if covered(&want, *s) {
            assert!(r.is_err());
        } else {
            r.unwrap();
            assert_eq!(&buf, d);
        }
    }
}
