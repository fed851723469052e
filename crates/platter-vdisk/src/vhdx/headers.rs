//! VHDX file header structures: the two headers and the two region tables.
//!
//! Layouts: Microsoft "VHDX Format Specification" v1.0 (2012), sections 2.2
//! (header section), 2.2.2 (headers), 2.2.3 (region table); qemu
//! `block/vhdx.h`. All fields are little-endian; checksums are CRC-32C over
//! the whole structure (4 KiB header, 64 KiB region table) with the
//! checksum field as zero.

/// Offset of the first header.
pub const HEADER1_AT: u64 = 64 << 10;
/// Offset of the second header.
pub const HEADER2_AT: u64 = 128 << 10;
/// Offset of the first region table.
pub const REGION1_AT: u64 = 192 << 10;
/// Offset of the second region table.
pub const REGION2_AT: u64 = 256 << 10;
/// Bytes covered by a header's checksum.
pub const HEADER_BYTES: usize = 4 << 10;
/// Bytes of a region table (covered by its checksum).
pub const REGION_TABLE_BYTES: usize = 64 << 10;
/// Largest region table entry count (spec: 2047).
pub const MAX_REGION_ENTRIES: u32 = 2047;

/// Little-endian u16 at `at`.
pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Little-endian u32 at `at`.
pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Little-endian u64 at `at`.
pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    u64::from(le32(b, at)) | (u64::from(le32(b, at + 4)) << 32)
}

/// CRC-32C of `bytes` with the 4 bytes at `at` taken as zero.
pub fn crc32c_skipping(bytes: &[u8], at: usize) -> u32 {
    let crc = crc32c::crc32c(&bytes[..at]);
    let crc = crc32c::crc32c_append(crc, &[0u8; 4]);
    crc32c::crc32c_append(crc, &bytes[at + 4..])
}

/// A GUID in its on-disk (mixed-endian) byte order.
pub type Guid = [u8; 16];

/// Parses `"2DC27766-F623-4200-9D64-115E9BFD4A08"` into on-disk order.
pub const fn guid(text: &str) -> Guid {
    let t = text.as_bytes();
    let mut hex = [0u8; 16];
    let mut i = 0;
    let mut n = 0;
    while i < t.len() {
        let c = t[i];
        if c != b'-' {
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => panic!("bad GUID literal"),
            };
            hex[n / 2] |= if n % 2 == 0 { v << 4 } else { v };
            n += 1;
        }
        i += 1;
    }
    // Data1 (4 bytes), Data2 and Data3 (2 each) are little-endian.
    [
        hex[3], hex[2], hex[1], hex[0], hex[5], hex[4], hex[7], hex[6], hex[8], hex[9], hex[10],
        hex[11], hex[12], hex[13], hex[14], hex[15],
    ]
}

/// Formats an on-disk GUID as text.
pub fn guid_text(g: &Guid) -> String {
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        g[3],
        g[2],
        g[1],
        g[0],
        g[5],
        g[4],
        g[7],
        g[6],
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    )
}

fn guid_at(b: &[u8], at: usize) -> Guid {
    let mut g = [0u8; 16];
    g.copy_from_slice(&b[at..at + 16]);
    g
}

/// Region table GUID of the block allocation table.
pub const BAT_GUID: Guid = guid("2DC27766-F623-4200-9D64-115E9BFD4A08");
/// Region table GUID of the metadata region.
pub const METADATA_GUID: Guid = guid("8B7CA206-4790-4B9A-B8FE-575F050F886E");

/// A header (spec 2.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Incremented on every update; the valid header with the highest wins.
    pub sequence: u64,
    /// Changes whenever the file is written.
    pub file_write_guid: Guid,
    /// Changes whenever the guest data is written.
    pub data_write_guid: Guid,
    /// Identifies the active log; all zeros when the log is empty.
    pub log_guid: Guid,
    /// Log format version (0).
    pub log_version: u16,
    /// Header version (1).
    pub version: u16,
    /// Bytes of the log region.
    pub log_length: u32,
    /// File offset of the log region.
    pub log_offset: u64,
}

/// Why a header copy was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderProblem {
    /// No `head` signature.
    Signature,
    /// CRC-32C mismatch.
    Checksum,
    /// Version other than 1.
    Version,
}

impl Header {
    /// Parses and validates a 4 KiB header.
    pub fn parse(b: &[u8]) -> Result<Header, HeaderProblem> {
        if b.len() < HEADER_BYTES || &b[..4] != b"head" {
            return Err(HeaderProblem::Signature);
        }
        let b = &b[..HEADER_BYTES];
        if le32(b, 4) != crc32c_skipping(b, 4) {
            return Err(HeaderProblem::Checksum);
        }
        let h = Header {
            sequence: le64(b, 8),
            file_write_guid: guid_at(b, 16),
            data_write_guid: guid_at(b, 32),
            log_guid: guid_at(b, 48),
            log_version: le16(b, 64),
            version: le16(b, 66),
            log_length: le32(b, 68),
            log_offset: le64(b, 72),
        };
        if h.version != 1 {
            return Err(HeaderProblem::Version);
        }
        Ok(h)
    }
}

/// One region table entry (spec 2.2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// What the region holds.
    pub guid: Guid,
    /// File offset (1 MiB aligned).
    pub offset: u64,
    /// Bytes.
    pub length: u32,
    /// The region must be understood to read the file.
    pub required: bool,
}

/// Why a region table copy was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionProblem {
    /// No `regi` signature.
    Signature,
    /// CRC-32C mismatch.
    Checksum,
    /// More than [`MAX_REGION_ENTRIES`] entries.
    TooManyEntries(u32),
}

/// Parses and validates a 64 KiB region table.
pub fn parse_region_table(b: &[u8]) -> Result<Vec<Region>, RegionProblem> {
    if b.len() < REGION_TABLE_BYTES || &b[..4] != b"regi" {
        return Err(RegionProblem::Signature);
    }
    let b = &b[..REGION_TABLE_BYTES];
    if le32(b, 4) != crc32c_skipping(b, 4) {
        return Err(RegionProblem::Checksum);
    }
    let count = le32(b, 8);
    if count > MAX_REGION_ENTRIES {
        return Err(RegionProblem::TooManyEntries(count));
    }
    Ok((0..count as usize)
        .map(|i| 16 + i * 32)
        .map(|at| Region {
            guid: guid_at(b, at),
            offset: le64(b, at + 16),
            length: le32(b, at + 24),
            required: le32(b, at + 28) & 1 != 0,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_round_trip_and_byte_order() {
        let g = guid("2DC27766-F623-4200-9D64-115E9BFD4A08");
        assert_eq!(&g[..4], &[0x66, 0x77, 0xc2, 0x2d]);
        assert_eq!(&g[8..10], &[0x9d, 0x64]);
        assert_eq!(guid_text(&g), "2dc27766-f623-4200-9d64-115e9bfd4a08");
    }

    #[test]
    fn crc_skipping_matches_zeroed_field() {
        let mut b = vec![7u8; 100];
        b[4..8].copy_from_slice(&[1, 2, 3, 4]);
        let mut z = b.clone();
        z[4..8].fill(0);
        assert_eq!(crc32c_skipping(&b, 4), crc32c::crc32c(&z));
    }
}
