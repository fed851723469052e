//! Tests of the ext4 directory, extent-block and journal anchors against
//! images made by mkfs.ext4 (and e2fsck -D for htree directories), with
//! debugfs (an independent reader of the same images) as the oracle of
//! where each directory's, file's and the journal's blocks are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::super::test_support::{noise, run, stripe};
use super::super::{Anchor, AnchorKind, crc32c_raw, ext, scan_all};

const MIB: u64 = 1 << 20;
/// Sample window size (as the sampler reads).
const WINDOW: usize = 256 << 10;
const BS: u64 = 4096;
const NEW_KINDS: [AnchorKind; 3] = [
    AnchorKind::ExtDirectory,
    AnchorKind::ExtExtentBlock,
    AnchorKind::Jbd2Superblock,
];

/// A staged tree: nested directories, a directory of 1000 entries (several
/// blocks), one of 250 (two blocks), small files, and a sparse file of 12
/// data runs (an extent tree deeper than the inode). Returns the tree and
/// its directories as image paths ("/" first).
fn content(dir: &Path) -> (PathBuf, Vec<String>) {
    let d = dir.join("content");
    let mut dirs = vec!["/".to_string(), "/lost+found".to_string()];
    for i in 0..12 {
        let mut p = String::new();
        for j in 0..=i % 4 {
            p.push_str(&format!("/n{i}_{j}"));
            if !dirs.contains(&p) {
                dirs.push(p.clone());
            }
        }
        std::fs::create_dir_all(d.join(&p[1..])).unwrap();
        for f in 0..6 {
            let body = format!("file {i}/{f} ").repeat(1 + (i * 97 + f * 31) % 900);
            std::fs::write(d.join(&p[1..]).join(format!("f{f}")), body).unwrap();
        }
    }
    for (name, n) in [("big", 1000), ("two", 250)] {
        std::fs::create_dir_all(d.join(name)).unwrap();
        dirs.push(format!("/{name}"));
        for i in 0..n {
            std::fs::write(d.join(name).join(format!("entry_name_{i:05}")), "x").unwrap();
        }
    }
    let sparse = std::fs::File::create(d.join("sparse")).unwrap();
    for i in 0..12u64 {
        use std::os::unix::fs::FileExt;
        sparse.write_all_at(&[0x5A; 8192], i * 65536).unwrap();
    }
    (d, dirs)
}

/// Makes a 32 MiB ext4 image (4 KiB blocks) of the staged tree; with
/// `index`, e2fsck -D then rebuilds large directories as htrees.
fn mkfs(dir: &Path, index: bool) -> (PathBuf, Vec<String>) {
    std::fs::create_dir_all(dir).unwrap();
    let img = dir.join("ext4.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(32 * MIB)
        .unwrap();
    let (c, dirs) = content(dir);
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-b", "4096", "-d"])
        .arg(&c)
        .arg(&img));
    if index {
        // Exit status 1: "file system modified".
        let st = Command::new("e2fsck")
            .arg("-fyD")
            .arg(&img)
            .output()
            .unwrap();
        assert!(st.status.code().is_some_and(|c| c <= 1), "{st:?}");
    }
    (img, dirs)
}

/// debugfs's extent list of `path`: extent tree blocks and (logical
/// start, count, physical start) runs.
#[derive(Debug, Default)]
struct Extents {
    tree: Vec<u64>,
    runs: Vec<(u64, u64, u64)>,
}

impl Extents {
    fn map(&self, logical: u64) -> Option<u64> {
        self.runs
            .iter()
            .find(|r| (r.0..r.0 + r.1).contains(&logical))
            .map(|r| r.2 + logical - r.0)
    }

    fn blocks(&self) -> u64 {
        self.runs.iter().map(|r| r.1).sum()
    }
}

/// debugfs's extents of each of `paths`, in one debugfs run.
fn debugfs_extents(img: &Path, paths: &[&str]) -> Vec<Extents> {
    let cmds = img.with_extension("cmds");
    let script: String = paths.iter().map(|p| format!("stat {p}\n")).collect();
    std::fs::write(&cmds, script).unwrap();
    let text = run(Command::new("debugfs").arg("-f").arg(&cmds).arg(img));
    let outputs: Vec<&str> = text.split("debugfs: stat ").skip(1).collect();
    assert_eq!(outputs.len(), paths.len(), "{text}");
    outputs
        .iter()
        .zip(paths)
        .map(|(t, p)| parse_extents(t, p))
        .collect()
}

fn parse_extents(text: &str, path: &str) -> Extents {
    let list = text
        .split("EXTENTS:")
        .nth(1)
        .unwrap_or_else(|| panic!("no extents for {path}: {text}"));
    let mut e = Extents::default();
    for tok in list.split([',', ' ', '\n']).filter(|t| t.starts_with('(')) {
        let (l, p) = tok.split_once("):").unwrap();
        let l = &l[1..];
        let p0: u64 = p.split('-').next().unwrap().parse().unwrap();
        if l.starts_with("ETB") {
            e.tree.push(p0);
            continue;
        }
        let mut ls = l.split('-').map(|x| x.parse::<u64>().unwrap());
        let a = ls.next().unwrap();
        let b = ls.next().unwrap_or(a);
        e.runs.push((a, b - a + 1, p0));
    }
    e
}

fn read_windows(data: &[u8]) -> Vec<(u64, &[u8])> {
    data.chunks(WINDOW)
        .enumerate()
        .filter(|(_, w)| w.iter().any(|&b| b != 0))
        .map(|(i, w)| ((i * WINDOW) as u64, w))
        .collect()
}

fn scan_members(members: &[&[u8]]) -> Vec<Anchor> {
    let bufs: Vec<(usize, u64, &[u8])> = members
        .iter()
        .enumerate()
        .flat_map(|(m, d)| read_windows(d).into_iter().map(move |(o, w)| (m, o, w)))
        .collect();
    let mut out = Vec::new();
    scan_all(&bufs, &mut out);
    out
}

fn of_kind(a: &[Anchor], kind: AnchorKind) -> Vec<Anchor> {
    a.iter().filter(|a| a.kind == kind).copied().collect()
}

fn uuid_key(data: &[u8]) -> u64 {
    ext::key(&ext::parse_superblock(&data[1024..2048]).unwrap().uuid)
}

/// What debugfs says the new anchors of `img` should be: directory block
/// offsets (block 0 of every directory, block 1 of two-block ones),
/// extent tree blocks of `tree_paths`, the journal's block 0.
struct Expected {
    dirs: BTreeSet<u64>,
    tree: BTreeSet<u64>,
    journal: u64,
}

fn expected(img: &Path, dirs: &[String], tree_paths: &[&str]) -> Expected {
    let mut paths: Vec<&str> = dirs.iter().map(|d| d.as_str()).collect();
    paths.extend(tree_paths);
    paths.push("<8>");
    let all = debugfs_extents(img, &paths);
    let mut want = BTreeSet::new();
    for e in &all[..dirs.len()] {
        want.insert(e.map(0).unwrap() * BS);
        if e.blocks() == 2 {
            want.insert(e.map(1).unwrap() * BS);
        }
    }
    let mut tree = BTreeSet::new();
    for (p, e) in tree_paths.iter().zip(&all[dirs.len()..]) {
        assert!(!e.tree.is_empty(), "{p} has no extent tree block");
        tree.extend(e.tree.iter().map(|b| b * BS));
    }
    let journal = all[all.len() - 1].map(0).unwrap() * BS;
    Expected {
        dirs: want,
        tree,
        journal,
    }
}

/// An image built once per test run: its bytes and debugfs's answers.
struct Built {
    data: Vec<u8>,
    want: Expected,
}

/// The plain mkfs -d image (linear directories, `/two` of two blocks,
/// `/big` with an extent tree block), or with `index` the same tree after
/// e2fsck -D (htree directories; another UUID).
fn built(index: bool) -> &'static Built {
    static LINEAR: OnceLock<Built> = OnceLock::new();
    static INDEXED: OnceLock<Built> = OnceLock::new();
    let cell = if index { &INDEXED } else { &LINEAR };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (img, dirs) = mkfs(dir.path(), index);
        let want = if index {
            let htree = run(Command::new("debugfs")
                .arg("-R")
                .arg("htree /big")
                .arg(&img));
            assert!(htree.contains("Root node dump"), "{htree}");
            expected(&img, &dirs, &["/sparse"])
        } else {
            let e = &debugfs_extents(&img, &["/two"])[0];
            assert_eq!(e.blocks(), 2, "the two-block directory");
            expected(&img, &dirs, &["/sparse", "/big"])
        };
        Built {
            data: std::fs::read(&img).unwrap(),
            want,
        }
    })
}

/// Asserts that the new anchors on `member` of `anchors` are those of
/// image `b` scanned whole: each at its own fs offset (the superblock
/// space's origin), in its file system's space, the sets debugfs gives.
fn assert_image_anchors(anchors: &[Anchor], member: usize, b: &Built) {
    let key = uuid_key(&b.data);
    let mine: Vec<Anchor> = anchors
        .iter()
        .filter(|a| a.member == member && NEW_KINDS.contains(&a.kind))
        .copied()
        .collect();
    for a in &mine {
        assert_eq!(a.member_offset, a.fs_offset, "{a:?}");
        assert_eq!(a.fs_key, key, "{a:?}");
    }
    let set = |k| -> BTreeSet<u64> { of_kind(&mine, k).iter().map(|a| a.fs_offset).collect() };
    assert_eq!(set(AnchorKind::ExtDirectory), b.want.dirs);
    let tree = set(AnchorKind::ExtExtentBlock);
    assert!(tree.is_superset(&b.want.tree), "{tree:?} {:?}", b.want.tree);
    let journal: Vec<u64> = of_kind(&mine, AnchorKind::Jbd2Superblock)
        .iter()
        .map(|a| a.fs_offset)
        .collect();
    assert_eq!(journal, vec![b.want.journal]);
}

#[test]
fn linear_directories_extent_blocks_and_journal_anchor_where_debugfs_says() {
    let b = built(false);
    let anchors = scan_members(&[&b.data]);
    assert_image_anchors(&anchors, 0, b);
    // Both blocks of /two, and /big's directory block 0 mapped through
    // its extent tree block.
    assert!(b.want.dirs.len() > 30, "{}", b.want.dirs.len());
}

#[test]
fn htree_roots_anchor_through_their_dx_tail() {
    let b = built(true);
    let anchors = scan_members(&[&b.data]);
    assert_image_anchors(&anchors, 0, b);
}

#[test]
fn striped_anchors_map_back_through_the_geometry() {
    let data = &built(true).data;
    let whole = scan_members(&[data]);
    let count = |a: &[Anchor], k| a.iter().filter(|a| a.kind == k).count();
    for (n, chunk) in [(3usize, 64usize << 10), (4, 16 << 10), (3, 4 << 10)] {
        let members = stripe(data, n, chunk);
        let refs: Vec<&[u8]> = members.iter().map(|m| m.as_slice()).collect();
        let anchors = scan_members(&refs);
        let mut on: BTreeMap<AnchorKind, BTreeSet<usize>> = BTreeMap::new();
        for a in anchors.iter().filter(|a| NEW_KINDS.contains(&a.kind)) {
            let (c, within) = (
                a.member_offset / chunk as u64,
                a.member_offset % chunk as u64,
            );
            let array = (c * n as u64 + a.member as u64) * chunk as u64 + within;
            assert_eq!(array, a.fs_offset, "{a:?} (n {n}, chunk {chunk})");
            on.entry(a.kind).or_default().insert(a.member);
        }
        for k in NEW_KINDS {
            assert_eq!(
                count(&anchors, k),
                count(&whole, k),
                "{k:?} n {n} chunk {chunk}"
            );
        }
        assert_eq!(
            on[&AnchorKind::ExtDirectory].len(),
            n,
            "directories on every member"
        );
    }
    // A chunk smaller than the block splits blocks: none verifies, none
    // is placed wrongly (the 1 KiB journal superblock still fits).
    let members = stripe(data, 3, 2048);
    let refs: Vec<&[u8]> = members.iter().map(|m| m.as_slice()).collect();
    let anchors = scan_members(&refs);
    for a in anchors.iter().filter(|a| NEW_KINDS.contains(&a.kind)) {
        assert_eq!(a.kind, AnchorKind::Jbd2Superblock, "{a:?}");
        let (c, within) = (a.member_offset / 2048, a.member_offset % 2048);
        assert_eq!((c * 3 + a.member as u64) * 2048 + within, a.fs_offset);
    }
}

/// A FAT16 and an NTFS image with a few directories and files.
fn fat_and_ntfs(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let src = dir.join("src");
    for d in ["a", "a/b", "c"] {
        std::fs::create_dir_all(src.join(d)).unwrap();
        for i in 0..8 {
            let body = format!("{d} {i} ").repeat(1 + i * 300);
            std::fs::write(src.join(d).join(format!("F{i}.TXT")), body).unwrap();
        }
    }
    let fat = dir.join("fat.img");
    run(Command::new("mkfs.vfat")
        .args(["-F", "16", "-s", "4", "-C"])
        .arg(&fat)
        .arg("16384"));
    run(Command::new("mcopy")
        .arg("-s")
        .arg("-i")
        .arg(&fat)
        .arg(src.join("a"))
        .arg(src.join("c"))
        .arg("::"));
    let ntfs = dir.join("ntfs.img");
    std::fs::File::create(&ntfs)
        .unwrap()
        .set_len(16 * MIB)
        .unwrap();
    run(Command::new("mkntfs").args(["-q", "-F", "-Q"]).arg(&ntfs));
    for i in 0..4 {
        run(Command::new("ntfscp")
            .arg(&ntfs)
            .arg(src.join("a").join(format!("F{i}.TXT")))
            .arg(format!("F{i}")));
    }
    (std::fs::read(fat).unwrap(), std::fs::read(ntfs).unwrap())
}

/// `block` (one 4 KiB block) with one byte changed.
fn flipped(block: &[u8], at: usize) -> Vec<u8> {
    let mut b = block.to_vec();
    b[at] ^= 0x20;
    b
}

/// A buffer of noise with real blocks of `b` planted, each with one byte
/// changed (so their checksums fail), and its journal superblock with
/// another UUID.
fn forged(b: &Built) -> Vec<u8> {
    let mut buf = noise(99, 4 * MIB as usize);
    let block = |off: u64| &b.data[off as usize..(off + BS) as usize];
    let mut at = 0;
    let mut plant = |buf: &mut Vec<u8>, bytes: &[u8]| {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
        at += 2 * BS as usize;
    };
    for &d in &b.want.dirs {
        plant(&mut buf, &flipped(block(d), 100));
        plant(&mut buf, &flipped(block(d), 4000));
    }
    for &t in &b.want.tree {
        plant(&mut buf, &flipped(block(t), 20));
    }
    plant(&mut buf, &flipped(block(b.want.journal), 0x35));
    buf
}

fn zero_superblocks(data: &mut [u8]) {
    for p in (0..data.len() - 1024).step_by(1024) {
        if ext::parse_superblock(&data[p..p + 1024]).is_some() {
            data[p..p + 1024].fill(0);
        }
    }
}

/// Anchors of `members` scanned as sample windows, zero buffers included.
fn scan_raw(members: &[&[u8]]) -> Vec<Anchor> {
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
    out
}

#[test]
fn foreign_random_and_forged_data_yield_no_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let (linear, indexed) = (built(false), built(true));
    let mut other = indexed.data.clone();
    zero_superblocks(&mut other);
    let (fat, ntfs) = fat_and_ntfs(dir.path());
    let text: Vec<u8> = b"lost+found . .. The quick brown fox jumps over the lazy dog. "
        .iter()
        .copied()
        .cycle()
        .take(2 * MIB as usize)
        .collect();
    let zeros = vec![0u8; 2 * MIB as usize];
    let random = noise(7, 4 * MIB as usize);
    let forged = forged(linear);
    let members: [&[u8]; 8] = [
        &linear.data,
        &other,
        &fat,
        &ntfs,
        &text,
        &zeros,
        &random,
        &forged,
    ];
    let anchors = scan_raw(&members);
    assert_image_anchors(&anchors, 0, linear);
    let stray: Vec<&Anchor> = anchors
        .iter()
        .filter(|a| a.member > 0 && NEW_KINDS.contains(&a.kind))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// Two file systems made from one tree (same inode numbers, generation 0)
/// keep their anchors apart: the checksum seed (from the UUID) decides.
#[test]
fn two_file_systems_with_the_same_inode_numbers_stay_apart() {
    let (linear, indexed) = (built(false), built(true));
    let anchors = scan_raw(&[&linear.data, &indexed.data]);
    assert_image_anchors(&anchors, 0, linear);
    assert_image_anchors(&anchors, 1, indexed);
}

/// A directory block copied into the journal (after a jbd2 descriptor)
/// is skipped; the same copy elsewhere would be taken for the real one,
/// which shows the scanner does look at that position.
#[test]
fn journal_copies_are_skipped() {
    let b = built(false);
    let d = *b.want.dirs.iter().next().unwrap();
    let block = &b.data[d as usize..(d + BS) as usize];
    let mut copy = noise(3, MIB as usize);
    copy[64 << 10..(64 << 10) + BS as usize].copy_from_slice(block);
    let found = |member: &[u8]| {
        scan_raw(&[&b.data, member])
            .into_iter()
            .filter(|a| a.member == 1 && a.kind == AnchorKind::ExtDirectory)
            .count()
    };
    assert_eq!(found(&copy), 1);
    copy[60 << 10..(60 << 10) + 8].copy_from_slice(&[0xC0, 0x3B, 0x39, 0x98, 0, 0, 0, 1]);
    assert_eq!(found(&copy), 0);
}

/// Two different versions of one directory block, both with valid
/// checksums (a stale copy), place neither.
#[test]
fn differing_versions_of_a_block_place_neither() {
    let b = built(false);
    let d = *b.want.dirs.iter().next().unwrap();
    let block = &b.data[d as usize..(d + BS) as usize];
    // Change a byte of the last entry's slack and fix the checksum by
    // linearity: crc(s, x ^ e) = crc(s, x) ^ crc(0, e).
    let mut v2 = flipped(block, 4000);
    let mut e = vec![0u8; BS as usize - 12];
    e[4000] = 0x20;
    let c = u32::from_le_bytes(v2[4092..].try_into().unwrap()) ^ crc32c_raw(0, &e);
    v2[4092..].copy_from_slice(&c.to_le_bytes());
    let mut other = noise(5, MIB as usize);
    other[..BS as usize].copy_from_slice(&v2);
    let dirs_at = |a: &[Anchor]| -> BTreeSet<(usize, u64)> {
        a.iter()
            .filter(|a| a.kind == AnchorKind::ExtDirectory && a.fs_offset == d)
            .map(|a| (a.member, a.member_offset))
            .collect()
    };
    // Alone, the modified copy verifies (so the checksum fix is right).
    let mut alone = b.data.clone();
    alone[d as usize..(d + BS) as usize].copy_from_slice(&v2);
    assert_eq!(dirs_at(&scan_raw(&[&alone])), BTreeSet::from([(0, d)]));
    assert!(dirs_at(&scan_raw(&[&b.data, &other])).is_empty());
}
