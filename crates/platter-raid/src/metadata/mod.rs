//! RAID metadata found on member disks: Linux md superblocks (0.90, 1.0,
//! 1.1, 1.2) and SNIA DDF (the anchor header in the last sector and the
//! records it points to), plus [`examine`], which reads every member and
//! cross-checks them (stale members, members of another array, duplicate
//! or missing roles).
//!
//! The parsers expose the raw values the metadata records (md level number,
//! md layout word, chunk size in bytes, member order, data offsets); mapping
//! them to a geometry is the engine's job. DDF RAID levels are translated to
//! the md level/layout numbers by [`ddf_to_md`].
//!
//! Nothing here trusts the bytes it reads: every count is bounded by a named
//! limit before it sizes anything, arithmetic on stored values is checked,
//! and a damaged structure is still returned with [`MetadataAnomaly`]s that
//! name the member and the byte offset, so a recovery engineer sees
//! everything that is there.
//!
//! # Example
//! ```
//! use platter_core::MemSource;
//! use platter_raid::metadata::{examine, probe_ddf, probe_md};
//!
//! // A blank 1 MiB member: no metadata at all.
//! let member = MemSource::new("sda.img", vec![0u8; 1 << 20]);
//! assert!(probe_md(&member).unwrap().is_none());
//! assert!(probe_ddf(&member).unwrap().is_none());
//! let report = examine(&[("sda.img", &member)]);
//! assert!(report.members[0].md.is_none());
//! assert!(report.findings.iter().any(|f| f.code == "no_metadata"));
//! ```

use std::fmt;

mod anomaly;
mod crc32;
mod ddf;
mod ddf_layout;
mod ddf_records;
mod examine;
mod md;
mod md1;
mod md90;
mod timestamp;

pub use anomaly::{MetadataAnomaly, Severity, codes};
pub use ddf::{
    DDF_SIGNATURE, DdfConfigMember, DdfController, DdfDiskData, DdfHeaderInfo, DdfMetadata,
    DdfPhysicalDisk, DdfVdConfig, DdfVirtualDisk, probe_ddf,
};
pub use ddf_layout::{MdEquivalent, ddf_to_md};
pub use examine::{ExamineReport, Finding, MemberReport, examine, finding_codes};
pub use md::{
    MD_MAGIC, MdBadBlockLog, MdChecksum, MdDevRole, MdReshape, MdRole, MdSuperblock, probe_md,
    probe_md_all,
};
pub use timestamp::rfc3339;

/// Formats 16 bytes the way mdadm prints array UUIDs: four groups of eight
/// hex digits separated by colons.
pub(crate) fn mdadm_uuid(bytes: &[u8; 16]) -> String {
    let mut s = String::with_capacity(35);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Lowercase hex of any byte string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Text of a fixed-size, NUL- or space-padded name field: everything before
/// the first NUL, trailing spaces removed, invalid UTF-8 replaced.
pub(crate) fn padded_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end])
        .trim_end_matches(' ')
        .to_string()
}

/// Human-readable byte count for messages ("64 KiB", "1.5 GiB").
pub(crate) struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        let mut v = self.0 as f64;
        let mut u = 0;
        while v >= 1024.0 && u + 1 < UNITS.len() {
            v /= 1024.0;
            u += 1;
        }
        if u == 0 || v.fract() == 0.0 {
            write!(f, "{v:.0} {}", UNITS[u])
        } else {
            write!(f, "{v:.1} {}", UNITS[u])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_groups_like_mdadm() {
        let b: [u8; 16] = core::array::from_fn(|i| i as u8 * 0x11);
        assert_eq!(mdadm_uuid(&b), "00112233:44556677:8899aabb:ccddeeff");
    }

    #[test]
    fn padded_text_stops_at_nul_and_trims_spaces() {
        assert_eq!(padded_text(b"host:0\0garbage"), "host:0");
        assert_eq!(padded_text(b"VD name   "), "VD name");
        assert_eq!(padded_text(&[0xff, b'a', 0]), "\u{fffd}a");
    }

    #[test]
    fn bytes_display() {
        assert_eq!(Bytes(512).to_string(), "512 B");
        assert_eq!(Bytes(64 << 10).to_string(), "64 KiB");
        assert_eq!(Bytes(3 << 29).to_string(), "1.5 GiB");
    }
}
