//! libewf's own tools judge what we write, and what they write we read.

mod common;

use common::{case, digests, hex, mixed_media, run, text, write_e01};
use platter_core::Source;
use platter_ewf::{Compression, EwfImage};

const LEVELS: [(Compression, &str); 3] = [
    (Compression::None, "none"),
    (Compression::Fast, "fast"),
    (Compression::Best, "best"),
];

fn read_all(img: &EwfImage) -> Vec<u8> {
    let mut buf = vec![0u8; img.len() as usize];
    img.read_exact_at(&mut buf, 0).unwrap();
    buf
}

#[test]
fn ewfverify_accepts_single_segment_images_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    // Not a whole number of chunks: the last chunk is short.
    let media = mixed_media(3 * 1024 * 1024 + 5 * 512, 7);
    let (md5, sha1) = digests(&media);
    for (level, name) in LEVELS {
        let path = dir.path().join(format!("single-{name}.E01"));
        let s = write_e01(&path, &media, level, 1 << 30, &[]);
        assert_eq!(s.segments.len(), 1);
        let out = run("ewfverify", &["-q", "-d", "sha1", path.to_str().unwrap()]);
        let t = text(&out);
        assert!(out.status.success(), "ewfverify ({name}) failed:\n{t}");
        assert!(t.contains(&hex(&md5)), "{t}");
        assert!(t.contains(&hex(&sha1)), "{t}");
        match level {
            Compression::None => assert_eq!(s.compressed_chunks, 0),
            _ => assert!(s.compressed_chunks > 0 && s.compressed_chunks < s.chunks),
        }
    }
}

#[test]
fn multi_segment_image_with_error2_verifies_exports_and_shows_case() {
    let dir = tempfile::tempdir().unwrap();
    let media = mixed_media(6 * 1024 * 1024, 11);
    let path = dir.path().join("multi.E01");
    let errors = [(100u64, 8u64), (5000, 64), (5064, 3)];
    let s = write_e01(&path, &media, Compression::Fast, 1 << 20, &errors);
    assert!(s.segments.len() >= 3, "{:?}", s.segments);
    assert_eq!(s.error2_entries, 2, "adjacent ranges merge");
    for seg in &s.segments {
        assert!(
            std::fs::metadata(seg).unwrap().len() <= 1 << 20,
            "{seg:?} over the limit"
        );
    }

    let out = run("ewfverify", &["-q", path.to_str().unwrap()]);
    assert!(out.status.success(), "ewfverify failed:\n{}", text(&out));

    let info = text(&run("ewfinfo", &[path.to_str().unwrap()]));
    let c = case();
    for v in [
        c.case_number,
        c.evidence_number,
        c.examiner,
        c.description,
        c.notes,
    ] {
        let v = v.unwrap();
        assert!(info.contains(&v), "ewfinfo lacks {v:?}:\n{info}");
    }
    assert!(info.contains("Number of sectors:\t12288"), "{info}");
    assert!(
        info.contains("5000") && info.contains("5066"),
        "error2 range missing:\n{info}"
    );

    let target = dir.path().join("export");
    let out = run(
        "ewfexport",
        &[
            "-u",
            "-q",
            "-f",
            "raw",
            "-t",
            target.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "ewfexport failed:\n{}", text(&out));
    let exported = std::fs::read(dir.path().join("export.raw")).unwrap();
    assert!(
        exported == media,
        "ewfexport output differs from the source"
    );

    // And our own reader agrees.
    let img = EwfImage::open(&path).unwrap();
    assert_eq!(img.segments().len(), s.segments.len());
    assert!(read_all(&img) == media);
    assert_eq!(img.error_ranges(), &[(100, 8), (5000, 67)]);
    assert_eq!(img.case_info(), case());
}

#[test]
fn more_chunks_than_one_table_holds_split_into_several_tables() {
    let dir = tempfile::tempdir().unwrap();
    // 16375 + 1000 chunks of mostly zeros, each marked so misplacement shows.
    let chunks = 16_375 + 1000;
    let mut media = vec![0u8; chunks * 32768];
    for (i, c) in media.chunks_mut(32768).enumerate() {
        c[..8].copy_from_slice(&(i as u64).to_le_bytes());
    }
    let path = dir.path().join("tables.E01");
    let s = write_e01(&path, &media, Compression::Fast, 1 << 30, &[]);
    assert_eq!(s.segments.len(), 1);
    let raw = std::fs::read(&path).unwrap();
    let tables = raw.windows(8).filter(|w| w == b"table\0\0\0").count();
    assert_eq!(
        tables, 2,
        "one segment, two table sections (plus table2 copies)"
    );

    let out = run("ewfverify", &["-q", path.to_str().unwrap()]);
    assert!(out.status.success(), "ewfverify failed:\n{}", text(&out));
    let img = EwfImage::open(&path).unwrap();
    for i in [0usize, 16_374, 16_375, chunks - 1] {
        let mut b = [0u8; 8];
        img.read_exact_at(&mut b, (i * 32768) as u64).unwrap();
        assert_eq!(u64::from_le_bytes(b), i as u64, "chunk {i}");
    }
}

#[test]
fn reads_ewfacquire_images_byte_exact_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let media = mixed_media(4 * 1024 * 1024 + 512 * 9, 23);
    let src = dir.path().join("source.raw");
    std::fs::write(&src, &media).unwrap();
    let (md5, sha1) = digests(&media);
    for (_, name) in LEVELS {
        let target = dir.path().join(format!("acq-{name}"));
        let out = run(
            "ewfacquire",
            &[
                "-u",
                "-q",
                "-c",
                name,
                "-S",
                "1048576",
                "-d",
                "sha1",
                "-C",
                "case-7",
                "-e",
                "examiner-9",
                "-t",
                target.to_str().unwrap(),
                src.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "ewfacquire failed:\n{}", text(&out));
        let first = dir.path().join(format!("acq-{name}.E01"));
        let img = EwfImage::open(&first).unwrap();
        assert!(img.segments().len() >= 2, "{name}: {:?}", img.segments());
        assert_eq!(img.len(), media.len() as u64);
        assert!(read_all(&img) == media, "{name}: bytes differ");
        // Unaligned reads across chunk and segment boundaries.
        for off in [1u64, 32767, 1_048_000, 3_000_001] {
            let mut b = vec![0u8; 70_001];
            img.read_exact_at(&mut b, off).unwrap();
            assert!(b == media[off as usize..off as usize + 70_001]);
        }
        assert_eq!(img.stored_md5(), Some(md5), "{name}");
        assert_eq!(img.stored_sha1(), Some(sha1), "{name}");
        assert_eq!(img.case_info().case_number.as_deref(), Some("case-7"));
        assert_eq!(img.case_info().examiner.as_deref(), Some("examiner-9"));
        assert!(img.anomalies().is_empty(), "{:?}", img.anomalies());
    }
}

#[test]
fn four_kib_sectors_and_empty_media_verify() {
    let dir = tempfile::tempdir().unwrap();
    let media = mixed_media(3 << 20, 31);
    let (md5, sha1) = digests(&media);
    let path = dir.path().join("4k.E01");
    let opts = platter_ewf::WriteOptions {
        sector_size: 4096,
        media_size: media.len() as u64,
        segment_size: 1 << 20,
        compression: Compression::Best,
        ..Default::default()
    };
    let mut w = platter_ewf::EwfWriter::create(&path, &opts).unwrap();
    w.write(&media).unwrap();
    w.add_read_error(3, 2);
    let s = w.finish(md5, sha1).unwrap();
    assert!(s.segments.len() >= 2);
    let out = run("ewfverify", &["-q", path.to_str().unwrap()]);
    assert!(out.status.success(), "ewfverify failed:\n{}", text(&out));
    let info = text(&run("ewfinfo", &[path.to_str().unwrap()]));
    assert!(info.contains("Bytes per sector:\t4096"), "{info}");
    let img = EwfImage::open(&path).unwrap();
    assert_eq!(img.chunk_len(), 64 * 4096);
    assert!(read_all(&img) == media);

    let empty = dir.path().join("empty.E01");
    let w = platter_ewf::EwfWriter::create(&empty, &Default::default()).unwrap();
    let (md5, sha1) = digests(&[]);
    w.finish(md5, sha1).unwrap();
    let out = run("ewfverify", &["-q", empty.to_str().unwrap()]);
    assert!(out.status.success(), "ewfverify failed:\n{}", text(&out));
    assert_eq!(EwfImage::open(&empty).unwrap().len(), 0);
}
