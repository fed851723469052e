//! Helpers shared by the VHD and VHDX integration tests: a source disk with
//! a partition table, random and zero ranges; qemu-img as the oracle.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use platter_core::{ExtentKind, Source};

/// Deterministic pseudo-random bytes (xorshift64*).
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes a raw disk of `size` bytes to `dir/name`: an MBR partition table
/// made by sfdisk (two partitions), random data in some ranges (some not
/// aligned to blocks or sectors) and zeros elsewhere.
pub fn source_disk(dir: &Path, name: &str, size: usize, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let mut bytes = vec![0u8; size];
    let mib = 1 << 20;
    let ranges = [
        (mib, 3 * mib + 4096),
        (5 * mib + 512, 5 * mib + 512 * 7),
        (size / 2 - 300_000, size / 2 + 1_700_001),
        (size - 3 * mib, size - 2 * mib - 4096),
        (size - 1024, size),
    ];
    for (i, &(a, b)) in ranges.iter().enumerate() {
        let r = random_bytes(seed + i as u64, b - a);
        bytes[a..b].copy_from_slice(&r);
    }
    std::fs::write(&path, &bytes).unwrap();
    let script = format!(
        "label: dos\nstart=2048, size={}, type=83\nstart={}, type=7\n",
        (size / 2) / 512 - 2048,
        (size / 2) / 512
    );
    let mut child = Command::new("sfdisk")
        .arg("--no-reread")
        .arg("-q")
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sfdisk is installed (package fdisk)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed");
    path
}

/// Runs qemu-img with `args`, panicking with its stderr on failure.
pub fn qemu_img(args: &[&str]) {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .expect("qemu-img is installed (package qemu-utils)");
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes `image` in `format` (qemu-img's name: `vpc`, `vhdx`) with the
/// creation options `opts` from the raw disk `src`, with qemu-img.
pub fn qemu_from_raw(src: &Path, format: &str, opts: &str, image: &Path) {
    qemu_img(&[
        "convert",
        "-f",
        "raw",
        "-O",
        format,
        "-o",
        opts,
        src.to_str().unwrap(),
        image.to_str().unwrap(),
    ]);
}

/// Converts `image` (of `format`) to raw with qemu-img and returns the bytes.
pub fn qemu_raw(image: &Path, format: &str) -> Vec<u8> {
    let out = image.with_extension("qemu.raw");
    qemu_img(&[
        "convert",
        "-f",
        format,
        "-O",
        "raw",
        image.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    bytes
}

/// Reads a whole source in odd-sized pieces (to cross block boundaries).
pub fn read_all(src: &dyn Source) -> Vec<u8> {
    let mut out = vec![0u8; src.len() as usize];
    let mut pos = 0usize;
    let step = 777_777usize;
    while pos < out.len() {
        let end = (pos + step).min(out.len());
        src.read_exact_at(&mut out[pos..end], pos as u64).unwrap();
        pos = end;
    }
    out
}

/// Asserts that two buffers are equal, naming the first difference.
pub fn assert_same(ours: &[u8], theirs: &[u8], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths differ");
    if let Some(i) = ours.iter().zip(theirs).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {i:#x}");
    }
}

/// Bytes of `src` reported with `kind`.
pub fn bytes_of_kind(src: &dyn Source, kind: ExtentKind) -> u64 {
    src.extents(0, src.len())
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.len)
        .sum()
}

/// Guest ranges of `src` reported unreadable.
pub fn unreadable_ranges(src: &dyn Source) -> Vec<(u64, u64)> {
    src.extents(0, src.len())
        .unwrap()
        .iter()
        .filter(|e| e.kind == ExtentKind::Unreadable)
        .map(|e| (e.offset, e.len))
        .collect()
}
pub mod generator;
