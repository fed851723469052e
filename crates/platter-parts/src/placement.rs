//! Checks on where partitions lie: past the end of the disk, overlapping.
//!
//! Both are reported as anomalies; the partitions stay listed, because a
//! truncated image or a sloppy partitioner must not hide data.

use crate::Partition;
use crate::anomaly::{Anomalies, codes};

/// What a listed partition is, for the overlap rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An ordinary partition (MBR primary, GPT entry).
    Data,
    /// An MBR extended partition: a container for logical partitions.
    Extended,
    /// An MBR logical partition, inside an extended one.
    Logical,
}

/// A partition with where its table entry lives and its role.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    /// The partition as it will be reported.
    pub(crate) part: Partition,
    /// Byte offset of the table entry that describes it.
    pub(crate) entry_offset: u64,
    /// Its role, for the overlap rules.
    pub(crate) role: Role,
}

impl Placed {
    /// One past the last byte. Construction guarantees no overflow; saturate anyway.
    fn end_bytes(&self) -> u64 {
        self.part.start_bytes.saturating_add(self.part.len_bytes)
    }
}

/// Records an anomaly for each partition past the end of the disk and for
/// overlapping partitions. Logical partitions may lie inside extended ones.
pub(crate) fn check(placed: &[Placed], disk_len: u64, anomalies: &mut Anomalies) {
    for p in placed {
        let end = p.end_bytes();
        if end > disk_len {
            anomalies.push(
                p.entry_offset,
                codes::PARTITION_PAST_END,
                format!(
                    "partition {} (entry at {:#x}): bytes {:#x}..{:#x} extend past the end of the disk (size {:#x})",
                    p.part.index, p.entry_offset, p.part.start_bytes, end, disk_len
                ),
            );
        }
    }
    // Logical and primary data partitions must not overlap each other.
    sweep(
        placed.iter().filter(|p| p.role != Role::Extended),
        anomalies,
    );
    // Extended partitions must not overlap primaries or each other.
    sweep(placed.iter().filter(|p| p.role != Role::Logical), anomalies);
}

/// Sorts by start and reports every partition that starts before the
/// furthest end seen so far: O(n log n), one anomaly per overlapping partition.
fn sweep<'a>(parts: impl Iterator<Item = &'a Placed>, anomalies: &mut Anomalies) {
    let mut sorted: Vec<&Placed> = parts.collect();
    sorted.sort_by_key(|p| (p.part.start_bytes, p.end_bytes(), p.part.index));
    let mut furthest: Option<&Placed> = None;
    for p in sorted {
        if let Some(f) = furthest {
            if p.part.start_bytes < f.end_bytes() {
                anomalies.push(
                    p.entry_offset,
                    codes::PARTITION_OVERLAP,
                    format!(
                        "partition {} (entry at {:#x}, LBA {}..{}) overlaps partition {} (LBA {}..{})",
                        p.part.index,
                        p.entry_offset,
                        p.part.first_lba,
                        last_lba(&p.part),
                        f.part.index,
                        f.part.first_lba,
                        last_lba(&f.part),
                    ),
                );
            }
            if p.end_bytes() > f.end_bytes() {
                furthest = Some(p);
            }
        } else {
            furthest = Some(p);
        }
    }
}

/// Last sector of a partition (inclusive), for messages.
fn last_lba(p: &Partition) -> u64 {
    p.first_lba.saturating_add(p.sectors.saturating_sub(1))
}
