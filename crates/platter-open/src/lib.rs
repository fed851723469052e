//! Opening images by path, with the format detected from the content (magic
//! bytes), never from the file name.
//!
//! [`open`] (or [`Registry::open`]) turns a path into an [`Opened`] image: a
//! [`SharedSource`](platter_core::SharedSource) plus its format, the notes
//! explaining how it was read, the files it is made of and, for block
//! devices, the sysfs details.
//!
//! This build decodes raw images, block devices, split raw sets
//! (`x.001, x.002…`, `x.aa, x.ab…`) and RAID recipes (JSON files naming an
//! array's members and geometry, opened as the assembled array; see
//! [`RecipeProbe`] and [`open_array`]) and EnCase E01 segment sets (opened
//! from any segment as the acquired media, with the case metadata, stored
//! digests and damaged chunks in [`Opened::metadata`]; see [`EwfProbe`]).
//! VMDK, VHD and VHDX virtual disks (snapshot chains included) decode
//! through `platter-vdisk`. It recognises Ex01 and qcow signatures and opens
//! such files as raw bytes with a note saying so. Decoders plug in through [`FormatProbe`] and [`Registry::register`].
//!
//! A GNU ddrescue image opens through its mapfile with [`open_rescued`]:
//! only the areas marked rescued (`+`) read as data, the rest is unreadable
//! ([`RescueMap`] holds the map).
//!
//! ```
//! use platter_core::sys::OpenOptions;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("disk.bin");
//! let mut bytes = b"QFI\xfb\0\0\0\x03".to_vec();
//! bytes.resize(4096, 0);
//! std::fs::write(&path, &bytes).unwrap();
//!
//! let opened = platter_open::open(&path, &OpenOptions::default()).unwrap();
//! assert_eq!(opened.format.name, "raw");
//! assert_eq!(opened.detected.unwrap().name, "qcow2");
//! assert!(opened.notes[0].contains("cannot decode qcow yet"));
//! assert_eq!(opened.source.len(), 4096);
//!
//! // Writing onto the image is refused, whatever name it goes by.
//! assert!(opened.check_output_path(&path).is_err());
//!
//! // The same image rescued by ddrescue, whose mapfile says the second
//! // half was never read: those bytes are unreadable, not zeros.
//! let map = dir.path().join("disk.map");
//! std::fs::write(&map, "0 +\n0 2048 +\n2048 2048 ?\n").unwrap();
//! let rescued = platter_open::open_rescued(&path, &map, &OpenOptions::default()).unwrap();
//! let mut buf = [0u8; 512];
//! assert!(rescued.source.read_exact_at(&mut buf, 2048).is_err());
//! assert_eq!(rescued.rescue.unwrap().unreadable().unwrap()[0].offset, 2048);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod ewf_probe;
mod metadata;
mod output_guard;
mod probe;
mod raid;
mod registry;
mod rescue;
mod signatures;
mod split_hint;
mod vdisk_probe;

pub use error::{Error, Result};
pub use ewf_probe::{CHECK_CHUNKS_MAX_BYTES, E01_FORMAT, EwfProbe};
pub use metadata::{ImageMetadata, StoredDigest};
pub use probe::{Confidence, Format, FormatProbe, PROBE_WINDOW_BYTES, ProbeContext};
pub use raid::{
    ARRAY_FORMAT, MAX_NESTING, MemberSpec, OpenedArray, RECIPE_FORMAT, RecipeProbe, is_recipe,
    open_array, open_array_from_metadata, open_recipe,
};
pub use registry::{NO_SIGNATURE_NOTE, Opened, Registry, base_context, open, open_rescued};
pub use rescue::{RescueMap, StatusTotal};
