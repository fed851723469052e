//! Recovering a streamOptimized extent whose footer or grain directory is
//! lost (a truncated download, a cut-off export) by walking its markers.
//!
//! A stream is a sequence of sector-aligned markers after the header
//! (libvmdk "Stream optimized sparse extent file"; qemu `block/vmdk.c`
//! `VmdkGrainMarker`): a grain marker is `lba: u64, size: u32` followed by
//! `size` bytes of zlib data; a metadata marker has `size == 0` and a
//! `type: u32` (0 end of stream, 1 grain table, 2 grain directory,
//! 3 footer) followed by `lba` sectors of metadata.
//!
//! What is recovered:
//! - every complete grain found is data;
//! - a grain table found in the stream is authoritative for its range
//!   (entries of 0 are zeros);
//! - when the grains appear in increasing LBA order (as VMware and qemu
//!   write them) and no damaged stretch was skipped between two of them,
//!   the grains in between were never written: zeros;
//! - everything else (past the last complete grain, or inside a damaged
//!   stretch) is unreadable, never guessed.

use std::collections::BTreeMap;
use std::path::Path;

use byteorder::{ByteOrder, LittleEndian as LE};
use platter_core::Source;

use super::Report;
use super::grains::{Grain, GrainMap, Table, read_some};
use super::header::SparseHeader;
use crate::error::Result;

/// Bytes read per step of the scan.
const WINDOW_BYTES: u64 = 8 << 20;

/// Largest compressed grain accepted: twice the grain plus slack (deflate
/// of incompressible data grows by a few bytes per 16 KiB).
pub fn max_compressed(grain_bytes: u64) -> u64 {
    grain_bytes * 2 + 1024
}

/// A marker-level view of the file through a sliding window.
struct Window<'a> {
    file: &'a dyn Source,
    path: &'a Path,
    start: u64,
    buf: Vec<u8>,
}

impl Window<'_> {
    /// The 16 bytes at `off`, or `None` past the end of the file.
    fn head(&mut self, off: u64) -> Result<Option<[u8; 16]>> {
        if off + 16 > self.file.len() {
            return Ok(None);
        }
        if off < self.start || off + 16 > self.start + self.buf.len() as u64 {
            self.start = off;
            self.buf = read_some(self.file, self.path, off, WINDOW_BYTES)?;
        }
        let at = (off - self.start) as usize;
        let mut h = [0u8; 16];
        h.copy_from_slice(&self.buf[at..at + 16]);
        Ok(Some(h))
    }
}

/// Checks the two-byte zlib header (CMF/FLG) that starts compressed data.
fn zlib_header_ok(b0: u8, b1: u8) -> bool {
    b0 & 0x0f == 8 && (u16::from(b0) << 8 | u16::from(b1)) % 31 == 0
}

/// Scans the stream and builds a grain map from what it finds.
///
/// # Errors
/// I/O errors; a strict-mode anomaly.
pub fn recover(
    file: &dyn Source,
    path: &Path,
    h: &SparseHeader,
    report: &mut Report,
) -> Result<GrainMap> {
    let grain_bytes = h.grain_bytes();
    let capacity_grains = h.capacity_sectors.div_ceil(h.grain_sectors);
    let file_len = file.len();
    let mut w = Window {
        file,
        path,
        start: 0,
        buf: Vec::new(),
    };
    let mut sector = h.overhead_sectors.max(1);
    if sector.saturating_mul(512) >= file_len {
        sector = h
            .desc_offset_sectors
            .saturating_add(h.desc_size_sectors)
            .max(1);
    }
    // grain index -> marker offset, in file order.
    let mut found: BTreeMap<u64, u64> = BTreeMap::new();
    let mut order: Vec<u64> = Vec::new();
    // Grain-index ranges [lo, hi) around a damaged stretch that was skipped.
    let mut damaged: Vec<(u64, u64)> = Vec::new();
    let mut tables_found: Vec<(u64, Vec<u32>)> = Vec::new();
    let mut resyncing = false;
    let mut truncated_grain = false;
    while let Some(m) = w.head(sector.saturating_mul(512))? {
        let off = sector * 512;
        let val = LE::read_u64(&m[0..]);
        let size = u64::from(LE::read_u32(&m[8..]));
        let mut next = None;
        if size > 0 {
            let plausible = size <= max_compressed(grain_bytes)
                && val % h.grain_sectors == 0
                && val / h.grain_sectors < capacity_grains
                && zlib_header_ok(m[12], m[13]);
            if plausible {
                let end = off + 12 + size;
                if end <= file_len {
                    let idx = val / h.grain_sectors;
                    if resyncing {
                        damaged.push((order.last().map_or(0, |p| p + 1), idx));
                    }
                    resyncing = false;
                    found.entry(idx).or_insert(off);
                    order.push(idx);
                } else {
                    truncated_grain = true;
                }
                next = Some(end.div_ceil(512));
            }
        } else {
            let kind = LE::read_u32(&m[12..]);
            match kind {
                1..=3 if val > 0 && val <= 1 << 20 => {
                    if kind == 1 {
                        let bytes =
                            read_some(file, path, off + 512, (val * 512).min(h.gtes_per_gt * 4))?;
                        let entries: Vec<u32> = bytes.chunks_exact(4).map(LE::read_u32).collect();
                        if entries.len() as u64 >= h.gtes_per_gt {
                            tables_found.push((off, entries));
                        }
                    }
                    next = Some(sector + 1 + val);
                }
                _ => {}
            }
        }
        match next {
            Some(n) => sector = n,
            None => {
                // Not a marker: an end-of-stream marker, padding or damage.
                // Step one sector and look again.
                let all_zero = m.iter().all(|&b| b == 0);
                if !all_zero {
                    resyncing = true;
                }
                sector += 1;
            }
        }
    }
    if resyncing {
        damaged.push((order.last().map_or(0, |p| p + 1), capacity_grains));
    }
    let monotonic = order.windows(2).all(|p| p[0] < p[1]);
    let last_found = order.last().copied();
    // Tables past the last one holding a found grain or table stay out of
    // the map: they read as unreadable, and cost no memory.
    let by_offset: BTreeMap<u64, u64> = found.iter().map(|(&i, &o)| (o, i)).collect();
    let table_of = |entries: &[u32]| {
        entries.iter().find_map(|&s| {
            by_offset
                .get(&(u64::from(s) * 512))
                .map(|i| i / h.gtes_per_gt)
        })
    };
    let last_table = found
        .keys()
        .next_back()
        .map(|i| i / h.gtes_per_gt)
        .into_iter()
        .chain(tables_found.iter().filter_map(|(_, e)| table_of(e)))
        .max();
    let gd_count = last_table.map_or(0, |t| t + 1);
    let mut from_stream: BTreeMap<u64, Table> = BTreeMap::new();
    // Grain tables found in the stream: place them by the grains they name.
    for (_, entries) in &tables_found {
        let Some(t) = table_of(entries) else {
            continue;
        };
        let grains = entries[..h.gtes_per_gt as usize].iter().map(|&s| match s {
            0 => Grain::Unallocated,
            1 if h.zeroed_grain => Grain::Zero,
            s if u64::from(s) * 512 + 12 <= file_len => Grain::Compressed(u64::from(s) * 512),
            _ => Grain::Unreadable,
        });
        from_stream.insert(t, Table::from_grains(grains));
    }
    let damaged_between = |idx: u64| damaged.iter().any(|&(lo, hi)| idx >= lo && idx < hi);
    let state = |idx: u64| {
        if idx >= capacity_grains
            || (monotonic && last_found.is_some_and(|l| idx < l) && !damaged_between(idx))
        {
            Grain::Unallocated
        } else {
            Grain::Unreadable
        }
    };
    let mut lost_grains = capacity_grains.saturating_sub(gd_count * h.gtes_per_gt);
    let mut tables = Vec::with_capacity(gd_count as usize);
    for t in 0..gd_count {
        if let Some(table) = from_stream.remove(&t) {
            tables.push(table);
            continue;
        }
        let first = t * h.gtes_per_gt;
        let last = first + h.gtes_per_gt;
        if found.range(first..last).next().is_none() {
            // Nothing of this table survived: one state for all of it.
            if state(first) == Grain::Unreadable {
                lost_grains += h.gtes_per_gt.min(capacity_grains.saturating_sub(first));
                tables.push(Table::Unreadable);
            } else {
                tables.push(Table::Unallocated);
            }
            continue;
        }
        let grains = (first..last).map(|idx| match found.get(&idx) {
            Some(&o) => Grain::Compressed(o),
            None => {
                let g = state(idx);
                lost_grains += u64::from(g == Grain::Unreadable);
                g
            }
        });
        tables.push(Table::from_grains(grains));
    }
    let lost_bytes = lost_grains.saturating_mul(grain_bytes);
    report.add(
        path,
        Some(sector.saturating_mul(512).min(file_len)),
        "stream_recovered",
        format!(
            "no usable footer or grain directory: recovered {} grains by scanning markers{}; {lost_bytes} bytes could not be recovered",
            found.len(),
            if truncated_grain { " (the last grain is cut off)" } else { "" }
        ),
    )?;
    Ok(GrainMap {
        grain_bytes,
        gtes: h.gtes_per_gt,
        tables,
    })
}
