//! Throughput of the hashing pipeline (`cargo bench -p platter-hash --bench hash`).
//!
//! - `multihasher/*`: [`MultiHasher`] over 64 MiB already in memory, fed in
//!   shared 1 MiB blocks: MD5 alone, SHA-256 alone, and MD5 + SHA-1 + SHA-256
//!   each on its own thread. The last should run at about MD5's pace.
//! - `one_thread/*`: the same work on the calling thread with [`hash_bytes`],
//!   one algorithm after the other: what the threads are measured against.
//! - `copy_hashed/*`: the whole pipeline from a `MemSource` (a memcpy per
//!   block into recycled buffers) to `io::sink`, with MD5 + SHA-256 (what
//!   `platter parts extract` prints) and with all three.
//!
//! See docs/benchmarks.md for figures measured on the project machines.

use std::hint::black_box;
use std::io;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use platter_core::MemSource;
use platter_hash::{Block, CopyOptions, HashAlg, MultiHasher, copy_hashed, hash_bytes};

const SIZE: usize = 64 << 20;
const BLOCK: usize = 1 << 20;

fn data() -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn multihasher(c: &mut Criterion) {
    let data = data();
    let blocks: Vec<Block> = data.chunks(BLOCK).map(Block::from).collect();
    let mut group = c.benchmark_group("multihasher");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    let cases: [(&str, &[HashAlg]); 4] = [
        ("md5", &[HashAlg::Md5]),
        ("sha1", &[HashAlg::Sha1]),
        ("sha256", &[HashAlg::Sha256]),
        ("md5+sha1+sha256", &HashAlg::ALL),
    ];
    for (name, algs) in cases {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut h = MultiHasher::new(algs);
                for block in &blocks {
                    h.update(block.clone());
                }
                black_box(h.finish())
            })
        });
    }
    group.finish();
}

fn baseline(c: &mut Criterion) {
    let data = data();
    let mut group = c.benchmark_group("one_thread");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    let cases: [(&str, &[HashAlg]); 2] = [
        ("md5", &[HashAlg::Md5]),
        ("md5+sha256", &[HashAlg::Md5, HashAlg::Sha256]),
    ];
    for (name, algs) in cases {
        group.bench_function(name, |b| b.iter(|| black_box(hash_bytes(algs, &data))));
    }
    group.finish();
}

fn copy(c: &mut Criterion) {
    let src = MemSource::new("bench", data());
    let mut group = c.benchmark_group("copy_hashed");
    group.throughput(Throughput::Bytes(SIZE as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    let cases: [(&str, &[HashAlg]); 3] = [
        ("none", &[]),
        ("md5+sha256", &[HashAlg::Md5, HashAlg::Sha256]),
        ("md5+sha1+sha256", &HashAlg::ALL),
    ];
    for (name, algs) in cases {
        let opts = CopyOptions {
            block_size: BLOCK,
            fill: 0,
            algs: algs.to_vec(),
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut sink = io::sink();
                black_box(copy_hashed(&src, Some(&mut sink), &opts, &|_| {}).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, baseline, multihasher, copy);
criterion_main!(benches);
