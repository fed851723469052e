//! Replaying a VHDX metadata log in memory.
//!
//! A VHDX left by a crashed host has a non-zero `LogGuid` in its current
//! header: metadata updates (BAT, metadata region) were written to the log
//! but maybe not to their final place. Hyper-V and qemu replay the log by
//! writing the file. This reader never writes: it finds the active log
//! sequence and lays its writes over the file as an [`Overlay`] source, so
//! every later read of the file sees the replayed state.
//!
//! Layout: Microsoft "VHDX Format Specification" v1.0, section 2.3 (log
//! entry header, zero and data descriptors, data sectors) and 2.3.3
//! (replay: the active sequence is the valid run of entries with
//! consecutive sequence numbers and the highest sequence number whose head
//! entry's tail points at the run's first entry). Entries are 4 KiB
//! sectors in a circular log and may wrap around its end.

use std::collections::BTreeMap;

use platter_core::{
    Extent, ExtentKind, Result as CoreResult, SectorSize, SharedSource, Source, clip, push_extent,
};

use super::headers::{Guid, Header, crc32c_skipping, le32, le64};

/// Log sector size.
const SECTOR: usize = 4096;
/// Largest log region read into memory.
pub const MAX_LOG_BYTES: u64 = 256 << 20;
/// Largest file size a log entry may record (64 TiB of payload plus
/// metadata).
const MAX_FILE_BYTES: u64 = 1 << 47;

/// A write laid over the file by the log.
#[derive(Debug, Clone)]
enum Patch {
    /// `len` bytes of zeros.
    Zero(u64),
    /// These bytes.
    Data(Vec<u8>),
}

impl Patch {
    fn len(&self) -> u64 {
        match self {
            Patch::Zero(n) => *n,
            Patch::Data(d) => d.len() as u64,
        }
    }

    /// The part `[a, b)` of the patch (offsets relative to its start).
    fn slice(&self, a: u64, b: u64) -> Patch {
        match self {
            Patch::Zero(_) => Patch::Zero(b - a),
            Patch::Data(d) => Patch::Data(d[a as usize..b as usize].to_vec()),
        }
    }
}

/// The file with the replayed log writes laid over it.
#[derive(Debug)]
pub(crate) struct Overlay {
    inner: SharedSource,
    len: u64,
    patches: BTreeMap<u64, Patch>,
}

impl Overlay {
    fn new(inner: SharedSource) -> Self {
        let len = inner.len();
        Overlay {
            inner,
            len,
            patches: BTreeMap::new(),
        }
    }

    /// Lays `patch` at `start`, over anything laid before.
    fn write(&mut self, start: u64, patch: Patch) {
        let end = start + patch.len();
        let overlapping: Vec<u64> = self
            .patches
            .range(..end)
            .rev()
            .take_while(|(k, p)| *k + p.len() > start)
            .map(|(k, _)| *k)
            .collect();
        for k in overlapping {
            let old = self.patches.remove(&k).expect("key just listed");
            let old_end = k + old.len();
            if k < start {
                self.patches.insert(k, old.slice(0, start - k));
            }
            if old_end > end {
                self.patches.insert(end, old.slice(end - k, old_end - k));
            }
        }
        self.patches.insert(start, patch);
        self.len = self.len.max(end);
    }

    /// Patches overlapping `[start, end)`.
    fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = (u64, &Patch)> {
        let first = self
            .patches
            .range(..=start)
            .next_back()
            .map_or(start, |(k, _)| *k);
        self.patches
            .range(first..end)
            .filter(move |(k, p)| *k + p.len() > start)
            .map(|(k, p)| (*k, p))
    }
}

impl Source for Overlay {
    fn len(&self) -> u64 {
        self.len
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn sector_size(&self) -> SectorSize {
        self.inner.sector_size()
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> CoreResult<usize> {
        let (start, end) = clip(self.len, offset, buf.len() as u64);
        let n = (end - start) as usize;
        let buf = &mut buf[..n];
        // Fully covered by patches: no need to read the file (it may even
        // be shorter than the replayed file).
        let mut covered = 0u64;
        for (k, p) in self.overlapping(start, end) {
            covered += (k + p.len()).min(end) - k.max(start);
        }
        if covered < end - start {
            let inner_end = end.min(self.inner.len());
            if inner_end > start {
                let m = (inner_end - start) as usize;
                self.inner.read_exact_at(&mut buf[..m], start)?;
                buf[m..].fill(0);
            } else {
                buf.fill(0);
            }
        }
        for (k, p) in self.overlapping(start, end) {
            let (a, b) = (k.max(start), (k + p.len()).min(end));
            let dst = &mut buf[(a - start) as usize..(b - start) as usize];
            match p {
                Patch::Zero(_) => dst.fill(0),
                Patch::Data(d) => dst.copy_from_slice(&d[(a - k) as usize..(b - k) as usize]),
            }
        }
        Ok(n)
    }

    fn extents(&self, offset: u64, len: u64) -> CoreResult<Vec<Extent>> {
        let (start, end) = clip(self.len, offset, len);
        let inner_end = end.min(self.inner.len()).max(start);
        let mut base = self.inner.extents(start, inner_end - start)?;
        push_extent(
            &mut base,
            Extent {
                offset: inner_end,
                len: end - inner_end,
                kind: ExtentKind::Zero,
            },
        );
        for (k, p) in self.overlapping(start, end) {
            let (a, b) = (k.max(start), (k + p.len()).min(end));
            let kind = match p {
                Patch::Zero(_) => ExtentKind::Zero,
                Patch::Data(_) => ExtentKind::Data,
            };
            base = paint(&base, a, b, kind);
        }
        Ok(base)
    }
}

/// `map` with `[a, b)` set to `kind`.
fn paint(map: &[Extent], a: u64, b: u64, kind: ExtentKind) -> Vec<Extent> {
    let mut out = Vec::with_capacity(map.len() + 2);
    for e in map {
        if e.end() <= a || e.offset >= b {
            push_extent(&mut out, *e);
            continue;
        }
        if e.offset < a {
            push_extent(
                &mut out,
                Extent {
                    len: a - e.offset,
                    ..*e
                },
            );
        }
        let (s, t) = (e.offset.max(a), e.end().min(b));
        push_extent(
            &mut out,
            Extent {
                offset: s,
                len: t - s,
                kind,
            },
        );
        if e.end() > b {
            push_extent(
                &mut out,
                Extent {
                    offset: b,
                    len: e.end() - b,
                    kind: e.kind,
                },
            );
        }
    }
    out
}

/// One write of a log entry.
#[derive(Debug, Clone)]
enum Write {
    Zero { offset: u64, len: u64 },
    Data { offset: u64, bytes: Vec<u8> },
}

/// A valid log entry.
#[derive(Debug, Clone)]
struct Entry {
    length: u64,
    tail: u64,
    sequence: u64,
    flushed_file_offset: u64,
    last_file_offset: u64,
    writes: Vec<Write>,
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replay {
    /// Entries replayed.
    pub entries: usize,
    /// First and last sequence numbers replayed.
    pub sequences: (u64, u64),
    /// Bytes written by the replay (zeros included).
    pub bytes: u64,
    /// The file size the log requires (FlushedFileOffset).
    pub flushed_file_offset: u64,
}

/// The circular log, read whole.
struct Log<'a> {
    bytes: &'a [u8],
    /// Length of the file the log belongs to.
    file_len: u64,
}

impl Log<'_> {
    /// `n` bytes at log offset `at`, wrapping around the end.
    fn read(&self, at: u64, n: usize) -> Vec<u8> {
        let len = self.bytes.len();
        let start = (at % len as u64) as usize;
        let mut out = Vec::with_capacity(n);
        let mut pos = start;
        while out.len() < n {
            let take = (n - out.len()).min(len - pos);
            out.extend_from_slice(&self.bytes[pos..pos + take]);
            pos = (pos + take) % len;
        }
        out
    }

    /// The valid entry at `at` belonging to `log_guid`, if any.
    fn entry(&self, at: u64, log_guid: &Guid) -> Option<Entry> {
        let first = self.read(at, SECTOR);
        if &first[..4] != b"loge" {
            return None;
        }
        let length = u64::from(le32(&first, 8));
        if length == 0 || length % SECTOR as u64 != 0 || length > self.bytes.len() as u64 {
            return None;
        }
        if first[32..48] != log_guid[..] {
            return None;
        }
        let whole = self.read(at, length as usize);
        if le32(&whole, 4) != crc32c_skipping(&whole, 4) {
            return None;
        }
        let sequence = le64(&whole, 16);
        let count = le32(&whole, 24) as usize;
        let sectors = (length as usize) / SECTOR;
        let desc_sectors = (64 + 32 * count).div_ceil(SECTOR);
        if desc_sectors > sectors {
            return None;
        }
        let mut writes = Vec::with_capacity(count.min(sectors * 128));
        let mut data_index = 0usize;
        for i in 0..count {
            let d = &whole[64 + 32 * i..96 + 32 * i];
            if le64(d, 24) != sequence {
                return None;
            }
            let offset = le64(d, 16);
            match &d[..4] {
                b"zero" => {
                    let len = le64(d, 8);
                    if len % SECTOR as u64 != 0 || offset % SECTOR as u64 != 0 {
                        return None;
                    }
                    offset.checked_add(len)?;
                    writes.push(Write::Zero { offset, len });
                }
                b"desc" => {
                    let at_sector = desc_sectors + data_index;
                    if at_sector >= sectors || offset % SECTOR as u64 != 0 {
                        return None;
                    }
                    let s = &whole[at_sector * SECTOR..(at_sector + 1) * SECTOR];
                    let high = u64::from(le32(s, 4));
                    let low = u64::from(le32(s, SECTOR - 4));
                    if &s[..4] != b"data" || (high << 32 | low) != sequence {
                        return None;
                    }
                    let mut bytes = Vec::with_capacity(SECTOR);
                    bytes.extend_from_slice(&d[8..16]); // leading bytes
                    bytes.extend_from_slice(&s[8..SECTOR - 4]);
                    bytes.extend_from_slice(&d[4..8]); // trailing bytes
                    offset.checked_add(SECTOR as u64)?;
                    writes.push(Write::Data { offset, bytes });
                    data_index += 1;
                }
                _ => return None,
            }
        }
        let last_file_offset = le64(&whole, 56);
        if last_file_offset > MAX_FILE_BYTES {
            return None;
        }
        // Every write lies below the file size the entry records.
        let limit = last_file_offset.max(self.file_len);
        let inside = writes.iter().all(|w| match w {
            Write::Zero { offset, len } => offset.checked_add(*len).is_some_and(|e| e <= limit),
            Write::Data { offset, .. } => offset
                .checked_add(SECTOR as u64)
                .is_some_and(|e| e <= limit),
        });
        if !inside {
            return None;
        }
        Some(Entry {
            length,
            tail: u64::from(le32(&whole, 12)),
            sequence,
            flushed_file_offset: le64(&whole, 48),
            last_file_offset,
            writes,
        })
    }
}

/// Finds the active sequence of `log` (the whole log region) and replays
/// it over `file`. `Ok(None)` when no valid sequence exists.
pub(crate) fn replay(
    file: SharedSource,
    log: &[u8],
    header: &Header,
) -> (SharedSource, Option<Replay>) {
    if log.is_empty() || log.len() % SECTOR != 0 {
        return (file, None);
    }
    let log = Log {
        bytes: log,
        file_len: file.len(),
    };
    let positions = (log.bytes.len() / SECTOR) as u64;
    // Every valid entry, parsed once, by log offset.
    let entries: BTreeMap<u64, Entry> = (0..positions)
        .map(|p| p * SECTOR as u64)
        .filter_map(|at| log.entry(at, &header.log_guid).map(|e| (at, e)))
        .collect();
    // A sequence starts where some entry's tail points.
    let starts: std::collections::BTreeSet<u64> = entries
        .values()
        .map(|e| e.tail)
        .filter(|t| entries.contains_key(t))
        .collect();
    let log_len = log.bytes.len() as u64;
    let mut best: Option<Vec<&Entry>> = None;
    for start in starts {
        let mut run = vec![&entries[&start]];
        let mut at = start;
        let mut used = run[0].length;
        loop {
            let last = run.last().expect("non-empty");
            at = (at + last.length) % log_len;
            if at == start || used >= log_len {
                break;
            }
            match entries.get(&at) {
                Some(e) if Some(e.sequence) == last.sequence.checked_add(1) => {
                    used += e.length;
                    run.push(e);
                }
                _ => break,
            }
        }
        let head = run.last().expect("non-empty");
        if head.tail != start {
            continue;
        }
        let better = best
            .as_ref()
            .is_none_or(|b| head.sequence > b.last().expect("non-empty").sequence);
        if better {
            best = Some(run);
        }
    }
    let Some(run) = best else {
        return (file, None);
    };
    let mut overlay = Overlay::new(file);
    let mut bytes = 0u64;
    for e in &run {
        for w in e.writes.iter() {
            match w {
                Write::Zero { offset, len } => {
                    overlay.write(*offset, Patch::Zero(*len));
                    bytes += len;
                }
                Write::Data { offset, bytes: b } => {
                    overlay.write(*offset, Patch::Data(b.clone()));
                    bytes += b.len() as u64;
                }
            }
        }
    }
    let head = run.last().expect("non-empty");
    overlay.len = overlay.len.max(head.last_file_offset);
    let summary = Replay {
        entries: run.len(),
        sequences: (run[0].sequence, head.sequence),
        bytes,
        flushed_file_offset: head.flushed_file_offset,
    };
    (std::sync::Arc::new(overlay), Some(summary))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use platter_core::MemSource;

    use super::*;

    #[test]
    fn overlay_patches_split_and_extend() {
        let inner: SharedSource = Arc::new(MemSource::new("f", vec![1u8; 100]));
        let mut o = Overlay::new(inner);
        o.write(10, Patch::Data(vec![2u8; 20]));
        o.write(20, Patch::Zero(5));
        o.write(95, Patch::Data(vec![3u8; 10]));
        assert_eq!(o.len(), 105);
        let mut buf = vec![0u8; 105];
        o.read_exact_at(&mut buf, 0).unwrap();
        let mut want = vec![1u8; 100];
        want[10..30].fill(2);
        want[20..25].fill(0);
        want.resize(95, 0);
        want.extend_from_slice(&[3u8; 10]);
        assert_eq!(buf, want);
        let map = o.extents(0, 105).unwrap();
        assert!(
            map.iter()
                .any(|e| e.kind == ExtentKind::Zero && e.offset == 20 && e.len == 5)
        );
    }
}
