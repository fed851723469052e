//! The one error type of `platter-acquire`.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout `platter-acquire`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop an acquisition, a verification or a log check.
///
/// Variants carry the file and, where there is one, the byte offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Writing the output failed at `offset` (of the whole image); the
    /// mapfile was saved, so `--resume` continues once the cause is fixed.
    /// A full disk is [`Error::OutputFull`] instead.
    #[error("cannot write {path} at image offset {offset:#x}: {source}")]
    Write {
        /// The output file (or split part) being written.
        path: PathBuf,
        /// Image offset of the first byte not written.
        offset: u64,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The output's filesystem is full (`ENOSPC`) at `offset`. Every area
    /// the mapfile marks finished is in the output (the writer marks an
    /// area only after writing it), and the mapfile was saved if there was
    /// room for it: make room, or copy the output and the mapfile to a
    /// larger disk, and run again with `--resume`.
    #[error(
        "no space left on the device of {path}: stopped at image offset {offset:#x}; make room (or copy the output and the mapfile to a larger disk) and run again with --resume"
    )]
    OutputFull {
        /// The output file (or split part) being written.
        path: PathBuf,
        /// Image offset of the first byte not written.
        offset: u64,
    },
    /// Another I/O operation on a named file failed.
    #[error("{what} failed on {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What was attempted ("create", "fsync", "read back", …).
        what: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The output (or a split part, or the mapfile, or the log) exists and
    /// neither `--force` nor `--resume` was given.
    #[error("{path} already exists: use --force to overwrite it, or --resume to continue")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// An output would be written onto the source.
    #[error(transparent)]
    OutputIsSource(#[from] platter_open::Error),
    /// The source failed in a way rescue cannot cover.
    #[error(transparent)]
    Source(#[from] platter_core::Error),
    /// The options do not fit together.
    #[error("{0}")]
    Options(String),
    /// The mapfile given to `--resume` does not describe this source.
    #[error("mapfile {path} covers {map_size:#x} bytes but the source has {source_size:#x}")]
    MapfileMismatch {
        /// The mapfile.
        path: PathBuf,
        /// End of its last block.
        map_size: u64,
        /// Size of the source.
        source_size: u64,
    },
    /// SIGINT or SIGTERM arrived; the mapfile was saved.
    #[error(
        "interrupted at image offset {offset:#x}; the mapfile was saved: run again with --resume to continue"
    )]
    Interrupted {
        /// Where the reader was.
        offset: u64,
    },
    /// The requested output format is not available in this build.
    #[error("output format {0} is not built yet in this version of platter")]
    FormatNotBuilt(&'static str),
    /// An acquisition log cannot be read or is malformed.
    #[error("acquisition log {path}, record {record}: {reason}")]
    Log {
        /// The log file.
        path: PathBuf,
        /// 0-based record index (0 for file-level problems).
        record: usize,
        /// What is wrong.
        reason: String,
    },
}
