//! Classic MBR partition tables and their EBR chains.
//!
//! Sources:
//! - UEFI 2.10, section 5.2.1, tables 5.1 "Legacy MBR" and 5.2 "Legacy MBR
//!   Partition Record": the 512-byte layout and the 16-byte entries.
//! - Linux `block/partitions/msdos.c` (`msdos_partition`, `parse_extended`):
//!   status bytes other than 0x00/0x80 mean "not a partition table"; in an
//!   EBR the data entry is relative to the EBR itself while the link to the
//!   next EBR is relative to the start of the extended partition; logical
//!   partitions are numbered from 5 in chain order.

use std::collections::HashSet;

use platter_core::Source;
use zerocopy::byteorder::little_endian::U32;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::Partition;
use crate::anomaly::{Anomalies, Anomaly, codes};
use crate::placement::{Placed, Role};
use crate::sector::{Read, read_tolerant};
use crate::types::{MBR_PROTECTIVE_TYPE, is_mbr_extended, mbr_type_name};

/// Size of an MBR or EBR in bytes (whatever the logical sector size).
pub(crate) const MBR_SIZE: usize = 512;

/// Byte offset of the first partition entry in an MBR or EBR.
const ENTRIES_OFFSET: u64 = 446;

/// Size of one partition entry.
const ENTRY_SIZE: u64 = 16;

/// The boot signature at bytes 510..512.
const BOOT_SIGNATURE: [u8; 2] = [0x55, 0xAA];

/// Most logical partitions followed in one extended partition.
pub(crate) const MAX_LOGICAL_PARTITIONS: u32 = 128;

/// Most EBRs visited in one extended partition (some may hold no partition).
const MAX_EBRS: usize = 256;

/// UEFI 2.10 table 5.1: a legacy MBR. EBRs share the layout (their boot code
/// area is unused).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct RawMbr {
    boot_code: [u8; 440],
    disk_signature: U32,
    reserved: [u8; 2],
    entries: [RawMbrEntry; 4],
    boot_signature: [u8; 2],
}

impl RawMbr {
    /// Interprets the first 512 bytes of `sector`; `None` when it is shorter.
    pub(crate) fn parse(sector: &[u8]) -> Option<Self> {
        Self::read_from_prefix(sector).ok().map(|(mbr, _)| mbr)
    }

    /// True when bytes 510..512 are 0x55 0xAA.
    pub(crate) fn has_boot_signature(&self) -> bool {
        self.boot_signature == BOOT_SIGNATURE
    }

    /// The 32-bit disk signature at byte 440.
    pub(crate) fn disk_signature(&self) -> u32 {
        self.disk_signature.get()
    }

    /// The four entries, in slot order.
    pub(crate) fn entries(&self) -> &[RawMbrEntry; 4] {
        &self.entries
    }
}

/// UEFI 2.10 table 5.2: one legacy MBR partition record. CHS fields are
/// ignored, as every modern system does.
#[derive(Clone, Copy, FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct RawMbrEntry {
    status: u8,
    chs_first: [u8; 3],
    kind: u8,
    chs_last: [u8; 3],
    first_lba: U32,
    sectors: U32,
}

impl RawMbrEntry {
    /// The boot indicator: 0x80 bootable, 0x00 not; anything else is invalid.
    pub(crate) fn status(&self) -> u8 {
        self.status
    }

    /// The partition type byte.
    pub(crate) fn kind(&self) -> u8 {
        self.kind
    }

    /// First sector, relative to whatever the entry is relative to.
    pub(crate) fn first_lba(&self) -> u64 {
        u64::from(self.first_lba.get())
    }

    /// Length in sectors.
    pub(crate) fn sectors(&self) -> u64 {
        u64::from(self.sectors.get())
    }

    /// An entry is in use when it has sectors (as Linux and fdisk decide).
    pub(crate) fn is_used(&self) -> bool {
        self.sectors.get() != 0
    }
}

/// What sector 0 holds.
#[derive(Debug)]
pub(crate) enum MbrParse {
    /// No 0x55AA signature.
    Absent,
    /// A 0x55AA signature, but the entries are not a partition table.
    NotATable(Anomaly),
    /// A partition table.
    Table(MbrTable),
}

/// An MBR's primary entries, before the EBR chains are followed.
#[derive(Debug)]
pub(crate) struct MbrTable {
    /// Disk signature (byte 440).
    pub(crate) disk_signature: u32,
    /// Sector size the LBAs are counted in.
    pub(crate) sector_size: u32,
    /// Whether a protective (0xEE) entry is present.
    pub(crate) protective: bool,
    /// Used primary entries (including 0xEE and extended entries).
    pub(crate) placed: Vec<Placed>,
    /// Anomalies found in sector 0.
    pub(crate) anomalies: Anomalies,
}

impl MbrTable {
    /// True when there are entries other than the protective one.
    pub(crate) fn has_ordinary_entries(&self) -> bool {
        self.placed
            .iter()
            .any(|p| p.part.type_code != protective_type_code())
    }
}

fn protective_type_code() -> String {
    format!("{MBR_PROTECTIVE_TYPE:#04x}")
}

/// Parses the primary table in sector 0 (no I/O).
pub(crate) fn parse_primary(sector0: &[u8], sector_size: u32) -> MbrParse {
    let Some(mbr) = RawMbr::parse(sector0) else {
        return MbrParse::Absent;
    };
    if !mbr.has_boot_signature() {
        return MbrParse::Absent;
    }
    if let Some(slot) = mbr
        .entries()
        .iter()
        .position(|e| e.status() != 0x00 && e.status() != 0x80)
    {
        let off = entry_offset(0, slot);
        let status = mbr.entries()[slot].status();
        return MbrParse::NotATable(Anomaly {
            offset: off,
            code: codes::MBR_SIGNATURE_WITHOUT_TABLE,
            message: format!(
                "sector 0 ends in 0x55AA but the entry at {off:#x} has status {status:#04x} \
                 (only 0x00 and 0x80 are valid): not a partition table, probably a volume boot record"
            ),
        });
    }
    if mbr.entries().iter().all(|e| !e.is_used()) && looks_like_volume_boot_record(sector0) {
        return MbrParse::NotATable(Anomaly {
            offset: 0,
            code: codes::MBR_SIGNATURE_WITHOUT_TABLE,
            message:
                "sector 0 at 0x0 ends in 0x55AA but is a volume boot record (FAT/NTFS/exFAT), \
                      not a partition table: a filesystem without partitions"
                    .to_string(),
        });
    }
    let mut anomalies = Anomalies::default();
    let mut placed = Vec::new();
    let mut protective = false;
    for (slot, e) in mbr.entries().iter().enumerate() {
        let off = entry_offset(0, slot);
        if !e.is_used() {
            if e.kind() != 0 {
                anomalies.push(
                    off,
                    codes::MBR_ENTRY_ZERO_SIZE,
                    format!(
                        "MBR entry at {off:#x} has type {:#04x} but 0 sectors; ignored",
                        e.kind()
                    ),
                );
            }
            continue;
        }
        protective |= e.kind() == MBR_PROTECTIVE_TYPE;
        if e.first_lba() == 0 {
            anomalies.push(
                off,
                codes::MBR_PARTITION_OVER_TABLE,
                format!("MBR entry at {off:#x} starts at LBA 0, over the MBR itself"),
            );
        }
        let role = if is_mbr_extended(e.kind()) {
            Role::Extended
        } else {
            Role::Data
        };
        // Slots are numbered 1..=4; the cast cannot truncate.
        let index = slot as u32 + 1;
        if let Some(p) = make_partition(index, e, e.first_lba(), sector_size, false) {
            placed.push(Placed {
                part: p,
                entry_offset: off,
                role,
            });
        }
    }
    if placed.iter().filter(|p| p.role == Role::Extended).count() > 1 {
        anomalies.push(
            ENTRIES_OFFSET,
            codes::MBR_MULTIPLE_EXTENDED,
            format!(
                "MBR entries at {ENTRIES_OFFSET:#x}: more than one extended partition; each chain is followed"
            ),
        );
    }
    MbrParse::Table(MbrTable {
        disk_signature: mbr.disk_signature(),
        sector_size,
        protective,
        placed,
        anomalies,
    })
}

/// True when sector 0 is the boot sector of a filesystem rather than an MBR:
/// an NTFS or exFAT OEM id, or a plausible FAT BIOS parameter block
/// (Microsoft "FAT32 File System Specification", section 3.1: bytes per
/// sector, a power-of-two cluster size, reserved sectors, 1 or 2 FATs and a
/// valid media byte).
fn looks_like_volume_boot_record(s: &[u8]) -> bool {
    if s.len() < 0x16 {
        return false;
    }
    let jump = s[0] == 0xEB || s[0] == 0xE9;
    if jump && (&s[3..11] == b"NTFS    " || &s[3..11] == b"EXFAT   ") {
        return true;
    }
    let bytes_per_sector = u16::from_le_bytes([s[0x0B], s[0x0C]]);
    let sectors_per_cluster = s[0x0D];
    let reserved = u16::from_le_bytes([s[0x0E], s[0x0F]]);
    let fats = s[0x10];
    let media = s[0x15];
    jump && matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096)
        && sectors_per_cluster.is_power_of_two()
        && reserved >= 1
        && (fats == 1 || fats == 2)
        && (media == 0xF0 || media >= 0xF8)
}

/// Records a hybrid-MBR anomaly when a protective MBR also holds ordinary entries.
pub(crate) fn note_hybrid(table: &MbrTable, anomalies: &mut Anomalies) {
    if table.protective && table.has_ordinary_entries() {
        let others: Vec<String> = table
            .placed
            .iter()
            .filter(|p| p.part.type_code != protective_type_code())
            .map(|p| {
                format!(
                    "slot {} type {} at LBA {}",
                    p.part.index, p.part.type_code, p.part.first_lba
                )
            })
            .collect();
        anomalies.push(
            ENTRIES_OFFSET,
            codes::MBR_HYBRID,
            format!(
                "hybrid MBR at {ENTRIES_OFFSET:#x}: a protective 0xEE entry next to {}",
                others.join(", ")
            ),
        );
    }
}

/// Follows the EBR chain of every extended partition in `table`, appending
/// the logical partitions (numbered from 5) after the primaries.
pub(crate) fn walk_extended(disk: &dyn Source, table: &mut MbrTable) {
    let extended: Vec<(u64, u64, u64)> = table
        .placed
        .iter()
        .filter(|p| p.role == Role::Extended)
        .map(|p| (p.part.first_lba, p.part.sectors, p.entry_offset))
        .collect();
    let mut next_index = 5u32;
    let mut logicals = Vec::new();
    for (start, sectors, entry_off) in extended {
        let mut chain = Chain {
            disk,
            ss: table.sector_size,
            ext_start: start,
            ext_end: start.saturating_add(sectors),
            next_index: &mut next_index,
            out: &mut logicals,
            anomalies: &mut table.anomalies,
        };
        chain.walk(entry_off);
    }
    table.placed.extend(logicals);
}

/// The state of one EBR chain walk.
struct Chain<'a> {
    disk: &'a dyn Source,
    ss: u32,
    /// First sector of the extended partition.
    ext_start: u64,
    /// One past its last sector.
    ext_end: u64,
    next_index: &'a mut u32,
    out: &'a mut Vec<Placed>,
    anomalies: &'a mut Anomalies,
}

impl Chain<'_> {
    fn walk(&mut self, ext_entry_offset: u64) {
        let ss = u64::from(self.ss);
        let mut visited: HashSet<u64> = HashSet::new();
        let mut ebr_lba = self.ext_start;
        let mut from = ext_entry_offset;
        loop {
            if !visited.insert(ebr_lba) {
                self.anomalies.push(
                    from,
                    codes::EBR_LOOP,
                    format!(
                        "EBR link at {from:#x} points back to the EBR at LBA {ebr_lba}, already visited: \
                         the chain loops; stopped"
                    ),
                );
                return;
            }
            if visited.len() > MAX_EBRS || *self.next_index >= 5 + MAX_LOGICAL_PARTITIONS {
                self.anomalies.push(
                    from,
                    codes::EBR_CHAIN_TOO_LONG,
                    format!(
                        "EBR chain continues at {from:#x} past the limit of {MAX_LOGICAL_PARTITIONS} \
                         logical partitions / {MAX_EBRS} EBRs; the rest is ignored"
                    ),
                );
                return;
            }
            let Some(offset) = ebr_lba.checked_mul(ss) else {
                return self.outside(from, ebr_lba, None);
            };
            let bytes = match read_tolerant(self.disk, offset, MBR_SIZE, "EBR", self.anomalies) {
                Read::Bytes(b) => b,
                Read::OutsideDisk => return self.outside(from, ebr_lba, Some(offset)),
                Read::Failed => return,
            };
            let Some(ebr) = RawMbr::parse(&bytes) else {
                return;
            };
            if !ebr.has_boot_signature() {
                // An empty extended partition has an all-zero first EBR: not an anomaly.
                if bytes.iter().any(|&b| b != 0) || ebr_lba != self.ext_start {
                    self.anomalies.push(
                        offset,
                        codes::EBR_BAD_SIGNATURE,
                        format!(
                            "EBR at {offset:#x} (LBA {ebr_lba}) lacks the 0x55AA signature; \
                             the logical partition chain stops here"
                        ),
                    );
                }
                return;
            }
            let Some(next_rel) = self.take_ebr(&ebr, ebr_lba, offset) else {
                return;
            };
            let next = self.ext_start.saturating_add(next_rel);
            from = entry_offset(offset, 1);
            // A link of 0 points back at the first EBR: the loop check reports it.
            if next_rel != 0 && next >= self.ext_end {
                self.anomalies.push(
                    from,
                    codes::EBR_OUTSIDE,
                    format!(
                        "EBR link at {from:#x} points to LBA {next}, outside the extended \
                         partition (LBA {}..{}); the chain stops here",
                        self.ext_start, self.ext_end
                    ),
                );
                return;
            }
            ebr_lba = next;
        }
    }

    /// Lists the logical partition of one EBR; returns the link to the next
    /// EBR (relative to the extended partition), if any.
    fn take_ebr(&mut self, ebr: &RawMbr, ebr_lba: u64, offset: u64) -> Option<u64> {
        let entries = ebr.entries();
        let data = &entries[0];
        let data_off = entry_offset(offset, 0);
        if data.is_used() {
            if is_mbr_extended(data.kind()) {
                self.unexpected(
                    data_off,
                    "an extended-type entry in the logical partition slot",
                );
            } else {
                self.push_logical(data, ebr_lba, data_off);
            }
        }
        let mut link = None;
        for (slot, e) in entries.iter().enumerate().skip(1) {
            if !e.is_used() {
                continue;
            }
            let off = entry_offset(offset, slot);
            if is_mbr_extended(e.kind()) && link.is_none() {
                link = Some(e.first_lba());
            } else {
                self.unexpected(
                    off,
                    "an entry that is neither the logical partition nor the link",
                );
            }
        }
        link
    }

    fn push_logical(&mut self, e: &RawMbrEntry, ebr_lba: u64, off: u64) {
        let start = ebr_lba.saturating_add(e.first_lba());
        let Some(part) = make_partition(*self.next_index, e, start, self.ss, true) else {
            return;
        };
        *self.next_index += 1;
        let end = start.saturating_add(e.sectors());
        if start < self.ext_start || end > self.ext_end {
            self.anomalies.push(
                off,
                codes::LOGICAL_OUTSIDE_EXTENDED,
                format!(
                    "logical partition {} (entry at {off:#x}, LBA {start}..{}) extends outside its \
                     extended partition (LBA {}..{})",
                    part.index,
                    end - 1,
                    self.ext_start,
                    self.ext_end - 1
                ),
            );
        }
        self.out.push(Placed {
            part,
            entry_offset: off,
            role: Role::Logical,
        });
    }

    fn unexpected(&mut self, off: u64, what: &str) {
        self.anomalies.push(
            off,
            codes::EBR_UNEXPECTED_ENTRY,
            format!("EBR entry at {off:#x} is {what}; ignored"),
        );
    }

    fn outside(&mut self, from: u64, ebr_lba: u64, offset: Option<u64>) {
        let at = offset.map_or_else(|| "an offset past 2^64".to_string(), |o| format!("{o:#x}"));
        self.anomalies.push(
            from,
            codes::EBR_OUTSIDE,
            format!(
                "EBR referenced at {from:#x} would be at LBA {ebr_lba} ({at}), outside the disk; \
                 the chain stops here"
            ),
        );
    }
}

/// Byte offset of entry `slot` of the MBR/EBR at byte `table_offset`.
fn entry_offset(table_offset: u64, slot: usize) -> u64 {
    // slot < 4: no overflow in the multiplication; the sum saturates.
    table_offset.saturating_add(ENTRIES_OFFSET + ENTRY_SIZE * slot as u64)
}

/// Builds the reported partition for an entry whose absolute first sector is
/// `first_lba`. Returns `None` only if the byte range overflows 64 bits,
/// which cannot happen with 32-bit fields and sector sizes up to 64 KiB.
fn make_partition(
    index: u32,
    e: &RawMbrEntry,
    first_lba: u64,
    sector_size: u32,
    logical: bool,
) -> Option<Partition> {
    let ss = u64::from(sector_size);
    let start_bytes = first_lba.checked_mul(ss)?;
    let len_bytes = e.sectors().checked_mul(ss)?;
    start_bytes.checked_add(len_bytes)?;
    Some(Partition {
        index,
        start_bytes,
        len_bytes,
        first_lba,
        sectors: e.sectors(),
        type_code: format!("{:#04x}", e.kind()),
        type_name: mbr_type_name(e.kind()).to_string(),
        name: None,
        guid: None,
        bootable: e.status() == 0x80,
        logical,
        attributes: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sector(entries: &[(u8, u8, u32, u32)]) -> Vec<u8> {
        let mut s = vec![0u8; 512];
        for (i, &(status, kind, lba, len)) in entries.iter().enumerate() {
            let e = 446 + 16 * i;
            s[e] = status;
            s[e + 4] = kind;
            s[e + 8..e + 12].copy_from_slice(&lba.to_le_bytes());
            s[e + 12..e + 16].copy_from_slice(&len.to_le_bytes());
        }
        s[510] = 0x55;
        s[511] = 0xAA;
        s
    }

    fn table(s: &[u8]) -> MbrTable {
        match parse_primary(s, 512) {
            MbrParse::Table(t) => t,
            other => panic!("expected a table, got {other:?}"),
        }
    }

    #[test]
    fn slots_are_numbered_by_position_and_empty_ones_skipped() {
        let t = table(&sector(&[
            (0x80, 0x83, 2048, 100),
            (0, 0, 0, 0),
            (0, 0x07, 4096, 8),
        ]));
        let idx: Vec<u32> = t.placed.iter().map(|p| p.part.index).collect();
        assert_eq!(idx, [1, 3]);
        assert!(t.placed[0].part.bootable);
        assert_eq!(t.placed[1].part.type_name, "HPFS/NTFS/exFAT");
        assert_eq!(t.placed[1].entry_offset, 0x1DE);
        assert!(!t.protective);
    }

    #[test]
    fn missing_signature_is_absent() {
        let mut s = sector(&[(0, 0x83, 1, 1)]);
        s[511] = 0;
        assert!(matches!(parse_primary(&s, 512), MbrParse::Absent));
        assert!(matches!(parse_primary(&s[..100], 512), MbrParse::Absent));
    }

    #[test]
    fn invalid_status_byte_is_not_a_table() {
        let s = sector(&[(0, 0x83, 1, 1), (0x12, 0x83, 5, 5)]);
        let MbrParse::NotATable(a) = parse_primary(&s, 512) else {
            panic!("expected NotATable");
        };
        assert_eq!(a.offset, 0x1CE);
        assert!(a.message.contains("0x1ce") && a.message.contains("0x12"));
    }

    #[test]
    fn fat_boot_sector_is_not_a_table() {
        let mut s = sector(&[]);
        s[0] = 0xEB;
        s[0x0B..0x0D].copy_from_slice(&512u16.to_le_bytes());
        s[0x0D] = 4;
        s[0x0E] = 1;
        s[0x10] = 2;
        s[0x15] = 0xF8;
        assert!(matches!(parse_primary(&s, 512), MbrParse::NotATable(_)));
        // The same without a jump instruction: an empty MBR.
        s[0] = 0;
        assert!(table(&s).placed.is_empty());
    }

    #[test]
    fn oddities_are_anomalies() {
        let t = table(&sector(&[
            (0, 0x83, 0, 10),
            (0, 0x05, 100, 50),
            (0, 0x0F, 200, 50),
            (0, 0x0C, 300, 0),
        ]));
        let found: Vec<&str> = t.anomalies.finish().iter().map(|a| a.code).collect();
        assert_eq!(
            found,
            [
                codes::MBR_PARTITION_OVER_TABLE,
                codes::MBR_ENTRY_ZERO_SIZE,
                codes::MBR_MULTIPLE_EXTENDED
            ]
        );
    }

    #[test]
    fn protective_and_hybrid() {
        let t = table(&sector(&[(0, 0xEE, 1, u32::MAX)]));
        assert!(t.protective && !t.has_ordinary_entries());
        let t = table(&sector(&[(0, 0xEE, 1, 100), (0x80, 0x0C, 200, 50)]));
        assert!(t.protective && t.has_ordinary_entries());
        let mut a = Anomalies::default();
        note_hybrid(&t, &mut a);
        assert_eq!(a.finish()[0].code, codes::MBR_HYBRID);
    }
}
