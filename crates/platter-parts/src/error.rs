//! The one error type of `platter-parts`.
//!
//! Corruption in a partition table is *not* an error: it is reported as an
//! [`Anomaly`](crate::Anomaly) next to whatever could still be recovered.
//! Errors are reserved for failures to read the disk at all and for requests
//! that cannot be satisfied (a partition number that does not exist, a
//! partition that cannot be opened because it lies past the end of the disk).

/// Result alias used throughout `platter-parts`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `platter-parts`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the underlying source failed.
    #[error(transparent)]
    Source(#[from] platter_core::Error),
    /// No partition carries this number.
    #[error("no partition {index} in the partition table")]
    NoSuchPartition {
        /// The partition number asked for (Linux numbering, from 1).
        index: u32,
    },
    /// A partition cannot be opened because it does not fit inside the disk.
    #[error(
        "partition {index} of {name} ({start_bytes:#x}+{len_bytes:#x}) extends past the end of the disk (size {disk_len:#x})"
    )]
    PartitionOutsideDisk {
        /// The partition number.
        index: u32,
        /// Name of the disk source.
        name: String,
        /// First byte of the partition.
        start_bytes: u64,
        /// Length of the partition in bytes.
        len_bytes: u64,
        /// Size of the disk in bytes.
        disk_len: u64,
    },
}
