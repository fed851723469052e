//! The VHDX metadata region: its table and the system items (file
//! parameters, virtual disk size and id, sector sizes, parent locator).
//!
//! Layout: Microsoft "VHDX Format Specification" v1.0, section 3.2
//! (metadata table header and entries, 32 bytes each) and 3.2.5 (known
//! items, the parent locator's key/value table in UTF-16LE).

use super::headers::{Guid, guid, le16, le32, le64};

/// Largest metadata table entry count (spec: 2047).
pub const MAX_METADATA_ENTRIES: u16 = 2047;
/// Largest parent locator key/value count read.
const MAX_LOCATOR_ENTRIES: u16 = 256;
/// Smallest block size (spec: 1 MiB).
pub const MIN_BLOCK_SIZE: u32 = 1 << 20;
/// Largest block size (spec: 256 MiB).
pub const MAX_BLOCK_SIZE: u32 = 256 << 20;
/// Largest virtual size (spec: 64 TiB).
pub const MAX_VIRTUAL_SIZE: u64 = 64 << 40;

const FILE_PARAMETERS: Guid = guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
const VIRTUAL_DISK_SIZE: Guid = guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8");
const VIRTUAL_DISK_ID: Guid = guid("BECA12AB-B2E6-4523-93EF-C309E000C746");
const LOGICAL_SECTOR_SIZE: Guid = guid("8141BF1D-A96F-4709-BA47-F233A8FAAB5F");
const PHYSICAL_SECTOR_SIZE: Guid = guid("CDA348C7-445D-4471-9CC9-E9885251C556");
const PARENT_LOCATOR: Guid = guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C");
/// The only parent locator type defined: a VHDX parent.
const VHDX_PARENT_LOCATOR_TYPE: Guid = guid("B04AEFB7-D19E-4A81-B789-25B8E9445913");

/// The system metadata items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Bytes per payload block.
    pub block_size: u32,
    /// Blocks stay allocated (fixed disks).
    pub leave_blocks_allocated: bool,
    /// A differencing disk.
    pub has_parent: bool,
    /// Guest-visible size in bytes.
    pub virtual_size: u64,
    /// The disk's id.
    pub disk_id: Guid,
    /// Logical sector size (512 or 4096).
    pub logical_sector: u32,
    /// Physical sector size (512 or 4096).
    pub physical_sector: u32,
    /// Parent locator key/value pairs (differencing disks).
    pub parent_locator: Vec<(String, String)>,
}

/// A problem in the metadata region: offset in the region and a message.
pub type Problem = (u64, String);

fn utf16le(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Parses the metadata region `region` (read whole).
///
/// # Errors
/// A missing table, an item outside the region, an unknown required item,
/// a missing or absurd system item: offset in the region and message.
pub fn parse(region: &[u8]) -> Result<Metadata, Problem> {
    if region.len() < 32 || &region[..8] != b"metadata" {
        return Err((0, "no metadata table signature \"metadata\"".into()));
    }
    let count = le16(region, 10);
    if count > MAX_METADATA_ENTRIES {
        return Err((
            10,
            format!("{count} metadata entries (at most {MAX_METADATA_ENTRIES})"),
        ));
    }
    let mut m = Metadata::default();
    let mut seen = [false; 5];
    for i in 0..usize::from(count) {
        let at = 32 + i * 32;
        let Some(e) = region.get(at..at + 32) else {
            return Err((at as u64, "metadata entry outside the region".into()));
        };
        let mut id = [0u8; 16];
        id.copy_from_slice(&e[..16]);
        let (off, len, flags) = (le32(e, 16) as usize, le32(e, 20) as usize, le32(e, 24));
        let data = off
            .checked_add(len)
            .and_then(|end| region.get(off..end))
            .ok_or((
                at as u64,
                format!("metadata item at {off:#x}+{len:#x} lies outside the region"),
            ))?;
        let need = |n: usize| {
            if data.len() < n {
                Err((
                    at as u64,
                    format!("metadata item of {} bytes is too short", data.len()),
                ))
            } else {
                Ok(())
            }
        };
        match id {
            FILE_PARAMETERS => {
                need(8)?;
                m.block_size = le32(data, 0);
                let f = le32(data, 4);
                m.leave_blocks_allocated = f & 1 != 0;
                m.has_parent = f & 2 != 0;
                seen[0] = true;
            }
            VIRTUAL_DISK_SIZE => {
                need(8)?;
                m.virtual_size = le64(data, 0);
                seen[1] = true;
            }
            VIRTUAL_DISK_ID => {
                need(16)?;
                m.disk_id.copy_from_slice(&data[..16]);
            }
            LOGICAL_SECTOR_SIZE => {
                need(4)?;
                m.logical_sector = le32(data, 0);
                seen[2] = true;
            }
            PHYSICAL_SECTOR_SIZE => {
                need(4)?;
                m.physical_sector = le32(data, 0);
                seen[3] = true;
            }
            PARENT_LOCATOR => {
                m.parent_locator = parse_locator(data).map_err(|msg| (off as u64, msg))?;
                seen[4] = true;
            }
            _ if flags & 4 != 0 => {
                return Err((at as u64, "unknown required metadata item".into()));
            }
            _ => {}
        }
    }
    if !(seen[0] && seen[1] && seen[2]) {
        return Err((
            0,
            "file parameters, virtual disk size or logical sector size missing".into(),
        ));
    }
    if !seen[3] {
        m.physical_sector = m.logical_sector;
    }
    if m.has_parent && !seen[4] {
        return Err((0, "differencing disk without a parent locator".into()));
    }
    let bs = m.block_size;
    if !bs.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&bs) {
        return Err((
            0,
            format!("block size {bs} is not a power of two from 1 MiB to 256 MiB"),
        ));
    }
    if !matches!(m.logical_sector, 512 | 4096) || !matches!(m.physical_sector, 512 | 4096) {
        return Err((
            0,
            format!(
                "sector sizes {}/{} are not 512 or 4096",
                m.logical_sector, m.physical_sector
            ),
        ));
    }
    if m.virtual_size > MAX_VIRTUAL_SIZE {
        return Err((0, format!("virtual size {} exceeds 64 TiB", m.virtual_size)));
    }
    Ok(m)
}

/// Parses a parent locator item into key/value pairs.
fn parse_locator(data: &[u8]) -> Result<Vec<(String, String)>, String> {
    if data.len() < 20 {
        return Err("parent locator too short".into());
    }
    if data[..16] != VHDX_PARENT_LOCATOR_TYPE {
        return Err("unknown parent locator type".into());
    }
    let count = le16(data, 18);
    if count > MAX_LOCATOR_ENTRIES {
        return Err(format!("{count} parent locator entries"));
    }
    let mut out = Vec::new();
    for i in 0..usize::from(count) {
        let at = 20 + i * 12;
        let e = data
            .get(at..at + 12)
            .ok_or("parent locator entry outside the item")?;
        let (ko, vo) = (le32(e, 0) as usize, le32(e, 4) as usize);
        let (kl, vl) = (usize::from(le16(e, 8)), usize::from(le16(e, 10)));
        let key = data
            .get(ko..ko + kl)
            .ok_or("parent locator key outside the item")?;
        let value = data
            .get(vo..vo + vl)
            .ok_or("parent locator value outside the item")?;
        out.push((utf16le(key), utf16le(value)));
    }
    Ok(out)
}
