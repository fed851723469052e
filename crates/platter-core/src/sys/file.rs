//! Regular files read with `pread`, with holes reported through
//! `SEEK_DATA`/`SEEK_HOLE`.

use std::fs::{File, FileType};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::fs::{OFlags, SeekFrom};
use rustix::io::Errno;

use super::{fstat, open_read_only, require_type, stat};
use crate::error::{Error, Result};
use crate::source::{Extent, ExtentKind, Source, clip, push_extent, single_extent};

/// A regular file, read with positional reads (`pread`).
///
/// The length is taken when the file is opened. Holes of a sparse file are
/// reported as [`ExtentKind::Zero`] by [`Source::extents`].
#[derive(Debug)]
pub struct FileSource {
    file: File,
    path: PathBuf,
    name: String,
    len: u64,
}

impl FileSource {
    /// Opens a regular file read-only.
    ///
    /// A missing path is [`Error::Open`]; a directory, socket, FIFO or
    /// character device is [`Error::NotReadable`]; a block device is refused
    /// with [`Error::Io`] (open it with [`BlockDevice`](super::BlockDevice)).
    pub fn open(path: &Path) -> Result<Self> {
        // Check the type before opening: opening a FIFO would block.
        check_regular(path, &stat(path)?)?;
        let file = open_read_only(path, OFlags::empty())?;
        let meta = fstat(&file, path)?;
        check_regular(path, &meta)?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            name: path.display().to_string(),
            len: meta.len(),
        })
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Fails unless `meta` describes a regular file.
pub(super) fn check_regular(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    require_type(
        path,
        meta,
        FileType::is_file,
        "open as a regular file",
        "this is a block device; open it as one",
    )
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let (start, end) = clip(self.len, offset, buf.len() as u64);
        pread_source(&self.file, &self.name, buf, start, end)
    }

    fn extents(&self, offset: u64, len: u64) -> Result<Vec<Extent>> {
        hole_extents(&self.file, &self.name, self.len, offset, len)
    }
}

/// Reads `[start, end)` of `file` into `buf[..end-start]` with
/// [`pread_full`]; a failure is an [`Error::Read`] naming `name` and `start`.
pub(super) fn pread_source(
    file: &File,
    name: &str,
    buf: &mut [u8],
    start: u64,
    end: u64,
) -> Result<usize> {
    let want = (end - start) as usize;
    pread_full(file, &mut buf[..want], start).map_err(|source| Error::Read {
        name: name.to_owned(),
        offset: start,
        len: want as u64,
        source,
    })
}

/// Reads into all of `buf` at `offset`, retrying on `EINTR` and continuing
/// after short reads. Returns fewer bytes only at end of file.
pub(super) fn pread_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0usize;
    while done < buf.len() {
        // `done` never exceeds `buf.len()`, so this cannot overflow a u64
        // offset that `clip` already bounded by the file length.
        let pos = offset.saturating_add(done as u64);
        match file.read_at(&mut buf[done..], pos) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Maps `[offset, offset+len)` (clipped to `size`) into data and hole
/// extents using `lseek(SEEK_DATA)` / `lseek(SEEK_HOLE)`.
///
/// When the file system does not support these (`EINVAL`, `EOPNOTSUPP`) the
/// whole range is reported as data. The implicit hole a file system reports
/// at end of file is clipped away by `size`.
pub(super) fn hole_extents(
    file: &File,
    name: &str,
    size: u64,
    offset: u64,
    len: u64,
) -> Result<Vec<Extent>> {
    let (start, end) = clip(size, offset, len);
    let mut map = Vec::new();
    let mut pos = start;
    while pos < end {
        let data = match seek(file, SeekFrom::Data(pos)) {
            Ok(d) => d,
            // ENXIO: no data at or after `pos` (the rest is a hole, or the
            // file shrank since it was opened).
            Err(Errno::NXIO) => end,
            Err(e) if unsupported(e) => return Ok(single_extent(start, end, ExtentKind::Data)),
            Err(e) => return Err(seek_error(name, pos, e)),
        };
        let data = data.clamp(pos, end);
        push_extent(
            &mut map,
            Extent {
                offset: pos,
                len: data - pos,
                kind: ExtentKind::Zero,
            },
        );
        pos = data;
        if pos >= end {
            break;
        }
        let hole = match seek(file, SeekFrom::Hole(pos)) {
            Ok(h) => h,
            Err(Errno::NXIO) => end,
            Err(e) if unsupported(e) => return Ok(single_extent(start, end, ExtentKind::Data)),
            Err(e) => return Err(seek_error(name, pos, e)),
        };
        // A hole at `pos` right after SEEK_DATA said data starts there means
        // the file changed under us; call one byte data so we always advance.
        let hole = hole.clamp(pos + 1, end);
        push_extent(
            &mut map,
            Extent {
                offset: pos,
                len: hole - pos,
                kind: ExtentKind::Data,
            },
        );
        pos = hole;
    }
    Ok(map)
}

/// `lseek(2)` retrying on `EINTR`. The file position it moves is never used
/// for reading (all reads are positional), so concurrent calls are harmless.
fn seek(file: &File, pos: SeekFrom) -> std::result::Result<u64, Errno> {
    loop {
        match rustix::fs::seek(file, pos) {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

fn unsupported(e: Errno) -> bool {
    e == Errno::INVAL || e == Errno::OPNOTSUPP || e == Errno::NOSYS
}

fn seek_error(name: &str, offset: u64, e: Errno) -> Error {
    Error::Read {
        name: name.to_string(),
        offset,
        len: 0,
        source: io::Error::from(e),
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
