//! The ddrescue-style passes over a raw output written by position.
//!
//! 1. **copy** (pass 1): large blocks in a pipeline (reader → bounded
//!    channel → writer thread, and the hashers); after a read error the
//!    reader skips ahead, the skip doubling with each consecutive error;
//!    a failed block becomes non-trimmed (`*`), the skipped bytes stay
//!    non-tried (`?`).
//! 2. **sweep**: the non-tried areas pass 1 skipped, block by block, without
//!    skipping.
//! 3. **trim**: each non-trimmed block is read sector by sector from its
//!    start until a sector fails, then from its end backwards until a sector
//!    fails: the edges of the bad area. The middle becomes non-scraped (`/`).
//! 4. **scrape**: every sector of the non-scraped areas.
//! 5. **retry** (`--retries N`): N passes over the bad sectors (`-`).
//!
//! With `--reverse` every pass runs from the end towards the start. Only
//! the writer marks an area finished (`+`), after its bytes are written, so
//! a saved mapfile never claims data the output does not hold.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use platter_core::Source;
use platter_core::mapfile::{BlockStatus, Mapfile, PassStatus};
use platter_hash::{Block, BlockPool, CHANNEL_DEPTH};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::hashing::ImageHasher;
use crate::options::FillPattern;
use crate::progress::Progress;
use crate::sink::RawOutput;

/// First skip after a read error in pass 1: 64 KiB (as ddrescue).
pub const INITIAL_SKIP: u64 = 64 << 10;
/// Largest skip: 1 GiB.
pub const MAX_SKIP: u64 = 1 << 30;
/// Largest fill write.
const FILL_CHUNK: u64 = 1 << 20;

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassStat {
    /// `copy`, `sweep`, `trim`, `scrape`, `retry 1`, …, `read-back`, `verify`.
    pub name: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Bytes read from the source (or the output, for `read-back`).
    pub bytes_read: u64,
    /// Bytes that became rescued in this pass.
    pub bytes_rescued: u64,
    /// Read errors met.
    pub read_errors: u64,
    /// `bytes_read / seconds`.
    pub bytes_per_second: f64,
}

/// State shared by the passes.
pub(crate) struct Rescue<'a> {
    pub src: &'a dyn Source,
    pub out: &'a RawOutput,
    pub map: Mutex<Mapfile>,
    pub mapfile: Option<&'a std::path::Path>,
    pub sector: u64,
    pub block_size: usize,
    pub fill: &'a FillPattern,
    /// Skip writing all-zero blocks (fresh sparse output).
    pub sparse_skip: bool,
    pub reverse: bool,
    pub stop: &'a AtomicBool,
    pub progress: &'a dyn Progress,
    pub interval: Duration,
    pub last_save: Mutex<Instant>,
    pub passes: Vec<PassStat>,
}

/// A message from the pass-1 reader to the writer.
struct Msg {
    pos: u64,
    block: Block,
    ok: bool,
}

impl Rescue<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Mapfile> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Flushes the output, then replaces the mapfile atomically.
    pub fn save(&self) -> Result<()> {
        let Some(path) = self.mapfile else {
            return Ok(());
        };
        self.out.sync()?;
        let map = self.lock().clone();
        map.write_atomic(path)?;
        *self
            .last_save
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    fn maybe_save(&self) -> Result<()> {
        let due = self
            .last_save
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
            >= self.interval;
        if due { self.save() } else { Ok(()) }
    }

    fn set(&self, pos: u64, len: u64, status: BlockStatus) {
        self.lock().set_status(pos, len, status);
    }

    fn set_phase(&self, status: PassStatus, pass: u32, pos: u64) {
        let mut m = self.lock();
        m.current_status = status;
        m.current_pass = Some(pass);
        m.current_pos = pos;
    }

    fn bad_now(&self) -> u64 {
        let m = self.lock();
        m.size() - m.bytes_with(BlockStatus::Finished)
    }

    /// The runs of `status`, in pass order.
    fn areas(&self, status: BlockStatus) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self.lock().ranges_with(|s| s == status).collect();
        if self.reverse {
            v.reverse();
        }
        v
    }

    fn check_stop(&self, pos: u64) -> Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(Error::Interrupted { offset: pos });
        }
        Ok(())
    }

    fn finished(&self) -> u64 {
        self.lock().bytes_with(BlockStatus::Finished)
    }

    fn record(&mut self, name: &str, t0: Instant, read: u64, rescued_before: u64, errors: u64) {
        let seconds = t0.elapsed().as_secs_f64();
        let rescued = self.finished().saturating_sub(rescued_before);
        self.passes.push(PassStat {
            name: name.to_string(),
            seconds,
            bytes_read: read,
            bytes_rescued: rescued,
            read_errors: errors,
            bytes_per_second: if seconds > 0.0 {
                read as f64 / seconds
            } else {
                0.0
            },
        });
    }

    /// Pass 1: the pipeline. `hasher`, when given, is fed every block in
    /// order as long as no read fails (forward only); it is returned only
    /// if the pass read everything without an error.
    pub fn copy_pass(&mut self, hasher: Option<ImageHasher>) -> Result<Option<ImageHasher>> {
        let areas = self.areas(BlockStatus::NonTried);
        let total: u64 = areas.iter().map(|a| a.1).sum();
        self.progress.phase("copy", total);
        self.set_phase(PassStatus::Copying, 1, areas.first().map_or(0, |a| a.0));
        let t0 = Instant::now();
        let before = self.finished();
        let pool = BlockPool::new(self.block_size);
        let mut hasher = if self.reverse { None } else { hasher };
        let (read, errors, result) = thread::scope(|scope| {
            let (tx, rx) = sync_channel::<Msg>(CHANNEL_DEPTH);
            let this = &*self;
            let writer = thread::Builder::new()
                .name("platter-acquire-writer".into())
                .spawn_scoped(scope, move || this.write_blocks(rx));
            let writer = match writer {
                Ok(w) => w,
                Err(source) => {
                    return (
                        0,
                        0,
                        Err(Error::Io {
                            path: this.out.first_path().to_path_buf(),
                            what: "start the writer thread",
                            source,
                        }),
                    );
                }
            };
            let mut read = 0u64;
            let mut errors = 0u64;
            let mut reader_result = Ok(());
            'areas: for &(a_pos, a_len) in &areas {
                let a_end = a_pos + a_len;
                let mut skip = INITIAL_SKIP.max(this.block_size as u64);
                let mut lo = a_pos;
                let mut hi = a_end;
                while lo < hi {
                    let (start, end) = this.next_block(lo, hi);
                    if let Err(e) = this.check_stop(start) {
                        reader_result = Err(e);
                        break 'areas;
                    }
                    let n = (end - start) as usize;
                    let mut buf = pool.take();
                    let ok = this.src.read_exact_at(&mut buf[..n], start).is_ok();
                    read += n as u64;
                    if !ok {
                        errors += 1;
                        this.fill.fill(&mut buf[..n], start);
                        if let Some(h) = hasher.take() {
                            drop(h.finish());
                        }
                    }
                    let block = pool.seal(buf, n);
                    if let Some(h) = hasher.as_mut() {
                        h.feed(block.clone(), &[]);
                    }
                    if tx
                        .send(Msg {
                            pos: start,
                            block,
                            ok,
                        })
                        .is_err()
                    {
                        break 'areas; // the writer failed; it says why
                    }
                    if this.reverse {
                        hi = start
                    } else {
                        lo = end
                    }
                    if ok {
                        skip = INITIAL_SKIP.max(this.block_size as u64);
                    } else {
                        // Skip ahead, leaving the bytes non-tried.
                        if this.reverse {
                            hi = hi.saturating_sub(skip).max(lo);
                        } else {
                            lo = lo.saturating_add(skip).min(hi);
                        }
                        skip = (skip * 2).min(MAX_SKIP);
                    }
                    this.progress.advance(read);
                }
            }
            drop(tx);
            let written = writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (read, errors, written.and(reader_result))
        });
        self.record("copy", t0, read, before, errors);
        let saved = self.save();
        result?;
        saved?;
        Ok(if errors == 0 { hasher } else { None })
    }

    /// The next pass-1 block inside `[lo, hi)`: aligned to the block size,
    /// from `lo` forward or from `hi` backward.
    fn next_block(&self, lo: u64, hi: u64) -> (u64, u64) {
        let bs = self.block_size as u64;
        if self.reverse {
            let start = ((hi - 1) / bs * bs).max(lo);
            (start, hi)
        } else {
            let end = (lo / bs + 1).saturating_mul(bs).min(hi);
            (lo, end)
        }
    }

    /// The pass-1 writer thread: writes good blocks, then marks them
    /// rescued; marks failed blocks non-trimmed; saves the map now and then.
    fn write_blocks(&self, rx: Receiver<Msg>) -> Result<()> {
        for msg in rx {
            let len = msg.block.len() as u64;
            if msg.ok {
                let skip = self.sparse_skip && msg.block.iter().all(|&b| b == 0);
                if !skip {
                    self.out.write_at(&msg.block, msg.pos)?;
                }
                self.set(msg.pos, len, BlockStatus::Finished);
            } else {
                self.set(msg.pos, len, BlockStatus::NonTrimmed);
                self.progress.bad_bytes(self.bad_now());
            }
            self.lock().current_pos = msg.pos;
            self.maybe_save()?;
        }
        Ok(())
    }

    /// Reads `[pos, end)` (at most one block); on success writes it and
    /// marks it rescued. Returns whether it was read.
    fn try_range(&self, buf: &mut [u8], pos: u64, end: u64) -> Result<bool> {
        let n = (end - pos) as usize;
        if self.src.read_exact_at(&mut buf[..n], pos).is_err() {
            return Ok(false);
        }
        self.out.write_at(&buf[..n], pos)?;
        self.set(pos, end - pos, BlockStatus::Finished);
        Ok(true)
    }

    /// The end of the sector holding `pos`, clipped to `limit`.
    fn sector_end(&self, pos: u64, limit: u64) -> u64 {
        (pos / self.sector + 1)
            .saturating_mul(self.sector)
            .min(limit)
    }

    /// The start of the sector ending at `end`, clipped to `limit`.
    fn sector_start(&self, end: u64, limit: u64) -> u64 {
        ((end - 1) / self.sector * self.sector).max(limit)
    }

    /// Pass 2: the areas pass 1 skipped, block by block, without skipping.
    pub fn sweep_pass(&mut self) -> Result<()> {
        let areas = self.areas(BlockStatus::NonTried);
        if areas.is_empty() {
            return Ok(());
        }
        let total: u64 = areas.iter().map(|a| a.1).sum();
        self.progress.phase("sweep", total);
        self.set_phase(PassStatus::Copying, 2, areas[0].0);
        let (t0, before) = (Instant::now(), self.finished());
        let mut buf = vec![0u8; self.block_size];
        let (mut read, mut errors) = (0u64, 0u64);
        let res = (|| -> Result<()> {
            for &(a_pos, a_len) in &areas {
                let (mut lo, mut hi) = (a_pos, a_pos + a_len);
                while lo < hi {
                    let (s, e) = self.next_block(lo, hi);
                    self.check_stop(s)?;
                    if !self.try_range(&mut buf, s, e)? {
                        errors += 1;
                        self.set(s, e - s, BlockStatus::NonTrimmed);
                        self.progress.bad_bytes(self.bad_now());
                    }
                    read += e - s;
                    if self.reverse {
                        hi = s
                    } else {
                        lo = e
                    }
                    self.progress.advance(read);
                    self.maybe_save()?;
                }
            }
            Ok(())
        })();
        self.record("sweep", t0, read, before, errors);
        let saved = self.save();
        res?;
        saved
    }

    /// Pass 3: finds the edges of every non-trimmed block sector by sector.
    pub fn trim_pass(&mut self) -> Result<()> {
        let areas = self.areas(BlockStatus::NonTrimmed);
        if areas.is_empty() {
            return Ok(());
        }
        let total: u64 = areas.iter().map(|a| a.1).sum();
        self.progress.phase("trim", total);
        self.set_phase(PassStatus::Trimming, 1, areas[0].0);
        let (t0, before) = (Instant::now(), self.finished());
        let mut buf = vec![0u8; self.sector as usize];
        let (mut read, mut errors) = (0u64, 0u64);
        let res = (|| -> Result<()> {
            for &(a_pos, a_len) in &areas {
                let a_end = a_pos + a_len;
                // Leading edge (trailing edge first with --reverse).
                let (mut lo, mut hi) = (a_pos, a_end);
                for from_start in [!self.reverse, self.reverse] {
                    while lo < hi {
                        let (s, e) = if from_start {
                            (lo, self.sector_end(lo, hi))
                        } else {
                            (self.sector_start(hi, lo), hi)
                        };
                        self.check_stop(s)?;
                        read += e - s;
                        let ok = self.try_range(&mut buf, s, e)?;
                        if from_start {
                            lo = e
                        } else {
                            hi = s
                        }
                        if !ok {
                            errors += 1;
                            self.set(s, e - s, BlockStatus::BadSector);
                            break;
                        }
                        self.progress.advance(read);
                    }
                }
                if lo < hi {
                    self.set(lo, hi - lo, BlockStatus::NonScraped);
                }
                self.progress.bad_bytes(self.bad_now());
                self.maybe_save()?;
            }
            Ok(())
        })();
        self.record("trim", t0, read, before, errors);
        let saved = self.save();
        res?;
        saved
    }

    /// Reads every sector of the areas with `status`; good ones become
    /// rescued, failing ones bad sectors. Used by scrape and retry.
    fn sector_pass(
        &mut self,
        name: &str,
        status: BlockStatus,
        phase: PassStatus,
        pass: u32,
    ) -> Result<()> {
        let areas = self.areas(status);
        if areas.is_empty() {
            return Ok(());
        }
        let total: u64 = areas.iter().map(|a| a.1).sum();
        self.progress.phase(name, total);
        self.set_phase(phase, pass, areas[0].0);
        let (t0, before) = (Instant::now(), self.finished());
        let mut buf = vec![0u8; self.sector as usize];
        let (mut read, mut errors) = (0u64, 0u64);
        let res = (|| -> Result<()> {
            for &(a_pos, a_len) in &areas {
                let (mut lo, mut hi) = (a_pos, a_pos + a_len);
                while lo < hi {
                    let (s, e) = if self.reverse {
                        (self.sector_start(hi, lo), hi)
                    } else {
                        (lo, self.sector_end(lo, hi))
                    };
                    self.check_stop(s)?;
                    read += e - s;
                    if !self.try_range(&mut buf, s, e)? {
                        errors += 1;
                        self.set(s, e - s, BlockStatus::BadSector);
                    }
                    if self.reverse {
                        hi = s
                    } else {
                        lo = e
                    }
                    self.progress.advance(read);
                    self.maybe_save()?;
                }
                self.progress.bad_bytes(self.bad_now());
            }
            Ok(())
        })();
        self.record(name, t0, read, before, errors);
        let saved = self.save();
        res?;
        saved
    }

    /// Pass 4: every sector of the non-scraped areas.
    pub fn scrape_pass(&mut self) -> Result<()> {
        self.sector_pass("scrape", BlockStatus::NonScraped, PassStatus::Scraping, 1)
    }

    /// Pass 5: `retries` passes over the bad sectors.
    pub fn retry_passes(&mut self, retries: u32) -> Result<()> {
        for i in 1..=retries {
            let name = format!("retry {i}");
            self.sector_pass(&name, BlockStatus::BadSector, PassStatus::Retrying, i)?;
        }
        Ok(())
    }

    /// Writes the fill pattern over every area that is not rescued, so the
    /// output holds it there whatever earlier runs left. Skipped for a
    /// fresh sparse output with a zero pattern (the holes read as zeros).
    pub fn fill_bad(&mut self, skip_zero: bool) -> Result<()> {
        let bad: Vec<(u64, u64)> = self
            .lock()
            .ranges_with(|s| s != BlockStatus::Finished)
            .collect();
        if skip_zero && self.fill.is_zero() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for (pos, len) in bad {
            let mut at = pos;
            while at < pos + len {
                let n = (pos + len - at).min(FILL_CHUNK);
                buf.resize(n as usize, 0);
                self.fill.fill(&mut buf, at);
                self.out.write_at(&buf, at)?;
                at += n;
            }
        }
        Ok(())
    }

    /// Marks the map finished (status line) and saves it.
    pub fn finish_map(&self) -> Result<Mapfile> {
        {
            let mut m = self.lock();
            m.current_status = PassStatus::Finished;
            m.current_pass = Some(1);
            m.current_pos = 0;
        }
        self.save()?;
        Ok(self.lock().clone())
    }
}
