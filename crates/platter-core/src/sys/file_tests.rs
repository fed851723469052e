use std::fs;
use std::io::{Seek, SeekFrom, Write};

use super::*;
use crate::sys::MmapSource;

/// Deterministic, non-repeating-looking test bytes.
fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn file_with(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, data).unwrap();
    p
}

/// Checks the trait contract of any source holding `data`.
fn check_reads(src: &dyn Source, data: &[u8]) {
    assert_eq!(src.len(), data.len() as u64);
    let len = data.len();
    for (off, n) in [
        (0, len),
        (1, 4095),
        (513, 70_000),
        (len - 7, 7),
        (12_345, 1),
    ] {
        let mut buf = vec![0u8; n];
        src.read_exact_at(&mut buf, off as u64).unwrap();
        assert_eq!(buf, &data[off..off + n], "offset {off} len {n}");
    }
    // Crossing the end: short read.
    let mut buf = vec![0xAAu8; 100];
    assert_eq!(src.read_at(&mut buf, (len - 30) as u64).unwrap(), 30);
    assert_eq!(&buf[..30], &data[len - 30..]);
    assert!(
        buf[30..].iter().all(|&b| b == 0xAA),
        "bytes past the end untouched"
    );
    // At and past the end: nothing.
    assert_eq!(src.read_at(&mut buf, len as u64).unwrap(), 0);
    assert_eq!(src.read_at(&mut buf, u64::MAX).unwrap(), 0);
    // Exact read crossing the end: Truncated naming the source.
    match src.read_exact_at(&mut buf, (len - 30) as u64) {
        Err(Error::Truncated {
            name, wanted, got, ..
        }) => {
            assert_eq!(name, src.name());
            assert_eq!((wanted, got), (100, 30));
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
}

#[test]
fn file_reads_equal_file_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(300_001, 1);
    let p = file_with(dir.path(), "a.img", &data);
    let src = FileSource::open(&p).unwrap();
    assert_eq!(src.path(), p);
    assert_eq!(src.name(), p.display().to_string());
    check_reads(&src, &data);
    let map = MmapSource::open(&p).unwrap();
    check_reads(&map, &data);
}

#[test]
fn file_truncated_after_open_reads_short() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(8192, 2);
    let p = file_with(dir.path(), "t.img", &data);
    let src = FileSource::open(&p).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(5000)
        .unwrap();
    assert_eq!(src.len(), 8192, "length is fixed at open");
    let mut buf = vec![0u8; 4096];
    assert_eq!(src.read_at(&mut buf, 4096).unwrap(), 904);
    assert_eq!(&buf[..904], &data[4096..5000]);
    assert!(matches!(
        src.read_exact_at(&mut buf, 4096),
        Err(Error::Truncated { got: 904, .. })
    ));
}

#[test]
fn empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = file_with(dir.path(), "empty", b"");
    for src in [
        Box::new(FileSource::open(&p).unwrap()) as Box<dyn Source>,
        Box::new(MmapSource::open(&p).unwrap()),
    ] {
        assert_eq!(src.len(), 0);
        assert_eq!(src.read_at(&mut [0u8; 8], 0).unwrap(), 0);
        assert!(src.extents(0, 100).unwrap().is_empty());
    }
}

const MIB: u64 = 1 << 20;

/// 4 MiB file: hole, 64 KiB data at 1 MiB, hole, 4 KiB data at the end.
fn sparse_file(dir: &Path) -> (PathBuf, Vec<u8>) {
    let p = dir.join("sparse.img");
    let mut f = fs::File::create(&p).unwrap();
    f.set_len(4 * MIB).unwrap();
    let a = pattern(64 * 1024, 3);
    let b = pattern(4096, 4);
    f.seek(SeekFrom::Start(MIB)).unwrap();
    f.write_all(&a).unwrap();
    f.seek(SeekFrom::Start(4 * MIB - 4096)).unwrap();
    f.write_all(&b).unwrap();
    f.sync_all().unwrap();
    let mut whole = vec![0u8; 4 * MIB as usize];
    whole[MIB as usize..MIB as usize + a.len()].copy_from_slice(&a);
    whole[4 * MIB as usize - 4096..].copy_from_slice(&b);
    (p, whole)
}

fn ext(offset: u64, len: u64, kind: ExtentKind) -> Extent {
    Extent { offset, len, kind }
}

#[test]
fn sparse_file_reports_holes_as_zero() {
    use ExtentKind::{Data, Zero};
    let dir = tempfile::tempdir().unwrap();
    let (p, whole) = sparse_file(dir.path());
    let expected = vec![
        ext(0, MIB, Zero),
        ext(MIB, 64 * 1024, Data),
        ext(MIB + 64 * 1024, 3 * MIB - 64 * 1024 - 4096, Zero),
        ext(4 * MIB - 4096, 4096, Data),
    ];
    let file = FileSource::open(&p).unwrap();
    let map = MmapSource::open(&p).unwrap();
    for src in [&file as &dyn Source, &map] {
        assert_eq!(src.extents(0, u64::MAX).unwrap(), expected);
        // A sub-range is clipped, starting inside a hole and ending in data.
        assert_eq!(
            src.extents(MIB / 2, MIB / 2 + 100).unwrap(),
            vec![ext(MIB / 2, MIB / 2, Zero), ext(MIB, 100, Data)]
        );
        // Starting inside data.
        assert_eq!(
            src.extents(MIB + 10, 20).unwrap(),
            vec![ext(MIB + 10, 20, Data)]
        );
        // Beyond the end: nothing.
        assert!(src.extents(4 * MIB, 10).unwrap().is_empty());
        check_reads(src, &whole);
    }
}

#[test]
fn missing_file_is_open_error_naming_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope.img");
    for res in [
        FileSource::open(&p).map(|_| ()),
        MmapSource::open(&p).map(|_| ()),
    ] {
        match res {
            Err(e @ Error::Open { .. }) => {
                let Error::Open { path, source } = &e else {
                    unreachable!()
                };
                assert_eq!(path, &p);
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
                assert!(e.to_string().contains("nope.img"), "{e}");
            }
            other => panic!("expected Open, got {other:?}"),
        }
    }
}

#[test]
fn directory_is_not_readable() {
    let dir = tempfile::tempdir().unwrap();
    match FileSource::open(dir.path()) {
        Err(Error::NotReadable { path, kind }) => {
            assert_eq!(path, dir.path());
            assert_eq!(kind, "a directory");
        }
        other => panic!("expected NotReadable, got {other:?}"),
    }
}
