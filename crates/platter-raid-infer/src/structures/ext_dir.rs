//! ext4 blocks spread over the file system, located through the inodes
//! that [`ext_inode`](super::ext_inode) found.
//!
//! In a small ext4 the inode tables are a few contiguous KiB at the head,
//! so inode anchors land in one or two chunks. The blocks those inodes
//! point to are spread over the whole file system, and with metadata_csum
//! each carries a CRC32C seeded with its owner's inode number and
//! generation, so a block found in a member sample can be tied to the
//! inode whose extent map says where it sits:
//!
//! - **Directory block 0** ([`AnchorKind::ExtDirectory`]): starts with the
//!   `.` entry naming the directory's own inode, and ends with the leaf
//!   tail (`ext4_dirblock_csum`, kernel `fs/ext4/namei.c`) or, for an
//!   htree, carries a `dx_tail` after its `dx_root` entries
//!   (`ext4_dx_csum`). The directory's logical block 0 gives its block.
//! - **The other leaf of a two-block directory**: its tail checksum names
//!   the directory, and the one logical block other than 0 gives its
//!   place. Directories with more blocks are skipped: their leaves do not
//!   say which logical block they are.
//! - **Extent tree blocks** ([`AnchorKind::ExtExtentBlock`]): header magic
//!   `0xF30A` and `ext4_extent_block_csum` (`fs/ext4/extents.c`) over the
//!   header and `eh_max` entries. The owner's index entry whose `ei_block`
//!   is the block's first logical block gives its place; deeper levels are
//!   followed only through extent blocks found and placed themselves.
//! - **The jbd2 superblock** ([`AnchorKind::Jbd2Superblock`]): magic
//!   `0xC03B3998`, block type 3 or 4 (big-endian, `include/linux/jbd2.h`),
//!   its block size, length (the journal inode's size) and UUID (the file
//!   system's, for an internal journal) cross-checked, its own CRC32C when
//!   the journal has checksums; the journal inode's logical block 0 gives
//!   its place.
//!
//! All are anchors in the file system's own space ([`ext::key`] of its
//! UUID, offset = block × block size, the origin of the superblock
//! anchors: the file system's byte 0).
//!
//! A block is checked only when it lies whole in one buffer (a chunk
//! smaller than the block splits it over members; the first sector alone
//! does not verify: every ext4 has a root `.` entry naming inode 2).
//! Deleted inodes are ignored (their blocks may have been reused), an
//! inode seen twice with different contents (a stale member) is ignored,
//! and blocks near a jbd2 transaction header are taken for journal copies
//! and skipped.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::ext::{self, parse_superblock};
use super::ext_inode::{InodeFs, InodeSolver, journal_blocks, near_journal};
use super::{Anchor, AnchorKind, be32, crc32c_raw, le16, le32};

/// Inodes tracked at most (directories, extent-tree owners, journal).
pub const MAX_TRACKED_INODES: usize = 1 << 16;
/// `EXT4_MAX_EXTENT_DEPTH`.
const MAX_EXTENT_DEPTH: u16 = 5;
/// Largest initialized extent length (`EXT_INIT_MAX_LEN`).
const MAX_INIT_EXTENT: u32 = 1 << 15;
/// The extent header magic.
const EXTENT_MAGIC: u16 = 0xF30A;
/// The jbd2 block header magic (big-endian).
const JBD2_MAGIC: u32 = 0xC03B_3998;
/// `EXT4_EXTENTS_FL`.
const EXTENTS_FL: u32 = 0x8_0000;
/// `EXT4_INLINE_DATA_FL`.
const INLINE_DATA_FL: u32 = 0x1000_0000;
/// `EXT3_FEATURE_COMPAT_HAS_JOURNAL`.
const COMPAT_HAS_JOURNAL: u32 = 0x4;
/// `JBD2_FEATURE_INCOMPAT_CSUM_V2 | _V3`.
const JBD2_CSUM_V2_V3: u32 = 0x8 | 0x10;
/// The leaf tail after `det_checksum` is cut off: inode 0, rec_len 12,
/// name_len 0, file type 0xDE.
const DIR_TAIL: [u8; 8] = [0, 0, 0, 0, 12, 0, 0, 0xDE];

// Inode field offsets (`struct ext4_inode`).
const I_MODE: usize = 0x00;
const I_SIZE_LO: usize = 0x04;
const I_DTIME: usize = 0x14;
const I_LINKS: usize = 0x1A;
const I_FLAGS: usize = 0x20;
const I_BLOCK: usize = 0x28;
const I_GENERATION: usize = 0x64;
const I_SIZE_HI: usize = 0x6C;
const S_IFMT: u16 = 0xF000;
const S_IFDIR: u16 = 0x4000;

/// A file system whose blocks can be located.
struct Fs<'a> {
    inodes: &'a InodeFs,
    block_bytes: usize,
    blocks: u64,
    journal_ino: u32,
    key: u64,
}

/// A live inode found through an inode anchor.
#[derive(Clone, PartialEq, Eq)]
struct Inode {
    fs: usize,
    ino: u32,
    /// `ei->i_csum_seed`: crc32c(fs seed, ino, generation).
    seed: u32,
    dir: bool,
    size: u64,
    /// `i_block` (the extent root).
    root: [u8; 60],
}

/// The header of an extent node.
#[derive(Clone, Copy)]
struct Header {
    entries: usize,
    max: usize,
    depth: u16,
}

fn header(b: &[u8]) -> Option<Header> {
    if b.len() < 12 || le16(b, 0) != EXTENT_MAGIC {
        return None;
    }
    let (entries, max, depth) = (le16(b, 2), le16(b, 4), le16(b, 6));
    if max == 0 || entries > max || depth > MAX_EXTENT_DEPTH {
        return None;
    }
    let h = Header {
        entries: usize::from(entries),
        max: usize::from(max),
        depth,
    };
    (b.len() >= 12 + 12 * h.entries).then_some(h)
}

/// Entry `i` of a node: (logical block, length (leaves; 0 for an
/// uninitialized extent), physical block).
fn entry(b: &[u8], h: Header, i: usize) -> (u32, u32, u64) {
    let e = 12 + 12 * i;
    if h.depth == 0 {
        let len = u32::from(le16(b, e + 4));
        let len = if len > MAX_INIT_EXTENT { 0 } else { len };
        let phys = u64::from(le16(b, e + 6)) << 32 | u64::from(le32(b, e + 8));
        (le32(b, e), len, phys)
    } else {
        let phys = u64::from(le16(b, e + 8)) << 32 | u64::from(le32(b, e + 4));
        (le32(b, e), 0, phys)
    }
}

/// "Advance the raw CRC register over `n` zero bytes" as a linear map, so
/// `crc32c_raw(s, data) == shift(s) ^ crc32c_raw(0, data)` for any
/// `data` of `n` bytes: one CRC per candidate block, whatever the number
/// of owners tried.
struct ZeroShift([u32; 32]);

impl ZeroShift {
    fn new(n: usize) -> ZeroShift {
        let zeros = vec![0u8; n];
        let mut cols = [0u32; 32];
        for (i, c) in cols.iter_mut().enumerate() {
            *c = crc32c_raw(1 << i, &zeros);
        }
        ZeroShift(cols)
    }

    fn apply(&self, x: u32) -> u32 {
        let mut y = 0;
        for (i, c) in self.0.iter().enumerate() {
            if x >> i & 1 != 0 {
                y ^= c;
            }
        }
        y
    }
}

/// Buffers sorted by (member, offset), to find the bytes at a member
/// position.
struct Lookup<'a, 'b> {
    buffers: &'a [(usize, u64, &'b [u8])],
    order: Vec<usize>,
}

impl<'b> Lookup<'_, 'b> {
    fn new<'a>(buffers: &'a [(usize, u64, &'b [u8])]) -> Lookup<'a, 'b> {
        let mut order: Vec<usize> = (0..buffers.len()).collect();
        order.sort_unstable_by_key(|&i| (buffers[i].0, buffers[i].1));
        Lookup { buffers, order }
    }

    /// `len` bytes at `offset` of `member`, when one buffer holds them.
    fn get(&self, member: usize, offset: u64, len: usize) -> Option<&'b [u8]> {
        let end = self
            .order
            .partition_point(|&i| (self.buffers[i].0, self.buffers[i].1) <= (member, offset));
        // Buffers may overlap: look back over those of this member.
        self.order[..end].iter().rev().find_map(|&i| {
            let (m, off, buf) = self.buffers[i];
            if m != member {
                return None;
            }
            let pos = usize::try_from(offset - off).ok()?;
            buf.get(pos..pos.checked_add(len)?)
        })
    }
}

/// The file systems of `fss` with their block parameters, read back from
/// the superblock anchors among `anchors`.
fn block_params<'a>(
    lookup: &Lookup<'_, '_>,
    fss: &'a [InodeFs],
    anchors: &[Anchor],
) -> Vec<Fs<'a>> {
    let mut out: Vec<Fs<'a>> = Vec::new();
    for a in anchors
        .iter()
        .filter(|a| a.kind == AnchorKind::ExtSuperblock)
    {
        let Some(raw) = lookup.get(a.member, a.member_offset, 1024) else {
            continue;
        };
        let Some(sb) = parse_superblock(raw) else {
            continue;
        };
        let Some(inodes) = fss
            .iter()
            .find(|f| f.uuid == sb.uuid && f.seed == sb.csum_seed)
        else {
            continue;
        };
        if out.iter().any(|f| std::ptr::eq(f.inodes, inodes)) {
            continue;
        }
        let Ok(block_bytes) = usize::try_from(sb.block_bytes) else {
            continue;
        };
        let journal_ino = if sb.compat & COMPAT_HAS_JOURNAL != 0 && le32(raw, 0xE4) == 0 {
            le32(raw, 0xE0)
        } else {
            0
        };
        out.push(Fs {
            inodes,
            block_bytes,
            blocks: sb.blocks,
            journal_ino,
            key: ext::key(&sb.uuid),
        });
    }
    out
}

/// The live inodes of interest behind the inode anchors: directories,
/// files with an extent tree deeper than the inode, and the journal.
fn collect_inodes(lookup: &Lookup<'_, '_>, fss: &[Fs<'_>], anchors: &[Anchor]) -> Vec<Inode> {
    let mut solvers: Vec<InodeSolver> = Vec::new();
    let mut scratch = Vec::new();
    // (fs, ino) → the inode, or None when copies disagree.
    let mut found: HashMap<(usize, u32), Option<Inode>> = HashMap::new();
    for a in anchors.iter().filter(|a| a.kind == AnchorKind::ExtInode) {
        if found.len() >= MAX_TRACKED_INODES {
            break;
        }
        for (k, fs) in fss.iter().enumerate() {
            let size = fs.inodes.inode_bytes;
            let Some(raw) = lookup.get(a.member, a.member_offset, size) else {
                continue;
            };
            let mode = le16(raw, I_MODE);
            let flags = le32(raw, I_FLAGS);
            let live = le16(raw, I_LINKS) != 0 && le32(raw, I_DTIME) == 0;
            if !live || flags & EXTENTS_FL == 0 || flags & INLINE_DATA_FL != 0 {
                continue;
            }
            let Some(root) = header(&raw[I_BLOCK..I_BLOCK + 60]) else {
                continue;
            };
            let dir = mode & S_IFMT == S_IFDIR;
            let journal_slot = u64::from(fs.journal_ino)
                .checked_sub(1)
                .and_then(|i| i.checked_mul(size as u64))
                == Some(a.fs_offset);
            if !dir && root.depth == 0 && !journal_slot {
                continue;
            }
            if !solvers.iter().any(|s| s.inode_bytes() == size) {
                solvers.extend(InodeSolver::new(size));
            }
            let Some(solver) = solvers.iter().find(|s| s.inode_bytes() == size) else {
                continue;
            };
            let Some(x) = solver.solve(raw, &mut scratch) else {
                continue;
            };
            let ino = x ^ fs.inodes.seed;
            if fs.inodes.place(u64::from(ino)) != Some((a.fs_key, a.fs_offset)) {
                continue;
            }
            let generation = &raw[I_GENERATION..I_GENERATION + 4];
            let seed = crc32c_raw(crc32c_raw(fs.inodes.seed, &ino.to_le_bytes()), generation);
            let size_bytes =
                u64::from(le32(raw, I_SIZE_LO)) | u64::from(le32(raw, I_SIZE_HI)) << 32;
            let mut block = [0u8; 60];
            block.copy_from_slice(&raw[I_BLOCK..I_BLOCK + 60]);
            let inode = Inode {
                fs: k,
                ino,
                seed,
                dir,
                size: size_bytes,
                root: block,
            };
            match found.entry((k, ino)) {
                Entry::Vacant(v) => {
                    v.insert(Some(inode));
                }
                Entry::Occupied(mut o) => {
                    if o.get().as_ref() != Some(&inode) {
                        o.insert(None);
                    }
                }
            }
            break;
        }
    }
    let mut v: Vec<Inode> = found.into_values().flatten().collect();
    v.sort_unstable_by_key(|i| (i.fs, i.ino));
    v
}

/// A verified extent tree block of `owner` at a member position.
struct TreeBlock<'b> {
    owner: usize,
    member: usize,
    member_offset: u64,
    bytes: &'b [u8],
    header: Header,
    /// Its physical block, once an index entry placing it is found.
    phys: Option<u64>,
}

/// A directory block verified as belonging to `owner`.
struct DirBlock<'b> {
    owner: usize,
    bytes: &'b [u8],
    member: usize,
    member_offset: u64,
    /// True for block 0 (starts with the owner's `.` entry).
    first: bool,
}

/// Appends anchors for ext4 blocks located through the inodes found by
/// [`scan_inodes`](super::ext_inode) (`out[inodes_start..]`).
pub(crate) fn scan_dirs(
    buffers: &[(usize, u64, &[u8])],
    fss: &[InodeFs],
    inodes_start: usize,
    out: &mut Vec<Anchor>,
) {
    let lookup = Lookup::new(buffers);
    let Some(supers) = out.get(..inodes_start) else {
        return;
    };
    let fss = block_params(&lookup, fss, supers);
    if fss.is_empty() {
        return;
    }
    let inodes = collect_inodes(&lookup, &fss, &out[inodes_start..]);
    if inodes.is_empty() {
        return;
    }
    let mut found = Vec::new();
    let mut scan = Scan::new(&fss, &inodes);
    for &(m, off, buf) in buffers {
        scan.buffer(m, off, buf);
    }
    scan.place_tree_blocks();
    scan.anchors(&mut found);
    found.sort_unstable_by_key(|a| (a.member, a.member_offset, a.kind, a.fs_offset));
    found.dedup();
    out.extend(found);
}

/// The candidate blocks found in the buffers and what they need.
struct Scan<'a, 'b> {
    fss: &'a [Fs<'a>],
    inodes: &'a [Inode],
    /// Directory inodes by (fs, ino).
    dirs: HashMap<u32, Vec<usize>>,
    /// Per fs: the owner of an extent block / directory leaf by its
    /// checksum seed advanced over the checksummed bytes ([`ZeroShift`]).
    tree_owner: Vec<HashMap<u32, usize>>,
    leaf_owner: Vec<HashMap<u32, usize>>,
    tree_blocks: Vec<TreeBlock<'b>>,
    dir_blocks: Vec<DirBlock<'b>>,
    /// (fs, member, member offset) of verified jbd2 superblocks.
    journals: Vec<(usize, usize, u64)>,
}

impl<'a, 'b> Scan<'a, 'b> {
    fn new(fss: &'a [Fs<'a>], inodes: &'a [Inode]) -> Scan<'a, 'b> {
        let mut dirs: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, n) in inodes.iter().enumerate().filter(|(_, n)| n.dir) {
            dirs.entry(n.ino).or_default().push(i);
        }
        let mut tree_owner = Vec::new();
        let mut leaf_owner = Vec::new();
        for (k, fs) in fss.iter().enumerate() {
            let bs = fs.block_bytes;
            let tree = ZeroShift::new(tree_tail(bs));
            let leaf = ZeroShift::new(bs - 12);
            let mut t = HashMap::new();
            let mut l = HashMap::new();
            for (i, n) in inodes.iter().enumerate().filter(|(_, n)| n.fs == k) {
                if header(&n.root).is_some_and(|h| h.depth > 0) {
                    t.insert(tree.apply(n.seed), i);
                }
                if n.dir && dir_blocks(n, bs) == Some(2) {
                    l.insert(leaf.apply(n.seed), i);
                }
            }
            tree_owner.push(t);
            leaf_owner.push(l);
        }
        Scan {
            fss,
            inodes,
            dirs,
            tree_owner,
            leaf_owner,
            tree_blocks: Vec::new(),
            dir_blocks: Vec::new(),
            journals: Vec::new(),
        }
    }

    /// Looks at every 512-byte aligned position of one buffer.
    fn buffer(&mut self, member: usize, offset: u64, buf: &'b [u8]) {
        let shadows = journal_blocks(buf);
        let any_tree = self.tree_owner.iter().any(|t| !t.is_empty());
        let any_leaf = self.leaf_owner.iter().any(|l| !l.is_empty());
        let journal = self.fss.iter().any(|f| f.journal_ino != 0);
        for s in 0..buf.len() / 512 {
            let pos = s * 512;
            let at = offset.saturating_add(pos as u64);
            let head = &buf[pos..pos + 12];
            let shadowed = || near_journal(&shadows, pos);
            if le16(head, 4) == 12 && head[6] == 1 && head[8] == b'.' && head[9..12] == [0; 3] {
                if let Some(cands) = self.dirs.get(&le32(head, 0)).cloned()
                    && !shadowed()
                {
                    self.dir_zero(&cands, member, at, &buf[pos..]);
                }
            } else if any_tree && le16(head, 0) == EXTENT_MAGIC && !shadowed() {
                self.tree_block(member, at, &buf[pos..]);
            } else if journal && be32(head, 0) == JBD2_MAGIC && matches!(be32(head, 4), 3 | 4) {
                self.jbd2(member, at, &buf[pos..]);
            }
            if any_leaf {
                self.leaf(member, at, &buf[pos..], &shadows, pos);
            }
        }
    }

    /// A block starting with a `.` entry naming a directory found.
    fn dir_zero(&mut self, cands: &[usize], member: usize, at: u64, rest: &'b [u8]) {
        let mut owner = None;
        for &i in cands {
            let n = &self.inodes[i];
            let bs = self.fss[n.fs].block_bytes;
            let Some(block) = rest.get(..bs) else {
                continue;
            };
            if dir_zero_verifies(block, n.seed) {
                if owner.is_some() {
                    return;
                }
                owner = Some((i, block));
            }
        }
        if let Some((owner, bytes)) = owner {
            self.dir_blocks.push(DirBlock {
                owner,
                bytes,
                member,
                member_offset: at,
                first: true,
            });
        }
    }

    /// An extent tree block of one of the inodes with a deep tree.
    fn tree_block(&mut self, member: usize, at: u64, rest: &'b [u8]) {
        for (k, fs) in self.fss.iter().enumerate() {
            let bs = fs.block_bytes;
            let tail = tree_tail(bs);
            let Some(block) = rest.get(..bs) else {
                continue;
            };
            let Some(h) = header(block) else {
                continue;
            };
            if h.max != (bs - 12) / 12 || h.entries == 0 || h.depth >= MAX_EXTENT_DEPTH {
                continue;
            }
            let key = le32(block, tail) ^ crc32c_raw(0, &block[..tail]);
            if let Some(&owner) = self.tree_owner[k].get(&key) {
                self.tree_blocks.push(TreeBlock {
                    owner,
                    member,
                    member_offset: at,
                    bytes: block,
                    header: h,
                    phys: None,
                });
                return;
            }
        }
    }

    /// A directory leaf ending in a tail whose checksum names a two-block
    /// directory.
    fn leaf(&mut self, member: usize, at: u64, rest: &'b [u8], shadows: &[usize], pos: usize) {
        for (k, fs) in self.fss.iter().enumerate() {
            let bs = fs.block_bytes;
            let owners = &self.leaf_owner[k];
            if owners.is_empty() {
                continue;
            }
            let Some(block) = rest.get(..bs) else {
                continue;
            };
            if block[bs - 12..bs - 4] != DIR_TAIL {
                continue;
            }
            let key = le32(block, bs - 4) ^ crc32c_raw(0, &block[..bs - 12]);
            let Some(&owner) = owners.get(&key) else {
                continue;
            };
            // Block 0 is found by its `.` entry; this must be the other.
            let n = &self.inodes[owner];
            let dot = le32(block, 0) == n.ino && le16(block, 4) == 12 && block[6] == 1;
            if dot || near_journal(shadows, pos) {
                continue;
            }
            self.dir_blocks.push(DirBlock {
                owner,
                bytes: block,
                member,
                member_offset: at,
                first: false,
            });
            return;
        }
    }

    /// A jbd2 superblock whose parameters match a journal inode found.
    fn jbd2(&mut self, member: usize, at: u64, rest: &[u8]) {
        let Some(sb) = rest.get(..1024) else {
            return;
        };
        for (k, fs) in self.fss.iter().enumerate() {
            let Some(n) = self
                .inodes
                .iter()
                .find(|n| n.fs == k && n.ino == fs.journal_ino && fs.journal_ino != 0)
            else {
                continue;
            };
            if jbd2_matches(sb, fs, n) {
                self.journals.push((k, member, at));
                return;
            }
        }
    }

    /// Places the extent tree blocks found: children of an inode's root
    /// first, then children of blocks already placed. A block is placed
    /// when one parent entry starts at its first logical block and no
    /// other block of its owner with that start and depth differs from it
    /// (a stale copy left by a tree split could sit anywhere).
    fn place_tree_blocks(&mut self) {
        for _ in 0..MAX_EXTENT_DEPTH {
            let mut placed = Vec::new();
            for (i, t) in self.tree_blocks.iter().enumerate() {
                if t.phys.is_some() {
                    continue;
                }
                let first = entry(t.bytes, t.header, 0).0;
                let rival = self.tree_blocks.iter().any(|o| {
                    o.owner == t.owner
                        && o.header.depth == t.header.depth
                        && entry(o.bytes, o.header, 0).0 == first
                        && o.bytes != t.bytes
                });
                if rival {
                    continue;
                }
                // Parents: the root, and placed blocks of the same owner.
                let n = &self.inodes[t.owner];
                let parents = std::iter::once(&n.root[..]).chain(
                    self.tree_blocks
                        .iter()
                        .filter(|p| p.owner == t.owner && p.phys.is_some())
                        .map(|p| p.bytes),
                );
                let mut phys: Vec<u64> = Vec::new();
                for p in parents {
                    let Some(h) = header(p).filter(|h| h.depth == t.header.depth + 1) else {
                        continue;
                    };
                    phys.extend(
                        (0..h.entries)
                            .map(|e| entry(p, h, e))
                            .filter(|e| e.0 == first)
                            .map(|e| e.2),
                    );
                }
                phys.sort_unstable();
                phys.dedup();
                if let [p] = phys[..]
                    && p < self.fss[n.fs].blocks
                {
                    placed.push((i, p));
                }
            }
            if placed.is_empty() {
                break;
            }
            for (i, p) in placed {
                self.tree_blocks[i].phys = Some(p);
            }
        }
    }

    /// The physical block of `logical` in inode `i`'s extent map (root or
    /// placed leaf blocks), when exactly one extent maps it.
    fn map(&self, i: usize, logical: u32) -> Option<u64> {
        let n = &self.inodes[i];
        let mut leaves: Vec<&[u8]> = Vec::new();
        let root = header(&n.root)?;
        if root.depth == 0 {
            leaves.push(&n.root);
        } else {
            leaves.extend(
                self.tree_blocks
                    .iter()
                    .filter(|t| t.owner == i && t.phys.is_some() && t.header.depth == 0)
                    .map(|t| t.bytes),
            );
        }
        let mut hit = None;
        for leaf in leaves {
            let Some(h) = header(leaf) else { continue };
            for e in 0..h.entries {
                let (start, len, phys) = entry(leaf, h, e);
                let Some(d) = logical.checked_sub(start).filter(|&d| d < len) else {
                    continue;
                };
                let p = phys.checked_add(u64::from(d))?;
                if hit.is_some_and(|h| h != p) {
                    return None;
                }
                hit = Some(p);
            }
        }
        hit.filter(|&p| p < self.fss[n.fs].blocks)
    }

    /// Every block placed, as anchors.
    fn anchors(&self, out: &mut Vec<Anchor>) {
        let anchor = |fs: usize, member, member_offset, kind, phys: u64| {
            let f = &self.fss[fs];
            Some(Anchor {
                member,
                member_offset,
                kind,
                fs_key: f.key,
                fs_offset: phys.checked_mul(f.block_bytes as u64)?,
            })
        };
        for t in &self.tree_blocks {
            if let Some(p) = t.phys {
                let fs = self.inodes[t.owner].fs;
                out.extend(anchor(
                    fs,
                    t.member,
                    t.member_offset,
                    AnchorKind::ExtExtentBlock,
                    p,
                ));
            }
        }
        for d in &self.dir_blocks {
            // Differing versions of one block: a stale copy somewhere.
            let rival = self
                .dir_blocks
                .iter()
                .any(|o| o.owner == d.owner && o.first == d.first && o.bytes != d.bytes);
            if rival {
                continue;
            }
            let logical = if d.first {
                Some(0)
            } else {
                self.other_dir_block(d.owner)
            };
            if let Some(p) = logical.and_then(|l| self.map(d.owner, l)) {
                let fs = self.inodes[d.owner].fs;
                out.extend(anchor(
                    fs,
                    d.member,
                    d.member_offset,
                    AnchorKind::ExtDirectory,
                    p,
                ));
            }
        }
        for &(k, member, at) in &self.journals {
            let fs = &self.fss[k];
            let journal = self
                .inodes
                .iter()
                .position(|n| n.fs == k && n.ino == fs.journal_ino);
            if let Some(p) = journal.and_then(|j| self.map(j, 0)) {
                out.extend(anchor(k, member, at, AnchorKind::Jbd2Superblock, p));
            }
        }
    }

    /// The logical block of a two-block directory other than 0.
    fn other_dir_block(&self, i: usize) -> Option<u32> {
        let n = &self.inodes[i];
        (dir_blocks(n, self.fss[n.fs].block_bytes) == Some(2)).then_some(1)
    }
}

/// Where an extent block's tail sits for `bs`-byte blocks (`eh_max`
/// entries after the header).
fn tree_tail(bs: usize) -> usize {
    12 + (bs - 12) / 12 * 12
}

/// Blocks of a directory by its size.
fn dir_blocks(n: &Inode, bs: usize) -> Option<u64> {
    (n.size % bs as u64 == 0).then(|| n.size / bs as u64)
}

/// True when `block` (one whole file-system block starting with a `.`
/// entry) is directory block 0 of the directory with checksum seed `seed`:
/// a `..` entry, then a leaf tail or a dx_root whose dx_tail verifies.
fn dir_zero_verifies(block: &[u8], seed: u32) -> bool {
    let bs = block.len();
    if bs < 1024 || le32(block, 12) == 0 || block[18] != 2 || &block[20..22] != b".." {
        return false;
    }
    let dotdot_len = usize::from(le16(block, 16));
    if dotdot_len == bs - 12 {
        // dx_root: root info (reserved 0, hash version, info length 8,
        // levels), then count/limit and the entries, then dx_tail.
        if le32(block, 24) != 0 || block[29] != 8 || block[30] > 2 {
            return false;
        }
        let (limit, count) = (usize::from(le16(block, 32)), usize::from(le16(block, 34)));
        let tail = 32 + limit * 8;
        if limit != (bs - 32 - 8) / 8 || count == 0 || count > limit {
            return false;
        }
        let mut c = crc32c_raw(seed, &block[..32 + count * 8]);
        c = crc32c_raw(c, &block[tail..tail + 4]);
        c = crc32c_raw(c, &[0; 4]);
        return c == le32(block, tail + 4);
    }
    if dotdot_len < 12 || dotdot_len % 4 != 0 || 12 + dotdot_len > bs - 12 {
        return false;
    }
    block[bs - 12..bs - 4] == DIR_TAIL && crc32c_raw(seed, &block[..bs - 12]) == le32(block, bs - 4)
}

/// True when the jbd2 superblock `sb` (1024 bytes) is the journal of `fs`
/// whose inode is `journal`.
fn jbd2_matches(sb: &[u8], fs: &Fs<'_>, journal: &Inode) -> bool {
    let bs = fs.block_bytes as u64;
    let maxlen = u64::from(be32(sb, 0x10));
    let first = u64::from(be32(sb, 0x14));
    if u64::from(be32(sb, 0x0C)) != bs
        || journal.size % bs != 0
        || journal.size / bs != maxlen
        || first == 0
        || first >= maxlen
    {
        return false;
    }
    if be32(sb, 4) == 3 {
        return true;
    }
    if sb[0x30..0x40] != fs.inodes.uuid {
        return false;
    }
    if be32(sb, 0x28) & JBD2_CSUM_V2_V3 != 0 {
        let mut c = crc32c_raw(!0, &sb[..0xFC]);
        c = crc32c_raw(c, &[0; 4]);
        c = crc32c_raw(c, &sb[0x100..1024]);
        return c == be32(sb, 0xFC);
    }
    true
}

#[cfg(test)]
#[path = "ext_dir_tests.rs"]
mod tests;
