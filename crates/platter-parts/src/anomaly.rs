//! Anomalies: corruption and oddities found while reading a partition table.
//!
//! A partition table parser for forensic work must not give up at the first
//! bad byte. Everything unexpected is recorded as an [`Anomaly`] (a byte
//! offset, a stable machine-readable code and a self-contained message) and
//! parsing continues with whatever can still be trusted.

use std::collections::HashMap;
use std::fmt;

/// One problem found in a partition table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Anomaly {
    /// Byte offset on the disk of the structure concerned.
    pub offset: u64,
    /// Stable, machine-readable code: one of the constants in [`codes`].
    pub code: &'static str,
    /// Self-contained human-readable message, naming the byte offset in hex.
    pub message: String,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The anomaly codes, as constants so callers and tests can match on them.
pub mod codes {
    /// The disk is smaller than one sector.
    pub const DISK_TOO_SMALL: &str = "disk_too_small";
    /// A structure could not be read (bad sectors, I/O error); parsing went on without it.
    pub const READ_ERROR: &str = "read_error";
    /// Too many anomalies of one kind: the rest were counted, not listed.
    pub const ANOMALIES_TRUNCATED: &str = "anomalies_truncated";

    /// Sector 0 ends in 0x55AA, but its entries are not a partition table
    /// (status bytes other than 0x00/0x80: usually a volume boot record).
    pub const MBR_SIGNATURE_WITHOUT_TABLE: &str = "mbr_signature_without_table";
    /// An MBR slot has a type but no sectors.
    pub const MBR_ENTRY_ZERO_SIZE: &str = "mbr_entry_zero_size";
    /// An MBR partition starts at LBA 0, over the MBR itself.
    pub const MBR_PARTITION_OVER_TABLE: &str = "mbr_partition_over_table";
    /// More than one extended partition in the MBR.
    pub const MBR_MULTIPLE_EXTENDED: &str = "mbr_multiple_extended";
    /// A hybrid MBR: a protective 0xEE entry next to ordinary entries.
    pub const MBR_HYBRID: &str = "mbr_hybrid";
    /// An EBR lies outside the extended partition or the disk.
    pub const EBR_OUTSIDE: &str = "ebr_outside";
    /// An EBR lacks the 0x55AA signature; the chain stops there.
    pub const EBR_BAD_SIGNATURE: &str = "ebr_bad_signature";
    /// An EBR links back to an EBR already visited; the chain stops there.
    pub const EBR_LOOP: &str = "ebr_loop";
    /// The EBR chain is longer than the limit; the rest is ignored.
    pub const EBR_CHAIN_TOO_LONG: &str = "ebr_chain_too_long";
    /// An EBR holds entries other than one logical partition and one link.
    pub const EBR_UNEXPECTED_ENTRY: &str = "ebr_unexpected_entry";
    /// A logical partition extends outside its extended partition.
    pub const LOGICAL_OUTSIDE_EXTENDED: &str = "logical_outside_extended";

    /// A protective MBR (0xEE) but no usable GPT anywhere.
    pub const GPT_MISSING: &str = "gpt_missing";
    /// A GPT without a protective MBR.
    pub const GPT_NO_PROTECTIVE_MBR: &str = "gpt_no_protective_mbr";
    /// A valid GPT that is ignored because the MBR holds ordinary partitions (as Linux does).
    pub const GPT_IGNORED: &str = "gpt_ignored";
    /// The GPT is unusable and the hybrid MBR's partitions are listed instead.
    pub const GPT_UNUSABLE_USING_HYBRID_MBR: &str = "gpt_unusable_using_hybrid_mbr";
    /// A GPT header's size field is out of range.
    pub const GPT_HEADER_SIZE: &str = "gpt_header_size";
    /// A GPT header's CRC32 does not match its contents.
    pub const GPT_HEADER_CRC: &str = "gpt_header_crc";
    /// A GPT header's revision is not 1.0.
    pub const GPT_REVISION: &str = "gpt_revision";
    /// A GPT header's reserved field is not zero.
    pub const GPT_RESERVED_NONZERO: &str = "gpt_reserved_nonzero";
    /// A GPT header's MyLBA is not the LBA it was read from.
    pub const GPT_MY_LBA: &str = "gpt_my_lba";
    /// A GPT header's AlternateLBA is not where the other header should be.
    pub const GPT_ALTERNATE_LBA: &str = "gpt_alternate_lba";
    /// A GPT header's usable LBA range is inverted, past the disk or over the tables.
    pub const GPT_USABLE_RANGE: &str = "gpt_usable_range";
    /// A GPT header's partition entry size is invalid.
    pub const GPT_ENTRY_SIZE: &str = "gpt_entry_size";
    /// A GPT header claims a partition entry array larger than the limit.
    pub const GPT_ENTRY_ARRAY_TOO_LARGE: &str = "gpt_entry_array_too_large";
    /// A GPT partition entry array lies outside the disk or over its header.
    pub const GPT_ENTRY_ARRAY_LOCATION: &str = "gpt_entry_array_location";
    /// A GPT partition entry array's CRC32 does not match.
    pub const GPT_ENTRY_ARRAY_CRC: &str = "gpt_entry_array_crc";
    /// The primary GPT is damaged; the backup is used.
    pub const GPT_PRIMARY_DAMAGED_USING_BACKUP: &str = "gpt_primary_damaged_using_backup";
    /// The backup GPT is damaged (the primary is used).
    pub const GPT_BACKUP_DAMAGED: &str = "gpt_backup_damaged";
    /// No backup GPT header at the end of the disk.
    pub const GPT_BACKUP_MISSING: &str = "gpt_backup_missing";
    /// The backup GPT header is not at the last LBA.
    pub const GPT_BACKUP_NOT_AT_END: &str = "gpt_backup_not_at_end";
    /// Primary and backup GPT headers are both valid but disagree.
    pub const GPT_HEADERS_DISAGREE: &str = "gpt_headers_disagree";
    /// Neither GPT header is usable.
    pub const GPT_UNUSABLE: &str = "gpt_unusable";
    /// A GPT entry's last LBA is before its first LBA.
    pub const GPT_ENTRY_INVERTED: &str = "gpt_entry_inverted";
    /// A GPT entry lies outside the header's usable LBA range.
    pub const GPT_ENTRY_OUTSIDE_USABLE: &str = "gpt_entry_outside_usable";

    /// A partition's byte range overflows 64 bits; it is not listed.
    pub const PARTITION_OFFSET_OVERFLOW: &str = "partition_offset_overflow";
    /// A partition extends past the end of the disk (still listed).
    pub const PARTITION_PAST_END: &str = "partition_past_end";
    /// Two partitions overlap (both still listed).
    pub const PARTITION_OVERLAP: &str = "partition_overlap";
}

/// Most anomalies of one code listed before the rest are only counted.
pub(crate) const MAX_ANOMALIES_PER_CODE: usize = 32;

/// Collects anomalies, capping how many of each code are kept so a hostile
/// table with thousands of bad entries yields a readable, bounded report.
#[derive(Debug, Default)]
pub(crate) struct Anomalies {
    list: Vec<Anomaly>,
    per_code: HashMap<&'static str, usize>,
    suppressed: usize,
}

impl Anomalies {
    /// Records an anomaly (or only counts it once its code hit the cap).
    pub(crate) fn push(&mut self, offset: u64, code: &'static str, message: String) {
        self.push_anomaly(Anomaly {
            offset,
            code,
            message,
        });
    }

    /// Records an already built anomaly.
    pub(crate) fn push_anomaly(&mut self, anomaly: Anomaly) {
        let seen = self.per_code.entry(anomaly.code).or_insert(0);
        *seen += 1;
        if *seen > MAX_ANOMALIES_PER_CODE {
            self.suppressed += 1;
        } else {
            self.list.push(anomaly);
        }
    }

    /// Moves every anomaly of `other` into `self`.
    pub(crate) fn extend(&mut self, other: Anomalies) {
        for a in other.list {
            self.push_anomaly(a);
        }
        self.suppressed += other.suppressed;
    }

    /// The final list, with a summary when some were suppressed.
    pub(crate) fn finish(mut self) -> Vec<Anomaly> {
        if self.suppressed > 0 {
            self.list.push(Anomaly {
                offset: 0,
                code: codes::ANOMALIES_TRUNCATED,
                message: format!(
                    "{} more anomalies not listed (at most {MAX_ANOMALIES_PER_CODE} of each kind are shown)",
                    self.suppressed
                ),
            });
        }
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_each_code_and_counts_the_rest() {
        let mut a = Anomalies::default();
        for i in 0..100u64 {
            a.push(i, codes::PARTITION_OVERLAP, format!("overlap {i}"));
        }
        a.push(7, codes::GPT_HEADER_CRC, "crc".into());
        let list = a.finish();
        let overlaps = list
            .iter()
            .filter(|x| x.code == codes::PARTITION_OVERLAP)
            .count();
        assert_eq!(overlaps, MAX_ANOMALIES_PER_CODE);
        assert!(list.iter().any(|x| x.code == codes::GPT_HEADER_CRC));
        let last = list.last().unwrap();
        assert_eq!(last.code, codes::ANOMALIES_TRUNCATED);
        assert!(last.message.starts_with("68 more"), "{}", last.message);
    }

    #[test]
    fn display_is_the_message() {
        let a = Anomaly {
            offset: 0x200,
            code: codes::GPT_HEADER_CRC,
            message: "GPT header at 0x200: bad".into(),
        };
        assert_eq!(a.to_string(), "GPT header at 0x200: bad");
    }
}
