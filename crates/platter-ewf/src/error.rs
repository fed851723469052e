//! The one error type of `platter-ewf`.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout `platter-ewf`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading or writing an EWF image.
///
/// Variants name the segment file and, for structural problems, the byte
/// offset inside that segment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a segment (through the core source layer) failed.
    #[error(transparent)]
    Core(#[from] platter_core::Error),
    /// An I/O error on a named file (creating, writing, syncing a segment).
    #[error("{what} failed on {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operation ("create", "write", …).
        what: &'static str,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// A segment file does not start with the EWF signature.
    #[error("{path}: not an EWF segment (no \"EVF\" signature at offset 0x0)")]
    NotEwf {
        /// The file.
        path: PathBuf,
    },
    /// The structure of a segment is damaged at `offset`.
    #[error("{path}: at offset {offset:#x}: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte offset inside that segment.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// A segment of the set is missing: the previous one does not end the
    /// image (no "done" section) and the next file does not exist.
    #[error(
        "segment {number} of the EWF set is missing: {path} does not exist \
         (the previous segment ends with \"next\", not \"done\")"
    )]
    MissingSegment {
        /// The file that was expected.
        path: PathBuf,
        /// Its segment number (1-based).
        number: u32,
    },
    /// Segment `found` sits where segment `expected` belongs (files of
    /// different sets mixed, or renamed).
    #[error("{path}: segment number {found} in the file header, expected {expected}")]
    SegmentNumber {
        /// The file.
        path: PathBuf,
        /// Number read from its header.
        found: u16,
        /// Number expected from its position in the set.
        expected: u32,
    },
    /// Writer options that cannot produce a valid image.
    #[error("invalid EWF writer options: {reason}")]
    InvalidOptions {
        /// What is wrong.
        reason: String,
    },
    /// An output segment exists and overwriting was not allowed.
    #[error("{path} already exists: refusing to overwrite it (use --force to replace it)")]
    OutputExists {
        /// The existing file.
        path: PathBuf,
    },
    /// More bytes were written than the declared media size, or fewer at
    /// [`finish`](crate::EwfWriter::finish).
    #[error("the writer was told the media holds {expected} bytes, but received {got}")]
    SizeMismatch {
        /// The declared media size.
        expected: u64,
        /// Bytes received so far.
        got: u64,
    },
    /// The segment numbering ran out (past `.ZZZ`).
    #[error("too many segments: the EWF naming scheme ends at .ZZZ (segment {number})")]
    TooManySegments {
        /// The segment number that has no name.
        number: u32,
    },
    /// A background compression or writer thread failed unexpectedly.
    #[error("EWF writer worker failed: {reason}")]
    Worker {
        /// What happened.
        reason: String,
    },
}

impl Error {
    pub(crate) fn corrupt(path: &std::path::Path, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, what: &'static str, source: io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    }
}
