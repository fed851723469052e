//! Acquisition to a sequential output (standard output, E01): the
//! image must be produced in order, so rescue is inline. A block that fails
//! is re-read sector by sector, each sector up to `1 + retries` times,
//! before the next block is read; sectors that still fail are filled.
//! There is no skipping, trimming or later pass, and no resume.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread;
use std::time::Instant;

use platter_core::Source;
use platter_core::mapfile::{BlockStatus, Mapfile, PassStatus};
use platter_hash::{Block, BlockPool, CHANNEL_DEPTH};

use crate::error::{Error, Result};
use crate::hashing::{ImageDigests, ImageHasher};
use crate::options::AcquireOptions;
use crate::progress::Progress;
use crate::rescue::PassStat;

/// A destination that takes the image in order.
pub(crate) trait StreamSink: Send {
    /// Appends `data`, which holds image bytes from `pos` on.
    fn write_block(&mut self, data: &[u8], pos: u64) -> Result<()>;
    /// Records an unreadable (filled) span.
    fn bad(&mut self, pos: u64, len: u64);
    /// Flushes what was written.
    fn flush(&mut self) -> Result<()>;
}

/// Raw bytes to an open stream (standard output).
pub(crate) struct RawStream {
    pub file: File,
    pub name: PathBuf,
}

impl StreamSink for RawStream {
    fn write_block(&mut self, data: &[u8], pos: u64) -> Result<()> {
        self.file.write_all(data).map_err(|source| Error::Write {
            path: self.name.clone(),
            offset: pos,
            source,
        })
    }
    fn bad(&mut self, _pos: u64, _len: u64) {}
    fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(|source| Error::Write {
            path: self.name.clone(),
            offset: 0,
            source,
        })
    }
}

/// What a sequential acquisition produced.
pub(crate) struct StreamOutcome {
    pub digests: ImageDigests,
    pub map: Mapfile,
    pub passes: Vec<PassStat>,
}

struct Msg {
    pos: u64,
    block: Block,
    bad: Vec<(u64, u64)>,
}

/// Copies `src` in order to `sink`; see the module docs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stream_copy(
    src: &dyn Source,
    sink: &mut dyn StreamSink,
    opts: &AcquireOptions,
    sector: u64,
    mapfile: Option<&Path>,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> Result<StreamOutcome> {
    let len = src.len();
    let pool = BlockPool::new(opts.block_size);
    let mut hasher = ImageHasher::new(&opts.algs, opts.hash_window);
    progress.phase("copy (inline rescue)", len);
    let t0 = Instant::now();
    let mut errors = 0u64;
    let mut bad_total = 0u64;
    let (map, result) = thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Msg>(CHANNEL_DEPTH);
        let writer = scope.spawn(move || write_stream(sink, rx, len, mapfile, opts));
        let mut pos = 0u64;
        let mut reader = Ok(());
        while pos < len {
            if stop.load(Ordering::Relaxed) {
                reader = Err(Error::Interrupted { offset: pos });
                break;
            }
            let bs = opts.block_size as u64;
            let end = (pos / bs + 1).saturating_mul(bs).min(len);
            let n = (end - pos) as usize;
            let mut buf = pool.take();
            let mut bad: Vec<(u64, u64)> = Vec::new();
            if src.read_exact_at(&mut buf[..n], pos).is_err() {
                errors += 1;
                let mut s = pos;
                while s < end {
                    let e = (s / sector + 1).saturating_mul(sector).min(end);
                    let piece = &mut buf[(s - pos) as usize..(e - pos) as usize];
                    let ok = (0..=opts.retries).any(|_| src.read_exact_at(piece, s).is_ok());
                    if !ok {
                        opts.fill.fill(piece, s);
                        match bad.last_mut() {
                            Some(last) if last.0 + last.1 == s => last.1 += e - s,
                            _ => bad.push((s, e - s)),
                        }
                        bad_total += e - s;
                    }
                    s = e;
                }
                progress.bad_bytes(bad_total);
            }
            let block = pool.seal(buf, n);
            hasher.feed(block.clone(), &bad);
            if tx.send(Msg { pos, block, bad }).is_err() {
                break;
            }
            pos = end;
            progress.advance(pos);
        }
        drop(tx);
        let (map, written) = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (map, written.and(reader))
    });
    let digests = hasher.finish();
    if let Some(path) = mapfile {
        map.write_atomic(path)?;
    }
    result?;
    let seconds = t0.elapsed().as_secs_f64();
    let passes = vec![PassStat {
        name: "copy (inline rescue)".into(),
        seconds,
        bytes_read: len,
        bytes_rescued: map.bytes_with(BlockStatus::Finished),
        read_errors: errors,
        bytes_per_second: if seconds > 0.0 {
            len as f64 / seconds
        } else {
            0.0
        },
    }];
    Ok(StreamOutcome {
        digests,
        map,
        passes,
    })
}

/// The writer thread: writes in order, keeps the map, saves it now and then.
fn write_stream(
    sink: &mut dyn StreamSink,
    rx: Receiver<Msg>,
    len: u64,
    mapfile: Option<&Path>,
    opts: &AcquireOptions,
) -> (Mapfile, Result<()>) {
    let mut map = Mapfile::new(len);
    map.command_line = Some(opts.command_line.clone());
    let mut last = Instant::now();
    for msg in rx {
        if let Err(e) = sink.write_block(&msg.block, msg.pos) {
            return (map, Err(e));
        }
        map.set_status(msg.pos, msg.block.len() as u64, BlockStatus::Finished);
        for &(p, l) in &msg.bad {
            map.set_status(p, l, BlockStatus::BadSector);
            sink.bad(p, l);
        }
        map.current_pos = msg.pos;
        if let Some(path) = mapfile {
            if last.elapsed() >= opts.save_interval {
                if let Err(e) = map.write_atomic(path) {
                    return (map, Err(e.into()));
                }
                last = Instant::now();
            }
        }
    }
    if let Err(e) = sink.flush() {
        return (map, Err(e));
    }
    map.current_status = PassStatus::Finished;
    map.current_pos = 0;
    (map, Ok(()))
}
