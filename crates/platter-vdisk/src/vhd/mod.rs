//! VHD (Virtual PC / Hyper-V) reader: fixed, dynamic and differencing
//! disks.
//!
//! - The footer is looked for at the end (512 bytes, or 511 on old Virtual
//!   PC images) and, on dynamic and differencing disks, at offset 0. Its
//!   checksum is verified; when the trailing copy is missing or damaged the
//!   copy at offset 0 is used and the anomaly reported.
//! - The virtual size is the footer's current size. The CHS geometry is
//!   reported as a property (qemu sizes images whose creator is `vpc ` or
//!   `qemu` by CHS instead: see docs/vdisk.md).
//! - Dynamic and differencing blocks honour their sector bitmaps: a clear
//!   bit reads from the parent (differencing) or as zeros (dynamic).
//! - A differencing disk's parent is found through the `W2ru` then `W2ku`
//!   locators, then the parent name in the header, only inside the child's
//!   folder unless `allow_outside_paths`.
//! - A truncated file keeps every complete block; the exact guest ranges
//!   lost are unreadable and listed as anomalies.

mod block_map;
mod findings;
pub mod footer;
mod parent_path;

use std::path::Path;
use std::sync::Arc;

use platter_core::SharedSource;
use platter_core::sys::open_os;

pub(crate) use block_map::{BitOrder, Block, BlockMap, MAX_BLOCKS};
pub(crate) use findings::Findings;
pub(crate) use parent_path::resolve_parent;

use crate::common::{ChainLink, VdiskFormat, VdiskInfo, VdiskOptions, VirtualDisk};
use crate::error::{Error, Result};
use footer::{DYNAMIC_HEADER_BYTES, DiskType, DynamicHeader, FOOTER_BYTES, Footer, id_hex};

/// Longest parent chain followed (a loop of parents ends here).
pub const MAX_CHAIN_DEPTH: usize = 64;
/// Largest virtual size accepted (VHD itself stops at 2040 GiB).
pub const MAX_VIRTUAL_SIZE: u64 = 1 << 46;
/// Largest block size accepted.
pub const MAX_BLOCK_SIZE: u64 = 256 << 20;
/// Largest parent locator read.
pub const MAX_LOCATOR_BYTES: u64 = 64 << 10;
/// Value of an unallocated BAT entry.
const UNALLOCATED: u32 = u32::MAX;

/// Opens the VHD at `path` (and its parents) read-only.
///
/// # Errors
/// The file cannot be opened or has no usable footer; a header field is
/// absurd; a parent escapes the folder or does not match; in strict mode,
/// any anomaly.
pub fn open(path: &Path, opts: &VdiskOptions) -> Result<VirtualDisk> {
    let base = open_os(path, &opts.open)?;
    open_source(base, path, opts)
}

/// Opens the VHD whose bytes are `base`; `path` names it in messages and
/// locates its parents.
///
/// # Errors
/// As [`open`].
pub fn open_source(base: SharedSource, path: &Path, opts: &VdiskOptions) -> Result<VirtualDisk> {
    let (map, info) = open_chain(base, path, opts, 0)?;
    Ok(VirtualDisk { source: map, info })
}

/// Refuses a link `depth` parents below the image opened when that is
/// more than [`MAX_CHAIN_DEPTH`] (a parent loop or a hostile chain).
pub(crate) fn check_chain_depth(path: &Path, depth: usize) -> Result<()> {
    if depth > MAX_CHAIN_DEPTH {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            offset: 0,
            what: "parent chain length",
            value: depth as u64,
            limit: MAX_CHAIN_DEPTH as u64,
        });
    }
    Ok(())
}

/// Opens one link and its parents.
pub(crate) fn open_chain(
    base: SharedSource,
    path: &Path,
    opts: &VdiskOptions,
    depth: usize,
) -> Result<(Arc<BlockMap>, VdiskInfo)> {
    check_chain_depth(path, depth)?;
    let mut found = Findings::new(path, opts.strict);
    let (footer, footer_at) = find_footer(&base, path, &mut found)?;
    let virtual_size = footer.current_size();
    if virtual_size > MAX_VIRTUAL_SIZE {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            offset: footer_at + 48,
            what: "virtual size",
            value: virtual_size,
            limit: MAX_VIRTUAL_SIZE,
        });
    }
    let (c, h, s) = footer.chs();
    let mut properties = vec![
        ("disk type".to_string(), footer.disk_type().name()),
        ("CHS geometry".to_string(), format!("{c}/{h}/{s}")),
        (
            "CHS size".to_string(),
            (u64::from(c) * u64::from(h) * u64::from(s) * 512).to_string(),
        ),
        (
            "creator".to_string(),
            format!(
                "{:?} version {}.{} on {:?}",
                footer.creator_app(),
                footer.creator_version() >> 16,
                footer.creator_version() & 0xffff,
                footer.creator_os()
            ),
        ),
        ("unique id".to_string(), id_hex(&footer.unique_id())),
        (
            "original size".to_string(),
            footer.original_size().to_string(),
        ),
        ("footer at".to_string(), format!("{footer_at:#x}")),
    ];
    if footer.saved_state() {
        properties.push(("saved state".into(), "yes".into()));
    }
    let name = path.display().to_string();
    let file_len = base.len();
    let disk_type = footer.disk_type();
    let (mut map, header) = match disk_type {
        DiskType::Fixed => {
            let map = BlockMap {
                name,
                file: base.clone(),
                virtual_size,
                block_size: virtual_size.max(1),
                sector_bytes: 512,
                physical_sector: 512,
                bit_order: BitOrder::MsbFirst,
                blocks: vec![Block::Full { data_offset: 0 }],
                beyond: Block::Zero,
                parent: None,
                orphan: false,
            };
            (map, None)
        }
        DiskType::Dynamic | DiskType::Differencing => {
            let (map, header) = dynamic_map(&base, path, &footer, name, &mut found)?;
            (map, Some(header))
        }
        DiskType::Other(n) => {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: format!("VHD disk type {n} at offset {:#x}", footer_at + 60),
            });
        }
    };
    if let Some(h) = &header {
        properties.push(("block size".into(), h.block_size().to_string()));
    }
    let mut chain_rest = Vec::new();
    let mut files = vec![path.to_path_buf()];
    let mut parent_anomalies = Vec::new();
    let mut status = "ok".to_string();
    if let (DiskType::Differencing, Some(h)) = (disk_type, &header) {
        let hints = parent_hints(&base, h, &mut found)?;
        match resolve_parent(path, &hints, opts.allow_outside_paths) {
            Ok(parent_path) => {
                properties.push(("parent".into(), parent_path.display().to_string()));
                let parent_base = open_os(&parent_path, &opts.open)?;
                let (parent, pinfo) = open_chain(parent_base, &parent_path, opts, depth + 1)?;
                let expected = id_hex(&h.parent_unique_id());
                let found_id = pinfo
                    .properties
                    .iter()
                    .find(|(k, _)| k == "unique id")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                if expected != found_id {
                    if !opts.ignore_cid {
                        return Err(Error::ParentMismatch {
                            child: path.to_path_buf(),
                            parent: parent_path,
                            expected,
                            found: found_id,
                        });
                    }
                    status = "parent unique id mismatch (ignored)".into();
                    found.add(
                        None,
                        "parent_mismatch",
                        format!(
                            "parent {} has unique id {found_id}, the child expects {expected} (ignored)",
                            parent_path.display()
                        ),
                    )?;
                }
                chain_rest = pinfo.chain;
                files.extend(pinfo.files);
                parent_anomalies = pinfo.anomalies;
                map.parent = Some(parent);
            }
            Err(Error::Missing { reference, .. }) => {
                found.add(
                    None,
                    "parent_missing",
                    format!(
                        "parent {reference:?} not found: ranges the child does not hold are unreadable"
                    ),
                )?;
                status = "parent missing".into();
                map.orphan = true;
                chain_rest.push(ChainLink {
                    path: reference.into(),
                    format: VdiskFormat::Vhd,
                    subformat: "unknown".into(),
                    status: "missing".into(),
                });
            }
            Err(e) => return Err(e),
        }
    }
    // Exact report of what a truncated file lost.
    let suspects = truncated_suspects(&map, file_len);
    if !suspects.is_empty() {
        found.lost_ranges(
            &map,
            &suspects,
            Some(file_len),
            "truncated",
            &format!("the file ends at {file_len:#x}"),
        )?;
    }
    let map = Arc::new(map);
    let mut anomalies = found.list;
    anomalies.extend(parent_anomalies);
    let mut chain = vec![ChainLink {
        path: path.to_path_buf(),
        format: VdiskFormat::Vhd,
        subformat: disk_type.name(),
        status,
    }];
    chain.extend(chain_rest);
    let info = VdiskInfo {
        format: VdiskFormat::Vhd,
        subformat: disk_type.name(),
        virtual_size,
        block_size: header.as_ref().map(|h| u64::from(h.block_size())),
        allocated_bytes: Some(map.allocated_bytes()),
        chain,
        files,
        properties,
        anomalies,
    };
    Ok((map, info))
}

/// Guest ranges of blocks that reach past the end of the file (or whose
/// table entry is missing), to be checked for lost bytes.
pub(crate) fn truncated_suspects(map: &BlockMap, file_len: u64) -> Vec<(u64, u64)> {
    let bs = map.block_size.max(1);
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut push = |off: u64, len: u64| match out.last_mut() {
        Some(last) if last.0 + last.1 == off => last.1 += len,
        _ => out.push((off, len)),
    };
    for (i, b) in map.blocks.iter().enumerate() {
        let start = i as u64 * bs;
        if start >= map.virtual_size {
            break;
        }
        let len = bs.min(map.virtual_size - start);
        let reaches = match *b {
            Block::Full { data_offset } => data_offset.saturating_add(len) > file_len,
            Block::Partial {
                data_offset,
                bitmap_offset,
            } => data_offset.saturating_add(len) > file_len || bitmap_offset >= file_len,
            Block::Unreadable => true,
            Block::Absent | Block::Zero => false,
        };
        if reaches {
            push(start, len);
        }
    }
    let covered = (map.blocks.len() as u64).saturating_mul(bs);
    if map.beyond == Block::Unreadable && covered < map.virtual_size {
        push(covered, map.virtual_size - covered);
    }
    out
}

/// Reads `n` bytes at `offset` of `base`, or `None` when they are not all
/// there.
pub(crate) fn read_opt(base: &SharedSource, offset: u64, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    base.read_exact_at(&mut buf, offset).ok().map(|()| buf)
}

/// Picks the footer: the trailing copy when valid, else the copy at 0.
fn find_footer(base: &SharedSource, path: &Path, found: &mut Findings) -> Result<(Footer, u64)> {
    let len = base.len();
    let mut tail = None;
    for size in [FOOTER_BYTES, FOOTER_BYTES - 1] {
        let Some(at) = len.checked_sub(size as u64) else {
            continue;
        };
        if let Some(f) = read_opt(base, at, size).and_then(|b| Footer::parse(&b)) {
            tail = Some((f, at));
            break;
        }
    }
    let head = read_opt(base, 0, FOOTER_BYTES)
        .and_then(|b| Footer::parse(&b))
        .filter(|f| f.disk_type() != DiskType::Fixed || tail.is_none());
    let tail_at = len.saturating_sub(FOOTER_BYTES as u64);
    match (tail, head) {
        (Some((t, at)), head) if t.checksum_ok() => {
            if t.disk_type() != DiskType::Fixed {
                match head {
                    Some(h) if h.checksum_ok() && h.bytes() == t.bytes() => {}
                    Some(h) if h.checksum_ok() => found.add(
                        Some(0),
                        "footer_copy_differs",
                        "the footer copy at offset 0 differs from the trailing footer; used the trailing one".into(),
                    )?,
                    Some(_) => found.add(
                        Some(0),
                        "footer_checksum",
                        "the footer copy at offset 0 has a wrong checksum; used the trailing footer".into(),
                    )?,
                    None => found.add(
                        Some(0),
                        "footer_copy_missing",
                        "no footer copy at offset 0; used the trailing footer".into(),
                    )?,
                }
            }
            Ok((t, at))
        }
        (tail, Some(h)) if h.checksum_ok() => {
            let why = match &tail {
                Some(_) => "has a wrong checksum",
                None => "is missing (truncated or overwritten file)",
            };
            found.add(
                Some(tail_at),
                "footer_fallback",
                format!("the trailing footer {why}; used the copy at offset 0"),
            )?;
            Ok((h, 0))
        }
        (tail, head) => {
            let (f, at) = match (tail, head) {
                (Some(t), _) => t,
                (None, Some(h)) => (h, 0),
                (None, None) => {
                    return Err(Error::Corrupt {
                        path: path.to_path_buf(),
                        offset: tail_at,
                        what: "no VHD footer (\"conectix\") at the end or at offset 0".into(),
                    });
                }
            };
            found.add(
                Some(at),
                "footer_checksum",
                format!(
                    "footer checksum {:#010x} is wrong and no valid copy exists; used it anyway",
                    f.stored_checksum()
                ),
            )?;
            Ok((f, at))
        }
    }
}

/// Reads the dynamic header and BAT into a block map.
fn dynamic_map(
    base: &SharedSource,
    path: &Path,
    footer: &Footer,
    name: String,
    found: &mut Findings,
) -> Result<(BlockMap, DynamicHeader)> {
    let corrupt = |offset, what: String| Error::Corrupt {
        path: path.to_path_buf(),
        offset,
        what,
    };
    let file_len = base.len();
    let hdr_at = footer.data_offset();
    let header = read_opt(base, hdr_at, DYNAMIC_HEADER_BYTES)
        .and_then(|b| DynamicHeader::parse(&b))
        .ok_or_else(|| {
            corrupt(
                hdr_at,
                "no dynamic disk header (\"cxsparse\") where the footer points".into(),
            )
        })?;
    if !header.checksum_ok() {
        found.add(
            Some(hdr_at),
            "header_checksum",
            "dynamic disk header checksum is wrong; its fields were used anyway".into(),
        )?;
    }
    let bs = u64::from(header.block_size());
    if !bs.is_power_of_two() || !(512..=MAX_BLOCK_SIZE).contains(&bs) {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            offset: hdr_at + 32,
            what: "block size (a power of two from 512)",
            value: bs,
            limit: MAX_BLOCK_SIZE,
        });
    }
    let virtual_size = footer.current_size();
    let needed = virtual_size.div_ceil(bs);
    let entries = u64::from(header.max_table_entries()).min(needed);
    let table_at = header.table_offset();
    let in_file = file_len.saturating_sub(table_at) / 4;
    let count = entries.min(in_file).min(MAX_BLOCKS);
    let mut beyond = Block::Absent;
    if count < entries {
        beyond = Block::Unreadable;
        found.add(
            Some(table_at),
            "bat_truncated",
            format!(
                "the block allocation table holds {entries} entries but only {count} are in the file"
            ),
        )?;
    } else if entries < needed {
        found.add(
            Some(hdr_at + 28),
            "bat_short",
            format!(
                "the block allocation table has {} entries for a disk of {needed} blocks; the rest reads as zeros",
                header.max_table_entries()
            ),
        )?;
    }
    let mut raw = vec![0u8; (count * 4) as usize];
    base.read_exact_at(&mut raw, table_at).map_err(|e| {
        corrupt(
            table_at,
            format!("cannot read the block allocation table: {e}"),
        )
    })?;
    let bitmap_bytes = (bs / 512).div_ceil(8).next_multiple_of(512);
    let blocks = raw
        .chunks_exact(4)
        .map(|c| match u32::from_be_bytes([c[0], c[1], c[2], c[3]]) {
            UNALLOCATED => Block::Absent,
            sector => {
                let bitmap_offset = u64::from(sector) * 512;
                Block::Partial {
                    data_offset: bitmap_offset + bitmap_bytes,
                    bitmap_offset,
                }
            }
        })
        .collect();
    let map = BlockMap {
        name,
        file: base.clone(),
        virtual_size,
        block_size: bs,
        sector_bytes: 512,
        physical_sector: 512,
        bit_order: BitOrder::MsbFirst,
        blocks,
        beyond,
        parent: None,
        orphan: false,
    };
    Ok((map, header))
}

/// Parent names to try, best first: `W2ru`, `W2ku`, then the header's name.
fn parent_hints(
    base: &SharedSource,
    header: &DynamicHeader,
    found: &mut Findings,
) -> Result<Vec<String>> {
    let mut hints = Vec::new();
    for code in [b"W2ru", b"W2ku"] {
        for loc in header.locators().iter().filter(|l| &l.code == code) {
            let len = u64::from(loc.data_len);
            let data = (len <= MAX_LOCATOR_BYTES)
                .then(|| read_opt(base, loc.data_offset, len as usize))
                .flatten();
            match data {
                Some(d) => {
                    let units: Vec<u16> = d
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .take_while(|&u| u != 0)
                        .collect();
                    hints.push(String::from_utf16_lossy(&units));
                }
                None => found.add(
                    Some(loc.data_offset),
                    "parent_locator",
                    format!(
                        "parent locator {} of {len} bytes cannot be read",
                        String::from_utf8_lossy(code)
                    ),
                )?,
            }
        }
    }
    hints.push(header.parent_name());
    Ok(hints)
}
