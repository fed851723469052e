//! Targeted reads where an ext file system's backup superblocks would lie.
//!
//! A fresh or lightly used ext4 keeps its data in the first megabytes and
//! its backup superblocks one group (128 MiB with 4 KiB blocks) apart: the
//! spread-out sample windows of a large member rarely meet one, and the
//! structures seen all sit in the array's first chunks, which tells no
//! chunk size or member order. The primary superblock gives the backups'
//! file-system offsets; for every chunk size and row width (data members
//! per row) those offsets land at a few member offsets, the same on every
//! member. Those few sectors are read from every member and scanned like
//! any sample: the backups found there are self-locating structures far
//! into the array, which pin the chunk and the order.

use std::collections::BTreeSet;

use platter_core::Source;

use crate::error::Result;
use crate::sample::{self, SECTOR, Samples};
use crate::structures::{AnchorKind, ext};

/// Backup groups probed per file system, at most.
const MAX_GROUPS: usize = 8;
/// Groups scanned for backups, at most.
const MAX_GROUP_SCAN: u64 = 1 << 16;
/// Bytes read at each probe (a 4 KiB block holds a backup superblock).
const PROBE_BYTES: u64 = 4096;
/// Probes per member, at most.
const MAX_PROBES: usize = 2048;

/// Row widths a backup can be striped over for `n` members: one (mirrors
/// and the first member of a concatenation), half (RAID10 near), and the
/// data members of RAID6, RAID5/4 and RAID0.
fn widths(n: u64) -> Vec<u64> {
    let mut v = vec![1, n / 2, n.saturating_sub(2), n.saturating_sub(1), n];
    v.retain(|&k| k >= 1);
    v.sort_unstable();
    v.dedup();
    v
}

/// Member offsets (probe-aligned) where the backups of the primary
/// superblock `sb`, found at `base + 1024` on a member, lie for each chunk
/// size and row width of `n` members, with the file system starting at
/// the array's start and the array at `base` on every member.
fn probe_offsets(sb: &ext::ExtSuperblock, base: u64, n: u64) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    // A hostile superblock may claim billions of groups: only the first
    // are looked at (sparse_super's backups are 1 and powers of 3, 5, 7;
    // sparse_super2's two are named).
    let named = sb.backup_bgs.iter().map(|&g| u64::from(g));
    let backups = (1..sb.groups.min(MAX_GROUP_SCAN))
        .chain(named.filter(|&g| g >= MAX_GROUP_SCAN && g < sb.groups))
        .filter(|&g| sb.has_backup(g))
        .filter_map(|g| sb.super_offset(g))
        .take(MAX_GROUPS);
    for fs_off in backups {
        for chunk in crate::search::chunk_sizes() {
            for k in widths(n) {
                let row = fs_off / (chunk * k);
                let Some(pos) = (row * chunk)
                    .checked_add(fs_off % chunk)
                    .and_then(|p| p.checked_add(base))
                else {
                    continue;
                };
                out.insert(pos / SECTOR as u64 * SECTOR as u64);
            }
        }
    }
    out
}

/// Reads [`PROBE_BYTES`] from every member at each place a backup
/// superblock of an ext file system found in `samples` would lie, and adds
/// what is not zero to `samples`.
pub fn probe(members: &[&dyn Source], samples: &mut Samples) -> Result<()> {
    let n = members.len();
    let anchors = crate::anchored::anchors(samples, n);
    let mut wanted = BTreeSet::new();
    for a in anchors
        .iter()
        .filter(|a| a.kind == AnchorKind::ExtSuperblock && a.fs_offset == 1024)
    {
        let Some(base) = a.member_offset.checked_sub(1024) else {
            continue;
        };
        let Some(sb) = superblock_at(samples, a.member, a.member_offset) else {
            continue;
        };
        wanted.extend(probe_offsets(&sb, base, n as u64));
    }
    let covered = |o: u64| {
        samples
            .windows
            .iter()
            .any(|w| (w.offset..w.offset + (w.sectors() * SECTOR) as u64).contains(&o))
    };
    let mut list: Vec<u64> = Vec::new();
    let mut last_end = 0u64;
    for o in wanted {
        // Probes do not overlap each other or a window already read: a
        // structure read twice would count twice.
        if o < last_end || covered(o) || covered(o + PROBE_BYTES - 1) {
            continue;
        }
        list.push(o);
        last_end = o + PROBE_BYTES;
        if list.len() >= MAX_PROBES {
            break;
        }
    }
    if !list.is_empty() {
        sample::read_more(members, samples, &list, PROBE_BYTES)?;
    }
    Ok(())
}

/// The superblock at `member_offset` on member `m`, from the samples.
fn superblock_at(samples: &Samples, m: usize, member_offset: u64) -> Option<ext::ExtSuperblock> {
    let w = samples.windows.iter().find(|w| {
        member_offset >= w.offset && member_offset + 1024 <= w.offset + w.data[m].len() as u64
    })?;
    let at = usize::try_from(member_offset - w.offset).ok()?;
    ext::parse_superblock(&w.data[m][at..at + 1024])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sb(groups: u64, compat: u32, ro_compat: u32) -> ext::ExtSuperblock {
        ext::ExtSuperblock {
            block_bytes: 4096,
            blocks: groups * 32768,
            first_data_block: 0,
            blocks_per_group: 32768,
            clusters_per_group: 32768,
            inodes_per_group: 8192,
            inode_bytes: 256,
            groups,
            group_nr: 0,
            desc_bytes: 64,
            compat,
            incompat: 0,
            ro_compat,
            uuid: [7; 16],
            csum_seed: 0,
            backup_bgs: [0, 0],
            groups_per_flex: 16,
        }
    }

    #[test]
    fn backups_are_probed_where_each_geometry_puts_them() {
        // sparse_super: groups 1, 3, 5 and 7 of 8 hold backups, 128 MiB
        // apart. A RAID5 of three at 512 KiB, data 1 MiB in: group 1's
        // backup (array 128 MiB) is row 128's first chunk.
        let at = probe_offsets(&sb(8, 0, 1), 1 << 20, 3);
        assert!(at.contains(&((1 << 20) + 128 * (512 << 10))));
        // Group 7 (896 MiB) over RAID0 of three at 64 KiB.
        let g7 = 7u64 * (128 << 20);
        let row = g7 / (3 * (64 << 10));
        assert!(at.contains(&((1 << 20) + row * (64 << 10) + g7 % (64 << 10))));
        // Group 2 holds no backup under sparse_super: nothing where it
        // would lie over RAID0 of three at 4 MiB (nor group 1 or 3).
        let g2 = 2u64 * (128 << 20);
        let row = g2 / (3 * (4 << 20));
        assert!(!at.contains(&((1 << 20) + row * (4 << 20) + g2 % (4 << 20))));
    }

    #[test]
    fn a_hostile_group_count_is_not_walked() {
        // sparse_super2 naming no group, and 2^40 groups: nothing to read,
        // and no walk over the groups.
        let at = probe_offsets(&sb(1 << 40, 0x200, 0), 0, 4);
        assert!(at.is_empty());
        // Without sparse_super every group has a backup: eight are taken.
        let at = probe_offsets(&sb(1 << 40, 0, 0), 0, 2);
        assert!(!at.is_empty() && at.len() <= MAX_GROUPS * 14 * 2);
    }

    #[test]
    fn widths_cover_every_striped_level() {
        assert_eq!(widths(4), vec![1, 2, 3, 4]);
        assert_eq!(widths(2), vec![1, 2]);
        assert_eq!(widths(7), vec![1, 3, 5, 6, 7]);
    }
}
