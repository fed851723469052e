//! Linux md superblocks: where they live, what they say, and the checks
//! common to every version.
//!
//! Sources: Linux `include/uapi/linux/raid/md_p.h` (the on-disk structs and
//! `MD_NEW_SIZE_SECTORS`), `drivers/md/md.c` (`super_90_load`,
//! `super_1_load`, `calc_sb_csum`, `calc_sb_1_csum`) and mdadm `super0.c`,
//! `super1.c` (`load_super1`: the 1.0 location `((sectors - 16) & ~7)`).
//!
//! | Version | Superblock offset                          |
//! |---------|--------------------------------------------|
//! | 0.90    | `(size & ~(64 KiB - 1)) - 64 KiB`          |
//! | 1.0     | `((size / 512 - 16) & ~7) * 512` (8–12 KiB from the end) |
//! | 1.1     | 0                                          |
//! | 1.2     | 4096                                       |

use platter_core::Source;

use super::anomaly::{Anomalies, MetadataAnomaly, Severity, codes};
use super::{Bytes, md1, md90};
use crate::error::{Error, Result};

/// `MD_SB_MAGIC`, common to every md superblock version.
pub const MD_MAGIC: u32 = 0xa92b_4efc;

/// Bytes read at each candidate location (`MD_SB_BYTES`, and the largest
/// 1.x superblock: 256 bytes plus 1920 two-byte roles).
pub(crate) const SB_BYTES: usize = 4096;

/// `MD_RESERVED_BYTES`: the 0.90 superblock sits in the last 64 KiB-aligned
/// 64 KiB of the device.
const MD90_RESERVED: u64 = 64 << 10;

/// mdadm refuses devices smaller than 24 sectors for 1.x (`load_super1`).
const MIN_MD1_SECTORS: u64 = 24;

/// Largest chunk accepted as plausible. md stores 1.x chunks as a u32 of
/// sectors (up to 2 TiB); real arrays use 4 KiB to a few MiB.
pub(crate) const MAX_CHUNK_BYTES: u64 = 1 << 30;

/// The role a member holds in an md array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MdRole {
    /// An active member in this slot (0-based) of the array.
    Active(u32),
    /// A spare (1.x role 0xFFFF; 0.90 a working disk outside the raid slots).
    Spare,
    /// Marked faulty (1.x role 0xFFFE; 0.90 state bit `MD_DISK_FAULTY`).
    Faulty,
    /// A write journal device (1.x role 0xFFFD).
    Journal,
    /// 0.90 only: a descriptor slot with no device (removed or never used).
    Empty,
}

impl MdRole {
    /// Decodes a 1.x `dev_roles[]` entry.
    pub(crate) fn from_v1(raw: u16) -> MdRole {
        match raw {
            0xFFFF => MdRole::Spare,
            0xFFFE => MdRole::Faulty,
            0xFFFD => MdRole::Journal,
            n => MdRole::Active(u32::from(n)),
        }
    }

    /// The slot number when active.
    pub fn slot(&self) -> Option<u32> {
        match *self {
            MdRole::Active(n) => Some(n),
            _ => None,
        }
    }
}

impl std::fmt::Display for MdRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MdRole::Active(n) => write!(f, "active {n}"),
            MdRole::Spare => f.write_str("spare"),
            MdRole::Faulty => f.write_str("faulty"),
            MdRole::Journal => f.write_str("journal"),
            MdRole::Empty => f.write_str("empty"),
        }
    }
}

/// One entry of the superblock's device table: what the superblock says
/// about the device with this number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MdDevRole {
    /// Device number (1.x `dev_number`, 0.90 descriptor index).
    pub dev_number: u32,
    /// Its role.
    pub role: MdRole,
}

/// The stored and recomputed superblock checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MdChecksum {
    /// `sb_csum` as stored.
    pub stored: u32,
    /// The checksum recomputed over the superblock.
    pub computed: u32,
    /// Whether they agree (for 0.90 the kernel's 16-bit fold also counts).
    pub valid: bool,
}

/// An in-progress reshape: the array is part old geometry, part new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MdReshape {
    /// Next array sector to reshape (`reshape_position`, 512-byte sectors).
    pub position_sectors: u64,
    /// Level being reshaped to.
    pub new_level: i32,
    /// Layout being reshaped to.
    pub new_layout: u32,
    /// Change in raid_disks (new − old).
    pub delta_disks: i32,
    /// New chunk size in bytes.
    pub new_chunk_bytes: u64,
    /// 1.x with `MD_FEATURE_NEW_OFFSET`: signed sectors added to data_offset
    /// in the new layout.
    pub new_offset_sectors: Option<i32>,
    /// 1.x `MD_FEATURE_RESHAPE_BACKWARDS`.
    pub backwards: bool,
}

/// The 1.x bad-block log reservation and, when the feature bit says it is
/// not empty, its entries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MdBadBlockLog {
    /// Signed offset of the log from the superblock, in sectors.
    pub offset_sectors: i32,
    /// Sectors reserved for the log.
    pub size_sectors: u16,
    /// Log blocks are `512 << shift` bytes.
    pub shift: u8,
    /// `MD_FEATURE_BAD_BLOCKS`: the log is not empty.
    pub has_bad_blocks: bool,
    /// Entries read from the log: (first member sector, sectors). The
    /// kernel treats these sectors as absolute on the member.
    pub entries: Vec<(u64, u64)>,
}

/// An md superblock as found on one member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MdSuperblock {
    /// "0.90", "1.0", "1.1" or "1.2" (from where it was found).
    pub version: &'static str,
    /// Stored minor version (0.90: 90, or 91 while reshaping; 1.x: derived
    /// from the location, 0/1/2).
    pub minor_version: u32,
    /// "little" or "big": 0.90 superblocks are host-endian.
    pub byte_order: &'static str,
    /// Byte offset of the superblock on the member.
    pub superblock_offset_bytes: u64,
    /// Array UUID, formatted as mdadm prints it.
    pub array_uuid: String,
    /// 1.x device UUID.
    pub device_uuid: Option<String>,
    /// 1.x array name (`set_name`, often `host:name`).
    pub name: Option<String>,
    /// Creation time, Unix seconds.
    pub ctime_secs: u64,
    /// Creation time, RFC 3339.
    pub ctime: String,
    /// Last superblock update, Unix seconds.
    pub utime_secs: u64,
    /// Last superblock update, RFC 3339.
    pub utime: String,
    /// md level: -1 linear, -4 multipath, -5 faulty, 0, 1, 4, 5, 6, 10.
    pub level: i32,
    /// md layout word, raw (RAID5/6 algorithm, RAID10 near/far/offset bits).
    pub layout: u32,
    /// Chunk size in bytes (linear: rounding).
    pub chunk_bytes: u64,
    /// Number of member slots in the fully working array.
    pub raid_disks: u32,
    /// Per-member size used by the array, bytes (1.x `size`, 0.90 `size`
    /// KiB). For linear and RAID0 arrays 1.x may leave it 0: see
    /// [`MdSuperblock::used_bytes`].
    pub size_bytes: u64,
    /// Where this member's data starts, bytes (0.90: always 0).
    pub data_offset_bytes: u64,
    /// Bytes usable for data on this member (1.x `data_size`; 0.90: `size`).
    pub data_size_bytes: u64,
    /// `super_offset` as recorded (1.x, sectors); 0.90: the location.
    pub super_offset_sectors: u64,
    /// This device's number (1.x `dev_number`; 0.90 `this_disk.number`).
    pub dev_number: u32,
    /// This device's role.
    pub role: MdRole,
    /// The device table (1.x: `max_dev` entries, at most 1920; 0.90: used
    /// descriptors of the 27).
    pub dev_roles: Vec<MdDevRole>,
    /// Update counter: the member with the highest count is freshest.
    pub events: u64,
    /// In-progress reshape, when flagged.
    pub reshape: Option<MdReshape>,
    /// 1.x `feature_map` (0.90: 0).
    pub feature_map: u32,
    /// 1.x internal bitmap offset from the superblock, sectors.
    pub bitmap_offset_sectors: Option<i32>,
    /// 1.x recovery checkpoint: data past it (from data_offset) is not yet
    /// rebuilt on this member.
    pub recovery_offset_sectors: Option<u64>,
    /// 1.x bad-block log.
    pub bad_block_log: Option<MdBadBlockLog>,
    /// Array marked clean (no resync pending).
    pub clean: bool,
    /// Stored and recomputed checksum.
    pub checksum: MdChecksum,
    /// Problems found.
    pub anomalies: Vec<MetadataAnomaly>,
}

impl MdSuperblock {
    /// Per-member bytes the array uses: `data_size` for linear/RAID0
    /// (where `size` may be 0), `size` otherwise.
    pub fn used_bytes(&self) -> u64 {
        if self.level <= 0 || self.size_bytes == 0 {
            self.data_size_bytes
        } else {
            self.size_bytes
        }
    }

    /// Array size in bytes implied by this superblock alone, when the level
    /// allows it (linear needs every member's size: `None`).
    pub fn array_size_bytes(&self) -> Option<u64> {
        let n = u64::from(self.raid_disks);
        let per = self.used_bytes();
        let data_members = match self.level {
            0 => n,
            1 => 1,
            4 | 5 => n.checked_sub(1)?,
            6 => n.checked_sub(2)?,
            10 => {
                let near = u64::from(self.layout & 0xff);
                let far = u64::from((self.layout >> 8) & 0xff);
                let copies = near.checked_mul(far).filter(|&c| c > 0)?;
                return per.checked_mul(n)?.checked_div(copies);
            }
            _ => return None,
        };
        per.checked_mul(data_members)
    }

    /// True when no anomaly of [`Severity::Error`] was found.
    pub fn is_usable(&self) -> bool {
        !self.anomalies.iter().any(|a| a.severity == Severity::Error)
    }

    /// `Ok` when the geometry can be trusted for assembly, else
    /// [`Error::Metadata`] carrying the first error-level anomaly.
    pub fn check_usable(&self, member: &str) -> Result<()> {
        match self
            .anomalies
            .iter()
            .find(|a| a.severity == Severity::Error)
        {
            None => Ok(()),
            Some(a) => Err(Error::Metadata {
                name: member.to_string(),
                offset: a.offset,
                what: format!("md {} superblock", self.version),
                reason: a.message.clone(),
            }),
        }
    }
}

/// Where a superblock was looked for, for messages and parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Location<'a> {
    /// Member name for messages.
    pub(crate) name: &'a str,
    /// Member size in bytes.
    pub(crate) member_len: u64,
    /// Byte offset of the superblock.
    pub(crate) offset: u64,
}

/// Candidate superblock offsets on a member of `len` bytes, as
/// (version, offset), in the order mdadm prefers them when ctimes tie.
pub(crate) fn candidate_offsets(len: u64) -> Vec<(&'static str, u64)> {
    let mut v = Vec::with_capacity(4);
    let sectors = len / 512;
    if sectors >= MIN_MD1_SECTORS {
        v.push(("1.2", 8 * 512));
        v.push(("1.1", 0));
        v.push(("1.0", ((sectors - 16) & !7) * 512));
    }
    // MD_NEW_SIZE_SECTORS: round down to 64 KiB, then back off 64 KiB.
    let aligned = len & !(MD90_RESERVED - 1);
    if aligned >= MD90_RESERVED {
        v.push(("0.90", aligned - MD90_RESERVED));
    }
    v
}

/// Every md superblock found on `member`, newest first (by ctime, then
/// events), and the read errors met at the other candidate locations.
///
/// Read errors at one location do not stop the search at the others; they
/// are returned as `Err` only when no superblock was found at all.
pub fn probe_md_all(member: &dyn Source) -> Result<Vec<MdSuperblock>> {
    let (found, errors) = probe_locations(member);
    if found.is_empty() {
        if let Some(e) = errors.into_iter().next() {
            return Err(Error::Source(e));
        }
    }
    Ok(found)
}

/// The md superblock of `member`: the newest one when several are present
/// (an old 0.90 left behind by a re-create with 1.2 …), like mdadm's
/// `guess_super`. The others are named in a
/// [`codes::MULTIPLE_SUPERBLOCKS`] anomaly.
///
/// Returns `Ok(None)` when there is no md magic at any location.
pub fn probe_md(member: &dyn Source) -> Result<Option<MdSuperblock>> {
    let mut all = probe_md_all(member)?;
    if all.is_empty() {
        return Ok(None);
    }
    let mut best = all.remove(0);
    if !all.is_empty() {
        let others: Vec<String> = all
            .iter()
            .map(|s| format!("{} at {:#x}", s.version, s.superblock_offset_bytes))
            .collect();
        best.anomalies.push(MetadataAnomaly {
            offset: best.superblock_offset_bytes,
            code: codes::MULTIPLE_SUPERBLOCKS,
            severity: Severity::Warning,
            message: format!(
                "{}: md {} superblock at {:#x} chosen (newest); also found {}",
                member.name(),
                best.version,
                best.superblock_offset_bytes,
                others.join(", ")
            ),
        });
    }
    Ok(Some(best))
}

/// Reads every candidate location; parses those with the md magic.
pub(crate) fn probe_locations(
    member: &dyn Source,
) -> (Vec<MdSuperblock>, Vec<platter_core::Error>) {
    let len = member.len();
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut buf = vec![0u8; SB_BYTES];
    for (version, offset) in candidate_offsets(len) {
        // A 1.x superblock may be shorter than 4 KiB only if the member ends
        // first; 0.90 always has its 64 KiB.
        let want = SB_BYTES.min(usize::try_from(len - offset).unwrap_or(SB_BYTES));
        buf.fill(0);
        if let Err(e) = member.read_exact_at(&mut buf[..want], offset) {
            errors.push(e);
            continue;
        }
        let loc = Location {
            name: member.name(),
            member_len: len,
            offset,
        };
        let le = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let be = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let sb = if version == "0.90" {
            if le == MD_MAGIC {
                Some(md90::parse(&buf, loc, false))
            } else if be == MD_MAGIC {
                Some(md90::parse(&buf, loc, true))
            } else {
                None
            }
        } else if le == MD_MAGIC {
            let minor = match version {
                "1.0" => 0,
                "1.1" => 1,
                _ => 2,
            };
            Some(md1::parse(&buf, loc, version, minor, member))
        } else {
            None
        };
        if let Some(sb) = sb {
            found.push(sb);
        }
    }
    // Newest first; among equal ctimes prefer the higher event count, then
    // the candidate order (1.2, 1.1, 1.0, 0.90). The sort is stable.
    found.sort_by(|a, b| {
        b.ctime_secs
            .cmp(&a.ctime_secs)
            .then(b.events.cmp(&a.events))
    });
    (found, errors)
}

/// Checks shared by every version: level, layout, chunk, raid_disks, role
/// bounds and whether the member holds the data it claims.
pub(crate) fn validate_common(
    sb: &MdSuperblock,
    loc: Location<'_>,
    max_raid_disks: u32,
    an: &mut Anomalies,
) {
    let here = format!(
        "{}: md {} superblock at {:#x}",
        loc.name, sb.version, loc.offset
    );
    let off = loc.offset;

    let known_level = matches!(sb.level, -5 | -4 | -1 | 0 | 1 | 4 | 5 | 6 | 10);
    if !known_level {
        an.error(
            off,
            codes::UNKNOWN_LEVEL,
            format!("{here}: unknown RAID level {}", sb.level),
        );
    }

    if sb.raid_disks == 0 || sb.raid_disks > max_raid_disks {
        an.error(
            off,
            codes::RAID_DISKS,
            format!(
                "{here}: raid_disks {} is outside 1..={max_raid_disks}",
                sb.raid_disks
            ),
        );
    }

    let striped = matches!(sb.level, 0 | 4 | 5 | 6 | 10);
    if striped && sb.chunk_bytes == 0 {
        an.error(
            off,
            codes::CHUNK_ZERO,
            format!("{here}: RAID{} with a zero chunk size", sb.level),
        );
    } else if striped && (sb.chunk_bytes % 512 != 0 || sb.chunk_bytes > MAX_CHUNK_BYTES) {
        an.error(
            off,
            codes::CHUNK_INVALID,
            format!(
                "{here}: chunk size {} bytes is not a multiple of 512 up to {}",
                sb.chunk_bytes,
                Bytes(MAX_CHUNK_BYTES)
            ),
        );
    }

    if let Some(msg) = layout_problem(sb.level, sb.layout, sb.raid_disks) {
        an.error(off, codes::UNKNOWN_LAYOUT, format!("{here}: {msg}"));
    }

    // Roles beyond raid_disks (plus the extra slots of a shrinking reshape).
    let extra = sb
        .reshape
        .map(|r| r.delta_disks.unsigned_abs())
        .unwrap_or(0);
    let limit = sb.raid_disks.saturating_add(extra);
    for d in &sb.dev_roles {
        if let MdRole::Active(n) = d.role {
            if n >= limit {
                an.warn(
                    off,
                    codes::ROLE_OUT_OF_RANGE,
                    format!(
                        "{here}: device {} has role {n}, beyond raid_disks {}",
                        d.dev_number, sb.raid_disks
                    ),
                );
            }
        }
    }

    // Does the member hold the data area the superblock describes?
    let end = sb.data_offset_bytes.checked_add(sb.used_bytes());
    match end {
        Some(end) if end <= loc.member_len => {}
        _ => an.error(
            off,
            codes::MEMBER_TRUNCATED,
            format!(
                "{here}: the data area (offset {:#x} + {}) extends past the end of the member ({} bytes); the member image is truncated or the superblock is wrong",
                sb.data_offset_bytes,
                sb.used_bytes(),
                loc.member_len
            ),
        ),
    }

    if sb.reshape.is_some() {
        an.warn(
            off,
            codes::RESHAPE_ACTIVE,
            format!("{here}: a reshape is in progress; the array has two geometries"),
        );
    }
    if !sb.checksum.valid {
        an.warn(
            off,
            codes::CHECKSUM,
            format!(
                "{here}: checksum {:#010x} stored, {:#010x} computed",
                sb.checksum.stored, sb.checksum.computed
            ),
        );
    }
}

/// Why a layout word is invalid for a level, if it is.
///
/// RAID5 algorithms 0–5 and RAID6 additionally 8–10 and 16–20 come from
/// `drivers/md/raid5.h` (`ALGORITHM_*`); RAID10 packs near copies in bits
/// 0–7, far copies in 8–15 and the offset flag in bit 16
/// (`drivers/md/raid10.c`, `setup_geo`), with bit 17 the newer far-set
/// flag.
fn layout_problem(level: i32, layout: u32, raid_disks: u32) -> Option<String> {
    match level {
        5 if layout > 5 => Some(format!(
            "RAID5 layout {layout} is not an md algorithm (0-5)"
        )),
        6 if !matches!(layout, 0..=5 | 8..=10 | 16..=20) => {
            Some(format!("RAID6 layout {layout} is not an md algorithm"))
        }
        10 => {
            let near = layout & 0xff;
            let far = (layout >> 8) & 0xff;
            if layout >> 18 != 0 || near == 0 || far == 0 {
                Some(format!("RAID10 layout {layout:#x} is invalid"))
            } else if raid_disks != 0 && near.saturating_mul(far) > raid_disks {
                Some(format!(
                    "RAID10 layout {layout:#x} needs {} copies but has {raid_disks} disks",
                    near * far
                ))
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_offsets_match_mdadm_and_kernel() {
        // 100 MiB: 1.0 at size - 8 KiB (already 4 KiB aligned), 0.90 at size - 64 KiB.
        let len = 100u64 << 20;
        let c = candidate_offsets(len);
        assert_eq!(
            c,
            vec![
                ("1.2", 4096),
                ("1.1", 0),
                ("1.0", len - 8192),
                ("0.90", len - 65536)
            ]
        );
        // An odd size: 1.0 rounds down to 4 KiB, 8-12 KiB from the end.
        let len = (100u64 << 20) + 7 * 512 + 100;
        let c = candidate_offsets(len);
        let v10 = c.iter().find(|x| x.0 == "1.0").unwrap().1;
        assert_eq!(v10 % 4096, 0);
        assert!(
            len - v10 >= 8192 && len - v10 < 12288 + 512,
            "{}",
            len - v10
        );
        let v90 = c.iter().find(|x| x.0 == "0.90").unwrap().1;
        assert_eq!(v90, (100u64 << 20) - 65536);
    }

    #[test]
    fn tiny_members_have_no_candidates() {
        assert!(candidate_offsets(0).is_empty());
        assert!(candidate_offsets(23 * 512).is_empty());
        assert_eq!(candidate_offsets(24 * 512).len(), 3);
    }

    #[test]
    fn layout_checks() {
        assert!(layout_problem(5, 2, 4).is_none());
        assert!(layout_problem(5, 8, 4).is_some());
        assert!(layout_problem(6, 18, 5).is_none());
        assert!(layout_problem(6, 11, 5).is_some());
        assert!(layout_problem(10, 0x102, 4).is_none());
        assert!(layout_problem(10, 0x10201, 4).is_none());
        assert!(layout_problem(10, 0x104, 3).is_some());
        assert!(layout_problem(10, 0, 4).is_some());
        assert!(layout_problem(0, 12345, 4).is_none());
    }

    #[test]
    fn roles_decode() {
        assert_eq!(MdRole::from_v1(3), MdRole::Active(3));
        assert_eq!(MdRole::from_v1(0xffff), MdRole::Spare);
        assert_eq!(MdRole::from_v1(0xfffe), MdRole::Faulty);
        assert_eq!(MdRole::from_v1(0xfffd), MdRole::Journal);
        assert_eq!(MdRole::Active(2).to_string(), "active 2");
    }
}
