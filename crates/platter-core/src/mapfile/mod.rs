//! The GNU ddrescue mapfile (format of ddrescue 1.27, info node
//! "Mapfile structure"): reading, writing and editing.
//!
//! A mapfile records, for every byte of a rescue domain, how far ddrescue got
//! with it: `?` not tried yet, `*` failed and not trimmed, `/` failed and not
//! scraped, `-` bad sector(s), `+` rescued. platter reads maps written by
//! ddrescue (to know which bytes of an image are real data) and writes maps
//! ddrescue can resume from.
//!
//! ```
//! use platter_core::mapfile::{BlockStatus, Mapfile};
//!
//! let mut map = Mapfile::new(0x10000);
//! map.set_status(0, 0x8000, BlockStatus::Finished);
//! map.set_status(0x4000, 0x200, BlockStatus::BadSector);
//! let text = map.to_text();
//! assert!(text.contains("0x00004000  0x00000200  -\n"));
//! let back = Mapfile::parse(&text, "<memory>").unwrap();
//! assert_eq!(back, map);
//! assert_eq!(back.bytes_with(BlockStatus::Finished), 0x8000 - 0x200);
//! ```
//!
//! # Model
//! A map is a list of blocks that are sorted, contiguous, non-empty and never
//! overlap; adjacent blocks never share a status (they are merged, as
//! ddrescue's `compact_sblock_vector` does). Like ddrescue, the first block
//! may start after 0: bytes outside the blocks have no status.
//!
//! Positions are limited to [`MAX_POS`] (`i64::MAX`, ddrescue's `long long`).

use std::fmt;

mod file;
mod format;
mod parse;
mod source;

pub use source::MapfileSource;

/// The largest position or block end a mapfile can hold: ddrescue stores
/// positions as `long long`, so its maps end at or before `i64::MAX`.
pub const MAX_POS: u64 = i64::MAX as u64;

/// Parsing refuses a map with more blocks than this (16 Mi blocks, 384 MiB
/// in memory), so a hostile mapfile cannot exhaust memory.
pub const MAX_BLOCKS: usize = 16 * 1024 * 1024;

/// [`Mapfile::read`] and [`Mapfile::parse`] refuse files larger than this
/// (1 GiB: 16 Mi block lines of up to 64 bytes).
pub const MAX_MAPFILE_BYTES: u64 = 1 << 30;

/// Status of a block of the rescue domain (the status column of block lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockStatus {
    /// `?`: not tried yet.
    NonTried,
    /// `*`: a read failed in the copy pass; the block has not been trimmed.
    NonTrimmed,
    /// `/`: trimmed, but the middle has not been scraped sector by sector.
    NonScraped,
    /// `-`: bad sector(s): reading failed sector by sector.
    BadSector,
    /// `+`: rescued: the image holds the real data.
    Finished,
}

impl BlockStatus {
    /// All statuses, in ddrescue's order from least to most processed.
    pub const ALL: [BlockStatus; 5] = [
        BlockStatus::NonTried,
        BlockStatus::NonTrimmed,
        BlockStatus::NonScraped,
        BlockStatus::BadSector,
        BlockStatus::Finished,
    ];

    /// The mapfile character: one of `? * / - +`.
    pub fn as_char(self) -> char {
        match self {
            BlockStatus::NonTried => '?',
            BlockStatus::NonTrimmed => '*',
            BlockStatus::NonScraped => '/',
            BlockStatus::BadSector => '-',
            BlockStatus::Finished => '+',
        }
    }

    /// The status written as `c`, if `c` is one of `? * / - +`.
    pub fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '?' => BlockStatus::NonTried,
            '*' => BlockStatus::NonTrimmed,
            '/' => BlockStatus::NonScraped,
            '-' => BlockStatus::BadSector,
            '+' => BlockStatus::Finished,
            _ => return None,
        })
    }

    /// The name `ddrescuelog -t` uses: "non-tried", "rescued", ….
    pub fn name(self) -> &'static str {
        match self {
            BlockStatus::NonTried => "non-tried",
            BlockStatus::NonTrimmed => "non-trimmed",
            BlockStatus::NonScraped => "non-scraped",
            BlockStatus::BadSector => "bad-sector",
            BlockStatus::Finished => "rescued",
        }
    }
}

impl fmt::Display for BlockStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What ddrescue was doing when it saved the map (the status line's
/// `current_status` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PassStatus {
    /// `?`: copying non-tried blocks.
    Copying,
    /// `*`: trimming non-trimmed blocks.
    Trimming,
    /// `/`: scraping non-scraped blocks.
    Scraping,
    /// `-`: retrying bad sectors.
    Retrying,
    /// `F`: filling blocks (`ddrescue --fill-mode`).
    Filling,
    /// `G`: generating an approximate map (`ddrescue --generate-mode`).
    Generating,
    /// `+`: finished.
    Finished,
}

impl PassStatus {
    /// The mapfile character: one of `? * / - F G +`.
    pub fn as_char(self) -> char {
        match self {
            PassStatus::Copying => '?',
            PassStatus::Trimming => '*',
            PassStatus::Scraping => '/',
            PassStatus::Retrying => '-',
            PassStatus::Filling => 'F',
            PassStatus::Generating => 'G',
            PassStatus::Finished => '+',
        }
    }

    /// The status written as `c`, if `c` is one of `? * / - F G +`.
    pub fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '?' => PassStatus::Copying,
            '*' => PassStatus::Trimming,
            '/' => PassStatus::Scraping,
            '-' => PassStatus::Retrying,
            'F' => PassStatus::Filling,
            'G' => PassStatus::Generating,
            '+' => PassStatus::Finished,
            _ => return None,
        })
    }
}

/// One block line: `size` bytes from `pos` have `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct MapBlock {
    /// First byte of the block.
    pub pos: u64,
    /// Length in bytes (never 0 in a [`Mapfile`]).
    pub size: u64,
    /// What ddrescue knows about these bytes.
    pub status: BlockStatus,
}

impl MapBlock {
    /// One past the last byte of the block.
    pub fn end(&self) -> u64 {
        self.pos + self.size
    }
}

/// A ddrescue mapfile: the status line and the list of blocks.
///
/// Blocks are private so the invariants (sorted, contiguous, non-empty,
/// merged, ending at or before [`MAX_POS`]) always hold; edit them with
/// [`set_status`](Mapfile::set_status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapfile {
    /// The position ddrescue was working at (status line, first column).
    pub current_pos: u64,
    /// The phase ddrescue was in (status line, second column).
    pub current_status: PassStatus,
    /// The pass number within the phase (status line, third column); `None`
    /// for old maps that lack it (ddrescue then assumes pass 1).
    pub current_pass: Option<u32>,
    /// The `# Command line:` header comment, if any.
    pub command_line: Option<String>,
    blocks: Vec<MapBlock>,
}

impl Mapfile {
    /// A fresh map of one non-tried block covering `[0, size)` (no blocks
    /// when `size` is 0), at pass 1 of copying. `size` is clipped to [`MAX_POS`].
    pub fn new(size: u64) -> Self {
        let mut map = Mapfile {
            current_pos: 0,
            current_status: PassStatus::Copying,
            current_pass: Some(1),
            command_line: None,
            blocks: Vec::new(),
        };
        let size = size.min(MAX_POS);
        if size > 0 {
            map.blocks.push(MapBlock {
                pos: 0,
                size,
                status: BlockStatus::NonTried,
            });
        }
        map
    }

    /// The blocks, sorted, contiguous and with adjacent statuses differing.
    pub fn blocks(&self) -> &[MapBlock] {
        &self.blocks
    }

    /// Start of the first block (0 for an empty map). ddrescue maps usually
    /// start at 0, but ddrescue accepts a map whose first block starts later.
    pub fn start(&self) -> u64 {
        self.blocks.first().map_or(0, |b| b.pos)
    }

    /// End of the last block: the size of the rescue domain (0 when empty).
    pub fn size(&self) -> u64 {
        self.blocks.last().map_or(0, MapBlock::end)
    }

    /// Index of the block holding `pos`, if any.
    fn index_of(&self, pos: u64) -> Option<usize> {
        let i = self.blocks.partition_point(|b| b.end() <= pos);
        self.blocks.get(i).filter(|b| b.pos <= pos).map(|_| i)
    }

    /// Status of the byte at `pos`, or `None` outside the blocks.
    pub fn status_at(&self, pos: u64) -> Option<BlockStatus> {
        self.index_of(pos).map(|i| self.blocks[i].status)
    }

    /// Total bytes of the blocks with `status`.
    pub fn bytes_with(&self, status: BlockStatus) -> u64 {
        self.blocks
            .iter()
            .filter(|b| b.status == status)
            .map(|b| b.size)
            .sum()
    }

    /// The maximal runs of blocks whose status satisfies `pred`, as
    /// `(pos, size)` pairs in order. Adjacent blocks of different statuses
    /// that both satisfy `pred` form one run.
    pub fn ranges_with<F>(&self, pred: F) -> RangesWith<'_, F>
    where
        F: Fn(BlockStatus) -> bool,
    {
        RangesWith {
            blocks: &self.blocks,
            pred,
        }
    }

    /// Marks `[pos, pos+size)` with `status`, splitting and merging blocks.
    ///
    /// When the range reaches outside the blocks, the domain grows to cover
    /// it and any gap between is non-tried, as ddrescue extends a map (an
    /// empty map grows from 0). The range is clipped at [`MAX_POS`].
    pub fn set_status(&mut self, pos: u64, size: u64, status: BlockStatus) {
        let end = pos.saturating_add(size).min(MAX_POS);
        if end <= pos {
            return;
        }
        self.cover(pos, end);
        // Blocks first..last (exclusive) overlap [pos, end); cover() made
        // sure there is at least one.
        let first = self.blocks.partition_point(|b| b.end() <= pos);
        let last = self.blocks.partition_point(|b| b.pos < end);
        let lo = first.saturating_sub(1);
        let hi = (last + 1).min(self.blocks.len());
        let mut repl: Vec<MapBlock> = Vec::with_capacity(5);
        let head = self.blocks[first];
        let tail = self.blocks[last - 1];
        if lo < first {
            push_merged(&mut repl, self.blocks[lo]);
        }
        push_merged(
            &mut repl,
            MapBlock {
                pos: head.pos,
                size: pos - head.pos,
                status: head.status,
            },
        );
        push_merged(
            &mut repl,
            MapBlock {
                pos,
                size: end - pos,
                status,
            },
        );
        push_merged(
            &mut repl,
            MapBlock {
                pos: end,
                size: tail.end() - end,
                status: tail.status,
            },
        );
        if last < hi {
            push_merged(&mut repl, self.blocks[last]);
        }
        self.blocks.splice(lo..hi, repl);
    }

    /// Grows the blocks so they cover `[pos, end)`, filling with non-tried.
    fn cover(&mut self, pos: u64, end: u64) {
        if self.blocks.is_empty() {
            self.blocks.push(MapBlock {
                pos: 0,
                size: end,
                status: BlockStatus::NonTried,
            });
            return;
        }
        let start = self.start();
        if pos < start {
            let front = MapBlock {
                pos,
                size: start - pos,
                status: BlockStatus::NonTried,
            };
            if self.blocks[0].status == BlockStatus::NonTried {
                self.blocks[0].size += front.size;
                self.blocks[0].pos = pos;
            } else {
                self.blocks.insert(0, front);
            }
        }
        let size = self.size();
        if end > size {
            push_merged(
                &mut self.blocks,
                MapBlock {
                    pos: size,
                    size: end - size,
                    status: BlockStatus::NonTried,
                },
            );
        }
    }

    /// Builds a map from blocks already known to satisfy the invariants.
    fn from_parts(head: Mapfile, blocks: Vec<MapBlock>) -> Self {
        debug_assert!(check_blocks(&blocks).is_ok());
        Mapfile { blocks, ..head }
    }

    /// Checks the block invariants; used by tests and the fuzz target.
    ///
    /// Returns a description of the first violation.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        check_blocks(&self.blocks)
    }
}

/// Appends `b` to `v`, merging it into the last block when they touch and
/// share a status. Empty blocks are dropped.
fn push_merged(v: &mut Vec<MapBlock>, b: MapBlock) {
    if b.size == 0 {
        return;
    }
    if let Some(last) = v.last_mut() {
        if last.status == b.status && last.end() == b.pos {
            last.size += b.size;
            return;
        }
    }
    v.push(b);
}

fn check_blocks(blocks: &[MapBlock]) -> std::result::Result<(), String> {
    if blocks.len() > MAX_BLOCKS {
        return Err(format!("{} blocks, more than {MAX_BLOCKS}", blocks.len()));
    }
    for (i, b) in blocks.iter().enumerate() {
        if b.size == 0 {
            return Err(format!("block {i} is empty"));
        }
        if b.pos.checked_add(b.size).is_none_or(|e| e > MAX_POS) {
            return Err(format!("block {i} ends past {MAX_POS:#x}"));
        }
        if i > 0 {
            let prev = blocks[i - 1];
            if prev.end() != b.pos {
                return Err(format!("block {i} does not follow block {}", i - 1));
            }
            if prev.status == b.status {
                return Err(format!("blocks {} and {i} share a status", i - 1));
            }
        }
    }
    Ok(())
}

/// Iterator returned by [`Mapfile::ranges_with`]: `(pos, size)` runs.
#[derive(Debug, Clone)]
pub struct RangesWith<'a, F> {
    blocks: &'a [MapBlock],
    pred: F,
}

impl<F: Fn(BlockStatus) -> bool> Iterator for RangesWith<'_, F> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        let skip = self
            .blocks
            .iter()
            .position(|b| (self.pred)(b.status))
            .unwrap_or(self.blocks.len());
        self.blocks = &self.blocks[skip..];
        let first = self.blocks.first()?;
        let take = self
            .blocks
            .iter()
            .position(|b| !(self.pred)(b.status))
            .unwrap_or(self.blocks.len());
        let end = self.blocks[take - 1].end();
        self.blocks = &self.blocks[take..];
        Some((first.pos, end - first.pos))
    }
}

#[cfg(test)]
mod tests;
