//! The one error type of `platter-core`.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout `platter-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while opening or reading a [`Source`](crate::Source).
///
/// Variants carry structure (paths, byte offsets, expected and found values),
/// not prose, so callers can report them precisely.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Opening a path failed.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path that could not be opened.
        path: PathBuf,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// The path names something that cannot be read as an image (a directory, a socket…).
    #[error("{path} is {kind}, not a file or block device")]
    NotReadable {
        /// The offending path.
        path: PathBuf,
        /// What it is instead ("a directory", "a socket", …).
        kind: &'static str,
    },
    /// An I/O error while reading at a given offset.
    #[error("read error in {name} at offset {offset:#x} (length {len:#x}): {source}")]
    Read {
        /// Name of the source (usually its path).
        name: String,
        /// Byte offset of the failed read within that source.
        offset: u64,
        /// Length of the failed read.
        len: u64,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// Another I/O error (metadata, ioctl, …) on a named object.
    #[error("{what} failed on {name}: {source}")]
    Io {
        /// Name of the object (usually a path).
        name: String,
        /// The operation that failed ("stat", "BLKGETSIZE64", …).
        what: &'static str,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// A read touched a range the source knows to be unreadable (bad sectors,
    /// a corrupt compressed chunk, a missing segment).
    #[error("{name}: unreadable range at offset {offset:#x}, length {len:#x}")]
    Unreadable {
        /// Name of the source.
        name: String,
        /// First unreadable byte.
        offset: u64,
        /// Length of the unreadable range.
        len: u64,
    },
    /// A read or window lies (partly) outside the source.
    #[error("{name}: range {offset:#x}+{len:#x} is outside the source of size {size:#x}")]
    OutOfBounds {
        /// Name of the source.
        name: String,
        /// Requested start.
        offset: u64,
        /// Requested length.
        len: u64,
        /// Size of the source.
        size: u64,
    },
    /// The source ended before an exact read could be satisfied.
    #[error(
        "{name}: unexpected end of data at offset {offset:#x}: wanted {wanted:#x} bytes, got {got:#x}"
    )]
    Truncated {
        /// Name of the source.
        name: String,
        /// Offset where the read started.
        offset: u64,
        /// Bytes wanted.
        wanted: u64,
        /// Bytes actually available.
        got: u64,
    },
    /// A size string such as `1.5G` could not be parsed.
    #[error("invalid size {text:?}: {reason}")]
    InvalidSize {
        /// The text given.
        text: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A ddrescue mapfile is malformed.
    #[error("mapfile {name}, line {line}: {reason}")]
    Mapfile {
        /// Name of the mapfile (path or `<memory>`).
        name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A split image set is inconsistent (gap in the numbering, …).
    #[error("split image {path}: {reason}")]
    Split {
        /// The segment concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}
