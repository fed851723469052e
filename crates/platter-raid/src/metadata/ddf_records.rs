//! The DDF sections a header points to: controller data, physical disk
//! records, virtual disk records, configuration records and this disk's
//! physical disk data.
//!
//! Layouts: mdadm `super-ddf.c` (`struct ddf_controller_data`,
//! `struct phys_disk`, `struct virtual_disk`, `struct vd_config`,
//! `struct disk_data`) and, for the DDF 2.0 fields (block sizes, rotate
//! parity count), dissect.volume `ddf/c_ddf.py` after SNIA DDF 2.0. Each
//! section starts with a signature and a CRC; a configuration record is
//! 512 bytes of fields followed by `max_primary_element_entries` u32
//! physical disk references and as many u64 starting LBAs.

use platter_core::Source;
use zerocopy::byteorder::big_endian::{U16, U32, U64};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use super::anomaly::{Anomalies, codes};
use super::crc32::check_ddf_crc;
use super::ddf::{DDF_EPOCH_OFFSET, MAX_SECTION_BYTES, guid_text, section_size};
use super::ddf_layout::{MdEquivalent, ddf_to_md, prl_name};
use super::md::MAX_CHUNK_BYTES;
use super::{hex, padded_text, rfc3339};

const CONTROLLER_SIGNATURE: u32 = 0xAD11_1111;
const PHYS_RECORDS_SIGNATURE: u32 = 0x2222_2222;
const PHYS_DATA_SIGNATURE: u32 = 0x3333_3333;
const VIRT_RECORDS_SIGNATURE: u32 = 0xDDDD_DDDD;
const VD_CONFIG_SIGNATURE: u32 = 0xEEEE_EEEE;

/// Bytes of a physical or virtual disk section header, and of each entry.
const ENTRY_BYTES: usize = 64;

/// Bytes of the fixed part of a configuration record.
const CONFIG_FIXED_BYTES: usize = 512;

/// An unused physical disk reference.
const NO_REFNUM: u32 = 0xFFFF_FFFF;

/// Most configuration records examined in one section.
const MAX_CONFIG_RECORDS: u64 = 1024;

/// The context sections are read in.
pub(crate) struct Ctx<'a> {
    pub(crate) member: &'a dyn Source,
    pub(crate) name: &'a str,
    pub(crate) block_size: u32,
    /// LBA of the active header: section offsets count from here.
    pub(crate) base_lba: u64,
    /// Revision 02.xx: the DDF 2.0 fields (block sizes, rotate parity
    /// count) are meaningful; in 01.xx those bytes are padding.
    pub(crate) ddf2: bool,
    pub(crate) an: &'a mut Anomalies,
}

/// A section as the header describes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Section {
    pub(crate) what: &'static str,
    pub(crate) offset_blocks: u32,
    pub(crate) length_blocks: u32,
}

/// Reads a section whole (bounded by [`MAX_SECTION_BYTES`]), returning its
/// bytes and byte offset, or `None` (with an anomaly) when absent, out of
/// range or unreadable.
fn read_section(ctx: &mut Ctx<'_>, s: Section, min_bytes: usize) -> Option<(Vec<u8>, u64)> {
    let name = ctx.name;
    if s.length_blocks == 0 || s.offset_blocks == u32::MAX {
        ctx.an.warn(
            0,
            codes::DDF_FIELD,
            format!("{name}: the DDF header lists no {} section", s.what),
        );
        return None;
    }
    let bs = u64::from(ctx.block_size);
    let bytes = u64::from(s.length_blocks) * bs;
    let off = ctx
        .base_lba
        .checked_add(u64::from(s.offset_blocks))
        .and_then(|b| b.checked_mul(bs));
    let Some(off) = off.filter(|o| o.checked_add(bytes).is_some_and(|e| e <= ctx.member.len()))
    else {
        ctx.an.warn(
            0,
            codes::DDF_FIELD,
            format!(
                "{name}: DDF {} section (block {} + {} from LBA {}) lies outside the member",
                s.what, s.offset_blocks, s.length_blocks, ctx.base_lba
            ),
        );
        return None;
    };
    if bytes > MAX_SECTION_BYTES || (bytes as usize) < min_bytes {
        ctx.an.error(
            off,
            codes::DDF_FIELD,
            format!(
                "{name}: DDF {} section at {off:#x} is {}, outside {min_bytes} bytes to {}",
                s.what,
                section_size(s.length_blocks, ctx.block_size),
                super::Bytes(MAX_SECTION_BYTES)
            ),
        );
        return None;
    }
    let mut buf = vec![0u8; bytes as usize];
    if let Err(e) = ctx.member.read_exact_at(&mut buf, off) {
        ctx.an.warn(
            off,
            codes::READ_ERROR,
            format!(
                "{name}: cannot read the DDF {} section at {off:#x}: {e}",
                s.what
            ),
        );
        return None;
    }
    Some((buf, off))
}

/// Checks a structure's signature and CRC; false (with an anomaly) when the
/// signature is wrong. A CRC mismatch is only a warning.
fn check_struct(ctx: &mut Ctx<'_>, what: &str, b: &[u8], off: u64, sig: u32) -> (bool, bool) {
    let name = ctx.name;
    let found = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    if found != sig {
        ctx.an.warn(
            off,
            codes::DDF_SECTION_SIGNATURE,
            format!(
                "{name}: DDF {what} at {off:#x}: signature {found:#010x}, expected {sig:#010x}"
            ),
        );
        return (false, false);
    }
    let stored = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    let (valid, computed) = check_ddf_crc(stored, b);
    if !valid {
        ctx.an.warn(
            off,
            codes::CHECKSUM,
            format!(
                "{name}: DDF {what} at {off:#x}: CRC {stored:#010x} stored, {computed:#010x} computed"
            ),
        );
    }
    (true, valid)
}

/// The controller that wrote the metadata.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DdfController {
    /// Controller GUID, hex.
    pub guid: String,
    /// Its leading printable part (vendor).
    pub guid_text: String,
    /// PCI vendor id.
    pub vendor_id: u16,
    /// PCI device id.
    pub device_id: u16,
    /// PCI subsystem vendor id.
    pub sub_vendor_id: u16,
    /// PCI subsystem device id.
    pub sub_device_id: u16,
    /// Product id text.
    pub product_id: String,
    /// CRC agrees.
    pub crc_valid: bool,
}

pub(crate) fn controller(ctx: &mut Ctx<'_>, s: Section) -> Option<DdfController> {
    let (b, off) = read_section(ctx, s, 512)?;
    let b = &b[..512];
    let (sig_ok, crc_valid) = check_struct(ctx, s.what, b, off, CONTROLLER_SIGNATURE);
    if !sig_ok {
        return None;
    }
    let be16 = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
    Some(DdfController {
        guid: hex(&b[8..32]),
        guid_text: guid_text(&b[8..32]),
        vendor_id: be16(32),
        device_id: be16(34),
        sub_vendor_id: be16(36),
        sub_device_id: be16(38),
        product_id: padded_text(&b[40..56]),
        crc_valid,
    })
}

/// `struct phys_disk_entry` (64 bytes).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawPdEntry {
    guid: [u8; 24],
    refnum: U32,
    pd_type: U16,
    state: U16,
    config_size: U64,
    path: [u8; 18],
    block_size: U16,
    pad: [u8; 4],
}

/// One physical disk record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DdfPhysicalDisk {
    /// Entry number in the physical disk records.
    pub index: u32,
    /// Disk GUID, hex.
    pub guid: String,
    /// Its leading printable part.
    pub guid_text: String,
    /// Reference number: how configuration records name this disk.
    pub refnum: u32,
    /// Type bits (0x2 active in a VD, 0x4 global spare, 0x8 spare, …).
    pub pd_type: u16,
    /// State bits (0x1 online, 0x2 failed, 0x4 rebuilding, 0x40 missing, …).
    pub state: u16,
    /// The state bits in words.
    pub state_text: String,
    /// Blocks usable for data (DDF structures live after this).
    pub configured_size_blocks: u64,
    /// DDF 2.0 block size in bytes, when recorded.
    pub block_size: Option<u16>,
}

pub(crate) fn physical_disks(ctx: &mut Ctx<'_>, s: Section) -> Vec<DdfPhysicalDisk> {
    let Some((b, off)) = read_section(ctx, s, ENTRY_BYTES) else {
        return Vec::new();
    };
    if !check_struct(ctx, s.what, &b, off, PHYS_RECORDS_SIGNATURE).0 {
        return Vec::new();
    }
    let max = u16::from_be_bytes([b[10], b[11]]);
    let n = entry_count(ctx, s.what, off, b.len(), max);
    let mut out = Vec::new();
    for i in 0..n {
        let at = ENTRY_BYTES * (1 + i);
        let (e, _) = RawPdEntry::ref_from_prefix(&b[at..]).expect("bounded by entry_count");
        let refnum = e.refnum.get();
        if refnum == NO_REFNUM {
            continue;
        }
        let bsz = e.block_size.get();
        out.push(DdfPhysicalDisk {
            index: i as u32,
            guid: hex(&e.guid),
            guid_text: guid_text(&e.guid),
            refnum,
            pd_type: e.pd_type.get(),
            state: e.state.get(),
            state_text: pd_state_text(e.state.get()),
            configured_size_blocks: e.config_size.get(),
            block_size: (ctx.ddf2 && bsz != 0 && bsz != 0xFFFF).then_some(bsz),
        });
    }
    out
}

/// Entries to read: the section's own maximum, bounded by what the
/// section holds.
fn entry_count(ctx: &mut Ctx<'_>, what: &str, off: u64, len: usize, max: u16) -> usize {
    let fits = len / ENTRY_BYTES - 1;
    let want = usize::from(max);
    if want > fits {
        ctx.an.warn(
            off,
            codes::DDF_FIELD,
            format!(
                "{}: DDF {what} at {off:#x} claims {want} entries but holds {fits}",
                ctx.name
            ),
        );
    }
    want.min(fits)
}

fn pd_state_text(state: u16) -> String {
    const NAMES: [(u16, &str); 7] = [
        (1, "online"),
        (2, "failed"),
        (4, "rebuilding"),
        (8, "in-transition"),
        (16, "smart-errors"),
        (32, "unrecovered-read-errors"),
        (64, "missing"),
    ];
    let v: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| state & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "offline".into()
    } else {
        v.join(",")
    }
}

/// One virtual disk record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DdfVirtualDisk {
    /// Entry number in the virtual disk records.
    pub index: u32,
    /// VD GUID, hex: configuration records name their VD by it.
    pub guid: String,
    /// VD number (unit).
    pub number: u16,
    /// Type bits (0x1 shared, 0x4 Unicode name, …).
    pub vd_type: u32,
    /// State byte: low 3 bits 0 optimal, 1 degraded, 2 deleted, 3 missing,
    /// 4 failed, 5 partially optimal; 0x8 morphing, 0x10 not consistent.
    pub state: u8,
    /// The state in words.
    pub state_text: &'static str,
    /// Initialisation state byte.
    pub init_state: u8,
    /// Name (16 bytes, space or NUL padded).
    pub name: String,
}

pub(crate) fn virtual_disks(ctx: &mut Ctx<'_>, s: Section) -> Vec<DdfVirtualDisk> {
    let Some((b, off)) = read_section(ctx, s, ENTRY_BYTES) else {
        return Vec::new();
    };
    if !check_struct(ctx, s.what, &b, off, VIRT_RECORDS_SIGNATURE).0 {
        return Vec::new();
    }
    let max = u16::from_be_bytes([b[10], b[11]]);
    let n = entry_count(ctx, s.what, off, b.len(), max);
    let mut out = Vec::new();
    for i in 0..n {
        let e = &b[ENTRY_BYTES * (1 + i)..ENTRY_BYTES * (2 + i)];
        if e[..24].iter().all(|&x| x == 0xff) {
            continue;
        }
        let state = e[32];
        out.push(DdfVirtualDisk {
            index: i as u32,
            guid: hex(&e[..24]),
            number: u16::from_be_bytes([e[24], e[25]]),
            vd_type: u32::from_be_bytes([e[28], e[29], e[30], e[31]]),
            state,
            state_text: match state & 7 {
                0 => "optimal",
                1 => "degraded",
                2 => "deleted",
                3 => "missing",
                4 => "failed",
                5 => "partially optimal",
                _ => "reserved",
            },
            init_state: e[33],
            name: padded_text(&e[48..64]),
        });
    }
    out
}

/// This member's physical disk data: its own GUID and reference number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DdfDiskData {
    /// This disk's GUID, hex.
    pub guid: String,
    /// This disk's reference number.
    pub refnum: u32,
    /// The reference was forced rather than derived.
    pub forced_ref: bool,
    /// The GUID was forced.
    pub forced_guid: bool,
    /// CRC agrees.
    pub crc_valid: bool,
}

pub(crate) fn disk_data(ctx: &mut Ctx<'_>, s: Section) -> Option<DdfDiskData> {
    let (b, off) = read_section(ctx, s, 512)?;
    let b = &b[..512];
    let (sig_ok, crc_valid) = check_struct(ctx, s.what, b, off, PHYS_DATA_SIGNATURE);
    if !sig_ok {
        return None;
    }
    Some(DdfDiskData {
        guid: hex(&b[8..32]),
        refnum: u32::from_be_bytes([b[32], b[33], b[34], b[35]]),
        forced_ref: b[36] != 0,
        forced_guid: b[37] != 0,
        crc_valid,
    })
}

/// `struct vd_config`, the fixed 512 bytes (DDF 2.0 names).
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawVdConfig {
    magic: U32,
    crc: U32,
    guid: [u8; 24],
    timestamp: U32,
    seqnum: U32,
    pad0: [u8; 24],
    prim_elmnt_count: U16,
    strip_size: u8,
    prl: u8,
    rlq: u8,
    sec_elmnt_count: u8,
    sec_elmnt_seq: u8,
    srl: u8,
    block_count: U64,
    vd_size: U64,
    block_size: U16,
    rotate_parity_count: u8,
    pad1: [u8; 5],
    spare_refs: [u8; 32],
    cache_policies: [u8; 8],
    bg_rate: u8,
    pad2: [u8; 375],
}

const _: () = assert!(size_of::<RawVdConfig>() == CONFIG_FIXED_BYTES);

/// One member slot of a configuration record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DdfConfigMember {
    /// Position in the basic virtual disk (0-based, unused entries skipped).
    pub slot: u32,
    /// Index in the record's reference table.
    pub table_index: u32,
    /// Physical disk reference number.
    pub refnum: u32,
    /// Where this member's extent starts, in blocks.
    pub start_lba: u64,
    /// The same in bytes (None on overflow).
    pub start_bytes: Option<u64>,
    /// Entry number of the physical disk record with this reference.
    pub physical_disk_index: Option<u32>,
}

/// One virtual disk configuration record: the geometry of a VD (or of one
/// basic VD of a VD with a secondary level).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DdfVdConfig {
    /// Record number in the configuration section.
    pub index: u32,
    /// Byte offset of the record on the member.
    pub offset_bytes: u64,
    /// VD GUID, hex.
    pub vd_guid: String,
    /// Name from the matching virtual disk record.
    pub vd_name: Option<String>,
    /// Sequence number: the highest of several records of one VD wins.
    pub sequence: u32,
    /// Last change, Unix seconds.
    pub timestamp_secs: u64,
    /// Last change, RFC 3339.
    pub timestamp: String,
    /// Primary element count: members of this basic VD.
    pub primary_elements: u16,
    /// Strip size exponent: strip = 2^n blocks (255: unspecified).
    pub strip_size_exponent: u8,
    /// Strip (chunk) size in bytes.
    pub strip_bytes: Option<u64>,
    /// Primary RAID level (PRL).
    pub prl: u8,
    /// Its name ("RAID5", "RAID1E", …).
    pub prl_name: &'static str,
    /// RAID level qualifier (RLQ).
    pub rlq: u8,
    /// Secondary RAID level (SRL).
    pub srl: u8,
    /// Number of basic VDs (1 without a secondary level).
    pub secondary_elements: u8,
    /// This basic VD's position among them.
    pub secondary_element_seq: u8,
    /// Blocks used on each member.
    pub block_count: u64,
    /// VD size in blocks.
    pub vd_size_blocks: u64,
    /// Block size in bytes (the record's DDF 2.0 field, else the member's).
    pub block_size: u32,
    /// DDF 2.0 rotate parity count (delayed-parity RAID5), when recorded
    /// (revision 02.xx only).
    pub rotate_parity_count: Option<u8>,
    /// Members in order.
    pub members: Vec<DdfConfigMember>,
    /// This member's slot, when this disk is part of the VD.
    pub this_disk_slot: Option<u32>,
    /// md level/layout with the same placement, if any (see [`ddf_to_md`]).
    pub md: Option<MdEquivalent>,
    /// CRC agrees.
    pub crc_valid: bool,
}

pub(crate) fn configs(
    ctx: &mut Ctx<'_>,
    s: Section,
    record_blocks: u16,
    mppe: u16,
    pds: &[DdfPhysicalDisk],
    this_refnum: Option<u32>,
) -> Vec<DdfVdConfig> {
    let name = ctx.name;
    let bs = u64::from(ctx.block_size);
    let record_bytes = u64::from(record_blocks) * bs;
    let need = CONFIG_FIXED_BYTES as u64 + 12 * u64::from(mppe);
    if record_blocks == 0 || record_bytes < need || record_bytes > MAX_SECTION_BYTES {
        ctx.an.error(
            0,
            codes::DDF_FIELD,
            format!(
                "{name}: DDF configuration record length {record_blocks} blocks cannot hold {mppe} primary elements ({need} bytes)"
            ),
        );
        return Vec::new();
    }
    let Some((b, off)) = read_section(ctx, s, record_bytes as usize) else {
        return Vec::new();
    };
    let records = (b.len() as u64 / record_bytes).min(MAX_CONFIG_RECORDS);
    let mut out = Vec::new();
    for r in 0..records {
        let at = (r * record_bytes) as usize;
        let rec = &b[at..at + record_bytes as usize];
        if u32::from_be_bytes([rec[0], rec[1], rec[2], rec[3]]) != VD_CONFIG_SIGNATURE {
            continue; // spare assignment, vendor unique, or unused
        }
        let rec_off = off + at as u64;
        let (_, crc_valid) = check_struct(
            ctx,
            "configuration record",
            rec,
            rec_off,
            VD_CONFIG_SIGNATURE,
        );
        out.push(config(
            ctx,
            rec,
            r as u32,
            rec_off,
            mppe,
            pds,
            this_refnum,
            crc_valid,
        ));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn config(
    ctx: &mut Ctx<'_>,
    rec: &[u8],
    index: u32,
    off: u64,
    mppe: u16,
    pds: &[DdfPhysicalDisk],
    this_refnum: Option<u32>,
    crc_valid: bool,
) -> DdfVdConfig {
    let name = ctx.name;
    let here = format!("{name}: DDF configuration record at {off:#x}");
    let (c, _) = RawVdConfig::ref_from_prefix(rec).expect("record holds 512 bytes");
    let block_size = match c.block_size.get() {
        0 | 0xFFFF => ctx.block_size,
        _ if !ctx.ddf2 => ctx.block_size,
        n if n >= 512 && n.is_power_of_two() => u32::from(n),
        n => {
            ctx.an.warn(
                off,
                codes::DDF_FIELD,
                format!(
                    "{here}: block size {n} is not a power of two from 512; using {}",
                    ctx.block_size
                ),
            );
            ctx.block_size
        }
    };
    let exp = c.strip_size;
    let strip_bytes = (exp != 255)
        .then(|| 1u64.checked_shl(u32::from(exp)))
        .flatten()
        .and_then(|blocks| blocks.checked_mul(u64::from(block_size)))
        .filter(|&b| b <= MAX_CHUNK_BYTES);
    if exp != 255 && strip_bytes.is_none() {
        ctx.an.error(
            off,
            codes::CHUNK_INVALID,
            format!("{here}: strip size 2^{exp} blocks is absurd"),
        );
    }

    let count = c.prim_elmnt_count.get();
    if count == 0 || count > mppe {
        ctx.an.error(
            off,
            codes::DDF_CONFIG,
            format!("{here}: primary element count {count} is outside 1..={mppe}"),
        );
    }
    // The reference table and the LBA table follow the fixed fields.
    let lba_base = CONFIG_FIXED_BYTES + 4 * usize::from(mppe);
    let mut members = Vec::new();
    for i in 0..usize::from(mppe) {
        if members.len() >= usize::from(count) {
            break;
        }
        let r = &rec[CONFIG_FIXED_BYTES + 4 * i..CONFIG_FIXED_BYTES + 4 * i + 4];
        let refnum = u32::from_be_bytes(r.try_into().expect("4 bytes"));
        if refnum == NO_REFNUM {
            continue;
        }
        let l = &rec[lba_base + 8 * i..lba_base + 8 * i + 8];
        let start_lba = u64::from_be_bytes(l.try_into().expect("8 bytes"));
        members.push(DdfConfigMember {
            slot: members.len() as u32,
            table_index: i as u32,
            refnum,
            start_lba,
            start_bytes: start_lba.checked_mul(u64::from(block_size)),
            physical_disk_index: pds.iter().find(|p| p.refnum == refnum).map(|p| p.index),
        });
    }
    if members.len() < usize::from(count) && count <= mppe {
        ctx.an.warn(
            off,
            codes::DDF_CONFIG,
            format!(
                "{here}: {count} primary elements but only {} disk references",
                members.len()
            ),
        );
    }
    let this = this_refnum.and_then(|t| members.iter().find(|m| m.refnum == t));
    let block_count = c.block_count.get();
    if let Some(m) = this {
        let end = m.start_bytes.and_then(|s| {
            block_count
                .checked_mul(u64::from(block_size))?
                .checked_add(s)
        });
        if end.is_none_or(|e| e > ctx.member.len()) {
            ctx.an.error(
                off,
                codes::MEMBER_TRUNCATED,
                format!(
                    "{here}: this member's extent (LBA {} + {block_count} blocks) extends past its end ({} bytes)",
                    m.start_lba,
                    ctx.member.len()
                ),
            );
        }
    }
    let md = ddf_to_md(c.prl, c.rlq, c.srl, count, c.sec_elmnt_count);
    if md.is_none() {
        ctx.an.warn(
            off,
            codes::DDF_UNMAPPED_LEVEL,
            format!(
                "{here}: {} (PRL {:#04x}) qualifier {} secondary {:#04x} × {} has no md equivalent",
                prl_name(c.prl),
                c.prl,
                c.rlq,
                c.srl,
                c.sec_elmnt_count
            ),
        );
    }
    let ts = u64::from(c.timestamp.get()) + DDF_EPOCH_OFFSET;
    let rpc = c.rotate_parity_count;
    DdfVdConfig {
        index,
        offset_bytes: off,
        vd_guid: hex(&c.guid),
        vd_name: None,
        sequence: c.seqnum.get(),
        timestamp_secs: ts,
        timestamp: rfc3339(ts),
        primary_elements: count,
        strip_size_exponent: exp,
        strip_bytes,
        prl: c.prl,
        prl_name: prl_name(c.prl),
        rlq: c.rlq,
        srl: c.srl,
        secondary_elements: c.sec_elmnt_count,
        secondary_element_seq: c.sec_elmnt_seq,
        block_count,
        vd_size_blocks: c.vd_size.get(),
        block_size,
        rotate_parity_count: (ctx.ddf2 && rpc != 0xFF).then_some(rpc),
        this_disk_slot: this.map(|m| m.slot),
        members,
        md,
        crc_valid,
    }
}
