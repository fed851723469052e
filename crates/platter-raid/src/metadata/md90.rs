//! The md 0.90 superblock: 4096 bytes of host-endian u32 words near the end
//! of the member.
//!
//! Layout: `mdp_super_t` in Linux `include/uapi/linux/raid/md_p.h` (word
//! offsets: generic constant 0–31, generic state 32–63, personality 64–127,
//! 27 disk descriptors of 32 words from 128, `this_disk` at 992). The
//! superblock is written in the byte order of the machine that wrote it;
//! `events_hi`/`events_lo` swap places with it, while `reshape_position`
//! is a native u64. Checks follow `super_90_load` in `drivers/md/md.c`
//! (major 0, minor 90..=91, `raid_disks > 0`) and the checksum is
//! `calc_sb_csum`: the u32 word sum with `sb_csum` zeroed, carry folded
//! once; the kernel compares the 16-bit folds (`md_csum_fold`).

use zerocopy::byteorder::{BigEndian, ByteOrder, LittleEndian, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::anomaly::{Anomalies, codes};
use super::md::{
    Location, MdChecksum, MdDevRole, MdReshape, MdRole, MdSuperblock, SB_BYTES, validate_common,
};
use super::{mdadm_uuid, rfc3339};

/// `MD_SB_DISKS`: descriptors in a 0.90 superblock, so at most 27 members.
pub(crate) const MD_SB_DISKS: u32 = 27;

/// Byte offset of `sb_csum` (generic state word 6).
const CSUM_OFFSET: usize = (32 + 6) * 4;

// Disk descriptor state bits (md_p.h).
const DISK_FAULTY: u32 = 1 << 0;
const DISK_SYNC: u32 = 1 << 2;
const DISK_REMOVED: u32 = 1 << 3;

/// `mdp_disk_t`: one 32-word disk descriptor.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawDisk<O: ByteOrder> {
    number: U32<O>,
    major: U32<O>,
    minor: U32<O>,
    raid_disk: U32<O>,
    state: U32<O>,
    reserved: [u8; 27 * 4],
}

/// `mdp_super_t` (md_p.h), generic over the writer's byte order.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawSb0<O: ByteOrder> {
    // Generic constant information (words 0-31).
    md_magic: U32<O>,
    major_version: U32<O>,
    minor_version: U32<O>,
    patch_version: U32<O>,
    gvalid_words: U32<O>,
    set_uuid0: U32<O>,
    ctime: U32<O>,
    level: U32<O>,
    size_kib: U32<O>,
    nr_disks: U32<O>,
    raid_disks: U32<O>,
    md_minor: U32<O>,
    not_persistent: U32<O>,
    set_uuid1: U32<O>,
    set_uuid2: U32<O>,
    set_uuid3: U32<O>,
    gstate_creserved: [u8; 16 * 4],
    // Generic state information (words 32-63).
    utime: U32<O>,
    state: U32<O>,
    active_disks: U32<O>,
    working_disks: U32<O>,
    failed_disks: U32<O>,
    spare_disks: U32<O>,
    sb_csum: U32<O>,
    /// events_lo on little-endian writers, events_hi on big-endian ones.
    events_w7: U32<O>,
    /// events_hi on little-endian writers, events_lo on big-endian ones.
    events_w8: U32<O>,
    cp_events_w9: U32<O>,
    cp_events_w10: U32<O>,
    recovery_cp: U32<O>,
    reshape_position: U64<O>,
    new_level: U32<O>,
    delta_disks: U32<O>,
    new_layout: U32<O>,
    new_chunk: U32<O>,
    gstate_sreserved: [u8; 14 * 4],
    // Personality information (words 64-127).
    layout: U32<O>,
    chunk_size: U32<O>,
    root_pv: U32<O>,
    root_block: U32<O>,
    pstate_reserved: [u8; 60 * 4],
    // Disks (words 128-991; MD_SB_RESERVED_WORDS is 0), this disk (992-1023).
    disks: [RawDisk<O>; 27],
    this_disk: RawDisk<O>,
}

const _: () = assert!(size_of::<RawSb0<LittleEndian>>() == SB_BYTES);

/// `calc_sb_csum`: sum of the 1024 words (in the superblock's byte order)
/// with `sb_csum` taken as 0, the 64-bit carry folded into 32 bits once.
pub(crate) fn checksum(buf: &[u8], big_endian: bool) -> u32 {
    let mut sum: u64 = 0;
    for (i, w) in buf[..SB_BYTES].chunks_exact(4).enumerate() {
        if i * 4 == CSUM_OFFSET {
            continue;
        }
        let w: [u8; 4] = w.try_into().expect("4 bytes");
        sum += u64::from(if big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        });
    }
    (sum as u32).wrapping_add((sum >> 32) as u32)
}

/// `md_csum_fold`: 32 to 16 bits, as the kernel compares 0.90 checksums.
fn fold16(c: u32) -> u32 {
    let c = (c & 0xffff) + (c >> 16);
    (c & 0xffff) + (c >> 16)
}

/// Parses a 0.90 superblock at `loc` whose magic matched in the given order.
pub(crate) fn parse(buf: &[u8], loc: Location<'_>, big_endian: bool) -> MdSuperblock {
    if big_endian {
        parse_in::<BigEndian>(buf, loc, true)
    } else {
        parse_in::<LittleEndian>(buf, loc, false)
    }
}

fn parse_in<O: ByteOrder>(buf: &[u8], loc: Location<'_>, big_endian: bool) -> MdSuperblock {
    let mut an = Anomalies::default();
    let (raw, _) = RawSb0::<O>::ref_from_prefix(buf).expect("buffer holds 4096 bytes");
    let here = format!("{}: md 0.90 superblock at {:#x}", loc.name, loc.offset);
    let off = loc.offset;

    let major = raw.major_version.get();
    let minor = raw.minor_version.get();
    if major != 0 || !(90..=91).contains(&minor) {
        an.error(
            off,
            codes::VERSION,
            format!("{here}: version {major}.{minor}, expected 0.90 or 0.91"),
        );
    }
    if big_endian {
        an.warn(
            off,
            codes::VERSION,
            format!(
                "{here}: written big-endian (by a big-endian host); fields decoded accordingly"
            ),
        );
    }

    let (w7, w8) = (
        u64::from(raw.events_w7.get()),
        u64::from(raw.events_w8.get()),
    );
    let events = if big_endian {
        (w7 << 32) | w8
    } else {
        (w8 << 32) | w7
    };

    let raid_disks = raw.raid_disks.get();
    // Descriptors shown, as mdadm's examine_super0 does: the raid slots and
    // any other slot naming a device.
    let mut dev_roles = Vec::new();
    for (i, d) in raw.disks.iter().enumerate() {
        let i = i as u32;
        let named = d.major.get() != 0 || d.minor.get() != 0;
        if i < raid_disks || named {
            dev_roles.push(MdDevRole {
                dev_number: i,
                role: role_of(d),
            });
        }
    }
    let this = &raw.this_disk;
    let dev_number = this.number.get();
    if dev_number >= MD_SB_DISKS {
        an.warn(
            off,
            codes::DEV_NUMBER,
            format!("{here}: this_disk.number {dev_number} is beyond the 27 descriptors"),
        );
    }
    let role = match role_of(this) {
        // A device reading its own superblock is present: an "empty"
        // descriptor here means a spare in the making.
        MdRole::Empty => MdRole::Spare,
        r => r,
    };

    let stored = raw.sb_csum.get();
    let computed = checksum(buf, big_endian);
    let reshape = (minor >= 91).then(|| MdReshape {
        position_sectors: raw.reshape_position.get(),
        new_level: raw.new_level.get() as i32,
        new_layout: raw.new_layout.get(),
        delta_disks: raw.delta_disks.get() as i32,
        new_chunk_bytes: u64::from(raw.new_chunk.get()),
        new_offset_sectors: None,
        backwards: false,
    });
    let uuid_words = [
        raw.set_uuid0.get(),
        raw.set_uuid1.get(),
        raw.set_uuid2.get(),
        raw.set_uuid3.get(),
    ];
    let mut uuid = [0u8; 16];
    for (i, w) in uuid_words.iter().enumerate() {
        uuid[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    let size_bytes = u64::from(raw.size_kib.get()) * 1024;
    let ctime_secs = u64::from(raw.ctime.get());
    let utime_secs = u64::from(raw.utime.get());
    let sb = MdSuperblock {
        version: "0.90",
        minor_version: minor,
        byte_order: if big_endian { "big" } else { "little" },
        superblock_offset_bytes: off,
        array_uuid: mdadm_uuid(&uuid),
        device_uuid: None,
        name: None,
        ctime_secs,
        ctime: rfc3339(ctime_secs),
        utime_secs,
        utime: rfc3339(utime_secs),
        level: raw.level.get() as i32,
        layout: raw.layout.get(),
        chunk_bytes: u64::from(raw.chunk_size.get()),
        raid_disks,
        size_bytes,
        data_offset_bytes: 0,
        data_size_bytes: size_bytes,
        super_offset_sectors: off / 512,
        dev_number,
        role,
        dev_roles,
        events,
        reshape,
        feature_map: 0,
        bitmap_offset_sectors: None,
        recovery_offset_sectors: None,
        bad_block_log: None,
        clean: raw.state.get() & 1 != 0,
        checksum: MdChecksum {
            stored,
            computed,
            valid: stored == computed || fold16(stored) == fold16(computed),
        },
        anomalies: Vec::new(),
    };
    // The data area ends where the superblock's 64 KiB reservation begins.
    if size_bytes > off {
        an.error(
            off,
            codes::MEMBER_TRUNCATED,
            format!("{here}: size {size_bytes} bytes runs into the superblock area at {off:#x}"),
        );
    }
    validate_common(&sb, loc, MD_SB_DISKS, &mut an);
    MdSuperblock {
        anomalies: an.finish(),
        ..sb
    }
}

/// A descriptor's role, as `super_90_validate` decides it.
fn role_of<O: ByteOrder>(d: &RawDisk<O>) -> MdRole {
    let state = d.state.get();
    let raid_disk = d.raid_disk.get();
    if state & DISK_FAULTY != 0 {
        MdRole::Faulty
    } else if state & DISK_SYNC != 0 {
        // In sync: the kernel takes raid_disk as the slot (one at or beyond
        // raid_disks is flagged by the common checks).
        MdRole::Active(raid_disk)
    } else if state & DISK_REMOVED != 0 || (d.major.get() == 0 && d.minor.get() == 0) {
        MdRole::Empty
    } else {
        // Working but not in sync (active = being recovered), or idle.
        MdRole::Spare
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_matches_kernel_md_csum_fold() {
        assert_eq!(fold16(0x0001_ffff), 0x0001);
        assert_eq!(fold16(0x1234_5678), 0x68ac);
    }

    #[test]
    fn checksum_is_order_aware() {
        let mut buf = vec![0u8; SB_BYTES];
        buf[0..4].copy_from_slice(&[0, 0, 0, 1]);
        assert_eq!(checksum(&buf, true), 1);
        assert_eq!(checksum(&buf, false), 1 << 24);
        // The checksum word itself is skipped.
        buf[CSUM_OFFSET] = 0xff;
        assert_eq!(checksum(&buf, true), 1);
    }
}
