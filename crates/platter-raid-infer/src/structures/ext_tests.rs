//! Tests of the ext4 inode anchors against images made by mkfs.ext4, with
//! dumpe2fs (an independent reader of the same images) as the oracle of
//! where each group's inode table is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use platter_core::{ExtentKind, FileSource, Source};

use super::ext_inode::{InodeFs, scan_inodes};
use super::test_support::{noise, run, stripe};
use super::*;

const MIB: u64 = 1 << 20;
/// Sample window size (as the lead's sampler reads).
const WINDOW: usize = 256 << 10;

/// A tree of `files` small files in a few directories, plus a fast and a
/// slow symlink.
fn content(dir: &Path, files: usize) -> PathBuf {
    let d = dir.join("content");
    for sub in ["a", "b/c", "d"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    for i in 0..files {
        let sub = ["a", "b", "b/c", "d", ""][i % 5];
        let body = format!("file {i} ").repeat(1 + i % 700);
        std::fs::write(d.join(sub).join(format!("f{i:04}")), body).unwrap();
    }
    std::os::unix::fs::symlink("a/f0000", d.join("short-link")).unwrap();
    std::os::unix::fs::symlink("x".repeat(200), d.join("long-link")).unwrap();
    d
}

/// Makes an ext4 image of `mib` MiB with `args` and `files` files.
fn mkfs(dir: &Path, mib: u64, args: &[&str], files: usize) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let img = dir.join("ext4.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(mib * MIB)
        .unwrap();
    let c = content(dir, files);
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .args(args)
        .arg("-d")
        .arg(&c)
        .arg(&img));
    img
}

/// What dumpe2fs says about the layout.
#[derive(Debug)]
struct Layout {
    block_bytes: u64,
    inode_bytes: u64,
    inodes_per_group: u64,
    groups_per_flex: u64,
    used_inodes: u64,
    /// First block of each group's inode table.
    tables: Vec<u64>,
}

fn field(text: &str, name: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("dumpe2fs has no {name}"));
    line[name.len()..].trim().parse().unwrap()
}

fn dumpe2fs(img: &Path) -> Layout {
    let text = run(Command::new("dumpe2fs").arg(img).env("LC_ALL", "C"));
    let tables = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Inode table at "))
        .map(|r| r.split('-').next().unwrap().parse().unwrap())
        .collect();
    let flex = text
        .lines()
        .find(|l| l.starts_with("Flex block group size:"))
        .map_or(1, |_| field(&text, "Flex block group size:"));
    Layout {
        block_bytes: field(&text, "Block size:"),
        inode_bytes: field(&text, "Inode size:"),
        inodes_per_group: field(&text, "Inodes per group:"),
        groups_per_flex: flex,
        used_inodes: field(&text, "Inode count:") - field(&text, "Free inodes:"),
        tables,
    }
}

impl Layout {
    /// The inode number at image byte `at`, by the oracle's tables.
    fn inode_at(&self, at: u64) -> Option<u64> {
        let table_bytes = self.inodes_per_group * self.inode_bytes;
        self.tables.iter().enumerate().find_map(|(g, &t)| {
            let start = t * self.block_bytes;
            (start..start + table_bytes).contains(&at).then(|| {
                assert_eq!(
                    (at - start) % self.inode_bytes,
                    0,
                    "misaligned inode at {at}"
                );
                g as u64 * self.inodes_per_group + (at - start) / self.inode_bytes + 1
            })
        })
    }

    /// Byte offset of the first inode table of inode `ino`'s flex group.
    fn flex_table_start(&self, ino: u64) -> u64 {
        let g = (ino - 1) / self.inodes_per_group;
        self.tables[(g / self.groups_per_flex * self.groups_per_flex) as usize] * self.block_bytes
    }
}

/// The image's data extents, in [`WINDOW`]-byte buffers.
fn windows(img: &Path) -> Vec<(u64, Vec<u8>)> {
    let src = FileSource::open(img).unwrap();
    let mut out = Vec::new();
    for e in src.extents(0, src.len()).unwrap() {
        if e.kind != ExtentKind::Data {
            continue;
        }
        let mut off = e.offset / WINDOW as u64 * WINDOW as u64;
        while off < e.end() {
            let n = (WINDOW as u64).min(src.len() - off) as usize;
            let mut buf = vec![0u8; n];
            src.read_exact_at(&mut buf, off).unwrap();
            if out.last().is_none_or(|(o, _): &(u64, Vec<u8>)| *o < off) {
                out.push((off, buf));
            }
            off += n as u64;
        }
    }
    out
}

/// `scan_all` over the image as member 0.
fn scan_image(img: &Path) -> Vec<Anchor> {
    let w = windows(img);
    let bufs: Vec<(usize, u64, &[u8])> = w.iter().map(|(o, b)| (0, *o, b.as_slice())).collect();
    let mut out = Vec::new();
    scan_all(&bufs, &mut out);
    out
}

fn inode_anchors(a: &[Anchor]) -> Vec<Anchor> {
    a.iter()
        .filter(|a| a.kind == AnchorKind::ExtInode)
        .copied()
        .collect()
}

/// Every inode anchor sits in an inode table (per dumpe2fs), its offset
/// places it at its number's slot, and the space's constant is the start
/// of its flex group's first table. Returns the inode numbers found.
fn assert_inodes_located(img: &Path, anchors: &[Anchor], fs: &Layout) -> BTreeSet<u64> {
    let sb = {
        let mut b = vec![0u8; 1024];
        FileSource::open(img)
            .unwrap()
            .read_exact_at(&mut b, 1024)
            .unwrap();
        ext::parse_superblock(&b).unwrap()
    };
    let ifs = InodeFs::from_superblock(&sb).unwrap();
    let mut seen = BTreeSet::new();
    for a in anchors {
        let ino = fs
            .inode_at(a.member_offset)
            .unwrap_or_else(|| panic!("{a:?} is not in an inode table"));
        assert_eq!(
            a.member_offset - a.fs_offset,
            fs.flex_table_start(ino),
            "{a:?} (inode {ino})"
        );
        assert_eq!(ifs.place(ino), Some((a.fs_key, a.fs_offset)), "inode {ino}");
        assert!(seen.insert(ino), "inode {ino} twice");
    }
    seen
}

#[test]
fn default_4k_ext4_inodes_anchor_at_their_table_slots() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), 64, &["-b", "4096"], 300);
    let fs = dumpe2fs(&img);
    assert_eq!((fs.block_bytes, fs.inode_bytes), (4096, 256));
    let anchors = inode_anchors(&scan_image(&img));
    let inos = assert_inodes_located(&img, &anchors, &fs);
    // Every used inode but the reserved ones mkfs leaves zeroed (1, 3-6,
    // 9, 10) anchors: 300 files, 5 directories, 2 symlinks, root,
    // lost+found, the resize and journal inodes.
    assert!(anchors.len() >= 300, "{}", anchors.len());
    assert_eq!(anchors.len() as u64, fs.used_inodes - 7, "{inos:?}");
    for ino in [2, 7, 8, 11] {
        assert!(inos.contains(&ino), "inode {ino} missing");
    }
    // All in one space (one flex group), constant = the inode table start.
    let keys: BTreeSet<u64> = anchors.iter().map(|a| a.fs_key).collect();
    assert_eq!(keys.len(), 1);
}

#[test]
fn inodes_of_several_flex_groups_form_one_space_each() {
    let dir = tempfile::tempdir().unwrap();
    // 8 groups of 32 MiB, flex groups of 2, 64 inodes per group: 320
    // inodes fill groups 0..=4, i.e. flex groups 0, 1 and 2.
    let img = mkfs(
        dir.path(),
        256,
        &["-b", "4096", "-g", "8192", "-G", "2", "-N", "512"],
        300,
    );
    let fs = dumpe2fs(&img);
    assert_eq!((fs.inodes_per_group, fs.groups_per_flex), (64, 2));
    let anchors = inode_anchors(&scan_image(&img));
    let inos = assert_inodes_located(&img, &anchors, &fs);
    assert_eq!(anchors.len() as u64, fs.used_inodes - 7, "{inos:?}");
    let mut per_key: BTreeMap<u64, usize> = BTreeMap::new();
    for a in &anchors {
        *per_key.entry(a.fs_key).or_default() += 1;
    }
    assert_eq!(per_key.len(), 3, "{per_key:?}");
}

#[test]
fn no_inode_anchors_without_metadata_csum() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), 64, &["-b", "4096", "-O", "^metadata_csum"], 300);
    let all = scan_image(&img);
    assert!(all.iter().any(|a| a.kind == AnchorKind::ExtSuperblock));
    assert!(inode_anchors(&all).is_empty());
}

#[test]
fn inode_anchors_need_the_superblock_of_their_own_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let a = mkfs(&dir.path().join("a"), 64, &["-b", "4096"], 300);
    let b = mkfs(&dir.path().join("b"), 64, &["-b", "4096"], 300);
    // B's superblock window, A's windows without its superblock.
    let wa = windows(&a);
    let wb = windows(&b);
    let mut bufs: Vec<(usize, u64, &[u8])> = vec![(1, 0, wb[0].1.as_slice())];
    bufs.extend(wa.iter().skip(1).map(|(o, d)| (0, *o, d.as_slice())));
    let mut out = Vec::new();
    scan_all(&bufs, &mut out);
    assert!(
        out.iter()
            .all(|x| x.kind != AnchorKind::ExtInode || x.member == 1),
        "{out:?}"
    );
    // Without any superblock, nothing to solve with.
    let mut out = Vec::new();
    scan_all(&bufs[1..], &mut out);
    assert!(inode_anchors(&out).is_empty());
}

/// The superblock of a file system whose windows lack it, lent by
/// content computed rather than read (the XOR of a degraded RAID5's
/// members): the inodes are solved again, and the lent buffer itself
/// yields no anchor.
#[test]
fn a_lent_superblock_solves_the_inodes_of_the_members_present() {
    let dir = tempfile::tempdir().unwrap();
    let a = mkfs(&dir.path().join("a"), 64, &["-b", "4096"], 300);
    let wa = windows(&a);
    // The first block (superblock) lent, the rest read.
    let (head, rest) = wa[0].1.split_at(4096);
    let mut bufs: Vec<(usize, u64, &[u8])> = vec![(0, 4096, rest)];
    bufs.extend(wa.iter().skip(1).map(|(o, d)| (0, *o, d.as_slice())));
    let mut alone = Vec::new();
    scan_all_lent(&bufs, &[], &mut alone);
    assert!(inode_anchors(&alone).is_empty());
    let lent = [(0, head)];
    let mut out = Vec::new();
    scan_all_lent(&bufs, &lent, &mut out);
    assert!(
        inode_anchors(&out).len() >= 100,
        "{}",
        inode_anchors(&out).len()
    );
    assert!(out.iter().all(|x| x.member_offset >= 4096));
}

/// The samples of a RAID5 (left-symmetric, 64 KiB, 4 members) over an
/// ext4, without the member holding chunk 0 and the primary superblock:
/// the members alone solve no inode; [`crate::anchored::anchors`] lends
/// the superblock of the XOR of the members (the missing one's content)
/// and solves them.
#[test]
fn anchors_of_a_raid5_missing_its_superblock_member_solve_inodes() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), 64, &["-b", "4096"], 300);
    let mut fs = std::fs::read(&img).unwrap();
    let (n, chunk) = (4usize, 64usize << 10);
    // Bytes beside the superblock in the next chunk of its row (free
    // here), so parity there is no copy of the superblock, as in a full
    // file system.
    fs[chunk + 1024..chunk + 2048].copy_from_slice(&noise(5, 1024));
    let rows = fs.len() / (chunk * (n - 1));
    let mut m = vec![vec![0u8; rows * chunk]; n];
    for r in 0..rows {
        let p = n - 1 - r % n;
        for i in 0..n - 1 {
            let src = &fs[(r * (n - 1) + i) * chunk..][..chunk];
            let disk = (p + 1 + i) % n;
            m[disk][r * chunk..(r + 1) * chunk].copy_from_slice(src);
            for (x, y) in m[p][r * chunk..(r + 1) * chunk].iter_mut().zip(src) {
                *x ^= y;
            }
        }
    }
    m.remove(0);
    let w = 256usize << 10;
    let samples = crate::sample::Samples {
        windows: (0..rows * chunk / w)
            .map(|k| crate::sample::SampleWindow {
                offset: (k * w) as u64,
                data: m.iter().map(|x| x[k * w..(k + 1) * w].to_vec()).collect(),
            })
            .collect(),
        bytes_read_per_member: (rows * chunk) as u64,
        common_bytes: (rows * chunk) as u64,
    };
    let bufs: Vec<(usize, u64, &[u8])> = samples
        .windows
        .iter()
        .flat_map(|w| (0..3).map(move |i| (i, w.offset, w.data[i].as_slice())))
        .collect();
    let mut alone = Vec::new();
    scan_all(&bufs, &mut alone);
    assert!(inode_anchors(&alone).is_empty());
    let lent = crate::anchored::anchors(&samples, 3);
    assert!(
        inode_anchors(&lent).len() >= 100,
        "{}",
        inode_anchors(&lent).len()
    );
    assert!(lent.iter().all(|a| a.member < 3));
}

#[test]
fn random_and_forged_inodes_yield_no_anchors() {
    let dir = tempfile::tempdir().unwrap();
    // A fixed UUID (the checksum seed): the forged slots below pass by
    // chance with odds 4096 / 2^32 each, so a random seed made the count
    // vary from run to run.
    let uuid = "5e1ec7ed-0b5e-4c0d-9e57-1a7e0f5eed01";
    let img = mkfs(dir.path(), 64, &["-b", "4096", "-U", uuid], 10);
    let w = windows(&img);
    let mut sb = vec![0u8; 1024];
    sb.copy_from_slice(&w[0].1[1024..2048]);
    let fss = vec![InodeFs::from_superblock(&ext::parse_superblock(&sb).unwrap()).unwrap()];
    // 16 MiB of noise, then the same with every 256-byte slot forged to
    // pass the prechecks (type, links, extra_isize, extent header): only
    // the checksum then stands between noise and an anchor.
    let mut data = noise(7, 16 << 20);
    let mut out = Vec::new();
    scan_inodes(0, 0, &data, &fss, &mut out);
    assert!(out.is_empty(), "{out:?}");
    for s in data.chunks_exact_mut(256) {
        s[0..2].copy_from_slice(&0x81A4u16.to_le_bytes());
        s[0x14..0x18].fill(0);
        s[0x1A] |= 1;
        s[0x20..0x24].copy_from_slice(&0x8_0000u32.to_le_bytes());
        s[0x28..0x2E].copy_from_slice(&[0x0A, 0xF3, 1, 0, 4, 0]);
        s[0x2E] = 0;
        s[0x2F] = 0;
        s[0x80..0x82].copy_from_slice(&32u16.to_le_bytes());
    }
    assert!(ext_inode::plausible(&data[..256], 256));
    scan_inodes(0, 0, &data, &fss, &mut out);
    // 65536 forged slots, each passing with odds 4096 / 2^32.
    assert!(out.len() <= 1, "{out:?}");
}

#[test]
fn inode_table_copies_after_a_journal_header_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), 64, &["-b", "4096"], 40);
    let fs = dumpe2fs(&img);
    let src = FileSource::open(&img).unwrap();
    let mut sb = vec![0u8; 1024];
    src.read_exact_at(&mut sb, 1024).unwrap();
    let fss = vec![InodeFs::from_superblock(&ext::parse_superblock(&sb).unwrap()).unwrap()];
    let mut table = vec![0u8; 8192];
    src.read_exact_at(&mut table, fs.tables[0] * fs.block_bytes)
        .unwrap();
    let mut out = Vec::new();
    scan_inodes(0, 0, &table, &fss, &mut out);
    assert!(out.len() >= 16, "{}", out.len());
    // The same blocks behind a jbd2 descriptor block: a journal copy.
    let mut journal = vec![0u8; 4096];
    journal[0..4].copy_from_slice(&0xC03B_3998u32.to_be_bytes());
    journal[4..8].copy_from_slice(&1u32.to_be_bytes());
    journal.extend_from_slice(&table);
    out.clear();
    scan_inodes(0, 0, &journal, &fss, &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn sector_neighbours_out_of_sequence_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), 64, &["-b", "4096"], 40);
    let fs = dumpe2fs(&img);
    let src = FileSource::open(&img).unwrap();
    let mut sb = vec![0u8; 1024];
    src.read_exact_at(&mut sb, 1024).unwrap();
    let fss = vec![InodeFs::from_superblock(&ext::parse_superblock(&sb).unwrap()).unwrap()];
    // Inodes 11..=26: every sector holds two live inodes.
    let mut table = vec![0u8; 4096];
    src.read_exact_at(&mut table, fs.tables[0] * fs.block_bytes + 10 * 256)
        .unwrap();
    let mut out = Vec::new();
    scan_inodes(0, 0, &table, &fss, &mut out);
    assert_eq!(out.len(), 16);
    // Swap the halves of sector 0 and copy inode 11 over inode 16: the
    // numbers no longer follow each other within those sectors.
    let (a, b) = table.split_at_mut(256);
    a[..256].swap_with_slice(&mut b[..256]);
    table.copy_within(256..512, 5 * 256);
    out.clear();
    scan_inodes(0, 0, &table, &fss, &mut out);
    let kept: Vec<u64> = out.iter().map(|a| a.member_offset).collect();
    // Sectors 0 (slots 0, 1) and 2 (slots 4, 5) lose both inodes.
    let want: Vec<u64> = [2, 3].into_iter().chain(6..16).map(|i| i * 256).collect();
    assert_eq!(kept, want);
}

#[test]
fn striped_inodes_give_one_constant_per_space() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), 16, &["-b", "4096"], 300);
    let data = std::fs::read(&img).unwrap();
    let (n, chunk) = (3usize, 16usize << 10);
    let members = stripe(&data, n, chunk);
    let bufs: Vec<(usize, u64, &[u8])> = members
        .iter()
        .enumerate()
        .flat_map(|(m, d)| {
            d.chunks(WINDOW)
                .enumerate()
                .map(move |(i, w)| (m, (i * WINDOW) as u64, w))
        })
        .collect();
    let mut out = Vec::new();
    scan_all(&bufs, &mut out);
    let inodes = inode_anchors(&out);
    assert!(inodes.len() >= 300, "{}", inodes.len());
    let members_seen: BTreeSet<usize> = inodes.iter().map(|a| a.member).collect();
    assert_eq!(members_seen.len(), n, "inodes on every member");
    let mut constant: BTreeMap<u64, u64> = BTreeMap::new();
    for a in &inodes {
        let (c, within) = (
            a.member_offset / chunk as u64,
            a.member_offset % chunk as u64,
        );
        let array = (c * n as u64 + a.member as u64) * chunk as u64 + within;
        let k = array - a.fs_offset;
        assert_eq!(*constant.entry(a.fs_key).or_insert(k), k, "{a:?}");
    }
}

/// Validation reads every directory's first block (not only the root's):
/// each starts with `.` naming the directory. A block moved away (as a
/// wrong chunk size or order maps it) fails the check, though every
/// checksum of the metadata still holds.
#[test]
fn directory_blocks_are_checked_where_their_inodes_point() {
    let dir = tempfile::tempdir().unwrap();
    let img = mkfs(dir.path(), 16, &["-b", "4096"], 60);
    let mut bytes = std::fs::read(&img).unwrap();
    let v = validate(
        &platter_core::MemSource::new("disk", bytes.clone()),
        64 * MIB,
    );
    assert_eq!(v.rate(), Some(1.0), "{v:?}");
    // a, b, b/c, d and lost+found.
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("5 directory blocks right, 0 wrong")),
        "{v:?}"
    );
    // The first block of one directory other than the root, found by its
    // content: `.` naming an inode other than 2.
    let at = bytes
        .chunks(4096)
        .position(|b| {
            let ino = u32::from_le_bytes(b[0..4].try_into().unwrap());
            ino > 2 && b[6] == 1 && b[8] == b'.' && b[4..6] == [12, 0] && &b[20..22] == b".."
        })
        .unwrap()
        * 4096;
    bytes[at..at + 4096].fill(0);
    let v = validate(&platter_core::MemSource::new("disk", bytes), 64 * MIB);
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("4 directory blocks right, 1 wrong")),
        "{v:?}"
    );
}

/// A directory whose extent tree has an index level (a large, fragmented
/// root directory): its first block is found through the index block,
/// and a child whose depth is not one less is refused.
#[test]
fn a_directory_first_block_is_followed_through_an_extent_index() {
    let node = |entries: u16, depth: u16, entry: [u8; 12]| {
        let mut n = vec![0u8; 12];
        n[0..2].copy_from_slice(&0xF30Au16.to_le_bytes());
        n[2..4].copy_from_slice(&entries.to_le_bytes());
        n[4..6].copy_from_slice(&4u16.to_le_bytes());
        n[6..8].copy_from_slice(&depth.to_le_bytes());
        n.extend_from_slice(&entry);
        n.resize(60, 0);
        n
    };
    // An index entry: logical block 0, child block 77 (low 32, high 16).
    let mut index = [0u8; 12];
    index[4..8].copy_from_slice(&77u32.to_le_bytes());
    // An extent: logical 0, one block starting at 0x1_0000_04D2.
    let mut extent = [0u8; 12];
    extent[4..6].copy_from_slice(&1u16.to_le_bytes());
    extent[6..8].copy_from_slice(&1u16.to_le_bytes());
    extent[8..12].copy_from_slice(&1234u32.to_le_bytes());
    let inode = |root: Vec<u8>| {
        let mut ino = vec![0u8; 256];
        ino[0x20..0x24].copy_from_slice(&0x8_0000u32.to_le_bytes());
        ino[0x28..0x28 + 60].copy_from_slice(&root);
        ino
    };
    let leaf = node(1, 0, extent);
    let want = Some((1u64 << 32) | 1234);
    let mut none = |_| None;
    assert_eq!(ext::first_block(&inode(leaf.clone()), &mut none), want);
    let mut reads = Vec::new();
    let mut read = |b: u64| {
        reads.push(b);
        Some(leaf.clone())
    };
    assert_eq!(ext::first_block(&inode(node(1, 1, index)), &mut read), want);
    assert_eq!(reads, [77]);
    // The child claims depth 0 under a depth-2 root: refused.
    let mut read = |_| Some(leaf.clone());
    assert_eq!(ext::first_block(&inode(node(1, 2, index)), &mut read), None);
}
