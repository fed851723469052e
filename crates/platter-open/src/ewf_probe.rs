//! The E01 decoder plugged into the registry: replaces the "e01"
//! recogniser, opens the whole segment set with [`platter_ewf::EwfImage`]
//! and fills [`ImageMetadata`] with the case metadata, the stored MD5 and
//! SHA-1, the error2 ranges, the segments and the damaged chunks.

use std::path::Path;
use std::sync::Arc;

use platter_core::{SharedSource, Source};
use platter_ewf::{EwfImage, segment_path};

use crate::error::{Error, Result};
use crate::metadata::{ImageMetadata, StoredDigest};
use crate::probe::{Confidence, Format, FormatProbe, ProbeContext};
use crate::registry::Opened;

/// The E01 format as reported to the user.
pub const E01_FORMAT: Format = Format {
    name: "e01",
    description: "EnCase / Expert Witness image (EWF, E01)",
};

/// Images whose segments total at most this many bytes have every chunk
/// checked when opened, so `info` can list damaged chunks; larger ones
/// report them when they are read (`platter verify`).
pub const CHECK_CHUNKS_MAX_BYTES: u64 = 256 << 20;
/// Most error2 ranges and bad chunks listed one by one.
const MAX_LISTED: usize = 1000;

const EWF_MAGIC: &[u8] = b"EVF\x09\x0d\x0a\xff\x00";

/// Decodes EWF-E01 segment sets.
#[derive(Debug, Clone, Copy, Default)]
pub struct EwfProbe;

fn segment_number(ctx: &ProbeContext) -> Option<u16> {
    let h = ctx.head();
    (h.len() >= 13 && h.starts_with(EWF_MAGIC) && h[8] == 1)
        .then(|| u16::from_le_bytes([h[9], h[10]]))
}

fn decode_error(path: &Path, e: platter_ewf::Error) -> Error {
    Error::Decode {
        path: path.to_path_buf(),
        format: E01_FORMAT.name,
        source: Box::new(e),
    }
}

impl FormatProbe for EwfProbe {
    fn name(&self) -> &'static str {
        E01_FORMAT.name
    }

    fn probe(&self, ctx: &ProbeContext) -> Option<Confidence> {
        // The magic alone is enough to claim the file: a damaged E01 must
        // fail to open with the reason, not pass for raw bytes.
        if !ctx.starts_with(EWF_MAGIC) {
            return None;
        }
        match segment_number(ctx) {
            Some(1) => Some(Confidence::Certain),
            _ => Some(Confidence::Likely),
        }
    }

    fn open(&self, ctx: &ProbeContext) -> Result<Opened> {
        let path = ctx.path();
        let number = segment_number(ctx).filter(|&n| n > 1).unwrap_or(1);
        let mut notes = Vec::new();
        let img = if number == 1 {
            EwfImage::open_with(path, ctx.base().clone(), ctx.options())
                .map_err(|e| decode_error(path, e))?
        } else {
            // A later segment: open the set from its first segment.
            let first = segment_path(path, 1)
                .filter(|p| p.exists())
                .ok_or_else(|| {
                    decode_error(
                        path,
                        platter_ewf::Error::MissingSegment {
                            path: segment_path(path, 1).unwrap_or_default(),
                            number: 1,
                        },
                    )
                })?;
            notes.push(format!(
                "{} is segment {number} of an E01 set: opened the set from {}",
                path.display(),
                first.display()
            ));
            EwfImage::open(&first).map_err(|e| decode_error(&first, e))?
        };
        let stored: u64 = img.segments().iter().map(|s| s.len).sum();
        let bad = if stored <= CHECK_CHUNKS_MAX_BYTES {
            notes.push(format!(
                "all {} chunks checked when opened",
                img.chunk_count()
            ));
            img.check_chunks()
        } else {
            notes.push(format!(
                "chunks are checked as they are read ({} chunks in {stored} stored bytes): \
                 run `platter verify` to check them all",
                img.chunk_count()
            ));
            Vec::new()
        };
        let metadata = metadata(&img, &bad);
        notes.insert(
            0,
            format!("decoded E01 set of {} segment(s)", img.segments().len()),
        );
        let segments = img.segments().iter().map(|s| s.path.clone()).collect();
        let source: SharedSource = Arc::new(img);
        let mut opened = ctx.opened(source, E01_FORMAT);
        opened.segments = segments;
        opened.notes = notes;
        opened.metadata = metadata;
        Ok(opened)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The metadata `platter info` shows and `platter verify` checks.
fn metadata(img: &EwfImage, bad: &[platter_ewf::BadChunk]) -> ImageMetadata {
    let mut props: Vec<(String, String)> = img.labelled_header_values();
    let v = img.volume();
    props.push((
        "media".into(),
        format!(
            "{} sectors of {} bytes ({} bytes)",
            v.sector_count,
            v.bytes_per_sector,
            img.len()
        ),
    ));
    props.push((
        "chunks".into(),
        format!(
            "{} of {} sectors ({} bytes)",
            img.chunk_count(),
            v.sectors_per_chunk,
            img.chunk_len()
        ),
    ));
    let level = match v.compression_level {
        0 => "none".to_string(),
        1 => "fast".to_string(),
        2 => "best".to_string(),
        n => format!("unknown ({n})"),
    };
    props.push(("compression".into(), level));
    props.push(("set identifier".into(), hex(&v.guid)));
    let names: Vec<String> = img
        .segments()
        .iter()
        .map(|s| s.path.display().to_string())
        .collect();
    props.push(("segment files".into(), names.join(", ")));
    let errors = img.error_ranges();
    let sectors: u64 = errors.iter().map(|r| r.1).sum();
    props.push((
        "read errors".into(),
        if errors.is_empty() {
            "none recorded at acquisition (error2)".to_string()
        } else {
            format!(
                "{} range(s), {sectors} sector(s) recorded at acquisition (error2)",
                errors.len()
            )
        },
    ));
    let bps = u64::from(v.bytes_per_sector);
    for &(first, count) in errors.iter().take(MAX_LISTED) {
        props.push((
            "read error".into(),
            format!(
                "sectors {first}..{} ({count} sectors, bytes {:#x}+{:#x})",
                first.saturating_add(count),
                first.saturating_mul(bps),
                count.saturating_mul(bps)
            ),
        ));
    }
    let mut stored_digests = Vec::new();
    if let Some(m) = img.stored_md5() {
        stored_digests.push(StoredDigest {
            algorithm: "md5".into(),
            hex: hex(&m),
        });
    }
    if let Some(s) = img.stored_sha1() {
        stored_digests.push(StoredDigest {
            algorithm: "sha1".into(),
            hex: hex(&s),
        });
    }
    let mut anomalies: Vec<String> = img.anomalies().to_vec();
    for b in bad.iter().take(MAX_LISTED) {
        anomalies.push(format!(
            "{} at offset {:#x}: chunk {} (image bytes {:#x}+{:#x}) is unreadable: {}",
            b.segment.display(),
            b.segment_offset,
            b.index,
            b.image_offset,
            b.len,
            b.reason
        ));
    }
    if bad.len() > MAX_LISTED {
        anomalies.push(format!(
            "… and {} more unreadable chunks",
            bad.len() - MAX_LISTED
        ));
    }
    ImageMetadata {
        properties: props,
        stored_digests,
        anomalies,
    }
}

#[cfg(test)]
mod tests {
    use platter_core::CaseInfo;
    use platter_core::sys::OpenOptions;
    use platter_ewf::{Compression, EwfWriter, WriteOptions};

    use super::*;

    fn write(dir: &Path, media: &[u8], segment_size: u64) -> Vec<std::path::PathBuf> {
        let opts = WriteOptions {
            media_size: media.len() as u64,
            compression: Compression::None,
            segment_size,
            case: CaseInfo {
                case_number: Some("C-1".into()),
                examiner: Some("Ann".into()),
                ..Default::default()
            },
            threads: 1,
            ..Default::default()
        };
        let mut w = EwfWriter::create(&dir.join("p.E01"), &opts).unwrap();
        w.write(media).unwrap();
        w.add_read_error(64, 2);
        w.finish([0xab; 16], [0xcd; 20]).unwrap().segments
    }

    #[test]
    fn opens_the_set_with_metadata_from_any_segment() {
        let dir = tempfile::tempdir().unwrap();
        let media: Vec<u8> = (0..3u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let segs = write(dir.path(), &media, 1 << 20);
        assert!(segs.len() >= 3);
        for start in [&segs[0], &segs[1]] {
            let o = crate::open(start, &OpenOptions::default()).unwrap();
            assert_eq!(o.format, E01_FORMAT);
            assert_eq!(o.segments, segs, "every segment guards outputs");
            assert_eq!(o.source.len(), media.len() as u64);
            let mut b = vec![0u8; 4096];
            o.source.read_exact_at(&mut b, 2 << 20).unwrap();
            assert!(b == media[2 << 20..(2 << 20) + 4096]);
            let m = &o.metadata;
            assert_eq!(m.stored_digests[0].algorithm, "md5");
            assert_eq!(m.stored_digests[0].hex, "ab".repeat(16));
            assert_eq!(m.stored_digests[1].hex, "cd".repeat(20));
            let prop = |k: &str| m.properties.iter().find(|p| p.0 == k).map(|p| p.1.clone());
            assert_eq!(prop("case number").as_deref(), Some("C-1"));
            assert_eq!(prop("examiner").as_deref(), Some("Ann"));
            assert!(prop("read error").unwrap().starts_with("sectors 64..66"));
            assert!(m.anomalies.is_empty(), "{:?}", m.anomalies);
            assert!(o.check_output_path(&segs[2]).is_err());
        }
    }

    #[test]
    fn damaged_chunk_is_an_anomaly_naming_segment_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let media = vec![0x5au8; 256 << 10];
        let segs = write(dir.path(), &media, 1 << 30);
        let mut b = std::fs::read(&segs[0]).unwrap();
        // The last raw chunk sits just before the table: damage its data.
        let table = b.windows(8).position(|w| w == b"table\0\0\0").unwrap();
        b[table - 100] ^= 1;
        std::fs::write(&segs[0], &b).unwrap();
        let o = crate::open(&segs[0], &OpenOptions::default()).unwrap();
        assert_eq!(o.metadata.anomalies.len(), 1, "{:?}", o.metadata.anomalies);
        let a = &o.metadata.anomalies[0];
        assert!(
            a.contains("p.E01 at offset 0x") && a.contains("chunk 7"),
            "{a}"
        );
        let ext = o.source.extents(0, o.source.len()).unwrap();
        assert_eq!(
            ext.last().unwrap().kind,
            platter_core::ExtentKind::Unreadable
        );
    }
}
