//! Comparing an opened disk with the model the generator computed.

use platter_core::{ExtentKind, Source};

/// Merges `(start, end)` ranges (sorted or not) into sorted disjoint ones.
pub fn merge(mut r: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    r.retain(|(s, e)| s < e);
    r.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (s, e) in r {
        match out.last_mut() {
            Some(l) if s <= l.1 => l.1 = l.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The `[start, end)` ranges `src.extents()` calls unreadable.
pub fn unreadable(src: &dyn Source) -> Vec<(u64, u64)> {
    merge(
        src.extents(0, src.len())
            .unwrap()
            .iter()
            .filter(|e| e.kind == ExtentKind::Unreadable)
            .map(|e| (e.offset, e.end()))
            .collect(),
    )
}

/// The ranges `src.extents()` calls zero, intersected with `[a, b)`.
pub fn zero_within(src: &dyn Source, a: u64, b: u64) -> Vec<(u64, u64)> {
    merge(
        src.extents(a, b - a)
            .unwrap()
            .iter()
            .filter(|e| e.kind == ExtentKind::Zero)
            .map(|e| (e.offset.max(a), e.end().min(b)))
            .collect(),
    )
}

/// Asserts every byte of `src` equals `expected` (which has its length),
/// reading in chunks of a few MiB.
pub fn assert_reads_as(src: &dyn Source, expected: &[u8]) {
    assert_eq!(src.len(), expected.len() as u64, "virtual size");
    assert!(unreadable(src).is_empty(), "unexpected unreadable ranges");
    let chunk = 4 << 20;
    let mut buf = vec![0u8; chunk];
    let mut pos = 0usize;
    while pos < expected.len() {
        let n = (expected.len() - pos).min(chunk);
        src.read_exact_at(&mut buf[..n], pos as u64).unwrap();
        if buf[..n] != expected[pos..pos + n] {
            let i = buf[..n]
                .iter()
                .zip(&expected[pos..pos + n])
                .position(|(a, b)| a != b)
                .unwrap();
            panic!("content differs at offset {:#x}", pos + i);
        }
        pos += n;
    }
}

/// Asserts a raw file (`qemu-img convert` output) equals `expected`.
pub fn assert_file_is(path: &std::path::Path, expected: &[u8]) {
    let got = std::fs::read(path).unwrap();
    assert_eq!(got.len(), expected.len(), "size of {}", path.display());
    if got != expected {
        let i = got.iter().zip(expected).position(|(a, b)| a != b).unwrap();
        panic!("{} differs from the model at {i:#x}", path.display());
    }
}

/// For a damaged image: the unreadable ranges are exactly `lost`, every
/// read touching one fails, and every other byte equals `expected`.
pub fn assert_loses_exactly(src: &dyn Source, expected: &[u8], lost: &[(u64, u64)]) {
    assert_eq!(unreadable(src), lost, "unreadable ranges");
    for &(s, e) in lost {
        let mut b = vec![0u8; (e - s).min(4096) as usize];
        assert!(
            src.read_exact_at(&mut b, s).is_err(),
            "read at {s:#x} succeeded"
        );
        // A read that only starts before the lost range fails too.
        if s >= 512 {
            let mut b = vec![0u8; 1024];
            assert!(src.read_exact_at(&mut b, s - 512).is_err());
        }
    }
    let mut pos = 0u64;
    let mut good = Vec::new();
    for &(s, e) in lost {
        good.push((pos, s));
        pos = e;
    }
    good.push((pos, expected.len() as u64));
    for (s, e) in good.into_iter().filter(|(s, e)| s < e) {
        let mut b = vec![0u8; (e - s) as usize];
        src.read_exact_at(&mut b, s).unwrap();
        if b[..] != expected[s as usize..e as usize] {
            let i = b
                .iter()
                .zip(&expected[s as usize..e as usize])
                .position(|(x, y)| x != y)
                .unwrap();
            panic!("readable byte differs at {:#x}", s + i as u64);
        }
    }
}
