//! Hashed, ddrescue-style acquisition of disks and images, with a GNU
//! ddrescue mapfile, resume, and a hash-chained evidence log.
//!
//! [`acquire`] reads any [`Source`](platter_core::Source) once in large
//! blocks (a reader, a bounded channel, a writer thread and one hasher
//! thread per algorithm), rescues bad areas in passes like ddrescue (copy
//! with growing skip, sweep, trim, scrape, retries), fills what stays
//! unreadable, keeps the mapfile up to date atomically, and writes
//! `OUT.log.json` / `OUT.log.txt`. [`verify_against_log`] recomputes an
//! image's digests against such a log; [`check_chain`] checks the log.
//!
//! ```
//! use std::sync::atomic::AtomicBool;
//! use platter_acquire::{AcquireOptions, NoProgress, OutputTarget, acquire};
//!
//! let dir = tempfile::tempdir()?;
//! let disk = dir.path().join("disk.img");
//! std::fs::write(&disk, vec![7u8; 1 << 20])?;
//! let opened = platter_open::open(&disk, &Default::default())?;
//! let out = dir.path().join("copy.img");
//! let report = acquire(&opened, OutputTarget::Path(out.clone()), &AcquireOptions::default(),
//!                      &NoProgress, &AtomicBool::new(false))?;
//! assert_eq!(std::fs::read(&out)?, vec![7u8; 1 << 20]);
//! assert!(report.bad_ranges.is_empty());
//! assert!(report.chain_head.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod e01;
pub mod error;
mod hashing;
mod log;
mod options;
mod progress;
mod rescue;
mod run;
mod sequential;
mod sink;
mod time;
mod verify;

pub use error::{Error, Result};
pub use hashing::{ImageDigests, ImageHasher, NamedDigest, RangeDigest, hash_reader, named};
pub use log::{
    ChainProblem, ChainReport, END_EVENT, EvidenceLog, GENESIS, LOG_FORMAT, LogDocument, LogRecord,
    check_chain, log_paths, parse_document, read_document, render_text,
};
pub use options::{
    AcquireOptions, DEFAULT_BLOCK_SIZE, FillPattern, MAX_BLOCK_SIZE, MAX_SECTOR_SIZE, MAX_WINDOWS,
    MIN_HASH_WINDOW, OutputFormat, OutputTarget,
};
pub use platter_ewf::Compression as E01Compression;
pub use progress::{NoProgress, Progress};
pub use rescue::{INITIAL_SKIP, MAX_SKIP, PassStat};
pub use run::{AcquireReport, ByteRange, SourceVerify, acquire};
pub use sink::split_part_paths;
pub use time::{now, rfc3339};
pub use verify::{
    DigestCheck, ImageVerify, RangeCheck, verify_against_digests, verify_against_log,
};

#[cfg(test)]
mod tests;
