//! VHDX (Hyper-V) reader: dynamic, fixed and differencing disks, damaged
//! headers and region tables, and dirty logs replayed in memory.
//!
//! Opening goes:
//! 1. the file type identifier `vhdxfile` at 0 (a damaged one is reported);
//! 2. the two headers at 64 and 128 KiB: CRC-32C checked, the valid one
//!    with the highest sequence number wins, a damaged copy is reported;
//! 3. a non-empty log (non-zero `LogGuid`) is replayed in memory
//!    ([`log`]): the file is never written;
//! 4. the two region tables at 192 and 256 KiB: the first valid one is
//!    used, a fallback is reported;
//! 5. the metadata items, then the BAT with its interleaved sector bitmap
//!    entries (one every `chunk ratio` payload entries);
//! 6. for a differencing disk, the parent from the locator's
//!    `relative_path`, then `absolute_win32_path` and `volume_path` (by file
//!    name, inside the child's folder unless `allow_outside_paths`),
//!    checked against `parent_linkage`.
//!
//! Block states: NOT_PRESENT and UNDEFINED read from the parent (zeros
//! without one), ZERO and UNMAPPED read as zeros, FULLY_PRESENT from the
//! file, PARTIALLY_PRESENT (differencing only) per sector from the sector
//! bitmap (bit 0 of byte 0 is the first sector). A block past the end of
//! the file, or with an invalid entry, is unreadable and reported.

mod headers;
mod log;
mod metadata;

use std::path::Path;
use std::sync::Arc;

use platter_core::SharedSource;
use platter_core::sys::open_os;

pub use headers::{Header, guid_text, parse_region_table};
pub use metadata::{Metadata, parse as parse_metadata};

use crate::common::{ChainLink, VdiskFormat, VdiskInfo, VdiskOptions, VirtualDisk};
use crate::error::{Error, Result};
use crate::vhd::{
    BitOrder, Block, BlockMap, Findings, MAX_BLOCKS, check_chain_depth, read_opt, resolve_parent,
    truncated_suspects,
};
use headers::{
    BAT_GUID, HEADER_BYTES, HEADER1_AT, HEADER2_AT, METADATA_GUID, REGION_TABLE_BYTES, REGION1_AT,
    REGION2_AT, Region, RegionProblem,
};

/// Largest metadata region read.
pub const MAX_METADATA_BYTES: u64 = 16 << 20;
const MIB: u64 = 1 << 20;

/// Payload block states (spec 2.5.1.1).
const PAYLOAD_NOT_PRESENT: u64 = 0;
const PAYLOAD_UNDEFINED: u64 = 1;
const PAYLOAD_ZERO: u64 = 2;
const PAYLOAD_UNMAPPED: u64 = 3;
const PAYLOAD_FULLY_PRESENT: u64 = 6;
const PAYLOAD_PARTIALLY_PRESENT: u64 = 7;
/// Sector bitmap block state "present".
const SB_PRESENT: u64 = 6;

/// Opens the VHDX at `path` (and its parents) read-only.
///
/// # Errors
/// The file cannot be opened; both headers or both region tables are
/// damaged; metadata is missing or absurd; a parent escapes the folder or
/// does not match; in strict mode, any anomaly.
pub fn open(path: &Path, opts: &VdiskOptions) -> Result<VirtualDisk> {
    let base = open_os(path, &opts.open)?;
    open_source(base, path, opts)
}

/// Opens the VHDX whose bytes are `base`; `path` names it in messages and
/// locates its parents.
///
/// # Errors
/// As [`open`].
pub fn open_source(base: SharedSource, path: &Path, opts: &VdiskOptions) -> Result<VirtualDisk> {
    let (map, info) = open_chain(base, path, opts, 0)?;
    Ok(VirtualDisk { source: map, info })
}

fn corrupt(path: &Path, offset: u64, what: impl Into<String>) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        offset,
        what: what.into(),
    }
}

/// Picks the current header.
fn current_header(base: &SharedSource, path: &Path, found: &mut Findings) -> Result<Header> {
    let mut valid = Vec::new();
    for at in [HEADER1_AT, HEADER2_AT] {
        let why = match read_opt(base, at, HEADER_BYTES).map(|b| Header::parse(&b)) {
            Some(Ok(h)) => {
                valid.push((h, at));
                continue;
            }
            None => "cannot be read (the file is too short)".to_string(),
            Some(Err(p)) => format!("is invalid ({p:?})").to_lowercase(),
        };
        found.add(
            Some(at),
            "header_damaged",
            format!("header copy {why}; the other copy was used"),
        )?;
    }
    valid.sort_by_key(|(h, at)| (std::cmp::Reverse(h.sequence), *at));
    valid
        .into_iter()
        .next()
        .map(|(h, _)| h)
        .ok_or_else(|| corrupt(path, HEADER1_AT, "both VHDX headers are damaged"))
}

/// Reads the region tables, falling back to the second copy.
fn regions(file: &SharedSource, path: &Path, found: &mut Findings) -> Result<Vec<Region>> {
    let mut first_problem = None;
    for at in [REGION1_AT, REGION2_AT] {
        let parsed = read_opt(file, at, REGION_TABLE_BYTES)
            .map(|b| parse_region_table(&b))
            .unwrap_or(Err(RegionProblem::Signature));
        match parsed {
            Ok(r) => {
                if let Some((bad_at, p)) = first_problem {
                    found.add(
                        Some(bad_at),
                        "region_table_fallback",
                        format!("region table copy is invalid ({p:?}); used the copy at {at:#x}")
                            .to_lowercase(),
                    )?;
                }
                return Ok(r);
            }
            Err(p) => {
                first_problem.get_or_insert((at, p));
            }
        }
    }
    Err(corrupt(
        path,
        REGION1_AT,
        "both VHDX region tables are damaged",
    ))
}

/// Opens one link and its parents.
fn open_chain(
    base: SharedSource,
    path: &Path,
    opts: &VdiskOptions,
    depth: usize,
) -> Result<(Arc<BlockMap>, VdiskInfo)> {
    check_chain_depth(path, depth)?;
    let mut found = Findings::new(path, opts.strict);
    let mut properties = Vec::new();
    let file_len = base.len();
    match read_opt(&base, 0, 8 + 512) {
        Some(b) if &b[..8] == b"vhdxfile" => {
            let units: Vec<u16> = b[8..]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&u| u != 0)
                .collect();
            properties.push(("creator".to_string(), String::from_utf16_lossy(&units)));
        }
        _ => found.add(
            Some(0),
            "file_identifier",
            "no \"vhdxfile\" identifier at offset 0".into(),
        )?,
    }
    let header = current_header(&base, path, &mut found)?;
    properties.push(("header sequence".into(), header.sequence.to_string()));
    properties.push(("data write guid".into(), guid_text(&header.data_write_guid)));
    let file = replay_log(base.clone(), path, &header, &mut found, &mut properties)?;
    let regions = regions(&file, path, &mut found)?;
    let find = |g| regions.iter().find(|r| r.guid == g).copied();
    if let Some(r) = regions
        .iter()
        .find(|r| r.required && r.guid != BAT_GUID && r.guid != METADATA_GUID)
    {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            what: format!("required region {}", guid_text(&r.guid)),
        });
    }
    let (Some(bat), Some(meta)) = (find(BAT_GUID), find(METADATA_GUID)) else {
        return Err(corrupt(
            path,
            REGION1_AT,
            "the region table lacks the BAT or the metadata region",
        ));
    };
    if u64::from(meta.length) > MAX_METADATA_BYTES {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            offset: REGION1_AT,
            what: "metadata region length",
            value: meta.length.into(),
            limit: MAX_METADATA_BYTES,
        });
    }
    let meta_bytes = read_opt(&file, meta.offset, meta.length as usize).ok_or_else(|| {
        corrupt(
            path,
            meta.offset,
            "the metadata region lies past the end of the file",
        )
    })?;
    let m = metadata::parse(&meta_bytes)
        .map_err(|(off, what)| corrupt(path, meta.offset.saturating_add(off), what))?;
    let subformat = if m.has_parent {
        "differencing"
    } else if m.leave_blocks_allocated {
        "fixed"
    } else {
        "dynamic"
    };
    properties.push(("block size".into(), m.block_size.to_string()));
    properties.push((
        "sector size".into(),
        format!(
            "{} logical, {} physical",
            m.logical_sector, m.physical_sector
        ),
    ));
    properties.push(("virtual disk id".into(), guid_text(&m.disk_id)));
    let name = path.display().to_string();
    let mut map = block_map(&file, path, &m, bat, name, &mut found)?;

    let mut files = vec![path.to_path_buf()];
    let mut chain_rest = Vec::new();
    let mut parent_anomalies = Vec::new();
    let mut status = "ok".to_string();
    if m.has_parent {
        let get = |k: &str| {
            m.parent_locator
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let hints: Vec<String> = ["relative_path", "absolute_win32_path", "volume_path"]
            .iter()
            .filter_map(|k| get(k))
            .collect();
        match resolve_parent(path, &hints, opts.allow_outside_paths) {
            Ok(parent_path) => {
                properties.push(("parent".into(), parent_path.display().to_string()));
                let parent_base = open_os(&parent_path, &opts.open)?;
                let (parent, pinfo) = open_chain(parent_base, &parent_path, opts, depth + 1)?;
                let norm = |s: &str| {
                    s.trim_matches(|c| c == '{' || c == '}')
                        .to_ascii_lowercase()
                };
                let expected = get("parent_linkage").map(|s| norm(&s)).unwrap_or_default();
                let found_id = pinfo
                    .properties
                    .iter()
                    .find(|(k, _)| k == "data write guid")
                    .map(|(_, v)| norm(v))
                    .unwrap_or_default();
                let alt = get("parent_linkage2").map(|s| norm(&s));
                if expected != found_id && alt.as_deref() != Some(found_id.as_str()) {
                    if !opts.ignore_cid {
                        return Err(Error::ParentMismatch {
                            child: path.to_path_buf(),
                            parent: parent_path,
                            expected,
                            found: found_id,
                        });
                    }
                    status = "parent linkage mismatch (ignored)".into();
                    found.add(
                        None,
                        "parent_mismatch",
                        format!(
                            "parent {} has DataWriteGuid {found_id}, the child expects {expected} (ignored)",
                            parent_path.display()
                        ),
                    )?;
                }
                if parent.virtual_size != m.virtual_size {
                    found.add(
                        None,
                        "parent_size",
                        format!(
                            "parent size {} differs from the child's {}",
                            parent.virtual_size, m.virtual_size
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
                    format!("parent {reference:?} not found: ranges the child does not hold are unreadable"),
                )?;
                status = "parent missing".into();
                map.orphan = true;
                chain_rest.push(ChainLink {
                    path: reference.into(),
                    format: VdiskFormat::Vhdx,
                    subformat: "unknown".into(),
                    status: "missing".into(),
                });
            }
            Err(e) => return Err(e),
        }
    }
    let flen = file.len().max(file_len);
    let suspects = truncated_suspects(&map, file.len());
    if !suspects.is_empty() {
        found.lost_ranges(
            &map,
            &suspects,
            Some(flen),
            "truncated",
            &format!("the file ends at {file_len:#x}"),
        )?;
    }
    let map = Arc::new(map);
    let mut anomalies = found.list;
    anomalies.extend(parent_anomalies);
    let mut chain = vec![ChainLink {
        path: path.to_path_buf(),
        format: VdiskFormat::Vhdx,
        subformat: subformat.into(),
        status,
    }];
    chain.extend(chain_rest);
    let info = VdiskInfo {
        format: VdiskFormat::Vhdx,
        subformat: subformat.into(),
        virtual_size: m.virtual_size,
        block_size: Some(u64::from(m.block_size)),
        allocated_bytes: Some(map.allocated_bytes()),
        chain,
        files,
        properties,
        anomalies,
    };
    Ok((map, info))
}

/// Replays a dirty log in memory; returns the file to read from.
fn replay_log(
    base: SharedSource,
    path: &Path,
    header: &Header,
    found: &mut Findings,
    properties: &mut Vec<(String, String)>,
) -> Result<SharedSource> {
    if header.log_guid == [0u8; 16] || header.log_length == 0 {
        properties.push(("log".into(), "clean".into()));
        return Ok(base);
    }
    let (off, len) = (header.log_offset, u64::from(header.log_length));
    let sane = off % MIB == 0 && off >= MIB && len % MIB == 0 && len <= log::MAX_LOG_BYTES;
    let bytes = if sane {
        read_opt(&base, off, len as usize)
    } else {
        None
    };
    let Some(bytes) = bytes else {
        found.add(
            Some(off),
            "log_unreadable",
            format!("the header names a log of {len} bytes at {off:#x} that cannot be read; the file was read without replaying it"),
        )?;
        properties.push(("log".into(), "dirty, not replayed (unreadable)".into()));
        return Ok(base);
    };
    let file_len = base.len();
    let (file, replay) = log::replay(base, &bytes, header);
    match replay {
        Some(r) => {
            properties.push((
                "log".into(),
                format!(
                    "dirty: replayed in memory ({} entries, sequence {}..{}, {} bytes; the file was not written)",
                    r.entries, r.sequences.0, r.sequences.1, r.bytes
                ),
            ));
            if r.flushed_file_offset > file_len {
                found.add(
                    Some(file_len),
                    "truncated",
                    format!(
                        "the log says the file was at least {:#x} bytes long, it is {file_len:#x}",
                        r.flushed_file_offset
                    ),
                )?;
            }
        }
        None => {
            found.add(
                Some(off),
                "log_invalid",
                format!("the header names log {} but no valid log sequence was found; the file was read as is", guid_text(&header.log_guid)),
            )?;
            properties.push(("log".into(), "dirty, no valid sequence".into()));
        }
    }
    let _ = path;
    Ok(file)
}

/// Reads the BAT into a block map.
fn block_map(
    file: &SharedSource,
    path: &Path,
    m: &Metadata,
    bat: Region,
    name: String,
    found: &mut Findings,
) -> Result<BlockMap> {
    let bs = u64::from(m.block_size);
    let sector = u64::from(m.logical_sector);
    let chunk_ratio = ((1u64 << 23) * sector) / bs;
    let payload = m.virtual_size.div_ceil(bs);
    let total = if m.has_parent {
        payload.div_ceil(chunk_ratio) * (chunk_ratio + 1)
    } else {
        payload + payload.saturating_sub(1) / chunk_ratio
    };
    if payload > MAX_BLOCKS {
        return Err(Error::Limit {
            path: path.to_path_buf(),
            offset: bat.offset,
            what: "payload block count",
            value: payload,
            limit: MAX_BLOCKS,
        });
    }
    let in_region = u64::from(bat.length) / 8;
    let in_file = file.len().saturating_sub(bat.offset) / 8;
    let count = total.min(in_region).min(in_file);
    if count < total {
        found.add(
            Some(bat.offset),
            "bat_truncated",
            format!("the BAT needs {total} entries but only {count} are available"),
        )?;
    }
    let mut raw = vec![0u8; (count * 8) as usize];
    file.read_exact_at(&mut raw, bat.offset)
        .map_err(|e| corrupt(path, bat.offset, format!("cannot read the BAT: {e}")))?;
    let entry = |i: u64| -> Option<u64> {
        let at = usize::try_from(i.checked_mul(8)?).ok()?;
        raw.get(at..at + 8).map(|b| headers::le64(b, 0))
    };
    let bits_per_block = bs / sector;
    let mut blocks = Vec::with_capacity(payload.min(count) as usize);
    let mut invalid = (0u64, None::<u64>);
    for i in 0..payload {
        let Some(e) = entry(i + i / chunk_ratio) else {
            break;
        };
        let state = e & 7;
        let offset = (e >> 20).checked_mul(MIB);
        let block = match (state, offset) {
            (PAYLOAD_NOT_PRESENT | PAYLOAD_UNDEFINED, _) => Block::Absent,
            (PAYLOAD_ZERO | PAYLOAD_UNMAPPED, _) => Block::Zero,
            (PAYLOAD_FULLY_PRESENT, Some(o)) if o >= MIB => Block::Full { data_offset: o },
            (PAYLOAD_PARTIALLY_PRESENT, Some(o)) if o >= MIB && m.has_parent => {
                let chunk = i / chunk_ratio;
                let sb = entry(chunk * (chunk_ratio + 1) + chunk_ratio);
                match sb {
                    Some(sb) if sb & 7 == SB_PRESENT && (sb >> 20) > 0 => {
                        match (sb >> 20).checked_mul(MIB) {
                            Some(at) => Block::Partial {
                                data_offset: o,
                                bitmap_offset: at + (i % chunk_ratio) * bits_per_block / 8,
                            },
                            None => Block::Unreadable,
                        }
                    }
                    _ => Block::Unreadable,
                }
            }
            _ => Block::Unreadable,
        };
        if block == Block::Unreadable {
            invalid.0 += 1;
            invalid.1.get_or_insert(i);
        }
        blocks.push(block);
    }
    if let (n, Some(first)) = invalid {
        found.add(
            Some(bat.offset.saturating_add((first + first / chunk_ratio) * 8)),
            "bat_invalid",
            format!("{n} BAT entries are invalid (first: payload block {first}); their blocks are unreadable"),
        )?;
    }
    let beyond = if (blocks.len() as u64) < payload {
        Block::Unreadable
    } else {
        Block::Zero
    };
    Ok(BlockMap {
        name,
        file: file.clone(),
        virtual_size: m.virtual_size,
        block_size: bs,
        sector_bytes: m.logical_sector,
        physical_sector: m.physical_sector,
        bit_order: BitOrder::LsbFirst,
        blocks,
        beyond,
        parent: None,
        orphan: false,
    })
}
