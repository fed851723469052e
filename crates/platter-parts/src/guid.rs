//! GUIDs as stored on disk by GPT.
//!
//! UEFI 2.10, appendix A ("GUID and Time Formats"): a GUID is stored as a
//! 32-bit, a 16-bit and a 16-bit little-endian field, followed by 8 bytes in
//! order. Its canonical text form prints the fields most significant first.

use std::fmt;

/// A GUID in its on-disk (mixed-endian) byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Guid([u8; 16]);

impl Guid {
    /// Wraps 16 bytes as stored on disk.
    pub(crate) fn from_disk_bytes(bytes: [u8; 16]) -> Self {
        Guid(bytes)
    }

    /// True for the all-zero GUID (an unused GPT entry).
    pub(crate) fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }
}

impl fmt::Display for Guid {
    /// Canonical uppercase `8-4-4-4-12` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9]
        )?;
        for x in &b[10..16] {
            write!(f, "{x:02X}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_efi_system_partition_type() {
        // The EFI System Partition type as it sits on disk.
        let disk = [
            0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E,
            0xC9, 0x3B,
        ];
        let g = Guid::from_disk_bytes(disk);
        assert_eq!(g.to_string(), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
        assert!(!g.is_zero());
        assert!(Guid::from_disk_bytes([0; 16]).is_zero());
    }
}
