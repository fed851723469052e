//! Tests of the hashed copy pipeline.

use std::io;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use platter_core::{ExtentKind, MemSource, SectorSize, clip};

use super::*;
use crate::alg::hash_bytes;
use crate::test_data::pseudo_random;

fn opts(block_size: usize, algs: &[HashAlg]) -> CopyOptions {
    CopyOptions {
        block_size,
        fill: 0xEE,
        algs: algs.to_vec(),
    }
}

/// A source with a range that fails to read. With `known`, its extent map
/// reports the range as unreadable; without, only reads fail.
#[derive(Debug)]
struct BadSource {
    data: Vec<u8>,
    bad: Range<u64>,
    sector: u32,
    known: bool,
    broken_map: bool,
}

impl BadSource {
    fn new(data: Vec<u8>, bad: Range<u64>, sector: u32) -> Self {
        BadSource {
            data,
            bad,
            sector,
            known: false,
            broken_map: false,
        }
    }
}

impl Source for BadSource {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn name(&self) -> &str {
        "bad.img"
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> platter_core::Result<usize> {
        let (start, end) = clip(self.len(), offset, buf.len() as u64);
        if start < self.bad.end && self.bad.start < end {
            return Err(platter_core::Error::Read {
                name: self.name().into(),
                offset,
                len: buf.len() as u64,
                source: io::Error::from_raw_os_error(5),
            });
        }
        let n = (end - start) as usize;
        buf[..n].copy_from_slice(&self.data[start as usize..end as usize]);
        Ok(n)
    }
    fn sector_size(&self) -> SectorSize {
        SectorSize {
            logical: self.sector,
            physical: self.sector,
        }
    }
    fn extents(&self, offset: u64, len: u64) -> platter_core::Result<Vec<Extent>> {
        if self.broken_map {
            return Err(platter_core::Error::Unreadable {
                name: self.name().into(),
                offset,
                len,
            });
        }
        let (start, end) = clip(self.len(), offset, len);
        if !self.known {
            return Ok(platter_core::single_extent(start, end, ExtentKind::Data));
        }
        let mut map = Vec::new();
        let cuts = [
            start,
            self.bad.start.clamp(start, end),
            self.bad.end.clamp(start, end),
            end,
        ];
        for (i, w) in cuts.windows(2).enumerate() {
            let kind = if i == 1 {
                ExtentKind::Unreadable
            } else {
                ExtentKind::Data
            };
            push_extent(
                &mut map,
                Extent {
                    offset: w[0],
                    len: w[1] - w[0],
                    kind,
                },
            );
        }
        Ok(map)
    }
}

/// The bytes a copy of `data` must produce with `fill` over `bad`.
fn filled(data: &[u8], bad: Range<u64>, fill: u8) -> Vec<u8> {
    let mut want = data.to_vec();
    want[bad.start as usize..bad.end as usize].fill(fill);
    want
}

#[test]
fn output_equals_source_for_awkward_sizes() {
    let bs = 4096;
    for size in [0, 1, bs - 1, bs, bs + 1, 3 * bs + 17, 10 * bs] {
        let data = pseudo_random(size, size as u64 + 1);
        let src = MemSource::new("mem", data.clone());
        let mut out = Vec::new();
        let r = copy_hashed(&src, Some(&mut out), &opts(bs, &HashAlg::ALL), &|_| {}).unwrap();
        assert_eq!(out, data, "size {size}");
        assert_eq!(r.bytes, size as u64);
        assert_eq!(r.digests, hash_bytes(&HashAlg::ALL, &data), "size {size}");
        assert!(r.unreadable.is_empty());
        // Hashing without an output gives the same digests.
        let h = hash_source(&src, &opts(bs, &HashAlg::ALL), &|_| {}).unwrap();
        assert_eq!(h, r);
    }
}

#[test]
fn one_algorithm_and_all_three() {
    let data = pseudo_random(70_000, 5);
    let src = MemSource::new("mem", data.clone());
    for algs in [
        &[HashAlg::Md5][..],
        &[HashAlg::Sha1],
        &[HashAlg::Sha256],
        &HashAlg::ALL,
    ] {
        let r = hash_source(&src, &opts(8192, algs), &|_| {}).unwrap();
        assert_eq!(r.digests, hash_bytes(algs, &data));
    }
    // No algorithm at all still copies.
    let mut out = Vec::new();
    let r = copy_hashed(&src, Some(&mut out), &opts(8192, &[]), &|_| {}).unwrap();
    assert!(r.digests.is_empty());
    assert_eq!(out, data);
}

#[test]
fn progress_counts_up_to_the_length_block_by_block() {
    let src = MemSource::new("mem", pseudo_random(10_000, 9));
    let seen = Mutex::new(Vec::new());
    hash_source(&src, &opts(4096, &[HashAlg::Md5]), &|n| {
        seen.lock().unwrap().push(n)
    })
    .unwrap();
    assert_eq!(seen.into_inner().unwrap(), [4096, 8192, 10_000]);
}

#[test]
fn read_errors_are_filled_and_reported_to_the_sector() {
    let data = pseudo_random(40_000, 21);
    // Bytes 5000..9000 fail to read: sectors 9..=17 (4608..9216), which
    // straddle the 4096- and 8192-byte block boundaries.
    let src = BadSource::new(data.clone(), 5000..9000, 512);
    let mut out = Vec::new();
    let o = opts(4096, &HashAlg::ALL);
    let r = copy_hashed(&src, Some(&mut out), &o, &|_| {}).unwrap();
    let want = filled(&data, 4608..9216, o.fill);
    assert_eq!(out, want);
    assert_eq!(
        r.unreadable,
        [Extent {
            offset: 4608,
            len: 9216 - 4608,
            kind: ExtentKind::Unreadable
        }]
    );
    assert_eq!(r.unreadable_bytes(), 4608);
    assert_eq!(r.bytes, data.len() as u64);
    assert_eq!(r.digests, hash_bytes(&HashAlg::ALL, &want));
}

#[test]
fn one_bad_byte_costs_one_whole_logical_sector() {
    let data = pseudo_random(64 * 1024, 4);
    let src = BadSource::new(data.clone(), 20_000..20_001, 4096);
    let mut out = Vec::new();
    let r = copy_hashed(
        &src,
        Some(&mut out),
        &opts(16 * 1024, &[HashAlg::Md5]),
        &|_| {},
    )
    .unwrap();
    assert_eq!(
        r.unreadable,
        [Extent {
            offset: 16_384,
            len: 4096,
            kind: ExtentKind::Unreadable
        }]
    );
    assert_eq!(out, filled(&data, 16_384..20_480, 0xEE));
}

#[test]
fn ranges_the_source_knows_are_unreadable_are_filled_exactly() {
    let data = pseudo_random(30_000, 8);
    let mut src = BadSource::new(data.clone(), 1234..20_000, 512);
    src.known = true;
    let mut out = Vec::new();
    let r = copy_hashed(
        &src,
        Some(&mut out),
        &opts(4096, &[HashAlg::Sha256]),
        &|_| {},
    )
    .unwrap();
    assert_eq!(
        r.unreadable,
        [Extent {
            offset: 1234,
            len: 20_000 - 1234,
            kind: ExtentKind::Unreadable
        }]
    );
    let want = filled(&data, 1234..20_000, 0xEE);
    assert_eq!(out, want);
    assert_eq!(r.digests, hash_bytes(&[HashAlg::Sha256], &want));
}

#[test]
fn a_source_that_cannot_be_mapped_is_an_error_not_a_hang() {
    let mut src = BadSource::new(pseudo_random(50_000, 2), 0..0, 512);
    src.broken_map = true;
    let mut out = Vec::new();
    let e = copy_hashed(&src, Some(&mut out), &opts(4096, &HashAlg::ALL), &|_| {}).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Source(platter_core::Error::Unreadable { offset: 0, .. })
        ),
        "{e:?}"
    );
}

/// Accepts `accept` bytes, then fails every write.
struct FailingWriter {
    accept: usize,
    written: usize,
    zero: bool,
}

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.accept - self.written;
        if room == 0 {
            return if self.zero {
                Ok(0)
            } else {
                Err(io::Error::other("disk full"))
            };
        }
        let n = room.min(buf.len());
        self.written += n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `f` on a thread and fails the test if it does not finish in time.
fn within_deadline<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("copy_hashed hung after a write error")
}

#[test]
fn a_failing_writer_reports_its_offset_and_does_not_hang() {
    for (accept, zero) in [
        (0, false),
        (10_000, false),
        (10_000, true),
        (999_999, false),
    ] {
        let e = within_deadline(move || {
            // 256 blocks: far more than the channels hold, so the reader is
            // blocked on a full channel when the writer gives up.
            let src = MemSource::new("mem", pseudo_random(1 << 20, 3));
            let mut w = FailingWriter {
                accept,
                written: 0,
                zero,
            };
            copy_hashed(&src, Some(&mut w), &opts(4096, &HashAlg::ALL), &|_| {}).unwrap_err()
        });
        match e {
            Error::Write { offset, source } => {
                assert_eq!(offset, accept as u64);
                let kind = if zero {
                    io::ErrorKind::WriteZero
                } else {
                    io::ErrorKind::Other
                };
                assert_eq!(source.kind(), kind);
            }
            other => panic!("expected a write error, got {other:?}"),
        }
    }
}

#[test]
fn a_failing_flush_is_a_write_error_at_the_end() {
    struct NoFlush(Vec<u8>);
    impl Write for NoFlush {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::other("flush failed"))
        }
    }
    let src = MemSource::new("mem", pseudo_random(5000, 1));
    let mut w = NoFlush(Vec::new());
    let e = copy_hashed(&src, Some(&mut w), &opts(4096, &[HashAlg::Md5]), &|_| {}).unwrap_err();
    assert!(matches!(e, Error::Write { offset: 5000, .. }), "{e:?}");
}

#[test]
fn memory_stays_flat_whatever_the_size() {
    // 300 blocks pass through; only the blocks in flight are ever allocated.
    let src = MemSource::new("mem", pseudo_random(300 * 4096 + 5, 77));
    let pool = BlockPool::new(4096);
    let mut out = Vec::new();
    let o = opts(4096, &HashAlg::ALL);
    let r = copy_with_pool(&src, Some(&mut out), &o, &|_| {}, &pool).unwrap();
    assert_eq!(r.bytes, src.len());
    // Each consumer holds at most CHANNEL_DEPTH queued blocks plus the one it
    // is working on, and the reader fills one more.
    let bound = CHANNEL_DEPTH + 2;
    assert!(
        pool.allocated() <= bound,
        "{} buffers allocated, bound {bound}",
        pool.allocated()
    );
}

#[test]
fn block_size_is_checked() {
    let src = MemSource::new("mem", vec![1, 2, 3]);
    for bs in [0, MAX_BLOCK_SIZE + 1] {
        let e = hash_source(&src, &opts(bs, &[HashAlg::Md5]), &|_| {}).unwrap_err();
        assert!(matches!(e, Error::BlockSize { block_size, .. } if block_size == bs));
    }
}

#[test]
fn report_serializes_with_extents_and_digests() {
    let src = BadSource::new(vec![7u8; 2048], 512..1024, 512);
    let r = hash_source(&src, &opts(1024, &[HashAlg::Md5]), &|_| {}).unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["bytes"], 2048);
    assert_eq!(json["unreadable"][0]["offset"], 512);
    assert_eq!(json["unreadable"][0]["kind"], "unreadable");
    assert_eq!(json["digests"][0]["alg"], "md5");
    assert_eq!(r.digest(HashAlg::Md5).unwrap().hex.len(), 32);
    assert!(r.digest(HashAlg::Sha1).is_none());
}
