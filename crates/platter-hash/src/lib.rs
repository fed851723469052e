//! The hashing pipeline of platter: MD5, SHA-1 and SHA-256 (and optionally
//! SHA-512 and BLAKE3) computed each on
//! its own thread while a source is read once and, optionally, copied.
//!
//! - [`HashAlg`], [`parse_algs`], [`Digest`] and [`hash_bytes`] name and
//!   compute digests;
//! - [`MultiHasher`] feeds one stream to one thread per algorithm through
//!   bounded channels, sharing each [`Block`] instead of copying it;
//! - [`copy_hashed`] and [`hash_source`] read a [`Source`](platter_core::Source)
//!   once, fill unreadable ranges, write and hash in a pipeline, and report
//!   the digests and the unreadable ranges.
//!
//! ```
//! use platter_core::MemSource;
//! use platter_hash::{CopyOptions, copy_hashed, parse_algs};
//!
//! let src = MemSource::new("disk.img", vec![0u8; 3 << 20]);
//! let opts = CopyOptions { algs: parse_algs("md5,sha256")?, ..CopyOptions::default() };
//! let mut out = Vec::new();
//! let report = copy_hashed(&src, Some(&mut out), &opts, &|done| eprint!("\r{done}"))?;
//! assert_eq!(out.len(), 3 << 20);
//! assert_eq!(report.bytes, 3 << 20);
//! for d in &report.digests {
//!     println!("{}  {}", d.alg, d.hex);
//! }
//! # Ok::<(), platter_hash::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod alg;
mod block;
mod copy;
pub mod error;
mod multi;
#[cfg(test)]
mod test_data;

pub use alg::{Digest, HashAlg, hash_bytes, parse_algs};
pub use block::{Block, BlockPool};
pub use copy::{
    CopyOptions, CopyReport, DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, copy_hashed, hash_source,
};
pub use error::{Error, Result};
pub use multi::{CHANNEL_DEPTH, MultiHasher};
