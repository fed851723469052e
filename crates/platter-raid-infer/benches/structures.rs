//! Throughput of the structure scanners
//! (`cargo bench -p platter-raid-infer --bench structures`).
//!
//! The input is one 64 MiB member buffer of mixed content, built once:
//!
//! - a 24 MiB ext4 file system made by `mkfs.ext4 -d` from 3000 small
//!   files (metadata_csum, so its inodes are anchors for `scan_all`);
//! - a 16 MiB NTFS file system made by `mkntfs` (MFT records, boot sector);
//! - the committed `fixtures/gpt-ext4-fat.img` (GPT, ext4 and FAT);
//! - pseudo-random bytes up to 64 MiB (nothing to skip, no magic).
//!
//! It is cut into 256 KiB windows, as the sampler reads them, and
//! scanned as member 0:
//!
//! - `structures/scan`: [`structures::scan`] over every window (the
//!   per-sector magic and checksum scan);
//! - `structures/scan_all`: [`structures::scan_all`] over all windows
//!   (the same scan plus FAT, ext4 inode and directory anchors of the file
//!   systems found).
//!
//! Before timing, both are run once and must find the structures the
//! content holds, so the bench never measures a scan that finds nothing.
//! Needs `mkfs.ext4` (e2fsprogs) and `mkntfs` (ntfs-3g) on PATH.

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use platter_raid_infer::structures::{self, Anchor, AnchorKind};

/// Size of the scanned buffer.
const TOTAL: usize = 64 << 20;
/// Window size, as the sampler reads (`SampleOptions::window_bytes`).
const WINDOW: usize = 256 << 10;

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pseudo-random bytes (xorshift).
fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A sparse file of `mib` MiB.
fn blank(path: &Path, mib: u64) {
    std::fs::File::create(path)
        .unwrap()
        .set_len(mib << 20)
        .unwrap();
}

/// An ext4 image holding 3000 small files in a few directories.
fn ext4(dir: &Path) -> Vec<u8> {
    let content = dir.join("content");
    for sub in ["a", "b/c", "d"] {
        std::fs::create_dir_all(content.join(sub)).unwrap();
    }
    for i in 0..3000usize {
        let sub = ["a", "b", "b/c", "d", ""][i % 5];
        let body = format!("file {i} ").repeat(1 + i % 700);
        std::fs::write(content.join(sub).join(format!("f{i:04}")), body).unwrap();
    }
    let img = dir.join("ext4.img");
    blank(&img, 24);
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-b", "4096", "-d"])
        .arg(&content)
        .arg(&img));
    std::fs::read(img).unwrap()
}

/// An empty NTFS image.
fn ntfs(dir: &Path) -> Vec<u8> {
    let img = dir.join("ntfs.img");
    blank(&img, 16);
    run(Command::new("mkntfs").args(["-q", "-F", "-Q"]).arg(&img));
    std::fs::read(img).unwrap()
}

/// The 64 MiB mixed buffer described in the module docs.
fn mixed() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let mut data = ext4(dir.path());
    data.extend(ntfs(dir.path()));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/gpt-ext4-fat.img");
    data.extend(std::fs::read(fixture).unwrap());
    assert!(data.len() < TOTAL);
    data.extend(random(TOTAL - data.len(), 0x2545_f491_4f6c_dd1d));
    data
}

fn windows(data: &[u8]) -> Vec<(usize, u64, &[u8])> {
    data.chunks(WINDOW)
        .enumerate()
        .map(|(i, w)| (0, (i * WINDOW) as u64, w))
        .collect()
}

fn scan_windows(bufs: &[(usize, u64, &[u8])], out: &mut Vec<Anchor>) {
    for &(m, off, buf) in bufs {
        structures::scan(m, off, buf, out);
    }
}

fn count(anchors: &[Anchor], kind: AnchorKind) -> usize {
    anchors.iter().filter(|a| a.kind == kind).count()
}

fn bench(c: &mut Criterion) {
    let data = mixed();
    let bufs = windows(&data);

    let mut plain = Vec::new();
    scan_windows(&bufs, &mut plain);
    for kind in [
        AnchorKind::ExtSuperblock,
        AnchorKind::NtfsBoot,
        AnchorKind::NtfsMftRecord,
        AnchorKind::GptHeader,
    ] {
        assert!(count(&plain, kind) > 0, "scan found no {kind:?}");
    }
    let mut all = Vec::new();
    structures::scan_all(&bufs, &mut all);
    assert!(count(&all, AnchorKind::ExtInode) >= 3000, "scan_all inodes");

    let mut g = c.benchmark_group("structures");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    let mut out = Vec::with_capacity(all.len());
    g.bench_function("scan", |b| {
        b.iter(|| {
            out.clear();
            scan_windows(black_box(&bufs), &mut out);
            black_box(out.len())
        })
    });
    g.bench_function("scan_all", |b| {
        b.iter(|| {
            out.clear();
            structures::scan_all(black_box(&bufs), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
