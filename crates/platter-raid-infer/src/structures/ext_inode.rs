//! ext4 inodes as anchors: the inode number, which an inode does not
//! store, is solved from its metadata_csum checksum.
//!
//! # The checksum
//!
//! With metadata_csum, `ext4_inode_csum` (kernel `fs/ext4/inode.c`) is
//!
//! ```text
//! crc32c(seed, ino_le32 ‖ i_generation_le32 ‖ inode with i_checksum_lo/hi zeroed)
//! ```
//!
//! where `seed` is `s_checksum_seed` (csum_seed feature) or
//! `crc32c(~0, s_uuid)`, the kernel's `crc32c` having no final inversion.
//! The low 16 bits sit in `i_checksum_lo` (0x7C), the high 16 bits in
//! `i_checksum_hi` (0x82, present when `i_extra_isize >= 4`).
//!
//! # Solving for the inode number
//!
//! The raw CRC register is linear over GF(2) in (initial register, data),
//! and the first four data bytes enter exactly as if they were xored into
//! the register. So with `n = 8 + inode_size` and `A` the map "advance the
//! register over `n` zero bytes" (an invertible 32×32 bit matrix):
//!
//! ```text
//! checksum = A·(seed ⊕ ino) ⊕ crc32c(0, i_generation ‖ zeroed inode)
//! seed ⊕ ino = A⁻¹·(checksum ⊕ crc32c(0, i_generation ‖ zeroed inode))
//! ```
//!
//! One CRC per candidate gives `seed ⊕ ino`, and each known file system's
//! seed then gives its inode number. A candidate becomes an anchor when
//! that number is within the file system's inode count; random bytes pass
//! that test with odds `inodes_count / 2³²`, after the cheap prechecks of
//! [`plausible`] have already rejected all but a few in 10⁹.
//!
//! # Where the seeds come from
//!
//! A buffer alone does not say which file system an inode belongs to, so
//! [`scan_all`] first parses the ext superblocks (primary or backups)
//! found in all buffers, then checks inodes against each metadata_csum
//! file system with inodes larger than 128 bytes (128-byte inodes carry
//! only 16 checksum bits: not enough to solve 32).
//!
//! # Address spaces
//!
//! Inode `ino` sits at byte `(ino − 1) mod ipg × inode_size` of its group's
//! inode table. With flex_bg, mkfs places the tables of each flex group
//! (`2^s_log_groups_per_flex` groups) back to back, so one space per
//! (file system, flex group) holds all of them:
//!
//! ```text
//! run      = inodes_per_group × groups_per_flex
//! fs_key   = space_key("ext-inodes", uuid ‖ ((ino − 1) / run) as le64)
//! fs_offset = ((ino − 1) mod run) × inode_size
//! ```
//!
//! and the constant of that space is the array offset of the flex group's
//! first inode table. Without flex_bg, `run` is one group. A file system
//! grown by resize2fs may have flex groups whose tables are not contiguous:
//! their anchors then disagree within the space, which the solver sees as
//! unexplained equations rather than wrong ones.
//!
//! Deleted inodes keep a valid checksum (the kernel rewrites them with
//! `i_dtime` set) and are anchors too. Copies of inode-table blocks in the
//! jbd2 journal also carry valid checksums but sit elsewhere; inodes near a
//! jbd2 block header in the same buffer ([`JOURNAL_SHADOW_BYTES`]) are
//! skipped.

use super::ext::{ExtSuperblock, parse_superblock};
use super::{Anchor, AnchorKind, be32, crc32c_raw, le16, le32, space_key};

/// Largest inode size handled (mkfs allows up to the block size; 256 is
/// the default and 512/1024 are seen).
pub const MAX_INODE_BYTES: u64 = 4096;
/// File systems whose inodes are looked for at most (distinct seeds).
pub const MAX_FILESYSTEMS: usize = 16;
/// Inodes within this many bytes of a jbd2 block header in the same buffer
/// are taken for journal copies and skipped.
pub const JOURNAL_SHADOW_BYTES: usize = 64 << 10;

/// `EXT4_EXTENTS_FL` in `i_flags`.
const EXTENTS_FL: u32 = 0x8_0000;
/// `i_flags` bit 31 (`EXT4_RESERVED_FL`): never set on disk.
const RESERVED_FL: u32 = 0x8000_0000;
/// The extent header magic (`EXT4_EXT_MAGIC`, `fs/ext4/ext4_extents.h`).
const EXTENT_MAGIC: u16 = 0xF30A;
/// `EXT4_MAX_EXTENT_DEPTH`.
const MAX_EXTENT_DEPTH: u16 = 5;
/// Extents that fit in `i_block` (60 bytes, 12-byte header and entries).
const ROOT_EXTENTS: u16 = 4;
/// The jbd2 block header magic (big-endian, `include/linux/jbd2.h`).
const JBD2_MAGIC: u32 = 0xC03B_3998;

// Inode field offsets (`struct ext4_inode`, fs/ext4/ext4.h).
const I_MODE: usize = 0x00;
const I_DTIME: usize = 0x14;
const I_LINKS: usize = 0x1A;
const I_FLAGS: usize = 0x20;
const I_BLOCK: usize = 0x28;
const I_GENERATION: usize = 0x64;
const I_CHECKSUM_LO: usize = 0x7C;
const I_EXTRA_ISIZE: usize = 0x80;
const I_CHECKSUM_HI: usize = 0x82;
/// `EXT4_GOOD_OLD_INODE_SIZE`.
const OLD_INODE_BYTES: usize = 128;

/// One file system whose inodes can be solved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InodeFs {
    /// File-system UUID (names the spaces).
    pub uuid: [u8; 16],
    /// The metadata_csum seed.
    pub seed: u32,
    /// Inode size in bytes (> 128).
    pub inode_bytes: usize,
    /// `s_inodes_count`: solved numbers above it are rejected.
    pub inodes_count: u64,
    /// Inodes whose tables are contiguous (inodes per group × groups per
    /// flex group).
    pub run_inodes: u64,
}

impl InodeFs {
    /// The file system's inode parameters, or `None` when its inodes
    /// cannot be solved for (no metadata_csum, 128-byte inodes, inodes
    /// larger than [`MAX_INODE_BYTES`]).
    pub fn from_superblock(sb: &ExtSuperblock) -> Option<InodeFs> {
        if !sb.metadata_csum()
            || sb.inode_bytes <= OLD_INODE_BYTES as u64
            || sb.inode_bytes > MAX_INODE_BYTES
        {
            return None;
        }
        Some(InodeFs {
            uuid: sb.uuid,
            seed: sb.csum_seed,
            inode_bytes: sb.inode_bytes as usize,
            inodes_count: sb.groups.checked_mul(sb.inodes_per_group)?,
            run_inodes: sb.inodes_per_group.checked_mul(sb.groups_per_flex)?,
        })
    }

    /// The space key and offset of inode `ino` (1-based).
    pub fn place(&self, ino: u64) -> Option<(u64, u64)> {
        let i = ino.checked_sub(1)?;
        let run = i.checked_div(self.run_inodes)?;
        let mut id = [0u8; 24];
        id[..16].copy_from_slice(&self.uuid);
        id[16..].copy_from_slice(&run.to_le_bytes());
        let off = i
            .checked_rem(self.run_inodes)?
            .checked_mul(self.inode_bytes as u64)?;
        Some((space_key("ext-inodes", &id), off))
    }
}

/// Solves `seed ⊕ ino` from inodes of one size.
#[derive(Debug, Clone)]
pub struct InodeSolver {
    inode_bytes: usize,
    /// Columns of A⁻¹: `inverse[i]` = A⁻¹·eᵢ.
    inverse: [u32; 32],
}

impl InodeSolver {
    /// The solver for `inode_bytes`-byte inodes (a power of two, 256 ..=
    /// [`MAX_INODE_BYTES`]).
    pub fn new(inode_bytes: usize) -> Option<InodeSolver> {
        if !inode_bytes.is_power_of_two()
            || inode_bytes <= OLD_INODE_BYTES
            || inode_bytes as u64 > MAX_INODE_BYTES
        {
            return None;
        }
        let zeros = vec![0u8; 8 + inode_bytes];
        let mut columns = [0u32; 32];
        for (i, c) in columns.iter_mut().enumerate() {
            *c = crc32c_raw(1 << i, &zeros);
        }
        Some(InodeSolver {
            inode_bytes,
            inverse: invert(&columns)?,
        })
    }

    /// Inode size this solver is for.
    pub fn inode_bytes(&self) -> usize {
        self.inode_bytes
    }

    /// `seed ⊕ ino` for the inode in `raw` (its first `inode_bytes`,
    /// which must have `i_extra_isize >= 4`), using `scratch` for the
    /// zeroed copy; `None` when `raw` is shorter than an inode.
    pub fn solve(&self, raw: &[u8], scratch: &mut Vec<u8>) -> Option<u32> {
        let raw = raw.get(..self.inode_bytes)?;
        scratch.clear();
        scratch.extend_from_slice(&raw[I_GENERATION..I_GENERATION + 4]);
        scratch.extend_from_slice(raw);
        let stored =
            u32::from(le16(raw, I_CHECKSUM_LO)) | u32::from(le16(raw, I_CHECKSUM_HI)) << 16;
        for at in [I_CHECKSUM_LO, I_CHECKSUM_HI] {
            scratch[4 + at..4 + at + 2].fill(0);
        }
        Some(apply(&self.inverse, stored ^ crc32c_raw(0, scratch)))
    }
}

/// `M·x` for the matrix with `columns`.
fn apply(columns: &[u32; 32], x: u32) -> u32 {
    let mut y = 0;
    for (i, c) in columns.iter().enumerate() {
        if x >> i & 1 != 0 {
            y ^= c;
        }
    }
    y
}

/// The inverse of a 32×32 GF(2) matrix given by columns (Gauss–Jordan on
/// rows augmented with the identity), or `None` when singular.
fn invert(columns: &[u32; 32]) -> Option<[u32; 32]> {
    // rows[j]: low 32 bits = row j of M, high 32 bits = row j of the identity.
    let mut rows = [0u64; 32];
    for (j, row) in rows.iter_mut().enumerate() {
        for (i, c) in columns.iter().enumerate() {
            *row |= u64::from(c >> j & 1) << i;
        }
        *row |= 1 << (32 + j);
    }
    for col in 0..32 {
        let pivot = (col..32).find(|&r| rows[r] >> col & 1 != 0)?;
        rows.swap(col, pivot);
        for r in 0..32 {
            if r != col && rows[r] >> col & 1 != 0 {
                rows[r] ^= rows[col];
            }
        }
    }
    // rows[j] high half is row j of M⁻¹; return its columns.
    let mut inverse = [0u32; 32];
    for (j, row) in rows.iter().enumerate() {
        let r = (row >> 32) as u32;
        for (i, c) in inverse.iter_mut().enumerate() {
            *c |= (r >> i & 1) << j;
        }
    }
    Some(inverse)
}

/// Cheap tests an on-disk ext4 inode of `inode_bytes` passes (before any
/// checksum): a file type, a consistent link count / deletion time, a sane
/// `i_extra_isize` leaving room for `i_checksum_hi`, and a well-formed
/// extent header when `EXT4_EXTENTS_FL` is set.
pub fn plausible(raw: &[u8], inode_bytes: usize) -> bool {
    if raw.len() < inode_bytes || inode_bytes <= OLD_INODE_BYTES {
        return false;
    }
    // S_IFIFO, S_IFCHR, S_IFDIR, S_IFBLK, S_IFREG, S_IFLNK, S_IFSOCK.
    const TYPES: u16 = 1 << 1 | 1 << 2 | 1 << 4 | 1 << 6 | 1 << 8 | 1 << 10 | 1 << 12;
    if TYPES >> (le16(raw, I_MODE) >> 12) & 1 == 0 {
        return false;
    }
    // Live: linked, no deletion time. Deleted: unlinked, deletion time.
    let linked = le16(raw, I_LINKS) != 0;
    let dtime = le32(raw, I_DTIME) != 0;
    if linked == dtime {
        return false;
    }
    let extra = usize::from(le16(raw, I_EXTRA_ISIZE));
    if extra < 4 || extra % 4 != 0 || OLD_INODE_BYTES + extra > inode_bytes {
        return false;
    }
    let flags = le32(raw, I_FLAGS);
    if flags & RESERVED_FL != 0 {
        return false;
    }
    if flags & EXTENTS_FL != 0 {
        let entries = le16(raw, I_BLOCK + 2);
        let max = le16(raw, I_BLOCK + 4);
        let depth = le16(raw, I_BLOCK + 6);
        if le16(raw, I_BLOCK) != EXTENT_MAGIC
            || max == 0
            || max > ROOT_EXTENTS
            || entries > max
            || depth > MAX_EXTENT_DEPTH
        {
            return false;
        }
    }
    true
}

/// The file systems of the ext superblocks among `anchors` (read back from
/// `buffers`), one per seed, at most [`MAX_FILESYSTEMS`].
pub fn filesystems(buffers: &[(usize, u64, &[u8])], anchors: &[Anchor]) -> Vec<InodeFs> {
    let mut found: Vec<InodeFs> = Vec::new();
    for a in anchors
        .iter()
        .filter(|a| a.kind == AnchorKind::ExtSuperblock)
    {
        let Some(sb) = buffers.iter().find_map(|&(m, off, buf)| {
            let pos = usize::try_from(a.member_offset.checked_sub(off)?).ok()?;
            (m == a.member)
                .then(|| buf.get(pos..pos.checked_add(1024)?))
                .flatten()
                .and_then(parse_superblock)
        }) else {
            continue;
        };
        let Some(fs) = InodeFs::from_superblock(&sb) else {
            continue;
        };
        if found.len() < MAX_FILESYSTEMS && !found.iter().any(|f| f.seed == fs.seed) {
            found.push(fs);
        }
    }
    found
}

/// Appends an [`AnchorKind::ExtInode`] anchor for every inode of one of
/// `filesystems` found in `buf` (member `member`, starting at member byte
/// `member_offset`).
///
/// Inodes are looked for at every 256-byte (or inode-size, if smaller
/// than 512) aligned position. Two inodes in one 512-byte sector are
/// contiguous on any geometry: when both solve, their numbers must follow
/// each other, or neither is kept. An inode whose number is valid for two
/// file systems is ambiguous and dropped.
pub fn scan_inodes(
    member: usize,
    member_offset: u64,
    buf: &[u8],
    filesystems: &[InodeFs],
    out: &mut Vec<Anchor>,
) {
    let mut sizes: Vec<usize> = filesystems.iter().map(|f| f.inode_bytes).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let journal = journal_blocks(buf);
    let mut scratch = Vec::new();
    for size in sizes {
        let Some(solver) = InodeSolver::new(size) else {
            continue;
        };
        let fss: Vec<&InodeFs> = filesystems
            .iter()
            .filter(|f| f.inode_bytes == size)
            .collect();
        let step = size.min(512);
        // (buffer position, inode number, file system) of the last inode
        // kept, to check sector neighbours.
        let mut last: Option<(usize, u64, usize)> = None;
        let mut pos = 0;
        while pos + size <= buf.len() {
            let here = pos;
            pos += step;
            let raw = &buf[here..here + size];
            if !plausible(raw, size) || near_journal(&journal, here) {
                continue;
            }
            let Some(x) = solver.solve(raw, &mut scratch) else {
                continue;
            };
            let mut hit = None;
            let mut hits = 0;
            for (k, fs) in fss.iter().enumerate() {
                let ino = u64::from(x ^ fs.seed);
                if ino >= 1 && ino <= fs.inodes_count {
                    hit = Some((ino, k));
                    hits += 1;
                }
            }
            let Some((ino, k)) = hit.filter(|_| hits == 1) else {
                continue;
            };
            // A sector neighbour kept just before must be ino − 1.
            if let Some((p, prev, pk)) = last
                && sector(member_offset, p) == sector(member_offset, here)
                && p + size == here
                && (pk != k || prev + 1 != ino)
            {
                if out.last().is_some_and(|a| {
                    a.member == member && a.member_offset == member_offset + p as u64
                }) {
                    out.pop();
                }
                last = None;
                continue;
            }
            let Some((fs_key, fs_offset)) = fss[k].place(ino) else {
                continue;
            };
            out.push(Anchor {
                member,
                member_offset: member_offset.saturating_add(here as u64),
                kind: AnchorKind::ExtInode,
                fs_key,
                fs_offset,
            });
            last = Some((here, ino, k));
        }
    }
}

/// The member sector of buffer position `pos`.
fn sector(member_offset: u64, pos: usize) -> u64 {
    member_offset.saturating_add(pos as u64) / 512
}

/// Buffer positions of jbd2 transaction blocks (magic and block type
/// descriptor 1, commit 2 or revoke 5 at a 512-byte aligned position):
/// the blocks around them are journal copies. The journal superblock
/// (types 3, 4) is not one of them: it sits before an empty journal too.
pub(crate) fn journal_blocks(buf: &[u8]) -> Vec<usize> {
    (0..buf.len() / 512)
        .map(|s| s * 512)
        .filter(|&p| be32(buf, p) == JBD2_MAGIC && matches!(be32(buf, p + 4), 1 | 2 | 5))
        .collect()
}

/// True when `pos` is within [`JOURNAL_SHADOW_BYTES`] of a jbd2 header.
pub(crate) fn near_journal(journal: &[usize], pos: usize) -> bool {
    let i = journal.partition_point(|&j| j < pos.saturating_sub(JOURNAL_SHADOW_BYTES));
    journal
        .get(i)
        .is_some_and(|&j| j <= pos.saturating_add(JOURNAL_SHADOW_BYTES))
}

/// Scans `buffers` (member, member byte offset, bytes) with
/// [`scan`](super::scan), then solves ext4 inodes for the metadata_csum
/// file systems whose superblocks that scan found.
pub fn scan_all(buffers: &[(usize, u64, &[u8])], out: &mut Vec<Anchor>) {
    scan_all_lent(buffers, &[], out);
}

/// [`scan_all`], where `lent` buffers (member byte offset, bytes) of
/// content computed rather than read lend only the metadata_csum ext4
/// superblocks found in them. The XOR of every member is such content:
/// in a RAID5 with a member missing it is the missing member's, and the
/// primary superblock that sat there still lets the inodes on the members
/// present be solved.
pub fn scan_all_lent(
    buffers: &[(usize, u64, &[u8])],
    lent: &[(u64, &[u8])],
    out: &mut Vec<Anchor>,
) {
    let start = out.len();
    for &(m, off, buf) in buffers {
        super::scan(m, off, buf, out);
    }
    super::fat_anchor::scan_fat(buffers, start, out);
    let mut fss = filesystems(buffers, &out[start..]);
    if !lent.is_empty() {
        let lent: Vec<(usize, u64, &[u8])> = lent.iter().map(|&(o, b)| (0, o, b)).collect();
        let mut supers = Vec::new();
        for &(m, off, buf) in &lent {
            super::scan(m, off, buf, &mut supers);
        }
        supers.retain(|a| a.kind == AnchorKind::ExtSuperblock);
        for fs in filesystems(&lent, &supers) {
            if fss.len() < MAX_FILESYSTEMS && !fss.iter().any(|f| f.seed == fs.seed) {
                fss.push(fs);
            }
        }
    }
    if fss.is_empty() {
        return;
    }
    let inodes_start = out.len();
    for &(m, off, buf) in buffers {
        scan_inodes(m, off, buf, &fss, out);
    }
    super::ext_dir::scan_dirs(buffers, &fss, inodes_start, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_the_zero_advance() {
        for size in [256usize, 512, 1024] {
            let s = InodeSolver::new(size).unwrap();
            let zeros = vec![0u8; 8 + size];
            for x in [1u32, 2, 0x8000_0000, 0xDEAD_BEEF, 12345] {
                assert_eq!(apply(&s.inverse, crc32c_raw(x, &zeros)), x);
            }
        }
    }

    /// A synthetic inode with a checksum computed the kernel's way (in
    /// pieces, as `ext4_inode_csum` does) solves back to its number.
    #[test]
    fn solve_recovers_the_number_from_a_kernel_style_checksum() {
        let seed = crc32c_raw(!0, b"0123456789abcdef");
        let mut raw = vec![0u8; 256];
        raw[0..2].copy_from_slice(&0x81A4u16.to_le_bytes());
        raw[I_GENERATION..I_GENERATION + 4].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        raw[I_EXTRA_ISIZE] = 32;
        for ino in [1u32, 2, 11, 4097, 1 << 24] {
            let mut c = crc32c_raw(seed, &ino.to_le_bytes());
            c = crc32c_raw(c, &raw[I_GENERATION..I_GENERATION + 4]);
            c = crc32c_raw(c, &raw[..I_CHECKSUM_LO]);
            c = crc32c_raw(c, &[0, 0]);
            c = crc32c_raw(c, &raw[I_CHECKSUM_LO + 2..I_CHECKSUM_HI]);
            c = crc32c_raw(c, &[0, 0]);
            c = crc32c_raw(c, &raw[I_CHECKSUM_HI + 2..]);
            let mut stored = raw.clone();
            stored[I_CHECKSUM_LO..I_CHECKSUM_LO + 2].copy_from_slice(&(c as u16).to_le_bytes());
            stored[I_CHECKSUM_HI..I_CHECKSUM_HI + 2]
                .copy_from_slice(&((c >> 16) as u16).to_le_bytes());
            let s = InodeSolver::new(256).unwrap();
            assert_eq!(s.solve(&stored, &mut Vec::new()), Some(seed ^ ino));
        }
    }

    #[test]
    fn sizes_without_a_high_checksum_are_refused() {
        assert!(InodeSolver::new(128).is_none());
        assert!(InodeSolver::new(132).is_none());
        assert!(InodeSolver::new(8192).is_none());
        assert!(!plausible(&[0u8; 128], 128));
    }
}
