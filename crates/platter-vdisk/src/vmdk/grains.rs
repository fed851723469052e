//! The grain map of a sparse extent: grain directory and grain tables read
//! into memory, with the redundant copies used where the primary ones are
//! damaged.
//!
//! Hosted sparse extents keep two copies of the directory and tables
//! (`gdOffset` and `rgdOffset`, libvmdk section "Grain directory"). Both
//! are read; when they disagree, the copy with fewer invalid entries wins,
//! then the one with more allocated grains (a crash between the two
//! writes leaves the primary newer), and the disagreement is reported.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use byteorder::{ByteOrder, LittleEndian as LE};
use platter_core::Source;

use super::Report;
use super::header::{SparseHeader, SparseKind};
use crate::error::{Error, Result};

/// Most grain-table entries held in memory for one image (2^26 entries,
/// 512 MiB: 4 TiB of allocated tables at 64 KiB grains).
pub const MAX_MAPPED_GRAINS: u64 = 1 << 26;

/// What one grain of a sparse extent holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    /// Not allocated here: the parent's data, or zeros without a parent.
    Unallocated,
    /// Allocated as zeros (zeroed-grain entry, seSparse zero/unmapped).
    Zero,
    /// Stored uncompressed at this byte offset of the extent file.
    Raw(u64),
    /// Stored compressed; the grain marker (or the deflate data, without
    /// markers) starts at this byte offset.
    Compressed(u64),
    /// The entry is damaged and no valid copy exists.
    Unreadable,
}

const TAG_RAW: u64 = 1 << 62;
const TAG_COMPRESSED: u64 = 1 << 63;
const OFFSET_MASK: u64 = TAG_RAW - 1;

impl Grain {
    fn encode(self) -> u64 {
        match self {
            Grain::Unallocated => 0,
            Grain::Zero => 1,
            Grain::Unreadable => 2,
            Grain::Raw(o) => TAG_RAW | (o & OFFSET_MASK),
            Grain::Compressed(o) => TAG_COMPRESSED | (o & OFFSET_MASK),
        }
    }

    fn decode(v: u64) -> Grain {
        match v {
            0 => Grain::Unallocated,
            1 => Grain::Zero,
            2 => Grain::Unreadable,
            v if v & TAG_COMPRESSED != 0 => Grain::Compressed(v & OFFSET_MASK),
            v => Grain::Raw(v & OFFSET_MASK),
        }
    }
}

/// One grain-directory entry, resolved.
#[derive(Debug, Clone)]
pub enum Table {
    /// No grain table: every grain unallocated.
    Unallocated,
    /// Both copies of the entry are damaged: every grain unreadable.
    Unreadable,
    /// The table's grains, encoded.
    Entries(Arc<[u64]>),
}

/// All grains of one sparse extent.
#[derive(Debug, Clone)]
pub struct GrainMap {
    /// Grain size in bytes.
    pub grain_bytes: u64,
    /// Entries per table.
    pub gtes: u64,
    /// Tables, one per directory entry.
    pub tables: Vec<Table>,
}

impl GrainMap {
    /// The state of grain `index`. Grains past the tables are unreadable:
    /// the directory was cut off, or the header's capacity is smaller than
    /// the extent.
    pub fn grain(&self, index: u64) -> Grain {
        let t = index / self.gtes;
        let Some(table) = usize::try_from(t).ok().and_then(|t| self.tables.get(t)) else {
            return Grain::Unreadable;
        };
        match table {
            Table::Unallocated => Grain::Unallocated,
            Table::Unreadable => Grain::Unreadable,
            Table::Entries(e) => e
                .get((index % self.gtes) as usize)
                .map_or(Grain::Unreadable, |&v| Grain::decode(v)),
        }
    }

    /// Whether table `t` is wholly one state (fast path for big ranges).
    /// Tables past the end are unreadable.
    pub fn uniform_table(&self, t: u64) -> Option<Grain> {
        match usize::try_from(t).ok().and_then(|t| self.tables.get(t)) {
            None | Some(Table::Unreadable) => Some(Grain::Unreadable),
            Some(Table::Unallocated) => Some(Grain::Unallocated),
            Some(Table::Entries(_)) => None,
        }
    }
}

impl Table {
    /// A table of explicit grains.
    pub fn from_grains(grains: impl Iterator<Item = Grain>) -> Self {
        Table::Entries(grains.map(Grain::encode).collect())
    }
}

/// Reads up to `len` bytes at `offset`, returning fewer at end of file.
pub(super) fn read_some(file: &dyn Source, path: &Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let avail = file.len().saturating_sub(offset).min(len);
    let mut buf = vec![0u8; avail as usize];
    file.read_exact_at(&mut buf, offset).map_err(|e| match e {
        platter_core::Error::Read { source, .. } => Error::Io {
            path: path.to_path_buf(),
            offset,
            source,
        },
        other => Error::Core(other),
    })?;
    Ok(buf)
}

/// One candidate copy of a grain table, decoded and scored.
struct Candidate {
    grains: Vec<Grain>,
    bad: usize,
    allocated: usize,
}

struct Loader<'a> {
    file: &'a dyn Source,
    path: &'a Path,
    h: &'a SparseHeader,
    file_len: u64,
    /// Grain pointers below this byte offset point into metadata.
    min_grain_byte: u64,
}

impl Loader<'_> {
    fn gt_bytes(&self) -> u64 {
        self.h.gtes_per_gt * self.h.entry_bytes()
    }

    /// Reads a directory (one entry per table), as far as the file holds
    /// it.
    fn read_directory(&self, offset_sectors: u64) -> Result<Vec<Option<u64>>> {
        let n = self.h.gd_entries;
        let eb = self.h.entry_bytes();
        let start = offset_sectors.saturating_mul(512);
        let bytes = read_some(self.file, self.path, start, n * eb)?;
        // Only the entries inside the file: a directory cut off by the end
        // of the file (or claiming absurd sizes) costs no memory.
        Ok(bytes
            .chunks_exact(eb as usize)
            .map(|b| {
                Some(if eb == 8 {
                    LE::read_u64(b)
                } else {
                    u64::from(LE::read_u32(b))
                })
            })
            .collect())
    }

    /// Byte offset of the table a directory entry points to, or `None`
    /// when the entry is invalid (points outside the file or at the
    /// header). `Some(0)` means "no table".
    fn table_offset(&self, entry: u64) -> Option<u64> {
        if entry == 0 {
            return Some(0);
        }
        let sector = if self.h.kind == SparseKind::SeSparse {
            // Top nibble 1 = allocated; low 32 bits = table index.
            if entry >> 32 != 0x1000_0000 {
                return None;
            }
            let idx = entry & 0xffff_ffff;
            self.h
                .se_tables_offset_sectors
                .checked_add(idx.checked_mul(self.gt_bytes() / 512)?)?
        } else {
            entry
        };
        let off = sector.checked_mul(512)?;
        let end = off.checked_add(self.gt_bytes())?;
        // COWD tables follow the 2048-byte header; the others may start at
        // sector 1.
        let min_sector = if self.h.kind == SparseKind::Cowd {
            self.h.overhead_sectors
        } else {
            1
        };
        (sector >= min_sector && end <= self.file_len).then_some(off)
    }

    /// Decodes one entry of a table.
    fn decode_entry(&self, v: u64) -> (Grain, bool) {
        let h = self.h;
        if h.kind == SparseKind::SeSparse {
            return match v >> 60 {
                0 if v == 0 => (Grain::Unallocated, false),
                1 | 2 => (Grain::Zero, false),
                3 => {
                    let idx =
                        ((v & 0x0fff_0000_0000_0000) >> 48) | ((v & 0x0000_ffff_ffff_ffff) << 12);
                    let off = idx
                        .checked_mul(h.grain_sectors)
                        .and_then(|s| s.checked_add(h.se_grains_offset_sectors))
                        .and_then(|s| s.checked_mul(512));
                    match off {
                        Some(o) if o < self.file_len && o >= self.min_grain_byte => {
                            (Grain::Raw(o), false)
                        }
                        Some(o) if o >= self.file_len && o <= OFFSET_MASK => (Grain::Raw(o), true),
                        _ => (Grain::Unreadable, true),
                    }
                }
                _ => (Grain::Unreadable, true),
            };
        }
        if v == 0 {
            return (Grain::Unallocated, false);
        }
        if v == 1 && h.zeroed_grain {
            return (Grain::Zero, false);
        }
        let off = v * 512; // v < 2^32, cannot overflow
        if off < self.min_grain_byte {
            return (Grain::Unreadable, true);
        }
        if off >= self.file_len {
            // Past the end: a truncated file (or garbage). Raw grains keep
            // the offset so the missing bytes are reported exactly.
            return if h.compressed {
                (Grain::Unreadable, true)
            } else {
                (Grain::Raw(off), true)
            };
        }
        if h.compressed {
            (Grain::Compressed(off), false)
        } else {
            (Grain::Raw(off), false)
        }
    }

    fn read_table(&self, off: u64) -> Result<Candidate> {
        let eb = self.h.entry_bytes();
        let bytes = read_some(self.file, self.path, off, self.gt_bytes())?;
        let mut c = Candidate {
            grains: Vec::with_capacity(self.h.gtes_per_gt as usize),
            bad: 0,
            allocated: 0,
        };
        for chunk in bytes.chunks_exact(eb as usize) {
            let v = if eb == 8 {
                LE::read_u64(chunk)
            } else {
                u64::from(LE::read_u32(chunk))
            };
            let (g, bad) = self.decode_entry(v);
            c.bad += usize::from(bad);
            c.allocated += usize::from(matches!(
                g,
                Grain::Raw(_) | Grain::Compressed(_) | Grain::Zero
            ));
            c.grains.push(g);
        }
        Ok(c)
    }
}

/// Loads the grain map of a sparse extent whose header is `h` (footer
/// already applied for streams), recording anomalies in `report`.
///
/// # Errors
/// I/O errors reading the tables, [`Error::Limit`] when the tables would
/// exceed [`MAX_MAPPED_GRAINS`], or a strict-mode anomaly.
pub fn load(
    file: &dyn Source,
    path: &Path,
    h: &SparseHeader,
    report: &mut Report,
) -> Result<GrainMap> {
    let file_len = file.len();
    let overhead = h.overhead_sectors.saturating_mul(512);
    let min_grain_byte = match h.kind {
        SparseKind::Hosted if overhead >= 512 && overhead <= file_len => overhead,
        // Only the 2048-byte header precedes COWD tables and grains.
        SparseKind::Cowd => overhead,
        _ => 512,
    };
    let ld = Loader {
        file,
        path,
        h,
        file_len,
        min_grain_byte,
    };
    let primary = ld.read_directory(h.gd_offset_sectors)?;
    let redundant = match h.rgd_offset_sectors {
        Some(r) => Some(ld.read_directory(r)?),
        None => None,
    };
    let gd_at = h.gd_offset_sectors.saturating_mul(512);
    let mut cache: HashMap<(u64, u64), Arc<[u64]>> = HashMap::new();
    let mut mapped = 0u64;
    let mut tables = Vec::with_capacity(primary.len());
    for (i, p) in primary.iter().enumerate() {
        let entry_at = gd_at + i as u64 * h.entry_bytes();
        let p_off = p.and_then(|v| ld.table_offset(v));
        let r_off = redundant
            .as_ref()
            .and_then(|r| r.get(i).copied().flatten())
            .and_then(|v| ld.table_offset(v));
        let key = (p_off.unwrap_or(u64::MAX), r_off.unwrap_or(u64::MAX));
        if let Some(t) = cache.get(&key) {
            tables.push(Table::Entries(t.clone()));
            continue;
        }
        let pc = match p_off {
            Some(o) if o > 0 => Some(ld.read_table(o)?),
            _ => None,
        };
        let rc = match r_off {
            Some(o) if o > 0 => Some(ld.read_table(o)?),
            _ => None,
        };
        let chosen = match (pc, rc) {
            (None, None) => {
                if p_off == Some(0) || (p_off.is_none() && r_off == Some(0)) {
                    if p_off.is_none() {
                        report.add(path, Some(entry_at), "redundant_gd_used", format!(
                            "grain directory entry {i} is invalid; the redundant directory says the table is unallocated"
                        ))?;
                    }
                    tables.push(Table::Unallocated);
                } else {
                    if p.is_some() {
                        report.add(path, Some(entry_at), "invalid_gd_entry", format!(
                            "grain directory entry {i} points outside the file and has no valid redundant copy: {} bytes unreadable",
                            h.gtes_per_gt * h.grain_bytes()
                        ))?;
                    }
                    tables.push(Table::Unreadable);
                }
                continue;
            }
            (Some(pc), None) => {
                if p_off.is_some() && r_off.is_none() && h.rgd_offset_sectors.is_some() {
                    report.add(
                        path,
                        Some(entry_at),
                        "invalid_redundant_gd_entry",
                        format!(
                            "redundant grain directory entry {i} is invalid; using the primary"
                        ),
                    )?;
                }
                pc
            }
            (None, Some(rc)) => {
                report.add(
                    path,
                    Some(entry_at),
                    "redundant_gt_used",
                    format!(
                        "grain directory entry {i} is {}; using the redundant grain table",
                        if p_off.is_none() { "invalid" } else { "zero" }
                    ),
                )?;
                rc
            }
            (Some(pc), Some(rc)) => {
                if pc.grains == rc.grains {
                    pc
                } else if (rc.bad, std::cmp::Reverse(rc.allocated))
                    < (pc.bad, std::cmp::Reverse(pc.allocated))
                {
                    let diff = pc
                        .grains
                        .iter()
                        .zip(&rc.grains)
                        .filter(|(a, b)| a != b)
                        .count();
                    report.add(path, p_off, "redundant_gt_used", format!(
                        "grain table {i} differs from its redundant copy in {diff} entries ({} invalid); using the redundant copy",
                        pc.bad
                    ))?;
                    rc
                } else {
                    let diff = pc
                        .grains
                        .iter()
                        .zip(&rc.grains)
                        .filter(|(a, b)| a != b)
                        .count();
                    report.add(path, r_off, "gt_mismatch", format!(
                        "redundant grain table {i} differs from the primary in {diff} entries; using the primary"
                    ))?;
                    pc
                }
            }
        };
        if chosen.bad > 0 {
            let past_end = chosen
                .grains
                .iter()
                .filter(|g| matches!(g, Grain::Raw(o) if *o >= file_len))
                .count();
            let kind = if past_end == chosen.bad {
                "truncated"
            } else {
                "invalid_gte"
            };
            report.add(path, p_off.or(r_off), kind, format!(
                "grain table {i}: {} entries point outside the file ({past_end} past its end); those grains are unreadable",
                chosen.bad
            ))?;
        }
        mapped += chosen.grains.len() as u64;
        if mapped > MAX_MAPPED_GRAINS {
            return Err(Error::Limit {
                path: path.to_path_buf(),
                offset: entry_at,
                what: "grain table entries held in memory",
                value: mapped,
                limit: MAX_MAPPED_GRAINS,
            });
        }
        let arc: Arc<[u64]> = chosen.grains.into_iter().map(Grain::encode).collect();
        cache.insert(key, arc.clone());
        tables.push(Table::Entries(arc));
    }
    let missing_gd = h.gd_entries.saturating_sub(primary.len() as u64);
    if missing_gd > 0 {
        report.add(
            path,
            Some(gd_at),
            "truncated",
            format!("{missing_gd} grain directory entries lie past the end of the file"),
        )?;
    }
    // COWD and seSparse store the directory size; one too small for the
    // capacity leaves the rest of the extent unmapped (read as unreadable).
    let covered = h
        .gd_entries
        .saturating_mul(h.gtes_per_gt)
        .saturating_mul(h.grain_sectors);
    if covered < h.capacity_sectors {
        report.add(
            path,
            Some(gd_at),
            "short_grain_directory",
            format!(
                "the grain directory maps {covered} of {} sectors; the rest is unreadable",
                h.capacity_sectors
            ),
        )?;
    }
    Ok(GrainMap {
        grain_bytes: h.grain_bytes(),
        gtes: h.gtes_per_gt,
        tables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grain_encoding_round_trips() {
        for g in [
            Grain::Unallocated,
            Grain::Zero,
            Grain::Unreadable,
            Grain::Raw(512),
            Grain::Compressed(1 << 40),
        ] {
            assert_eq!(Grain::decode(g.encode()), g);
        }
    }
}
