//! The crate's error type. Variants carry the file and byte offset.

use std::path::PathBuf;

/// Errors of the virtual-disk readers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error reading `path` at `offset`.
    #[error("{}: read error at offset {offset:#x}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Byte offset of the failed read.
        offset: u64,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not VMDK, VHD or VHDX.
    #[error("{}: not a VMDK, VHD or VHDX file", path.display())]
    NotAVirtualDisk {
        /// The file.
        path: PathBuf,
    },
    /// A structure is damaged beyond what the reader can work around.
    #[error("{}: {what} at offset {offset:#x}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the structure.
        offset: u64,
        /// What is wrong, in plain words.
        what: String,
    },
    /// A value read from the file exceeds a named sanity limit.
    #[error("{}: {what} {value} at offset {offset:#x} exceeds the limit {limit}", path.display())]
    Limit {
        /// The file.
        path: PathBuf,
        /// Byte offset of the field.
        offset: u64,
        /// The field.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The largest accepted value.
        limit: u64,
    },
    /// A feature of the format this reader does not handle.
    #[error("{}: unsupported: {what}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The feature.
        what: String,
    },
    /// An extent or parent path escapes the image's folder (absolute path
    /// or `..`), refused unless `allow_outside_paths` is set.
    #[error("{}: refers to {reference:?} outside its folder (use --allow-outside-paths to follow it)", path.display())]
    PathEscape {
        /// The descriptor or child image.
        path: PathBuf,
        /// The path it names.
        reference: String,
    },
    /// A referenced file (extent, parent) is missing.
    #[error("{}: cannot find {reference:?}", path.display())]
    Missing {
        /// The descriptor or child image.
        path: PathBuf,
        /// The file it names.
        reference: String,
    },
    /// A parent does not match its child (VMDK parentCID, VHD parent UUID
    /// or time stamp, VHDX parent DataWriteGuid).
    #[error("{}: parent {} does not match: expected {expected}, found {found}", child.display(), parent.display())]
    ParentMismatch {
        /// The child image.
        child: PathBuf,
        /// The parent image.
        parent: PathBuf,
        /// The identifier the child expects.
        expected: String,
        /// The identifier the parent carries.
        found: String,
    },
    /// `strict` mode: an anomaly that the default mode would work around.
    #[error("strict mode: {0}")]
    Strict(Anomaly),
    /// An error from platter-core (opening a file, reading a source).
    #[error(transparent)]
    Core(#[from] platter_core::Error),
}

use crate::common::Anomaly;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
