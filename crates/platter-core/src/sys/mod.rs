//! OS-facing sources: regular files, block devices, opt-in mmaps and split
//! raw sets, plus the [`SourceReader`] stream adapter. Linux only.
//!
//! [`open_os`] is the entry point: it looks at what a path is and opens the
//! matching source.
//!
//! ```
//! use platter_core::sys::{OpenOptions, open_os};
//! use platter_core::Source;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("disk.img");
//! std::fs::write(&path, b"raw image bytes").unwrap();
//!
//! let src = open_os(&path, &OpenOptions::default()).unwrap();
//! let mut buf = [0u8; 5];
//! src.read_exact_at(&mut buf, 4).unwrap();
//! assert_eq!(&buf, b"image");
//! ```
//!
//! `unsafe` is confined to two small modules: `ioctl` (block-device ioctls
//! without a safe rustix wrapper) and `mmap`.
#![deny(unsafe_code)]

use std::fs::{self, File, FileType, Metadata};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

use rustix::fs::OFlags;

use crate::error::{Error, Result};
use crate::source::SharedSource;

mod block;
mod file;
#[allow(unsafe_code)]
mod ioctl;
#[allow(unsafe_code)]
mod mmap;
mod reader;
mod split;
mod sysfs;

pub use block::{BlockDevice, DeviceInfo, device_info, set_block_read_only};
pub use file::FileSource;
pub use mmap::MmapSource;
pub use reader::SourceReader;
pub use split::{MAX_SEGMENTS, open_split, split_segments};

/// How [`open_os`] and [`open_split`] open a path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Open block devices with `O_DIRECT`, bypassing the page cache. Reads
    /// then go through aligned bounce buffers, so any offset and length still
    /// work. Ignored for regular files.
    pub direct: bool,
    /// Memory-map regular files instead of reading them with `pread`.
    ///
    /// **Only for images known to be good.** An I/O error under a mapping
    /// (a bad sector, a file truncated by someone else, a flaky network
    /// share) kills the process with `SIGBUS` instead of returning an error.
    /// Ignored for block devices, which are never mapped.
    pub mmap: bool,
}

/// Opens `path` as the right kind of source.
///
/// - a regular file becomes a [`FileSource`] (or an [`MmapSource`] with
///   [`OpenOptions::mmap`]);
/// - a block device becomes a [`BlockDevice`] (with `O_DIRECT` when
///   [`OpenOptions::direct`]);
/// - a directory, socket, FIFO or character device is
///   [`Error::NotReadable`];
/// - a missing or inaccessible path is [`Error::Open`].
///
/// Symbolic links are followed (so `/dev/disk/by-id/…` works).
pub fn open_os(path: &Path, opts: &OpenOptions) -> Result<SharedSource> {
    let meta = stat(path)?;
    let ft = meta.file_type();
    if ft.is_block_device() {
        return Ok(Arc::new(BlockDevice::open(path, opts.direct)?));
    }
    if let Some(kind) = unreadable_kind(&ft) {
        return Err(Error::NotReadable {
            path: path.to_path_buf(),
            kind,
        });
    }
    if opts.mmap {
        Ok(Arc::new(MmapSource::open(path)?))
    } else {
        Ok(Arc::new(FileSource::open(path)?))
    }
}

/// Identity of a file on this machine: device and inode numbers.
///
/// Two paths with the same `FileId` are the same file (through hard links,
/// symbolic links or `..`). Commands use it to refuse writing onto a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// `st_dev`: the device holding the inode.
    pub dev: u64,
    /// `st_ino`: the inode number.
    pub ino: u64,
}

/// The [`FileId`] of `path` (following symbolic links), or `None` when it
/// does not exist.
pub fn file_id(path: &Path) -> Result<Option<FileId>> {
    match fs::metadata(path) {
        Ok(m) => Ok(Some(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            name: path.display().to_string(),
            what: "stat",
            source,
        }),
    }
}

/// `stat(2)` following symlinks; any failure is an [`Error::Open`].
fn stat(path: &Path) -> Result<Metadata> {
    fs::metadata(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })
}

/// Describes file types that cannot be read as an image: everything but
/// regular files and block devices.
fn unreadable_kind(ft: &FileType) -> Option<&'static str> {
    if ft.is_file() || ft.is_block_device() {
        None
    } else if ft.is_dir() {
        Some("a directory")
    } else if ft.is_socket() {
        Some("a socket")
    } else if ft.is_fifo() {
        Some("a FIFO")
    } else if ft.is_char_device() {
        Some("a character device")
    } else {
        Some("a special file")
    }
}

/// Fails unless `meta` is of the type `wanted` accepts: an unreadable type
/// (directory, FIFO…) is [`Error::NotReadable`]; the other readable type is
/// [`Error::Io`] saying `what` was attempted and `why` it was refused.
fn require_type(
    path: &Path,
    meta: &Metadata,
    wanted: fn(&FileType) -> bool,
    what: &'static str,
    why: &'static str,
) -> Result<()> {
    let ft = meta.file_type();
    if wanted(&ft) {
        return Ok(());
    }
    match unreadable_kind(&ft) {
        Some(kind) => Err(Error::NotReadable {
            path: path.to_path_buf(),
            kind,
        }),
        None => Err(Error::Io {
            name: path.display().to_string(),
            what,
            source: io::Error::new(io::ErrorKind::InvalidInput, why),
        }),
    }
}

/// Opens `path` read-only with extra `flags`, trying `O_NOATIME` first so
/// reading evidence does not change its access time (the kernel refuses it
/// with `EPERM` unless we own the file or are privileged; then we retry
/// without it).
fn open_read_only(path: &Path, flags: OFlags) -> Result<File> {
    let open = |flags: OFlags| {
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits() as i32)
            .open(path)
    };
    let res = match open(flags | OFlags::NOATIME) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => open(flags),
        other => other,
    };
    res.map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })
}

/// `fstat(2)` on an open file; a failure is an [`Error::Io`] naming `path`.
fn fstat(file: &File, path: &Path) -> Result<Metadata> {
    file.metadata().map_err(|source| Error::Io {
        name: path.display().to_string(),
        what: "fstat",
        source,
    })
}

#[cfg(test)]
mod tests;
