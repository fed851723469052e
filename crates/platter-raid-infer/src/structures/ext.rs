//! ext2/3/4: superblocks (primary and backups), group descriptors,
//! bitmap checksums and the root directory.
//!
//! Layouts and checksum recipes follow the kernel's `fs/ext4/ext4.h`
//! (`struct ext4_super_block`, `struct ext4_group_desc`), `fs/ext4/super.c`
//! (`ext4_group_desc_csum`, `ext4_superblock_csum`) and `fs/ext4/bitmap.c`.

use super::read::Reader;
use super::validate::Validation;
use super::{AnchorKind, Ctx, crc32c_raw, le16, le32, space_key};

/// Largest block size accepted (64 KiB, `s_log_block_size` 6).
const MAX_LOG_BLOCK: u32 = 6;
/// Groups whose descriptors and bitmaps are checked at most.
pub const MAX_GROUPS_CHECKED: u64 = 4096;
/// Inodes checked at most at the start of each group's inode table.
pub const INODES_CHECKED: u64 = 128;

const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_FLEX_BG: u32 = 0x200;
const INCOMPAT_CSUM_SEED: u32 = 0x2000;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
const RO_COMPAT_GDT_CSUM: u32 = 0x10;
const RO_COMPAT_METADATA_CSUM: u32 = 0x400;
const COMPAT_SPARSE_SUPER2: u32 = 0x200;
const BG_INODE_UNINIT: u16 = 0x1;
const BG_BLOCK_UNINIT: u16 = 0x2;

/// A parsed, sane ext superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtSuperblock {
    /// Block size in bytes.
    pub block_bytes: u64,
    /// Blocks in the file system.
    pub blocks: u64,
    /// `s_first_data_block`.
    pub first_data_block: u64,
    /// Blocks per group.
    pub blocks_per_group: u64,
    /// Clusters per group (blocks per group without bigalloc).
    pub clusters_per_group: u64,
    /// Inodes per group.
    pub inodes_per_group: u64,
    /// Inode size in bytes.
    pub inode_bytes: u64,
    /// Number of block groups.
    pub groups: u64,
    /// Which group this copy belongs to.
    pub group_nr: u64,
    /// Group descriptor size in bytes.
    pub desc_bytes: usize,
    /// Feature words.
    pub compat: u32,
    /// Incompatible features.
    pub incompat: u32,
    /// Read-only compatible features.
    pub ro_compat: u32,
    /// File-system UUID.
    pub uuid: [u8; 16],
    /// Checksum seed (metadata_csum).
    pub csum_seed: u32,
    /// `s_backup_bgs` (sparse_super2).
    pub backup_bgs: [u32; 2],
    /// Groups whose inode tables mkfs lays out back to back: `1 <<
    /// s_log_groups_per_flex` with flex_bg (capped at [`Self::groups`]),
    /// else 1.
    pub groups_per_flex: u64,
}

impl ExtSuperblock {
    /// Byte offset of group `g`'s superblock copy within the file system.
    pub fn super_offset(&self, g: u64) -> Option<u64> {
        if g == 0 {
            return Some(1024);
        }
        g.checked_mul(self.blocks_per_group)?
            .checked_add(self.first_data_block)?
            .checked_mul(self.block_bytes)
    }

    /// True when group `g` holds a superblock backup.
    pub fn has_backup(&self, g: u64) -> bool {
        if g == 0 {
            return true;
        }
        if self.compat & COMPAT_SPARSE_SUPER2 != 0 {
            return self.backup_bgs.iter().any(|&b| u64::from(b) == g);
        }
        if self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 {
            return true;
        }
        g == 1 || [3u64, 5, 7].iter().any(|&b| is_power_of(g, b))
    }

    /// True with the metadata_csum feature (inode, bitmap and descriptor
    /// CRC32C checksums).
    pub fn metadata_csum(&self) -> bool {
        self.ro_compat & RO_COMPAT_METADATA_CSUM != 0
    }
}

fn is_power_of(mut g: u64, b: u64) -> bool {
    while g > 1 && g % b == 0 {
        g /= b;
    }
    g == 1
}

/// Parses and checks a 1024-byte ext superblock.
pub fn parse_superblock(sb: &[u8]) -> Option<ExtSuperblock> {
    if sb.len() < 1024 || le16(sb, 0x38) != 0xEF53 {
        return None;
    }
    let log = le32(sb, 0x18);
    let log_cluster = le32(sb, 0x1C);
    if log > MAX_LOG_BLOCK || log_cluster < log || log_cluster > log + 16 {
        return None;
    }
    let block_bytes = 1024u64 << log;
    let fdb = u64::from(le32(sb, 0x14));
    if fdb != u64::from(block_bytes == 1024) {
        return None;
    }
    let bpg = u64::from(le32(sb, 0x20));
    let cpg = u64::from(le32(sb, 0x24));
    let ipg = u64::from(le32(sb, 0x28));
    let per_bitmap = 8 * block_bytes;
    if cpg == 0 || cpg > per_bitmap || bpg == 0 || bpg % 8 != 0 || ipg == 0 || ipg > per_bitmap {
        return None;
    }
    if bpg != cpg << (log_cluster - log) {
        return None;
    }
    let rev = le32(sb, 0x4C);
    if rev > 1 || le16(sb, 0x3A) > 7 {
        return None;
    }
    let (compat, incompat, ro_compat) = (le32(sb, 0x5C), le32(sb, 0x60), le32(sb, 0x64));
    let mut blocks = u64::from(le32(sb, 0x04));
    if incompat & INCOMPAT_64BIT != 0 {
        blocks |= u64::from(le32(sb, 0x150)) << 32;
    }
    if blocks <= fdb {
        return None;
    }
    let groups = (blocks - fdb).div_ceil(bpg);
    if u64::from(le32(sb, 0x00)) != groups.checked_mul(ipg)? {
        return None;
    }
    let group_nr = u64::from(le16(sb, 0x5A));
    if group_nr >= groups {
        return None;
    }
    let inode_bytes = if rev == 0 {
        128
    } else {
        u64::from(le16(sb, 0x58))
    };
    if inode_bytes < 128 || !inode_bytes.is_power_of_two() || inode_bytes > block_bytes {
        return None;
    }
    let desc_bytes = if incompat & INCOMPAT_64BIT != 0 {
        usize::from(le16(sb, 0xFE))
    } else {
        32
    };
    if !(32..=1024).contains(&desc_bytes) || !desc_bytes.is_power_of_two() {
        return None;
    }
    let mut uuid = [0u8; 16];
    uuid.copy_from_slice(&sb[0x68..0x78]);
    if ro_compat & RO_COMPAT_METADATA_CSUM != 0
        && (sb[0x175] != 1 || crc32c_raw(!0, &sb[..0x3FC]) != le32(sb, 0x3FC))
    {
        return None;
    }
    let csum_seed = if incompat & INCOMPAT_CSUM_SEED != 0 {
        le32(sb, 0x270)
    } else {
        crc32c_raw(!0, &uuid)
    };
    let groups_per_flex = if incompat & INCOMPAT_FLEX_BG != 0 {
        1u64.checked_shl(u32::from(sb[0x174]))
            .unwrap_or(u64::MAX)
            .min(groups)
    } else {
        1
    };
    Some(ExtSuperblock {
        block_bytes,
        blocks,
        first_data_block: fdb,
        blocks_per_group: bpg,
        clusters_per_group: cpg,
        inodes_per_group: ipg,
        inode_bytes,
        groups,
        group_nr,
        desc_bytes,
        compat,
        incompat,
        ro_compat,
        uuid,
        csum_seed,
        backup_bgs: [le32(sb, 0x24C), le32(sb, 0x250)],
        groups_per_flex,
    })
}

/// The address-space key of the ext file system with `uuid`.
pub fn key(uuid: &[u8; 16]) -> u64 {
    space_key("ext", uuid)
}

pub(crate) fn scan_superblock(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(sb) = ctx.get(pos, 1024).and_then(parse_superblock) else {
        return;
    };
    if let Some(off) = sb.super_offset(sb.group_nr) {
        ctx.push(pos, AnchorKind::ExtSuperblock, key(&sb.uuid), off);
    }
}

/// The kernel's CRC16 (polynomial 0x8005, bit-reflected), as `crc16()`.
fn crc16(mut crc: u16, data: &[u8]) -> u16 {
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// The checksum a group descriptor should carry, or `None` when the file
/// system has no descriptor checksums.
fn desc_csum(sb: &ExtSuperblock, group: u64, d: &[u8]) -> Option<u16> {
    let g = (group as u32).to_le_bytes();
    if sb.metadata_csum() {
        let mut c = crc32c_raw(sb.csum_seed, &g);
        c = crc32c_raw(c, &d[..0x1E]);
        c = crc32c_raw(c, &[0, 0]);
        if d.len() > 0x20 {
            c = crc32c_raw(c, &d[0x20..]);
        }
        Some(c as u16)
    } else if sb.ro_compat & RO_COMPAT_GDT_CSUM != 0 {
        let mut c = crc16(!0, &sb.uuid);
        c = crc16(c, &g);
        c = crc16(c, &d[..0x1E]);
        if d.len() > 0x20 {
            c = crc16(c, &d[0x20..]);
        }
        Some(c)
    } else {
        None
    }
}

fn desc_u64(sb: &ExtSuperblock, d: &[u8], lo: usize, hi: usize) -> u64 {
    let mut v = u64::from(le32(d, lo));
    if d.len() >= 64 && sb.incompat & INCOMPAT_64BIT != 0 {
        v |= u64::from(le32(d, hi)) << 32;
    }
    v
}

fn stored_csum(d: &[u8], lo: usize, hi: usize, hi_end: usize) -> (u32, u32) {
    if d.len() >= hi_end {
        (u32::from(le16(d, lo)) | u32::from(le16(d, hi)) << 16, !0)
    } else {
        (u32::from(le16(d, lo)), 0xFFFF)
    }
}

/// Validates the ext file system whose start is array byte `start`.
pub(crate) fn validate(r: &mut Reader<'_>, start: u64, sb: &ExtSuperblock, v: &mut Validation) {
    let kind = if sb.metadata_csum() || sb.incompat & 0x40 != 0 {
        "ext4"
    } else {
        "ext2/3"
    };
    v.found.push(format!(
        "{kind} at {start} (uuid {}, {} groups of {} blocks of {} bytes)",
        hex(&sb.uuid),
        sb.groups,
        sb.blocks_per_group,
        sb.block_bytes
    ));
    let bs = sb.block_bytes;
    let at = |b: u64| b.checked_mul(bs).and_then(|o| o.checked_add(start));
    let checked_groups = sb.groups.min(MAX_GROUPS_CHECKED);
    // Backup superblocks where the features say.
    for g in 1..checked_groups {
        if !sb.has_backup(g) {
            continue;
        }
        let Some(off) = sb.super_offset(g).and_then(|o| o.checked_add(start)) else {
            break;
        };
        let Some(b) = r.read(off, 1024) else { break };
        let ok = parse_superblock(&b).is_some_and(|c| c.uuid == sb.uuid && c.group_nr == g);
        v.check(ok);
    }
    if sb.incompat & INCOMPAT_META_BG != 0 {
        v.notes
            .push(format!("ext at {start}: meta_bg descriptors not checked"));
        return;
    }
    let ds = sb.desc_bytes;
    let gdt_len = (checked_groups as usize).saturating_mul(ds);
    let Some(gdt) = at(sb.first_data_block + 1).and_then(|o| r.read(o, gdt_len)) else {
        r.fail(v);
        return;
    };
    let mut root_table = None;
    let (mut desc_ok, mut bitmap_ok, mut bitmap_bad) = (0u64, 0u64, 0u64);
    let (mut inode_ok, mut inode_bad) = (0u64, 0u64);
    let mut dirs: Vec<(u32, u64)> = Vec::new();
    for (g, d) in gdt.chunks_exact(ds).enumerate() {
        let g = g as u64;
        if let Some(want) = desc_csum(sb, g, d) {
            let ok = le16(d, 0x1E) == want;
            v.check(ok);
            desc_ok += u64::from(ok);
        }
        let flags = le16(d, 0x12);
        if g == 0 {
            root_table = Some(desc_u64(sb, d, 0x08, 0x28));
        }
        if !sb.metadata_csum() {
            continue;
        }
        if flags & BG_INODE_UNINIT == 0 {
            let table = desc_u64(sb, d, 0x08, 0x28);
            let ibitmap = desc_u64(sb, d, 0x04, 0x24);
            let free = u64::from(le16(d, 0x0E))
                | if ds >= 64 {
                    u64::from(le16(d, 0x2E)) << 16
                } else {
                    0
                };
            let used = sb.inodes_per_group.saturating_sub(free);
            let (ok, bad) = check_inodes(r, sb, g, (table, ibitmap, used), &at, v, &mut dirs);
            inode_ok += ok;
            inode_bad += bad;
        }
        let bitmaps = [
            (
                desc_u64(sb, d, 0x00, 0x20),
                sb.clusters_per_group / 8,
                stored_csum(d, 0x18, 0x38, 0x3A),
                flags & BG_BLOCK_UNINIT,
            ),
            (
                desc_u64(sb, d, 0x04, 0x24),
                sb.inodes_per_group / 8,
                stored_csum(d, 0x1A, 0x3A, 0x3C),
                flags & BG_INODE_UNINIT,
            ),
        ];
        for (block, len, (stored, mask), uninit) in bitmaps {
            if uninit != 0 || block == 0 || block >= sb.blocks {
                continue;
            }
            let Some(bm) = at(block).and_then(|o| r.read(o, len as usize)) else {
                continue;
            };
            let ok = crc32c_raw(sb.csum_seed, &bm) & mask == stored;
            v.check(ok);
            if ok {
                bitmap_ok += 1;
            } else {
                bitmap_bad += 1;
            }
        }
    }
    let mut in_use = InUse::new(sb, &gdt);
    let (dir_ok, dir_bad) = check_dirs(r, sb, &dirs, &at, v, &mut in_use);
    v.notes.push(format!(
        "{kind} at {start}: {desc_ok}/{checked_groups} descriptor checksums, \
         {bitmap_ok} bitmap checksums right, {bitmap_bad} wrong, \
         {inode_ok} inode checksums right, {inode_bad} wrong, \
         {dir_ok} directory blocks right, {dir_bad} wrong"
    ));
    check_bitmap_self_bits(r, sb, &gdt, &at, v);
    if let Some(table) = root_table {
        check_root_dir(r, sb, table, &at, v, &mut in_use);
    }
}

/// Every group's block bitmap, inode bitmap and first inode-table block
/// must be marked in use in the block bitmap of the group holding it
/// (works without checksums, ext2/3 included).
fn check_bitmap_self_bits(
    r: &mut Reader<'_>,
    sb: &ExtSuperblock,
    gdt: &[u8],
    at: &dyn Fn(u64) -> Option<u64>,
    v: &mut Validation,
) {
    if sb.clusters_per_group != sb.blocks_per_group {
        return; // bigalloc: bitmaps count clusters
    }
    let descs: Vec<&[u8]> = gdt.chunks_exact(sb.desc_bytes).collect();
    let mut meta: Vec<u64> = descs
        .iter()
        .flat_map(|d| {
            [
                desc_u64(sb, d, 0x00, 0x20),
                desc_u64(sb, d, 0x04, 0x24),
                desc_u64(sb, d, 0x08, 0x28),
            ]
        })
        .collect();
    meta.sort_unstable();
    for (g, d) in descs.iter().enumerate() {
        if le16(d, 0x12) & BG_BLOCK_UNINIT != 0 {
            continue;
        }
        let first = g as u64 * sb.blocks_per_group + sb.first_data_block;
        let end = first.saturating_add(sb.blocks_per_group).min(sb.blocks);
        let lo = meta.partition_point(|&b| b < first);
        let hi = meta.partition_point(|&b| b < end);
        let inside: Vec<u64> = meta[lo..hi.max(lo)].iter().map(|&b| b - first).collect();
        if inside.is_empty() {
            continue;
        }
        let bitmap = desc_u64(sb, d, 0x00, 0x20);
        let len = (sb.blocks_per_group / 8) as usize;
        let Some(bm) = at(bitmap).and_then(|o| r.read(o, len)) else {
            continue;
        };
        for bit in inside {
            v.check(bm[(bit / 8) as usize] & (1 << (bit % 8)) != 0);
        }
    }
}

/// Checks the metadata_csum checksums of the first [`INODES_CHECKED`]
/// non-zero inodes of group `g`'s inode table; returns (right, wrong).
fn check_inodes(
    r: &mut Reader<'_>,
    sb: &ExtSuperblock,
    g: u64,
    (table, ibitmap, used_count): (u64, u64, u64),
    at: &dyn Fn(u64) -> Option<u64>,
    v: &mut Validation,
    dirs: &mut Vec<(u32, u64)>,
) -> (u64, u64) {
    let isz = sb.inode_bytes as usize;
    let n = sb.inodes_per_group.min(INODES_CHECKED) as usize;
    let Some(buf) = at(table).and_then(|o| r.read(o, n * isz)) else {
        return (0, 0);
    };
    let used = at(ibitmap).and_then(|o| r.read(o, n.div_ceil(8)));
    // Inodes are allocated low-first: most of the used ones are at the
    // start of the table.
    let nonzero = buf
        .chunks_exact(isz)
        .filter(|i| i.iter().any(|&b| b != 0))
        .count() as u64;
    v.check(nonzero >= used_count.min(n as u64) / 2);
    let (mut ok_n, mut bad_n) = (0, 0);
    for (i, ino) in buf.chunks_exact(isz).enumerate() {
        let in_use = used
            .as_ref()
            .is_some_and(|b| b[i / 8] & (1 << (i % 8)) != 0);
        let ok = if ino.iter().all(|&b| b == 0) {
            // A zeroed inode the bitmap says is in use is misplaced.
            if !in_use {
                continue;
            }
            false
        } else {
            let number = g * sb.inodes_per_group + i as u64 + 1;
            let ok = inode_csum_ok(sb, number as u32, ino);
            // Directories other than the root (checked on its own), not
            // held inline in the inode.
            let dir = le16(ino, 0) & 0xF000 == 0x4000 && le32(ino, 0x20) & 0x1000_0000 == 0;
            if ok && dir && number != 2 {
                let bs = sb.block_bytes as usize;
                let mut read = |b: u64| at(b).and_then(|o| r.read(o, bs));
                if let (Ok(n), Some(b)) = (u32::try_from(number), first_block(ino, &mut read)) {
                    dirs.push((n, b));
                }
            }
            ok
        };
        v.check(ok);
        if ok { ok_n += 1 } else { bad_n += 1 }
    }
    (ok_n, bad_n)
}

/// `ext4_inode_csum`: CRC32C over inode number, generation and the inode
/// with its checksum fields zeroed.
fn inode_csum_ok(sb: &ExtSuperblock, number: u32, ino: &[u8]) -> bool {
    let mut c = crc32c_raw(sb.csum_seed, &number.to_le_bytes());
    c = crc32c_raw(c, &ino[0x64..0x68]);
    c = crc32c_raw(c, &ino[..0x7C]);
    c = crc32c_raw(c, &[0, 0]);
    c = crc32c_raw(c, &ino[0x7E..128]);
    let mut stored = u32::from(le16(ino, 0x7C));
    let mut mask = 0xFFFF;
    if ino.len() > 128 {
        let has_hi = 128 + usize::from(le16(ino, 0x80)) >= 0x84;
        c = crc32c_raw(c, &ino[128..0x82]);
        let mut rest = 0x82;
        if has_hi {
            c = crc32c_raw(c, &[0, 0]);
            rest = 0x84;
            stored |= u32::from(le16(ino, 0x82)) << 16;
            mask = !0;
        }
        c = crc32c_raw(c, &ino[rest..]);
    }
    c & mask == stored
}

/// The root directory (inode 2) must be a directory whose first block
/// starts with `.` and `..` both naming inode 2.
fn check_root_dir(
    r: &mut Reader<'_>,
    sb: &ExtSuperblock,
    table: u64,
    at: &dyn Fn(u64) -> Option<u64>,
    v: &mut Validation,
    in_use: &mut InUse<'_>,
) {
    let Some(ino) = at(table)
        .and_then(|o| o.checked_add(sb.inode_bytes))
        .and_then(|o| r.read(o, 128))
    else {
        r.fail(v);
        return;
    };
    let is_dir = le16(&ino, 0) & 0xF000 == 0x4000;
    v.check(is_dir);
    if !is_dir {
        return;
    }
    let bs = sb.block_bytes as usize;
    let mut read = |b: u64| at(b).and_then(|o| r.read(o, bs));
    let Some(first) = first_block(&ino, &mut read) else {
        v.check(false);
        return;
    };
    let Some(blk) = at(first).and_then(|o| r.read(o, sb.block_bytes as usize)) else {
        r.fail(v);
        return;
    };
    v.check(dir_block_starts(&blk, 2, Some(2)));
    if let Some(ok) = in_use.entries(r, &blk, at) {
        v.check(ok);
    }
}

/// The first block of a directory inode's data: from the extent tree
/// (its first index entry followed down through `read`, which returns a
/// block's bytes), or the first direct block; `None` when the tree is not
/// valid down to an extent.
pub(super) fn first_block(ino: &[u8], read: &mut dyn FnMut(u64) -> Option<Vec<u8>>) -> Option<u64> {
    let iblock = ino.get(0x28..0x28 + 60)?;
    if le32(ino, 0x20) & 0x8_0000 == 0 {
        return Some(u64::from(le32(iblock, 0)));
    }
    // A node: header (magic, entries, max, depth), then 12-byte entries
    // from 12. The first index entry's child block: low 32 bits at 16,
    // high 16 at 18; the first extent's start: high 16 at 18, low 32 at
    // 20.
    let mut node = iblock.to_vec();
    let mut depth = le16(&node, 6);
    for _ in 0..=MAX_EXTENT_DEPTH {
        if node.len() < 24 || le16(&node, 0) != 0xF30A || le16(&node, 2) == 0 {
            return None;
        }
        if le16(&node, 6) != depth {
            return None;
        }
        if depth == 0 {
            return Some(u64::from(le32(&node, 20)) | u64::from(le16(&node, 18)) << 32);
        }
        let child = u64::from(le32(&node, 16)) | u64::from(le16(&node, 18)) << 32;
        node = read(child)?;
        depth -= 1;
    }
    None
}

/// Deepest extent tree followed (ext4 allows 5 levels).
const MAX_EXTENT_DEPTH: u16 = 5;

/// A directory's first block starts with `.` naming the directory itself
/// and `..` naming its parent (`parent`, when known; any inode else).
fn dir_block_starts(blk: &[u8], own: u32, parent: Option<u32>) -> bool {
    if blk.len() < 24 {
        return false;
    }
    let dot = le32(blk, 0) == own && blk[6] == 1 && blk[8] == b'.';
    let rec = usize::from(le16(blk, 4));
    dot && rec >= 12
        && rec + 12 <= blk.len()
        && parent.map_or(le32(blk, rec) != 0, |p| le32(blk, rec) == p)
        && blk[rec + 6] == 2
        && &blk[rec + 8..rec + 10] == b".."
}

/// Directories whose first block is checked at most (bounds the reads).
const DIRS_CHECKED: usize = 32;

/// Every directory among the checked inodes (number, first block): its
/// first block must start with `.` naming it and `..`. Directory blocks
/// lie among the files' data, far from the metadata the other checks
/// read, so they tell apart chunk sizes and orders that map the first
/// rows alike.
fn check_dirs(
    r: &mut Reader<'_>,
    sb: &ExtSuperblock,
    dirs: &[(u32, u64)],
    at: &dyn Fn(u64) -> Option<u64>,
    v: &mut Validation,
    in_use: &mut InUse<'_>,
) -> (u64, u64) {
    let (mut ok_n, mut bad_n) = (0, 0);
    for &(number, block) in dirs.iter().take(DIRS_CHECKED) {
        if block == 0 || block >= sb.blocks {
            v.check(false);
            bad_n += 1;
            continue;
        }
        let Some(blk) = at(block).and_then(|o| r.read(o, sb.block_bytes as usize)) else {
            r.fail(v);
            continue;
        };
        // Its `.` and `..`, then the inodes its entries name.
        let mut ok = dir_block_starts(&blk, number, None);
        v.check(ok);
        if ok {
            if let Some(named) = in_use.entries(r, &blk, at) {
                v.check(named);
                ok = named;
            }
        }
        if ok { ok_n += 1 } else { bad_n += 1 }
    }
    (ok_n, bad_n)
}

/// Directory entries checked per directory block, at most.
const ENTRIES_CHECKED: usize = 64;

/// Whether inodes are marked in use, from the inode bitmaps of the
/// groups whose descriptors were read (each bitmap read once).
pub(crate) struct InUse<'a> {
    sb: &'a ExtSuperblock,
    gdt: &'a [u8],
    bitmaps: std::collections::HashMap<u64, Option<Vec<u8>>>,
}

impl<'a> InUse<'a> {
    fn new(sb: &'a ExtSuperblock, gdt: &'a [u8]) -> Self {
        Self {
            sb,
            gdt,
            bitmaps: std::collections::HashMap::new(),
        }
    }

    /// `Some(true)` when every entry of a directory block (past `.` and
    /// `..`) names an inode its group's bitmap marks in use, `Some(false)`
    /// when one does not (a directory newer than the inode table it is
    /// read with, as a stale member gives), `None` when there is nothing
    /// to check.
    fn entries(
        &mut self,
        r: &mut Reader<'_>,
        blk: &[u8],
        at: &dyn Fn(u64) -> Option<u64>,
    ) -> Option<bool> {
        let sb = self.sb;
        let ipg = sb.inodes_per_group.max(1);
        let mut pos = 0usize;
        let mut seen = 0;
        let mut any = false;
        while pos + 12 <= blk.len() && seen < ENTRIES_CHECKED {
            let ino = u64::from(le32(blk, pos));
            let rec = usize::from(le16(blk, pos + 4));
            let name_len = usize::from(blk[pos + 6]);
            if rec < 12 || pos + rec > blk.len() || 8 + name_len > rec {
                break;
            }
            let name = &blk[pos + 8..pos + 8 + name_len];
            seen += 1;
            pos += rec;
            if ino == 0 || name == b"." || name == b".." {
                continue;
            }
            let (g, i) = ((ino - 1) / ipg, (ino - 1) % ipg);
            let Some(d) = self.gdt.chunks_exact(sb.desc_bytes).nth(g as usize) else {
                continue;
            };
            any = true;
            let ok = le16(d, 0x12) & BG_INODE_UNINIT == 0
                && self
                    .bitmaps
                    .entry(g)
                    .or_insert_with(|| {
                        let b = desc_u64(sb, d, 0x04, 0x24);
                        at(b).and_then(|o| r.read(o, (ipg as usize).div_ceil(8)))
                    })
                    .as_ref()
                    .is_some_and(|bm| bm[(i / 8) as usize] & (1 << (i % 8)) != 0);
            if !ok {
                return Some(false);
            }
        }
        any.then_some(true)
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
