//! Where each chunk lives, and decoding one chunk.
//!
//! The tables are kept as read (4 bytes per chunk) and resolved on demand:
//! chunk `i` is entry `i - first_chunk` of the table covering it; its size
//! is the distance to the next entry, or to the end of the sectors section
//! for the last entry of a table.

use platter_core::SharedSource;

use crate::format::{COMPRESSED_FLAG, MAX_ENTRY_OFFSET, adler32};

/// Largest stored size accepted for one chunk, as a multiple of the chunk
/// size plus slack (zlib can grow incompressible data slightly).
pub const MAX_STORED_FACTOR: u64 = 2;

/// One table (or table2 standing in for a damaged table).
#[derive(Debug, Clone)]
pub struct Table {
    /// Index of the segment (0-based) holding the chunks.
    pub segment: usize,
    /// Offset the entries are relative to.
    pub base: u64,
    /// Image chunk number of the first entry.
    pub first_chunk: u64,
    /// The raw entries (flag bit and 31-bit offset).
    pub entries: Vec<u32>,
    /// End of the data the last entry's chunk may extend to (the end of
    /// the sectors section it lies in).
    pub data_end: u64,
}

/// A resolved chunk location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLoc {
    /// Segment index (0-based).
    pub segment: usize,
    /// Absolute offset in that segment.
    pub offset: u64,
    /// Stored size in bytes.
    pub size: u64,
    /// zlib stream (true) or raw bytes plus Adler-32 (false).
    pub compressed: bool,
}

/// Finds chunk `index` in `tables` (sorted by `first_chunk`).
pub fn locate(tables: &[Table], index: u64) -> Option<(ChunkLoc, u64)> {
    let t = tables.partition_point(|t| t.first_chunk <= index);
    let table = tables.get(t.checked_sub(1)?)?;
    let j = usize::try_from(index - table.first_chunk).ok()?;
    let e = *table.entries.get(j)?;
    let offset = table.base.checked_add(u64::from(e) & MAX_ENTRY_OFFSET)?;
    let end = match table.entries.get(j + 1) {
        Some(&n) => table.base.checked_add(u64::from(n) & MAX_ENTRY_OFFSET)?,
        None => table.data_end,
    };
    Some((
        ChunkLoc {
            segment: table.segment,
            offset,
            size: end.saturating_sub(offset),
            compressed: e & COMPRESSED_FLAG != 0,
        },
        end,
    ))
}

/// Reads and decodes one chunk into `expected` bytes (the chunk size, or
/// less for the last chunk). `chunk_len` is the full chunk size.
pub fn decode_chunk(
    src: &SharedSource,
    loc: &ChunkLoc,
    expected: usize,
    chunk_len: u64,
) -> Result<Vec<u8>, String> {
    if loc.size == 0 {
        return Err("the table gives this chunk no bytes (entries out of order)".into());
    }
    let limit = chunk_len
        .saturating_mul(MAX_STORED_FACTOR)
        .saturating_add(4096);
    if loc.size > limit {
        return Err(format!(
            "stored size {} is implausible for a {chunk_len}-byte chunk",
            loc.size
        ));
    }
    let end = loc.offset.saturating_add(loc.size);
    if end > src.len() {
        return Err(format!(
            "chunk data {:#x}..{end:#x} lies past the end of the segment ({:#x} bytes)",
            loc.offset,
            src.len()
        ));
    }
    let mut stored = vec![0u8; loc.size as usize];
    src.read_exact_at(&mut stored, loc.offset)
        .map_err(|e| format!("cannot read the chunk: {e}"))?;
    if loc.compressed {
        let mut out = Vec::with_capacity(chunk_len as usize);
        let mut z = flate2::Decompress::new(true);
        match z.decompress_vec(&stored, &mut out, flate2::FlushDecompress::Finish) {
            Ok(flate2::Status::StreamEnd) => {}
            Ok(_) => {
                return Err(format!(
                    "zlib stream incomplete or larger than the {chunk_len}-byte chunk"
                ));
            }
            Err(e) => return Err(format!("zlib stream damaged: {e}")),
        }
        if out.len() < expected {
            return Err(format!(
                "chunk decompresses to {} bytes, expected {expected}",
                out.len()
            ));
        }
        out.truncate(expected);
        Ok(out)
    } else {
        let data_len = stored.len().saturating_sub(4);
        if data_len < expected || data_len as u64 > chunk_len {
            return Err(format!(
                "raw chunk holds {data_len} bytes, expected {expected} plus a 4-byte Adler-32"
            ));
        }
        let mut sum = [0u8; 4];
        sum.copy_from_slice(&stored[data_len..]);
        let stored_sum = u32::from_le_bytes(sum);
        let computed = adler32(&stored[..data_len]);
        if stored_sum != computed {
            return Err(format!(
                "Adler-32 mismatch: stored {stored_sum:#010x}, computed {computed:#010x}"
            ));
        }
        stored.truncate(expected);
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(first: u64, base: u64, entries: Vec<u32>, end: u64) -> Table {
        Table {
            segment: 0,
            base,
            first_chunk: first,
            entries,
            data_end: end,
        }
    }

    #[test]
    fn locate_uses_next_entry_or_section_end() {
        let tables = vec![
            table(0, 100, vec![76, 0x8000_0000 | 200], 1000),
            table(2, 5000, vec![76], 5300),
        ];
        let (a, _) = locate(&tables, 0).unwrap();
        assert_eq!((a.offset, a.size, a.compressed), (176, 124, false));
        let (b, _) = locate(&tables, 1).unwrap();
        assert_eq!((b.offset, b.size, b.compressed), (300, 700, true));
        let (c, _) = locate(&tables, 2).unwrap();
        assert_eq!((c.offset, c.size), (5076, 224));
        assert!(locate(&tables, 3).is_none());
    }
}
