//! [`EwfImage`]: an E01 segment set opened as a [`Source`].

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use platter_core::sys::{OpenOptions, open_os};
use platter_core::{CaseInfo, Extent, ExtentKind, SharedSource, Source, clip, push_extent};
use rayon::prelude::*;

use crate::chunk_table::{ChunkLoc, Table, decode_chunk, locate};
use crate::error::{Error, Result};
use crate::format::Volume;
use crate::header_text::{case_from, display_date, key_label};
use crate::naming::segment_path;
use crate::section_walk::{Ending, walk_segment};

/// Largest chunk (sectors per chunk × bytes per sector) accepted: libewf's
/// maximum of 32768 sectors of 512 bytes.
pub const MAX_CHUNK_BYTES: u64 = 16 << 20;
/// Decompressed chunks kept for repeated small reads.
const CACHE_CHUNKS: usize = 16;
/// A read spanning at least this many chunks decodes them in parallel.
const PARALLEL_CHUNKS: usize = 4;

/// One segment file of the set.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Its path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub len: u64,
    source: SharedSource,
}

/// A chunk that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadChunk {
    /// Chunk number in the image.
    pub index: u64,
    /// First image byte it covers.
    pub image_offset: u64,
    /// Image bytes it covers.
    pub len: u64,
    /// Segment file holding it.
    pub segment: PathBuf,
    /// Offset of the stored chunk in that segment.
    pub segment_offset: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// An EWF-E01 image (all its segments) read as one [`Source`].
///
/// Reads decode the chunks they touch (in parallel for large reads). A
/// chunk whose Adler-32 or zlib stream is bad fails only reads touching it,
/// with an error naming the segment and offset, and is reported as
/// [`ExtentKind::Unreadable`] from then on (or at once after
/// [`check_chunks`](Self::check_chunks)).
#[derive(Debug)]
pub struct EwfImage {
    name: String,
    segments: Vec<Segment>,
    volume: Volume,
    media_len: u64,
    chunk_len: u64,
    chunk_count: u64,
    tables: Vec<Table>,
    header_values: Vec<(String, String)>,
    md5: Option<[u8; 16]>,
    sha1: Option<[u8; 20]>,
    error2: Vec<(u64, u64)>,
    anomalies: Vec<String>,
    bad: Mutex<BTreeMap<u64, BadChunk>>,
    cache: Mutex<VecDeque<(u64, Arc<Vec<u8>>)>>,
}

impl EwfImage {
    /// Opens the set whose first segment is `first` (`x.E01`), finding
    /// `x.E02`, … next to it until the segment that ends with "done".
    ///
    /// # Errors
    /// Not an EWF file; a missing or misnumbered segment; a truncated or
    /// damaged structure (naming the segment and offset); a volume that
    /// disagrees with the tables.
    pub fn open(first: &Path) -> Result<EwfImage> {
        let opts = OpenOptions::default();
        let src = open_os(first, &opts)?;
        Self::open_with(first, src, &opts)
    }

    /// Like [`open`](Self::open), with the first segment already opened
    /// (possibly through a ddrescue map) and `opts` for the others.
    pub fn open_with(
        first: &Path,
        first_src: SharedSource,
        opts: &OpenOptions,
    ) -> Result<EwfImage> {
        let mut find = |n: u32| -> Result<Option<(PathBuf, SharedSource)>> {
            let Some(path) = segment_path(first, n) else {
                return Err(Error::TooManySegments { number: n });
            };
            let other_case = path.extension().and_then(|e| e.to_str()).map(|e| {
                if e.chars().any(|c| c.is_ascii_lowercase()) {
                    e.to_ascii_uppercase()
                } else {
                    e.to_ascii_lowercase()
                }
            });
            for p in std::iter::once(path.clone()).chain(other_case.map(|e| path.with_extension(e)))
            {
                if p.exists() {
                    let src = open_os(&p, opts)?;
                    return Ok(Some((p, src)));
                }
            }
            Ok(None)
        };
        Self::open_segments(first.to_path_buf(), first_src, &mut find)
    }

    /// Opens an image from segments already in hand (memory, tests,
    /// fuzzing): `segments[0]` is the first; a set that needs more than
    /// given fails with [`Error::MissingSegment`].
    pub fn from_sources(segments: Vec<(PathBuf, SharedSource)>) -> Result<EwfImage> {
        let mut it = segments.into_iter();
        let (p, s) = it.next().ok_or_else(|| Error::InvalidOptions {
            reason: "no segment given".into(),
        })?;
        let rest: Vec<_> = it.collect();
        let mut find = |n: u32| Ok(rest.get(n as usize - 2).cloned());
        Self::open_segments(p, s, &mut find)
    }

    fn open_segments(
        first: PathBuf,
        first_src: SharedSource,
        find: &mut dyn FnMut(u32) -> Result<Option<(PathBuf, SharedSource)>>,
    ) -> Result<EwfImage> {
        let mut segments = Vec::new();
        let mut tables = Vec::new();
        let mut anomalies = Vec::new();
        let mut error2 = Vec::new();
        let (mut header2, mut header) = (None, None);
        let (mut volume, mut md5, mut sha1, mut hash_md5) = (None, None, None, None);
        let mut next = Some((first.clone(), first_src));
        let mut number = 1u32;
        let mut chunk_base = 0u64;
        while let Some((path, src)) = next.take() {
            let info = walk_segment(&path, &src, number)?;
            let seg_index = segments.len();
            let segment_base = chunk_base;
            for mut t in info.tables {
                t.segment = seg_index;
                t.first_chunk += segment_base;
                chunk_base += t.entries.len() as u64;
                tables.push(t);
            }
            if let Some((v, at)) = info.volume {
                match &volume {
                    None => volume = Some((v, path.clone(), at)),
                    Some((first_v, _, _)) => {
                        let first_v: &Volume = first_v;
                        if first_v.guid != v.guid || first_v.chunk_count != v.chunk_count {
                            anomalies.push(format!(
                                "{}: data section at {at:#x} describes another image \
                                 (set identifier or chunk count differs from the first segment)",
                                path.display()
                            ));
                        }
                    }
                }
            }
            header2 = header2.or(info.header2);
            header = header.or(info.header);
            md5 = md5.or(info.digest_md5);
            sha1 = sha1.or(info.digest_sha1);
            hash_md5 = hash_md5.or(info.hash_md5);
            error2.extend(info.error2);
            anomalies.extend(info.anomalies);
            segments.push(Segment {
                path: path.clone(),
                len: src.len(),
                source: src,
            });
            if info.ending == Some(Ending::Next) {
                number += 1;
                match find(number)? {
                    Some(s) => next = Some(s),
                    None => {
                        return Err(Error::MissingSegment {
                            path: segment_path(&first, number).unwrap_or_default(),
                            number,
                        });
                    }
                }
            }
        }
        let Some((volume, vol_path, vol_at)) = volume else {
            return Err(Error::corrupt(
                &first,
                0,
                "no valid volume section: the media size is unknown",
            ));
        };
        let bad_vol = |reason: String| Err(Error::corrupt(&vol_path, vol_at, reason));
        let spc = u64::from(volume.sectors_per_chunk);
        let bps = u64::from(volume.bytes_per_sector);
        let chunk_len = spc * bps;
        if spc == 0 || bps == 0 || chunk_len > MAX_CHUNK_BYTES {
            return bad_vol(format!(
                "volume: {spc} sectors per chunk of {bps} bytes is not a usable chunk size \
                 (at most {MAX_CHUNK_BYTES} bytes)"
            ));
        }
        let Some(media_len) = volume.sector_count.checked_mul(bps) else {
            return bad_vol(format!(
                "volume: {} sectors of {bps} bytes overflow",
                volume.sector_count
            ));
        };
        let needed = volume.sector_count.div_ceil(spc);
        if u64::from(volume.chunk_count) < needed {
            return bad_vol(format!(
                "volume: {} chunks cannot hold {} sectors",
                volume.chunk_count, volume.sector_count
            ));
        }
        if u64::from(volume.chunk_count) > needed {
            anomalies.push(format!(
                "{}: volume at {vol_at:#x} declares {} chunks, {needed} hold its {} sectors",
                vol_path.display(),
                volume.chunk_count,
                volume.sector_count
            ));
        }
        if chunk_base < needed {
            let last = segments.last().map_or(first.clone(), |s| s.path.clone());
            return Err(Error::corrupt(
                &last,
                0,
                format!(
                    "the tables of the {} segment(s) list {chunk_base} chunks, but the volume \
                     needs {needed}: segments are truncated or missing",
                    segments.len()
                ),
            ));
        }
        if chunk_base > needed {
            anomalies.push(format!(
                "the tables list {chunk_base} chunks, more than the {needed} the volume needs; \
                 the extra ones are ignored"
            ));
        }
        let values = header2.or(header).unwrap_or_default();
        let error2 = error2
            .into_iter()
            .map(|(s, n)| (u64::from(s), u64::from(n)))
            .collect();
        Ok(EwfImage {
            name: first.display().to_string(),
            segments,
            volume,
            media_len,
            chunk_len,
            chunk_count: needed,
            tables,
            header_values: values,
            md5: md5.or(hash_md5),
            sha1,
            error2,
            anomalies,
            bad: Mutex::new(BTreeMap::new()),
            cache: Mutex::new(VecDeque::new()),
        })
    }

    /// The segment files, in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The volume section (media geometry, compression level, set GUID).
    pub fn volume(&self) -> &Volume {
        &self.volume
    }

    /// Bytes per chunk.
    pub fn chunk_len(&self) -> u64 {
        self.chunk_len
    }

    /// Number of chunks of the media.
    pub fn chunk_count(&self) -> u64 {
        self.chunk_count
    }

    /// The case fields of the header2 (or header) section.
    pub fn case_info(&self) -> CaseInfo {
        case_from(&self.header_values)
    }

    /// All `main` header values as (key, value), e.g. `("c", "2026-17")`.
    pub fn header_values(&self) -> &[(String, String)] {
        &self.header_values
    }

    /// Header values with display labels (dates made readable), skipping
    /// empty and unknown ones.
    pub fn labelled_header_values(&self) -> Vec<(String, String)> {
        self.header_values
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .filter_map(|(k, v)| {
                let label = key_label(k)?;
                let v = if k == "m" || k == "u" {
                    display_date(v)
                } else {
                    v.clone()
                };
                Some((label.to_string(), v))
            })
            .collect()
    }

    /// The MD5 stored at acquisition (digest or hash section).
    pub fn stored_md5(&self) -> Option<[u8; 16]> {
        self.md5
    }

    /// The SHA-1 stored at acquisition (digest section).
    pub fn stored_sha1(&self) -> Option<[u8; 20]> {
        self.sha1
    }

    /// Sector ranges (first sector, count) the acquiring tool could not
    /// read (error2 section).
    pub fn error_ranges(&self) -> &[(u64, u64)] {
        &self.error2
    }

    /// Problems found while opening (damaged table copies, …).
    pub fn anomalies(&self) -> &[String] {
        &self.anomalies
    }

    /// The chunks found bad so far (by reads or [`check_chunks`](Self::check_chunks)).
    pub fn bad_chunks(&self) -> Vec<BadChunk> {
        self.bad
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Decodes every chunk (in parallel) and returns the bad ones; they
    /// are reported as unreadable by [`extents`](Source::extents) afterwards.
    pub fn check_chunks(&self) -> Vec<BadChunk> {
        (0..self.chunk_count).into_par_iter().for_each(|i| {
            let _ = self.decoded(i, false);
        });
        self.bad_chunks()
    }

    /// Image bytes covered by chunk `i`.
    fn chunk_span(&self, i: u64) -> (u64, u64) {
        let start = i * self.chunk_len;
        (start, self.chunk_len.min(self.media_len - start))
    }

    /// Chunk `i`, decoded (from the cache when `cache` is set).
    fn decoded(&self, i: u64, cache: bool) -> std::result::Result<Arc<Vec<u8>>, BadChunk> {
        if let Some(b) = self.bad.lock().ok().and_then(|m| m.get(&i).cloned()) {
            return Err(b);
        }
        if cache {
            if let Ok(c) = self.cache.lock() {
                if let Some((_, d)) = c.iter().find(|(k, _)| *k == i) {
                    return Ok(d.clone());
                }
            }
        }
        let (start, len) = self.chunk_span(i);
        let fail = |loc: Option<&ChunkLoc>, reason: String| BadChunk {
            index: i,
            image_offset: start,
            len,
            segment: loc
                .and_then(|l| self.segments.get(l.segment))
                .map_or_else(|| PathBuf::from(&self.name), |s| s.path.clone()),
            segment_offset: loc.map_or(0, |l| l.offset),
            reason,
        };
        let result = match locate(&self.tables, i) {
            None => Err(fail(None, "no table entry for this chunk".into())),
            Some((loc, _)) => match self.segments.get(loc.segment) {
                None => Err(fail(None, "table refers to a missing segment".into())),
                Some(seg) => decode_chunk(&seg.source, &loc, len as usize, self.chunk_len)
                    .map(Arc::new)
                    .map_err(|r| fail(Some(&loc), r)),
            },
        };
        match &result {
            Ok(d) if cache => {
                if let Ok(mut c) = self.cache.lock() {
                    if c.len() >= CACHE_CHUNKS {
                        c.pop_front();
                    }
                    c.push_back((i, d.clone()));
                }
            }
            Ok(_) => {}
            Err(b) => {
                if let Ok(mut m) = self.bad.lock() {
                    m.insert(i, b.clone());
                }
            }
        }
        result
    }

    fn chunk_error(&self, b: BadChunk) -> platter_core::Error {
        platter_core::Error::Read {
            name: b.segment.display().to_string(),
            offset: b.segment_offset,
            len: b.len,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "EWF chunk {} (image bytes {:#x}..{:#x}) of {}: {}",
                    b.index,
                    b.image_offset,
                    b.image_offset + b.len,
                    self.name,
                    b.reason
                ),
            ),
        }
    }
}

impl Source for EwfImage {
    fn len(&self) -> u64 {
        self.media_len
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn sector_size(&self) -> platter_core::SectorSize {
        let s = self.volume.bytes_per_sector;
        platter_core::SectorSize {
            logical: s,
            physical: s,
        }
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> platter_core::Result<usize> {
        let (start, end) = clip(self.media_len, offset, buf.len() as u64);
        if end <= start {
            return Ok(0);
        }
        let n = (end - start) as usize;
        let out = &mut buf[..n];
        let first = start / self.chunk_len;
        let last = (end - 1) / self.chunk_len;
        // Split the output into per-chunk pieces.
        let mut pieces: Vec<(u64, usize, &mut [u8])> = Vec::new();
        let mut rest = out;
        let mut pos = start;
        for i in first..=last {
            let (cs, cl) = self.chunk_span(i);
            let take = ((cs + cl).min(end) - pos) as usize;
            let (piece, tail) = rest.split_at_mut(take);
            pieces.push((i, (pos - cs) as usize, piece));
            rest = tail;
            pos += take as u64;
        }
        let fill = |(i, at, piece): &mut (u64, usize, &mut [u8]), cache: bool| {
            let d = self.decoded(*i, cache)?;
            piece.copy_from_slice(&d[*at..*at + piece.len()]);
            Ok::<(), BadChunk>(())
        };
        let result = if pieces.len() >= PARALLEL_CHUNKS {
            pieces.par_iter_mut().try_for_each(|p| fill(p, false))
        } else {
            pieces.iter_mut().try_for_each(|p| fill(p, true))
        };
        result.map_err(|b| self.chunk_error(b))?;
        Ok(n)
    }

    fn extents(&self, offset: u64, len: u64) -> platter_core::Result<Vec<Extent>> {
        let (start, end) = clip(self.media_len, offset, len);
        let mut map = Vec::new();
        let mut pos = start;
        if let Ok(bad) = self.bad.lock() {
            let first = start / self.chunk_len;
            for (&i, _) in bad.range(first..) {
                let (cs, cl) = self.chunk_span(i);
                if cs >= end {
                    break;
                }
                let (a, b) = (cs.max(start), (cs + cl).min(end));
                push_extent(
                    &mut map,
                    Extent {
                        offset: pos,
                        len: a - pos,
                        kind: ExtentKind::Data,
                    },
                );
                push_extent(
                    &mut map,
                    Extent {
                        offset: a,
                        len: b - a,
                        kind: ExtentKind::Unreadable,
                    },
                );
                pos = b;
            }
        }
        push_extent(
            &mut map,
            Extent {
                offset: pos,
                len: end.saturating_sub(pos),
                kind: ExtentKind::Data,
            },
        );
        Ok(map)
    }
}
