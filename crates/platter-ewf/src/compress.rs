//! Compressing one chunk: a zlib stream when it is smaller than the chunk,
//! else the raw bytes followed by their Adler-32 (libewf documentation,
//! "Data chunk").
//!
//! Already compressed or encrypted data does not shrink, and zlib takes
//! about ten times longer on it than on ordinary data. A chunk whose byte
//! histogram is that of random data (order-0 entropy at least
//! [`RAW_ENTROPY_BITS`] bits per byte) and whose first 4 KiB do not shrink
//! either is therefore stored raw after that probe, at an eighth of the
//! cost of a full attempt. Chunks with structure (text, code, zeros, a
//! half-filled chunk) measure well below the threshold; a flat histogram
//! with repeats (a byte ramp) is caught by the probe. What is lost is only
//! a chunk of random-looking bytes whose repeats all lie past its first
//! 4 KiB: it is stored raw, which is still valid EWF.

use std::cell::RefCell;

use flate2::{Compress, FlushCompress, Status};

use crate::format::adler32;

/// How hard the writer compresses chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Every chunk stored raw with its Adler-32 (`ewfacquire -c none`).
    None,
    /// zlib level 1 (`ewfacquire -c fast`, EnCase "good (fast)").
    #[default]
    Fast,
    /// zlib level 9 (`ewfacquire -c best`).
    Best,
}

impl Compression {
    /// The compression level byte of the volume section.
    pub(crate) fn volume_level(self) -> u8 {
        match self {
            Compression::None => crate::format::LEVEL_NONE,
            Compression::Fast => crate::format::LEVEL_FAST,
            Compression::Best => crate::format::LEVEL_BEST,
        }
    }

    fn zlib_level(self) -> Option<u32> {
        match self {
            Compression::None => None,
            Compression::Fast => Some(1),
            Compression::Best => Some(9),
        }
    }
}

/// One chunk as it goes into a sectors section.
#[derive(Debug)]
pub enum StoredChunk {
    /// A zlib stream (which carries its own Adler-32).
    Compressed(Vec<u8>),
    /// Stored raw: the chunk's bytes (kept in the batch buffer) and this
    /// Adler-32 of them, written right after.
    Raw(u32),
}

thread_local! {
    static COMPRESSORS: RefCell<Vec<(u32, Compress)>> = const { RefCell::new(Vec::new()) };
}

/// Order-0 entropy (bits per byte) from which a chunk is taken for random
/// data and stored raw without trying zlib. A 32 KiB chunk of uniformly
/// random bytes measures about 7.994.
pub const RAW_ENTROPY_BITS: f64 = 7.98;

/// Smallest chunk the entropy test is applied to (below it the histogram
/// of random data is too uneven to tell).
const ENTROPY_MIN_BYTES: usize = 16 * 1024;

/// Bytes at the start of a random-looking chunk compressed as a probe.
const SAMPLE_BYTES: usize = 4096;

/// Order-0 entropy of `data` in bits per byte.
fn entropy_bits(data: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Compresses `data` at `level`, keeping the result only when it is
/// smaller than `data`; data that looks random is stored raw at once.
pub fn compress_chunk(data: &[u8], level: Compression) -> StoredChunk {
    let Some(zl) = level.zlib_level() else {
        return StoredChunk::Raw(adler32(data));
    };
    let looks_random = data.len() >= ENTROPY_MIN_BYTES && entropy_bits(data) >= RAW_ENTROPY_BITS;
    COMPRESSORS.with(|cell| {
        let mut list = cell.borrow_mut();
        let idx = match list.iter().position(|(l, _)| *l == zl) {
            Some(i) => i,
            None => {
                list.push((zl, Compress::new(flate2::Compression::new(zl), true)));
                list.len() - 1
            }
        };
        let c = &mut list[idx].1;
        if looks_random {
            // A flat histogram can still hide repeats (a byte ramp, a
            // repeated block): try a sample before giving up.
            c.reset();
            let sample = &data[..SAMPLE_BYTES];
            let mut out = Vec::with_capacity(SAMPLE_BYTES - 1);
            match c.compress_vec(sample, &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) if out.len() < SAMPLE_BYTES => {}
                _ => return StoredChunk::Raw(adler32(data)),
            }
        }
        c.reset();
        // Room for exactly "smaller than the chunk": if the stream does
        // not finish inside it, compression does not pay.
        let mut out = Vec::with_capacity(data.len().saturating_sub(1));
        match c.compress_vec(data, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) if out.len() < data.len() => StoredChunk::Compressed(out),
            _ => StoredChunk::Raw(adler32(data)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_separates_noise_from_structure() {
        let mut x = 0x9e37_79b9u32;
        let noise: Vec<u8> = (0..32768)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 8) as u8
            })
            .collect();
        assert!(entropy_bits(&noise) > RAW_ENTROPY_BITS);
        // Half noise, half zeros: compressible, and measured so.
        let mut half = noise.clone();
        half[16384..].fill(0);
        assert!(entropy_bits(&half) < 6.0);
        assert!(matches!(
            compress_chunk(&half, Compression::Fast),
            StoredChunk::Compressed(z) if z.len() < 20_000
        ));
        // Every byte value equally often but highly regular: compresses.
        let ramp: Vec<u8> = (0..32768u32).map(|i| i as u8).collect();
        assert!(matches!(
            compress_chunk(&ramp, Compression::Fast),
            StoredChunk::Compressed(_)
        ));
    }

    #[test]
    fn zeros_compress_and_noise_stays_raw() {
        let zeros = vec![0u8; 32768];
        match compress_chunk(&zeros, Compression::Fast) {
            StoredChunk::Compressed(z) => {
                let mut d = flate2::Decompress::new(true);
                let mut out = Vec::with_capacity(32768);
                d.decompress_vec(&z, &mut out, flate2::FlushDecompress::Finish)
                    .unwrap();
                assert_eq!(out, zeros);
            }
            StoredChunk::Raw(_) => panic!("zeros must compress"),
        }
        let mut x = 0x1234_5678u32;
        let noise: Vec<u8> = (0..32768)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert!(matches!(
            compress_chunk(&noise, Compression::Best),
            StoredChunk::Raw(s) if s == adler32(&noise)
        ));
        assert!(matches!(
            compress_chunk(&zeros, Compression::None),
            StoredChunk::Raw(_)
        ));
    }
}
