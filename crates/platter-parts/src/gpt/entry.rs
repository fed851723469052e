//! GPT partition entries.
//!
//! Source: UEFI 2.10, section 5.3.3 "GPT Partition Entry Array", table 5.6
//! "GPT Partition Entry", and table 5.8 for the attribute bits. An entry whose
//! type GUID is all zeros is unused. Linux numbers GPT partitions by entry
//! index + 1 (`block/partitions/efi.c`).

use zerocopy::byteorder::little_endian::U64;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::header::ValidHeader;
use crate::Partition;
use crate::anomaly::{Anomalies, codes};
use crate::guid::Guid;
use crate::placement::{Placed, Role};
use crate::types::gpt_type_name;

/// Attribute bit 2: legacy BIOS bootable.
const ATTR_LEGACY_BIOS_BOOTABLE: u64 = 1 << 2;

/// UEFI 2.10 table 5.6: the first 128 bytes of a partition entry (larger
/// entries carry reserved bytes after these).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct RawGptEntry {
    type_guid: [u8; 16],
    unique_guid: [u8; 16],
    starting_lba: U64,
    ending_lba: U64,
    attributes: U64,
    name: [u8; 72],
}

impl RawGptEntry {
    /// The partition type GUID.
    fn type_guid(&self) -> Guid {
        Guid::from_disk_bytes(self.type_guid)
    }

    /// The unique partition GUID.
    fn unique_guid(&self) -> Guid {
        Guid::from_disk_bytes(self.unique_guid)
    }

    /// The name: UTF-16LE up to the first NUL (invalid units replaced).
    fn name(&self) -> String {
        let units: Vec<u16> = self
            .name
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        String::from_utf16_lossy(&units)
    }
}

/// Turns the entry array read for header `h` into partitions, with
/// anomalies for entries that are inverted, outside the usable range or
/// that overflow 64-bit byte offsets.
pub(crate) fn partitions(
    h: &ValidHeader,
    array: &[u8],
    sector_size: u32,
    anomalies: &mut Anomalies,
) -> Vec<Placed> {
    let ss = u64::from(sector_size);
    let entry_size = h.entry_size as usize;
    let mut out = Vec::new();
    if entry_size == 0 {
        return out;
    }
    for (i, raw) in array.chunks_exact(entry_size).enumerate() {
        let Ok((e, _)) = RawGptEntry::read_from_prefix(raw) else {
            continue;
        };
        if e.type_guid().is_zero() {
            continue;
        }
        // The array holds at most MAX_ENTRY_ARRAY_BYTES / 128 entries.
        let index = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1);
        let off = h
            .entries_offset
            .saturating_add((i as u64).saturating_mul(entry_size as u64));
        let (first, last) = (e.starting_lba.get(), e.ending_lba.get());
        if last < first {
            anomalies.push(
                off,
                codes::GPT_ENTRY_INVERTED,
                format!(
                    "GPT entry {index} at {off:#x}: ending LBA {last} is before starting LBA {first}; not listed"
                ),
            );
            continue;
        }
        let sectors = (last - first).checked_add(1);
        let range = sectors.and_then(|n| {
            let start = first.checked_mul(ss)?;
            let len = n.checked_mul(ss)?;
            start.checked_add(len)?;
            Some((n, start, len))
        });
        let Some((sectors, start_bytes, len_bytes)) = range else {
            anomalies.push(
                off,
                codes::PARTITION_OFFSET_OVERFLOW,
                format!(
                    "GPT entry {index} at {off:#x}: LBA {first}..={last} does not fit in a 64-bit byte \
                     offset; not listed"
                ),
            );
            continue;
        };
        if first < h.first_usable_lba || last > h.last_usable_lba {
            anomalies.push(
                off,
                codes::GPT_ENTRY_OUTSIDE_USABLE,
                format!(
                    "GPT entry {index} at {off:#x}: LBA {first}..={last} lies outside the usable range \
                     {}..={}",
                    h.first_usable_lba, h.last_usable_lba
                ),
            );
        }
        let type_code = e.type_guid().to_string();
        let name = e.name();
        let attributes = e.attributes.get();
        out.push(Placed {
            part: Partition {
                index,
                start_bytes,
                len_bytes,
                first_lba: first,
                sectors,
                type_name: gpt_type_name(&type_code).to_string(),
                type_code,
                name: (!name.is_empty()).then_some(name),
                guid: Some(e.unique_guid().to_string()),
                bootable: attributes & ATTR_LEGACY_BIOS_BOOTABLE != 0,
                logical: false,
                attributes,
            },
            entry_offset: off,
            role: Role::Data,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_decodes_utf16_up_to_nul() {
        let mut raw = [0u8; 128];
        for (i, u) in "données".encode_utf16().enumerate() {
            raw[56 + 2 * i..58 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        raw[56 + 2 * 9] = b'x'; // after the NUL: ignored
        let (e, _) = RawGptEntry::read_from_prefix(&raw[..]).unwrap();
        assert_eq!(e.name(), "données");
    }
}
