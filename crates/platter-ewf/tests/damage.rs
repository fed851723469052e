//! Damaged and hostile E01 files: clear errors naming the segment and
//! offset, or unreadable ranges for single chunks; never a panic.

mod common;

use std::path::{Path, PathBuf};

use common::{mixed_media, write_e01};
use platter_core::{ExtentKind, Source, read_filled};
use platter_ewf::format::{Descriptor, Volume, adler32, encode_table_header};
use platter_ewf::{Compression, Error, EwfImage, EwfWriter, WriteOptions};

/// (offset, descriptor) of every section of a segment file.
fn sections(bytes: &[u8]) -> Vec<(usize, Descriptor)> {
    let mut out = Vec::new();
    let mut pos = 13usize;
    loop {
        let d = Descriptor::parse(&bytes[pos..pos + 76]).unwrap();
        let next = d.next as usize;
        let terminal = matches!(d.kind(), "next" | "done");
        out.push((pos, d));
        if terminal {
            return out;
        }
        pos = next;
    }
}

fn image(dir: &Path, name: &str, media: &[u8], level: Compression, seg: u64) -> Vec<PathBuf> {
    write_e01(&dir.join(name), media, level, seg, &[]).segments
}

fn err_text(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

#[test]
fn truncated_segment_names_segment_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let segs = image(
        dir.path(),
        "t.E01",
        &mixed_media(5 << 20, 3),
        Compression::Fast,
        1 << 20,
    );
    assert!(segs.len() >= 3);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&segs[1])
        .unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len / 2).unwrap();
    let e = EwfImage::open(&segs[0]).unwrap_err();
    let t = err_text(&e);
    assert!(matches!(e, Error::Corrupt { .. }), "{t}");
    assert!(t.contains("t.E02") && t.contains("offset 0x"), "{t}");
    assert!(t.contains("truncated"), "{t}");
}

#[test]
fn missing_middle_segment_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let segs = image(
        dir.path(),
        "m.E01",
        &mixed_media(5 << 20, 4),
        Compression::None,
        1 << 20,
    );
    assert!(segs.len() >= 3);
    std::fs::remove_file(&segs[1]).unwrap();
    match EwfImage::open(&segs[0]) {
        Err(Error::MissingSegment { path, number }) => {
            assert_eq!(number, 2);
            assert_eq!(path, segs[1]);
        }
        other => panic!("expected MissingSegment, got {other:?}"),
    }
}

/// Rewrites entry `index` of the first table and table2 of a segment
/// (with valid checksums), as a hostile or buggy writer would.
fn rewrite_entry(path: &Path, index: usize, value: u32) {
    let mut b = std::fs::read(path).unwrap();
    for (pos, d) in sections(&b) {
        if d.kind() == "table" || d.kind() == "table2" {
            let body = pos + 76;
            let count = u32::from_le_bytes(b[body..body + 4].try_into().unwrap()) as usize;
            let e = body + 24 + 4 * index;
            b[e..e + 4].copy_from_slice(&value.to_le_bytes());
            let entries = body + 24..body + 24 + 4 * count;
            let sum = adler32(&b[entries.clone()]);
            b[entries.end..entries.end + 4].copy_from_slice(&sum.to_le_bytes());
            if d.kind() == "table2" {
                break;
            }
        }
    }
    std::fs::write(path, b).unwrap();
}

#[test]
fn table_offset_beyond_the_file_makes_only_that_chunk_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let media = mixed_media(2 << 20, 5);
    let segs = image(dir.path(), "o.E01", &media, Compression::None, 1 << 30);
    rewrite_entry(&segs[0], 3, 0x7fff_0000);
    let img = EwfImage::open(&segs[0]).unwrap();
    let mut buf = vec![0u8; 32768];
    // Chunk 3 points past the end; chunk 2's size runs up to it.
    for chunk in [2u64, 3] {
        let e = img.read_exact_at(&mut buf, chunk * 32768).unwrap_err();
        let t = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(
            t.contains("o.E01") && t.contains(&format!("EWF chunk {chunk}")),
            "{t}"
        );
    }
    for chunk in [0u64, 1, 4, 63] {
        img.read_exact_at(&mut buf, chunk * 32768).unwrap();
        let at = chunk as usize * 32768;
        assert!(buf == media[at..at + 32768], "chunk {chunk}");
    }
    let ext = img.extents(0, img.len()).unwrap();
    let bad: Vec<_> = ext
        .iter()
        .filter(|e| e.kind == ExtentKind::Unreadable)
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!((bad[0].offset, bad[0].len), (2 * 32768, 2 * 32768));
}

#[test]
fn bad_adler32_of_a_raw_chunk_is_one_unreadable_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let media = mixed_media(1 << 20, 6);
    let segs = image(dir.path(), "a.E01", &media, Compression::None, 1 << 30);
    let mut b = std::fs::read(&segs[0]).unwrap();
    let sectors = sections(&b)
        .into_iter()
        .find(|(_, d)| d.kind() == "sectors")
        .unwrap()
        .0;
    // Raw chunks are 32768 + 4 bytes back to back: damage chunk 5.
    let at = sectors + 76 + 5 * 32772 + 100;
    b[at] ^= 0x55;
    std::fs::write(&segs[0], &b).unwrap();

    let img = EwfImage::open(&segs[0]).unwrap();
    let mut chunk = vec![0u8; 32768];
    let e = img.read_exact_at(&mut chunk, 5 * 32768).unwrap_err();
    let t = format!("{e}: {}", std::error::Error::source(&e).unwrap());
    assert!(
        t.contains("a.E01") && t.contains("Adler-32 mismatch"),
        "{t}"
    );
    assert!(
        t.contains(&format!("{:#x}", sectors + 76 + 5 * 32772)),
        "{t}"
    );
    // Neighbours still read.
    img.read_exact_at(&mut chunk, 4 * 32768).unwrap();
    assert!(chunk == media[4 * 32768..5 * 32768]);
    // The whole image reads with that chunk filled, nothing else.
    let mut all = vec![0u8; media.len()];
    let (_, bad) = read_filled(&img, &mut all, 0, 0xee, 512).unwrap();
    let total: u64 = bad.iter().map(|e| e.len).sum();
    assert_eq!((bad[0].offset, total), (5 * 32768, 32768));
    assert!(all[..5 * 32768] == media[..5 * 32768]);
    assert!(all[6 * 32768..] == media[6 * 32768..]);
    let checked = img.check_chunks();
    assert_eq!(checked.len(), 1);
    assert_eq!(checked[0].index, 5);
}

#[test]
fn damaged_zlib_stream_is_one_unreadable_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let media: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i % 251) as u8 ^ (i >> 15) as u8)
        .collect();
    let segs = image(dir.path(), "z.E01", &media, Compression::Best, 1 << 30);
    let mut b = std::fs::read(&segs[0]).unwrap();
    let secs = sections(&b);
    let table = secs.iter().find(|(_, d)| d.kind() == "table").unwrap().0 + 76;
    let base = u64::from_le_bytes(b[table + 8..table + 16].try_into().unwrap()) as usize;
    let entry = |i: usize| {
        u32::from_le_bytes(
            b[table + 24 + 4 * i..table + 28 + 4 * i]
                .try_into()
                .unwrap(),
        )
    };
    let (e7, e8) = (entry(7), entry(8));
    assert!(e7 & 0x8000_0000 != 0, "chunk 7 should be compressed");
    let mid = base + ((e7 & 0x7fff_ffff) + (e8 & 0x7fff_ffff)) as usize / 2;
    b[mid] ^= 0xff;
    b[mid + 1] ^= 0xff;
    std::fs::write(&segs[0], &b).unwrap();
    let img = EwfImage::open(&segs[0]).unwrap();
    let bad = img.check_chunks();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].index, 7);
    let mut buf = vec![0u8; 32768];
    img.read_exact_at(&mut buf, 8 * 32768).unwrap();
    assert!(buf == media[8 * 32768..9 * 32768]);
}

/// Rewrites the volume section of a first segment with `f` applied.
fn rewrite_volume(path: &Path, f: impl Fn(&mut Volume)) {
    let mut b = std::fs::read(path).unwrap();
    let pos = sections(&b)
        .into_iter()
        .find(|(_, d)| d.kind() == "volume")
        .unwrap()
        .0
        + 76;
    let mut v = Volume::parse(&b[pos..pos + 1052]).unwrap();
    f(&mut v);
    b[pos..pos + 1052].copy_from_slice(&v.encode());
    std::fs::write(path, b).unwrap();
}

#[test]
fn absurd_media_size_is_refused_with_the_volume_offset() {
    let dir = tempfile::tempdir().unwrap();
    let segs = image(
        dir.path(),
        "v.E01",
        &mixed_media(1 << 20, 8),
        Compression::Fast,
        1 << 30,
    );
    rewrite_volume(&segs[0], |v| v.sector_count = 1 << 50);
    let e = EwfImage::open(&segs[0]).unwrap_err();
    let t = err_text(&e);
    assert!(t.contains("v.E01") && t.contains("offset 0x"), "{t}");

    rewrite_volume(&segs[0], |v| {
        v.sector_count = 2048;
        v.chunk_count = u32::MAX;
    });
    let img = EwfImage::open(&segs[0]).unwrap();
    assert_eq!(img.chunk_count(), 32);
    assert!(img.anomalies()[0].contains("declares 4294967295 chunks"));

    rewrite_volume(&segs[0], |v| v.sectors_per_chunk = u32::MAX);
    assert!(matches!(
        EwfImage::open(&segs[0]),
        Err(Error::Corrupt { .. })
    ));
}

#[test]
fn hostile_table_counts_and_descriptors_are_errors_not_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let segs = image(
        dir.path(),
        "h.E01",
        &mixed_media(1 << 20, 9),
        Compression::Fast,
        1 << 30,
    );
    let orig = std::fs::read(&segs[0]).unwrap();
    // A table claiming 2^32-1 entries in both copies: the chunks go missing.
    let mut b = orig.clone();
    for (pos, d) in sections(&b) {
        if d.kind().starts_with("table") {
            let body = pos + 76;
            let base = u64::from_le_bytes(b[body + 8..body + 16].try_into().unwrap());
            b[body..body + 24].copy_from_slice(&encode_table_header(u32::MAX, base));
        }
    }
    std::fs::write(&segs[0], &b).unwrap();
    let t = err_text(&EwfImage::open(&segs[0]).unwrap_err());
    assert!(t.contains("h.E01") && t.contains("list 0 chunks"), "{t}");

    // A section descriptor with a bad checksum.
    let mut b = orig.clone();
    let (pos, _) = sections(&b)[3];
    b[pos + 20] ^= 1;
    std::fs::write(&segs[0], &b).unwrap();
    let t = err_text(&EwfImage::open(&segs[0]).unwrap_err());
    assert!(
        t.contains(&format!("offset {pos:#x}")) && t.contains("checksum"),
        "{t}"
    );

    // Not EWF at all.
    std::fs::write(&segs[0], vec![0x41u8; 4096]).unwrap();
    assert!(matches!(
        EwfImage::open(&segs[0]),
        Err(Error::NotEwf { .. })
    ));
}

#[test]
fn existing_segments_are_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.E01");
    let media = mixed_media(64 << 10, 1);
    image(dir.path(), "f.E01", &media, Compression::Fast, 1 << 30);
    let before = std::fs::read(&path).unwrap();
    let mut opts = WriteOptions {
        media_size: media.len() as u64,
        ..Default::default()
    };
    assert!(matches!(
        EwfWriter::create(&path, &opts),
        Err(Error::OutputExists { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // A stale later segment also blocks a new set.
    std::fs::write(dir.path().join("g.E02"), b"old").unwrap();
    assert!(matches!(
        EwfWriter::create(&dir.path().join("g.E01"), &opts),
        Err(Error::OutputExists { .. })
    ));
    opts.force = true;
    let mut w = EwfWriter::create(&path, &opts).unwrap();
    w.write(&media).unwrap();
    w.finish([0; 16], [0; 20]).unwrap();
    let img = EwfImage::open(&path).unwrap();
    let mut all = vec![0u8; media.len()];
    img.read_exact_at(&mut all, 0).unwrap();
    assert!(all == media);
}
