//! A differencing VHDX built by the independent generator over a parent
//! made by qemu-img: full, partially present (sector bitmap), zero,
//! unmapped and absent blocks, and the parent linkage check.

mod vhd_support;

use platter_vdisk::{Error, VdiskOptions, vhdx};
use vhd_support::generator::{VhdxBlock, build_vhdx_diff, guid_string, vhdx_layout};
use vhd_support::*;

const MIB: usize = 1 << 20;

struct Fixture {
    _dir: tempfile::TempDir,
    child: std::path::PathBuf,
    linkage: String,
    expected: Vec<u8>,
    blocks: Vec<VhdxBlock>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let src = source_disk(dir.path(), "src.raw", 10 * MIB, 41);
    let parent = dir.path().join("parent.vhdx");
    qemu_from_raw(&src, "vhdx", "block_size=1M", &parent);
    let pbytes = std::fs::read(&parent).unwrap();
    let lay = vhdx_layout(&pbytes);
    let linkage = guid_string(&pbytes[lay.header_at + 32..lay.header_at + 48]);
    let mut expected = qemu_raw(&parent, "vhdx");
    let full = random_bytes(51, MIB);
    let sectors: Vec<(usize, [u8; 512])> = [0usize, 1, 2, 3, 4, 5, 6, 7, 100, 2047]
        .iter()
        .map(|&s| (s, random_bytes(60 + s as u64, 512).try_into().unwrap()))
        .collect();
    expected[..MIB].copy_from_slice(&full);
    for (s, d) in &sectors {
        expected[MIB + s * 512..MIB + s * 512 + 512].copy_from_slice(d);
    }
    expected[2 * MIB..3 * MIB].fill(0); // ZERO
    expected[4 * MIB..5 * MIB].fill(0); // UNMAPPED
    let blocks = vec![
        VhdxBlock::Full(full),
        VhdxBlock::Partial(sectors),
        VhdxBlock::State(2),
        VhdxBlock::State(0),
        VhdxBlock::State(3),
    ];
    let child = dir.path().join("child.vhdx");
    Fixture {
        _dir: dir,
        child,
        linkage,
        expected,
        blocks,
    }
}

#[test]
fn differencing_vhdx_reads_through_to_the_parent() {
    let f = fixture();
    let bytes = build_vhdx_diff(10 * MIB as u64, &f.linkage, ".\\parent.vhdx", &f.blocks);
    std::fs::write(&f.child, bytes).unwrap();
    let disk = vhdx::open(&f.child, &VdiskOptions::default()).unwrap();
    assert_eq!(disk.info.subformat, "differencing");
    assert_eq!(disk.info.chain.len(), 2);
    assert_eq!(disk.info.files.len(), 2);
    assert!(disk.info.anomalies.is_empty(), "{:?}", disk.info.anomalies);
    assert_same(&read_all(&*disk.source), &f.expected, "differencing vhdx");
}

#[test]
fn wrong_parent_linkage_is_refused_unless_ignored() {
    let f = fixture();
    let wrong = "{01234567-89ab-cdef-0123-456789abcdef}";
    std::fs::write(
        &f.child,
        build_vhdx_diff(10 * MIB as u64, wrong, "parent.vhdx", &f.blocks),
    )
    .unwrap();
    let err = vhdx::open(&f.child, &VdiskOptions::default()).unwrap_err();
    assert!(matches!(err, Error::ParentMismatch { .. }), "{err}");
    let opts = VdiskOptions {
        ignore_cid: true,
        ..Default::default()
    };
    let disk = vhdx::open(&f.child, &opts).unwrap();
    assert_eq!(
        disk.info.chain[0].status,
        "parent linkage mismatch (ignored)"
    );
    assert_same(&read_all(&*disk.source), &f.expected, "ignored linkage");
}
