//! The one error type of `platter-hash`.

use std::io;

/// Result alias used throughout `platter-hash`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while hashing or copying a source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the source failed in a way that filling cannot cover
    /// (for example its extent map could not be read).
    #[error(transparent)]
    Source(#[from] platter_core::Error),
    /// Writing the copy failed.
    #[error("write error at output offset {offset:#x} ({offset} bytes): {source}")]
    Write {
        /// Output byte offset of the first byte that could not be written.
        offset: u64,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A hash algorithm name was not recognised.
    #[error("unknown hash algorithm {name:?} (expected md5, sha1, sha256, sha512 or blake3)")]
    UnknownAlgorithm {
        /// The name given.
        name: String,
    },
    /// [`CopyOptions::block_size`](crate::CopyOptions::block_size) is outside
    /// `1..=MAX_BLOCK_SIZE`.
    #[error("block size {block_size} is out of range (1 to {max} bytes)")]
    BlockSize {
        /// The block size given.
        block_size: usize,
        /// The largest block size accepted.
        max: usize,
    },
}
