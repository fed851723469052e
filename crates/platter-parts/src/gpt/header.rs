//! The GPT header and its validation.
//!
//! Source: UEFI 2.10, section 5.3.2 "GPT Header", table 5.5, and the
//! validation rules of section 5.3.2 ("the following test must be performed
//! to determine if a GPT is valid"): signature, header CRC32 (computed with
//! the CRC field zeroed), MyLBA, and the partition entry array CRC32.

use zerocopy::byteorder::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::anomaly::{Anomalies, codes};
use crate::guid::Guid;

/// "EFI PART".
pub(crate) const GPT_SIGNATURE: [u8; 8] = *b"EFI PART";

/// Revision 1.0, the only one defined.
const GPT_REVISION_1_0: u32 = 0x0001_0000;

/// The header's defined fields end at byte 92.
const MIN_HEADER_SIZE: u32 = 92;

/// Byte range of the header CRC32 field, zeroed while computing the CRC.
const HEADER_CRC_FIELD: std::ops::Range<usize> = 16..20;

/// The smallest partition entry (UEFI: 128 × 2^n bytes).
const MIN_ENTRY_SIZE: u32 = 128;

/// Largest partition entry array platter reads. Real disks use 16 KiB
/// (128 entries × 128 bytes); this allows 8192 such entries.
pub(crate) const MAX_ENTRY_ARRAY_BYTES: u64 = 1 << 20;

/// UEFI 2.10 table 5.5: the GPT header (the first 92 bytes of its sector).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct RawGptHeader {
    signature: [u8; 8],
    revision: U32,
    header_size: U32,
    header_crc32: U32,
    reserved: U32,
    my_lba: U64,
    alternate_lba: U64,
    first_usable_lba: U64,
    last_usable_lba: U64,
    disk_guid: [u8; 16],
    partition_entry_lba: U64,
    number_of_partition_entries: U32,
    size_of_partition_entry: U32,
    partition_entry_array_crc32: U32,
}

/// Where a header was read and what the disk around it looks like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderCtx {
    /// "primary" or "backup".
    pub(crate) which: &'static str,
    /// The LBA it was read from.
    pub(crate) lba: u64,
    /// Byte offset of that LBA.
    pub(crate) offset: u64,
    /// Logical sector size in bytes.
    pub(crate) sector_size: u32,
    /// Whole sectors on the disk.
    pub(crate) disk_sectors: u64,
}

/// A header whose fields passed validation; the entry array is not checked yet.
#[derive(Debug, Clone)]
pub(crate) struct ValidHeader {
    pub(crate) alternate_lba: u64,
    pub(crate) first_usable_lba: u64,
    pub(crate) last_usable_lba: u64,
    pub(crate) disk_guid: Guid,
    pub(crate) entries_lba: u64,
    /// Byte offset of the entry array (no overflow: checked).
    pub(crate) entries_offset: u64,
    pub(crate) entry_count: u32,
    pub(crate) entry_size: u32,
    pub(crate) entries_crc32: u32,
    /// `entry_count × entry_size`, at most [`MAX_ENTRY_ARRAY_BYTES`].
    pub(crate) entry_array_bytes: usize,
}

/// The verdict on one header.
#[derive(Debug)]
pub(crate) enum HeaderCheck {
    /// No "EFI PART" signature.
    NoSignature,
    /// A signature, but the header cannot be trusted. Its AlternateLBA is
    /// kept as a hint for finding the other header.
    Damaged { alternate_lba: u64 },
    /// Usable (non-fatal oddities were recorded as anomalies).
    Valid(ValidHeader),
}

impl RawGptHeader {
    /// Validates the header in `sector` (one whole logical sector), recording
    /// what is wrong. Fatal problems make it [`HeaderCheck::Damaged`].
    pub(crate) fn check(sector: &[u8], ctx: &HeaderCtx, anomalies: &mut Anomalies) -> HeaderCheck {
        let Ok((h, _)) = Self::read_from_prefix(sector) else {
            return HeaderCheck::NoSignature;
        };
        if h.signature != GPT_SIGNATURE {
            return HeaderCheck::NoSignature;
        }
        let damaged = HeaderCheck::Damaged {
            alternate_lba: h.alternate_lba.get(),
        };
        let at = format!("GPT {} header at {:#x}", ctx.which, ctx.offset);
        let off = ctx.offset;

        let Some(header_len) = h.header_len(sector.len()) else {
            anomalies.push(
                off,
                codes::GPT_HEADER_SIZE,
                format!(
                    "{at}: header size {} is outside {MIN_HEADER_SIZE}..={} (the sector size)",
                    h.header_size.get(),
                    ctx.sector_size
                ),
            );
            return damaged;
        };
        let computed = header_crc32(&sector[..header_len]);
        if computed != h.header_crc32.get() {
            anomalies.push(
                off,
                codes::GPT_HEADER_CRC,
                format!(
                    "{at}: CRC32 mismatch (stored {:#010x}, computed {computed:#010x})",
                    h.header_crc32.get()
                ),
            );
            return damaged;
        }
        if h.my_lba.get() != ctx.lba {
            anomalies.push(
                off,
                codes::GPT_MY_LBA,
                format!(
                    "{at}: MyLBA is {} but the header was read from LBA {}",
                    h.my_lba.get(),
                    ctx.lba
                ),
            );
            return damaged;
        }
        h.note_soft_oddities(&at, ctx, anomalies);

        let (first, last) = (h.first_usable_lba.get(), h.last_usable_lba.get());
        if first > last {
            anomalies.push(
                off,
                codes::GPT_USABLE_RANGE,
                format!("{at}: first usable LBA {first} is after last usable LBA {last}"),
            );
            return damaged;
        }
        let Some(entry_array_bytes) = h.entry_array_len(&at, off, anomalies) else {
            return damaged;
        };
        let entries_lba = h.partition_entry_lba.get();
        let Some(entries_offset) = h.entries_location(&at, ctx, entry_array_bytes, anomalies)
        else {
            return damaged;
        };
        HeaderCheck::Valid(ValidHeader {
            alternate_lba: h.alternate_lba.get(),
            first_usable_lba: first,
            last_usable_lba: last,
            disk_guid: Guid::from_disk_bytes(h.disk_guid),
            entries_lba,
            entries_offset,
            entry_count: h.number_of_partition_entries.get(),
            entry_size: h.size_of_partition_entry.get(),
            entries_crc32: h.partition_entry_array_crc32.get(),
            entry_array_bytes,
        })
    }

    /// The header size as a length into a sector of `sector_len` bytes, when valid.
    fn header_len(&self, sector_len: usize) -> Option<usize> {
        let size = usize::try_from(self.header_size.get()).ok()?;
        (size >= MIN_HEADER_SIZE as usize && size <= sector_len).then_some(size)
    }

    /// Checks the entry size and count against the spec and the size limit;
    /// returns the array length in bytes.
    fn entry_array_len(&self, at: &str, off: u64, anomalies: &mut Anomalies) -> Option<usize> {
        let size = self.size_of_partition_entry.get();
        let count = self.number_of_partition_entries.get();
        if size < MIN_ENTRY_SIZE || size % 8 != 0 {
            anomalies.push(
                off,
                codes::GPT_ENTRY_SIZE,
                format!(
                    "{at}: partition entry size {size} is invalid (must be at least {MIN_ENTRY_SIZE} \
                     and a multiple of 8)"
                ),
            );
            return None;
        }
        if !(size / MIN_ENTRY_SIZE).is_power_of_two() || size % MIN_ENTRY_SIZE != 0 {
            anomalies.push(
                off,
                codes::GPT_ENTRY_SIZE,
                format!("{at}: partition entry size {size} is not 128 × 2^n as the spec requires"),
            );
        }
        // Both factors are u32: the product always fits in u64.
        let total = u64::from(count) * u64::from(size);
        if total > MAX_ENTRY_ARRAY_BYTES {
            anomalies.push(
                off,
                codes::GPT_ENTRY_ARRAY_TOO_LARGE,
                format!(
                    "{at}: header claims {count} partition entries of {size} bytes ({total} bytes), \
                     more than the limit of {MAX_ENTRY_ARRAY_BYTES} bytes; refusing to read the array"
                ),
            );
            return None;
        }
        usize::try_from(total).ok()
    }

    /// Checks that the entry array lies inside the disk and not over the
    /// header; returns its byte offset.
    fn entries_location(
        &self,
        at: &str,
        ctx: &HeaderCtx,
        array_bytes: usize,
        anomalies: &mut Anomalies,
    ) -> Option<u64> {
        let lba = self.partition_entry_lba.get();
        let ss = u64::from(ctx.sector_size);
        let array_sectors = (array_bytes as u64).div_ceil(ss);
        let end_lba = lba.checked_add(array_sectors);
        let offset = lba.checked_mul(ss);
        let inside = end_lba.is_some_and(|end| end <= ctx.disk_sectors) && offset.is_some();
        if !inside {
            anomalies.push(
                ctx.offset,
                codes::GPT_ENTRY_ARRAY_LOCATION,
                format!(
                    "{at}: partition entry array at LBA {lba} ({array_sectors} sectors) lies outside \
                     the disk of {} sectors",
                    ctx.disk_sectors
                ),
            );
            return None;
        }
        if array_sectors > 0 && lba <= ctx.lba && ctx.lba < lba + array_sectors {
            anomalies.push(
                ctx.offset,
                codes::GPT_ENTRY_ARRAY_LOCATION,
                format!(
                    "{at}: partition entry array at LBA {lba} ({array_sectors} sectors) overlaps the header"
                ),
            );
            return None;
        }
        offset
    }

    /// Records oddities that do not make the header unusable.
    fn note_soft_oddities(&self, at: &str, ctx: &HeaderCtx, anomalies: &mut Anomalies) {
        let off = ctx.offset;
        let rev = self.revision.get();
        if rev != GPT_REVISION_1_0 {
            anomalies.push(
                off,
                codes::GPT_REVISION,
                format!("{at}: revision {rev:#010x} is not 1.0 (0x00010000)"),
            );
        }
        if self.reserved.get() != 0 {
            anomalies.push(
                off,
                codes::GPT_RESERVED_NONZERO,
                format!(
                    "{at}: reserved field is {:#010x}, should be 0",
                    self.reserved.get()
                ),
            );
        }
        let last_lba = ctx.disk_sectors.saturating_sub(1);
        let alt = self.alternate_lba.get();
        let expected_alt = if ctx.lba == 1 { last_lba } else { 1 };
        if alt != expected_alt {
            let hint = if ctx.lba == 1 && alt > last_lba {
                " (the image may be truncated)"
            } else if ctx.lba == 1 {
                " (the disk may have been enlarged)"
            } else {
                ""
            };
            anomalies.push(
                off,
                codes::GPT_ALTERNATE_LBA,
                format!("{at}: AlternateLBA is {alt}, expected {expected_alt}{hint}"),
            );
        }
        let last_usable = self.last_usable_lba.get();
        if last_usable > last_lba {
            anomalies.push(
                off,
                codes::GPT_USABLE_RANGE,
                format!(
                    "{at}: last usable LBA {last_usable} is past the last sector of the disk ({last_lba})"
                ),
            );
        }
        let first_usable = self.first_usable_lba.get();
        if first_usable <= ctx.lba && ctx.lba <= last_usable {
            anomalies.push(
                off,
                codes::GPT_USABLE_RANGE,
                format!(
                    "{at}: usable LBA range {first_usable}..={last_usable} includes the header itself"
                ),
            );
        }
    }
}

/// CRC32 of a header, computed with its CRC field taken as zero.
fn header_crc32(header: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&header[..HEADER_CRC_FIELD.start]);
    h.update(&[0u8; 4]);
    h.update(&header[HEADER_CRC_FIELD.end..]);
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> HeaderCtx {
        HeaderCtx {
            which: "primary",
            lba: 1,
            offset: 512,
            sector_size: 512,
            disk_sectors: 4096,
        }
    }

    /// A valid primary header for a 4096-sector disk.
    fn header(count: u32, size: u32) -> Vec<u8> {
        let mut s = vec![0u8; 512];
        s[0..8].copy_from_slice(&GPT_SIGNATURE);
        s[8..12].copy_from_slice(&GPT_REVISION_1_0.to_le_bytes());
        s[12..16].copy_from_slice(&92u32.to_le_bytes());
        s[24..32].copy_from_slice(&1u64.to_le_bytes());
        s[32..40].copy_from_slice(&4095u64.to_le_bytes());
        s[40..48].copy_from_slice(&34u64.to_le_bytes());
        s[48..56].copy_from_slice(&4062u64.to_le_bytes());
        s[72..80].copy_from_slice(&2u64.to_le_bytes());
        s[80..84].copy_from_slice(&count.to_le_bytes());
        s[84..88].copy_from_slice(&size.to_le_bytes());
        let crc = header_crc32(&s[..92]);
        s[16..20].copy_from_slice(&crc.to_le_bytes());
        s
    }

    #[test]
    fn valid_header_passes_without_anomalies() {
        let mut a = Anomalies::default();
        let HeaderCheck::Valid(v) = RawGptHeader::check(&header(128, 128), &ctx(), &mut a) else {
            panic!("expected valid");
        };
        assert_eq!(v.entry_array_bytes, 16384);
        assert_eq!(v.entries_offset, 1024);
        assert!(a.finish().is_empty());
    }

    #[test]
    fn crc_mismatch_is_fatal_and_named() {
        let mut s = header(128, 128);
        s[60] ^= 0xFF;
        let mut a = Anomalies::default();
        let r = RawGptHeader::check(&s, &ctx(), &mut a);
        assert!(matches!(
            r,
            HeaderCheck::Damaged {
                alternate_lba: 4095
            }
        ));
        let list = a.finish();
        assert_eq!(list[0].code, codes::GPT_HEADER_CRC);
        assert!(
            list[0]
                .message
                .starts_with("GPT primary header at 0x200: CRC32 mismatch (stored 0x")
        );
    }

    #[test]
    fn huge_entry_count_is_refused_with_offset_and_count() {
        let mut a = Anomalies::default();
        let r = RawGptHeader::check(&header(u32::MAX, 128), &ctx(), &mut a);
        assert!(matches!(r, HeaderCheck::Damaged { .. }));
        let list = a.finish();
        assert_eq!(list[0].code, codes::GPT_ENTRY_ARRAY_TOO_LARGE);
        assert!(list[0].message.contains("0x200"), "{}", list[0].message);
        assert!(
            list[0].message.contains("4294967295"),
            "{}",
            list[0].message
        );
    }

    #[test]
    fn bad_entry_sizes() {
        for size in [0u32, 8, 127, 130] {
            let mut a = Anomalies::default();
            let r = RawGptHeader::check(&header(4, size), &ctx(), &mut a);
            assert!(matches!(r, HeaderCheck::Damaged { .. }), "size {size}");
        }
        // 384 = 3 × 128: readable but not what the spec allows.
        let mut a = Anomalies::default();
        let r = RawGptHeader::check(&header(4, 384), &ctx(), &mut a);
        assert!(matches!(r, HeaderCheck::Valid(_)));
        assert_eq!(a.finish()[0].code, codes::GPT_ENTRY_SIZE);
    }

    #[test]
    fn header_size_bounds() {
        for size in [91u32, 513, u32::MAX] {
            let mut s = header(128, 128);
            s[12..16].copy_from_slice(&size.to_le_bytes());
            let mut a = Anomalies::default();
            let r = RawGptHeader::check(&s, &ctx(), &mut a);
            assert!(matches!(r, HeaderCheck::Damaged { .. }));
            assert_eq!(a.finish()[0].code, codes::GPT_HEADER_SIZE);
        }
    }

    #[test]
    fn no_signature() {
        let mut a = Anomalies::default();
        let r = RawGptHeader::check(&[0u8; 512], &ctx(), &mut a);
        assert!(matches!(r, HeaderCheck::NoSignature));
        let r = RawGptHeader::check(&GPT_SIGNATURE, &ctx(), &mut a);
        assert!(matches!(r, HeaderCheck::NoSignature));
    }
}
