//! SNIA DDF (Common RAID Disk Data Format): the anchor header in the last
//! block, the primary and secondary headers it points to, and the sections
//! those headers locate.
//!
//! Sources: SNIA "Common RAID Disk Data Format Specification" 1.2 and 2.0
//! (DDF header, section 5.5), as implemented by mdadm `super-ddf.c`
//! (`struct ddf_header`, `load_ddf_headers`, `load_ddf_header`,
//! `load_section`, `calc_crc`) and dissect.volume `ddf/c_ddf.py` (the DDF
//! 2.0 additions: block sizes, rotate-parity count). Every multi-byte field
//! is big-endian; the CRC is CRC-32 over the structure with its CRC field
//! set to 0xFFFFFFFF (both the standard CRC-32 and the variant mdadm
//! writes, see `crc32.rs`, are accepted). Section offsets count blocks
//! from the active header's LBA; section lengths are in blocks.
//!
//! Choice of the active header follows mdadm: the primary when valid,
//! unless the secondary is valid and newer (higher sequence number, not
//! open) or equally new while the primary was left open.

use platter_core::Source;
use zerocopy::byteorder::big_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

pub use super::ddf_records::{
    DdfConfigMember, DdfController, DdfDiskData, DdfPhysicalDisk, DdfVdConfig, DdfVirtualDisk,
};

use super::anomaly::{Anomalies, MetadataAnomaly, codes};
use super::crc32::check_ddf_crc;
use super::ddf_records::{self as records, Section};
use super::{Bytes, hex, rfc3339};
use crate::error::{Error, Result};

/// The DDF header signature (stored big-endian).
pub const DDF_SIGNATURE: u32 = 0xDE11_DE11;

/// Bytes of a DDF header (the rest of a larger block is unused).
const HEADER_BYTES: usize = 512;

/// DDF timestamps count seconds from 1980-01-01; this converts to Unix
/// (ten years with two leap days), as mdadm's `DECADE`.
pub(crate) const DDF_EPOCH_OFFSET: u64 = 3600 * 24 * (365 * 10 + 2);

/// Largest section read, in bytes. A 4095-entry physical disk section is
/// 256 KiB; configuration sections of real controllers are smaller still.
pub(crate) const MAX_SECTION_BYTES: u64 = 4 << 20;

/// `DDF_HEADER_ANCHOR`, `DDF_HEADER_PRIMARY`, `DDF_HEADER_SECONDARY`.
const TYPE_ANCHOR: u8 = 0;
const TYPE_PRIMARY: u8 = 1;
const TYPE_SECONDARY: u8 = 2;

/// Revisions written by real implementations.
const KNOWN_REVISIONS: [&[u8; 8]; 3] = [b"01.00.00", b"01.02.00", b"02.00.00"];

/// `struct ddf_header` (mdadm super-ddf.c; DDF 2.0 section 5.5).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub(crate) struct RawHeader {
    magic: U32,
    crc: U32,
    guid: [u8; 24],
    revision: [u8; 8],
    seq: U32,
    timestamp: U32,
    open_flag: u8,
    foreign_flag: u8,
    disk_grouping: u8,
    pad0: [u8; 13],
    header_ext: [u8; 32],
    primary_lba: U64,
    secondary_lba: U64,
    header_type: u8,
    pad2: [u8; 3],
    workspace_len: U32,
    workspace_lba: U64,
    max_pd_entries: U16,
    max_vd_entries: U16,
    max_partitions: U16,
    config_record_len: U16,
    max_primary_element_entries: U16,
    max_mapped_block_entries: U32,
    pad3: [u8; 50],
    controller_section_offset: U32,
    controller_section_length: U32,
    phys_section_offset: U32,
    phys_section_length: U32,
    virt_section_offset: U32,
    virt_section_length: U32,
    config_section_offset: U32,
    config_section_length: U32,
    data_section_offset: U32,
    data_section_length: U32,
    bbm_section_offset: U32,
    bbm_section_length: U32,
    diag_space_offset: U32,
    diag_space_length: U32,
    vendor_offset: U32,
    vendor_length: U32,
    pad4: [u8; 256],
}

const _: () = assert!(size_of::<RawHeader>() == HEADER_BYTES);

/// One DDF header (anchor, primary or secondary) as found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DdfHeaderInfo {
    /// "anchor", "primary" or "secondary".
    pub kind: &'static str,
    /// Block address it was read from.
    pub lba: u64,
    /// Byte offset on the member.
    pub offset_bytes: u64,
    /// Signature present.
    pub signature_ok: bool,
    /// Header type byte (0 anchor, 1 primary, 2 secondary).
    pub header_type: u8,
    /// Sequence number: higher is newer.
    pub sequence: u32,
    /// Last update, Unix seconds.
    pub timestamp_secs: u64,
    /// Open flag (non-zero: an update was in progress).
    pub open_flag: u8,
    /// Stored CRC.
    pub crc_stored: u32,
    /// Recomputed CRC.
    pub crc_computed: u32,
    /// Whether they agree.
    pub crc_valid: bool,
    /// GUID, revision, LBAs and the fields after the header type agree
    /// with the anchor (always true for the anchor itself).
    pub matches_anchor: bool,
}

impl DdfHeaderInfo {
    /// Usable: signature, CRC, type and consistency with the anchor all hold.
    pub fn is_valid(&self) -> bool {
        self.signature_ok && self.crc_valid && self.matches_anchor
    }
}

/// DDF metadata as found on one member.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DdfMetadata {
    /// Block size used for every LBA and length, in bytes.
    pub block_size: u32,
    /// DDF revision text ("01.02.00", "02.00.00", …).
    pub revision: String,
    /// The header (container) GUID, hex: equal on every member of one
    /// DDF container.
    pub header_guid: String,
    /// The leading printable part of the GUID (vendor id), as mdadm shows it.
    pub header_guid_text: String,
    /// The anchor header (last block).
    pub anchor: DdfHeaderInfo,
    /// The primary header, when the anchor names one inside the member.
    pub primary: Option<DdfHeaderInfo>,
    /// The secondary header, when the anchor names one inside the member.
    pub secondary: Option<DdfHeaderInfo>,
    /// Which header the sections were read through: "primary",
    /// "secondary", or "anchor" when neither is valid (a fallback).
    pub active_header: &'static str,
    /// Sequence number of the active header.
    pub sequence: u32,
    /// Update time of the active header, Unix seconds and RFC 3339.
    pub timestamp_secs: u64,
    /// Update time of the active header, RFC 3339.
    pub timestamp: String,
    /// Header limits: maximum physical disk entries.
    pub max_pd_entries: u16,
    /// Maximum virtual disk entries.
    pub max_vd_entries: u16,
    /// Maximum configuration records per disk.
    pub max_partitions: u16,
    /// Blocks per configuration record.
    pub config_record_blocks: u16,
    /// Maximum primary elements per configuration record.
    pub max_primary_elements: u16,
    /// Controller data section.
    pub controller: Option<DdfController>,
    /// Physical disk records in use.
    pub physical_disks: Vec<DdfPhysicalDisk>,
    /// Virtual disk records in use.
    pub virtual_disks: Vec<DdfVirtualDisk>,
    /// Virtual disk configuration records (this member's local view).
    pub configs: Vec<DdfVdConfig>,
    /// Physical disk data: which disk this member is.
    pub this_disk: Option<DdfDiskData>,
    /// Problems found.
    pub anomalies: Vec<MetadataAnomaly>,
}

impl DdfMetadata {
    /// The physical disk record describing this member, if identified.
    pub fn this_physical_disk(&self) -> Option<&DdfPhysicalDisk> {
        let r = self.this_disk.as_ref()?.refnum;
        self.physical_disks.iter().find(|p| p.refnum == r)
    }

    /// True when no anomaly of [`Severity::Error`](super::Severity::Error)
    /// was found.
    pub fn is_usable(&self) -> bool {
        !self
            .anomalies
            .iter()
            .any(|a| a.severity == super::Severity::Error)
    }

    /// `Ok` when the metadata can be trusted for assembly, else
    /// [`Error::Metadata`] carrying the first error-level anomaly.
    pub fn check_usable(&self, member: &str) -> Result<()> {
        match self
            .anomalies
            .iter()
            .find(|a| a.severity == super::Severity::Error)
        {
            None => Ok(()),
            Some(a) => Err(Error::Metadata {
                name: member.to_string(),
                offset: a.offset,
                what: "DDF metadata".into(),
                reason: a.message.clone(),
            }),
        }
    }
}

/// Looks for DDF metadata on `member`: an anchor header with the DDF
/// signature in the last block. The member's logical sector size is tried
/// first, then 512 and 4096 bytes.
///
/// Returns `Ok(None)` without a signature, `Err` when the anchor block
/// itself cannot be read or holds the signature in little-endian order
/// (not decoded). Damaged headers and sections are reported as anomalies
/// on the returned metadata.
pub fn probe_ddf(member: &dyn Source) -> Result<Option<DdfMetadata>> {
    let len = member.len();
    let mut sizes = vec![member.sector_size().logical, 512, 4096];
    sizes.dedup();
    let mut first_err = None;
    let mut tried = Vec::new();
    for bs in sizes {
        if bs < 512 || !bs.is_power_of_two() || tried.contains(&bs) {
            continue;
        }
        tried.push(bs);
        let bsz = u64::from(bs);
        if len < bsz {
            continue;
        }
        // mdadm reads the anchor at size - 512 exactly; with larger blocks
        // it is the start of the last block.
        let anchor_off = len - bsz;
        let mut buf = [0u8; HEADER_BYTES];
        if let Err(e) = member.read_exact_at(&mut buf, anchor_off) {
            first_err.get_or_insert(e);
            continue;
        }
        let sig = [buf[0], buf[1], buf[2], buf[3]];
        if u32::from_le_bytes(sig) == DDF_SIGNATURE {
            // FreeBSD graid accepts DDF written little-endian; its fields
            // would be misread here, so say so instead of guessing.
            return Err(Error::Metadata {
                name: member.name().to_string(),
                offset: anchor_off,
                what: "DDF anchor header".into(),
                reason: "little-endian DDF metadata, which this parser does not decode".into(),
            });
        }
        if u32::from_be_bytes(sig) != DDF_SIGNATURE {
            continue;
        }
        return Ok(Some(parse(member, &buf, anchor_off, bs)));
    }
    match first_err {
        Some(e) => Err(e.into()),
        None => Ok(None),
    }
}

/// Parses everything reachable from an anchor found at `anchor_off`.
fn parse(
    member: &dyn Source,
    anchor_buf: &[u8; HEADER_BYTES],
    anchor_off: u64,
    bs: u32,
) -> DdfMetadata {
    let mut an = Anomalies::default();
    let name = member.name();
    let bsz = u64::from(bs);
    let (anchor_raw, _) = RawHeader::ref_from_prefix(anchor_buf).expect("512 bytes");
    let anchor = header_info("anchor", anchor_buf, anchor_off / bsz, anchor_off, None);
    if !anchor.crc_valid {
        an.warn(
            anchor_off,
            codes::CHECKSUM,
            format!(
                "{name}: DDF anchor header at {anchor_off:#x}: CRC {:#010x} stored, {:#010x} computed",
                anchor.crc_stored, anchor.crc_computed
            ),
        );
    }
    if !KNOWN_REVISIONS.contains(&&anchor_raw.revision) {
        an.warn(
            anchor_off,
            codes::DDF_REVISION,
            format!(
                "{name}: DDF anchor header at {anchor_off:#x}: unknown revision {:?}",
                String::from_utf8_lossy(&anchor_raw.revision)
            ),
        );
    }
    if anchor_raw.header_type != TYPE_ANCHOR {
        an.warn(
            anchor_off,
            codes::DDF_HEADER,
            format!(
                "{name}: DDF anchor header at {anchor_off:#x} has type {}, expected 0 (anchor)",
                anchor_raw.header_type
            ),
        );
    }

    let last_lba = member.len() / bsz;
    let mut load = |kind: &'static str,
                    lba: u64,
                    want_type: u8|
     -> Option<(DdfHeaderInfo, [u8; HEADER_BYTES])> {
        if lba == u64::MAX {
            return None; // "no such header"
        }
        let off = lba
            .checked_mul(bsz)
            .filter(|_| lba.saturating_add(1) < last_lba);
        let Some(off) = off else {
            an.warn(
                anchor_off,
                codes::DDF_HEADER,
                format!(
                    "{name}: DDF anchor at {anchor_off:#x} places the {kind} header at LBA {lba}, outside the member"
                ),
            );
            return None;
        };
        let mut b = [0u8; HEADER_BYTES];
        if let Err(e) = member.read_exact_at(&mut b, off) {
            an.warn(
                off,
                codes::READ_ERROR,
                format!("{name}: cannot read the DDF {kind} header at {off:#x}: {e}"),
            );
            return None;
        }
        let info = header_info(kind, &b, lba, off, Some((anchor_buf, want_type)));
        if !info.is_valid() {
            an.warn(
                off,
                codes::DDF_HEADER,
                format!(
                    "{name}: DDF {kind} header at {off:#x} is not usable (signature {}, CRC {}, matches anchor {})",
                    ok(info.signature_ok),
                    ok(info.crc_valid),
                    ok(info.matches_anchor)
                ),
            );
        }
        Some((info, b))
    };
    let primary = load("primary", anchor_raw.primary_lba.get(), TYPE_PRIMARY);
    let secondary = load("secondary", anchor_raw.secondary_lba.get(), TYPE_SECONDARY);

    // mdadm load_ddf_headers: prefer the primary unless the secondary is newer.
    let p_ok = primary.as_ref().filter(|p| p.0.is_valid());
    let s_ok = secondary.as_ref().filter(|s| s.0.is_valid());
    let active = match (p_ok, s_ok) {
        (Some(p), Some(s)) => {
            let newer = p.0.sequence < s.0.sequence && s.0.open_flag == 0;
            let tie = p.0.sequence == s.0.sequence && p.0.open_flag != 0 && s.0.open_flag == 0;
            if newer || tie { Some(s) } else { Some(p) }
        }
        (Some(p), None) => Some(p),
        (None, Some(s)) => Some(s),
        (None, None) => None,
    };
    let (active_header, active_info, active_buf) = match active {
        Some((info, b)) => (info.kind, info.clone(), *b),
        None => {
            an.error(
                anchor_off,
                codes::DDF_HEADER,
                format!(
                    "{name}: no valid DDF primary or secondary header; sections read through the anchor's fields, relative to the primary LBA"
                ),
            );
            let mut info = anchor.clone();
            info.lba = anchor_raw.primary_lba.get();
            ("anchor", info, *anchor_buf)
        }
    };
    let (h, _) = RawHeader::ref_from_prefix(&active_buf).expect("512 bytes");
    let base = active_info.lba;

    let mut ctx = records::Ctx {
        member,
        name,
        block_size: bs,
        base_lba: base,
        ddf2: anchor_raw.revision.starts_with(b"02."),
        an: &mut an,
    };
    let sect = |off: &U32, len: &U32, what: &'static str| Section {
        what,
        offset_blocks: off.get(),
        length_blocks: len.get(),
    };
    let controller = records::controller(
        &mut ctx,
        sect(
            &h.controller_section_offset,
            &h.controller_section_length,
            "controller data",
        ),
    );
    let physical_disks = records::physical_disks(
        &mut ctx,
        sect(
            &h.phys_section_offset,
            &h.phys_section_length,
            "physical disk records",
        ),
    );
    let virtual_disks = records::virtual_disks(
        &mut ctx,
        sect(
            &h.virt_section_offset,
            &h.virt_section_length,
            "virtual disk records",
        ),
    );
    let this_disk = records::disk_data(
        &mut ctx,
        sect(
            &h.data_section_offset,
            &h.data_section_length,
            "physical disk data",
        ),
    );
    let mut configs = records::configs(
        &mut ctx,
        sect(
            &h.config_section_offset,
            &h.config_section_length,
            "configuration records",
        ),
        h.config_record_len.get(),
        h.max_primary_element_entries.get(),
        &physical_disks,
        this_disk.as_ref().map(|d| d.refnum),
    );
    for c in &mut configs {
        c.vd_name = virtual_disks
            .iter()
            .find(|v| v.guid == c.vd_guid)
            .map(|v| v.name.clone());
    }
    if let Some(d) = &this_disk {
        if !physical_disks.iter().any(|p| p.refnum == d.refnum) {
            an.warn(
                anchor_off,
                codes::DDF_FIELD,
                format!(
                    "{name}: this disk's reference {:#010x} has no physical disk record",
                    d.refnum
                ),
            );
        }
    }

    let ts = u64::from(h.timestamp.get()) + DDF_EPOCH_OFFSET;
    DdfMetadata {
        block_size: bs,
        revision: super::padded_text(&anchor_raw.revision),
        header_guid: hex(&anchor_raw.guid),
        header_guid_text: guid_text(&anchor_raw.guid),
        anchor,
        primary: primary.map(|p| p.0),
        secondary: secondary.map(|s| s.0),
        active_header,
        sequence: h.seq.get(),
        timestamp_secs: ts,
        timestamp: rfc3339(ts),
        max_pd_entries: h.max_pd_entries.get(),
        max_vd_entries: h.max_vd_entries.get(),
        max_partitions: h.max_partitions.get(),
        config_record_blocks: h.config_record_len.get(),
        max_primary_elements: h.max_primary_element_entries.get(),
        controller,
        physical_disks,
        virtual_disks,
        configs,
        this_disk,
        anomalies: an.finish(),
    }
}

fn ok(b: bool) -> &'static str {
    if b { "ok" } else { "bad" }
}

/// Summarises a header; with `anchor`, also checks it against the anchor
/// the way mdadm `load_ddf_header` does (GUID, revision, both LBAs, the
/// expected type, and every byte after the type).
fn header_info(
    kind: &'static str,
    b: &[u8; HEADER_BYTES],
    lba: u64,
    offset: u64,
    anchor: Option<(&[u8; HEADER_BYTES], u8)>,
) -> DdfHeaderInfo {
    let (raw, _) = RawHeader::ref_from_prefix(b).expect("512 bytes");
    let (crc_valid, computed) = check_ddf_crc(raw.crc.get(), b);
    let matches_anchor = match anchor {
        None => true,
        Some((a, want_type)) => {
            let (ar, _) = RawHeader::ref_from_prefix(a).expect("512 bytes");
            ar.guid == raw.guid
                && ar.revision == raw.revision
                && ar.primary_lba.get() == raw.primary_lba.get()
                && ar.secondary_lba.get() == raw.secondary_lba.get()
                && raw.header_type == want_type
                // pad2 (offset 113) to the end.
                && a[113..] == b[113..]
        }
    };
    DdfHeaderInfo {
        kind,
        lba,
        offset_bytes: offset,
        signature_ok: raw.magic.get() == DDF_SIGNATURE,
        header_type: raw.header_type,
        sequence: raw.seq.get(),
        timestamp_secs: u64::from(raw.timestamp.get()) + DDF_EPOCH_OFFSET,
        open_flag: raw.open_flag,
        crc_stored: raw.crc.get(),
        crc_computed: computed,
        crc_valid,
        matches_anchor,
    }
}

/// The leading printable ASCII of a GUID, trailing spaces removed (mdadm
/// `print_guid`).
pub(crate) fn guid_text(guid: &[u8]) -> String {
    let s: String = guid
        .iter()
        .take_while(|&&c| (0x20..0x7f).contains(&c))
        .map(|&c| c as char)
        .collect();
    s.trim_end().to_string()
}

/// Message helper: a section length in blocks, as bytes.
pub(crate) fn section_size(blocks: u32, bs: u32) -> Bytes {
    Bytes(u64::from(blocks) * u64::from(bs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_text_is_the_printable_prefix() {
        let mut g = *b"Linux-MD\xde\xad\xbe\xef\0\0\0\0\0\0\0\0\0\0\0\0";
        assert_eq!(guid_text(&g), "Linux-MD");
        g[0] = 0xff;
        assert_eq!(guid_text(&g), "");
        assert_eq!(guid_text(b"LSI      "), "LSI");
    }

    #[test]
    fn epoch_offset_is_1980() {
        assert_eq!(rfc3339(DDF_EPOCH_OFFSET), "1980-01-01T00:00:00Z");
    }
}
