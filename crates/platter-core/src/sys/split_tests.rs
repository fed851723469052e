use std::fs;

use proptest::prelude::*;

use super::*;
use crate::source::Source;

fn touch(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, data).unwrap();
    p
}

fn names(segs: &[PathBuf]) -> Vec<String> {
    segs.iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn suffix_rendering() {
    assert_eq!(render_ext("001").as_deref(), Some("001"));
    assert_eq!(render_ext("0001").as_deref(), Some("0001"));
    assert_eq!(render_ext("az").as_deref(), Some("az"));
    assert_eq!(render_ext("ZZZ").as_deref(), Some("ZZZ"));
    assert_eq!(render_ext("aB"), None);
    assert_eq!(render_ext("01"), None);
    assert_eq!(render_ext("a"), None);
    let next = |e: &str| {
        Suffix::parse(e.as_bytes())
            .and_then(Suffix::next)
            .map(|s| String::from_utf8(s.render()).unwrap())
    };
    assert_eq!(next("009").as_deref(), Some("010"));
    assert_eq!(next("999").as_deref(), Some("1000"));
    assert_eq!(next("az").as_deref(), Some("ba"));
    assert_eq!(next("azz").as_deref(), Some("baa"));
    assert_eq!(next("AZ").as_deref(), Some("BA"));
    assert_eq!(next("zz"), None);
}

#[test]
fn numeric_set_in_order() {
    let d = tempfile::tempdir().unwrap();
    let first = touch(d.path(), "disk.001", b"a");
    for n in ["disk.002", "disk.003", "disk.004", "other.005", "disk.006"] {
        touch(d.path(), n, b"x");
    }
    let segs = split_segments(&first).unwrap().unwrap();
    assert_eq!(
        names(&segs),
        ["disk.001", "disk.002", "disk.003", "disk.004"]
    );
    assert_eq!(segs[0], first);
    assert!(segs.iter().all(|p| p.parent() == Some(d.path())));
}

#[test]
fn zero_based_and_wide_numbering() {
    let d = tempfile::tempdir().unwrap();
    let first = touch(d.path(), "a.000", b"");
    touch(d.path(), "a.001", b"");
    touch(d.path(), "a.002", b"");
    assert_eq!(
        names(&split_segments(&first).unwrap().unwrap()),
        ["a.000", "a.001", "a.002"]
    );
    // a.001 is not the first segment when a.000 exists.
    assert_eq!(split_segments(&d.path().join("a.001")).unwrap(), None);

    let first = touch(d.path(), "b.0001", b"");
    touch(d.path(), "b.0002", b"");
    touch(d.path(), "b.002", b""); // different width: not part of the set
    assert_eq!(
        names(&split_segments(&first).unwrap().unwrap()),
        ["b.0001", "b.0002"]
    );
}

#[test]
fn numbering_widens_past_999() {
    let d = tempfile::tempdir().unwrap();
    for n in 1..=1001 {
        touch(d.path(), &format!("w.{n:03}"), b"");
    }
    let segs = split_segments(&d.path().join("w.001")).unwrap().unwrap();
    assert_eq!(segs.len(), 1001);
    assert_eq!(names(&segs[998..]), ["w.999", "w.1000", "w.1001"]);
}

#[test]
fn alphabetic_sets() {
    let d = tempfile::tempdir().unwrap();
    let first = touch(d.path(), "img.aa", b"");
    for s in ["ab", "ac", "ae"] {
        touch(d.path(), &format!("img.{s}"), b"");
    }
    assert_eq!(
        names(&split_segments(&first).unwrap().unwrap()),
        ["img.aa", "img.ab", "img.ac"]
    );
    let first = touch(d.path(), "big.aaa", b"");
    touch(d.path(), "big.aab", b"");
    assert_eq!(
        names(&split_segments(&first).unwrap().unwrap()),
        ["big.aaa", "big.aab"]
    );
    let first = touch(d.path(), "UP.AA", b"");
    touch(d.path(), "UP.AB", b"");
    assert_eq!(
        names(&split_segments(&first).unwrap().unwrap()),
        ["UP.AA", "UP.AB"]
    );
    // Rolls over from az to ba.
    let d2 = tempfile::tempdir().unwrap();
    for i in 0..28u8 {
        let s = [b'a' + i / 26, b'a' + i % 26];
        touch(
            d2.path(),
            &format!("r.{}", std::str::from_utf8(&s).unwrap()),
            b"",
        );
    }
    let segs = split_segments(&d2.path().join("r.aa")).unwrap().unwrap();
    assert_eq!(names(&segs[25..]), ["r.az", "r.ba", "r.bb"]);
}

#[test]
fn not_split_sets() {
    let d = tempfile::tempdir().unwrap();
    // A gap after the first segment: only one segment, so not a set.
    let first = touch(d.path(), "gap.001", b"");
    touch(d.path(), "gap.003", b"");
    assert_eq!(split_segments(&first).unwrap(), None);
    // A non-first segment.
    touch(d.path(), "x.001", b"");
    let second = touch(d.path(), "x.002", b"");
    touch(d.path(), "x.003", b"");
    assert_eq!(split_segments(&second).unwrap(), None);
    let ab = touch(d.path(), "y.ab", b"");
    touch(d.path(), "y.aa", b"");
    assert_eq!(split_segments(&ab).unwrap(), None);
    // Names that are not split suffixes.
    for n in ["plain.img", "noext", ".001", "a.01", "photo.jpg", "a.1.b"] {
        let p = touch(d.path(), n, b"");
        assert_eq!(split_segments(&p).unwrap(), None, "{n}");
    }
    // A missing path names itself.
    let missing = d.path().join("missing.001");
    assert!(matches!(
        split_segments(&missing),
        Err(Error::Open { path, .. }) if path == missing
    ));
}

#[test]
fn open_split_requires_segments_and_names_missing_one() {
    assert!(matches!(
        open_split(&[], &OpenOptions::default()),
        Err(Error::Split { .. })
    ));
    let d = tempfile::tempdir().unwrap();
    let a = touch(d.path(), "m.001", b"abc");
    let gone = d.path().join("m.002");
    match open_split(&[a, gone.clone()], &OpenOptions::default()) {
        Err(Error::Open { path, .. }) => assert_eq!(path, gone),
        other => panic!("expected Open, got {other:?}"),
    }
}

/// Writes segments of the given sizes with the naming `ext(i)` and checks the
/// Concat reads back their concatenation.
fn check_concat(sizes: &[usize], ext: impl Fn(usize) -> String, mmap: bool) {
    let d = tempfile::tempdir().unwrap();
    let mut whole = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..n).map(|j| (j * 31 + i * 101 + j / 7) as u8).collect();
        touch(d.path(), &format!("set.{}", ext(i)), &data);
        whole.extend(data);
    }
    let first = d.path().join(format!("set.{}", ext(0)));
    let segs = split_segments(&first).unwrap().unwrap();
    assert_eq!(segs.len(), sizes.len());
    let opts = OpenOptions {
        direct: false,
        mmap,
    };
    let c = open_split(&segs, &opts).unwrap();
    assert_eq!(c.name(), first.display().to_string());
    assert_eq!(c.len(), whole.len() as u64);
    let mut got = vec![0u8; whole.len()];
    c.read_exact_at(&mut got, 0).unwrap();
    assert_eq!(got, whole);
    // Reads straddling each boundary.
    let mut pos = 0usize;
    for &n in sizes {
        pos += n;
        let lo = pos.saturating_sub(3);
        let hi = (pos + 3).min(whole.len());
        let mut buf = vec![0u8; hi - lo];
        c.read_exact_at(&mut buf, lo as u64).unwrap();
        assert_eq!(buf, &whole[lo..hi]);
    }
}

#[test]
fn concat_reads_equal_concatenation_fixed_cases() {
    check_concat(&[512, 1000, 1, 4096], |i| format!("{:03}", i + 1), false);
    check_concat(&[0, 7, 0, 9], |i| format!("{:03}", i + 1), true);
    check_concat(
        &[100, 200],
        |i| format!("a{}", (b'a' + i as u8) as char),
        false,
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn concat_reads_equal_concatenation(sizes in prop::collection::vec(0usize..5000, 2..=4)) {
        check_concat(&sizes, |i| format!("{:03}", i + 1), false);
    }
}
