//! An in-memory source, for tests and small synthesized images.

use super::{Source, clip};
use crate::error::Result;

/// A source backed by a byte vector.
#[derive(Debug, Clone)]
pub struct MemSource {
    name: String,
    data: Vec<u8>,
}

impl MemSource {
    /// Wraps `data`, naming the source `name` in messages.
    pub fn new(name: impl Into<String>, data: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            data,
        }
    }

    /// The bytes of the source.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }
}

impl Source for MemSource {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let (start, end) = clip(self.len(), offset, buf.len() as u64);
        let n = (end - start) as usize;
        buf[..n].copy_from_slice(&self.data[start as usize..end as usize]);
        Ok(n)
    }
}
