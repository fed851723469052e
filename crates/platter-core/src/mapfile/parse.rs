//! Reading mapfile text with exactly the tolerance of GNU ddrescue 1.27
//! (`Mapfile::read_mapfile` in ddrescue's `mapfile.cc`).
//!
//! ddrescue reads the file as *records*: it skips whitespace, blank lines and
//! comments, then takes the rest of the line, cut at a `#` that follows
//! whitespace and at 127 bytes. The first record is the status line, scanned
//! with `sscanf("%lli %c %d")`; every other record is a block line, scanned
//! with `sscanf("%lli %lli %c")`. Numbers are C integer literals as glibc's
//! scanf reads them (decimal, `0x` hex, leading-`0` octal, optional sign);
//! anything after the last field is ignored. Blocks must be contiguous (each
//! starts where the previous ends); the first may start anywhere. A block of
//! size 0 is allowed only at position 0.
//!
//! Where ddrescue would silently clamp or wrap (numbers past `i64::MAX`, a
//! pass number past `i32::MAX`), this parser refuses the file instead.

use super::{BlockStatus, MAX_BLOCKS, MAX_MAPFILE_BYTES, MAX_POS, MapBlock, Mapfile, PassStatus};
use crate::error::{Error, Result};

/// ddrescue keeps at most this many bytes of a record (`maxlen` in `my_fgets`).
const MAX_RECORD_BYTES: usize = 127;

/// The header comment naming the command that wrote the map.
const COMMAND_LINE_PREFIX: &[u8] = b"# Command line: ";

/// `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits mapfile bytes into ddrescue records, counting lines like ddrescue.
struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    /// Lines consumed so far; after `next` returns, the 1-based line of the record.
    line: usize,
    /// The first `# Command line:` comment starting a line, if met yet.
    command_line: Option<&'a [u8]>,
}

impl<'a> Records<'a> {
    fn new(data: &'a [u8]) -> Self {
        Records {
            data,
            pos: 0,
            line: 0,
            command_line: None,
        }
    }

    /// Index of the next `\n` at or after `from`, or the end of the data.
    fn line_end(&self, from: usize) -> usize {
        self.data[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.data.len(), |i| from + i)
    }

    /// The next record and its 1-based line number, or `None` at the end.
    fn next_record(&mut self) -> Option<(&'a [u8], usize)> {
        let d = self.data;
        // Skip whitespace, blank lines and comment lines. A comment ends at
        // its newline, which is then counted like any other.
        loop {
            let &b = d.get(self.pos)?;
            if b == b'#' {
                let end = self.line_end(self.pos);
                let at_line_start = self.pos == 0 || d[self.pos - 1] == b'\n';
                if at_line_start && self.command_line.is_none() {
                    let text = &d[self.pos..end];
                    if let Some(rest) = text.strip_prefix(COMMAND_LINE_PREFIX) {
                        self.command_line = Some(rest.strip_suffix(b"\r").unwrap_or(rest));
                    }
                }
                self.pos = end;
                continue;
            }
            if !is_c_space(b) {
                break;
            }
            if b == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        let start = self.pos;
        let content_end;
        loop {
            match d.get(self.pos) {
                None => {
                    // ddrescue ends a last line without newline as if it had one.
                    content_end = self.pos;
                    self.line += 1;
                    break;
                }
                Some(b'\n') => {
                    content_end = self.pos;
                    self.pos += 1;
                    self.line += 1;
                    break;
                }
                Some(b'#') if is_c_space(d[self.pos - 1]) => {
                    content_end = self.pos;
                    let nl = self.line_end(self.pos);
                    self.pos = (nl + 1).min(d.len());
                    self.line += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        let mut record = &d[start..content_end.min(start + MAX_RECORD_BYTES)];
        // sscanf sees a C string: it stops at a NUL byte.
        if let Some(nul) = record.iter().position(|&b| b == 0) {
            record = &record[..nul];
        }
        Some((record, self.line))
    }
}

/// The `# Command line:` comment as text: decoded lossily, with carriage
/// returns turned into spaces as [`Mapfile::to_text`] writes them.
fn command_line_text(raw: &[u8]) -> String {
    super::format::one_line(&String::from_utf8_lossy(raw))
}

/// An integer as glibc's scanf reads it: sign and saturated magnitude.
#[derive(Debug, Clone, Copy)]
struct CInt {
    negative: bool,
    magnitude: u64,
}

impl CInt {
    /// The value, when it is non-negative (`-0` is 0, as in C).
    fn non_negative(self) -> Option<u64> {
        (!self.negative || self.magnitude == 0).then_some(self.magnitude)
    }
}

/// A cursor emulating the `sscanf` directives ddrescue uses.
struct Scan<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// A whitespace directive: skips any amount of whitespace.
    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_c_space) {
            self.i += 1;
        }
    }

    fn sign(&mut self) -> bool {
        match self.peek() {
            Some(b'-') => {
                self.i += 1;
                true
            }
            Some(b'+') => {
                self.i += 1;
                false
            }
            _ => false,
        }
    }

    /// Accumulates digits of `radix`, saturating; returns how many were read.
    fn digits(&mut self, radix: u32, acc: &mut u64) -> usize {
        let mut n = 0;
        while let Some(d) = self.peek().and_then(|b| (b as char).to_digit(radix)) {
            *acc = acc
                .checked_mul(u64::from(radix))
                .and_then(|v| v.checked_add(u64::from(d)))
                .unwrap_or(u64::MAX);
            self.i += 1;
            n += 1;
        }
        n
    }

    /// `%lli`: a C integer literal. Like glibc, a `0x` prefix is consumed
    /// even when no hex digit follows (the value is then 0).
    fn c_int(&mut self) -> Option<CInt> {
        self.skip_space();
        let negative = self.sign();
        let mut magnitude = 0u64;
        if self.peek() == Some(b'0') {
            self.i += 1;
            if matches!(self.peek(), Some(b'x' | b'X')) {
                self.i += 1;
                self.digits(16, &mut magnitude);
            } else {
                self.digits(8, &mut magnitude);
            }
        } else if self.digits(10, &mut magnitude) == 0 {
            return None;
        }
        Some(CInt {
            negative,
            magnitude,
        })
    }

    /// `%d`: a decimal integer.
    fn decimal(&mut self) -> Option<CInt> {
        self.skip_space();
        let negative = self.sign();
        let mut magnitude = 0u64;
        if self.digits(10, &mut magnitude) == 0 {
            return None;
        }
        Some(CInt {
            negative,
            magnitude,
        })
    }

    /// ` %c`: skips whitespace, then takes one byte.
    fn status_char(&mut self) -> Option<u8> {
        self.skip_space();
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }
}

/// Describes a status byte for messages.
fn show_byte(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("'{}'", c as char)
    } else {
        format!("byte {c:#04x}")
    }
}

/// A number that must fit ddrescue's `long long` and be non-negative.
fn position(n: CInt, what: &str) -> std::result::Result<u64, String> {
    match n.non_negative() {
        None => Err(format!("{what} is negative")),
        Some(v) if v > MAX_POS => Err(format!(
            "{what} {v:#x} is larger than the maximum {MAX_POS:#x}"
        )),
        Some(v) => Ok(v),
    }
}

/// Scans the status line: `current_pos current_status [current_pass]`.
fn status_line(rec: &[u8]) -> std::result::Result<(u64, PassStatus, Option<u32>), String> {
    const BAD: &str =
        "bad or missing status line (expected \"current_pos current_status current_pass\")";
    let mut sc = Scan { s: rec, i: 0 };
    let pos = sc.c_int().ok_or_else(|| BAD.to_string())?;
    let c = sc.status_char().ok_or_else(|| BAD.to_string())?;
    let pass = sc.decimal();
    let pos = position(pos, "current_pos").map_err(|e| format!("{BAD}: {e}"))?;
    let status = PassStatus::from_char(c as char).ok_or_else(|| {
        format!(
            "{BAD}: current_status {} is not one of ?*/-FG+",
            show_byte(c)
        )
    })?;
    let pass = match pass {
        None => None,
        Some(p) => match p.non_negative() {
            Some(v @ 1..=0x7fff_ffff) => Some(v as u32),
            Some(v) if v > 0x7fff_ffff => {
                return Err(format!("{BAD}: current_pass {v} is too large"));
            }
            _ => return Err(format!("{BAD}: current_pass must be at least 1")),
        },
    };
    Ok((pos, status, pass))
}

/// Scans a block line: `pos size status`.
fn block_line(rec: &[u8]) -> std::result::Result<MapBlock, String> {
    const BAD: &str = "bad block line in list (expected \"pos size status\")";
    let mut sc = Scan { s: rec, i: 0 };
    let (Some(pos), Some(size), Some(c)) = (sc.c_int(), sc.c_int(), sc.status_char()) else {
        return Err(BAD.to_string());
    };
    let pos = position(pos, "pos").map_err(|e| format!("{BAD}: {e}"))?;
    let size = position(size, "size").map_err(|e| format!("{BAD}: {e}"))?;
    let status = BlockStatus::from_char(c as char)
        .ok_or_else(|| format!("{BAD}: status {} is not one of ?*/-+", show_byte(c)))?;
    if size == 0 && pos != 0 {
        return Err(format!(
            "{BAD}: empty block at {pos:#x} (only position 0 may have size 0)"
        ));
    }
    if pos.checked_add(size).is_none_or(|end| end > MAX_POS) {
        return Err(format!(
            "{BAD}: block {pos:#x}+{size:#x} ends past the maximum position {MAX_POS:#x}"
        ));
    }
    Ok(MapBlock { pos, size, status })
}

impl Mapfile {
    /// Parses mapfile text. `name` (usually the path) is used in errors.
    ///
    /// Accepts exactly what GNU ddrescue 1.27 accepts, except numbers past
    /// `i64::MAX` and pass numbers past `i32::MAX`, which ddrescue clamps or
    /// wraps and this refuses. Errors are [`Error::Mapfile`] with the 1-based
    /// line number ddrescue would report (line 0 for a file over
    /// [`MAX_MAPFILE_BYTES`]). Adjacent blocks of the same status are merged
    /// and size-0 blocks dropped. Text with no status line (empty, or only
    /// comments) is an empty map, as for ddrescue.
    pub fn parse(text: &str, name: &str) -> Result<Self> {
        Self::parse_bytes(text.as_bytes(), name)
    }

    /// Like [`parse`](Mapfile::parse), for raw bytes: ddrescue maps are not
    /// always UTF-8 (the command-line comment may hold any file name). The
    /// command line is decoded lossily.
    pub fn parse_bytes(data: &[u8], name: &str) -> Result<Self> {
        Self::parse_limited(data, name, MAX_BLOCKS)
    }

    /// [`parse_bytes`](Mapfile::parse_bytes) with a block limit (lowered in tests).
    pub(super) fn parse_limited(data: &[u8], name: &str, max_blocks: usize) -> Result<Self> {
        let err = |line: usize, reason: String| Error::Mapfile {
            name: name.to_string(),
            line,
            reason,
        };
        if data.len() as u64 > MAX_MAPFILE_BYTES {
            return Err(err(
                0,
                format!(
                    "{} bytes is larger than the {MAX_MAPFILE_BYTES}-byte limit for a mapfile",
                    data.len()
                ),
            ));
        }
        let mut records = Records::new(data);
        let mut map = Mapfile::new(0);
        let Some((rec, line)) = records.next_record() else {
            map.command_line = records.command_line.map(command_line_text);
            return Ok(map);
        };
        let (pos, status, pass) = status_line(rec).map_err(|r| err(line, r))?;
        map.current_pos = pos;
        map.current_status = status;
        map.current_pass = pass;
        map.command_line = records.command_line.map(command_line_text);

        let mut blocks: Vec<MapBlock> = Vec::new();
        // End of the previous block line, counting empty ones.
        let mut prev_end: Option<u64> = None;
        while let Some((rec, line)) = records.next_record() {
            let b = block_line(rec).map_err(|r| err(line, r))?;
            if let Some(prev) = prev_end {
                if b.pos != prev {
                    return Err(err(
                        line,
                        format!(
                            "blocks are not contiguous: block starts at {:#x}, previous one ends at {prev:#x}",
                            b.pos
                        ),
                    ));
                }
            }
            prev_end = Some(b.end());
            let merges = blocks
                .last()
                .is_some_and(|last| last.status == b.status && last.end() == b.pos);
            if b.size > 0 && !merges && blocks.len() >= max_blocks {
                return Err(err(
                    line,
                    format!("more than {max_blocks} blocks; refusing such a large map"),
                ));
            }
            super::push_merged(&mut blocks, b);
        }
        Ok(Mapfile::from_parts(map, blocks))
    }
}
