//! A ddrescue image seen through its mapfile: rescued bytes read as data,
//! everything else is unreadable.

use super::{BlockStatus, Mapfile};
use crate::error::{Error, Result};
use crate::source::{Extent, ExtentKind, SectorSize, Source, clip, push_extent};

/// A source whose bytes come from `inner` (an image written by ddrescue) and
/// whose non-finished ranges are unreadable, as the mapfile says.
///
/// A partially rescued image reads as data where the map says `+` and fails
/// with [`Error::Unreadable`] elsewhere, so bad sectors propagate exactly
/// instead of reading as the zeros ddrescue left in the image;
/// [`extents`](Source::extents) reports them. Within `+` ranges the inner
/// source's own extents (sparse holes) are kept.
///
/// The length is the larger of the image length and the map's domain end.
/// Bytes outside the map's blocks have no status and are unreadable, like
/// the non-tried areas ddrescue would add there.
///
/// ```
/// use platter_core::mapfile::{BlockStatus, Mapfile, MapfileSource};
/// use platter_core::{MemSource, Source};
///
/// let mut map = Mapfile::new(1024);
/// map.set_status(0, 512, BlockStatus::Finished);
/// let img = MapfileSource::new(MemSource::new("img", vec![7; 1024]), map).unwrap();
/// let mut buf = [0u8; 512];
/// img.read_exact_at(&mut buf, 0).unwrap();
/// assert!(img.read_exact_at(&mut buf, 512).is_err());
/// ```
#[derive(Debug)]
pub struct MapfileSource<S> {
    inner: S,
    map: Mapfile,
    len: u64,
}

impl<S: Source> MapfileSource<S> {
    /// Wraps `inner` with `map`. Fails with [`Error::OutOfBounds`] when a
    /// finished block lies past the end of the image: the rescued data the
    /// map promises is missing (a truncated image, or the wrong map).
    pub fn new(inner: S, map: Mapfile) -> Result<Self> {
        let image_len = inner.len();
        if let Some(b) = map
            .blocks()
            .iter()
            .rev()
            .find(|b| b.status == BlockStatus::Finished)
        {
            if b.end() > image_len {
                return Err(Error::OutOfBounds {
                    name: inner.name().to_string(),
                    offset: b.pos,
                    len: b.size,
                    size: image_len,
                });
            }
        }
        let len = image_len.max(map.size());
        Ok(Self { inner, map, len })
    }

    /// The mapfile.
    pub fn map(&self) -> &Mapfile {
        &self.map
    }

    /// The image.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The status runs of `[start, end)`: `(pos, end, finished)`, merged.
    fn runs(&self, start: u64, end: u64) -> Vec<(u64, u64, bool)> {
        let mut out: Vec<(u64, u64, bool)> = Vec::new();
        let mut push = |s: u64, e: u64, ok: bool| {
            if e <= s {
                return;
            }
            match out.last_mut() {
                Some(last) if last.2 == ok && last.1 == s => last.1 = e,
                _ => out.push((s, e, ok)),
            }
        };
        let blocks = self.map.blocks();
        let first = blocks.partition_point(|b| b.end() <= start);
        let mut pos = start;
        for b in &blocks[first..] {
            if b.pos >= end {
                break;
            }
            // A gap before the first block is unreadable.
            push(pos, b.pos.max(pos).min(end), false);
            let s = b.pos.max(start);
            let e = b.end().min(end);
            push(s, e, b.status == BlockStatus::Finished);
            pos = e;
        }
        push(pos, end, false);
        out
    }
}

impl<S: Source> Source for MapfileSource<S> {
    fn len(&self) -> u64 {
        self.len
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn sector_size(&self) -> SectorSize {
        self.inner.sector_size()
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let (start, end) = clip(self.len, offset, buf.len() as u64);
        if end == start {
            return Ok(0);
        }
        let runs = self.runs(start, end);
        if let Some(&(s, e, _)) = runs.iter().find(|r| !r.2) {
            return Err(Error::Unreadable {
                name: self.name().to_string(),
                offset: s,
                len: e - s,
            });
        }
        let n = (end - start) as usize;
        self.inner.read_exact_at(&mut buf[..n], start)?;
        Ok(n)
    }

    fn extents(&self, offset: u64, len: u64) -> Result<Vec<Extent>> {
        let (start, end) = clip(self.len, offset, len);
        let mut out = Vec::new();
        for (s, e, finished) in self.runs(start, end) {
            if finished {
                for ext in self.inner.extents(s, e - s)? {
                    push_extent(&mut out, ext);
                }
            } else {
                push_extent(
                    &mut out,
                    Extent {
                        offset: s,
                        len: e - s,
                        kind: ExtentKind::Unreadable,
                    },
                );
            }
        }
        Ok(out)
    }
}
