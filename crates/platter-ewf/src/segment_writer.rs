//! The ordered half of the writer: lays compressed chunks out into segment
//! files the way EnCase 6 does.
//!
//! ```text
//! first segment:  header2 header2 header volume (sectors table table2)+ next
//! middle segment: data (sectors table table2)+ next
//! last segment:   data (sectors table table2)+ [error2] digest hash done
//! ```
//!
//! A sectors section holds at most [`MAX_TABLE_ENTRIES`] chunks and less
//! than 2 GiB, so every table entry fits its 31 bits relative to the
//! table's base offset (the start of its sectors section, as libewf and
//! EnCase 6.7+ write it).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::compress::StoredChunk;
use crate::error::{Error, Result};
use crate::format::{
    COMPRESSED_FLAG, DESCRIPTOR_LEN, Descriptor, MAX_ENTRY_OFFSET, MAX_TABLE_ENTRIES,
    TABLE_HEADER_LEN, Volume, adler32, encode_digest, encode_error2, encode_hash,
    encode_table_header, file_header,
};
use crate::naming::{MAX_SEGMENTS, segment_path};

/// Room kept free in every segment for the closing sections (error2,
/// digest, hash, done or next), so a segment stays near its size limit.
const TRAILER_RESERVE: u64 = 4096;

/// Bytes a table plus its table2 copy take for `entries` entries.
fn tables_len(entries: u64) -> u64 {
    2 * (DESCRIPTOR_LEN + TABLE_HEADER_LEN + 4 * entries + 4)
}

/// What was written, returned by [`EwfWriter::finish`](crate::EwfWriter::finish).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// Every segment file written, in order.
    pub segments: Vec<PathBuf>,
    /// Number of chunks stored.
    pub chunks: u64,
    /// How many of them are zlib-compressed (the rest are stored raw).
    pub compressed_chunks: u64,
    /// Total size of the segment files in bytes.
    pub bytes_written: u64,
    /// Number of error2 entries recorded (after merging adjacent ranges).
    pub error2_entries: usize,
    /// Remarks for the acquisition log (error ranges EWF cannot express).
    pub notes: Vec<String>,
}

/// The segment files being written and the position in the current one.
pub struct SegmentLayout {
    first: PathBuf,
    force: bool,
    segment_size: u64,
    volume: Volume,
    header2: Vec<u8>,
    header: Vec<u8>,
    segments: Vec<PathBuf>,
    file: Option<BufWriter<File>>,
    pos: u64,
    chunks_in_segment: u64,
    sectors_start: Option<u64>,
    entries: Vec<u32>,
    chunks: u64,
    compressed: u64,
    closed_bytes: u64,
}

impl std::fmt::Debug for SegmentLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentLayout")
            .field("segments", &self.segments)
            .field("pos", &self.pos)
            .field("chunks", &self.chunks)
            .finish_non_exhaustive()
    }
}

impl SegmentLayout {
    /// Prepares the layout and creates the first segment (refusing to
    /// overwrite it, or any later segment already on disk, unless `force`).
    pub fn create(
        first: &Path,
        force: bool,
        segment_size: u64,
        volume: Volume,
        header2: Vec<u8>,
        header: Vec<u8>,
    ) -> Result<Self> {
        if !force {
            for n in 1..=MAX_SEGMENTS {
                let Some(p) = segment_path(first, n) else {
                    break;
                };
                if std::fs::symlink_metadata(&p).is_ok() {
                    return Err(Error::OutputExists { path: p });
                }
                if n > 1 {
                    break;
                }
            }
        }
        let mut layout = Self {
            first: first.to_path_buf(),
            force,
            segment_size,
            volume,
            header2,
            header,
            segments: Vec::new(),
            file: None,
            pos: 0,
            chunks_in_segment: 0,
            sectors_start: None,
            entries: Vec::new(),
            chunks: 0,
            compressed: 0,
            closed_bytes: 0,
        };
        layout.open_segment()?;
        Ok(layout)
    }

    fn current_path(&self) -> &Path {
        self.segments.last().map_or(&self.first, |p| p.as_path())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let path = self.current_path().to_path_buf();
        let f = self.file.as_mut().ok_or_else(|| Error::Worker {
            reason: "no segment open".into(),
        })?;
        f.write_all(bytes)
            .map_err(|e| Error::io(&path, "write", e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Writes a whole section: descriptor (next = right after it) and body.
    fn section(&mut self, kind: &str, body: &[u8]) -> Result<()> {
        let size = DESCRIPTOR_LEN + body.len() as u64;
        let d = Descriptor::new(kind, self.pos + size, size);
        self.put(&d.encode())?;
        self.put(body)
    }

    /// A terminal section ("next" or "done"): points to itself, size 0.
    fn terminal(&mut self, kind: &str) -> Result<()> {
        let d = Descriptor::new(kind, self.pos, 0);
        self.put(&d.encode())
    }

    fn open_segment(&mut self) -> Result<()> {
        let number = self.segments.len() as u32 + 1;
        let path = segment_path(&self.first, number).ok_or(Error::TooManySegments { number })?;
        let mut oo = OpenOptions::new();
        oo.write(true);
        if self.force {
            oo.create(true).truncate(true);
        } else {
            oo.create_new(true);
        }
        let file = oo.open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::OutputExists { path: path.clone() }
            } else {
                Error::io(&path, "create", e)
            }
        })?;
        self.segments.push(path);
        self.file = Some(BufWriter::with_capacity(1 << 20, file));
        self.pos = 0;
        self.chunks_in_segment = 0;
        // The segment number is a u16 on disk; MAX_SEGMENTS is below 65536.
        self.put(&file_header(number as u16))?;
        let volume = self.volume.encode();
        if number == 1 {
            let h2 = std::mem::take(&mut self.header2);
            self.section("header2", &h2)?;
            self.section("header2", &h2)?;
            let h = std::mem::take(&mut self.header);
            self.section("header", &h)?;
            self.section("volume", &volume)?;
        } else {
            self.section("data", &volume)?;
        }
        Ok(())
    }

    /// Patches the open sectors descriptor and writes table and table2.
    fn close_sectors(&mut self) -> Result<()> {
        let Some(start) = self.sectors_start.take() else {
            return Ok(());
        };
        let path = self.current_path().to_path_buf();
        let f = self.file.as_mut().ok_or_else(|| Error::Worker {
            reason: "no segment open".into(),
        })?;
        f.flush().map_err(|e| Error::io(&path, "write", e))?;
        let d = Descriptor::new("sectors", self.pos, self.pos - start);
        f.get_ref()
            .write_all_at(&d.encode(), start)
            .map_err(|e| Error::io(&path, "write", e))?;
        let entries = std::mem::take(&mut self.entries);
        let mut body = Vec::with_capacity(TABLE_HEADER_LEN as usize + 4 * entries.len() + 4);
        body.extend_from_slice(&encode_table_header(entries.len() as u32, start));
        let first_entry = body.len();
        for e in &entries {
            body.extend_from_slice(&e.to_le_bytes());
        }
        let sum = adler32(&body[first_entry..]);
        body.extend_from_slice(&sum.to_le_bytes());
        self.section("table", &body)?;
        self.section("table2", &body)
    }

    /// Closes the current segment with `kind` ("next" or "done").
    fn close_segment(&mut self, kind: &str) -> Result<()> {
        self.terminal(kind)?;
        let path = self.current_path().to_path_buf();
        if let Some(mut f) = self.file.take() {
            f.flush().map_err(|e| Error::io(&path, "write", e))?;
            f.get_ref()
                .sync_all()
                .map_err(|e| Error::io(&path, "sync", e))?;
        }
        self.closed_bytes += self.pos;
        Ok(())
    }

    /// Appends one chunk (`data` are its uncompressed bytes).
    pub fn add_chunk(&mut self, data: &[u8], stored: &StoredChunk) -> Result<()> {
        let len = match stored {
            StoredChunk::Compressed(z) => z.len() as u64,
            StoredChunk::Raw(_) => data.len() as u64 + 4,
        };
        if let Some(start) = self.sectors_start {
            let full = self.entries.len() as u32 >= MAX_TABLE_ENTRIES
                || self.pos + len - start > MAX_ENTRY_OFFSET;
            if full {
                self.close_sectors()?;
            }
        }
        let open_entries = self.entries.len() as u64 + 1;
        let open_sectors = if self.sectors_start.is_some() {
            0
        } else {
            DESCRIPTOR_LEN
        };
        let needed = self.pos + open_sectors + len + tables_len(open_entries) + TRAILER_RESERVE;
        if self.chunks_in_segment > 0 && needed > self.segment_size {
            self.close_sectors()?;
            self.close_segment("next")?;
            self.open_segment()?;
        }
        if self.sectors_start.is_none() {
            self.sectors_start = Some(self.pos);
            // Placeholder, patched by close_sectors.
            self.put(&Descriptor::new("sectors", 0, 0).encode())?;
        }
        let start = self.sectors_start.unwrap_or(self.pos);
        let rel = (self.pos - start) as u32;
        match stored {
            StoredChunk::Compressed(z) => {
                self.put(z)?;
                self.entries.push(rel | COMPRESSED_FLAG);
                self.compressed += 1;
            }
            StoredChunk::Raw(sum) => {
                self.put(data)?;
                self.put(&sum.to_le_bytes())?;
                self.entries.push(rel);
            }
        }
        self.chunks += 1;
        self.chunks_in_segment += 1;
        Ok(())
    }

    /// Closes the last segment with error2, digest, hash and done.
    pub fn finish(
        mut self,
        errors: &[(u32, u32)],
        md5: &[u8; 16],
        sha1: &[u8; 20],
        notes: Vec<String>,
    ) -> Result<WriteSummary> {
        self.close_sectors()?;
        if !errors.is_empty() {
            self.section("error2", &encode_error2(errors))?;
        }
        self.section("digest", &encode_digest(md5, sha1))?;
        self.section("hash", &encode_hash(md5))?;
        self.close_segment("done")?;
        Ok(WriteSummary {
            segments: self.segments,
            chunks: self.chunks,
            compressed_chunks: self.compressed,
            bytes_written: self.closed_bytes,
            error2_entries: errors.len(),
            notes,
        })
    }
}
