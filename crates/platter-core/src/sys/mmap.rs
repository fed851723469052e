//! Opt-in memory-mapped regular files.
//!
//! # Danger: bad sectors become `SIGBUS`
//!
//! A read through a mapping that the kernel cannot satisfy (an unreadable
//! sector under the file, a file truncated by another process, a network
//! share that went away) is not an error value: the kernel sends `SIGBUS`
//! and the process dies. **Never map evidence that may have read errors**,
//! and never map a block device. Use [`FileSource`](super::FileSource)
//! unless the image is known to be good and mapping is measurably faster.
//!
//! This is one of the two modules of `platter-core` allowed to use `unsafe`
//! (the other is `ioctl`).

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use rustix::fs::OFlags;

use super::file::{check_regular, hole_extents};
use super::{fstat, open_read_only, stat};
use crate::error::{Error, Result};
use crate::source::{Extent, Source, clip};

/// A regular file mapped read-only into memory. See the module docs: an I/O
/// error under the mapping is a `SIGBUS`, so use this only for images known
/// to be good.
#[derive(Debug)]
pub struct MmapSource {
    /// `None` for an empty file, which cannot be mapped.
    map: Option<Mmap>,
    /// Kept open for `SEEK_DATA`/`SEEK_HOLE` queries.
    file: File,
    path: PathBuf,
    name: String,
    len: u64,
}

impl MmapSource {
    /// Opens and maps a regular file read-only.
    ///
    /// Errors are as for [`FileSource::open`](super::FileSource::open), plus
    /// [`Error::Io`] when the mapping itself fails.
    pub fn open(path: &Path) -> Result<Self> {
        check_regular(path, &stat(path)?)?;
        let file = open_read_only(path, OFlags::empty())?;
        let meta = fstat(&file, path)?;
        check_regular(path, &meta)?;
        let name = path.display().to_string();
        let map = if meta.len() == 0 {
            None
        } else {
            // SAFETY: the mapping is read-only and private to this struct,
            // which only ever copies bytes out of it. The remaining hazard is
            // outside Rust's model: if the file is truncated or a sector under
            // it fails to read while mapped, touching those pages raises
            // SIGBUS. That is the documented, opt-in price of this source.
            let map = unsafe { Mmap::map(&file) }.map_err(|source| Error::Io {
                name: name.clone(),
                what: "mmap",
                source,
            })?;
            Some(map)
        };
        // The mapping's length is the file length at mapping time.
        let len = map.as_ref().map_or(0, |m| m.len() as u64);
        Ok(Self {
            map,
            file,
            path: path.to_path_buf(),
            name,
            len,
        })
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Source for MmapSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let Some(map) = &self.map else {
            return Ok(0);
        };
        // `len` is the mapping length, a usize, so these conversions fit.
        let (start, end) = clip(self.len, offset, buf.len() as u64);
        let (start, end) = (start as usize, end as usize);
        let n = end - start;
        buf[..n].copy_from_slice(&map[start..end]);
        Ok(n)
    }

    fn extents(&self, offset: u64, len: u64) -> Result<Vec<Extent>> {
        hole_extents(&self.file, &self.name, self.len, offset, len)
    }
}
