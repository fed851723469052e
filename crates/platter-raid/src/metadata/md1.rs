//! The md version-1 superblock (1.0, 1.1, 1.2): 256 bytes of fixed fields,
//! then two bytes of role per device, all little-endian.
//!
//! Layout: `struct mdp_superblock_1` in Linux
//! `include/uapi/linux/raid/md_p.h`; checks after `super_1_load` in
//! `drivers/md/md.c` (`max_dev > (4096-256)/2` is refused, the checksum
//! `calc_sb_1_csum` sums little-endian u32 words over `256 + 2*max_dev`
//! bytes with `sb_csum` zeroed, then folds the carry once) and mdadm
//! `super1.c` (`load_super1`, `examine_super1`, `examine_badblocks_super1`).

use platter_core::Source;
use zerocopy::byteorder::little_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::anomaly::{Anomalies, codes};
use super::md::{
    Location, MdBadBlockLog, MdChecksum, MdDevRole, MdReshape, MdRole, MdSuperblock, SB_BYTES,
    validate_common,
};
use super::{mdadm_uuid, padded_text, rfc3339};

/// Size of the fixed part of the 1.x superblock.
const FIXED_BYTES: usize = 256;

/// Most role entries that fit in a 4 KiB superblock: mdadm's `MAX_DEVS`.
pub(crate) const MAX_DEVS: u32 = ((SB_BYTES - FIXED_BYTES) / 2) as u32;

/// Byte offset of `sb_csum` in the struct.
const CSUM_OFFSET: usize = 216;

/// `ctime`/`utime`: the low 40 bits are seconds (`MD_SUPERBLOCK_1_TIME_SEC_MASK`).
const TIME_SEC_MASK: u64 = (1 << 40) - 1;

/// Largest bad-block log mdadm reads (`bblog_size <= 100` sectors).
const MAX_BBLOG_SECTORS: u16 = 100;

// feature_map bits (md_p.h, mdadm super1.c).
const FEATURE_BITMAP_OFFSET: u32 = 1;
const FEATURE_RECOVERY_OFFSET: u32 = 2;
const FEATURE_RESHAPE_ACTIVE: u32 = 4;
const FEATURE_BAD_BLOCKS: u32 = 8;
const FEATURE_RESHAPE_BACKWARDS: u32 = 32;
const FEATURE_NEW_OFFSET: u32 = 64;
/// Every bit defined up to `MD_FEATURE_RAID0_LAYOUT` (4096).
const FEATURE_ALL: u32 = 0x1fff;

/// `struct mdp_superblock_1`, the fixed 256 bytes (md_p.h).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawSb1 {
    // Constant array information, 128 bytes.
    magic: U32,
    major_version: U32,
    feature_map: U32,
    pad0: U32,
    set_uuid: [u8; 16],
    set_name: [u8; 32],
    ctime: U64,
    level: U32,
    layout: U32,
    size: U64,
    chunksize: U32,
    raid_disks: U32,
    bitmap_offset: U32,
    new_level: U32,
    reshape_position: U64,
    delta_disks: U32,
    new_layout: U32,
    new_chunk: U32,
    new_offset: U32,
    // Constant this-device information, 64 bytes.
    data_offset: U64,
    data_size: U64,
    super_offset: U64,
    recovery_offset: U64,
    dev_number: U32,
    cnt_corrected_read: U32,
    device_uuid: [u8; 16],
    devflags: u8,
    bblog_shift: u8,
    bblog_size: U16,
    bblog_offset: U32,
    // Array state information, 64 bytes.
    utime: U64,
    events: U64,
    resync_offset: U64,
    sb_csum: U32,
    max_dev: U32,
    pad3: [u8; 32],
}

const _: () = assert!(size_of::<RawSb1>() == FIXED_BYTES);

/// `calc_sb_1_csum`: little-endian u32 sum over `len` bytes (a trailing
/// u16 when `len` is 2 mod 4) with `sb_csum` taken as 0, carry folded once.
pub(crate) fn checksum(buf: &[u8], len: usize) -> u32 {
    let len = len.min(buf.len());
    let mut sum: u64 = 0;
    let mut i = 0;
    while i + 4 <= len {
        if i != CSUM_OFFSET {
            sum += u64::from(u32::from_le_bytes([
                buf[i],
                buf[i + 1],
                buf[i + 2],
                buf[i + 3],
            ]));
        }
        i += 4;
    }
    if len - i >= 2 {
        sum += u64::from(u16::from_le_bytes([buf[i], buf[i + 1]]));
    }
    (sum as u32).wrapping_add((sum >> 32) as u32)
}

/// Parses a 1.x superblock found at `loc` (magic already matched).
pub(crate) fn parse(
    buf: &[u8],
    loc: Location<'_>,
    version: &'static str,
    minor: u32,
    member: &dyn Source,
) -> MdSuperblock {
    let mut an = Anomalies::default();
    let (raw, _) = RawSb1::ref_from_prefix(buf).expect("buffer holds 4096 bytes");
    let here = format!("{}: md {version} superblock at {:#x}", loc.name, loc.offset);
    let off = loc.offset;

    let major = raw.major_version.get();
    if major != 1 {
        an.error(
            off,
            codes::VERSION,
            format!("{here}: major_version {major}, expected 1"),
        );
    }
    let feature_map = raw.feature_map.get();
    if feature_map & !FEATURE_ALL != 0 {
        an.warn(
            off,
            codes::UNKNOWN_FEATURES,
            format!(
                "{here}: unknown feature bits {:#x}",
                feature_map & !FEATURE_ALL
            ),
        );
    }
    let super_offset = raw.super_offset.get();
    if super_offset.checked_mul(512) != Some(off) {
        an.warn(
            off,
            codes::SUPER_OFFSET,
            format!(
                "{here}: super_offset records sector {super_offset} but the superblock is at sector {}; the image may be shifted (a partition imaged as a disk, or the reverse)",
                off / 512
            ),
        );
    }

    // The role table: max_dev entries, bounded by what a 4 KiB superblock holds.
    let max_dev = raw.max_dev.get();
    if max_dev > MAX_DEVS {
        an.error(
            off,
            codes::MAX_DEV,
            format!("{here}: max_dev {max_dev} exceeds {MAX_DEVS}"),
        );
    }
    let n_roles = max_dev.min(MAX_DEVS) as usize;
    let roles_raw: Vec<u16> = buf[FIXED_BYTES..FIXED_BYTES + 2 * n_roles]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let dev_roles: Vec<MdDevRole> = roles_raw
        .iter()
        .enumerate()
        .map(|(i, &r)| MdDevRole {
            dev_number: i as u32,
            role: MdRole::from_v1(r),
        })
        .collect();
    let dev_number = raw.dev_number.get();
    let role = match roles_raw.get(dev_number as usize) {
        Some(&r) => MdRole::from_v1(r),
        None => {
            an.warn(
                off,
                codes::DEV_NUMBER,
                format!(
                    "{here}: dev_number {dev_number} is beyond the {n_roles}-entry role table; treated as a spare (as mdadm does)"
                ),
            );
            MdRole::Spare
        }
    };

    let stored = raw.sb_csum.get();
    let computed = checksum(buf, FIXED_BYTES + 2 * n_roles);

    let reshape = (feature_map & FEATURE_RESHAPE_ACTIVE != 0).then(|| MdReshape {
        position_sectors: raw.reshape_position.get(),
        new_level: raw.new_level.get() as i32,
        new_layout: raw.new_layout.get(),
        delta_disks: raw.delta_disks.get() as i32,
        new_chunk_bytes: u64::from(raw.new_chunk.get()) * 512,
        new_offset_sectors: (feature_map & FEATURE_NEW_OFFSET != 0)
            .then(|| raw.new_offset.get() as i32),
        backwards: feature_map & FEATURE_RESHAPE_BACKWARDS != 0,
    });

    let recovery_offset_sectors =
        (feature_map & FEATURE_RECOVERY_OFFSET != 0).then(|| raw.recovery_offset.get());
    if let Some(r) = recovery_offset_sectors {
        an.warn(
            off,
            codes::RECOVERY_IN_PROGRESS,
            format!(
                "{here}: this member was being rebuilt; only the first {r} sectors of its data are valid"
            ),
        );
    }

    let bad_block_log = read_bblog(raw, loc, member, &here, &mut an);

    let ctime_secs = raw.ctime.get() & TIME_SEC_MASK;
    let utime_secs = raw.utime.get() & TIME_SEC_MASK;
    let sb = MdSuperblock {
        version,
        minor_version: minor,
        byte_order: "little",
        superblock_offset_bytes: off,
        array_uuid: mdadm_uuid(&raw.set_uuid),
        device_uuid: Some(mdadm_uuid(&raw.device_uuid)),
        name: Some(padded_text(&raw.set_name)),
        ctime_secs,
        ctime: rfc3339(ctime_secs),
        utime_secs,
        utime: rfc3339(utime_secs),
        level: raw.level.get() as i32,
        layout: raw.layout.get(),
        chunk_bytes: u64::from(raw.chunksize.get()) * 512,
        raid_disks: raw.raid_disks.get(),
        size_bytes: raw.size.get().saturating_mul(512),
        data_offset_bytes: raw.data_offset.get().saturating_mul(512),
        data_size_bytes: raw.data_size.get().saturating_mul(512),
        super_offset_sectors: super_offset,
        dev_number,
        role,
        dev_roles,
        events: raw.events.get(),
        reshape,
        feature_map,
        bitmap_offset_sectors: (feature_map & FEATURE_BITMAP_OFFSET != 0)
            .then(|| raw.bitmap_offset.get() as i32),
        recovery_offset_sectors,
        bad_block_log,
        clean: raw.resync_offset.get() == u64::MAX,
        checksum: MdChecksum {
            stored,
            computed,
            valid: stored == computed,
        },
        anomalies: Vec::new(),
    };

    // 1.1 and 1.2 keep data after the superblock: it must not overlap it.
    if minor != 0 && sb.data_offset_bytes < off.saturating_add(SB_BYTES as u64) {
        an.warn(
            off,
            codes::DATA_OVERLAPS_SUPERBLOCK,
            format!(
                "{here}: data_offset {:#x} lies inside the 4 KiB superblock",
                sb.data_offset_bytes
            ),
        );
    }
    validate_common(&sb, loc, MAX_DEVS, &mut an);
    MdSuperblock {
        anomalies: an.finish(),
        ..sb
    }
}

/// Describes the bad-block log and, when it is flagged non-empty and of
/// sane size, reads its entries (`examine_badblocks_super1`): u64 each,
/// low 10 bits the count, the rest the sector, both shifted by
/// `bblog_shift`; all-ones ends the list.
fn read_bblog(
    raw: &RawSb1,
    loc: Location<'_>,
    member: &dyn Source,
    here: &str,
    an: &mut Anomalies,
) -> Option<MdBadBlockLog> {
    let size = raw.bblog_size.get();
    let offset = raw.bblog_offset.get() as i32;
    if size == 0 || offset == 0 {
        return None;
    }
    let has_bad_blocks = raw.feature_map.get() & FEATURE_BAD_BLOCKS != 0;
    let shift = raw.bblog_shift;
    let mut log = MdBadBlockLog {
        offset_sectors: offset,
        size_sectors: size,
        shift,
        has_bad_blocks,
        entries: Vec::new(),
    };
    if !has_bad_blocks || size > MAX_BBLOG_SECTORS || shift > 32 {
        return Some(log);
    }
    let at = i64::try_from(loc.offset / 512)
        .ok()
        .and_then(|s| s.checked_add(i64::from(offset)))
        .and_then(|s| u64::try_from(s).ok())
        .and_then(|s| s.checked_mul(512));
    let Some(at) = at else {
        return Some(log);
    };
    let mut bytes = vec![0u8; usize::from(size) * 512];
    if let Err(e) = member.read_exact_at(&mut bytes, at) {
        an.warn(
            at,
            codes::READ_ERROR,
            format!("{here}: cannot read the bad-block log at {at:#x}: {e}"),
        );
        return Some(log);
    }
    for c in bytes.chunks_exact(8) {
        let bb = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        if bb == u64::MAX {
            break;
        }
        let sector = (bb >> 10).checked_shl(u32::from(shift)).unwrap_or(u64::MAX);
        let count = (bb & 0x3ff) << shift;
        log.entries.push((sector, count));
    }
    if !log.entries.is_empty() {
        an.warn(
            at,
            codes::BAD_BLOCKS,
            format!(
                "{here}: the member's bad-block log lists {} range(s); md never wrote good data there",
                log.entries.len()
            ),
        );
    }
    Some(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_skips_its_own_field_and_folds_the_carry() {
        let mut buf = vec![0u8; 512];
        buf[0..4].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
        buf[4..8].copy_from_slice(&2u32.to_le_bytes());
        buf[CSUM_OFFSET..CSUM_OFFSET + 4].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        // 0xffffffff + 2 = 0x1_00000001 -> 0x00000001 + 1 = 2
        assert_eq!(checksum(&buf, 256), 2);
        // A trailing half word counts.
        buf[256..258].copy_from_slice(&7u16.to_le_bytes());
        assert_eq!(checksum(&buf, 258), 9);
    }
}
