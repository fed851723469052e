//! The guest-visible disk of a block-allocated image (VHD dynamic and
//! differencing, VHDX): a table of fixed-size blocks, each absent (read
//! from the parent, or zeros), zero, unreadable, fully stored, or stored
//! with a per-sector bitmap saying which sectors are in this file.
//!
//! Shared by the VHD and VHDX readers. Reads over unreadable ranges fail;
//! [`Source::extents`] reports them, and reports unallocated blocks as
//! zero so copies stay sparse.

use std::sync::Arc;

use platter_core::{
    Error as CoreError, Extent, ExtentKind, Result as CoreResult, SectorSize, SharedSource, Source,
    clip, push_extent,
};

/// Largest number of block-table entries kept in memory. The table is also
/// bounded by the file size (its entries must be stored in the file).
pub(crate) const MAX_BLOCKS: u64 = 1 << 26;

/// Order of the sector bits inside a bitmap byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BitOrder {
    /// Bit 7 of byte 0 is the first sector (VHD).
    MsbFirst,
    /// Bit 0 of byte 0 is the first sector (VHDX).
    LsbFirst,
}

/// The state of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block {
    /// Not stored in this file: the parent's bytes, or zeros without one.
    Absent,
    /// Known to read as zeros.
    Zero,
    /// Its state is lost (table entry past the end of the file, garbage).
    Unreadable,
    /// Every sector stored at `data_offset` of the file.
    Full {
        /// File offset of the block's first byte.
        data_offset: u64,
    },
    /// Sectors whose bit is set in the bitmap at `bitmap_offset` are stored
    /// at `data_offset + sector * sector_bytes`; the others are absent.
    Partial {
        /// File offset of the block's first byte.
        data_offset: u64,
        /// File offset of the bitmap byte holding the block's first sector.
        bitmap_offset: u64,
    },
}

/// A piece of a read: `len` guest bytes at `offset` and where they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Absent,
    Zero,
    Unreadable,
    File(u64),
}

/// A block-allocated virtual disk as a [`Source`].
#[derive(Debug)]
pub(crate) struct BlockMap {
    /// Name for messages (the image path).
    pub name: String,
    /// The image file (through the log overlay for VHDX).
    pub file: SharedSource,
    /// Guest-visible size in bytes.
    pub virtual_size: u64,
    /// Bytes per block (a power of two for dynamic disks).
    pub block_size: u64,
    /// Bytes per bitmap bit: the logical sector size.
    pub sector_bytes: u32,
    /// Physical sector size reported to users of the source.
    pub physical_sector: u32,
    /// Bit order of the sector bitmaps.
    pub bit_order: BitOrder,
    /// The block table; indices past its end are `beyond`.
    pub blocks: Vec<Block>,
    /// The state of blocks past the end of `blocks`.
    pub beyond: Block,
    /// The parent disk of a differencing image.
    pub parent: Option<Arc<BlockMap>>,
    /// A differencing image whose parent is missing: absent ranges are
    /// unreadable instead of zeros.
    pub orphan: bool,
}

impl BlockMap {
    fn block(&self, i: u64) -> Block {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.blocks.get(i).copied())
            .unwrap_or(self.beyond)
    }

    /// Calls `f(offset, len, piece)` for consecutive pieces covering
    /// `[start, end)` (already clipped to the virtual size).
    fn walk(&self, start: u64, end: u64, f: &mut dyn FnMut(u64, u64, Piece)) {
        let bs = self.block_size.max(1);
        let file_len = self.file.len();
        let mut pos = start;
        while pos < end {
            let index = pos / bs;
            let block_start = index * bs;
            let stop = block_start.saturating_add(bs).min(end);
            let within = pos - block_start;
            match self.block(index) {
                Block::Absent => f(pos, stop - pos, Piece::Absent),
                Block::Zero => f(pos, stop - pos, Piece::Zero),
                Block::Unreadable => f(pos, stop - pos, Piece::Unreadable),
                Block::Full { data_offset } => {
                    file_piece(
                        pos,
                        stop - pos,
                        data_offset.checked_add(within),
                        file_len,
                        f,
                    );
                }
                Block::Partial {
                    data_offset,
                    bitmap_offset,
                } => self.walk_partial(pos, stop, within, data_offset, bitmap_offset, file_len, f),
            }
            pos = stop;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_partial(
        &self,
        pos: u64,
        stop: u64,
        within: u64,
        data_offset: u64,
        bitmap_offset: u64,
        file_len: u64,
        f: &mut dyn FnMut(u64, u64, Piece),
    ) {
        let ss = u64::from(self.sector_bytes.max(1));
        let first_sector = within / ss;
        let last_sector = (within + (stop - pos) - 1) / ss;
        let first_byte = first_sector / 8;
        let nbytes = last_sector / 8 - first_byte + 1;
        let mut bitmap = vec![0u8; nbytes as usize];
        let ok = bitmap_offset
            .checked_add(first_byte)
            .is_some_and(|at| self.file.read_exact_at(&mut bitmap, at).is_ok());
        if !ok {
            f(pos, stop - pos, Piece::Unreadable);
            return;
        }
        // The common cases: every sector stored, or none.
        if bitmap.iter().all(|&b| b == 0xff) {
            file_piece(
                pos,
                stop - pos,
                data_offset.checked_add(within),
                file_len,
                f,
            );
            return;
        }
        if bitmap.iter().all(|&b| b == 0) {
            f(pos, stop - pos, Piece::Absent);
            return;
        }
        let mut cur = pos;
        while cur < stop {
            let w = cur - (pos - within);
            let sector = w / ss;
            let rel = sector - first_byte * 8;
            let byte = bitmap[(rel / 8) as usize];
            let bit = match self.bit_order {
                BitOrder::MsbFirst => byte >> (7 - rel % 8) & 1,
                BitOrder::LsbFirst => byte >> (rel % 8) & 1,
            };
            let sector_end = (pos - within)
                .saturating_add((sector + 1).saturating_mul(ss))
                .min(stop);
            if bit == 1 {
                file_piece(
                    cur,
                    sector_end - cur,
                    data_offset.checked_add(w),
                    file_len,
                    f,
                );
            } else {
                f(cur, sector_end - cur, Piece::Absent);
            }
            cur = sector_end;
        }
    }

    fn pieces(&self, start: u64, end: u64) -> Vec<(u64, u64, Piece)> {
        let mut out: Vec<(u64, u64, Piece)> = Vec::new();
        let orphan = self.orphan;
        self.walk(start, end, &mut |off, len, piece| {
            let piece = match piece {
                Piece::Absent if orphan => Piece::Unreadable,
                p => p,
            };
            if let Some(last) = out.last_mut() {
                let contiguous = match (last.2, piece) {
                    (Piece::File(a), Piece::File(b)) => a.checked_add(last.1) == Some(b),
                    (a, b) => a == b,
                };
                if contiguous && last.0 + last.1 == off {
                    last.1 += len;
                    return;
                }
            }
            out.push((off, len, piece));
        });
        out
    }

    /// Bytes of `[0, virtual_size)` stored in this image or a parent
    /// (blocks with a bitmap count whole), computed from the tables alone.
    pub fn allocated_bytes(&self) -> u64 {
        self.allocated_range(0, self.virtual_size)
    }

    fn allocated_range(&self, offset: u64, len: u64) -> u64 {
        let bs = self.block_size.max(1);
        let (start, end) = clip(self.virtual_size, offset, len);
        let mut total = 0;
        let mut pos = start;
        // Blocks of the table one by one, then the rest in one go.
        let table_end = (self.blocks.len() as u64).saturating_mul(bs).min(end);
        while pos < table_end {
            let i = pos / bs;
            let stop = (i * bs).saturating_add(bs).min(table_end);
            total += self.allocated_piece(self.block(i), pos, stop);
            pos = stop;
        }
        if pos < end {
            total += self.allocated_piece(self.beyond, pos, end);
        }
        total
    }

    fn allocated_piece(&self, block: Block, pos: u64, stop: u64) -> u64 {
        match block {
            Block::Full { .. } | Block::Partial { .. } => stop - pos,
            Block::Absent if !self.orphan => self
                .parent
                .as_ref()
                .map_or(0, |p| p.allocated_range(pos, stop - pos)),
            Block::Absent | Block::Zero | Block::Unreadable => 0,
        }
    }

    fn unreadable(&self, offset: u64, len: u64) -> CoreError {
        CoreError::Unreadable {
            name: self.name.clone(),
            offset,
            len,
        }
    }
}

/// Splits a stored piece at the end of the file: what lies past it is lost.
fn file_piece(
    pos: u64,
    len: u64,
    file_offset: Option<u64>,
    file_len: u64,
    f: &mut dyn FnMut(u64, u64, Piece),
) {
    let Some(at) = file_offset else {
        f(pos, len, Piece::Unreadable);
        return;
    };
    let present = file_len.saturating_sub(at).min(len);
    if present > 0 {
        f(pos, present, Piece::File(at));
    }
    if present < len {
        f(pos + present, len - present, Piece::Unreadable);
    }
}

impl Source for BlockMap {
    fn len(&self) -> u64 {
        self.virtual_size
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn sector_size(&self) -> SectorSize {
        SectorSize {
            logical: self.sector_bytes,
            physical: self.physical_sector,
        }
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> CoreResult<usize> {
        let (start, end) = clip(self.virtual_size, offset, buf.len() as u64);
        for (off, len, piece) in self.pieces(start, end) {
            let lo = (off - start) as usize;
            let dst = &mut buf[lo..lo + len as usize];
            match piece {
                Piece::Zero => dst.fill(0),
                Piece::Unreadable => return Err(self.unreadable(off, len)),
                Piece::File(at) => self.file.read_exact_at(dst, at)?,
                Piece::Absent => match &self.parent {
                    None => dst.fill(0),
                    Some(p) => {
                        let n = p.read_at(dst, off)?;
                        dst[n..].fill(0);
                    }
                },
            }
        }
        Ok((end - start) as usize)
    }

    fn extents(&self, offset: u64, len: u64) -> CoreResult<Vec<Extent>> {
        let (start, end) = clip(self.virtual_size, offset, len);
        let mut map = Vec::new();
        let kind_extent = |offset, len, kind| Extent { offset, len, kind };
        for (off, len, piece) in self.pieces(start, end) {
            match piece {
                Piece::Zero => push_extent(&mut map, kind_extent(off, len, ExtentKind::Zero)),
                Piece::Unreadable => {
                    push_extent(&mut map, kind_extent(off, len, ExtentKind::Unreadable));
                }
                Piece::File(at) => {
                    for e in self.file.extents(at, len)? {
                        push_extent(&mut map, kind_extent(off + (e.offset - at), e.len, e.kind));
                    }
                }
                Piece::Absent => {
                    let mut covered = off;
                    if let Some(p) = &self.parent {
                        for e in p.extents(off, len)? {
                            push_extent(&mut map, e);
                            covered = e.end();
                        }
                    }
                    let rest = off + len - covered;
                    push_extent(&mut map, kind_extent(covered, rest, ExtentKind::Zero));
                }
            }
        }
        Ok(map)
    }
}
