//! Problems found inside one metadata structure.
//!
//! A superblock or DDF header is returned even when parts of it are wrong,
//! with each problem recorded as a [`MetadataAnomaly`]: where it is, a stable
//! code, a self-contained message naming the member and the byte offset, and
//! a [`Severity`] saying whether the values can still be trusted for
//! assembly.

use std::fmt;

/// How much an anomaly matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Odd but usable (a bad checksum, unknown feature bits, a stale copy).
    Warning,
    /// The structure's geometry cannot be trusted (absurd disk count, zero
    /// chunk, unknown level, member too small for the data it describes).
    Error,
}

/// One problem found in an md superblock or in DDF metadata.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetadataAnomaly {
    /// Byte offset on the member of the structure (or field) concerned.
    pub offset: u64,
    /// Stable machine-readable code: one of the constants in [`codes`].
    pub code: &'static str,
    /// Whether the structure remains usable.
    pub severity: Severity,
    /// Self-contained message naming the member and the offset in hex.
    pub message: String,
}

impl fmt::Display for MetadataAnomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Anomaly codes, as constants so callers and tests can match on them.
pub mod codes {
    /// The stored checksum (md) or CRC (DDF) does not match the contents.
    pub const CHECKSUM: &str = "checksum";
    /// The md major/minor version is not one this parser knows.
    pub const VERSION: &str = "version";
    /// The level number is not a known md (or mappable DDF) level.
    pub const UNKNOWN_LEVEL: &str = "unknown_level";
    /// The layout word is not valid for the level.
    pub const UNKNOWN_LAYOUT: &str = "unknown_layout";
    /// raid_disks is zero or larger than the format can describe.
    pub const RAID_DISKS: &str = "raid_disks";
    /// A striped level records a zero chunk size.
    pub const CHUNK_ZERO: &str = "chunk_zero";
    /// The chunk size is not a multiple of 512 bytes or absurdly large.
    pub const CHUNK_INVALID: &str = "chunk_invalid";
    /// max_dev (1.x) exceeds what fits in a 4 KiB superblock.
    pub const MAX_DEV: &str = "max_dev";
    /// This device's number has no entry in the role table.
    pub const DEV_NUMBER: &str = "dev_number";
    /// A role in the table is at or beyond raid_disks.
    pub const ROLE_OUT_OF_RANGE: &str = "role_out_of_range";
    /// The recorded super_offset is not where the superblock was found.
    pub const SUPER_OFFSET: &str = "super_offset";
    /// The data area described by the metadata extends past the member's end.
    pub const MEMBER_TRUNCATED: &str = "member_truncated";
    /// The data area overlaps the superblock.
    pub const DATA_OVERLAPS_SUPERBLOCK: &str = "data_overlaps_superblock";
    /// Feature bits this parser does not know are set.
    pub const UNKNOWN_FEATURES: &str = "unknown_features";
    /// A reshape is in progress: two geometries coexist on the member.
    pub const RESHAPE_ACTIVE: &str = "reshape_active";
    /// The member is part-way through a recovery: data past
    /// recovery_offset is not valid yet.
    pub const RECOVERY_IN_PROGRESS: &str = "recovery_in_progress";
    /// The member's own bad-block log lists bad blocks.
    pub const BAD_BLOCKS: &str = "bad_blocks";
    /// More than one md superblock was found on the member.
    pub const MULTIPLE_SUPERBLOCKS: &str = "multiple_superblocks";
    /// A structure could not be read (bad sectors, I/O error).
    pub const READ_ERROR: &str = "read_error";

    /// A DDF header (primary or secondary) is missing, unreadable or does
    /// not match the anchor.
    pub const DDF_HEADER: &str = "ddf_header";
    /// The DDF revision is not 01.00.00, 01.02.00 or 02.00.00.
    pub const DDF_REVISION: &str = "ddf_revision";
    /// A DDF header field (section offset, length, entry count) is out of range.
    pub const DDF_FIELD: &str = "ddf_field";
    /// A DDF section lacks its signature.
    pub const DDF_SECTION_SIGNATURE: &str = "ddf_section_signature";
    /// A DDF configuration record is inconsistent (element count, LBAs).
    pub const DDF_CONFIG: &str = "ddf_config";
    /// A DDF RAID level / qualifier combination has no md equivalent.
    pub const DDF_UNMAPPED_LEVEL: &str = "ddf_unmapped_level";
    /// Too many anomalies of one kind: the rest were counted, not listed.
    pub const ANOMALIES_TRUNCATED: &str = "anomalies_truncated";
}

/// Most anomalies of one code kept per structure; the rest are counted.
const MAX_PER_CODE: usize = 16;

/// Collects anomalies for one structure, capping repeats of one code.
#[derive(Debug, Default)]
pub(crate) struct Anomalies {
    list: Vec<MetadataAnomaly>,
    suppressed: usize,
}

impl Anomalies {
    /// Records a warning.
    pub(crate) fn warn(&mut self, offset: u64, code: &'static str, message: String) {
        self.push(offset, code, Severity::Warning, message);
    }

    /// Records an error (the geometry cannot be trusted).
    pub(crate) fn error(&mut self, offset: u64, code: &'static str, message: String) {
        self.push(offset, code, Severity::Error, message);
    }

    fn push(&mut self, offset: u64, code: &'static str, severity: Severity, message: String) {
        if self.list.iter().filter(|a| a.code == code).count() >= MAX_PER_CODE {
            self.suppressed += 1;
            return;
        }
        self.list.push(MetadataAnomaly {
            offset,
            code,
            severity,
            message,
        });
    }

    /// The final list, with a summary entry when some were suppressed.
    pub(crate) fn finish(mut self) -> Vec<MetadataAnomaly> {
        if self.suppressed > 0 {
            self.list.push(MetadataAnomaly {
                offset: 0,
                code: codes::ANOMALIES_TRUNCATED,
                severity: Severity::Warning,
                message: format!(
                    "{} more anomalies not listed (at most {MAX_PER_CODE} of each kind are shown)",
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
    fn caps_repeats_and_summarises() {
        let mut a = Anomalies::default();
        for i in 0..40 {
            a.warn(i, codes::ROLE_OUT_OF_RANGE, format!("role {i}"));
        }
        a.error(0, codes::CHUNK_ZERO, "zero".into());
        let list = a.finish();
        assert_eq!(
            list.iter()
                .filter(|x| x.code == codes::ROLE_OUT_OF_RANGE)
                .count(),
            MAX_PER_CODE
        );
        assert!(
            list.iter()
                .any(|x| x.code == codes::CHUNK_ZERO && x.severity == Severity::Error)
        );
        let last = list.last().unwrap();
        assert_eq!(last.code, codes::ANOMALIES_TRUNCATED);
        assert!(last.message.starts_with("24 more"), "{}", last.message);
    }
}
