//! Core of platter: the read-only, positional [`Source`] abstraction that every
//! image format implements, the concrete sources (files, block devices,
//! memory, windows, concatenations, zeros), size parsing, and the GNU
//! ddrescue mapfile.
//!
//! ```
//! use platter_core::{Concat, MemSource, SharedSource, Source};
//! use std::sync::Arc;
//!
//! let a: SharedSource = Arc::new(MemSource::new("x.001", b"hello ".to_vec()));
//! let b: SharedSource = Arc::new(MemSource::new("x.002", b"world".to_vec()));
//! let whole = Concat::new("x", vec![a, b]);
//! let mut buf = vec![0u8; whole.len() as usize];
//! whole.read_exact_at(&mut buf, 0).unwrap();
//! assert_eq!(buf, b"hello world");
//! ```
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod buffer;
pub mod case;
pub mod error;
pub mod mapfile;
pub mod size;
pub mod source;
pub mod sys;

pub use buffer::AlignedBuf;
pub use case::CaseInfo;
pub use error::{Error, Result};
pub use source::{
    Concat, Extent, ExtentKind, MemSource, SectorSize, SharedSource, Source, Window, ZeroSource,
    clip, push_extent, read_filled, single_extent,
};
pub use sys::{
    BlockDevice, DeviceInfo, FileId, FileSource, MmapSource, OpenOptions, SourceReader,
    device_info, file_id, open_os, open_split, split_segments,
};

// The GNU ddrescue mapfile.
pub use mapfile::{BlockStatus, MapBlock, Mapfile, MapfileSource, PassStatus};
