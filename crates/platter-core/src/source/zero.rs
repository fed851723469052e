//! A source of zeros, e.g. to stand in for a missing member or a sparse gap.

use super::{Extent, ExtentKind, Source, clip, single_extent};
use crate::error::Result;

/// `len` bytes that all read as zero and are reported as [`ExtentKind::Zero`].
#[derive(Debug, Clone)]
pub struct ZeroSource {
    name: String,
    len: u64,
}

impl ZeroSource {
    /// A zero source of `len` bytes.
    pub fn new(name: impl Into<String>, len: u64) -> Self {
        Self {
            name: name.into(),
            len,
        }
    }
}

impl Source for ZeroSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let (start, end) = clip(self.len, offset, buf.len() as u64);
        let n = (end - start) as usize;
        buf[..n].fill(0);
        Ok(n)
    }

    fn extents(&self, offset: u64, len: u64) -> Result<Vec<Extent>> {
        let (start, end) = clip(self.len, offset, len);
        Ok(single_extent(start, end, ExtentKind::Zero))
    }
}
