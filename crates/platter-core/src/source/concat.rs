//! Concatenation of sources: split raw images (`x.001`, `x.002`, …) read as one.

use super::{Extent, SectorSize, SharedSource, Source, clip, push_extent};
use crate::error::Result;

/// Several sources read back to back as one.
#[derive(Debug, Clone)]
pub struct Concat {
    name: String,
    parts: Vec<SharedSource>,
    /// `starts[i]` is the offset of part `i`; `starts[parts.len()]` is the total length.
    starts: Vec<u64>,
}

impl Concat {
    /// Concatenates `parts` in order. Empty parts are allowed.
    pub fn new(name: impl Into<String>, parts: Vec<SharedSource>) -> Self {
        let mut starts = Vec::with_capacity(parts.len() + 1);
        let mut pos = 0u64;
        for p in &parts {
            starts.push(pos);
            pos = pos.saturating_add(p.len());
        }
        starts.push(pos);
        Self {
            name: name.into(),
            parts,
            starts,
        }
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[SharedSource] {
        &self.parts
    }

    /// Index of the part holding byte `offset` (which must be below `len()`).
    fn part_at(&self, offset: u64) -> usize {
        // Last start <= offset, skipping empty parts.
        let idx = self.starts.partition_point(|&s| s <= offset) - 1;
        let mut i = idx.min(self.parts.len() - 1);
        while self.parts[i].is_empty() && i + 1 < self.parts.len() {
            i += 1;
        }
        i
    }
}

impl Source for Concat {
    fn len(&self) -> u64 {
        *self.starts.last().unwrap_or(&0)
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let (start, end) = clip(self.len(), offset, buf.len() as u64);
        let mut pos = start;
        while pos < end {
            let i = self.part_at(pos);
            let part_end = self.starts[i + 1].min(end);
            let a = (pos - start) as usize;
            let b = (part_end - start) as usize;
            let n = self.parts[i].read_at(&mut buf[a..b], pos - self.starts[i])?;
            if n == 0 {
                break;
            }
            pos += n as u64;
        }
        Ok((pos - start) as usize)
    }

    fn sector_size(&self) -> SectorSize {
        self.parts
            .first()
            .map(|p| p.sector_size())
            .unwrap_or_default()
    }

    fn extents(&self, offset: u64, len: u64) -> Result<Vec<Extent>> {
        let (start, end) = clip(self.len(), offset, len);
        let mut map = Vec::new();
        let mut pos = start;
        while pos < end {
            let i = self.part_at(pos);
            let part_end = self.starts[i + 1].min(end);
            let base = self.starts[i];
            for e in self.parts[i].extents(pos - base, part_end - pos)? {
                push_extent(
                    &mut map,
                    Extent {
                        offset: e.offset + base,
                        ..e
                    },
                );
            }
            pos = part_end;
        }
        Ok(map)
    }
}
