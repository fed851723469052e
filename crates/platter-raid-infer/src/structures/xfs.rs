//! XFS: superblocks, AGF/AGI headers and v5 self-describing blocks.
//!
//! Layouts from the kernel's `fs/xfs/libxfs/xfs_format.h` (`xfs_dsb`,
//! `xfs_agf`, `xfs_agi`, `xfs_btree_block`) and `xfs_da_format.h`
//! (`xfs_dir3_blk_hdr`); all fields big-endian except the CRC, which is a
//! CRC32C over the block with the CRC field zeroed, stored little-endian
//! (`xfs_cksum.h`).

use super::read::Reader;
use super::validate::Validation;
use super::{AnchorKind, Ctx, be16, be32, be64, le32, space_key};

/// AGs whose headers are checked at most.
pub const MAX_AGS_CHECKED: u64 = 1024;
/// Block lengths tried for a v5 block's CRC (its size is not in it).
const BLOCK_LENGTHS: [usize; 8] = [4096, 1024, 2048, 8192, 16384, 32768, 65536, 512];
const SB_CRC: usize = 224;
const AGF_CRC: usize = 216;
const AGI_CRC: usize = 312;
const INCOMPAT_META_UUID: u32 = 1 << 2;

/// A parsed, sane XFS superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XfsSuperblock {
    /// Block size in bytes.
    pub block_bytes: u64,
    /// Blocks in the data device.
    pub dblocks: u64,
    /// Blocks per AG.
    pub ag_blocks: u64,
    /// Number of AGs.
    pub ag_count: u64,
    /// Sector size in bytes.
    pub sector_bytes: usize,
    /// Version 5 (CRCs, self-describing metadata).
    pub v5: bool,
    /// The UUID metadata blocks carry (`sb_meta_uuid` when set).
    pub meta_uuid: [u8; 16],
    /// Inode size in bytes.
    pub inode_bytes: usize,
    /// log2 of inodes per block.
    pub inopb_log: u32,
    /// log2 of blocks per AG, rounded up.
    pub agblk_log: u32,
}

impl XfsSuperblock {
    /// Byte offset of AG `agno` within the file system.
    pub fn ag_offset(&self, agno: u64) -> Option<u64> {
        agno.checked_mul(self.ag_blocks)?
            .checked_mul(self.block_bytes)
    }
}

/// XFS CRC check: CRC32C with the 4-byte field at `at` taken as zero.
fn crc_ok(b: &[u8], at: usize) -> bool {
    let c = crc32c::crc32c_append(crc32c::crc32c(&b[..at]), &[0; 4]);
    crc32c::crc32c_append(c, &b[at + 4..]) == le32(b, at)
}

/// Parses and checks an XFS superblock (`b` holds at least one sector;
/// v5 checksums need the whole sector).
pub fn parse_superblock(b: &[u8]) -> Option<XfsSuperblock> {
    if b.len() < 512 || &b[0..4] != b"XFSB" {
        return None;
    }
    let bs = be32(b, 4);
    let sect = usize::from(be16(b, 102));
    let version = be16(b, 100) & 0xF;
    if !bs.is_power_of_two()
        || !(512..=65536).contains(&bs)
        || u32::from(b[120]) != bs.trailing_zeros()
        || !sect.is_power_of_two()
        || !(512..=32768).contains(&sect)
        || b[121] as u32 != sect.trailing_zeros()
        || !matches!(version, 4 | 5)
    {
        return None;
    }
    let (dblocks, agblocks, agcount) = (be64(b, 8), u64::from(be32(b, 84)), u64::from(be32(b, 88)));
    if agblocks == 0
        || agcount == 0
        || u32::from(b[124]) != agblocks.next_power_of_two().trailing_zeros()
    {
        return None;
    }
    let max = agblocks.checked_mul(agcount)?;
    if dblocks > max || dblocks <= max - agblocks {
        return None;
    }
    let inode_bytes = usize::from(be16(b, 104));
    let inopblock = usize::from(be16(b, 106));
    if !inode_bytes.is_power_of_two()
        || !(256..=2048).contains(&inode_bytes)
        || b[123] > 8
        || inopblock != 1 << b[123]
        || inopblock * inode_bytes != bs as usize
    {
        return None;
    }
    let v5 = version == 5;
    if v5 && (b.len() < sect || !crc_ok(&b[..sect], SB_CRC)) {
        return None;
    }
    let mut meta_uuid = [0u8; 16];
    let from = if v5 && be32(b, 216) & INCOMPAT_META_UUID != 0 {
        248
    } else {
        32
    };
    meta_uuid.copy_from_slice(&b[from..from + 16]);
    Some(XfsSuperblock {
        block_bytes: u64::from(bs),
        dblocks,
        ag_blocks: agblocks,
        ag_count: agcount,
        sector_bytes: sect,
        v5,
        meta_uuid,
        inode_bytes,
        inopb_log: u32::from(b[123]),
        agblk_log: u32::from(b[124]),
    })
}

/// The address-space key of the XFS file system with (meta) `uuid`.
pub fn key(uuid: &[u8]) -> u64 {
    space_key("xfs", uuid)
}

/// Checks an AGF (`agf`) or AGI header; returns its AG number.
fn ag_header(
    sb: &XfsSuperblock,
    h: &[u8],
    magic: &[u8; 4],
    uuid_at: usize,
    crc_at: usize,
) -> Option<u64> {
    if h.len() < sb.sector_bytes || &h[0..4] != magic || be32(h, 4) != 1 {
        return None;
    }
    let seqno = u64::from(be32(h, 8));
    let length = u64::from(be32(h, 12));
    if seqno >= sb.ag_count || length == 0 || length > sb.ag_blocks {
        return None;
    }
    if sb.v5 && (h[uuid_at..uuid_at + 16] != sb.meta_uuid || !crc_ok(&h[..sb.sector_bytes], crc_at))
    {
        return None;
    }
    Some(seqno)
}

pub(crate) fn scan_superblock(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(sb) = ctx.get(pos, 512).and_then(|s| {
        let sect = usize::from(be16(s, 102));
        ctx.get(pos, sect).and_then(parse_superblock)
    }) else {
        return;
    };
    let ss = sb.sector_bytes;
    let Some(agno) = ctx
        .get(pos + ss, ss)
        .and_then(|h| ag_header(&sb, h, b"XAGF", 64, AGF_CRC))
    else {
        return;
    };
    let Some(base) = sb.ag_offset(agno) else {
        return;
    };
    let k = key(&sb.meta_uuid);
    ctx.push(pos, AnchorKind::XfsSuperblock, k, base);
    ctx.push(
        pos + ss,
        AnchorKind::XfsAgHeader,
        k,
        base.saturating_add(ss as u64),
    );
    if ctx
        .get(pos + 2 * ss, ss)
        .and_then(|h| ag_header(&sb, h, b"XAGI", 296, AGI_CRC))
        == Some(agno)
    {
        ctx.push(
            pos + 2 * ss,
            AnchorKind::XfsAgHeader,
            k,
            base.saturating_add(2 * ss as u64),
        );
    }
}

/// Where a v5 block keeps (CRC, self block number, UUID).
fn v5_layout(magic: &[u8]) -> Option<(usize, usize, usize)> {
    match magic {
        b"AB3B" | b"AB3C" | b"IAB3" | b"FIB3" | b"RMB3" | b"R3FC" => Some((52, 16, 32)),
        b"BMA3" => Some((64, 24, 40)),
        b"XDB3" | b"XDD3" | b"XDF3" => Some((4, 8, 24)),
        _ => None,
    }
}

pub(crate) fn scan_block(ctx: &mut Ctx<'_>, pos: usize) {
    let Some(head) = ctx.get(pos, 512) else {
        return;
    };
    let Some((crc_at, blkno_at, uuid_at)) = v5_layout(&head[0..4]) else {
        return;
    };
    let blkno = be64(head, blkno_at);
    if head[uuid_at..uuid_at + 16].iter().all(|&b| b == 0) || blkno >= 1 << 54 {
        return;
    }
    let k = key(&head[uuid_at..uuid_at + 16]);
    for len in BLOCK_LENGTHS {
        if let Some(b) = ctx.get(pos, len)
            && crc_ok(b, crc_at)
        {
            ctx.push(pos, AnchorKind::XfsBtreeBlock, k, blkno * 512);
            return;
        }
    }
}

/// Validates the XFS file system whose superblock is at array byte `start`.
pub(crate) fn validate(r: &mut Reader<'_>, start: u64, sb: &XfsSuperblock, v: &mut Validation) {
    v.found.push(format!(
        "XFS v{} at {start} (uuid {}, {} AGs of {} blocks of {} bytes)",
        if sb.v5 { 5 } else { 4 },
        super::ext::hex(&sb.meta_uuid),
        sb.ag_count,
        sb.ag_blocks,
        sb.block_bytes
    ));
    let ss = sb.sector_bytes;
    let bs = sb.block_bytes;
    let (mut good, mut total) = (0u64, 0u64);
    for agno in 0..sb.ag_count.min(MAX_AGS_CHECKED) {
        let Some(base) = sb.ag_offset(agno).and_then(|o| o.checked_add(start)) else {
            break;
        };
        let Some(h) = r.read(base, 3 * ss) else { break };
        let checks = [
            parse_superblock(&h[..ss]).is_some_and(|s| s.meta_uuid == sb.meta_uuid),
            ag_header(sb, &h[ss..2 * ss], b"XAGF", 64, AGF_CRC) == Some(agno),
            ag_header(sb, &h[2 * ss..], b"XAGI", 296, AGI_CRC) == Some(agno),
        ];
        for ok in checks {
            v.check(ok);
            total += 1;
            good += u64::from(ok);
        }
        if !checks[1] || !checks[2] {
            continue;
        }
        // The free-space and inode btree roots the headers point to.
        let roots = [
            (be32(&h[ss..], 16), if sb.v5 { b"AB3B" } else { b"ABTB" }),
            (be32(&h[ss..], 20), if sb.v5 { b"AB3C" } else { b"ABTC" }),
            (
                be32(&h[2 * ss..], 20),
                if sb.v5 { b"IAB3" } else { b"IABT" },
            ),
        ];
        if sb.v5 {
            let (ok, n) = check_inodes(r, start, sb, agno, be32(&h[2 * ss..], 20), v);
            good += ok;
            total += n;
        }
        for (agbno, magic) in roots {
            let Some(daddr) = agno
                .checked_mul(sb.ag_blocks)
                .and_then(|b| b.checked_add(u64::from(agbno)))
                .and_then(|b| b.checked_mul(bs))
            else {
                continue;
            };
            let Some(blk) = start
                .checked_add(daddr)
                .and_then(|o| r.read(o, bs as usize))
            else {
                continue;
            };
            let ok = &blk[0..4] == magic
                && (!sb.v5 || (be64(&blk, 16) == daddr / 512 && crc_ok(&blk, 52)));
            v.check(ok);
            total += 1;
            good += u64::from(ok);
        }
    }
    v.notes.push(format!(
        "XFS at {start}: {good}/{total} AG header and btree root checks passed"
    ));
}

/// Inode chunks checked at most per AG.
const INODE_CHUNKS_CHECKED: usize = 4;

/// Follows the inode btree root of AG `agno` (when it is a leaf) to the
/// first inode chunks: every v3 inode there must carry its own number and
/// a valid CRC. Returns (passed, checks).
fn check_inodes(
    r: &mut Reader<'_>,
    start: u64,
    sb: &XfsSuperblock,
    agno: u64,
    root: u32,
    v: &mut Validation,
) -> (u64, u64) {
    let bs = sb.block_bytes;
    let ag = |agbno: u64| {
        agno.checked_mul(sb.ag_blocks)?
            .checked_add(agbno)?
            .checked_mul(bs)?
            .checked_add(start)
    };
    let Some(blk) = ag(u64::from(root)).and_then(|o| r.read(o, bs as usize)) else {
        return (0, 0);
    };
    if &blk[0..4] != b"IAB3" || be16(&blk, 4) != 0 {
        return (0, 0);
    }
    let recs = usize::from(be16(&blk, 6)).min(INODE_CHUNKS_CHECKED);
    let (mut good, mut total) = (0u64, 0u64);
    let per_block_mask = (1u64 << sb.inopb_log) - 1;
    for i in 0..recs {
        let at = 56 + 16 * i;
        if at + 16 > blk.len() {
            break;
        }
        let startino = u64::from(be32(&blk, at));
        let holemask = be16(&blk, at + 4);
        let Some(off) = ag(startino >> sb.inopb_log)
            .and_then(|o| o.checked_add((startino & per_block_mask) * sb.inode_bytes as u64))
        else {
            continue;
        };
        let Some(chunk) = r.read(off, 64 * sb.inode_bytes) else {
            continue;
        };
        for (k, ino) in chunk.chunks_exact(sb.inode_bytes).enumerate() {
            if holemask & (1 << (k / 4)) != 0 {
                continue;
            }
            let want = (agno << (sb.agblk_log + sb.inopb_log)) | (startino + k as u64);
            let ok =
                &ino[0..2] == b"IN" && ino[4] == 3 && be64(ino, 152) == want && crc_ok(ino, 100);
            v.check(ok);
            total += 1;
            good += u64::from(ok);
        }
    }
    (good, total)
}
