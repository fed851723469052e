//! Scrub: check the redundancy of an assembled array, as md's `check`
//! action and mdadm's `raid6check` do, without writing anything.
//!
//! - RAID4/5: each row's P must equal the XOR of its data chunks.
//! - RAID6: P and Q are recomputed; when they disagree, the raid6check
//!   locator ([`raid6::locate_block`]) names the culprit: P, Q, or the data
//!   member whose Q exponent is log(ΔQ) − log(ΔP).
//! - RAID1/10: every copy of each block must be equal; with three or more
//!   copies the odd one out is named.
//!
//! Rows that involve a missing member cannot be checked and are counted as
//! skipped. Bytes a member cannot read (bad sectors, areas its ddrescue
//! mapfile does not mark rescued) are left out of the comparison and
//! reported as unchecked. Inconsistent rows are reported as merged runs of
//! array and member byte ranges.
//!
//! ```
//! use platter_core::{MemSource, SharedSource};
//! use platter_raid::array::RaidArray;
//! use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout};
//! use platter_raid::scrub::{Verdict, scrub};
//! use std::sync::Arc;
//!
//! // RAID5, 3 members, 512-byte chunks, 2 rows; row 1's parity is wrong.
//! let d0 = vec![1u8; 1024];
//! let d1 = vec![2u8; 1024];
//! let mut p = vec![3u8; 1024];
//! p[700] ^= 0xff;
//! let g = Geometry::new(Level::Raid5, Layout::Parity(ParityLayout::ParityLast), 512, 3);
//! let members: Vec<Option<SharedSource>> = [d0, d1, p]
//!     .into_iter()
//!     .map(|b| Some(Arc::new(MemSource::new("m", b)) as SharedSource))
//!     .collect();
//! let array = RaidArray::new(g, members).unwrap();
//! let report = scrub(&array, &|_| {}).unwrap();
//! assert_eq!(report.units_checked, 2);
//! assert_eq!(report.inconsistent.len(), 1);
//! let run = &report.inconsistent[0];
//! assert_eq!((run.first_unit, run.units, run.array_offset, run.array_len), (1, 1, 1024, 1024));
//! assert_eq!(run.verdict, Verdict::ParityMismatch);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use platter_core::{Extent, read_filled};
use rayon::prelude::*;
use serde::Serialize;

use crate::array::RaidArray;
use crate::error::{Error, Result};
use crate::geometry::Level;

mod copies;
mod parity;

use copies::check_copies;
use parity::check_row;

/// Largest member window compared at once.
const WINDOW_BYTES: u64 = 256 << 10;

/// Member bytes one parallel job reads (rounded to whole units).
const JOB_BYTES: u64 = 8 << 20;

/// The unit of a RAID1 check (RAID1 has no chunks).
const RAID1_UNIT_BYTES: u64 = 256 << 10;

/// At most this many runs are listed; the counts stay exact.
pub const MAX_RUNS: usize = 100_000;

/// What a scrub compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// P of every row (RAID4/5).
    Parity,
    /// P and Q of every row (RAID6).
    ParityAndQ,
    /// The copies of every block (RAID1/10).
    Copies,
}

/// The verdict on an inconsistent unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Verdict {
    /// RAID4/5: P differs from the XOR of the data; one parity cannot tell
    /// which member is wrong.
    ParityMismatch,
    /// RAID6: only P disagrees: the P block (on `slot`) is wrong.
    PWrong {
        /// The slot holding P in this row.
        slot: usize,
    },
    /// RAID6: only Q disagrees: the Q block (on `slot`) is wrong.
    QWrong {
        /// The slot holding Q in this row.
        slot: usize,
    },
    /// RAID6: P and Q agree that one data block is wrong, the one on `slot`.
    DataWrong {
        /// The slot whose data disagrees.
        slot: usize,
    },
    /// RAID6: the differences do not point at a single block: more than
    /// one member is wrong.
    Multiple,
    /// RAID1/10: the copies on `slots` disagree with the majority.
    CopyWrong {
        /// The slots holding the odd copies.
        slots: Vec<usize>,
    },
    /// RAID1/10: the copies differ with no majority to tell which is right.
    CopiesDiffer {
        /// Every slot holding a copy.
        slots: Vec<usize>,
    },
}

/// A byte range on one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRange {
    /// The slot.
    pub slot: usize,
    /// The image filling the slot.
    pub image: Option<usize>,
    /// Byte offset in the member image (data offset included).
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Consecutive inconsistent units with the same verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScrubRun {
    /// The first unit (row, or chunk for RAID10, block for RAID1).
    pub first_unit: u64,
    /// How many units.
    pub units: u64,
    /// First array byte of the run.
    pub array_offset: u64,
    /// Array bytes of the run.
    pub array_len: u64,
    /// The member ranges taking part (every member of the row for parity
    /// levels, every copy for mirrors).
    pub members: Vec<MemberRange>,
    /// What is wrong.
    pub verdict: Verdict,
}

/// Consecutive units that could not be fully checked because a member could
/// not read some of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UncheckedRun {
    /// The first unit.
    pub first_unit: u64,
    /// How many units.
    pub units: u64,
    /// First array byte of the run.
    pub array_offset: u64,
    /// Array bytes of the run.
    pub array_len: u64,
    /// Member bytes left out of the comparison.
    pub unreadable_member_bytes: u64,
}

/// The result of [`scrub`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScrubReport {
    /// The geometry ([`Geometry::describe`](crate::geometry::Geometry::describe)).
    pub geometry: String,
    /// What was compared.
    pub check: Check,
    /// The unit of the counts: `"row"`, `"chunk"` (RAID10) or `"block"` (RAID1).
    pub unit: &'static str,
    /// Array bytes per unit (the last unit may be shorter).
    pub unit_array_bytes: u64,
    /// Units in the array.
    pub units: u64,
    /// Units compared (fully or partly).
    pub units_checked: u64,
    /// Units not compared at all.
    pub units_skipped: u64,
    /// Why units were skipped.
    pub skipped_reason: Option<String>,
    /// Units found inconsistent.
    pub inconsistent_units: u64,
    /// Those units, as merged runs (at most [`MAX_RUNS`]).
    pub inconsistent: Vec<ScrubRun>,
    /// Member bytes that could not be read and were not compared.
    pub unreadable_member_bytes: u64,
    /// Units with such bytes, as merged runs (at most [`MAX_RUNS`]).
    pub unchecked: Vec<UncheckedRun>,
    /// True when a run list was cut at [`MAX_RUNS`].
    pub truncated: bool,
}

impl ScrubReport {
    /// True when nothing inconsistent was found.
    pub fn is_consistent(&self) -> bool {
        self.inconsistent_units == 0
    }
}

/// The outcome of one unit.
#[derive(Debug, Default)]
pub(super) struct UnitOutcome {
    verdict: Option<Verdict>,
    members: Vec<MemberRange>,
    unreadable: u64,
    skipped: bool,
}

/// What one parallel job found.
#[derive(Debug, Default)]
struct JobResult {
    checked: u64,
    skipped: u64,
    inconsistent_units: u64,
    unreadable: u64,
    runs: Vec<ScrubRun>,
    unchecked: Vec<UncheckedRun>,
}

/// Checks the redundancy of `array` (see the [module docs](self)).
/// `progress` is called with the array bytes covered so far, from worker
/// threads. Fails for RAID0 and linear, which have nothing to check, and
/// when a member fails in a way other than unreadable sectors.
pub fn scrub(array: &RaidArray, progress: &(dyn Fn(u64) + Sync)) -> Result<ScrubReport> {
    let g = array.geometry();
    let m = array.mapping();
    let size = m.array_size();
    let chunk = m.chunk_bytes();
    let (check, unit_name, unit_bytes, member_unit) = match g.level {
        Level::Raid4 | Level::Raid5 => {
            let dd = m.data_disks().unwrap_or(1) as u64;
            (
                Check::Parity,
                "row",
                chunk * dd,
                chunk * g.slots.len() as u64,
            )
        }
        Level::Raid6 => {
            let dd = m.data_disks().unwrap_or(1) as u64;
            (
                Check::ParityAndQ,
                "row",
                chunk * dd,
                chunk * g.slots.len() as u64,
            )
        }
        Level::Raid10 => (Check::Copies, "chunk", chunk, chunk * 2),
        Level::Raid1 => (
            Check::Copies,
            "block",
            RAID1_UNIT_BYTES,
            RAID1_UNIT_BYTES * 2,
        ),
        Level::Raid0 | Level::Linear => {
            return Err(Error::NoRedundancy { level: g.level });
        }
    };
    let units = size.div_ceil(unit_bytes.max(1));
    let missing = array.missing_slots();
    let mut skipped_reason = None;
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|s| s.to_string()).collect();
        skipped_reason = Some(match check {
            Check::Copies => format!(
                "slot {} missing: blocks with fewer than two copies present are not checked",
                list.join(", ")
            ),
            _ => format!(
                "slot {} missing: every row involves it, so no parity can be checked",
                list.join(", ")
            ),
        });
    }
    let per_job = (JOB_BYTES / member_unit.max(1)).max(1);
    let jobs = units.div_ceil(per_job);
    let done = AtomicU64::new(0);
    let results: Vec<Result<JobResult>> = (0..jobs)
        .into_par_iter()
        .map(|j| {
            let first = j * per_job;
            let last = (first + per_job).min(units);
            let mut job = JobResult::default();
            let mut bufs = Buffers::default();
            for u in first..last {
                let pos = u * unit_bytes;
                let len = unit_bytes.min(size - pos);
                let out = match check {
                    Check::Copies => check_copies(array, pos, len, &mut bufs)?,
                    _ => check_row(array, u, &mut bufs)?,
                };
                job.add(u, pos, len, out);
                progress(done.fetch_add(len, Ordering::Relaxed) + len);
            }
            Ok(job)
        })
        .collect();
    let mut report = ScrubReport {
        geometry: g.describe(),
        check,
        unit: unit_name,
        unit_array_bytes: unit_bytes,
        units,
        units_checked: 0,
        units_skipped: 0,
        skipped_reason,
        inconsistent_units: 0,
        inconsistent: Vec::new(),
        unreadable_member_bytes: 0,
        unchecked: Vec::new(),
        truncated: false,
    };
    for r in results {
        let r = r?;
        report.units_checked += r.checked;
        report.units_skipped += r.skipped;
        report.inconsistent_units += r.inconsistent_units;
        report.unreadable_member_bytes += r.unreadable;
        for run in r.runs {
            push_run(&mut report.inconsistent, run, &mut report.truncated);
        }
        for run in r.unchecked {
            push_unchecked(&mut report.unchecked, run, &mut report.truncated);
        }
    }
    if report.units_skipped == 0 {
        report.skipped_reason = None;
    }
    Ok(report)
}

impl JobResult {
    fn add(&mut self, unit: u64, pos: u64, len: u64, out: UnitOutcome) {
        if out.skipped {
            self.skipped += 1;
            return;
        }
        self.checked += 1;
        if out.unreadable > 0 {
            self.unreadable += out.unreadable;
            let run = UncheckedRun {
                first_unit: unit,
                units: 1,
                array_offset: pos,
                array_len: len,
                unreadable_member_bytes: out.unreadable,
            };
            let mut t = false;
            push_unchecked(&mut self.unchecked, run, &mut t);
        }
        if let Some(verdict) = out.verdict {
            self.inconsistent_units += 1;
            let run = ScrubRun {
                first_unit: unit,
                units: 1,
                array_offset: pos,
                array_len: len,
                members: out.members,
                verdict,
            };
            let mut t = false;
            push_run(&mut self.runs, run, &mut t);
        }
    }
}

/// Appends `run`, merging it into the last one when it continues it: same
/// verdict, adjacent units and array bytes, each member range continuing
/// the previous one on the same slot.
fn push_run(runs: &mut Vec<ScrubRun>, run: ScrubRun, truncated: &mut bool) {
    if let Some(last) = runs.last_mut() {
        let continues = last.verdict == run.verdict
            && last.first_unit + last.units == run.first_unit
            && last.array_offset + last.array_len == run.array_offset
            && last.members.len() == run.members.len()
            && last
                .members
                .iter()
                .zip(&run.members)
                .all(|(a, b)| a.slot == b.slot && a.offset + a.len == b.offset);
        if continues {
            last.units += run.units;
            last.array_len += run.array_len;
            for (a, b) in last.members.iter_mut().zip(&run.members) {
                a.len += b.len;
            }
            return;
        }
    }
    if runs.len() >= MAX_RUNS {
        *truncated = true;
        return;
    }
    runs.push(run);
}

fn push_unchecked(runs: &mut Vec<UncheckedRun>, run: UncheckedRun, truncated: &mut bool) {
    if let Some(last) = runs.last_mut() {
        if last.first_unit + last.units == run.first_unit {
            last.units += run.units;
            last.array_len += run.array_len;
            last.unreadable_member_bytes += run.unreadable_member_bytes;
            return;
        }
    }
    if runs.len() >= MAX_RUNS {
        *truncated = true;
        return;
    }
    runs.push(run);
}

/// Reusable buffers of one worker.
#[derive(Debug, Default)]
pub(super) struct Buffers {
    members: Vec<Vec<u8>>,
    p: Vec<u8>,
    q: Vec<u8>,
    /// 1 where some member could not read the byte.
    mask: Vec<u8>,
}

/// Reads `buf.len()` bytes of the slot's member at `offset`; unreadable
/// bytes (and bytes past the member's end) are zero and marked in `mask`.
/// Returns how many bytes were unreadable.
pub(super) fn read_masked(
    array: &RaidArray,
    slot: usize,
    offset: u64,
    buf: &mut [u8],
    mask: &mut [u8],
) -> Result<u64> {
    let Some(src) = array.member(slot) else {
        buf.fill(0);
        mask.fill(1);
        return Ok(buf.len() as u64);
    };
    let member_error = |source| Error::MemberRead {
        slot,
        image: array.geometry().slots[slot].image.unwrap_or(usize::MAX),
        offset,
        source,
    };
    let gran = src.sector_size().logical.max(1);
    let (covered, bad): (usize, Vec<Extent>) =
        read_filled(src.as_ref(), buf, offset, 0, gran).map_err(member_error)?;
    let mut lost = 0u64;
    for e in &bad {
        let a = (e.offset - offset) as usize;
        let b = (e.end() - offset) as usize;
        mask[a..b].fill(1);
        lost += e.len;
    }
    if covered < buf.len() {
        buf[covered..].fill(0);
        mask[covered..].fill(1);
        lost += (buf.len() - covered) as u64;
    }
    Ok(lost)
}

#[cfg(test)]
mod tests;
