//! Validation of an assembled candidate: find the partition tables and
//! file systems it holds and run consistency checks that pass only when
//! the geometry is right.

use platter_core::Source;

use super::read::Reader;
use super::{btrfs, ext, fat, ntfs, partition, xfs};

/// Most file-system starts examined (array offset 0 and partition starts).
pub const MAX_FS_STARTS: usize = 16;

/// What validation found and how many of its checks passed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Validation {
    /// Structures found, e.g. `"GPT at 512"`, `"ext4 at 1048576 (uuid …)"`.
    pub found: Vec<String>,
    /// Consistency checks run.
    pub checks: u64,
    /// Checks that passed.
    pub passed: u64,
    /// Details: per-file-system summaries, budget and read problems.
    pub notes: Vec<String>,
    /// Where the furthest file system found ends, in array bytes, by the
    /// size its own header claims (0 when none was found): an array
    /// smaller than this cannot hold it.
    pub extent_bytes: u64,
}

impl Validation {
    /// Fraction of checks that passed, or `None` when none ran.
    pub fn rate(&self) -> Option<f64> {
        (self.checks > 0).then(|| self.passed as f64 / self.checks as f64)
    }

    /// Counts one check.
    pub(crate) fn check(&mut self, ok: bool) {
        self.checks += 1;
        self.passed += u64::from(ok);
    }
}

/// Validates an assembled candidate array, reading at most `budget_bytes`.
///
/// Looks for an MBR or GPT at offset 0 (checks: header and entry CRCs,
/// backup header, partitions inside the array), then for a file system at
/// offset 0 and at each partition start, and checks it: ext2/3/4 group
/// descriptors, bitmap checksums, backup superblocks, root directory;
/// NTFS MFT record numbers, `$MFTMirr`, backup boot sector; FAT copies,
/// FSInfo, directory `.`/`..` entries; XFS AG headers and btree roots;
/// btrfs superblock and tree block checksums and addresses.
pub fn validate(array: &dyn Source, budget_bytes: u64) -> Validation {
    let mut v = Validation::default();
    let mut r = Reader::new(array, budget_bytes);
    let mut starts = vec![0u64];
    partition::validate(&mut r, &mut v, &mut starts);
    starts.truncate(MAX_FS_STARTS);
    for start in starts {
        validate_fs_at(&mut r, start, &mut v);
    }
    if r.exhausted {
        v.notes
            .push(format!("validation budget of {budget_bytes} bytes used up"));
    }
    v.notes.append(&mut r.errors);
    v
}

/// Detects and validates the file system at array byte `start`, if any.
fn validate_fs_at(r: &mut Reader<'_>, start: u64, v: &mut Validation) {
    let Some(head) = r.read(start, 4096) else {
        return;
    };
    // Bytes the file system claims: (units, unit bytes).
    let size = if let Some(boot) = ntfs::parse_boot(&head) {
        ntfs::validate(r, start, &boot, v);
        // The backup boot sector follows the volume's sectors.
        Some((boot.total_sectors.saturating_add(1), boot.bytes_per_sector))
    } else if let Some(sb) = ext::parse_superblock(&head[1024..2048]) {
        ext::validate(r, start, &sb, v);
        Some((sb.blocks, sb.block_bytes))
    } else if let Some(sb) = xfs::parse_superblock(&head) {
        xfs::validate(r, start, &sb, v);
        Some((sb.dblocks, sb.block_bytes))
    } else if let Some(bpb) = fat::parse_boot(&head) {
        fat::validate(r, start, &bpb, v);
        Some((bpb.total_sectors, bpb.bytes_per_sector))
    } else {
        validate_other_at(r, start, &head, v);
        None
    };
    if let Some(end) = size
        .and_then(|(units, bytes)| units.checked_mul(bytes))
        .and_then(|b| b.checked_add(start))
    {
        v.extent_bytes = v.extent_bytes.max(end);
    }
}

/// The headers of [`validate_fs_at`] that claim no size.
fn validate_other_at(r: &mut Reader<'_>, start: u64, head: &[u8], v: &mut Validation) {
    if let Some(sb) = start
        .checked_add(btrfs::SUPER_OFFSET)
        .and_then(|o| r.read(o, btrfs::SUPER_LEN))
        .and_then(|b| btrfs::parse_superblock(&b))
    {
        btrfs::validate(r, start, &sb, v);
    } else if head[0..6] == *b"LUKS\xba\xbe" {
        v.found.push(format!(
            "LUKS{} at {start}",
            u16::from_be_bytes([head[6], head[7]])
        ));
    } else if (0..4).any(|s| head[s * 512..s * 512 + 8] == *b"LABELONE") {
        v.found.push(format!("LVM2 physical volume at {start}"));
    }
}
