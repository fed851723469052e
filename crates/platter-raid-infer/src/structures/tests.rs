//! Tests of the structure scanners and validation against file systems
//! built by the real tools (mkfs.ext4, mkfs.vfat + mcopy, mkntfs + ntfscp,
//! mkfs.xfs, mkfs.btrfs, sgdisk).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use platter_core::{ExtentKind, FileSource, MemSource, Source};
use proptest::prelude::*;

use super::test_support::run;
use super::*;

const MIB: u64 = 1 << 20;
/// Scan buffer used by the tests (the lead scans in windows like this).
const WINDOW: usize = 4 << 20;

/// A directory of varied files to fill the file systems with.
fn content(dir: &Path) -> PathBuf {
    let d = dir.join("content");
    std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..40u64 {
        let len = 1000 + (i * 7919) % 60_000;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 3 == 0 {
                    b'a' + (x % 26) as u8
                } else {
                    x as u8
                }
            })
            .collect();
        let sub = if i % 4 == 0 { "sub" } else { "" };
        std::fs::write(d.join(sub).join(format!("FILE{i:02}.BIN")), data).unwrap();
    }
    std::fs::write(d.join("sub/deeper/NOTE.TXT"), b"deep").unwrap();
    d
}

fn sparse_file(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

fn ext4(dir: &Path, extra: &[&str]) -> PathBuf {
    let img = dir.join("ext.img");
    sparse_file(&img, 32 * MIB);
    let c = content(dir);
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .args(extra)
        .arg("-d")
        .arg(&c)
        .arg(&img));
    img
}

fn vfat(dir: &Path, fat_bits: &str) -> PathBuf {
    let img = dir.join("fat.img");
    // FAT32 needs 65525 clusters: 64 MiB in 512-byte clusters.
    let (kib, spc) = match fat_bits {
        "12" => ("32768", "32"),
        "16" => ("32768", "4"),
        _ => ("65536", "1"),
    };
    run(Command::new("mkfs.vfat")
        .args(["-F", fat_bits, "-s", spc, "-C"])
        .arg(&img)
        .arg(kib));
    let c = content(dir);
    let mut m = Command::new("mcopy");
    m.arg("-s").arg("-i").arg(&img);
    for e in std::fs::read_dir(&c).unwrap() {
        m.arg(e.unwrap().path());
    }
    run(m.arg("::"));
    img
}

fn ntfs(dir: &Path) -> PathBuf {
    let img = dir.join("ntfs.img");
    sparse_file(&img, 32 * MIB);
    run(Command::new("mkntfs").args(["-q", "-F", "-Q"]).arg(&img));
    let c = content(dir);
    for i in (1..40).step_by(3).filter(|i| i % 4 != 0) {
        let f = c.join(format!("FILE{i:02}.BIN"));
        run(Command::new("ntfscp")
            .arg(&img)
            .arg(&f)
            .arg(format!("F{i}")));
    }
    img
}

fn xfs(dir: &Path) -> PathBuf {
    let img = dir.join("xfs.img");
    sparse_file(&img, 300 * MIB);
    run(Command::new("mkfs.xfs").args(["-q", "-f"]).arg(&img));
    img
}

fn btrfs(dir: &Path) -> PathBuf {
    let img = dir.join("btrfs.img");
    sparse_file(&img, 128 * MIB);
    let c = content(dir);
    run(Command::new("mkfs.btrfs")
        .args(["-q", "-f", "--rootdir"])
        .arg(&c)
        .arg(&img));
    img
}

/// Scans the data extents of a file as member 0 in [`WINDOW`] buffers.
fn scan_file(path: &Path) -> Vec<Anchor> {
    let src = FileSource::open(path).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; WINDOW];
    for e in src.extents(0, src.len()).unwrap() {
        if e.kind != ExtentKind::Data {
            continue;
        }
        let mut off = e.offset / 512 * 512;
        while off < e.end() {
            let n = (WINDOW as u64).min(src.len() - off) as usize;
            src.read_exact_at(&mut buf[..n], off).unwrap();
            scan(0, off, &buf[..n], &mut out);
            off += n as u64;
        }
    }
    out
}

fn kinds(a: &[Anchor]) -> BTreeSet<AnchorKind> {
    a.iter().map(|a| a.kind).collect()
}

/// Anchors in per-file-system spaces must all point at file-system start 0.
fn assert_self_located(anchors: &[Anchor], fs_start: u64, skip: &[AnchorKind]) {
    for a in anchors.iter().filter(|a| !skip.contains(&a.kind)) {
        assert_eq!(
            a.member_offset.checked_sub(a.fs_offset),
            Some(fs_start),
            "{a:?} does not locate the fs start"
        );
    }
}

/// Re-orders the image's `chunk`-sized chunks (all but the first
/// `fixed`), as a wrong RAID geometry would.
#[derive(Debug)]
struct Shuffled<S: Source> {
    inner: S,
    chunk: u64,
    fixed: u64,
}

impl<S: Source> Shuffled<S> {
    fn map(&self, c: u64) -> u64 {
        let n = self.inner.len() / self.chunk;
        let f = self.fixed;
        if c < f || c >= n {
            c
        } else {
            f + ((c - f) * 7 + 3) % (n - f)
        }
    }
}

impl<S: Source> Source for Shuffled<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn name(&self) -> &str {
        "shuffled"
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> platter_core::Result<usize> {
        let mut done = 0;
        while done < buf.len() && offset + (done as u64) < self.len() {
            let pos = offset + done as u64;
            let (c, within) = (pos / self.chunk, pos % self.chunk);
            let n = ((self.chunk - within) as usize).min(buf.len() - done);
            self.inner
                .read_exact_at(&mut buf[done..done + n], self.map(c) * self.chunk + within)?;
            done += n;
        }
        Ok(done)
    }
}

/// Validates the image as is (expect 100 %) and with its `chunk`-byte
/// chunks shuffled but the first `fixed` in place, so the file system is
/// still found (expect many checks to fail).
fn assert_validation_separates(
    img: &Path,
    min_checks: u64,
    expect_found: &str,
    chunk: u64,
    fixed: u64,
) {
    let good = validate(&FileSource::open(img).unwrap(), 64 * MIB);
    assert!(
        good.found.iter().any(|f| f.contains(expect_found)),
        "{good:?}"
    );
    assert!(good.checks >= min_checks, "{good:?}");
    assert_eq!(good.rate(), Some(1.0), "{good:?}");
    // The file system fills its image, and says so (btrfs claims no size).
    let len = std::fs::metadata(img).unwrap().len();
    if !expect_found.starts_with("btrfs") {
        assert_eq!(good.extent_bytes, len, "{good:?}");
    }
    let shuffled = Shuffled {
        inner: FileSource::open(img).unwrap(),
        chunk,
        fixed,
    };
    let bad = validate(&shuffled, 64 * MIB);
    eprintln!(
        "{expect_found}: right {}/{}, shuffled {}/{} {:?}",
        good.passed, good.checks, bad.passed, bad.checks, bad.notes
    );
    assert!(bad.rate().is_some_and(|r| r < 0.75), "{bad:?}");
}

#[test]
fn ext4_superblocks_locate_the_fs_and_validation_checks_bitmaps() {
    let dir = tempfile::tempdir().unwrap();
    let img = ext4(dir.path(), &["-b", "4096"]);
    let anchors = scan_file(&img);
    // 32 MiB in 4 KiB blocks is one group; 1 KiB blocks below has more.
    assert!(kinds(&anchors).contains(&AnchorKind::ExtSuperblock));
    assert_self_located(&anchors, 0, &[]);
    assert_validation_separates(&img, 4, "ext4 at 0", 64 << 10, 1);
}

#[test]
fn ext_backup_superblocks_carry_their_group() {
    let dir = tempfile::tempdir().unwrap();
    let img = ext4(dir.path(), &["-b", "1024", "-O", "^metadata_csum"]);
    let anchors = scan_file(&img);
    let supers: Vec<_> = anchors
        .iter()
        .filter(|a| a.kind == AnchorKind::ExtSuperblock)
        .collect();
    // 32 MiB in 8 MiB groups: groups 0, 1 and 3 hold superblocks.
    assert_eq!(
        supers.iter().map(|a| a.member_offset).collect::<Vec<_>>(),
        vec![1024, 8 * MIB + 1024, 24 * MIB + 1024]
    );
    assert!(supers.iter().all(|a| a.fs_key == supers[0].fs_key));
    assert_self_located(&anchors, 0, &[]);
    assert_validation_separates(&img, 4, "at 0", 64 << 10, 1);
}

#[test]
fn ntfs_mft_records_carry_their_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let img = ntfs(dir.path());
    let anchors = scan_file(&img);
    let data = std::fs::read(&img).unwrap();
    let boot = ntfs::parse_boot(&data[..512]).unwrap();
    let mft = boot.mft_lcn * boot.cluster_bytes;
    let mirr = boot.mftmirr_lcn * boot.cluster_bytes;
    let records: Vec<_> = anchors
        .iter()
        .filter(|a| a.kind == AnchorKind::NtfsMftRecord)
        .collect();
    assert!(records.len() >= 24, "{}", records.len());
    let at_mft = records
        .iter()
        .filter(|a| a.member_offset - a.fs_offset == mft)
        .count();
    assert!(at_mft >= 20);
    assert!(
        records
            .iter()
            .all(|a| [mft, mirr].contains(&(a.member_offset - a.fs_offset)))
    );
    // Boot sector and its backup: exactly one reading of each holds.
    let boots: Vec<_> = anchors
        .iter()
        .filter(|a| matches!(a.kind, AnchorKind::NtfsBoot | AnchorKind::NtfsBootBackup))
        .collect();
    assert_eq!(
        boots
            .iter()
            .filter(|a| a.member_offset == a.fs_offset)
            .count(),
        2,
        "{boots:?}"
    );
    assert_validation_separates(&img, 30, "NTFS at 0", 64 << 10, 1);
}

#[test]
fn fat_boot_sectors_and_directories() {
    for bits in ["12", "16", "32"] {
        let dir = tempfile::tempdir().unwrap();
        let img = vfat(dir.path(), bits);
        let anchors = scan_file(&img);
        assert!(kinds(&anchors).contains(&AnchorKind::FatBoot), "FAT{bits}");
        assert!(!kinds(&anchors).contains(&AnchorKind::Mbr), "FAT{bits}");
        assert_self_located(&anchors, 0, &[]);
        if bits == "32" {
            // Primary and backup boot sector both locate the start.
            assert_eq!(
                anchors
                    .iter()
                    .filter(|a| a.kind == AnchorKind::FatBoot)
                    .count(),
                2
            );
        }
        assert_validation_separates(&img, 10, &format!("Fat{bits} at 0"), 4096, 1);
    }
}

#[test]
fn xfs_ag_headers_and_btree_blocks_locate_the_fs() {
    let dir = tempfile::tempdir().unwrap();
    let img = xfs(dir.path());
    let anchors = scan_file(&img);
    let k = kinds(&anchors);
    for want in [
        AnchorKind::XfsSuperblock,
        AnchorKind::XfsAgHeader,
        AnchorKind::XfsBtreeBlock,
    ] {
        assert!(k.contains(&want), "{want:?} missing: {k:?}");
    }
    // mkfs.xfs makes 4 AGs here: superblock, AGF and AGI of each.
    assert!(anchors.len() >= 12, "{}", anchors.len());
    assert_self_located(&anchors, 0, &[]);
    assert_validation_separates(&img, 12, "XFS v5 at 0", 64 << 10, 1);
}

#[test]
fn btrfs_superblock_and_tree_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let img = btrfs(dir.path());
    let anchors = scan_file(&img);
    let sb: Vec<_> = anchors
        .iter()
        .filter(|a| a.kind == AnchorKind::BtrfsSuperblock)
        .collect();
    assert!(!sb.is_empty());
    assert_self_located(&sb.into_iter().copied().collect::<Vec<_>>(), 0, &[]);
    let trees: Vec<_> = anchors
        .iter()
        .filter(|a| a.kind == AnchorKind::BtrfsTreeBlock)
        .collect();
    assert!(trees.len() >= 5, "{}", trees.len());
    // Logical addresses: one physical-logical offset per chunk copy.
    let deltas: BTreeSet<i128> = trees
        .iter()
        .map(|a| i128::from(a.member_offset) - i128::from(a.fs_offset))
        .collect();
    assert!(deltas.len() <= 4, "{deltas:?}");
    assert_validation_separates(&img, 5, "btrfs at 0", 64 << 10, 2);
}

#[test]
fn gpt_disk_with_ext4_partition() {
    let dir = tempfile::tempdir().unwrap();
    let fs = ext4(dir.path(), &[]);
    let disk = dir.path().join("disk.img");
    sparse_file(&disk, 40 * MIB);
    run(Command::new("sgdisk")
        .args(["-n", "1:2048:+32M", "-t", "1:8300"])
        .arg(&disk));
    let mut bytes = std::fs::read(&disk).unwrap();
    let fsb = std::fs::read(&fs).unwrap();
    bytes[MIB as usize..MIB as usize + fsb.len()].copy_from_slice(&fsb);
    let anchors = {
        let mut out = Vec::new();
        for (i, w) in bytes.chunks(WINDOW).enumerate() {
            scan(0, (i * WINDOW) as u64, w, &mut out);
        }
        out
    };
    let gpt: Vec<_> = anchors
        .iter()
        .filter(|a| a.kind == AnchorKind::GptHeader)
        .collect();
    assert_eq!(gpt.len(), 2);
    assert!(
        gpt.iter()
            .all(|a| a.fs_key == ARRAY_KEY && a.member_offset == a.fs_offset)
    );
    // The protective MBR locates array offset 0 too.
    assert!(
        anchors
            .iter()
            .any(|a| a.kind == AnchorKind::Mbr && a.member_offset == 0)
    );
    assert_self_located(&anchors, MIB, &[AnchorKind::GptHeader, AnchorKind::Mbr]);
    let v = validate(&MemSource::new("disk", bytes.clone()), 64 * MIB);
    assert!(v.found.iter().any(|f| f.starts_with("GPT at 512")), "{v:?}");
    assert!(
        v.found.iter().any(|f| f.starts_with("ext4 at 1048576")),
        "{v:?}"
    );
    assert_eq!(v.rate(), Some(1.0), "{v:?}");
    // Swapping two 64 KiB chunks of the entry array breaks its CRC.
    let (a, b) = (0usize, 64 << 10);
    let first: Vec<u8> = bytes[a..b].to_vec();
    bytes.copy_within(b..2 * b, a);
    bytes[b..2 * b].copy_from_slice(&first);
    let v = validate(&MemSource::new("disk", bytes), 64 * MIB);
    assert!(v.rate().is_none_or(|r| r < 1.0), "{v:?}");
}

/// Stripes `data` RAID0-style over `n` members with `chunk`-byte chunks,
/// scans each member, and returns the anchors with the array offset the
/// right geometry gives each.
fn striped_anchors(data: &[u8], n: usize, chunk: usize) -> Vec<(Anchor, u64)> {
    let mut members = vec![Vec::new(); n];
    for (c, piece) in data.chunks(chunk).enumerate() {
        members[c % n].extend_from_slice(piece);
    }
    let mut out = Vec::new();
    for (m, bytes) in members.iter().enumerate() {
        for (i, w) in bytes.chunks(WINDOW).enumerate() {
            scan(m, (i * WINDOW) as u64, w, &mut out);
        }
    }
    let chunk = chunk as u64;
    out.into_iter()
        .map(|a| {
            let row = a.member_offset / chunk;
            let array = (row * n as u64 + a.member as u64) * chunk + a.member_offset % chunk;
            (a, array)
        })
        .collect()
}

#[test]
fn anchors_on_striped_members_solve_for_the_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let ext = std::fs::read(ext4(dir.path(), &["-b", "1024"])).unwrap();
    let found = striped_anchors(&ext, 3, 64 << 10);
    let supers: Vec<_> = found
        .iter()
        .filter(|(a, _)| a.kind == AnchorKind::ExtSuperblock)
        .collect();
    assert_eq!(supers.len(), 3);
    assert!(supers.iter().any(|(a, _)| a.member != 0));
    assert!(found.iter().all(|(a, array)| *array == a.fs_offset));

    let img = ntfs(dir.path());
    let data = std::fs::read(&img).unwrap();
    let boot = ntfs::parse_boot(&data[..512]).unwrap();
    let mft = boot.mft_lcn * boot.cluster_bytes;
    let mirr = boot.mftmirr_lcn * boot.cluster_bytes;
    let found = striped_anchors(&data, 3, 4096);
    let records: Vec<_> = found
        .iter()
        .filter(|(a, _)| a.kind == AnchorKind::NtfsMftRecord)
        .collect();
    let members: BTreeSet<usize> = records.iter().map(|(a, _)| a.member).collect();
    assert_eq!(members.len(), 3);
    assert!(
        records
            .iter()
            .all(|(a, array)| [mft, mirr].contains(&(array - a.fs_offset)))
    );
}

/// Real md members (made by the kernel, see fixtures/raid/README.md):
/// each v1.x superblock locates its own device start, and the members'
/// pseudo-random content yields no other anchor.
#[test]
fn md_superblocks_of_real_members_locate_their_device() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/raid");
    for (array, sb_at_end) in [
        ("r5-ls", false),
        ("r5-meta10", true),
        ("r5-meta11", false),
        ("r6-ls", false),
    ] {
        let mut keys = BTreeSet::new();
        for m in 0..4 {
            let path = root.join(array).join(format!("m{m}.img.xz"));
            let out = Command::new("xz").arg("-dc").arg(&path).output().unwrap();
            assert!(out.status.success(), "{path:?}");
            let data = out.stdout;
            let mut anchors = Vec::new();
            for (i, w) in data.chunks(WINDOW).enumerate() {
                scan(m, (i * WINDOW) as u64, w, &mut anchors);
            }
            assert_eq!(anchors.len(), 1, "{array} m{m}: {anchors:?}");
            let a = anchors[0];
            assert_eq!(a.kind, AnchorKind::MdSuperblock);
            assert_eq!(a.member_offset, a.fs_offset, "{array} m{m}");
            assert_eq!(
                a.member_offset > data.len() as u64 / 2,
                sb_at_end,
                "{array} m{m}"
            );
            keys.insert(a.fs_key);
        }
        assert_eq!(keys.len(), 4, "one space per device");
    }
}

#[test]
fn luks_headers_locate_their_container() {
    let dir = tempfile::tempdir().unwrap();
    for ty in ["luks1", "luks2"] {
        let img = dir.path().join(format!("{ty}.img"));
        sparse_file(&img, 20 * MIB);
        let mut c = Command::new("cryptsetup");
        c.args([
            "luksFormat",
            "-q",
            "--type",
            ty,
            "--pbkdf-force-iterations",
            "1000",
        ]);
        if ty == "luks2" {
            c.args(["--pbkdf", "pbkdf2"]);
        }
        let key = dir.path().join("key");
        std::fs::write(&key, b"pw").unwrap();
        run(c.arg("--key-file").arg(&key).arg(&img));
        let anchors: Vec<_> = scan_file(&img)
            .into_iter()
            .filter(|a| a.kind == AnchorKind::LuksHeader)
            .collect();
        // LUKS2 keeps a secondary header copy right after the primary.
        assert_eq!(
            anchors.len(),
            if ty == "luks2" { 2 } else { 1 },
            "{ty}: {anchors:?}"
        );
        assert_self_located(&anchors, 0, &[]);
    }
}

/// The partitioned fixtures made by fixtures/make-fixtures.sh (sfdisk,
/// mkfs.ext4, mkfs.vfat): every table and file system found and consistent.
#[test]
fn partitioned_fixtures_validate_fully() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let v = validate(
        &FileSource::open(&root.join("gpt-ext4-fat.img")).unwrap(),
        64 * MIB,
    );
    assert!(v.found.iter().any(|f| f.starts_with("GPT at 512")), "{v:?}");
    assert!(v.found.iter().any(|f| f.starts_with("ext")), "{v:?}");
    assert!(v.found.iter().any(|f| f.starts_with("Fat")), "{v:?}");
    assert_eq!(v.rate(), Some(1.0), "{v:?}");
    let v = validate(
        &FileSource::open(&root.join("mbr-logical.img")).unwrap(),
        64 * MIB,
    );
    assert!(v.found.iter().any(|f| f.starts_with("MBR at 0")), "{v:?}");
    assert_eq!(v.rate(), Some(1.0), "{v:?}");
}

#[test]
fn zeros_and_text_yield_no_anchors() {
    let mut out = Vec::new();
    scan(0, 0, &vec![0u8; 1 << 20], &mut out);
    scan(0, 0, &vec![0xFFu8; 1 << 20], &mut out);
    let text: Vec<u8> = b"The quick brown fox jumps over the lazy dog. "
        .iter()
        .copied()
        .cycle()
        .take(1 << 20)
        .collect();
    scan(0, 0, &text, &mut out);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(
        validate(&MemSource::new("z", vec![0; 1 << 20]), MIB).checks,
        0
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random data with magics planted at sector starts never anchors.
    #[test]
    fn random_data_yields_no_anchors(
        seed in any::<u64>(),
        plant in proptest::collection::vec((0usize..128, 0usize..12), 0..32),
    ) {
        let mut x = seed | 1;
        let mut buf: Vec<u8> = (0..128 * 512)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for (sector, what) in plant {
            let s = &mut buf[sector * 512..(sector + 1) * 512];
            match what {
                0 => s[0..4].copy_from_slice(b"FILE"),
                1 => s[0..4].copy_from_slice(b"XFSB"),
                2 => s[0..4].copy_from_slice(b"AB3B"),
                3 => s[0..8].copy_from_slice(b"LABELONE"),
                4 => s[0..6].copy_from_slice(b"LUKS\xba\xbe"),
                5 => s[0..8].copy_from_slice(b"EFI PART"),
                6 => s[0x38..0x3A].copy_from_slice(&[0x53, 0xEF]),
                7 => s[510..512].copy_from_slice(&[0x55, 0xAA]),
                8 => s[0x40..0x48].copy_from_slice(btrfs::MAGIC),
                9 => s[3..11].copy_from_slice(b"NTFS    "),
                10 => s[0..4].copy_from_slice(&misc::MD_MAGIC.to_le_bytes()),
                _ => s[0x38..0x40].copy_from_slice(&(1u64 | 1 << 56).to_le_bytes()),
            }
        }
        let mut out = Vec::new();
        scan(3, 4096, &buf, &mut out);
        prop_assert!(out.is_empty(), "{:?}", out);
        let v = validate(&MemSource::new("r", buf), MIB);
        prop_assert_eq!(v.checks, 0, "{:?}", v);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Garbled metadata (GPT, ext4 superblock/descriptors/inodes, FAT boot
    /// sector and FATs of a real image) never panics scan or validate.
    #[test]
    fn garbled_real_metadata_is_survived(
        edits in proptest::collection::vec((0usize..3, 0usize..65536, any::<u8>()), 1..48),
    ) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        let mut data = std::fs::read(root.join("gpt-ext4-fat.img")).unwrap();
        for (region, at, byte) in edits {
            let base = [0usize, 1 << 20, 2 << 20][region];
            data[base + at] = byte;
        }
        let mut out = Vec::new();
        scan(1, 0, &data, &mut out);
        prop_assert!(out.iter().all(|a| a.member_offset < data.len() as u64));
        let v = validate(&MemSource::new("garbled", data), 16 * MIB);
        prop_assert!(v.passed <= v.checks);
    }
}
