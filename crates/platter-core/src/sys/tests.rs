//! Tests of `open_os` dispatch and `file_id`.

use std::path::PathBuf;

use super::*;
use crate::source::Source;

fn not_readable(res: Result<SharedSource>) -> (PathBuf, &'static str) {
    match res {
        Err(Error::NotReadable { path, kind }) => (path, kind),
        other => panic!("expected NotReadable, got {other:?}"),
    }
}

#[test]
fn regular_file_opens_as_file_or_mmap() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.img");
    fs::write(&p, b"0123456789").unwrap();
    for mmap in [false, true] {
        let opts = OpenOptions {
            direct: true, // ignored for files
            mmap,
        };
        let src = open_os(&p, &opts).unwrap();
        let dbg = format!("{src:?}");
        assert!(
            dbg.starts_with(if mmap { "MmapSource" } else { "FileSource" }),
            "{dbg}"
        );
        let mut buf = [0u8; 4];
        src.read_exact_at(&mut buf, 3).unwrap();
        assert_eq!(&buf, b"3456");
        assert_eq!(src.len(), 10);
    }
}

#[test]
fn symlink_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.img");
    fs::write(&p, b"abc").unwrap();
    let l = dir.path().join("link");
    std::os::unix::fs::symlink(&p, &l).unwrap();
    assert_eq!(open_os(&l, &OpenOptions::default()).unwrap().len(), 3);
}

#[test]
fn missing_path_is_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("missing.img");
    match open_os(&p, &OpenOptions::default()) {
        Err(Error::Open { path, source }) => {
            assert_eq!(path, p);
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("expected Open, got {other:?}"),
    }
}

#[test]
fn special_files_are_not_readable() {
    let dir = tempfile::tempdir().unwrap();
    let opts = OpenOptions::default();
    let (path, kind) = not_readable(open_os(dir.path(), &opts));
    assert_eq!((path.as_path(), kind), (dir.path(), "a directory"));
    let e = open_os(dir.path(), &opts).unwrap_err().to_string();
    assert!(e.contains(&dir.path().display().to_string()), "{e}");

    let sock = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    assert_eq!(
        not_readable(open_os(&sock, &opts)),
        (sock.clone(), "a socket")
    );

    // Opening a FIFO for reading would block forever: it must be refused first.
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        assert_eq!(
            not_readable(open_os(&fifo, &opts)),
            (fifo.clone(), "a FIFO")
        );
        assert!(matches!(
            FileSource::open(&fifo),
            Err(Error::NotReadable { kind: "a FIFO", .. })
        ));
    }

    let null = Path::new("/dev/null");
    assert_eq!(
        not_readable(open_os(null, &opts)),
        (null.to_path_buf(), "a character device")
    );
}

#[test]
fn regular_file_is_not_a_block_device() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.img");
    fs::write(&p, b"abc").unwrap();
    assert!(matches!(
        BlockDevice::open(&p, false),
        Err(Error::Io {
            what: "open as a block device",
            ..
        })
    ));
    assert!(device_info(&p).unwrap().is_none());
    assert!(matches!(
        device_info(&dir.path().join("missing")),
        Err(Error::Open { .. })
    ));
}

#[test]
fn file_id_identifies_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    fs::write(&a, b"a").unwrap();
    fs::write(&b, b"b").unwrap();
    let hard = dir.path().join("hard");
    fs::hard_link(&a, &hard).unwrap();
    let soft = dir.path().join("soft");
    std::os::unix::fs::symlink(&a, &soft).unwrap();
    let dotted = dir.path().join("sub/../a");
    fs::create_dir(dir.path().join("sub")).unwrap();

    let id_a = file_id(&a).unwrap().unwrap();
    assert_eq!(file_id(&hard).unwrap(), Some(id_a));
    assert_eq!(file_id(&soft).unwrap(), Some(id_a));
    assert_eq!(file_id(&dotted).unwrap(), Some(id_a));
    assert_ne!(file_id(&b).unwrap(), Some(id_a));
    assert_eq!(file_id(&dir.path().join("missing")).unwrap(), None);
}
