//! Walking the sections of one segment file and collecting what they hold.
//!
//! Every value read here is checked before use: a section must lie inside
//! the file and move forward by at least its descriptor, counts are bounded
//! by the bytes actually present, and bodies are read only up to fixed
//! limits.

use std::path::Path;

use platter_core::SharedSource;

use crate::chunk_table::Table;
use crate::error::{Error, Result};
use crate::format::{
    DESCRIPTOR_LEN, Descriptor, FILE_HEADER_LEN, TABLE_HEADER_LEN, VOLUME_BODY_LEN, Volume,
    parse_digest, parse_error2, parse_file_header, parse_hash, parse_table_entries,
    parse_table_header,
};
use crate::header_text::{decode_text, decompress_text, parse_main};

/// Most sections one segment may have (a real one has a handful per
/// 16375 chunks).
pub const MAX_SECTIONS_PER_SEGMENT: usize = 1 << 20;
/// Largest header/header2 section body read.
pub const MAX_HEADER_SECTION_BYTES: u64 = 16 << 20;
/// Largest error2 section body read (two million ranges).
pub const MAX_ERROR2_BYTES: u64 = 16 << 20;
/// Most entries one table may have (EnCase keeps 16375; EWF-X has no
/// limit; this bounds the memory one table can take to 16 MiB).
pub const MAX_ENTRIES_PER_TABLE: u32 = 1 << 22;

/// How a segment ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A "next" section: more segments follow.
    Next,
    /// A "done" section: the last segment.
    Done,
}

/// What one segment contributes.
#[derive(Debug, Default)]
pub struct SegmentInfo {
    /// header2 (preferred) or header values of the `main` category.
    pub header2: Option<Vec<(String, String)>>,
    /// header values.
    pub header: Option<Vec<(String, String)>>,
    /// The first valid volume or data section, with its offset.
    pub volume: Option<(Volume, u64)>,
    /// Tables in order; `first_chunk` is relative to this segment.
    pub tables: Vec<Table>,
    /// error2 ranges (first sector, count).
    pub error2: Vec<(u32, u32)>,
    /// MD5 from the digest section.
    pub digest_md5: Option<[u8; 16]>,
    /// SHA-1 from the digest section (absent when all zero).
    pub digest_sha1: Option<[u8; 20]>,
    /// MD5 from the hash section.
    pub hash_md5: Option<[u8; 16]>,
    /// Problems that did not stop reading.
    pub anomalies: Vec<String>,
    /// How the segment ends.
    pub ending: Option<Ending>,
}

fn read_body(src: &SharedSource, path: &Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let mut b = vec![0u8; len as usize];
    src.read_exact_at(&mut b, offset).map_err(|e| {
        Error::corrupt(
            path,
            offset,
            format!("cannot read {len} bytes of a section: {e}"),
        )
    })?;
    Ok(b)
}

/// Walks segment `number` (1-based) read from `src`.
pub fn walk_segment(path: &Path, src: &SharedSource, number: u32) -> Result<SegmentInfo> {
    let len = src.len();
    let mut head = [0u8; FILE_HEADER_LEN as usize];
    if len < FILE_HEADER_LEN || src.read_exact_at(&mut head, 0).is_err() {
        return Err(Error::NotEwf {
            path: path.to_path_buf(),
        });
    }
    let found = parse_file_header(&head).ok_or_else(|| Error::NotEwf {
        path: path.to_path_buf(),
    })?;
    if u32::from(found) != number {
        return Err(Error::SegmentNumber {
            path: path.to_path_buf(),
            found,
            expected: number,
        });
    }
    let mut info = SegmentInfo::default();
    let mut pos = FILE_HEADER_LEN;
    // The end of the current sectors section, and the last "table" read
    // with whether its entries were good (then its "table2" mirror is
    // skipped; else a good table2 replaces it).
    let mut sectors_end: Option<u64> = None;
    let mut last_table: Option<(usize, bool)> = None;
    let mut chunks_so_far = 0u64;
    for _ in 0..MAX_SECTIONS_PER_SEGMENT {
        if pos.checked_add(DESCRIPTOR_LEN).is_none_or(|e| e > len) {
            return Err(Error::corrupt(
                path,
                pos,
                format!(
                    "the segment ends ({len} bytes) before the section descriptor there: \
                     truncated segment, or a section chain that runs off the end"
                ),
            ));
        }
        let raw = read_body(src, path, pos, DESCRIPTOR_LEN)?;
        let d = Descriptor::parse(&raw).map_err(|r| Error::corrupt(path, pos, r))?;
        let kind = d.kind().to_string();
        match kind.as_str() {
            "next" => {
                info.ending = Some(Ending::Next);
                return Ok(info);
            }
            "done" => {
                info.ending = Some(Ending::Done);
                return Ok(info);
            }
            _ => {}
        }
        if d.next < pos + DESCRIPTOR_LEN || d.next > len {
            return Err(Error::corrupt(
                path,
                pos,
                format!(
                    "\"{kind}\" section: next section offset {:#x} is {} (segment is {len:#x} bytes)",
                    d.next,
                    if d.next > len {
                        "past the end of the file: truncated segment?"
                    } else {
                        "not after this section"
                    }
                ),
            ));
        }
        let span = d.next - pos;
        if d.size != span && d.size != 0 {
            info.anomalies.push(format!(
                "{}: \"{kind}\" section at {pos:#x}: size {} disagrees with the next offset {:#x}; \
                 followed the next offset",
                path.display(),
                d.size,
                d.next
            ));
        }
        let body_at = pos + DESCRIPTOR_LEN;
        let body_len = span - DESCRIPTOR_LEN;
        match kind.as_str() {
            "header2" | "header" => {
                if body_len > MAX_HEADER_SECTION_BYTES {
                    info.anomalies.push(format!(
                        "{}: {kind} section at {pos:#x} is {body_len} bytes: too large, skipped",
                        path.display()
                    ));
                } else {
                    let body = read_body(src, path, body_at, body_len)?;
                    match decompress_text(&body) {
                        Ok(text) => {
                            let vals = parse_main(&decode_text(&text));
                            let slot = if kind == "header2" {
                                &mut info.header2
                            } else {
                                &mut info.header
                            };
                            if slot.is_none() {
                                *slot = Some(vals);
                            }
                        }
                        Err(r) => info.anomalies.push(format!(
                            "{}: {kind} section at {pos:#x}: {r}",
                            path.display()
                        )),
                    }
                }
            }
            "volume" | "disk" | "data" => {
                if body_len < VOLUME_BODY_LEN as u64 {
                    info.anomalies.push(format!(
                        "{}: {kind} section at {pos:#x} has {body_len} bytes, expected {VOLUME_BODY_LEN}",
                        path.display()
                    ));
                } else {
                    let body = read_body(src, path, body_at, VOLUME_BODY_LEN as u64)?;
                    match Volume::parse(&body) {
                        Ok(v) if info.volume.is_none() => info.volume = Some((v, pos)),
                        Ok(_) => {}
                        Err(r) => info.anomalies.push(format!(
                            "{}: {kind} section at {pos:#x}: {r}",
                            path.display()
                        )),
                    }
                }
            }
            "sectors" => {
                sectors_end = Some(d.next);
                last_table = None;
            }
            "table" | "table2" => {
                let mirror_of = if kind == "table2" {
                    last_table.take()
                } else {
                    None
                };
                if mirror_of.is_some_and(|(_, ok)| ok) {
                    // The table was good: its table2 copy adds nothing.
                } else {
                    let end = sectors_end.unwrap_or(d.next);
                    match read_table(src, path, body_at, body_len, end)? {
                        Ok((mut t, ok)) => {
                            if !ok {
                                info.anomalies.push(format!(
                                    "{}: {kind} section at {pos:#x}: entries checksum mismatch{}",
                                    path.display(),
                                    if kind == "table" {
                                        "; trying table2"
                                    } else {
                                        "; using the entries anyway (each chunk is still checked)"
                                    }
                                ));
                            }
                            match mirror_of {
                                Some((idx, _)) if ok => {
                                    // A good table2 replaces the damaged table.
                                    let old = &mut info.tables[idx];
                                    chunks_so_far -= old.entries.len() as u64;
                                    t.first_chunk = old.first_chunk;
                                    chunks_so_far += t.entries.len() as u64;
                                    *old = t;
                                }
                                Some(_) => {}
                                None => {
                                    t.first_chunk = chunks_so_far;
                                    chunks_so_far += t.entries.len() as u64;
                                    info.tables.push(t);
                                    if kind == "table" {
                                        last_table = Some((info.tables.len() - 1, ok));
                                    }
                                }
                            }
                        }
                        Err(r) => info.anomalies.push(format!(
                            "{}: {kind} section at {pos:#x}: {r}",
                            path.display()
                        )),
                    }
                }
            }
            "error2" => {
                let n = body_len.min(MAX_ERROR2_BYTES);
                let body = read_body(src, path, body_at, n)?;
                match parse_error2(&body) {
                    Ok(r) => info.error2.extend(r),
                    Err(r) => info.anomalies.push(format!(
                        "{}: error2 section at {pos:#x}: {r}",
                        path.display()
                    )),
                }
            }
            "digest" => {
                let body = read_body(src, path, body_at, body_len.min(80))?;
                match parse_digest(&body) {
                    Ok((m, s)) => {
                        if m != [0; 16] {
                            info.digest_md5 = Some(m);
                        }
                        if s != [0; 20] {
                            info.digest_sha1 = Some(s);
                        }
                    }
                    Err(r) => info.anomalies.push(format!(
                        "{}: digest section at {pos:#x}: {r}",
                        path.display()
                    )),
                }
            }
            "hash" => {
                let body = read_body(src, path, body_at, body_len.min(36))?;
                match parse_hash(&body) {
                    Ok(m) if m != [0; 16] => info.hash_md5 = Some(m),
                    Ok(_) => {}
                    Err(r) => info
                        .anomalies
                        .push(format!("{}: hash section at {pos:#x}: {r}", path.display())),
                }
            }
            _ => {}
        }
        pos = d.next;
    }
    Err(Error::corrupt(
        path,
        pos,
        format!("more than {MAX_SECTIONS_PER_SEGMENT} sections in one segment"),
    ))
}

/// Reads a table section: header, then `count` entries and their checksum.
/// The outer `Result` is an I/O failure; the inner one a damaged header.
fn read_table(
    src: &SharedSource,
    path: &Path,
    body_at: u64,
    body_len: u64,
    data_end: u64,
) -> Result<std::result::Result<(Table, bool), String>> {
    if body_len < TABLE_HEADER_LEN {
        return Ok(Err(format!(
            "{body_len} bytes, too short for a table header"
        )));
    }
    let head = read_body(src, path, body_at, TABLE_HEADER_LEN)?;
    let th = match parse_table_header(&head) {
        Ok(t) => t,
        Err(r) => return Ok(Err(r)),
    };
    if th.count > MAX_ENTRIES_PER_TABLE {
        return Ok(Err(format!(
            "table claims {} entries, more than the {MAX_ENTRIES_PER_TABLE} accepted",
            th.count
        )));
    }
    let room = (body_len - TABLE_HEADER_LEN) / 4;
    if u64::from(th.count) > room {
        return Ok(Err(format!(
            "table claims {} entries but the section holds at most {room}",
            th.count
        )));
    }
    let n = u64::from(th.count);
    let with_sum = (n * 4 + 4).min(body_len - TABLE_HEADER_LEN);
    let body = read_body(src, path, body_at + TABLE_HEADER_LEN, with_sum)?;
    let (entries, ok) = parse_table_entries(&body, th.count as usize);
    Ok(Ok((
        Table {
            segment: 0,
            base: th.base,
            first_chunk: 0,
            entries,
            data_end,
        },
        ok,
    )))
}
