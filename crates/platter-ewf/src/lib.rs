//! EnCase (EWF-E01) evidence images: [`EwfWriter`] writes them with chunks
//! compressed on every core, [`EwfImage`] reads them as a
//! [`Source`](platter_core::Source).
//!
//! The layout is EnCase 6's, as `ewfacquire` writes it (see
//! `docs/e01.md` and libyal's "Expert Witness Compression Format"):
//! segment files `.E01 … .E99, .EAA …`, each a 13-byte file header and a
//! chain of sections (`header2 header volume sectors table table2 … next`,
//! … `digest hash done`). The media is cut into 64-sector chunks, each a
//! zlib stream or, when compression does not shrink it, the raw bytes
//! followed by their Adler-32.
//!
//! ```
//! use platter_core::{CaseInfo, Source};
//! use platter_ewf::{Compression, EwfImage, EwfWriter, WriteOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("disk.E01");
//! let media: Vec<u8> = (0..307_200u32).map(|i| (i / 7) as u8).collect();
//! let opts = WriteOptions {
//!     media_size: media.len() as u64,
//!     compression: Compression::Fast,
//!     case: CaseInfo { case_number: Some("2026-17".into()), ..Default::default() },
//!     threads: 2,
//!     ..Default::default()
//! };
//! let mut w = EwfWriter::create(&path, &opts).unwrap();
//! w.write(&media).unwrap();
//! w.add_read_error(40, 8);
//! let summary = w.finish([0; 16], [0; 20]).unwrap();
//! assert_eq!(summary.segments, vec![path.clone()]);
//!
//! let img = EwfImage::open(&path).unwrap();
//! assert_eq!(img.len(), media.len() as u64);
//! let mut buf = vec![0u8; 1000];
//! img.read_exact_at(&mut buf, 70_000).unwrap();
//! assert_eq!(buf, media[70_000..71_000]);
//! assert_eq!(img.case_info().case_number.as_deref(), Some("2026-17"));
//! assert_eq!(img.error_ranges(), &[(40, 8)]);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod chunk_table;
mod compress;
mod error;
pub mod format;
mod header_text;
mod naming;
mod reader;
mod section_walk;
mod segment_writer;
mod writer;

pub use compress::Compression;
pub use error::{Error, Result};
pub use naming::{first_segment_name, segment_extension, segment_path};
pub use reader::{BadChunk, EwfImage, MAX_CHUNK_BYTES, Segment};
pub use section_walk::{
    MAX_ENTRIES_PER_TABLE, MAX_ERROR2_BYTES, MAX_HEADER_SECTION_BYTES, MAX_SECTIONS_PER_SEGMENT,
};
pub use segment_writer::WriteSummary;
pub use writer::{
    DEFAULT_SEGMENT_SIZE, EwfWriter, MIN_SEGMENT_SIZE, SECTORS_PER_CHUNK, WriteOptions,
};
