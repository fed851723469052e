//! Throughput of the RAID engine (`cargo bench -p platter-raid --bench raid`).
//!
//! Members live in memory ([`MemSource`], 64 MiB each), so these figures are
//! the CPU cost of mapping, copying and rebuilding, with no disk involved.
//! Every case reads the whole array front to back in 4 MiB reads through
//! [`RaidArray`] (a [`Source`]), as `platter raid assemble` does:
//!
//! - `members/cat4`: the baseline, the four members read straight (4 MiB
//!   reads from each in turn), i.e. what a `cat` of the members costs here;
//! - `raid5/intact`, `raid5/missing1`: 4 members, left-symmetric, 64 KiB
//!   chunks, all present or the third one missing (XOR rebuild);
//! - `raid6/intact`, `raid6/missing2`: 5 members, left-symmetric, 64 KiB,
//!   all present or two data-bearing members missing (P+Q / two-data rebuild
//!   in GF(2^8), depending on the row);
//! - `raid10/n2-intact`, `raid10/n2-missing1`: md RAID10 near=2, 4 members,
//!   all present or one missing (reads fall over to the mirror).
//!
//! Throughput is counted in *array* bytes delivered; for `members/cat4` it
//! is the member bytes read (256 MiB). The array sizes differ: 192 MiB for
//! RAID5 and RAID6, 128 MiB for RAID10 (see docs/benchmarks.md).
//!
//! Before timing, each degraded array is read once and checked against the
//! intact one, so the bench never measures a rebuild that is wrong.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use platter_core::{MemSource, SharedSource, Source};
use platter_raid::array::RaidArray;
use platter_raid::geometry::{Geometry, Layout, Level, ParityLayout, Raid10Layout};
use platter_raid::gf::raid6;

/// Bytes per member.
const MEMBER: usize = 64 << 20;
/// Chunk size of every array.
const CHUNK: u64 = 64 << 10;
/// Size of each read, as the CLI copies.
const READ: usize = 4 << 20;

/// Pseudo-random bytes (xorshift), so nothing compresses or repeats.
fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Members of a RAID5/6 geometry over `n` slots: random data chunks and
/// the parity the engine's own row layout asks for (P, and Q for RAID6).
fn parity_members(g: &Geometry, n: usize) -> Vec<Vec<u8>> {
    let mut members: Vec<Vec<u8>> = (0..n)
        .map(|i| random(MEMBER, 0x9e37_79b9_7f4a_7c15 ^ (i as u64) << 32))
        .collect();
    let mapping = g.mapping(&vec![Some(MEMBER as u64); n]).unwrap();
    let chunk = CHUNK as usize;
    for r in 0..mapping.row_count().unwrap() {
        let row = mapping.row(r).unwrap();
        let at = row.offset_in_member as usize;
        let data: Vec<Vec<u8>> = row
            .data_slots
            .iter()
            .map(|&s| members[s][at..at + chunk].to_vec())
            .collect();
        let data: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let mut p = vec![0u8; chunk];
        match row.q {
            Some(qs) => {
                let mut q = vec![0u8; chunk];
                raid6::gen_pq(&data, &row.q_exponents, &mut p, &mut q);
                members[qs][at..at + chunk].copy_from_slice(&q);
            }
            None => raid6::gen_p(&data, &mut p),
        }
        let ps = row.p.unwrap();
        members[ps][at..at + chunk].copy_from_slice(&p);
    }
    members
}

fn shared(members: &[Vec<u8>]) -> Vec<SharedSource> {
    members
        .iter()
        .enumerate()
        .map(|(i, m)| Arc::new(MemSource::new(format!("m{i}"), m.clone())) as SharedSource)
        .collect()
}

/// The array with the slots in `missing` left out.
fn array(g: &Geometry, members: &[SharedSource], missing: &[usize]) -> RaidArray {
    let list = members
        .iter()
        .enumerate()
        .map(|(i, m)| (!missing.contains(&i)).then(|| m.clone()))
        .collect();
    RaidArray::new(g.clone(), list).unwrap()
}

/// Reads all of `src` in `READ`-byte reads into `buf`; returns a checksum
/// so the work cannot be optimised away.
fn read_all(src: &dyn Source, buf: &mut [u8]) -> u64 {
    let len = src.len();
    let mut pos = 0u64;
    let mut sum = 0u64;
    while pos < len {
        let n = (len - pos).min(buf.len() as u64) as usize;
        src.read_exact_at(&mut buf[..n], pos).unwrap();
        sum = sum.wrapping_add(u64::from(buf[0]) ^ u64::from(buf[n - 1]));
        pos += n as u64;
    }
    sum
}

/// Checks that the degraded array reads exactly as the intact one.
fn assert_same(intact: &RaidArray, degraded: &RaidArray) {
    assert_eq!(intact.len(), degraded.len());
    let mut a = vec![0u8; READ];
    let mut b = vec![0u8; READ];
    let mut pos = 0u64;
    while pos < intact.len() {
        let n = (intact.len() - pos).min(READ as u64) as usize;
        intact.read_exact_at(&mut a[..n], pos).unwrap();
        degraded.read_exact_at(&mut b[..n], pos).unwrap();
        assert!(a[..n] == b[..n], "degraded read differs at {pos:#x}");
        pos += n as u64;
    }
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g
}

fn bench_array(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, a: &RaidArray) {
    g.throughput(Throughput::Bytes(a.len()));
    let mut buf = vec![0u8; READ];
    g.bench_function(name, |b| b.iter(|| black_box(read_all(a, &mut buf))));
}

fn members_cat(c: &mut Criterion) {
    let members = shared(&(0..4).map(|i| random(MEMBER, i + 1)).collect::<Vec<_>>());
    let mut g = group(c, "members");
    g.throughput(Throughput::Bytes(4 * MEMBER as u64));
    let mut buf = vec![0u8; READ];
    g.bench_function("cat4", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for m in &members {
                sum = sum.wrapping_add(read_all(m.as_ref(), &mut buf));
            }
            black_box(sum)
        })
    });
    g.finish();
}

fn raid5(c: &mut Criterion) {
    let geo = Geometry::new(
        Level::Raid5,
        Layout::Parity(ParityLayout::LeftSymmetric),
        CHUNK,
        4,
    );
    let members = shared(&parity_members(&geo, 4));
    let intact = array(&geo, &members, &[]);
    let degraded = array(&geo, &members, &[2]);
    assert_same(&intact, &degraded);
    let mut g = group(c, "raid5");
    bench_array(&mut g, "intact", &intact);
    bench_array(&mut g, "missing1", &degraded);
    g.finish();
}

fn raid6(c: &mut Criterion) {
    let geo = Geometry::new(
        Level::Raid6,
        Layout::Parity(ParityLayout::LeftSymmetric),
        CHUNK,
        5,
    );
    let members = shared(&parity_members(&geo, 5));
    let intact = array(&geo, &members, &[]);
    let degraded = array(&geo, &members, &[1, 3]);
    assert_same(&intact, &degraded);
    let mut g = group(c, "raid6");
    bench_array(&mut g, "intact", &intact);
    bench_array(&mut g, "missing2", &degraded);
    g.finish();
}

fn raid10(c: &mut Criterion) {
    let near2 = Raid10Layout {
        near: 2,
        far: 1,
        offset: false,
        far_sets: false,
    };
    let geo = Geometry::new(Level::Raid10, Layout::Raid10(near2), CHUNK, 4);
    // Mirror pairs (0,1) and (2,3) hold the same bytes in md's near=2 layout.
    let a = random(MEMBER, 11);
    let b = random(MEMBER, 12);
    let members = shared(&[a.clone(), a, b.clone(), b]);
    let intact = array(&geo, &members, &[]);
    let degraded = array(&geo, &members, &[1]);
    assert_same(&intact, &degraded);
    let mut g = group(c, "raid10");
    bench_array(&mut g, "n2-intact", &intact);
    bench_array(&mut g, "n2-missing1", &degraded);
    g.finish();
}

criterion_group!(benches, members_cat, raid5, raid6, raid10);
criterion_main!(benches);
