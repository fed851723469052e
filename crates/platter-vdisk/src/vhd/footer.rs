//! The VHD footer (512 bytes, at the end of every VHD and copied at offset
//! 0 of dynamic and differencing disks) and the dynamic disk header
//! (1024 bytes, `cxsparse`).
//!
//! Layouts: Microsoft "Virtual Hard Disk Image Format Specification" v1.0
//! (2006), "Hard Disk Footer Format" and "Dynamic Disk Header Format";
//! libvhdi's "Virtual Hard Disk (VHD) image format" document. All fields
//! are big-endian. Both checksums are the one's complement of the byte sum
//! of the structure with the checksum field taken as zero.

/// Size of the footer.
pub const FOOTER_BYTES: usize = 512;
/// Size of the dynamic disk header.
pub const DYNAMIC_HEADER_BYTES: usize = 1024;
/// `conectix`.
pub const FOOTER_COOKIE: &[u8; 8] = b"conectix";
/// `cxsparse`.
pub const DYNAMIC_COOKIE: &[u8; 8] = b"cxsparse";
/// Offset of the footer checksum.
const FOOTER_CHECKSUM_AT: usize = 64;
/// Offset of the dynamic header checksum.
const DYNAMIC_CHECKSUM_AT: usize = 36;

/// Reads a big-endian u32 at `at` of `b` (callers pass fixed-size buffers).
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads a big-endian u64 at `at` of `b`.
pub(crate) fn be64(b: &[u8], at: usize) -> u64 {
    (u64::from(be32(b, at)) << 32) | u64::from(be32(b, at + 4))
}

/// The VHD checksum of `bytes` with the 4-byte field at `skip` as zero.
pub fn vhd_checksum(bytes: &[u8], skip: usize) -> u32 {
    let sum = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| !(skip..skip + 4).contains(i))
        .fold(0u32, |acc, (_, &b)| acc.wrapping_add(u32::from(b)));
    !sum
}

/// VHD disk types (footer field at offset 60).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskType {
    /// 2: the data, then the footer.
    Fixed,
    /// 3: a block allocation table.
    Dynamic,
    /// 4: a dynamic disk over a parent.
    Differencing,
    /// Anything else.
    Other(u32),
}

impl DiskType {
    /// `"fixed"`, `"dynamic"`, `"differencing"`.
    pub fn name(self) -> String {
        match self {
            DiskType::Fixed => "fixed".into(),
            DiskType::Dynamic => "dynamic".into(),
            DiskType::Differencing => "differencing".into(),
            DiskType::Other(n) => format!("unknown type {n}"),
        }
    }
}

/// A parsed footer. Fields are kept private behind accessors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    raw: [u8; FOOTER_BYTES],
}

impl Footer {
    /// Parses 511 or 512 bytes (old Virtual PC footers lack the last byte).
    /// Returns `None` without the `conectix` cookie.
    pub fn parse(bytes: &[u8]) -> Option<Footer> {
        if bytes.len() < FOOTER_BYTES - 1 || !bytes.starts_with(FOOTER_COOKIE) {
            return None;
        }
        let mut raw = [0u8; FOOTER_BYTES];
        let n = bytes.len().min(FOOTER_BYTES);
        raw[..n].copy_from_slice(&bytes[..n]);
        Some(Footer { raw })
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8; FOOTER_BYTES] {
        &self.raw
    }

    /// True when the stored checksum matches.
    pub fn checksum_ok(&self) -> bool {
        self.stored_checksum() == vhd_checksum(&self.raw, FOOTER_CHECKSUM_AT)
    }

    /// The checksum field.
    pub fn stored_checksum(&self) -> u32 {
        be32(&self.raw, FOOTER_CHECKSUM_AT)
    }

    /// Offset of the dynamic header (all ones for fixed disks).
    pub fn data_offset(&self) -> u64 {
        be64(&self.raw, 16)
    }

    /// Seconds since 2000-01-01 00:00 UTC.
    pub fn timestamp(&self) -> u32 {
        be32(&self.raw, 24)
    }

    /// Creator application (`"qem2"`, `"win "`, `"vpc "`).
    pub fn creator_app(&self) -> String {
        String::from_utf8_lossy(&self.raw[28..32]).into_owned()
    }

    /// Creator version (major << 16 | minor).
    pub fn creator_version(&self) -> u32 {
        be32(&self.raw, 32)
    }

    /// Creator host OS (`"Wi2k"`, `"Mac "`).
    pub fn creator_os(&self) -> String {
        String::from_utf8_lossy(&self.raw[36..40]).into_owned()
    }

    /// Size at creation.
    pub fn original_size(&self) -> u64 {
        be64(&self.raw, 40)
    }

    /// Current guest-visible size in bytes.
    pub fn current_size(&self) -> u64 {
        be64(&self.raw, 48)
    }

    /// (cylinders, heads, sectors per track).
    pub fn chs(&self) -> (u16, u8, u8) {
        (
            u16::from_be_bytes([self.raw[56], self.raw[57]]),
            self.raw[58],
            self.raw[59],
        )
    }

    /// The disk type.
    pub fn disk_type(&self) -> DiskType {
        match be32(&self.raw, 60) {
            2 => DiskType::Fixed,
            3 => DiskType::Dynamic,
            4 => DiskType::Differencing,
            n => DiskType::Other(n),
        }
    }

    /// The disk's unique id.
    pub fn unique_id(&self) -> [u8; 16] {
        let mut id = [0u8; 16];
        id.copy_from_slice(&self.raw[68..84]);
        id
    }

    /// Saved-state flag.
    pub fn saved_state(&self) -> bool {
        self.raw[84] != 0
    }
}

/// One parent locator entry of a dynamic header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentLocator {
    /// Platform code (`W2ru`, `W2ku`, `Wi2r`, `Wi2k`, `Mac `, `MacX`).
    pub code: [u8; 4],
    /// Bytes of locator data.
    pub data_len: u32,
    /// File offset of the locator data.
    pub data_offset: u64,
}

/// A parsed dynamic disk header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicHeader {
    raw: Box<[u8; DYNAMIC_HEADER_BYTES]>,
}

impl DynamicHeader {
    /// Parses 1024 bytes; `None` without the `cxsparse` cookie.
    pub fn parse(bytes: &[u8]) -> Option<DynamicHeader> {
        if bytes.len() < DYNAMIC_HEADER_BYTES || !bytes.starts_with(DYNAMIC_COOKIE) {
            return None;
        }
        let mut raw = Box::new([0u8; DYNAMIC_HEADER_BYTES]);
        raw.copy_from_slice(&bytes[..DYNAMIC_HEADER_BYTES]);
        Some(DynamicHeader { raw })
    }

    /// True when the stored checksum matches.
    pub fn checksum_ok(&self) -> bool {
        be32(&self.raw[..], DYNAMIC_CHECKSUM_AT) == vhd_checksum(&self.raw[..], DYNAMIC_CHECKSUM_AT)
    }

    /// File offset of the block allocation table.
    pub fn table_offset(&self) -> u64 {
        be64(&self.raw[..], 16)
    }

    /// Number of BAT entries.
    pub fn max_table_entries(&self) -> u32 {
        be32(&self.raw[..], 28)
    }

    /// Bytes per block (data only, without the sector bitmap).
    pub fn block_size(&self) -> u32 {
        be32(&self.raw[..], 32)
    }

    /// The parent's unique id (differencing disks).
    pub fn parent_unique_id(&self) -> [u8; 16] {
        let mut id = [0u8; 16];
        id.copy_from_slice(&self.raw[40..56]);
        id
    }

    /// The parent's modification time stamp.
    pub fn parent_timestamp(&self) -> u32 {
        be32(&self.raw[..], 56)
    }

    /// The parent's file name, UTF-16 big-endian, NUL-terminated.
    pub fn parent_name(&self) -> String {
        let units: Vec<u16> = self.raw[64..576]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        String::from_utf16_lossy(&units)
    }

    /// The eight parent locator entries, empty ones skipped.
    pub fn locators(&self) -> Vec<ParentLocator> {
        (0..8)
            .map(|i| 576 + i * 24)
            .map(|at| ParentLocator {
                code: [
                    self.raw[at],
                    self.raw[at + 1],
                    self.raw[at + 2],
                    self.raw[at + 3],
                ],
                data_len: be32(&self.raw[..], at + 8),
                data_offset: be64(&self.raw[..], at + 16),
            })
            .filter(|l| l.code != [0; 4] && l.data_len > 0)
            .collect()
    }
}

/// Formats a 16-byte id as a GUID string (bytes in file order).
pub fn id_hex(id: &[u8; 16]) -> String {
    let h: Vec<String> = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..].concat()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_ones_complement_of_byte_sum() {
        let mut f = [0u8; FOOTER_BYTES];
        f[..8].copy_from_slice(FOOTER_COOKIE);
        let sum: u32 = FOOTER_COOKIE.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(vhd_checksum(&f, FOOTER_CHECKSUM_AT), !sum);
        f[64..68].copy_from_slice(&(!sum).to_be_bytes());
        assert!(Footer::parse(&f).unwrap().checksum_ok());
        f[100] = 1;
        assert!(!Footer::parse(&f).unwrap().checksum_ok());
        assert!(Footer::parse(&[0u8; 512]).is_none());
    }
}
