//! Shared, recycled data blocks.
//!
//! The reader fills a buffer once and hands the same bytes to every hasher
//! thread and the writer: a [`Block`] is a cheap, reference-counted view of
//! one buffer. When the last consumer drops its clone, the buffer goes back
//! to the [`BlockPool`] it came from, so a copy of any size uses the same
//! handful of buffers and memory stays flat.
//!
//! Pool buffers are [`AlignedBuf`]s: page-aligned, so the kernel's copy of
//! page-cache pages into them runs at full speed (see `docs/benchmarks.md`).

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use platter_core::AlignedBuf;

/// How many idle buffers a pool keeps; more are freed.
const MAX_IDLE_BUFFERS: usize = 32;

/// Idle buffers waiting to be reused.
#[derive(Debug, Default)]
struct FreeList {
    bufs: Mutex<Vec<AlignedBuf>>,
}

impl FreeList {
    fn put(&self, buf: AlignedBuf) {
        let mut bufs = self.bufs.lock().unwrap_or_else(PoisonError::into_inner);
        if bufs.len() < MAX_IDLE_BUFFERS {
            bufs.push(buf);
        }
    }

    fn take(&self) -> Option<AlignedBuf> {
        self.bufs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }
}

/// The buffer behind a block: a pool's aligned one or a caller's vector.
enum Data {
    Pooled(AlignedBuf),
    Owned(Vec<u8>),
}

struct Inner {
    data: Data,
    len: usize,
    home: Option<Arc<FreeList>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let (Some(home), Data::Pooled(buf)) = (self.home.take(), &mut self.data) {
            home.put(std::mem::take(buf));
        }
    }
}

/// An immutable, cheaply clonable block of bytes shared between threads.
///
/// Cloning a `Block` clones a reference, not the bytes. A block made by a
/// [`BlockPool`] returns its buffer to the pool when its last clone drops.
///
/// ```
/// use platter_hash::Block;
/// let b = Block::from(b"abc".to_vec());
/// let c = b.clone();
/// assert_eq!(&*c, b"abc");
/// ```
#[derive(Clone)]
pub struct Block(Arc<Inner>);

impl Block {
    /// The bytes of the block.
    pub fn as_slice(&self) -> &[u8] {
        match &self.0.data {
            Data::Pooled(buf) => &buf[..self.0.len],
            Data::Owned(buf) => &buf[..self.0.len],
        }
    }
}

impl Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Block {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<Vec<u8>> for Block {
    fn from(data: Vec<u8>) -> Self {
        let len = data.len();
        Block(Arc::new(Inner {
            data: Data::Owned(data),
            len,
            home: None,
        }))
    }
}

impl From<&[u8]> for Block {
    fn from(data: &[u8]) -> Self {
        Block::from(data.to_vec())
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block")
            .field("len", &self.0.len)
            .field("pooled", &self.0.home.is_some())
            .finish()
    }
}

/// A source of equally sized buffers that come back when their blocks drop.
///
/// ```
/// use platter_hash::BlockPool;
/// let pool = BlockPool::new(4096);
/// for _ in 0..100 {
///     let mut buf = pool.take();
///     buf[..3].copy_from_slice(b"abc");
///     let block = pool.seal(buf, 3);
///     assert_eq!(&*block, b"abc");
/// } // each block drops here and its buffer is reused
/// assert_eq!(pool.allocated(), 1);
/// ```
#[derive(Debug)]
pub struct BlockPool {
    block_size: usize,
    free: Arc<FreeList>,
    allocated: AtomicUsize,
}

impl BlockPool {
    /// A pool of `block_size`-byte buffers. Nothing is allocated yet.
    pub fn new(block_size: usize) -> Self {
        BlockPool {
            block_size,
            free: Arc::new(FreeList::default()),
            allocated: AtomicUsize::new(0),
        }
    }

    /// The size of every buffer this pool hands out.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// A page-aligned buffer of exactly [`block_size`](Self::block_size)
    /// bytes: a recycled one when available (holding stale bytes), else a
    /// new zeroed one.
    pub fn take(&self) -> AlignedBuf {
        while let Some(buf) = self.free.take() {
            if buf.len() == self.block_size {
                return buf;
            }
        }
        self.allocated.fetch_add(1, Ordering::Relaxed);
        AlignedBuf::new_zeroed(self.block_size)
    }

    /// Freezes the first `len` bytes of `buf` (clamped to its length) into a
    /// [`Block`] whose buffer returns to this pool when its last clone drops.
    pub fn seal(&self, buf: AlignedBuf, len: usize) -> Block {
        let len = len.min(buf.len());
        Block(Arc::new(Inner {
            data: Data::Pooled(buf),
            len,
            home: Some(Arc::clone(&self.free)),
        }))
    }

    /// How many buffers this pool has allocated so far: a measure of the
    /// peak number of blocks in flight.
    pub fn allocated(&self) -> usize {
        self.allocated.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_only_after_the_last_clone_drops() {
        let pool = BlockPool::new(8);
        let a = pool.seal(pool.take(), 8);
        let a2 = a.clone();
        drop(a);
        // a2 still holds the buffer: a new one must be allocated.
        let b = pool.seal(pool.take(), 8);
        assert_eq!(pool.allocated(), 2);
        drop(a2);
        drop(b);
        let _c = pool.take();
        let _d = pool.take();
        assert_eq!(pool.allocated(), 2);
        let _e = pool.take();
        assert_eq!(pool.allocated(), 3);
    }

    #[test]
    fn seal_clamps_the_length() {
        let pool = BlockPool::new(4);
        let mut buf = pool.take();
        buf.copy_from_slice(&[1, 2, 3, 4]);
        let b = pool.seal(buf.clone(), 10);
        assert_eq!(&*b, &[1, 2, 3, 4]);
        let b = pool.seal(buf, 2);
        assert_eq!(b.as_ref(), &[1, 2]);
    }

    #[test]
    fn foreign_sized_buffers_are_not_handed_out() {
        let pool = BlockPool::new(16);
        drop(pool.seal(AlignedBuf::new_zeroed(3), 3));
        assert_eq!(pool.take().len(), 16);
        assert_eq!(pool.allocated(), 1);
    }

    #[test]
    fn pool_buffers_are_page_aligned_new_and_recycled() {
        let pool = BlockPool::new(1 << 20);
        let first = pool.take();
        assert_eq!(first.as_ptr() as usize % AlignedBuf::ALIGN, 0);
        let at = first.as_ptr();
        let block = pool.seal(first, 100);
        assert_eq!(block.as_ptr() as usize % AlignedBuf::ALIGN, 0);
        drop(block);
        let again = pool.take();
        assert_eq!(again.as_ptr(), at, "the buffer was not recycled");
        assert_eq!(again.len(), 1 << 20);
        assert_eq!(pool.allocated(), 1);
    }
}
