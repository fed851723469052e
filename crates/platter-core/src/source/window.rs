//! A window (offset + length) onto another source: a partition, a member's
//! data area, an extent of a flat virtual disk.

use super::{Extent, SectorSize, SharedSource, Source, clip};
use crate::error::{Error, Result};

/// The bytes `[offset, offset+len)` of an inner source, seen as a source of
/// its own starting at 0.
#[derive(Debug, Clone)]
pub struct Window {
    name: String,
    inner: SharedSource,
    offset: u64,
    len: u64,
}

impl Window {
    /// A window of `len` bytes at `offset` of `inner`. Fails with
    /// [`Error::OutOfBounds`] when the window does not fit inside `inner`.
    pub fn new(inner: SharedSource, offset: u64, len: u64) -> Result<Self> {
        let name = format!("{}[{:#x}+{:#x}]", inner.name(), offset, len);
        Self::with_name(inner, offset, len, name)
    }

    /// Like [`Window::new`], with an explicit name for messages.
    pub fn with_name(
        inner: SharedSource,
        offset: u64,
        len: u64,
        name: impl Into<String>,
    ) -> Result<Self> {
        let fits = offset
            .checked_add(len)
            .is_some_and(|end| end <= inner.len());
        if !fits {
            return Err(Error::OutOfBounds {
                name: inner.name().to_string(),
                offset,
                len,
                size: inner.len(),
            });
        }
        Ok(Self {
            name: name.into(),
            inner,
            offset,
            len,
        })
    }

    /// Where the window starts in the inner source.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The inner source.
    pub fn inner(&self) -> &SharedSource {
        &self.inner
    }
}

impl Source for Window {
    fn len(&self) -> u64 {
        self.len
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let (start, end) = clip(self.len, offset, buf.len() as u64);
        let n = (end - start) as usize;
        if n == 0 {
            return Ok(0);
        }
        self.inner.read_at(&mut buf[..n], self.offset + start)
    }

    fn sector_size(&self) -> SectorSize {
        self.inner.sector_size()
    }

    fn extents(&self, offset: u64, len: u64) -> Result<Vec<Extent>> {
        let (start, end) = clip(self.len, offset, len);
        if end == start {
            return Ok(Vec::new());
        }
        let inner = self.inner.extents(self.offset + start, end - start)?;
        Ok(inner
            .into_iter()
            .map(|e| Extent {
                offset: e.offset - self.offset,
                ..e
            })
            .collect())
    }
}
