//! RAID10 far, offset and shifted-near layouts, striped by the accuracy
//! harness's independent striper (written from md's raid10.c, sharing no
//! code with platter-raid) over real file systems made by mkfs.ext4 -d and
//! mkfs.vfat + mcopy: inference must find the exact layout, chunk, member
//! order and data offset with members shuffled, and the answer must read
//! back the file system. Random content and other levels must never give
//! a confident wrong answer.

mod common;
#[allow(dead_code)]
#[path = "accuracy/striper.rs"]
mod striper;

use std::path::Path;

use platter_raid::geometry::{Layout, Level, Raid10Layout};
use platter_raid_infer::{Report, Verdict};
use striper::{MdLevel, MemSink, Spec, stripe};

use common::noise;

/// Text files and a random file to fill a file system with.
fn content_dir(root: &Path) -> std::path::PathBuf {
    common::fs::text_files(
        root,
        (6, 240, 13, 300),
        "raid ten far and offset",
        (77, 2 << 20),
    )
}

/// A 16 MiB ext4 (4 KiB blocks, small groups: many superblock backups and
/// checksummed inodes) holding `content_dir`.
fn ext4_image() -> Option<Vec<u8>> {
    if !common::have("mkfs.ext4") {
        eprintln!("note: mkfs.ext4 missing, ext4 cases skipped");
        return None;
    }
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("ext4.img");
    common::mkfs_ext4(&img, 16 << 20, &content_dir(t.path()), &["-g", "4096"]);
    Some(std::fs::read(&img).unwrap())
}

/// A 16 MiB FAT16 holding `content_dir`.
fn vfat_image() -> Option<Vec<u8>> {
    let t = tempfile::tempdir().unwrap();
    let d = content_dir(t.path());
    common::fat_image(t.path(), 16, &[d.join("docs"), d.join("random.bin")])
}

/// One array: layout (near, far, offset), members, chunk, data offset.
#[derive(Debug, Clone, Copy)]
struct Case {
    r10: (u64, u64, bool),
    n: usize,
    chunk: u64,
    offset: u64,
}

/// The spec md would use for `content_bytes` of array data.
fn spec(c: &Case, content_bytes: u64) -> Spec {
    let (near, far, _) = c.r10;
    let per = (content_bytes * near * far).div_ceil(c.n as u64);
    let mut mc = per.div_ceil(c.chunk).div_ceil(far) * far;
    while mc / far * c.n as u64 / near * c.chunk < content_bytes {
        mc += far;
    }
    Spec {
        level: MdLevel::Raid10,
        algo: 0,
        r10: c.r10,
        chunk: c.chunk,
        n: c.n,
        delay: None,
        member_bytes: mc * c.chunk,
        linear_sizes: Vec::new(),
    }
}

/// Stripes `content` per `s` at data offset `offset`; returns members in
/// slot order.
fn build(s: &Spec, offset: u64, content: &[u8]) -> Vec<Vec<u8>> {
    let mut sink = MemSink(vec![Vec::new(); s.n]);
    stripe(
        s,
        &mut |at, buf: &mut [u8]| {
            buf.fill(0);
            let at = at as usize;
            if at < content.len() {
                let k = (content.len() - at).min(buf.len());
                buf[..k].copy_from_slice(&content[at..at + k]);
            }
            Ok(())
        },
        &mut sink,
    )
    .unwrap();
    sink.0
        .into_iter()
        .map(|m| {
            let mut v = vec![0u8; offset as usize];
            v.extend_from_slice(&m);
            v.resize((offset + s.member_bytes) as usize, 0);
            v
        })
        .collect()
}

/// A fixed shuffle of `n` slots: `images[i]` is the slot of image `i`.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let r = noise(seed, n * 8);
    for i in (1..n).rev() {
        let j = r[i] as usize % (i + 1);
        v.swap(i, j);
    }
    v
}

/// Stripes, shuffles, infers; returns (images, slot of each image, report).
fn run_case(c: &Case, content: &[u8], seed: u64) -> (Vec<Vec<u8>>, Vec<usize>, Report) {
    let s = spec(c, content.len() as u64);
    let slots = build(&s, c.offset, content);
    let order = shuffled(c.n, seed);
    let images: Vec<Vec<u8>> = order.iter().map(|&slot| slots[slot].clone()).collect();
    let report = common::run_top(&images, 8);
    (images, order, report)
}

/// The case must be found exactly and read back.
fn assert_exact(c: &Case, content: &[u8], seed: u64) {
    let (images, order, report) = run_case(c, content, seed);
    assert_eq!(
        report.verdict,
        Verdict::Found,
        "{c:?}: {:?}",
        report.verdict
    );
    let top = &report.candidates[0];
    assert_eq!(top.level, Level::Raid10, "{c:?}");
    let want = Layout::Raid10(Raid10Layout {
        near: c.r10.0 as u8,
        far: c.r10.1 as u8,
        offset: c.r10.2,
        far_sets: false,
    });
    assert_eq!(top.geometry.layout, want, "{c:?}");
    assert_eq!(top.chunk_bytes, c.chunk, "{c:?}");
    assert_eq!(top.data_offset_bytes, c.offset, "{c:?}");
    for (slot, s) in top.geometry.slots.iter().enumerate() {
        let want = order.iter().position(|&x| x == slot);
        assert_eq!(s.image, want, "{c:?}: slot {slot}");
    }
    assert!(
        common::reads_back(&images, &report, content, true),
        "{c:?}: reads back"
    );
}

fn case(r10: (u64, u64, bool), n: usize, chunk: u64, offset: u64) -> Case {
    Case {
        r10,
        n,
        chunk,
        offset,
    }
}

#[test]
fn far_layouts_on_ext4_are_found_exactly() {
    let Some(fs) = ext4_image() else { return };
    assert_exact(&case((1, 2, false), 4, 64 << 10, 0), &fs, 1);
    assert_exact(&case((1, 3, false), 5, 32 << 10, 0), &fs, 2);
    assert_exact(&case((1, 2, false), 6, 16 << 10, 1 << 20), &fs, 3);
}

#[test]
fn offset_layouts_on_ext4_are_found_exactly() {
    let Some(fs) = ext4_image() else { return };
    assert_exact(&case((1, 2, true), 4, 16 << 10, 0), &fs, 4);
    assert_exact(&case((1, 3, true), 6, 64 << 10, 0), &fs, 5);
    assert_exact(&case((1, 2, true), 5, 4 << 10, 65536), &fs, 6);
}

#[test]
fn near_layouts_with_wrapping_copies_are_found_exactly() {
    let Some(fs) = ext4_image() else { return };
    assert_exact(&case((2, 1, false), 3, 64 << 10, 0), &fs, 7);
    assert_exact(&case((2, 1, false), 5, 32 << 10, 0), &fs, 8);
    assert_exact(&case((3, 1, false), 4, 16 << 10, 0), &fs, 9);
}

/// FAT holds few self-locating structures: the answer must be exact or
/// honestly ambiguous with the truth listed, never a wrong `Found`.
#[test]
fn fat_arrays_are_never_wrong() {
    let Some(fs) = vfat_image() else { return };
    for (i, c) in [
        case((1, 2, false), 4, 64 << 10, 0),
        case((1, 2, true), 3, 32 << 10, 0),
        case((2, 1, false), 3, 16 << 10, 0),
    ]
    .iter()
    .enumerate()
    {
        let (images, _, report) = run_case(c, &fs, 20 + i as u64);
        if report.verdict == Verdict::Found {
            assert!(
                common::reads_back(&images, &report, &fs, true),
                "{c:?}: wrong Found"
            );
        } else {
            assert!(
                matches!(report.verdict, Verdict::Ambiguous { .. }),
                "{c:?}: {:?}",
                report.verdict
            );
        }
    }
}

/// FAT keeps two copies of its table, so sectors also repeat at deltas
/// that are no RAID10 copy: the offset layout's copies must still be
/// recognised (the unit test `a_clear_successor_survives_a_file_systems_own_copies`
/// holds the counts of a larger FAT where the table copies competed).
#[test]
fn offset_copies_are_seen_through_fat_table_copies() {
    let Some(fs) = vfat_image() else { return };
    let c = case((1, 2, true), 3, 128 << 10, 0);
    let (images, _, report) = run_case(&c, &fs, 31);
    let top = &report.candidates[0];
    assert_eq!(top.level, Level::Raid10, "{:?}", report.verdict);
    assert!(
        matches!(top.geometry.layout, Layout::Raid10(l) if l.offset && l.far == 2),
        "{:?}",
        top.geometry.layout
    );
    if report.verdict == Verdict::Found {
        assert!(
            common::reads_back(&images, &report, &fs, true),
            "wrong Found"
        );
    }
}

/// Random content has no structures: rotations of a far or offset cycle
/// cannot be told apart, so the verdict must not be `Found`; the copies
/// must still be recognised (RAID10 candidates in the true cyclic order).
#[test]
fn random_content_is_ambiguous_not_wrong() {
    let content = noise(5, 6 << 20);
    for (i, c) in [
        case((1, 2, false), 4, 64 << 10, 0),
        case((1, 2, true), 4, 16 << 10, 0),
        case((1, 3, false), 3, 8 << 10, 0),
    ]
    .iter()
    .enumerate()
    {
        let (images, order, report) = run_case(c, &content, 30 + i as u64);
        assert_ne!(report.verdict, Verdict::Found, "{c:?}");
        assert!(
            report.candidates.iter().all(|x| x.level == Level::Raid10),
            "{c:?}"
        );
        // Every candidate keeps the cyclic member order the copies show:
        // the image in slot s + 1 follows the one in slot s.
        let next = |slot: usize| order.iter().position(|&o| o == (slot + 1) % c.n);
        for x in &report.candidates {
            for (s, sl) in x.geometry.slots.iter().enumerate() {
                let at = sl.image.map(|i| order[i]).expect("every slot filled");
                let after = x.geometry.slots[(s + 1) % c.n].image;
                assert_eq!(after, next(at), "{c:?}: {}", x.geometry.describe());
            }
        }
        let _ = images;
    }
}

/// Other levels over the same content never come out as RAID10.
#[test]
fn other_levels_do_not_look_like_raid10() {
    let content = noise(9, 4 << 20);
    for (level, n, algo) in [
        (MdLevel::Raid0, 3, 0),
        (MdLevel::Raid5, 4, 2),
        (MdLevel::Raid6, 5, 0),
        (MdLevel::Raid1, 3, 0),
    ] {
        let chunk = 64 << 10;
        let rows = match level {
            MdLevel::Raid1 => content.len() as u64,
            MdLevel::Raid0 => (content.len() as u64).div_ceil(chunk * n as u64) * chunk,
            MdLevel::Raid5 => (content.len() as u64).div_ceil(chunk * (n as u64 - 1)) * chunk,
            _ => (content.len() as u64).div_ceil(chunk * (n as u64 - 2)) * chunk,
        };
        let s = Spec {
            level,
            algo,
            r10: (1, 1, false),
            chunk,
            n,
            delay: None,
            member_bytes: rows,
            linear_sizes: Vec::new(),
        };
        let images = build(&s, 0, &content);
        let report = common::run_top(&images, 8);
        assert!(
            report.candidates.iter().all(|c| c.level != Level::Raid10),
            "{level:?}: {:?}",
            report.candidates.first().map(|c| c.geometry.describe())
        );
    }
}
