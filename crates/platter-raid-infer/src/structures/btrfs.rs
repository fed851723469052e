//! btrfs: superblocks and tree blocks.
//!
//! Layouts from the kernel's `include/uapi/linux/btrfs_tree.h` and
//! `fs/btrfs/accessors.h` (`btrfs_super_block`, `btrfs_header`,
//! `btrfs_chunk`, `btrfs_root_item`). Only the default CRC32C checksum
//! (type 0, over bytes 0x20.. of the block, stored little-endian in the
//! first 4 bytes) is verified.

use super::read::Reader;
use super::validate::Validation;
use super::{AnchorKind, Ctx, le16, le32, le64, space_key};

/// The superblock magic, at 0x40.
pub const MAGIC: &[u8; 8] = b"_BHRfS_M";
/// Physical offset of the primary superblock.
pub const SUPER_OFFSET: u64 = 64 << 10;
/// Superblock length in bytes.
pub const SUPER_LEN: usize = 4096;
/// Tree blocks visited at most during validation.
pub const MAX_TREE_BLOCKS: usize = 512;
/// Chunks kept in the logical-to-physical map at most.
const MAX_CHUNKS: usize = 4096;
/// Node sizes tried when a tree block is found without its superblock.
const NODE_SIZES: [usize; 5] = [16384, 4096, 8192, 32768, 65536];
/// Size of a tree block header.
const HEADER: usize = 0x65;
const INCOMPAT_METADATA_UUID: u64 = 1 << 10;
const CHUNK_ITEM: u8 = 228;
const ROOT_ITEM: u8 = 132;

/// A parsed btrfs superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtrfsSuperblock {
    /// `bytenr` (its own physical offset).
    pub bytenr: u64,
    /// The file-system UUID.
    pub fsid: [u8; 16],
    /// The UUID tree blocks carry (`metadata_uuid` when set).
    pub meta_uuid: [u8; 16],
    /// This device's UUID.
    pub dev_uuid: [u8; 16],
    /// Logical address of the root tree root.
    pub root: u64,
    /// Logical address of the chunk tree root.
    pub chunk_root: u64,
    /// Node size in bytes.
    pub node_bytes: usize,
    /// True when the stored checksum matches (CRC32C only).
    pub csum_ok: bool,
    /// `sys_chunk_array`: the chunks that map the chunk tree.
    pub sys_chunks: Vec<Chunk>,
}

/// One chunk: logical range mapped onto this device (first stripe).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Logical start.
    pub logical: u64,
    /// Length in bytes.
    pub len: u64,
    /// Physical offset of the first stripe.
    pub physical: u64,
}

fn csum_ok(b: &[u8]) -> bool {
    crc32c::crc32c(&b[0x20..]) == le32(b, 0)
}

/// Parses a btrfs superblock (`b` holds [`SUPER_LEN`] bytes).
pub fn parse_superblock(b: &[u8]) -> Option<BtrfsSuperblock> {
    if b.len() < SUPER_LEN || &b[0x40..0x48] != MAGIC {
        return None;
    }
    let node = le32(b, 0x94) as usize;
    let sector = le32(b, 0x90);
    if !node.is_power_of_two() || !(4096..=65536).contains(&node) || !sector.is_power_of_two() {
        return None;
    }
    let csum_type = le16(b, 0xC4);
    let mut fsid = [0u8; 16];
    fsid.copy_from_slice(&b[0x20..0x30]);
    let mut meta_uuid = fsid;
    if le64(b, 0xBC) & INCOMPAT_METADATA_UUID != 0 {
        meta_uuid.copy_from_slice(&b[0x23B..0x24B]);
    }
    let mut dev_uuid = [0u8; 16];
    dev_uuid.copy_from_slice(&b[0x10B..0x11B]);
    let arr_len = (le32(b, 0xA0) as usize).min(2048);
    Some(BtrfsSuperblock {
        bytenr: le64(b, 0x30),
        fsid,
        meta_uuid,
        dev_uuid,
        root: le64(b, 0x50),
        chunk_root: le64(b, 0x58),
        node_bytes: node,
        csum_ok: csum_type == 0 && csum_ok(&b[..SUPER_LEN]),
        sys_chunks: sys_chunks(&b[0x32B..0x32B + arr_len]),
    })
}

/// Decodes `sys_chunk_array`: (disk key, chunk item) pairs.
fn sys_chunks(mut p: &[u8]) -> Vec<Chunk> {
    let mut out = Vec::new();
    while p.len() >= 17 + 80 && out.len() < MAX_CHUNKS {
        let logical = le64(p, 9);
        let Some(c) = chunk_item(&p[17..], logical) else {
            break;
        };
        let stripes = usize::from(le16(&p[17..], 44));
        out.push(c);
        p = &p[(17 + 48 + 32 * stripes).min(p.len())..];
    }
    out
}

fn chunk_item(c: &[u8], logical: u64) -> Option<Chunk> {
    if c.len() < 80 || le16(c, 44) == 0 {
        return None;
    }
    Some(Chunk {
        logical,
        len: le64(c, 0),
        physical: le64(c, 56),
    })
}

fn map(chunks: &[Chunk], logical: u64) -> Option<u64> {
    let c = chunks
        .iter()
        .find(|c| logical >= c.logical && logical - c.logical < c.len)?;
    c.physical.checked_add(logical - c.logical)
}

pub(crate) fn scan_superblock(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(sb) = ctx.get(pos, SUPER_LEN).and_then(parse_superblock) else {
        return;
    };
    if !sb.csum_ok || ![SUPER_OFFSET, 64 << 20, 256 << 30].contains(&sb.bytenr) {
        return;
    }
    let mut id = sb.fsid.to_vec();
    id.extend_from_slice(&sb.dev_uuid);
    ctx.push(
        pos,
        AnchorKind::BtrfsSuperblock,
        space_key("btrfs-physical", &id),
        sb.bytenr,
    );
}

/// The key of the logical address space of the btrfs with (metadata) UUID.
pub fn logical_key(uuid: &[u8]) -> u64 {
    space_key("btrfs-logical", uuid)
}

/// Cheap filter on a sector: could it start a btrfs tree block?
#[inline]
pub(crate) fn maybe_tree_block(s: &[u8]) -> bool {
    let flags = le64(s, 0x38);
    let bytenr = le64(s, 0x30);
    flags >> 56 == 1
        && matches!(flags & 0x00FF_FFFF_FFFF_FFFF, 1 | 3)
        && s[0x64] < 8
        && bytenr != 0
        && bytenr % 4096 == 0
        && le64(s, 0x50) != 0
}

pub(crate) fn scan_tree_block(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(h) = ctx.get(pos, HEADER) else {
        return;
    };
    if h[0x20..0x30].iter().all(|&b| b == 0) {
        return;
    }
    let (bytenr, key) = (le64(h, 0x30), logical_key(&h[0x20..0x30]));
    for len in NODE_SIZES {
        if let Some(b) = ctx.get(pos, len)
            && csum_ok(b)
        {
            ctx.push(pos, AnchorKind::BtrfsTreeBlock, key, bytenr);
            return;
        }
    }
}

/// Validates the btrfs whose device starts at array byte `start`.
pub(crate) fn validate(r: &mut Reader<'_>, start: u64, sb: &BtrfsSuperblock, v: &mut Validation) {
    v.found.push(format!(
        "btrfs at {start} (fsid {})",
        super::ext::hex(&sb.fsid)
    ));
    v.check(sb.csum_ok && sb.bytenr == SUPER_OFFSET);
    for mirror in [64u64 << 20, 256 << 30] {
        let Some(off) = start.checked_add(mirror) else {
            continue;
        };
        if off.saturating_add(SUPER_LEN as u64) > r.len() {
            continue;
        }
        let ok = r
            .read(off, SUPER_LEN)
            .and_then(|b| parse_superblock(&b))
            .is_some_and(|m| m.csum_ok && m.bytenr == mirror && m.fsid == sb.fsid);
        v.check(ok);
    }
    let mut chunks = sb.sys_chunks.clone();
    let (mut good, mut bad) = (0u64, 0u64);
    // The chunk tree first (it extends the map), then the root tree and
    // every tree its ROOT_ITEMs point to.
    let mut queue = vec![(sb.chunk_root, true)];
    let mut roots_pending = vec![(sb.root, false)];
    let mut visited = 0usize;
    while let Some((logical, chunk_tree)) = queue.pop().or_else(|| roots_pending.pop()) {
        if visited >= MAX_TREE_BLOCKS {
            break;
        }
        visited += 1;
        let blk = map(&chunks, logical)
            .and_then(|p| p.checked_add(start))
            .and_then(|p| r.read(p, sb.node_bytes));
        let Some(blk) = blk else {
            if r.has_budget() {
                v.check(false);
                bad += 1;
            }
            continue;
        };
        let ok = csum_ok(&blk) && le64(&blk, 0x30) == logical && blk[0x20..0x30] == sb.meta_uuid;
        v.check(ok);
        if !ok {
            bad += 1;
            continue;
        }
        good += 1;
        let level = blk[0x64];
        let n = (le32(&blk, 0x60) as usize).min((sb.node_bytes - HEADER) / 25);
        for i in 0..n {
            if level > 0 {
                let at = HEADER + 33 * i;
                if at + 33 > blk.len() {
                    break;
                }
                queue.push((le64(&blk, at + 17), chunk_tree));
                continue;
            }
            let at = HEADER + 25 * i;
            let (ty, data) = (blk[at + 8], HEADER + le32(&blk, at + 17) as usize);
            let size = le32(&blk, at + 21) as usize;
            let Some(item) = blk.get(data..data.saturating_add(size)) else {
                continue;
            };
            if chunk_tree && ty == CHUNK_ITEM && chunks.len() < MAX_CHUNKS {
                if let Some(c) = chunk_item(item, le64(&blk, at + 9)) {
                    chunks.push(c);
                }
            } else if !chunk_tree && ty == ROOT_ITEM && item.len() >= 184 {
                roots_pending.push((le64(item, 176), false));
            }
        }
    }
    v.notes.push(format!(
        "btrfs at {start}: {good} tree blocks where their addresses say, {bad} not"
    ));
}
