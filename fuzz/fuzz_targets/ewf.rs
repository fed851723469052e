//! Fuzzes the E01 reader: section chain, volume, tables, error2, digest
//! and chunk decoding. The input is split into two segment files at an
//! offset taken from its first two bytes. When the third byte is odd, the
//! Adler-32s along each segment's section chain (descriptors, volume, table
//! headers and entries) are recomputed first, so mutations reach the
//! parsers behind the checksums.
//!
//! Invariants checked beyond "no panic": an opened image never claims more
//! chunks than its tables could hold in the input (4 bytes per entry), a
//! read never returns more than asked, and extents cover exactly the range
//! asked.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use platter_core::{MemSource, SharedSource, Source};
use platter_ewf::EwfImage;
use platter_ewf::format::{Descriptor, adler32};

fn put_sum(b: &mut [u8], data: std::ops::Range<usize>) {
    if data.end + 4 <= b.len() {
        let sum = adler32(&b[data.clone()]);
        b[data.end..data.end + 4].copy_from_slice(&sum.to_le_bytes());
    }
}

/// Recomputes the checksums along the section chain of one segment.
fn fix_checksums(b: &mut [u8]) {
    let mut pos = 13usize;
    for _ in 0..10_000 {
        if pos.checked_add(76).is_none_or(|e| e > b.len()) {
            return;
        }
        put_sum(b, pos..pos + 72);
        let Ok(d) = Descriptor::parse(&b[pos..pos + 76]) else {
            return;
        };
        let body = pos + 76;
        match d.kind() {
            "volume" | "data" => put_sum(b, body..body + 1048),
            "table" | "table2" if body + 24 <= b.len() => {
                put_sum(b, body..body + 20);
                let n = u32::from_le_bytes(b[body..body + 4].try_into().unwrap()) as usize;
                put_sum(b, body + 24..body + 24 + n.min(b.len() / 4) * 4);
            }
            _ => {}
        }
        let next = usize::try_from(d.next).unwrap_or(usize::MAX);
        if next < pos + 76 || next > b.len() {
            return;
        }
        pos = next;
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split = (usize::from(u16::from_le_bytes([data[0], data[1]])) * 16).min(data.len() - 2);
    let fix = data.get(2).is_some_and(|b| b & 1 == 1);
    let body = data.get(3..).unwrap_or(&[]);
    let split = split.min(body.len());
    let (a, b) = if split == 0 {
        (body, &[][..])
    } else {
        body.split_at(split)
    };
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    if fix {
        fix_checksums(&mut a);
        fix_checksums(&mut b);
    }
    let (a, b) = (&a[..], &b[..]);
    let seg = |name: &str, bytes: &[u8]| -> (PathBuf, SharedSource) {
        (
            PathBuf::from(name),
            Arc::new(MemSource::new(name, bytes.to_vec())),
        )
    };
    let mut segments = vec![seg("fuzz.E01", a)];
    if !b.is_empty() {
        segments.push(seg("fuzz.E02", b));
    }
    let Ok(img) = EwfImage::from_sources(segments) else {
        return;
    };
    assert!(
        img.chunk_count() <= data.len() as u64 / 4 + 1,
        "{} chunks from {} input bytes",
        img.chunk_count(),
        data.len()
    );
    assert!(img.len() <= img.chunk_count() * img.chunk_len());
    let len = img.len();
    let mut buf = vec![0u8; 4096];
    for off in [0, len / 2, len.saturating_sub(100)] {
        if let Ok(n) = img.read_at(&mut buf, off) {
            assert!(n <= buf.len());
        }
    }
    let ext = img.extents(0, len).unwrap();
    let covered: u64 = ext.iter().map(|e| e.len).sum();
    assert_eq!(covered, len);
});
