//! On-disk layouts of EWF-E01 (EnCase 6 style) segment files: the file
//! header, section descriptors and the fixed-size section bodies.
//!
//! Source: libyal libewf, "Expert Witness Compression Format (EWF)"
//! (documentation/Expert Witness Compression Format (EWF).asciidoc), sections
//! "File header", "Section descriptor", "Table section", "Error2 section",
//! "Digest section", "Hash section"; the volume layout is the EnCase 5+ one
//! summarised in REFERENCE.md and checked against files `ewfacquire` writes.
//! All integers are little-endian.

/// The 8-byte signature at offset 0 of every EWF-E01 segment.
pub const EVF_MAGIC: [u8; 8] = *b"EVF\x09\x0d\x0a\xff\x00";
/// Length of the segment file header: magic, 0x01, u16 segment number, u16 0.
pub const FILE_HEADER_LEN: u64 = 13;
/// Length of a section descriptor.
pub const DESCRIPTOR_LEN: u64 = 76;
/// Length of the volume (and data) section body.
pub const VOLUME_BODY_LEN: usize = 1052;
/// Length of a table header (entry count, base offset, checksum).
pub const TABLE_HEADER_LEN: u64 = 24;
/// Entries per table kept by the writer, for readers that cannot take more
/// (the ASR specification's limit).
pub const MAX_TABLE_ENTRIES: u32 = 16375;
/// Flag bit of a table entry meaning "this chunk is zlib-compressed"; the
/// remaining 31 bits are the offset from the table's base offset.
pub const COMPRESSED_FLAG: u32 = 0x8000_0000;
/// Largest offset a table entry can hold (31 bits).
pub const MAX_ENTRY_OFFSET: u64 = 0x7fff_ffff;
/// Length of the error2 header.
pub const ERROR2_HEADER_LEN: usize = 520;
/// Length of the digest section body.
pub const DIGEST_BODY_LEN: usize = 80;
/// Length of the hash section body.
pub const HASH_BODY_LEN: usize = 36;

/// Adler-32 as EWF uses it everywhere (zlib's, seed 1).
pub fn adler32(data: &[u8]) -> u32 {
    adler2::adler32_slice(data)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The 13-byte segment file header for segment `number` (1-based).
pub fn file_header(number: u16) -> [u8; 13] {
    let mut h = [0u8; 13];
    h[..8].copy_from_slice(&EVF_MAGIC);
    h[8] = 1;
    h[9..11].copy_from_slice(&number.to_le_bytes());
    h
}

/// Parses a segment file header, returning its segment number, or `None`
/// when the signature is not EWF-E01's.
pub fn parse_file_header(h: &[u8]) -> Option<u16> {
    if h.len() < FILE_HEADER_LEN as usize || h[..8] != EVF_MAGIC {
        return None;
    }
    Some(u16::from_le_bytes([h[9], h[10]]))
}

/// A section descriptor: the 76 bytes opening every section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    kind: [u8; 16],
    /// Absolute offset of the next section in this segment (the section's
    /// own offset for "next" and "done").
    pub next: u64,
    /// Size of the section including this descriptor (0 for "next"/"done").
    pub size: u64,
}

impl Descriptor {
    /// A descriptor of type `kind` (at most 16 ASCII bytes).
    pub fn new(kind: &str, next: u64, size: u64) -> Self {
        let mut k = [0u8; 16];
        let n = kind.len().min(16);
        k[..n].copy_from_slice(&kind.as_bytes()[..n]);
        Self {
            kind: k,
            next,
            size,
        }
    }

    /// The section type ("header2", "volume", "table", …), NULs stripped.
    pub fn kind(&self) -> &str {
        let end = self.kind.iter().position(|&b| b == 0).unwrap_or(16);
        std::str::from_utf8(&self.kind[..end]).unwrap_or("?")
    }

    /// The 76 on-disk bytes, with the checksum.
    pub fn encode(&self) -> [u8; 76] {
        let mut d = [0u8; 76];
        d[..16].copy_from_slice(&self.kind);
        d[16..24].copy_from_slice(&self.next.to_le_bytes());
        d[24..32].copy_from_slice(&self.size.to_le_bytes());
        let sum = adler32(&d[..72]);
        d[72..].copy_from_slice(&sum.to_le_bytes());
        d
    }

    /// Parses 76 bytes, checking the Adler-32 of the first 72.
    pub fn parse(d: &[u8]) -> Result<Self, String> {
        if d.len() < DESCRIPTOR_LEN as usize {
            return Err(format!(
                "section descriptor cut short: {} of 76 bytes",
                d.len()
            ));
        }
        let stored = le_u32(d, 72);
        let computed = adler32(&d[..72]);
        if stored != computed {
            return Err(format!(
                "section descriptor checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ));
        }
        let mut kind = [0u8; 16];
        kind.copy_from_slice(&d[..16]);
        Ok(Self {
            kind,
            next: le_u64(d, 16),
            size: le_u64(d, 24),
        })
    }
}

/// Compression level as the volume section records it.
pub const LEVEL_NONE: u8 = 0;
/// "good (fast)" compression.
pub const LEVEL_FAST: u8 = 1;
/// "best" compression.
pub const LEVEL_BEST: u8 = 2;

/// The media description of the volume (first segment) and data (later
/// segments) sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volume {
    /// Media type: 0 removable, 1 fixed, 3 optical, 0x0e memory.
    pub media_type: u8,
    /// Number of chunks in the image.
    pub chunk_count: u32,
    /// Sectors per chunk (64 by default).
    pub sectors_per_chunk: u32,
    /// Bytes per sector (512 by default).
    pub bytes_per_sector: u32,
    /// Number of sectors in the image.
    pub sector_count: u64,
    /// Media flags: 0x01 image file, 0x02 physical device.
    pub media_flags: u8,
    /// Compression level: [`LEVEL_NONE`], [`LEVEL_FAST`] or [`LEVEL_BEST`].
    pub compression_level: u8,
    /// Error granularity in sectors.
    pub error_granularity: u32,
    /// Identifier of the segment set.
    pub guid: [u8; 16],
}

impl Volume {
    /// The 1052-byte body with its checksum.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; VOLUME_BODY_LEN];
        b[0] = self.media_type;
        b[4..8].copy_from_slice(&self.chunk_count.to_le_bytes());
        b[8..12].copy_from_slice(&self.sectors_per_chunk.to_le_bytes());
        b[12..16].copy_from_slice(&self.bytes_per_sector.to_le_bytes());
        b[16..24].copy_from_slice(&self.sector_count.to_le_bytes());
        b[36] = self.media_flags;
        b[52] = self.compression_level;
        b[56..60].copy_from_slice(&self.error_granularity.to_le_bytes());
        b[64..80].copy_from_slice(&self.guid);
        let sum = adler32(&b[..1048]);
        b[1048..].copy_from_slice(&sum.to_le_bytes());
        b
    }

    /// Parses a volume body. Only the fields are read; their plausibility
    /// is checked by the reader, which knows the file and offset.
    pub fn parse(b: &[u8]) -> Result<Self, String> {
        if b.len() < VOLUME_BODY_LEN {
            return Err(format!(
                "volume section body is {} bytes, expected {VOLUME_BODY_LEN}",
                b.len()
            ));
        }
        let stored = le_u32(b, 1048);
        let computed = adler32(&b[..1048]);
        if stored != computed {
            return Err(format!(
                "volume checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ));
        }
        let mut guid = [0u8; 16];
        guid.copy_from_slice(&b[64..80]);
        Ok(Self {
            media_type: b[0],
            chunk_count: le_u32(b, 4),
            sectors_per_chunk: le_u32(b, 8),
            bytes_per_sector: le_u32(b, 12),
            sector_count: le_u64(b, 16),
            media_flags: b[36],
            compression_level: b[52],
            error_granularity: le_u32(b, 56),
            guid,
        })
    }
}

/// The 24-byte table header: entry count and base offset.
pub fn encode_table_header(count: u32, base: u64) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[..4].copy_from_slice(&count.to_le_bytes());
    h[8..16].copy_from_slice(&base.to_le_bytes());
    let sum = adler32(&h[..20]);
    h[20..].copy_from_slice(&sum.to_le_bytes());
    h
}

/// A parsed table header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableHeader {
    /// Number of entries that follow.
    pub count: u32,
    /// Offset the entries are relative to (0 before EnCase 6.7).
    pub base: u64,
}

/// Parses a table header, checking its Adler-32.
pub fn parse_table_header(h: &[u8]) -> Result<TableHeader, String> {
    if h.len() < TABLE_HEADER_LEN as usize {
        return Err("table header cut short".into());
    }
    let stored = le_u32(h, 20);
    let computed = adler32(&h[..20]);
    if stored != computed {
        return Err(format!(
            "table header checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
        ));
    }
    Ok(TableHeader {
        count: le_u32(h, 0),
        base: le_u64(h, 8),
    })
}

/// Decodes table entries (`4 * n` bytes followed by their Adler-32).
/// Returns the raw entries and whether the checksum matched.
pub fn parse_table_entries(b: &[u8], count: usize) -> (Vec<u32>, bool) {
    let n = count.min(b.len() / 4);
    let entries: Vec<u32> = (0..n).map(|i| le_u32(b, i * 4)).collect();
    let ok = n == count && b.len() >= n * 4 + 4 && le_u32(b, n * 4) == adler32(&b[..n * 4]);
    (entries, ok)
}

/// The body of an error2 section for `(first_sector, sector_count)` ranges.
pub fn encode_error2(ranges: &[(u32, u32)]) -> Vec<u8> {
    let mut b = vec![0u8; ERROR2_HEADER_LEN];
    b[..4].copy_from_slice(&(ranges.len() as u32).to_le_bytes());
    let sum = adler32(&b[..516]);
    b[516..520].copy_from_slice(&sum.to_le_bytes());
    let start = b.len();
    for &(first, count) in ranges {
        b.extend_from_slice(&first.to_le_bytes());
        b.extend_from_slice(&count.to_le_bytes());
    }
    let sum = adler32(&b[start..]);
    b.extend_from_slice(&sum.to_le_bytes());
    b
}

/// Parses an error2 body into `(first_sector, sector_count)` ranges; the
/// entry count is bounded by the bytes present.
pub fn parse_error2(b: &[u8]) -> Result<Vec<(u32, u32)>, String> {
    if b.len() < ERROR2_HEADER_LEN {
        return Err("error2 header cut short".into());
    }
    if le_u32(b, 516) != adler32(&b[..516]) {
        return Err("error2 header checksum mismatch".into());
    }
    let count = le_u32(b, 0) as usize;
    let avail = (b.len() - ERROR2_HEADER_LEN) / 8;
    if count > avail {
        return Err(format!(
            "error2 claims {count} entries but the section holds at most {avail}"
        ));
    }
    let body = &b[ERROR2_HEADER_LEN..];
    let ranges = (0..count)
        .map(|i| (le_u32(body, i * 8), le_u32(body, i * 8 + 4)))
        .collect();
    if body.len() >= count * 8 + 4 && le_u32(body, count * 8) != adler32(&body[..count * 8]) {
        return Err("error2 entries checksum mismatch".into());
    }
    Ok(ranges)
}

/// The digest section body: MD5, SHA-1, padding, checksum.
pub fn encode_digest(md5: &[u8; 16], sha1: &[u8; 20]) -> [u8; DIGEST_BODY_LEN] {
    let mut b = [0u8; DIGEST_BODY_LEN];
    b[..16].copy_from_slice(md5);
    b[16..36].copy_from_slice(sha1);
    let sum = adler32(&b[..76]);
    b[76..].copy_from_slice(&sum.to_le_bytes());
    b
}

/// Parses a digest body into (MD5, SHA-1).
pub fn parse_digest(b: &[u8]) -> Result<([u8; 16], [u8; 20]), String> {
    if b.len() < DIGEST_BODY_LEN {
        return Err("digest section cut short".into());
    }
    if le_u32(b, 76) != adler32(&b[..76]) {
        return Err("digest section checksum mismatch".into());
    }
    let mut md5 = [0u8; 16];
    let mut sha1 = [0u8; 20];
    md5.copy_from_slice(&b[..16]);
    sha1.copy_from_slice(&b[16..36]);
    Ok((md5, sha1))
}

/// The hash section body: MD5, 16 unknown bytes (zero), checksum.
pub fn encode_hash(md5: &[u8; 16]) -> [u8; HASH_BODY_LEN] {
    let mut b = [0u8; HASH_BODY_LEN];
    b[..16].copy_from_slice(md5);
    let sum = adler32(&b[..32]);
    b[32..].copy_from_slice(&sum.to_le_bytes());
    b
}

/// Parses a hash body into its MD5.
pub fn parse_hash(b: &[u8]) -> Result<[u8; 16], String> {
    if b.len() < HASH_BODY_LEN {
        return Err("hash section cut short".into());
    }
    if le_u32(b, 32) != adler32(&b[..32]) {
        return Err("hash section checksum mismatch".into());
    }
    let mut md5 = [0u8; 16];
    md5.copy_from_slice(&b[..16]);
    Ok(md5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trip_and_checksum() {
        let d = Descriptor::new("table2", 0x1234, 228);
        let bytes = d.encode();
        assert_eq!(Descriptor::parse(&bytes).unwrap(), d);
        assert_eq!(d.kind(), "table2");
        let mut bad = bytes;
        bad[20] ^= 1;
        assert!(Descriptor::parse(&bad).unwrap_err().contains("checksum"));
    }

    #[test]
    fn volume_and_small_sections_round_trip() {
        let v = Volume {
            media_type: 1,
            chunk_count: 188,
            sectors_per_chunk: 64,
            bytes_per_sector: 512,
            sector_count: 12003,
            media_flags: 3,
            compression_level: LEVEL_FAST,
            error_granularity: 64,
            guid: [7; 16],
        };
        assert_eq!(Volume::parse(&v.encode()).unwrap(), v);
        let e = encode_error2(&[(10, 2), (100, 64)]);
        assert_eq!(parse_error2(&e).unwrap(), vec![(10, 2), (100, 64)]);
        let mut lying = e.clone();
        lying[0] = 0xff;
        assert!(parse_error2(&lying).is_err());
        let (m, s) = parse_digest(&encode_digest(&[1; 16], &[2; 20])).unwrap();
        assert_eq!((m, s), ([1; 16], [2; 20]));
        assert_eq!(parse_hash(&encode_hash(&[3; 16])).unwrap(), [3; 16]);
        let h = encode_table_header(5, 0x73f);
        assert_eq!(
            parse_table_header(&h).unwrap(),
            TableHeader {
                count: 5,
                base: 0x73f
            }
        );
    }
}
