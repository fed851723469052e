//! Hashed copies: read a source once, write it and hash it at the same time.
//!
//! ```text
//!             ┌──────────── bounded channel ──▶ md5 thread
//!  reader ────┼──────────── bounded channel ──▶ sha256 thread
//! (caller's   └──────────── bounded channel ──▶ writer thread ──▶ out
//!  thread)        (the same shared Block to each)
//! ```

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use platter_core::{Extent, Source, push_extent, read_filled};

use crate::alg::{Digest, HashAlg};
use crate::block::{Block, BlockPool};
use crate::error::{Error, Result};
use crate::multi::{CHANNEL_DEPTH, MultiHasher};

/// Default read size: 1 MiB, large enough for sequential throughput.
pub const DEFAULT_BLOCK_SIZE: usize = 1 << 20;

/// Largest accepted [`CopyOptions::block_size`]: 256 MiB. A pipeline holds
/// a few times [`CHANNEL_DEPTH`] blocks, so this bounds its memory.
pub const MAX_BLOCK_SIZE: usize = 256 << 20;

/// How [`copy_hashed`] reads and what it computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    /// Bytes per read, 1 to [`MAX_BLOCK_SIZE`]. Default [`DEFAULT_BLOCK_SIZE`].
    pub block_size: usize,
    /// The byte written (and hashed) in place of unreadable data. Default 0.
    pub fill: u8,
    /// The digests to compute, in the order they are reported.
    /// Default MD5 and SHA-256.
    pub algs: Vec<HashAlg>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            block_size: DEFAULT_BLOCK_SIZE,
            fill: 0,
            algs: vec![HashAlg::Md5, HashAlg::Sha256],
        }
    }
}

/// What a [`copy_hashed`] run did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    /// Bytes read, hashed and (when there was an output) written.
    pub bytes: u64,
    /// One digest per [`CopyOptions::algs`] entry, in that order.
    pub digests: Vec<Digest>,
    /// The source ranges that could not be read and were replaced by
    /// [`CopyOptions::fill`], sorted and merged, to the sector.
    pub unreadable: Vec<Extent>,
}

impl CopyReport {
    /// The digest computed with `alg`, if it was asked for.
    pub fn digest(&self, alg: HashAlg) -> Option<&Digest> {
        self.digests.iter().find(|d| d.alg == alg)
    }

    /// Total bytes that were unreadable and filled.
    pub fn unreadable_bytes(&self) -> u64 {
        self.unreadable.iter().map(|e| e.len).sum()
    }
}

/// Reads `src` from offset 0 to its end once, in `opts.block_size` pieces,
/// writes every byte to `out` (unless `out` is `None`) and hashes it on the
/// hasher threads at the same time.
///
/// Unreadable ranges (found with [`read_filled`], with the source's logical
/// sector size as granularity) are filled with `opts.fill`, still hashed and
/// written, and listed in the report. `progress` is called on the calling
/// thread with the number of bytes read and handed on so far.
///
/// The calling thread reads; each algorithm hashes on its own thread and the
/// writer writes on another, all fed the same shared buffers through bounded
/// channels, so memory stays flat. Every thread is joined before this
/// returns, on success and on error.
///
/// # Errors
/// - [`Error::Write`] with the output offset of the first byte not written;
/// - [`Error::Source`] when the source fails in a way filling cannot cover
///   (its extent map cannot be read, or it shrinks while being read);
/// - [`Error::BlockSize`] for a block size of 0 or above [`MAX_BLOCK_SIZE`].
///
/// ```
/// use platter_core::MemSource;
/// use platter_hash::{CopyOptions, HashAlg, copy_hashed};
///
/// let src = MemSource::new("mem", b"abc".to_vec());
/// let mut out = Vec::new();
/// let opts = CopyOptions { algs: vec![HashAlg::Sha1], ..CopyOptions::default() };
/// let report = copy_hashed(&src, Some(&mut out), &opts, &|_| {}).unwrap();
/// assert_eq!(out, b"abc");
/// assert_eq!(report.digests[0].hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
/// ```
pub fn copy_hashed(
    src: &dyn Source,
    out: Option<&mut (dyn Write + Send)>,
    opts: &CopyOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<CopyReport> {
    // The pool allocates nothing until the first block, after the check.
    let pool = BlockPool::new(opts.block_size);
    copy_with_pool(src, out, opts, progress, &pool)
}

/// Hashes `src` without writing it: [`copy_hashed`] with no output.
pub fn hash_source(
    src: &dyn Source,
    opts: &CopyOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<CopyReport> {
    copy_hashed(src, None, opts, progress)
}

fn check_block_size(block_size: usize) -> Result<()> {
    if block_size == 0 || block_size > MAX_BLOCK_SIZE {
        return Err(Error::BlockSize {
            block_size,
            max: MAX_BLOCK_SIZE,
        });
    }
    Ok(())
}

/// [`copy_hashed`] with the buffer pool supplied, so tests can check how
/// many buffers a run needed.
pub(crate) fn copy_with_pool(
    src: &dyn Source,
    out: Option<&mut (dyn Write + Send)>,
    opts: &CopyOptions,
    progress: &(dyn Fn(u64) + Sync),
    pool: &BlockPool,
) -> Result<CopyReport> {
    check_block_size(opts.block_size)?;
    let mut hasher = MultiHasher::new(&opts.algs);
    thread::scope(|scope| {
        let (to_writer, writer) = match out {
            Some(w) => {
                let (tx, rx) = sync_channel::<Block>(CHANNEL_DEPTH);
                let handle = thread::Builder::new()
                    .name("platter-writer".into())
                    .spawn_scoped(scope, move || write_blocks(w, rx));
                match handle {
                    Ok(h) => (Some(tx), Some(h)),
                    Err(e) => {
                        return Err(Error::Write {
                            offset: 0,
                            source: e,
                        });
                    }
                }
            }
            None => (None, None),
        };
        let read = read_blocks(src, opts, pool, &mut hasher, to_writer, progress);
        // `read_blocks` consumed the sender, so the writer sees the end of
        // the stream (or the reader's early stop) and finishes.
        let written = writer.map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        let digests = hasher.finish();
        // A write error makes the reader stop early, so it comes first.
        if let Some(Err(e)) = written {
            return Err(e);
        }
        let (bytes, unreadable) = read?;
        Ok(CopyReport {
            bytes,
            digests,
            unreadable,
        })
    })
}

/// The reader: fills pooled buffers with `read_filled` and hands each to the
/// hashers and the writer. Returns the bytes read and the unreadable ranges;
/// stops early (without error) if the writer has quit.
fn read_blocks(
    src: &dyn Source,
    opts: &CopyOptions,
    pool: &BlockPool,
    hasher: &mut MultiHasher,
    to_writer: Option<SyncSender<Block>>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, Vec<Extent>)> {
    let len = src.len();
    let granularity = src.sector_size().logical;
    let mut unreadable = Vec::new();
    let mut pos = 0u64;
    while pos < len {
        let want = usize::try_from(len - pos)
            .map_or(pool.block_size(), |rest| rest.min(pool.block_size()));
        let mut buf = pool.take();
        let (got, bad) = read_filled(src, &mut buf[..want], pos, opts.fill, granularity)?;
        if got != want {
            return Err(platter_core::Error::Truncated {
                name: src.name().to_string(),
                offset: pos,
                wanted: want as u64,
                got: got as u64,
            }
            .into());
        }
        for ext in bad {
            push_extent(&mut unreadable, ext);
        }
        let block = pool.seal(buf, got);
        hasher.update(block.clone());
        if let Some(tx) = &to_writer {
            if tx.send(block).is_err() {
                // The writer failed and dropped its end; it reports why.
                break;
            }
        }
        pos += got as u64;
        progress(pos);
    }
    Ok((pos, unreadable))
}

/// The writer thread: writes blocks in order, tracking the output offset so
/// an error names the first byte that was not written.
fn write_blocks(out: &mut (dyn Write + Send), rx: Receiver<Block>) -> Result<u64> {
    let mut offset = 0u64;
    for block in rx {
        let mut data: &[u8] = &block;
        while !data.is_empty() {
            match out.write(data) {
                Ok(0) => {
                    return Err(Error::Write {
                        offset,
                        source: io::Error::from(io::ErrorKind::WriteZero),
                    });
                }
                Ok(n) => {
                    data = &data[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(Error::Write { offset, source }),
            }
        }
    }
    out.flush()
        .map_err(|source| Error::Write { offset, source })?;
    Ok(offset)
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
