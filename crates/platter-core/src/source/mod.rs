//! The positional-read [`Source`] trait and its building blocks.
//!
//! Every image platter can read (a raw file, a block device, a split raw set,
//! and later E01, VMDK/VHD/VHDX and assembled RAID arrays) is a `Source`.
//! Sources are read-only, take `&self` and are `Send + Sync`, so rayon
//! workers can share one behind an `Arc`.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};

mod concat;
mod memory;
mod window;
mod zero;

pub use concat::Concat;
pub use memory::MemSource;
pub use window::Window;
pub use zero::ZeroSource;

/// Logical and physical sector sizes of a source, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SectorSize {
    /// The addressing unit: the smallest size the device reads (512 or 4096).
    pub logical: u32,
    /// The device's internal sector size (often 4096 on "512e" disks).
    pub physical: u32,
}

impl SectorSize {
    /// 512-byte logical and physical sectors: the default for files.
    pub const DEFAULT: SectorSize = SectorSize {
        logical: 512,
        physical: 512,
    };
}

impl Default for SectorSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What a byte range of a source holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtentKind {
    /// Readable data (which may still happen to be zero).
    Data,
    /// Known to read as zeros without being stored: a hole in a sparse file,
    /// an unallocated grain or block of a virtual disk, a zero source.
    Zero,
    /// Cannot be read: bad sectors, a corrupt chunk, a missing segment.
    /// Reading it returns [`Error::Unreadable`] or an I/O error.
    Unreadable,
}

/// A contiguous byte range of one [`ExtentKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Extent {
    /// First byte of the range.
    pub offset: u64,
    /// Length of the range in bytes (never 0 in a returned map).
    pub len: u64,
    /// What the range holds.
    pub kind: ExtentKind,
}

impl Extent {
    /// One past the last byte of the range.
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// A read-only, positional, thread-safe byte source.
///
/// Implementors must provide [`len`](Source::len), [`read_at`](Source::read_at)
/// and [`name`](Source::name); the rest have sensible defaults.
///
/// # Contract
/// - `read_at` never reads past `len()`: at or beyond the end it returns `Ok(0)`,
///   and a read crossing the end is short.
/// - A read touching an unreadable range fails (with [`Error::Unreadable`] or
///   [`Error::Read`]); it never returns made-up bytes. Use
///   [`read_filled`] to read around bad ranges.
/// - `extents` describes `[offset, offset+len)` clipped to the source, as
///   sorted, contiguous, non-overlapping extents with adjacent equal kinds merged.
///
/// # Example
/// ```
/// use platter_core::{MemSource, Source, Window};
/// use std::sync::Arc;
///
/// let disk: Arc<dyn Source> = Arc::new(MemSource::new("disk", (0u8..=255).collect()));
/// let part = Window::new(disk, 16, 32).unwrap();
/// let mut buf = [0u8; 4];
/// part.read_exact_at(&mut buf, 0).unwrap();
/// assert_eq!(buf, [16, 17, 18, 19]);
/// assert_eq!(part.len(), 32);
/// ```
pub trait Source: Send + Sync + fmt::Debug {
    /// Total size in bytes.
    fn len(&self) -> u64;

    /// A human-readable name for messages: usually the path.
    fn name(&self) -> &str;

    /// Reads up to `buf.len()` bytes at `offset`. Returns the number of bytes
    /// read, which is less than `buf.len()` only at the end of the source.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize>;

    /// True when the source has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Logical and physical sector size hint. Defaults to 512/512.
    fn sector_size(&self) -> SectorSize {
        SectorSize::DEFAULT
    }

    /// Which parts of `[offset, offset+len)` are data, known zero or unreadable.
    ///
    /// The default says "all data".
    fn extents(&self, offset: u64, len: u64) -> Result<Vec<Extent>> {
        let (start, end) = clip(self.len(), offset, len);
        Ok(single_extent(start, end, ExtentKind::Data))
    }

    /// Reads exactly `buf.len()` bytes at `offset`, failing with
    /// [`Error::Truncated`] when the source ends first.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let n = self.read_at(&mut buf[done..], pos)?;
            if n == 0 {
                return Err(Error::Truncated {
                    name: self.name().to_string(),
                    offset,
                    wanted: buf.len() as u64,
                    got: done as u64,
                });
            }
            done += n;
        }
        Ok(())
    }
}

/// A shared, dynamically typed source: what registries and commands pass around.
pub type SharedSource = Arc<dyn Source>;

macro_rules! forward_source {
    ($ty:ty) => {
        impl<S: Source + ?Sized> Source for $ty {
            fn len(&self) -> u64 {
                (**self).len()
            }
            fn name(&self) -> &str {
                (**self).name()
            }
            fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
                (**self).read_at(buf, offset)
            }
            fn sector_size(&self) -> SectorSize {
                (**self).sector_size()
            }
            fn extents(&self, offset: u64, len: u64) -> Result<Vec<Extent>> {
                (**self).extents(offset, len)
            }
            fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
                (**self).read_exact_at(buf, offset)
            }
        }
    };
}

forward_source!(Arc<S>);
forward_source!(Box<S>);
forward_source!(&S);

/// Clips `[offset, offset+len)` to `[0, size)`, saturating on overflow.
pub fn clip(size: u64, offset: u64, len: u64) -> (u64, u64) {
    let start = offset.min(size);
    let end = offset.saturating_add(len).min(size);
    (start, end)
}

/// A map with one extent of `kind` covering `[start, end)`, or nothing when empty.
pub fn single_extent(start: u64, end: u64, kind: ExtentKind) -> Vec<Extent> {
    if end > start {
        vec![Extent {
            offset: start,
            len: end - start,
            kind,
        }]
    } else {
        Vec::new()
    }
}

/// Appends an extent to a map, merging it with the last one when they touch
/// and share a kind. Empty extents are dropped.
pub fn push_extent(map: &mut Vec<Extent>, ext: Extent) {
    if ext.len == 0 {
        return;
    }
    if let Some(last) = map.last_mut() {
        if last.kind == ext.kind && last.end() == ext.offset {
            last.len += ext.len;
            return;
        }
    }
    map.push(ext);
}

/// Reads `buf.len()` bytes at `offset`, filling unreadable ranges with `fill`
/// instead of failing, and returns the unreadable ranges met (absolute offsets).
///
/// Ranges the source reports as [`ExtentKind::Unreadable`] are filled without
/// being read. A read error inside a data range is narrowed down to
/// `granularity`-byte units (usually the logical sector size), so no readable
/// unit is lost. Bytes past the end of the source are not touched; the
/// returned `usize` is the number of bytes covered.
pub fn read_filled(
    src: &dyn Source,
    buf: &mut [u8],
    offset: u64,
    fill: u8,
    granularity: u32,
) -> Result<(usize, Vec<Extent>)> {
    let (start, end) = clip(src.len(), offset, buf.len() as u64);
    let covered = (end - start) as usize;
    let mut bad: Vec<Extent> = Vec::new();
    if covered == 0 {
        return Ok((0, bad));
    }
    let gran = u64::from(granularity.max(1));
    for ext in src.extents(start, end - start)? {
        let lo = (ext.offset - start) as usize;
        let hi = (ext.end() - start) as usize;
        match ext.kind {
            ExtentKind::Unreadable => {
                buf[lo..hi].fill(fill);
                push_extent(&mut bad, ext);
            }
            ExtentKind::Zero | ExtentKind::Data => {
                if src.read_exact_at(&mut buf[lo..hi], ext.offset).is_ok() {
                    continue;
                }
                // Narrow the failure down unit by unit.
                let mut pos = ext.offset;
                while pos < ext.end() {
                    let unit_end = ((pos / gran) + 1).saturating_mul(gran).min(ext.end());
                    let a = (pos - start) as usize;
                    let b = (unit_end - start) as usize;
                    match src.read_exact_at(&mut buf[a..b], pos) {
                        Ok(()) => {}
                        Err(
                            Error::Truncated { .. } | Error::Read { .. } | Error::Unreadable { .. },
                        ) => {
                            buf[a..b].fill(fill);
                            push_extent(
                                &mut bad,
                                Extent {
                                    offset: pos,
                                    len: unit_end - pos,
                                    kind: ExtentKind::Unreadable,
                                },
                            );
                        }
                        Err(e) => return Err(e),
                    }
                    pos = unit_end;
                }
            }
        }
    }
    Ok((covered, bad))
}

#[cfg(test)]
mod tests;
