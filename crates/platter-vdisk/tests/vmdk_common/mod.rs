//! Helpers shared by the VMDK integration tests: building raw disks with a
//! partition table, running qemu-img/qemu-io, and comparing a source with
//! the raw image qemu-img produces.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use platter_core::{ExtentKind, FileSource, Source};

pub const MIB: u64 = 1 << 20;

/// Runs a command, panicking with its output when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deterministic pseudo-random bytes (xorshift64*).
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v.truncate(len);
    v
}

fn write_at(path: &Path, offset: u64, data: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(data, offset).unwrap();
}

/// A raw disk of `size` bytes: an MBR partition table made by sfdisk,
/// random ranges, explicit zero ranges, text and a range crossing `2 GiB`
/// when the disk is that large.
pub fn make_raw(dir: &Path, size: u64) -> PathBuf {
    let p = dir.join("source.raw");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(size).unwrap();
    drop(f);
    let mut sf = Command::new("sfdisk");
    sf.arg("--no-reread").arg("--no-tell-kernel").arg(&p);
    sf.stdin(std::process::Stdio::piped());
    sf.stdout(std::process::Stdio::null());
    let mut child = sf.spawn().expect("sfdisk");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"label: dos\nstart=2048, size=4096, type=83\nstart=6144, type=7\n")
            .unwrap();
    }
    assert!(child.wait().unwrap().success(), "sfdisk failed");
    write_at(&p, MIB, &random_bytes(1, (3 * MIB) as usize));
    write_at(&p, 4 * MIB, &vec![0u8; MIB as usize]);
    // Odd, unaligned ranges.
    write_at(&p, 5 * MIB + 12_345, &random_bytes(2, 200_000));
    let text: Vec<u8> = b"platter vmdk test line\n"
        .iter()
        .copied()
        .cycle()
        .take(MIB as usize)
        .collect();
    write_at(&p, 6 * MIB, &text);
    if size > 2200 * MIB {
        write_at(&p, 2048 * MIB - 100_000, &random_bytes(3, 300_000));
    }
    write_at(&p, size - MIB - 777, &random_bytes(4, MIB as usize));
    p
}

/// `qemu-img convert -O raw` of `image` into `out`.
pub fn qemu_raw(image: &Path, out: &Path) {
    run(Command::new("qemu-img")
        .args(["convert", "-O", "raw"])
        .arg(image)
        .arg(out));
}

/// Sorted, merged `[start, end)` ranges where either map says Data.
fn data_ranges(a: &[platter_core::Extent], b: &[platter_core::Extent]) -> Vec<(u64, u64)> {
    let mut r: Vec<(u64, u64)> = a
        .iter()
        .chain(b)
        .filter(|e| e.kind != ExtentKind::Zero)
        .map(|e| (e.offset, e.end()))
        .collect();
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

/// Asserts `ours` reads exactly like the raw file `oracle`. Ranges both
/// call zero (holes in the oracle, zero extents of ours) are skipped; every
/// other byte is compared, in reads of a few MiB.
pub fn assert_same(ours: &dyn Source, oracle: &Path) {
    let o = FileSource::open(oracle).unwrap();
    assert_eq!(ours.len(), o.len(), "virtual size");
    let mine = ours.extents(0, ours.len()).unwrap();
    assert!(
        mine.iter().all(|e| e.kind != ExtentKind::Unreadable),
        "unexpected unreadable ranges: {mine:?}"
    );
    let theirs = o.extents(0, o.len()).unwrap();
    let mut a = vec![0u8; (4 * MIB) as usize];
    let mut b = vec![0u8; (4 * MIB) as usize];
    for (s, e) in data_ranges(&mine, &theirs) {
        let mut pos = s;
        while pos < e {
            let n = (e - pos).min(4 * MIB) as usize;
            ours.read_exact_at(&mut a[..n], pos).unwrap();
            o.read_exact_at(&mut b[..n], pos).unwrap();
            if a[..n] != b[..n] {
                let i = a[..n]
                    .iter()
                    .zip(&b[..n])
                    .position(|(x, y)| x != y)
                    .unwrap();
                panic!("content differs at offset {:#x}", pos + i as u64);
            }
            pos += n as u64;
        }
    }
}

/// Reads a whole (small) source with `read_filled`, returning the bytes
/// and the unreadable ranges as `(offset, len)`.
pub fn read_all_filled(src: &dyn Source) -> (Vec<u8>, Vec<(u64, u64)>) {
    let mut buf = vec![0u8; src.len() as usize];
    let mut bad = Vec::new();
    let mut pos = 0u64;
    while pos < src.len() {
        let n = (src.len() - pos).min(4 * MIB) as usize;
        let (_, b) =
            platter_core::read_filled(src, &mut buf[pos as usize..pos as usize + n], pos, 0, 512)
                .unwrap();
        for e in b {
            match bad.last_mut() {
                Some((o, l)) if *o + *l == e.offset => *l += e.len,
                _ => bad.push((e.offset, e.len)),
            }
        }
        pos += n as u64;
    }
    (buf, bad)
}
