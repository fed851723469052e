//! [`EwfWriter`]: sequential bytes in, E01 segment files out, with chunks
//! compressed on every core.
//!
//! ```text
//!  write() ──fills──▶ batch (64 chunks) ──spawn──▶ rayon pool: compress each chunk
//!     ▲                                                    │
//!     │ token (bounded in-flight batches)                  ▼ (seq, stored chunks)
//!     └──────────────────────────────────── writer thread: reorder by seq,
//!                                            append to segments (SegmentLayout)
//! ```
//!
//! At most `2 × threads + 2` batches exist at once (being filled, being
//! compressed or waiting to be written), so memory stays flat whatever
//! the media size.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use platter_core::CaseInfo;

use crate::compress::{Compression, StoredChunk, compress_chunk};
use crate::error::{Error, Result};
use crate::format::Volume;
use crate::header_text::{compress_text, header_text, header2_text};
use crate::naming::first_segment_name;
use crate::segment_writer::{SegmentLayout, WriteSummary};

/// Sectors per chunk the writer uses (EnCase's default).
pub const SECTORS_PER_CHUNK: u32 = 64;
/// Chunks compressed together as one job.
const BATCH_CHUNKS: usize = 64;
/// Smallest segment size accepted (ewfacquire's minimum).
pub const MIN_SEGMENT_SIZE: u64 = 1 << 20;
/// Default segment size: 1.4 GiB, like ewfacquire.
pub const DEFAULT_SEGMENT_SIZE: u64 = 1_503_238_553;

/// How to write an E01 image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Largest size of one segment file in bytes (default 1.4 GiB).
    pub segment_size: u64,
    /// Chunk compression.
    pub compression: Compression,
    /// Case metadata for the header and header2 sections.
    pub case: CaseInfo,
    /// Size of the media in bytes: exactly this many bytes must be written.
    /// A size that is not a whole number of sectors is padded with zeros to
    /// the next sector, and the padded image is what the digests given to
    /// [`EwfWriter::finish`] must describe (EWF stores whole sectors).
    pub media_size: u64,
    /// Bytes per sector (512 or 4096).
    pub sector_size: u32,
    /// Compression threads; 0 = all cores.
    pub threads: usize,
    /// Overwrite existing segment files instead of refusing.
    pub force: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            segment_size: DEFAULT_SEGMENT_SIZE,
            compression: Compression::Fast,
            case: CaseInfo::default(),
            media_size: 0,
            sector_size: 512,
            threads: 0,
            force: false,
        }
    }
}

/// A batch of chunks after compression.
struct Batch {
    seq: u64,
    chunk_len: usize,
    data: Vec<u8>,
    stored: Vec<StoredChunk>,
}

/// Writes an E01 image (see the [crate docs](crate)).
pub struct EwfWriter {
    chunk_len: usize,
    sector_size: u64,
    compression: Compression,
    media_size: u64,
    received: u64,
    pending: Vec<u8>,
    next_seq: u64,
    pool: Arc<rayon::ThreadPool>,
    tokens: Receiver<()>,
    results: Option<Sender<Batch>>,
    writer: Option<JoinHandle<Result<SegmentLayout>>>,
    errors: Vec<(u64, u64)>,
}

impl std::fmt::Debug for EwfWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EwfWriter")
            .field("media_size", &self.media_size)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

/// A random (version 4) GUID for the segment set, from std's seeded hasher.
fn set_guid() -> [u8; 16] {
    let mut g = [0u8; 16];
    for (i, half) in g.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    g[6] = (g[6] & 0x0f) | 0x40;
    g[8] = (g[8] & 0x3f) | 0x80;
    g
}

impl EwfWriter {
    /// Creates the first segment. `path` is the `.E01` name (`.E01` is
    /// appended when it has another extension); later segments are named
    /// `.E02` … `.E99`, `.EAA` …
    ///
    /// # Errors
    /// Invalid options (sector size, segment size, a media too large for
    /// EWF's 32-bit chunk count), an existing first or second segment
    /// without `force`, or the file cannot be created.
    pub fn create(path: &Path, opts: &WriteOptions) -> Result<EwfWriter> {
        let bad = |reason: String| Err(Error::InvalidOptions { reason });
        if !(512..=65536).contains(&opts.sector_size) || !opts.sector_size.is_power_of_two() {
            return bad(format!(
                "sector size {} is not a power of two from 512 to 65536",
                opts.sector_size
            ));
        }
        if opts.segment_size < MIN_SEGMENT_SIZE {
            return bad(format!(
                "segment size {} is below the minimum of {MIN_SEGMENT_SIZE} bytes",
                opts.segment_size
            ));
        }
        let sector = u64::from(opts.sector_size);
        let sectors = opts.media_size.div_ceil(sector);
        let chunk_count = sectors.div_ceil(u64::from(SECTORS_PER_CHUNK));
        let Ok(chunk_count) = u32::try_from(chunk_count) else {
            return bad(format!(
                "a media of {} bytes needs {chunk_count} chunks, more than EWF's 32-bit count",
                opts.media_size
            ));
        };
        let chunk_len = (SECTORS_PER_CHUNK * opts.sector_size) as usize;
        let volume = Volume {
            media_type: 1,
            chunk_count,
            sectors_per_chunk: SECTORS_PER_CHUNK,
            bytes_per_sector: opts.sector_size,
            sector_count: sectors,
            media_flags: 0x03,
            compression_level: opts.compression.volume_level(),
            error_granularity: SECTORS_PER_CHUNK,
            guid: set_guid(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let layout = SegmentLayout::create(
            &first_segment_name(path),
            opts.force,
            opts.segment_size,
            volume,
            compress_text(&header2_text(&opts.case, now)),
            compress_text(&header_text(&opts.case, now)),
        )?;
        let mut builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("ewf-zlib-{i}"));
        if opts.threads > 0 {
            builder = builder.num_threads(opts.threads);
        }
        let pool = builder.build().map_err(|e| Error::Worker {
            reason: format!("cannot start compression threads: {e}"),
        })?;
        let in_flight = 2 * pool.current_num_threads() + 2;
        let (token_tx, tokens) = sync_channel(in_flight);
        for _ in 0..in_flight {
            let _ = token_tx.send(());
        }
        let (results, results_rx) = channel();
        let writer = std::thread::Builder::new()
            .name("ewf-writer".into())
            .spawn(move || write_loop(layout, results_rx, token_tx))
            .map_err(|e| Error::Worker {
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(EwfWriter {
            chunk_len,
            sector_size: sector,
            compression: opts.compression,
            media_size: opts.media_size,
            received: 0,
            pending: Vec::with_capacity(chunk_len * BATCH_CHUNKS),
            next_seq: 0,
            pool: Arc::new(pool),
            tokens,
            results: Some(results),
            writer: Some(writer),
            errors: Vec::new(),
        })
    }

    /// Appends the next bytes of the media, in order, in pieces of any size.
    ///
    /// # Errors
    /// More bytes than `media_size`, or a failure of the writer thread
    /// (a full disk, …), reported by the next call.
    pub fn write(&mut self, mut data: &[u8]) -> Result<()> {
        let total = self.received.saturating_add(data.len() as u64);
        if total > self.media_size {
            return Err(Error::SizeMismatch {
                expected: self.media_size,
                got: total,
            });
        }
        self.received = total;
        let batch_bytes = self.chunk_len * BATCH_CHUNKS;
        while !data.is_empty() {
            let take = (batch_bytes - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == batch_bytes {
                self.dispatch()?;
            }
        }
        Ok(())
    }

    /// Records sectors that could not be read (they were written as
    /// zeros or another fill); they go into the error2 section.
    pub fn add_read_error(&mut self, first_sector: u64, sector_count: u64) {
        if sector_count > 0 {
            self.errors.push((first_sector, sector_count));
        }
    }

    /// Sends the pending batch to the compression pool.
    fn dispatch(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.tokens.recv().is_err() {
            return Err(self.writer_error());
        }
        let data = std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(self.chunk_len * BATCH_CHUNKS),
        );
        let seq = self.next_seq;
        self.next_seq += 1;
        let Some(tx) = self.results.clone() else {
            return Err(self.writer_error());
        };
        let (chunk_len, level) = (self.chunk_len, self.compression);
        self.pool.spawn(move || {
            let stored = data
                .chunks(chunk_len)
                .map(|c| compress_chunk(c, level))
                .collect();
            // A closed channel means the writer failed; finish() reports it.
            let _ = tx.send(Batch {
                seq,
                chunk_len,
                data,
                stored,
            });
        });
        Ok(())
    }

    /// Joins the writer thread and returns its error.
    fn writer_error(&mut self) -> Error {
        self.results = None;
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => Error::Worker {
                reason: "the writer thread panicked".into(),
            },
            _ => Error::Worker {
                reason: "the writer thread stopped".into(),
            },
        }
    }

    /// Writes the remaining chunks, the error2, digest and hash sections,
    /// and closes the last segment. `md5` and `sha1` are the digests of the
    /// media as written (see [`WriteOptions::media_size`] for padding).
    ///
    /// # Errors
    /// Fewer bytes written than `media_size`, or an I/O error.
    pub fn finish(mut self, md5: [u8; 16], sha1: [u8; 20]) -> Result<WriteSummary> {
        if self.received != self.media_size {
            return Err(Error::SizeMismatch {
                expected: self.media_size,
                got: self.received,
            });
        }
        let rem = self.pending.len() % self.sector_size as usize;
        if rem != 0 {
            let pad = self.sector_size as usize - rem;
            self.pending.resize(self.pending.len() + pad, 0);
        }
        self.dispatch()?;
        self.results = None;
        let layout = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(r)) => r?,
            _ => {
                return Err(Error::Worker {
                    reason: "the writer thread panicked".into(),
                });
            }
        };
        let (errors, notes) = error2_entries(&self.errors);
        layout.finish(&errors, &md5, &sha1, notes)
    }
}

/// The writer thread: appends batches in sequence order.
fn write_loop(
    mut layout: SegmentLayout,
    results: Receiver<Batch>,
    tokens: SyncSender<()>,
) -> Result<SegmentLayout> {
    let mut waiting: BTreeMap<u64, Batch> = BTreeMap::new();
    let mut next = 0u64;
    while let Ok(batch) = results.recv() {
        waiting.insert(batch.seq, batch);
        while let Some(batch) = waiting.remove(&next) {
            for (data, stored) in batch.data.chunks(batch.chunk_len).zip(&batch.stored) {
                layout.add_chunk(data, stored)?;
            }
            next += 1;
            let _ = tokens.send(());
        }
    }
    if !waiting.is_empty() {
        return Err(Error::Worker {
            reason: format!("batch {next} never arrived from the compression pool"),
        });
    }
    Ok(layout)
}

/// Sorted, merged error2 entries; ranges past EWF's 32-bit sector numbers
/// are dropped with a note.
fn error2_entries(ranges: &[(u64, u64)]) -> (Vec<(u32, u32)>, Vec<String>) {
    let mut sorted: Vec<(u64, u64)> = ranges
        .iter()
        .map(|&(s, n)| (s, s.saturating_add(n)))
        .collect();
    sorted.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, e) in sorted {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for (s, e) in merged {
        let mut s = s;
        while s < e {
            let Ok(first) = u32::try_from(s) else {
                notes.push(format!(
                    "unreadable sectors {s}..{e} lie past sector 2^32 and cannot be \
                     recorded in the E01 error2 section"
                ));
                break;
            };
            let n = u32::try_from(e - s).unwrap_or(u32::MAX);
            out.push((first, n));
            s += u64::from(n);
        }
    }
    (out, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_ranges_merge_and_split() {
        let (e, notes) = error2_entries(&[(10, 5), (12, 10), (100, 1), (1 << 33, 4)]);
        assert_eq!(e, vec![(10, 12), (100, 1)]);
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn refuses_bad_options() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.E01");
        let opts = WriteOptions {
            sector_size: 1000,
            ..Default::default()
        };
        assert!(matches!(
            EwfWriter::create(&p, &opts),
            Err(Error::InvalidOptions { .. })
        ));
        let opts = WriteOptions {
            media_size: u64::MAX,
            ..Default::default()
        };
        assert!(EwfWriter::create(&p, &opts).is_err());
        assert!(!p.exists());
    }
}
