//! The assembled array as a [`Source`]: logical reads mapped onto the
//! members, degraded reads rebuilt from parity or mirrors, and member bad
//! sectors repaired where the row still has enough redundancy.
//!
//! ```
//! use platter_core::{MemSource, SharedSource, Source};
//! use platter_raid::array::RaidArray;
//! use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout};
//! use std::sync::Arc;
//!
//! // Three members of a RAID5 (left-symmetric, 512-byte chunks): row 0 holds
//! // D0 on member 0, D1 on member 1 and P on member 2.
//! let d0 = vec![1u8; 512];
//! let d1 = vec![2u8; 512];
//! let p: Vec<u8> = d0.iter().zip(&d1).map(|(a, b)| a ^ b).collect();
//! let g = Geometry::new(Level::Raid5, Layout::Parity(ParityLayout::LeftSymmetric), 512, 3);
//! // Member 1 is lost: its data comes back from the others.
//! let members: Vec<Option<SharedSource>> = vec![
//!     Some(Arc::new(MemSource::new("m0", d0))),
//!     None,
//!     Some(Arc::new(MemSource::new("m2", p))),
//! ];
//! let array = RaidArray::new(g, members).unwrap();
//! let mut buf = vec![0u8; 1024];
//! array.read_exact_at(&mut buf, 0).unwrap();
//! assert_eq!(&buf[512..], &[2u8; 512][..]);
//! assert_eq!(array.repair_stats().rebuilt_from_parity_bytes, 512);
//! ```
//!
//! # Bad sectors
//! A member may announce unreadable ranges through
//! [`Source::extents`] (a ddrescue image under its mapfile, see
//! [`platter_core::MapfileSource`]) or simply fail reads with
//! [`platter_core::Error::Read`]/[`Unreadable`](platter_core::Error::Unreadable).
//! Either way the failing range is narrowed down to the sector, and each
//! sector is rebuilt from the rest of its row (or another copy) when at most
//! "redundancy" members of that row are missing or bad at that sector.
//! What cannot be rebuilt is reported as unreadable array ranges, exact to
//! the byte ranges the members reported (to the sector for read errors):
//! [`RaidArray::read_checked`] returns them, [`Source::read_at`] fails with
//! [`platter_core::Error::Unreadable`] naming the first, and
//! [`Source::extents`] lists them without reading data.

mod direct;
mod extents;
mod parity;

use std::sync::atomic::{AtomicU64, Ordering};

use platter_core::{Extent, ExtentKind, SectorSize, SharedSource, Source, push_extent};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::geometry::{Geometry, Level, Mapping};

/// Reads at least this long are split across rayon workers.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// Target size of one parallel job (rounded to whole rows).
const JOB_BYTES: u64 = 2 << 20;

/// Counters of the repair work done by an array since it was opened.
/// Bytes are counted each time they are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RepairStats {
    /// Bytes of missing or bad members rebuilt from parity (RAID4/5/6).
    pub rebuilt_from_parity_bytes: u64,
    /// Bytes of missing or bad members read from another copy (RAID1/10).
    pub rebuilt_from_mirror_bytes: u64,
    /// Bytes that could not be rebuilt and were reported unreadable.
    pub unreadable_bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    parity: AtomicU64,
    mirror: AtomicU64,
    unreadable: AtomicU64,
}

/// An assembled RAID array. See the [module docs](self).
#[derive(Debug)]
pub struct RaidArray {
    name: String,
    mapping: Mapping,
    /// Member source of each slot (`None`: missing).
    slots: Vec<Option<SharedSource>>,
    /// Image index of each slot, for messages.
    images: Vec<Option<usize>>,
    sector_size: SectorSize,
    counters: Counters,
}

impl RaidArray {
    /// Assembles `geometry` over `members` (indexed by image index, as
    /// [`Slot::image`](crate::geometry::Slot::image) names them; `None` for
    /// an image that is absent). The geometry is validated and resolved
    /// against the member lengths ([`Geometry::mapping`]).
    ///
    /// Missing members are allowed whatever the redundancy: ranges that
    /// cannot be rebuilt read as unreadable.
    pub fn new(geometry: Geometry, members: Vec<Option<SharedSource>>) -> Result<RaidArray> {
        let sizes: Vec<Option<u64>> = members
            .iter()
            .map(|m| m.as_ref().map(|s| s.len()))
            .collect();
        let mapping = geometry.mapping(&sizes)?;
        let images: Vec<Option<usize>> = geometry.slots.iter().map(|s| s.image).collect();
        let slots: Vec<Option<SharedSource>> = images
            .iter()
            .map(|i| i.and_then(|i| members.get(i).cloned().flatten()))
            .collect();
        let logical = slots
            .iter()
            .flatten()
            .map(|s| s.sector_size().logical)
            .max()
            .unwrap_or(512);
        let physical = slots
            .iter()
            .flatten()
            .map(|s| s.sector_size().physical)
            .max()
            .unwrap_or(512)
            .max(logical);
        Ok(RaidArray {
            name: geometry.describe(),
            mapping,
            slots,
            images,
            sector_size: SectorSize { logical, physical },
            counters: Counters::default(),
        })
    }

    /// Replaces the name used in messages (the default describes the geometry).
    pub fn with_name(mut self, name: impl Into<String>) -> RaidArray {
        self.name = name.into();
        self
    }

    /// The resolved geometry.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// The parameters.
    pub fn geometry(&self) -> &Geometry {
        self.mapping.geometry()
    }

    /// The member source of `slot`, if present.
    pub fn member(&self, slot: usize) -> Option<&SharedSource> {
        self.slots.get(slot).and_then(|s| s.as_ref())
    }

    /// Slots with no member.
    pub fn missing_slots(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&s| self.slots[s].is_none())
            .collect()
    }

    /// What has been rebuilt so far.
    pub fn repair_stats(&self) -> RepairStats {
        RepairStats {
            rebuilt_from_parity_bytes: self.counters.parity.load(Ordering::Relaxed),
            rebuilt_from_mirror_bytes: self.counters.mirror.load(Ordering::Relaxed),
            unreadable_bytes: self.counters.unreadable.load(Ordering::Relaxed),
        }
    }

    /// Reads `buf.len()` bytes at `offset` (clipped to the array), rebuilding
    /// what it can, and returns the bytes covered with the array ranges
    /// that could not be read (filled with zeros in `buf`).
    pub fn read_checked(&self, buf: &mut [u8], offset: u64) -> Result<(usize, Vec<Extent>)> {
        let size = self.mapping.array_size();
        if offset >= size || buf.is_empty() {
            return Ok((0, Vec::new()));
        }
        let n = (buf.len() as u64).min(size - offset) as usize;
        let buf = &mut buf[..n];
        let bad = if n >= PARALLEL_MIN_BYTES {
            self.read_parallel(buf, offset)?
        } else {
            let mut bad = Vec::new();
            self.read_range(buf, offset, &mut bad)?;
            bad
        };
        let lost: u64 = bad.iter().map(|e| e.len).sum();
        if lost > 0 {
            self.counters.unreadable.fetch_add(lost, Ordering::Relaxed);
        }
        Ok((n, bad))
    }

    /// The unit rows are aligned to for parallel jobs.
    fn job_unit(&self) -> u64 {
        let chunk = self.mapping.chunk_bytes().max(1);
        match self.geometry().level {
            Level::Raid4 | Level::Raid5 | Level::Raid6 => {
                chunk * self.mapping.data_disks().unwrap_or(1) as u64
            }
            Level::Raid0 | Level::Raid10 => chunk,
            Level::Raid1 | Level::Linear => 64 * 1024,
        }
    }

    fn read_parallel(&self, buf: &mut [u8], offset: u64) -> Result<Vec<Extent>> {
        let unit = self.job_unit();
        let job = JOB_BYTES.div_ceil(unit).max(1) * unit;
        // Split at array offsets that are multiples of `job`.
        let mut pieces: Vec<(u64, &mut [u8])> = Vec::new();
        let mut rest = buf;
        let mut pos = offset;
        while !rest.is_empty() {
            let next = (pos / job + 1) * job;
            let take = ((next - pos) as usize).min(rest.len());
            let (head, tail) = rest.split_at_mut(take);
            pieces.push((pos, head));
            pos += take as u64;
            rest = tail;
        }
        let results: Vec<Result<Vec<Extent>>> = pieces
            .into_par_iter()
            .map(|(pos, piece)| {
                let mut bad = Vec::new();
                self.read_range(piece, pos, &mut bad).map(|()| bad)
            })
            .collect();
        let mut all = Vec::new();
        for r in results {
            for e in r? {
                push_extent(&mut all, e);
            }
        }
        Ok(all)
    }

    /// Sequential read of `buf` at `offset` (inside the array).
    fn read_range(&self, buf: &mut [u8], offset: u64, bad: &mut Vec<Extent>) -> Result<()> {
        let mut done = 0usize;
        let mut scratch = parity::Scratch::default();
        while done < buf.len() {
            let pos = offset + done as u64;
            let remaining = buf.len() - done;
            let out = &mut buf[done..];
            let n = match self.geometry().level {
                Level::Raid4 | Level::Raid5 | Level::Raid6 => {
                    self.read_parity_row(out, pos, bad, &mut scratch)?
                }
                _ => {
                    let copies = self.mapping.copies(pos);
                    let Some(first) = copies.first() else { break };
                    let n = (first.len.min(remaining as u64)) as usize;
                    self.read_copies(&copies, &mut out[..n], pos, bad)?;
                    n
                }
            };
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(())
    }

    fn note_rebuilt(&self, level: Level, bytes: u64) {
        let c = match level {
            Level::Raid1 | Level::Raid10 => &self.counters.mirror,
            _ => &self.counters.parity,
        };
        c.fetch_add(bytes, Ordering::Relaxed);
    }

    fn member_error(&self, slot: usize, offset: u64, source: platter_core::Error) -> Error {
        Error::MemberRead {
            slot,
            image: self.images[slot].unwrap_or(usize::MAX),
            offset,
            source,
        }
    }
}

impl RaidArray {
    /// Converts a crate error into the core error a [`Source`] returns: a
    /// member's own error (naming the member and its offset) passes through.
    fn to_core(&self, e: Error) -> platter_core::Error {
        match e {
            Error::Source(e) => e,
            Error::MemberRead { source, .. } => source,
            other => platter_core::Error::Io {
                name: self.name.clone(),
                what: "array read",
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}

impl Source for RaidArray {
    fn len(&self) -> u64 {
        self.mapping.array_size()
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn sector_size(&self) -> SectorSize {
        self.sector_size
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> platter_core::Result<usize> {
        let (n, bad) = self
            .read_checked(buf, offset)
            .map_err(|e| self.to_core(e))?;
        if let Some(first) = bad.first() {
            return Err(platter_core::Error::Unreadable {
                name: self.name.clone(),
                offset: first.offset,
                len: first.len,
            });
        }
        Ok(n)
    }

    fn extents(&self, offset: u64, len: u64) -> platter_core::Result<Vec<Extent>> {
        self.extents_impl(offset, len).map_err(|e| self.to_core(e))
    }
}

/// Pushes an unreadable array range.
fn push_bad(bad: &mut Vec<Extent>, offset: u64, len: u64) {
    push_extent(
        bad,
        Extent {
            offset,
            len,
            kind: ExtentKind::Unreadable,
        },
    );
}

#[cfg(test)]
mod tests;
