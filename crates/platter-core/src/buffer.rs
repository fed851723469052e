//! Page-aligned byte buffers for large reads.
//!
//! The kernel copies page-cache pages into a read buffer much faster when
//! the buffer starts on a page (or at least a cache-line) boundary. The
//! system allocator places large `Vec<u8>` allocations 16 bytes past a
//! 64-byte boundary, where that copy measured 2.5–3.5× slower (see
//! `docs/benchmarks.md`). [`AlignedBuf`] over-allocates a `Vec<u8>` by one
//! page and exposes the page-aligned part of it, without `unsafe`.
//!
//! ```
//! use platter_core::AlignedBuf;
//! let mut buf = AlignedBuf::new_zeroed(10_000);
//! assert_eq!(buf.len(), 10_000);
//! assert_eq!(buf.as_ptr() as usize % AlignedBuf::ALIGN, 0);
//! buf[..3].copy_from_slice(b"abc");
//! assert_eq!(&buf[..4], b"abc\0");
//! ```

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A zero-initialised byte buffer whose first byte lies on a 4096-byte
/// boundary.
///
/// It dereferences to `[u8]` of exactly [`len`](Self::len) bytes. Moving an
/// `AlignedBuf` does not move its bytes, so the alignment holds for its
/// whole life; a clone is aligned on its own.
#[derive(Default)]
pub struct AlignedBuf {
    /// The allocation: `start + len` bytes or more.
    raw: Vec<u8>,
    /// Where the aligned part begins in `raw`.
    start: usize,
    /// Bytes exposed.
    len: usize,
}

impl AlignedBuf {
    /// The alignment of every non-empty buffer: one page.
    pub const ALIGN: usize = 4096;

    /// An empty buffer; allocates nothing.
    pub fn new() -> Self {
        AlignedBuf::default()
    }

    /// `len` zero bytes starting on an [`ALIGN`](Self::ALIGN) boundary.
    ///
    /// # Panics
    ///
    /// When `len + ALIGN` overflows `usize` or cannot be allocated, like
    /// `vec![0u8; len]`.
    pub fn new_zeroed(len: usize) -> Self {
        if len == 0 {
            return AlignedBuf::new();
        }
        let total = len
            .checked_add(Self::ALIGN)
            .expect("AlignedBuf length overflows usize");
        // vec![0; n] is a calloc: fresh pages cost no zeroing pass.
        let raw = vec![0u8; total];
        let start = match raw.as_ptr().align_offset(Self::ALIGN) {
            // align_offset may decline (usize::MAX); the buffer is then
            // merely unaligned, never wrong.
            off if off < Self::ALIGN => off,
            _ => 0,
        };
        AlignedBuf { raw, start, len }
    }

    /// The number of bytes exposed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer starts on an [`ALIGN`](Self::ALIGN) boundary
    /// (always, unless empty or the platform declined to align).
    pub fn is_aligned(&self) -> bool {
        self.as_ptr().align_offset(Self::ALIGN) == 0
    }

    /// True when the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes of the buffer.
    pub fn as_slice(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    /// The bytes of the buffer, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.raw[self.start..self.start + self.len]
    }

    /// Makes the buffer `len` bytes long, like `Vec::resize(len, 0)`: the
    /// first `min(old, len)` bytes are kept and new bytes are zero. It
    /// reallocates (still aligned) only when `len` exceeds every length the
    /// buffer has held.
    pub fn resize(&mut self, len: usize) {
        let room = self.raw.len() - self.start;
        if len <= room {
            if len > self.len {
                let (from, to) = (self.start + self.len, self.start + len);
                self.raw[from..to].fill(0);
            }
            self.len = len;
            return;
        }
        let mut grown = AlignedBuf::new_zeroed(len);
        grown[..self.len].copy_from_slice(self.as_slice());
        *self = grown;
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsMut<[u8]> for AlignedBuf {
    fn as_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl Clone for AlignedBuf {
    /// A new aligned buffer with the same bytes (a derived clone would copy
    /// the allocation to a place with different alignment).
    fn clone(&self) -> Self {
        let mut copy = AlignedBuf::new_zeroed(self.len);
        copy.copy_from_slice(self.as_slice());
        copy
    }
}

impl PartialEq for AlignedBuf {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for AlignedBuf {}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .field("aligned", &self.is_aligned())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(b: &AlignedBuf) -> usize {
        b.as_ptr() as usize
    }

    #[test]
    fn buffers_start_on_a_page_whatever_the_length() {
        // Sizes either side of glibc's mmap threshold and odd ones.
        for len in [
            1,
            15,
            4095,
            4096,
            4097,
            100_000,
            128 << 10,
            4 << 20,
            (4 << 20) + 7,
        ] {
            let b = AlignedBuf::new_zeroed(len);
            assert_eq!(addr(&b) % AlignedBuf::ALIGN, 0, "len {len}");
            assert!(b.is_aligned());
            assert_eq!(b.len(), len);
            assert_eq!(b.as_slice().len(), len);
            assert!(b.iter().all(|&x| x == 0), "len {len} not zeroed");
        }
    }

    #[test]
    fn empty_buffers_allocate_nothing() {
        for b in [AlignedBuf::new(), AlignedBuf::new_zeroed(0)] {
            assert!(b.is_empty());
            assert_eq!(b.len(), 0);
            assert_eq!(b.raw.capacity(), 0);
            assert_eq!(&*b, &[] as &[u8]);
        }
    }

    #[test]
    fn writes_land_in_the_exposed_bytes_and_survive_a_move() {
        let mut b = AlignedBuf::new_zeroed(9000);
        for (i, x) in b.iter_mut().enumerate() {
            *x = (i % 251) as u8;
        }
        let at = addr(&b);
        let moved = Box::new(b);
        let b = &*moved;
        assert_eq!(addr(b), at, "moving must not move the bytes");
        assert!(b.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8));
        // Nothing was written outside the exposed window.
        let before = &b.raw[..b.start];
        let after = &b.raw[b.start + b.len..];
        assert!(before.iter().chain(after).all(|&x| x == 0));
    }

    #[test]
    fn resize_keeps_bytes_zeroes_new_ones_and_stays_aligned() {
        let mut b = AlignedBuf::new_zeroed(100);
        b.fill(7);
        b.resize(50);
        assert_eq!(b.len(), 50);
        // Growing within the allocation must zero what was cut off.
        b.resize(100);
        assert_eq!(&b[..50], &[7u8; 50][..]);
        assert!(b[50..].iter().all(|&x| x == 0));
        // Growing past it reallocates, aligned, and keeps the bytes.
        b.resize(1 << 20);
        assert_eq!(b.len(), 1 << 20);
        assert!(b.is_aligned());
        assert_eq!(&b[..50], &[7u8; 50][..]);
        assert!(b[50..].iter().all(|&x| x == 0));
        let mut e = AlignedBuf::new();
        e.resize(10);
        assert_eq!(&*e, &[0u8; 10][..]);
        assert!(e.is_aligned());
    }

    #[test]
    fn clones_are_equal_and_aligned_on_their_own() {
        let mut a = AlignedBuf::new_zeroed(5000);
        a[4999] = 1;
        let c = a.clone();
        assert_eq!(a, c);
        assert_ne!(addr(&a), addr(&c));
        assert!(c.is_aligned());
        assert_eq!(c[4999], 1);
    }
}
