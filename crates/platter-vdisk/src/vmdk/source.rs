//! The guest-visible disk of a VMDK as a [`Source`]: extents laid end to
//! end, grains looked up in the grain map, compressed grains inflated (in
//! parallel when a read spans several), unallocated grains read from the
//! parent.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use byteorder::{ByteOrder, LittleEndian as LE};
use flate2::{Decompress, FlushDecompress, Status};
use platter_core::{
    Error as CoreError, Extent, ExtentKind, Result as CoreResult, SharedSource, Source, clip,
    push_extent,
};
use rayon::prelude::*;

use super::grains::{Grain, GrainMap};
use super::stream::max_compressed;

/// Largest span of compressed grains fetched with one read.
const MAX_SPAN_BYTES: u64 = 256 << 20;

/// A sparse extent: its file, grain map and caches.
#[derive(Debug)]
pub struct SparseExtent {
    pub(super) file: SharedSource,
    pub(super) map: GrainMap,
    /// Compressed grains carry a 12-byte marker (streamOptimized).
    pub(super) markers: bool,
    /// Extent size in bytes (the descriptor's, or the header's).
    pub(super) len: u64,
    /// Marker offsets of compressed grains found corrupt.
    bad: Mutex<HashSet<u64>>,
    /// The last inflated grain, for small reads.
    cache: Mutex<Option<(u64, Arc<Vec<u8>>)>>,
}

impl SparseExtent {
    /// Wraps a grain map.
    pub fn new(file: SharedSource, map: GrainMap, markers: bool, len: u64) -> Self {
        SparseExtent {
            file,
            map,
            markers,
            len,
            bad: Mutex::new(HashSet::new()),
            cache: Mutex::new(None),
        }
    }

    fn is_bad(&self, marker: u64) -> bool {
        self.bad
            .lock()
            .map(|b| b.contains(&marker))
            .unwrap_or(false)
    }

    fn mark_bad(&self, marker: u64) {
        if let Ok(mut b) = self.bad.lock() {
            b.insert(marker);
        }
    }

    /// Inflates the grain whose data starts at `marker` into `out`
    /// (`grain_bytes` long). `span` holds already-read file bytes
    /// (start offset, bytes). Returns `false` when the grain is corrupt.
    fn inflate(
        &self,
        marker: u64,
        grain_index: u64,
        out: &mut [u8],
        span: Option<(u64, &[u8])>,
    ) -> bool {
        let gb = self.map.grain_bytes;
        let file_len = self.file.len();
        let (data_off, data_len) = if self.markers {
            let Some(head) = fetch(&*self.file, marker, 12, span) else {
                return false;
            };
            let lba = LE::read_u64(&head);
            let size = u64::from(LE::read_u32(&head[8..]));
            if size == 0
                || size > max_compressed(gb)
                || Some(lba) != grain_index.checked_mul(gb / 512)
            {
                return false;
            }
            (marker + 12, size)
        } else {
            (
                marker,
                max_compressed(gb).min(file_len.saturating_sub(marker)),
            )
        };
        if data_off.saturating_add(data_len) > file_len && self.markers {
            return false;
        }
        let Some(data) = fetch(&*self.file, data_off, data_len, span) else {
            return false;
        };
        let mut z = Decompress::new(true);
        let ok = matches!(
            z.decompress(&data, out, FlushDecompress::Finish),
            Ok(Status::StreamEnd)
        );
        let produced = z.total_out();
        let needed = gb.min(self.len.saturating_sub(grain_index * gb));
        if !ok || produced < needed {
            return false;
        }
        out[produced as usize..].fill(0);
        true
    }

    /// Fills `out` with bytes `[in_grain, in_grain+out.len())` of a
    /// compressed grain. Fails (and remembers) when it is corrupt.
    fn read_compressed(
        &self,
        marker: u64,
        grain_index: u64,
        in_grain: u64,
        out: &mut [u8],
        span: Option<(u64, &[u8])>,
    ) -> bool {
        let gb = self.map.grain_bytes as usize;
        if in_grain == 0 && out.len() == gb {
            if self.inflate(marker, grain_index, out, span) {
                return true;
            }
            self.mark_bad(marker);
            return false;
        }
        if let Ok(c) = self.cache.lock() {
            if let Some((m, g)) = c.as_ref() {
                if *m == marker {
                    let a = in_grain as usize;
                    out.copy_from_slice(&g[a..a + out.len()]);
                    return true;
                }
            }
        }
        let mut g = vec![0u8; gb];
        if !self.inflate(marker, grain_index, &mut g, span) {
            self.mark_bad(marker);
            return false;
        }
        let a = in_grain as usize;
        out.copy_from_slice(&g[a..a + out.len()]);
        if let Ok(mut c) = self.cache.lock() {
            *c = Some((marker, Arc::new(g)));
        }
        true
    }
}

/// `len` bytes at `off`, from `span` when it covers them, else read.
fn fetch(file: &dyn Source, off: u64, len: u64, span: Option<(u64, &[u8])>) -> Option<Vec<u8>> {
    if let Some((s, bytes)) = span {
        if off >= s && off + len <= s + bytes.len() as u64 {
            let a = (off - s) as usize;
            return Some(bytes[a..a + len as usize].to_vec());
        }
    }
    let mut v = vec![0u8; usize::try_from(len).ok()?];
    file.read_exact_at(&mut v, off).ok()?;
    Some(v)
}

/// What one extent of the descriptor holds.
#[derive(Debug)]
pub enum ExtentData {
    /// Raw bytes of `file` from byte `start`.
    Flat {
        /// The file.
        file: SharedSource,
        /// Byte offset of the extent's first byte in the file.
        start: u64,
    },
    /// Reads as zeros.
    Zero,
    /// `NOACCESS`, or a missing file: unreadable.
    NoAccess,
    /// Grain-mapped.
    Sparse(SparseExtent),
}

/// One extent placed in the virtual disk.
#[derive(Debug)]
pub struct Part {
    /// First virtual byte.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// Contents.
    pub data: ExtentData,
}

/// What the parent of a delta disk is.
#[derive(Debug)]
pub enum Parent {
    /// No parent: unallocated grains are zeros.
    None,
    /// The parent disk.
    Disk(SharedSource),
    /// The parent named by the descriptor is missing: unallocated grains
    /// are unreadable.
    Missing,
}

/// The virtual disk of a VMDK.
#[derive(Debug)]
pub struct VmdkSource {
    pub(super) name: String,
    pub(super) len: u64,
    pub(super) parts: Vec<Part>,
    pub(super) parent: Parent,
}

#[derive(Clone, Copy)]
enum Kind<'a> {
    Zero,
    Parent,
    Unreadable,
    File(&'a SharedSource, u64),
    Compressed {
        ext: &'a SparseExtent,
        marker: u64,
        grain: u64,
        in_grain: u64,
    },
}

#[derive(Clone, Copy)]
struct Piece<'a> {
    offset: u64,
    len: u64,
    kind: Kind<'a>,
}

fn push<'a>(v: &mut Vec<Piece<'a>>, p: Piece<'a>) {
    if p.len == 0 {
        return;
    }
    if let Some(last) = v.last_mut() {
        if last.offset + last.len == p.offset {
            let merge = match (last.kind, p.kind) {
                (Kind::Zero, Kind::Zero)
                | (Kind::Parent, Kind::Parent)
                | (Kind::Unreadable, Kind::Unreadable) => true,
                (Kind::File(a, ao), Kind::File(b, bo)) => Arc::ptr_eq(a, b) && ao + last.len == bo,
                _ => false,
            };
            if merge {
                last.len += p.len;
                return;
            }
        }
    }
    v.push(p);
}

/// Pushes file bytes `[off, off+len)` at virtual `at`, the part past the
/// end of the file as unreadable.
fn push_file<'a>(v: &mut Vec<Piece<'a>>, file: &'a SharedSource, at: u64, off: u64, len: u64) {
    let inside = file.len().saturating_sub(off).min(len);
    push(
        v,
        Piece {
            offset: at,
            len: inside,
            kind: Kind::File(file, off),
        },
    );
    push(
        v,
        Piece {
            offset: at + inside,
            len: len - inside,
            kind: Kind::Unreadable,
        },
    );
}

impl VmdkSource {
    fn unallocated(&self) -> Kind<'_> {
        match self.parent {
            Parent::None => Kind::Zero,
            Parent::Disk(_) => Kind::Parent,
            Parent::Missing => Kind::Unreadable,
        }
    }

    /// Splits `[start, end)` into pieces of one kind each.
    fn pieces(&self, start: u64, end: u64) -> Vec<Piece<'_>> {
        let mut v = Vec::new();
        let first = self.parts.partition_point(|p| p.start + p.len <= start);
        for part in &self.parts[first..] {
            if part.start >= end {
                break;
            }
            let a = start.max(part.start) - part.start;
            let b = end.min(part.start + part.len) - part.start;
            let at = part.start;
            match &part.data {
                ExtentData::Zero => push(
                    &mut v,
                    Piece {
                        offset: at + a,
                        len: b - a,
                        kind: Kind::Zero,
                    },
                ),
                ExtentData::NoAccess => push(
                    &mut v,
                    Piece {
                        offset: at + a,
                        len: b - a,
                        kind: Kind::Unreadable,
                    },
                ),
                ExtentData::Flat { file, start: fs } => {
                    push_file(&mut v, file, at + a, fs + a, b - a)
                }
                ExtentData::Sparse(ext) => self.sparse_pieces(&mut v, ext, at, a, b),
            }
        }
        v
    }

    fn sparse_pieces<'a>(
        &'a self,
        v: &mut Vec<Piece<'a>>,
        ext: &'a SparseExtent,
        at: u64,
        a: u64,
        b: u64,
    ) {
        let gb = ext.map.grain_bytes;
        let table_bytes = gb * ext.map.gtes;
        let mut pos = a;
        while pos < b {
            let gi = pos / gb;
            // Whole tables of one state in one step.
            if pos % table_bytes == 0 {
                if let Some(g) = ext.map.uniform_table(pos / table_bytes) {
                    let past_end = pos / table_bytes >= ext.map.tables.len() as u64;
                    let n = if past_end {
                        b - pos
                    } else {
                        table_bytes.min(b - pos)
                    };
                    let kind = if g == Grain::Unallocated {
                        self.unallocated()
                    } else {
                        Kind::Unreadable
                    };
                    push(
                        v,
                        Piece {
                            offset: at + pos,
                            len: n,
                            kind,
                        },
                    );
                    pos += n;
                    continue;
                }
            }
            let in_grain = pos % gb;
            let n = (gb - in_grain).min(b - pos);
            let off = at + pos;
            match ext.map.grain(gi) {
                Grain::Unallocated => push(
                    v,
                    Piece {
                        offset: off,
                        len: n,
                        kind: self.unallocated(),
                    },
                ),
                Grain::Zero => push(
                    v,
                    Piece {
                        offset: off,
                        len: n,
                        kind: Kind::Zero,
                    },
                ),
                Grain::Unreadable => push(
                    v,
                    Piece {
                        offset: off,
                        len: n,
                        kind: Kind::Unreadable,
                    },
                ),
                Grain::Raw(o) => push_file(v, &ext.file, off, o + in_grain, n),
                Grain::Compressed(m) => {
                    let kind = if ext.is_bad(m) {
                        Kind::Unreadable
                    } else {
                        Kind::Compressed {
                            ext,
                            marker: m,
                            grain: gi,
                            in_grain,
                        }
                    };
                    push(
                        v,
                        Piece {
                            offset: off,
                            len: n,
                            kind,
                        },
                    );
                }
            }
            pos += n;
        }
    }

    /// Reads the parent's bytes, zeros past its end.
    fn read_parent(&self, out: &mut [u8], offset: u64) -> CoreResult<()> {
        let Parent::Disk(p) = &self.parent else {
            return Err(self.unreadable(offset, out.len() as u64));
        };
        let (s, e) = clip(p.len(), offset, out.len() as u64);
        let n = (e - s) as usize;
        p.read_exact_at(&mut out[..n], offset)?;
        out[n..].fill(0);
        Ok(())
    }

    fn unreadable(&self, offset: u64, len: u64) -> CoreError {
        CoreError::Unreadable {
            name: self.name.clone(),
            offset,
            len,
        }
    }

    fn fill(&self, p: &Piece<'_>, out: &mut [u8], span: Option<(u64, &[u8])>) -> CoreResult<()> {
        match p.kind {
            Kind::Zero => {
                out.fill(0);
                Ok(())
            }
            Kind::Unreadable => Err(self.unreadable(p.offset, p.len)),
            Kind::Parent => self.read_parent(out, p.offset),
            Kind::File(f, off) => f.read_exact_at(out, off),
            Kind::Compressed {
                ext,
                marker,
                grain,
                in_grain,
            } => {
                if ext.read_compressed(marker, grain, in_grain, out, span) {
                    Ok(())
                } else {
                    Err(self.unreadable(p.offset, p.len))
                }
            }
        }
    }

    /// Reads the file bytes holding all compressed grains of `pieces` with
    /// one read, when they lie close together (a sequential stream).
    fn prefetch(pieces: &[Piece<'_>]) -> Option<(u64, Vec<u8>)> {
        let mut it = pieces.iter().filter_map(|p| match p.kind {
            Kind::Compressed { ext, marker, .. } => Some((ext, marker)),
            _ => None,
        });
        let (ext, first) = it.next()?;
        let mut lo = first;
        let mut hi = first;
        let mut count = 1u64;
        for (e, m) in it {
            if !std::ptr::eq(e, ext) {
                return None;
            }
            lo = lo.min(m);
            hi = hi.max(m);
            count += 1;
        }
        let gb = ext.map.grain_bytes;
        let end = (hi + 12 + max_compressed(gb)).min(ext.file.len());
        let span = end.checked_sub(lo)?;
        if count < 2
            || span > MAX_SPAN_BYTES
            || span > count.saturating_mul(max_compressed(gb) + 512)
        {
            return None;
        }
        let mut buf = vec![0u8; span as usize];
        ext.file.read_exact_at(&mut buf, lo).ok()?;
        Some((lo, buf))
    }
}

impl Source for VmdkSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> CoreResult<usize> {
        let (start, end) = clip(self.len, offset, buf.len() as u64);
        if start == end {
            return Ok(0);
        }
        let pieces = self.pieces(start, end);
        if let Some(p) = pieces.iter().find(|p| matches!(p.kind, Kind::Unreadable)) {
            return Err(self.unreadable(p.offset, p.len));
        }
        let mut jobs = Vec::with_capacity(pieces.len());
        let mut rest = &mut buf[..(end - start) as usize];
        for p in &pieces {
            let (a, b) = rest.split_at_mut(p.len as usize);
            jobs.push((p, a));
            rest = b;
        }
        let compressed = pieces
            .iter()
            .filter(|p| matches!(p.kind, Kind::Compressed { .. }))
            .count();
        if compressed >= 2 {
            let span = Self::prefetch(&pieces);
            let span = span.as_ref().map(|(s, b)| (*s, b.as_slice()));
            jobs.into_par_iter()
                .try_for_each(|(p, out)| self.fill(p, out, span))?;
        } else {
            for (p, out) in jobs {
                self.fill(p, out, None)?;
            }
        }
        Ok((end - start) as usize)
    }

    fn extents(&self, offset: u64, len: u64) -> CoreResult<Vec<Extent>> {
        let (start, end) = clip(self.len, offset, len);
        let mut map = Vec::new();
        for p in self.pieces(start, end) {
            let simple = |kind| Extent {
                offset: p.offset,
                len: p.len,
                kind,
            };
            match p.kind {
                Kind::Zero => push_extent(&mut map, simple(ExtentKind::Zero)),
                Kind::Unreadable => push_extent(&mut map, simple(ExtentKind::Unreadable)),
                Kind::Compressed { .. } => push_extent(&mut map, simple(ExtentKind::Data)),
                Kind::File(f, off) => {
                    for e in f.extents(off, p.len)? {
                        push_extent(
                            &mut map,
                            Extent {
                                offset: p.offset + (e.offset - off),
                                len: e.len,
                                kind: e.kind,
                            },
                        );
                    }
                }
                Kind::Parent => {
                    let Parent::Disk(par) = &self.parent else {
                        continue;
                    };
                    let (s, e) = clip(par.len(), p.offset, p.len);
                    for x in par.extents(s, e - s)? {
                        push_extent(&mut map, x);
                    }
                    push_extent(
                        &mut map,
                        Extent {
                            offset: e.max(p.offset),
                            len: p.offset + p.len - e.max(p.offset),
                            kind: ExtentKind::Zero,
                        },
                    );
                }
            }
        }
        Ok(map)
    }
}
